//! Measures what the cluster costs (docs/SCALING.md, "Measured"): chat
//! fan-out throughput and delivery latency with the receivers on another
//! node, against the same load on a single node. Prints figures, asserts
//! only that every measured message arrived. Ignored by default (it takes
//! ~30 s and wants a release build):
//!
//! ```sh
//! cargo test --release -p ringport --test cluster_measure -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_support::{connect, login_enter, serve};
use common::Running;
use ringport_accounts::testing::RedisServer;
use ringport_client::proto::ServerPacket;
use ringport_client::Client;

const ROOMS: i32 = 8;
const WINDOW: usize = 64;
const RUN: Duration = Duration::from_secs(5);
const LATENCY_SAMPLES: usize = 2000;

fn node(redis: Option<&RedisServer>, extra: &[&str]) -> Running {
    let mut args = vec!["--chat-rate", "0"];
    args.extend_from_slice(extra);
    let url = redis.map(RedisServer::url);
    if let Some(url) = url.as_deref() {
        args.extend_from_slice(&["--cluster", url]);
    }
    serve("auto", &args)
}

/// Sender on `a`, receiver on `b`, in each of `ROOMS` rooms, for `RUN`.
/// Each sender keeps at most `WINDOW` chats on their way to its receiver
/// (paced end to end, so no backlog builds up anywhere). Returns
/// deliveries per second at the receivers.
fn throughput(a: &Running, b: &Running, tag: &str) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    let mut senders = Vec::new();
    for room in 0..ROOMS {
        let mut rx = connect(b);
        login_enter(&mut rx, &format!("{tag}r{room}"), room);
        let mut tx = connect(a);
        login_enter(&mut tx, &format!("{tag}s{room}"), room);
        rx.recv().unwrap(); // 208 about the sender
        let got = Arc::new(AtomicU64::new(0));
        let (stop2, got2, total2) = (stop.clone(), got.clone(), total.clone());
        threads.push(std::thread::spawn(move || {
            rx.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            loop {
                match rx.recv() {
                    Ok(ServerPacket::RoomChatNtf(_)) => {
                        got2.fetch_add(1, Ordering::Relaxed);
                        total2.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) if e.is_timeout() && stop2.load(Ordering::Relaxed) => return,
                    Err(e) if e.is_timeout() => {}
                    Err(e) => panic!("receiver: {e}"),
                }
            }
        }));
        // The sender's own 222/223 are read (and dropped) on a clone.
        let mut own = tx.try_clone().unwrap();
        let stop3 = stop.clone();
        threads.push(std::thread::spawn(move || {
            own.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            loop {
                match own.recv() {
                    Ok(_) => {}
                    Err(e) if e.is_timeout() && stop3.load(Ordering::Relaxed) => return,
                    Err(e) if e.is_timeout() => {}
                    Err(e) => panic!("sender: {e}"),
                }
            }
        }));
        let stop2 = stop.clone();
        senders.push(std::thread::spawn(move || {
            let text = "x".repeat(64);
            let mut sent = 0u64;
            while !stop2.load(Ordering::Relaxed) {
                if sent - got.load(Ordering::Relaxed) < WINDOW as u64 {
                    tx.chat(&text).unwrap();
                    sent += 1;
                } else {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while got.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            (sent, got.load(Ordering::Relaxed))
        }));
    }
    let start = Instant::now();
    let base = total.load(Ordering::Relaxed);
    std::thread::sleep(RUN);
    let in_run = total.load(Ordering::Relaxed) - base;
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let (sent, got) = s.join().unwrap();
        assert_eq!(got, sent, "{tag}: every chat reached the other node");
    }
    for t in threads {
        t.join().unwrap();
    }
    in_run as f64 / elapsed.as_secs_f64()
}

/// One sender on `a`, one receiver on `b`, one chat every 2 ms carrying its
/// send time: delivery latency percentiles in microseconds.
fn latency(a: &Running, b: &Running, tag: &str) -> (u64, u64, u64) {
    let room = ROOMS + 1;
    let mut rx = connect(b);
    login_enter(&mut rx, &format!("{tag}lr"), room);
    let mut tx: Client = connect(a);
    login_enter(&mut tx, &format!("{tag}ls"), room);
    rx.recv().unwrap(); // 208
    let epoch = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut lat = Vec::with_capacity(LATENCY_SAMPLES);
        while lat.len() < LATENCY_SAMPLES {
            if let ServerPacket::RoomChatNtf(n) = rx.recv().unwrap() {
                let sent: u64 = n.message.as_str().parse().unwrap();
                let now = u64::try_from(epoch.elapsed().as_micros()).unwrap();
                lat.push(now - sent);
            }
        }
        lat
    });
    let drain = std::thread::spawn({
        let mut tx2 = tx.try_clone().unwrap();
        move || {
            let mut seen = 0;
            while seen < LATENCY_SAMPLES {
                if let ServerPacket::RoomChatNtf(_) = tx2.recv().unwrap() {
                    seen += 1;
                }
            }
        }
    });
    for _ in 0..LATENCY_SAMPLES {
        let now = epoch.elapsed().as_micros();
        tx.chat(&now.to_string()).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut lat = reader.join().unwrap();
    drain.join().unwrap();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    (pct(0.5), pct(0.99), *lat.last().unwrap())
}

#[test]
#[ignore = "measurement: run with --release -- --ignored --nocapture"]
fn cross_node_fan_out_cost() {
    let Some(redis) = RedisServer::start("cross_node_fan_out_cost") else {
        return;
    };
    let single = node(None, &[]);
    let t1 = throughput(&single, &single, "a");
    let l1 = latency(&single, &single, "a");
    single.stop();

    let a = node(Some(&redis), &[]);
    let b = node(Some(&redis), &[]);
    let t2 = throughput(&a, &b, "b");
    let l2 = latency(&a, &b, "b");
    a.stop();
    b.stop();

    // The same clients (none says hello: the path of clients without the
    // history feature) with history off: chats are published as is, not
    // numbered in Redis by the CHAT script.
    let a = node(Some(&redis), &["--history-len", "0"]);
    let b = node(Some(&redis), &["--history-len", "0"]);
    let t3 = throughput(&a, &b, "c");
    let l3 = latency(&a, &b, "c");
    a.stop();
    b.stop();

    println!(
        "rooms {ROOMS}, window {WINDOW} chats in flight per sender, 64-byte messages, {RUN:?} run"
    );
    println!(
        "single node : {t1:>9.0} deliveries/s; latency p50 {} us, p99 {} us, max {} us",
        l1.0, l1.1, l1.2
    );
    println!(
        "two nodes   : {t2:>9.0} deliveries/s; latency p50 {} us, p99 {} us, max {} us",
        l2.0, l2.1, l2.2
    );
    println!(
        "two, no hist: {t3:>9.0} deliveries/s; latency p50 {} us, p99 {} us, max {} us",
        l3.0, l3.1, l3.2
    );
}
