//! 1,000 clients in 250 rooms chatting through `ringport serve`, every
//! delivery and its order checked, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Barrier};

use chat_support::*;

const CLIENTS: usize = 1000;
const ROOM_SIZE: usize = 4;
const ROOMS: usize = CLIENTS / ROOM_SIZE;
const MESSAGES: usize = 5;
const THREADS: usize = 8;

#[test]
fn thousand_clients_in_250_rooms() {
    // Each client needs a descriptor here and one in the server (a child
    // inherits this limit).
    rlimit::increase_nofile_limit(4 * CLIENTS as u64 + 256).unwrap();
    for setup in SETUPS {
        let rooms = ROOMS.to_string();
        let r = serve(
            setup,
            &[
                "--rooms",
                &rooms,
                "--room-max-users",
                "4",
                "--chat-rate",
                "0",
                // Not the default cost: 1,000 simultaneous first logins
                // take ~25 s at ~40 hashes/s, and the admission bound
                // answers most of them 34 (that is tested in
                // login_burst.rs); this test is about the chat under load.
                "--argon2-memory-kib",
                "8",
                "--argon2-iterations",
                "1",
            ],
        );
        let barrier = Arc::new(Barrier::new(THREADS));
        let mut handles = Vec::new();
        for t in 0..THREADS {
            let addr = r.addr;
            let barrier = barrier.clone();
            let setup = setup.to_string();
            handles.push(std::thread::spawn(move || {
                let mine: Vec<usize> = (0..CLIENTS).filter(|i| i % THREADS == t).collect();
                let mut clients = HashMap::new();
                for &i in &mine {
                    let c = ringport_client::Client::connect(addr).unwrap();
                    c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                        .unwrap();
                    clients.insert(i, c);
                }
                for &i in &mine {
                    login(clients.get_mut(&i).unwrap(), &format!("user{i}"));
                }
                // Everyone logged in before anyone enters, everyone entered
                // before anyone chats.
                barrier.wait();
                for &i in &mine {
                    let c = clients.get_mut(&i).unwrap();
                    c.enter((i / ROOM_SIZE) as i32).unwrap();
                    assert_eq!(next(c), Got::Enter(0), "{setup}: user{i} enters");
                }
                barrier.wait();
                for &i in &mine {
                    let c = clients.get_mut(&i).unwrap();
                    for k in 0..MESSAGES {
                        c.chat(&format!("m{i}-{k}")).unwrap();
                    }
                }
                for &i in &mine {
                    check_deliveries(clients.get_mut(&i).unwrap(), i, &setup);
                }
                barrier.wait();
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        r.stop();
    }
}

/// Reads everything client `i` must receive: its list and the 208s of later
/// members, its own 222s, and every member's messages, each sender's in order.
fn check_deliveries(c: &mut ringport_client::Client, i: usize, setup: &str) {
    let room = i / ROOM_SIZE;
    let members: Vec<usize> = (room * ROOM_SIZE..(room + 1) * ROOM_SIZE).collect();
    let mut next_from: HashMap<String, usize> =
        members.iter().map(|m| (format!("user{m}"), 0)).collect();
    let mut own_results = 0;
    let mut chats = 0;
    let mut roster: Vec<String> = Vec::new();
    while chats < MESSAGES * ROOM_SIZE || own_results < MESSAGES {
        match next(c) {
            Got::List(l) => roster.extend(l.into_iter().map(|(_, id)| id)),
            Got::NewUser(_, id) => roster.push(id),
            Got::ChatRes(0) => {
                // Our k-th result comes before our k-th message is delivered back.
                assert_eq!(
                    own_results,
                    next_from[&format!("user{i}")],
                    "{setup}: 222 before its 223"
                );
                own_results += 1;
            }
            Got::Chat(from, msg) => {
                let k = next_from.get_mut(&from).unwrap_or_else(|| {
                    panic!("{setup}: user{i} got a message from {from}, not in its room")
                });
                let sender: usize = from.trim_start_matches("user").parse().unwrap();
                assert_eq!(msg, format!("m{sender}-{k}"), "{setup}: order from {from}");
                *k += 1;
                chats += 1;
            }
            other => panic!("{setup}: user{i} got {other:?}"),
        }
    }
    for (from, n) in &next_from {
        assert_eq!(*n, MESSAGES, "{setup}: user{i} got every message of {from}");
    }
    roster.sort();
    let mut want: Vec<String> = members
        .iter()
        .filter(|&&m| m != i)
        .map(|m| format!("user{m}"))
        .collect();
    want.sort();
    assert_eq!(
        roster, want,
        "{setup}: user{i} was told of every other member"
    );
}
