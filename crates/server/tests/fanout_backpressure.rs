//! Fan-out under full-speed senders: three members of a room write chats
//! as fast as TCP allows (pipelined, `--chat-rate 0`) while reading
//! everything they are sent; a fourth member never reads. The readers are
//! slowed by the engine's read pause (their own queues pass the high-water
//! mark), never cut off; every chat is delivered to every reader, in order;
//! the non-reader is closed as a slow consumer within the documented bound
//! (at once at `send_queue_limit`, or after `send_stall_timeout`); the
//! server's memory stays bounded. Every other setting is the default, the
//! argon2 cost included; `--chat-rate 0` because full speed is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod chat_support;
mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use chat_support::{connect, login_enter, next, serve, Got, SETUPS};
use ringport_client::proto::RoomChatReq;
use ringport_client::Client;

const SENDERS: usize = 3;
const PER_SENDER: usize = 67_000;
const ROOM: i32 = 1;
/// `engine.send_stall_timeout`'s default, plus the 250 ms sweep and slack
/// for a loaded machine.
const NON_READER_BOUND: Duration = Duration::from_secs(10 + 5);

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What one sender's reader saw.
#[derive(Debug)]
struct Seen {
    acks: usize,
    from: HashMap<String, usize>,
    non_reader_left: Option<Instant>,
}

fn read_everything(mut c: Client, me: &str, non_reader: i64) -> (Seen, Client) {
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut seen = Seen {
        acks: 0,
        from: HashMap::new(),
        non_reader_left: None,
    };
    let done = |s: &Seen| {
        s.acks == PER_SENDER && s.from.len() == SENDERS && s.from.values().all(|&n| n == PER_SENDER)
    };
    while !done(&seen) {
        match next(&mut c) {
            Got::ChatRes(0) => seen.acks += 1,
            Got::ChatRes(code) => panic!("{me}: chat answered {code}"),
            Got::Chat(from, msg) => {
                let (who, i) = msg.split_once(':').unwrap();
                assert_eq!(who, from, "{me}: message names its sender");
                let i: usize = i.parse().unwrap();
                let n = seen.from.entry(from.clone()).or_default();
                assert_eq!(i, *n, "{me}: chats of {from} out of order");
                *n += 1;
            }
            Got::LeaveUser(id) if id == non_reader => seen.non_reader_left = Some(Instant::now()),
            Got::NewUser(..) | Got::List(_) => {}
            other => panic!("{me}: unexpected {other:?}"),
        }
    }
    (seen, c)
}

#[test]
fn full_speed_senders_are_slowed_not_cut_and_a_non_reader_is_closed() {
    for setup in SETUPS {
        let server = serve(setup, &["--chat-rate", "0"]);
        let admin = server.admin.unwrap();
        let pid = server.child.id();
        let mut non_reader = connect(&server);
        login_enter(&mut non_reader, "nr", ROOM);
        let mut senders = Vec::new();
        let mut non_reader_id = None;
        for k in 0..SENDERS {
            let mut c = connect(&server);
            let name = format!("s{k}");
            for (id, member) in login_enter(&mut c, &name, ROOM) {
                if member == "nr" {
                    non_reader_id = Some(id);
                }
            }
            senders.push((name, c));
        }
        let non_reader_id = non_reader_id.expect("the non-reader is in the room");
        let rss_before = vm_kib(pid, "VmRSS:");

        // From here on the non-reader reads nothing.
        let start = Instant::now();
        let mut readers = Vec::new();
        let mut writers = Vec::new();
        for (name, c) in senders {
            let w = c.try_clone().unwrap();
            let me = name.clone();
            writers.push(std::thread::spawn(move || {
                // Pipelined: 100 chats per write, never waiting for answers.
                let mut buf = Vec::new();
                for i in 0..PER_SENDER {
                    let msg = format!("{me}:{i}");
                    RoomChatReq::new(&msg).unwrap().encode(&mut buf);
                    if i % 100 == 99 || i + 1 == PER_SENDER {
                        w.stream().write_all(&buf).unwrap();
                        buf.clear();
                    }
                }
            }));
            readers.push(std::thread::spawn(move || {
                read_everything(c, &name, non_reader_id)
            }));
        }
        for w in writers {
            w.join().expect("a sender could not write everything");
        }
        let (seen, _clients): (Vec<Seen>, Vec<Client>) = readers
            .into_iter()
            .map(|r| r.join().expect("a sender did not get everything"))
            .unzip();
        let took = start.elapsed();
        let hwm = vm_kib(pid, "VmHWM:");
        let scrape = common::scrape_until(
            admin,
            &[
                (
                    "ringport_session_closes_total{reason=\"slow_consumer\"}",
                    1.0,
                ),
                ("ringport_sessions_open", SENDERS as f64),
            ],
        );
        let pauses = common::sample(&scrape, "ringport_output_pauses_total");
        let stalls = common::sample(&scrape, "ringport_send_stalls_total");
        for (k, s) in seen.iter().enumerate() {
            let left = s
                .non_reader_left
                .unwrap_or_else(|| panic!("{setup}: s{k} never saw the non-reader leave"));
            let after = left - start;
            assert!(
                after <= NON_READER_BOUND,
                "{setup}: the non-reader was closed after {after:?}"
            );
        }
        eprintln!(
            "{setup}: {} chats, each to 3 readers, in {took:?}; non-reader closed after \
             {:?}; RSS {rss_before} KiB before, peak {hwm} KiB; output pauses {pauses:?}, \
             stall closes {stalls:?}",
            SENDERS * PER_SENDER,
            seen[0].non_reader_left.map(|t| t - start),
        );
        assert!(
            hwm < rss_before + 256 * 1024,
            "{setup}: peak RSS {hwm} KiB (from {rss_before} KiB)"
        );
        drop(non_reader);
        server.stop();
    }
}
