//! The memory logins cost is bounded: `ringport serve` with the DEFAULT
//! argon2 cost (19 MiB, 2 passes per hash) on each account store takes
//! registrations, wrong passwords and right re-logins from several
//! connections at once, ~400 logins per store, and its resident memory
//! (VmRSS) stays within [`BOUND_MIB`] of what it was after the first few
//! logins, and a second round does not raise it further.
//!
//! Each hash needs 19 MiB of argon2 memory; when every hash allocated and
//! freed its own, glibc kept the freed blocks in the auth threads' heaps and
//! RSS grew by about that much per login (50 registrations: 7 MiB → 980 MiB).
//! The RSS is sampled while the logins run, and a round stops as soon as the
//! bound is crossed, so a regression fails fast without eating the machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use chat_support::{next, Got};
use common::Running;
use ringport_accounts::testing::RedisServer;

/// How far above the RSS after the warm-up logins the server may go, MiB.
/// Bounded argon2 memory is one 19 MiB buffer per auth worker, kept from
/// the warm-up on; the bound leaves room for the store's caches and
/// allocator slack, and is crossed after three leaked hashes.
const BOUND_MIB: u64 = 64;
/// How much a second round, as large as the first, may add, MiB.
const SECOND_ROUND_SLACK_MIB: u64 = 8;
/// Connections logging in at once.
const THREADS: usize = 8;
/// Per thread and round: new ids registered, then wrong passwords on them,
/// then right passwords on them (8 × (10 + 5 + 10) = 200 logins a round).
const NEW_IDS: usize = 10;
const WRONG: usize = 5;

/// The server's resident set, KiB, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Starts `ringport serve` on `accounts` with the default argon2 cost (no
/// `--argon2-*` flags).
fn serve(accounts: &str) -> Running {
    common::start(&[
        "serve",
        "--backend",
        "poll",
        "--io-threads",
        "1",
        "--accounts",
        accounts,
        "--admin-listen",
        "none",
        // Not the working directory (a Redis store's default).
        "--token-secret-file",
        concat!(env!("CARGO_TARGET_TMPDIR"), "/ringport-token-secret"),
    ])
}

/// One login on a fresh connection; returns the result code. The
/// connection is then closed and its end awaited, so the id is released
/// before it logs in again.
fn login(server: &Running, id: &str, pw: &str) -> u16 {
    let mut c = chat_support::connect(server);
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c.login(id, pw).unwrap();
    let code = match next(&mut c) {
        Got::Login(code) => code,
        other => panic!("{id}: expected a login answer, got {other:?}"),
    };
    c.shutdown_write().unwrap();
    while c.recv_frame().is_ok() {}
    code
}

/// A right password on an id whose previous session may still be closing
/// on the server: 31 (logged in elsewhere) is retried.
fn login_ok(server: &Running, id: &str, pw: &str) {
    for _ in 0..50 {
        match login(server, id, pw) {
            0 => return,
            31 => thread::sleep(Duration::from_millis(20)),
            code => panic!("{id}: right password answered {code}"),
        }
    }
    panic!("{id}: still logged in elsewhere after 50 tries");
}

/// One round: every thread registers its ids, tries wrong passwords on
/// them, then logs in with the right ones, all threads at once. Samples
/// the server's RSS meanwhile; returns the highest sample. Stops early
/// (the threads finish their current login) once a sample exceeds
/// `stop_above_kib`.
fn round(server: &Running, tag: &str, round: usize, stop_above_kib: u64) -> u64 {
    let pid = server.child.id();
    let stop = AtomicBool::new(false);
    let mut peak = rss_kib(pid);
    thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let stop = &stop;
                s.spawn(move || {
                    let ids: Vec<String> = (0..NEW_IDS)
                        .map(|i| format!("{tag}r{round}t{t}u{i}"))
                        .collect();
                    let pw = |id: &str| format!("pw-{id}");
                    let mut done = 0;
                    for id in &ids {
                        if stop.load(Ordering::Relaxed) {
                            return done;
                        }
                        assert_eq!(login(server, id, &pw(id)), 0, "{id} registers");
                        done += 1;
                    }
                    for id in ids.iter().take(WRONG) {
                        if stop.load(Ordering::Relaxed) {
                            return done;
                        }
                        assert_eq!(login(server, id, "wrong"), 33, "{id}: wrong password");
                        done += 1;
                    }
                    for id in &ids {
                        if stop.load(Ordering::Relaxed) {
                            return done;
                        }
                        login_ok(server, id, &pw(id));
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        while !workers.iter().all(|w| w.is_finished()) {
            peak = peak.max(rss_kib(pid));
            if peak > stop_above_kib {
                stop.store(true, Ordering::Relaxed);
            }
            thread::sleep(Duration::from_millis(20));
        }
        let done: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        eprintln!(
            "{tag} round {round}: {done} logins, peak RSS {:.1} MiB",
            mib(peak)
        );
    });
    peak.max(rss_kib(pid))
}

/// Warm-up, then two rounds of ~200 logins; asserts the bounds.
fn check_store(tag: &str, accounts: &str) {
    let server = serve(accounts);
    let pid = server.child.id();
    let started = Instant::now();
    let idle = rss_kib(pid);
    // Warm-up: a few registrations at once, so every auth worker has hashed.
    thread::scope(|s| {
        for t in 0..4 {
            let server = &server;
            s.spawn(move || {
                for i in 0..2 {
                    let id = format!("{tag}warm{t}u{i}");
                    assert_eq!(login(server, &id, "pw"), 0, "{id} registers");
                }
            });
        }
    });
    let base = rss_kib(pid);
    let limit = base + BOUND_MIB * 1024;
    let first = round(&server, tag, 1, limit);
    eprintln!(
        "{tag}: RSS idle {:.1} MiB, after 8 warm-up logins {:.1}, peak of round 1 {:.1}",
        mib(idle),
        mib(base),
        mib(first),
    );
    assert!(
        first <= limit,
        "{tag}: RSS rose from {:.1} MiB after the warm-up to {:.1} MiB during the \
         first round (bound: +{BOUND_MIB} MiB)",
        mib(base),
        mib(first)
    );
    let second = round(&server, tag, 2, first + SECOND_ROUND_SLACK_MIB * 1024);
    eprintln!(
        "{tag}: peak of round 2 {:.1} MiB ({} logins a round, {:.1} s in all)",
        mib(second),
        THREADS * (2 * NEW_IDS + WRONG),
        started.elapsed().as_secs_f64()
    );
    assert!(
        second <= first + SECOND_ROUND_SLACK_MIB * 1024,
        "{tag}: the second round raised RSS from {:.1} MiB to {:.1} MiB",
        mib(first),
        mib(second)
    );
    server.stop();
}

fn sqlite_arg(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("ringport.db").display())
}

#[test]
fn memory_store_logins_keep_rss_bounded() {
    check_store("m", "memory");
}

#[test]
fn sqlite_store_logins_keep_rss_bounded() {
    let dir = tempfile::tempdir().unwrap();
    check_store("s", &sqlite_arg(dir.path()));
}

#[test]
fn redis_store_logins_keep_rss_bounded() {
    let Some(redis) = RedisServer::start("redis_store_logins_keep_rss_bounded") else {
        return;
    };
    check_store("r", &redis.url());
}
