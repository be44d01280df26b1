//! One suite of account-store behaviour, run against every store: memory,
//! SQLite (a file in a temporary directory) and Redis (a real redis-server
//! on a free port; skipped loudly when absent unless
//! `RINGPORT_REQUIRE_REDIS=1`). Then what is particular to each: SQLite
//! survives a reopen, Redis survives an outage.
#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringport_accounts::testing::RedisServer;
use ringport_accounts::{
    open_store, AccountStore, AuthOutcome, HashParams, StoreError, StoreOptions, StoreSpec,
};

/// A store and whatever must live as long as it (temp dir, redis-server).
struct Fixture {
    store: Arc<dyn AccountStore>,
    _keep: Box<dyn Any>,
}

fn options() -> StoreOptions {
    StoreOptions {
        hash: HashParams::fast_for_tests(),
        timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    }
}

fn memory(_: &str) -> Option<Fixture> {
    Some(Fixture {
        store: open_store(&StoreSpec::Memory, &options()).unwrap(),
        _keep: Box::new(()),
    })
}

fn sqlite(_: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Sqlite(dir.path().join("accounts.db"));
    Some(Fixture {
        store: open_store(&spec, &options()).unwrap(),
        _keep: Box::new(dir),
    })
}

fn redis(test: &str) -> Option<Fixture> {
    let server = RedisServer::start(test)?;
    let spec = StoreSpec::Redis(server.url());
    Some(Fixture {
        store: open_store(&spec, &options()).unwrap(),
        _keep: Box::new(server),
    })
}

fn registers_then_checks(store: &dyn AccountStore) {
    assert_eq!(
        store.authenticate("bob", "pw", true).unwrap(),
        AuthOutcome::Registered
    );
    assert_eq!(
        store.authenticate("bob", "pw", true).unwrap(),
        AuthOutcome::Accepted
    );
    assert_eq!(
        store.authenticate("bob", "pw", false).unwrap(),
        AuthOutcome::Accepted
    );
    assert_eq!(
        store.authenticate("bob", "Pw", true).unwrap(),
        AuthOutcome::Rejected
    );
    assert_eq!(
        store.authenticate("bob", "", true).unwrap(),
        AuthOutcome::Rejected
    );
    assert_eq!(store.list_users().unwrap(), ["bob"]);
}

fn unknown_ids_are_not_created_without_auto_registration(store: &dyn AccountStore) {
    assert_eq!(
        store.authenticate("ann", "pw", false).unwrap(),
        AuthOutcome::Rejected
    );
    assert!(store.list_users().unwrap().is_empty());
    assert_eq!(
        store.authenticate("ann", "pw", true).unwrap(),
        AuthOutcome::Registered
    );
}

fn concurrent_registrations_have_one_winner(store: &Arc<dyn AccountStore>) {
    for round in 0..10 {
        let id = format!("same{round}");
        let threads: Vec<_> = ["first", "second", "third", "first"]
            .into_iter()
            .map(|pw| {
                let store = Arc::clone(store);
                let id = id.clone();
                std::thread::spawn(move || (pw, store.authenticate(&id, pw, true).unwrap()))
            })
            .collect();
        let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<_> = answers
            .iter()
            .filter(|(_, a)| *a == AuthOutcome::Registered)
            .collect();
        assert_eq!(winners.len(), 1, "{answers:?}");
        let winner_pw = winners[0].0;
        for (pw, answer) in &answers {
            if *pw == winner_pw {
                assert_ne!(*answer, AuthOutcome::Rejected, "{answers:?}");
            } else {
                assert_eq!(*answer, AuthOutcome::Rejected, "{answers:?}");
            }
        }
        assert_eq!(
            store.authenticate(&id, winner_pw, false).unwrap(),
            AuthOutcome::Accepted
        );
    }
}

fn administration(store: &dyn AccountStore) {
    assert!(store.add_user("carol", "one").unwrap());
    assert!(
        !store.add_user("carol", "two").unwrap(),
        "add never overwrites"
    );
    assert_eq!(
        store.authenticate("carol", "one", false).unwrap(),
        AuthOutcome::Accepted
    );
    assert_eq!(
        store.authenticate("carol", "two", false).unwrap(),
        AuthOutcome::Rejected
    );

    assert!(store.set_password("carol", "three").unwrap());
    assert_eq!(
        store.authenticate("carol", "one", false).unwrap(),
        AuthOutcome::Rejected
    );
    assert_eq!(
        store.authenticate("carol", "three", false).unwrap(),
        AuthOutcome::Accepted
    );
    assert!(
        !store.set_password("nobody", "x").unwrap(),
        "passwd never creates"
    );
    assert_eq!(
        store.authenticate("nobody", "x", false).unwrap(),
        AuthOutcome::Rejected
    );

    assert!(store.add_user("alice", "a").unwrap());
    assert!(store.add_user("Zed", "z").unwrap());
    assert_eq!(store.list_users().unwrap(), ["Zed", "alice", "carol"]);
    assert!(store.delete_user("carol").unwrap());
    assert!(!store.delete_user("carol").unwrap());
    assert_eq!(store.list_users().unwrap(), ["Zed", "alice"]);
    assert_eq!(
        store.authenticate("carol", "three", false).unwrap(),
        AuthOutcome::Rejected
    );
    store.ping().unwrap();
}

/// Unix milliseconds now.
fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn token_revocation(store: &dyn AccountStore) {
    assert!(store.add_user("dora", "one").unwrap());
    let before = now_ms() - 1;
    assert!(
        store.check_token("dora", before).unwrap(),
        "nothing revoked yet"
    );
    assert!(
        !store.check_token("nobody", before).unwrap(),
        "an unknown id has no valid token"
    );
    std::thread::sleep(Duration::from_millis(5));
    assert!(store.set_password("dora", "two").unwrap());
    assert!(
        !store.check_token("dora", before).unwrap(),
        "a token issued before the password change is revoked"
    );
    std::thread::sleep(Duration::from_millis(5));
    let after = now_ms();
    assert!(
        store.check_token("dora", after).unwrap(),
        "a later one holds"
    );
    // A password check does not revoke anything.
    assert_eq!(
        store.authenticate("dora", "two", false).unwrap(),
        AuthOutcome::Accepted
    );
    assert!(store.check_token("dora", after).unwrap());

    std::thread::sleep(Duration::from_millis(5));
    assert!(store.delete_user("dora").unwrap());
    assert!(
        !store.check_token("dora", after).unwrap(),
        "the user is gone"
    );
    // Registered again: the deleted account's tokens stay revoked, the new
    // account's hold.
    assert_eq!(
        store.authenticate("dora", "three", true).unwrap(),
        AuthOutcome::Registered
    );
    assert!(
        !store.check_token("dora", after).unwrap(),
        "a token of the deleted account does not open the new one"
    );
    std::thread::sleep(Duration::from_millis(5));
    assert!(store.check_token("dora", now_ms()).unwrap());
    assert_eq!(store.list_users().unwrap(), ["dora"]);
}

macro_rules! suite {
    ($store:ident) => {
        mod $store {
            use super::*;

            fn fixture(test: &str) -> Option<Fixture> {
                super::$store(&format!("{}::{test}", stringify!($store)))
            }

            #[test]
            fn registers_then_checks() {
                let Some(f) = fixture("registers_then_checks") else {
                    return;
                };
                super::registers_then_checks(&*f.store);
            }

            #[test]
            fn unknown_ids_are_not_created_without_auto_registration() {
                let Some(f) = fixture("unknown_ids") else {
                    return;
                };
                super::unknown_ids_are_not_created_without_auto_registration(&*f.store);
            }

            #[test]
            fn concurrent_registrations_have_one_winner() {
                let Some(f) = fixture("concurrent_registrations") else {
                    return;
                };
                super::concurrent_registrations_have_one_winner(&f.store);
            }

            #[test]
            fn administration() {
                let Some(f) = fixture("administration") else {
                    return;
                };
                super::administration(&*f.store);
            }

            #[test]
            fn token_revocation() {
                let Some(f) = fixture("token_revocation") else {
                    return;
                };
                super::token_revocation(&*f.store);
            }
        }
    };
}

suite!(memory);
suite!(sqlite);
suite!(redis);

#[test]
fn invalid_hash_parameters_make_every_store_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = StoreOptions {
        hash: HashParams {
            memory_kib: 0,
            iterations: 0,
            parallelism: 0,
        },
        ..options()
    };
    for spec in [
        StoreSpec::Memory,
        StoreSpec::Sqlite(dir.path().join("a.db")),
    ] {
        let store = open_store(&spec, &bad).unwrap();
        assert!(
            matches!(
                store.authenticate("bob", "pw", true),
                Err(StoreError::Unavailable(_))
            ),
            "{spec}"
        );
        assert!(matches!(
            store.add_user("bob", "pw"),
            Err(StoreError::Unavailable(_))
        ));
    }
}

#[test]
fn sqlite_keeps_accounts_across_reopen_and_stores_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.db");
    let spec = StoreSpec::Sqlite(path.clone());
    {
        let store = open_store(&spec, &options()).unwrap();
        assert_eq!(
            store.authenticate("bob", "correct horse", true).unwrap(),
            AuthOutcome::Registered
        );
    }
    let store = open_store(&spec, &options()).unwrap();
    assert_eq!(
        store.authenticate("bob", "correct horse", false).unwrap(),
        AuthOutcome::Accepted
    );
    drop(store);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(13).any(|w| w == b"correct horse"),
            "a password reached the disk"
        );
    }
}

#[test]
fn sqlite_reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let spec = StoreSpec::Sqlite(dir.path().join("missing-dir").join("a.db"));
    let err = open_store(&spec, &options()).err().unwrap();
    assert!(err.to_string().contains("missing-dir"), "{err}");
}

#[test]
fn redis_outage_answers_promptly_and_recovers() {
    let Some(mut server) = RedisServer::start("redis_outage_answers_promptly_and_recovers") else {
        return;
    };
    let store = open_store(&StoreSpec::Redis(server.url()), &options()).unwrap();
    assert_eq!(
        store.authenticate("bob", "pw", true).unwrap(),
        AuthOutcome::Registered
    );

    server.stop();
    for _ in 0..20 {
        let started = Instant::now();
        let answer = store.authenticate("bob", "pw", true);
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        // Bounded by the 1 s store timeout (generously: this is a liveness
        // bound, not a speed target).
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(store.ping().is_err());

    // The restarted server is empty (no persistence in this test): the
    // store reconnects by itself and registers anew.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcome = loop {
        match store.authenticate("bob", "pw2", true) {
            Ok(outcome) => break outcome,
            Err(e) => {
                assert!(Instant::now() < deadline, "never recovered: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert_eq!(outcome, AuthOutcome::Registered);
    store.ping().unwrap();
}

#[test]
fn redis_keeps_one_hash_per_account_under_the_prefix() {
    let Some(server) = RedisServer::start("redis_keeps_one_hash_per_account_under_the_prefix")
    else {
        return;
    };
    let opts = StoreOptions {
        redis_prefix: "test:acct:".into(),
        ..options()
    };
    let store = open_store(&StoreSpec::Redis(server.url()), &opts).unwrap();
    assert!(store.add_user("bob", "secret").unwrap());
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let phc: String = ::redis::cmd("HGET")
        .arg("test:acct:bob")
        .arg("phc")
        .query(&mut conn)
        .unwrap();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(!phc.contains("secret"));
    let created: u64 = ::redis::cmd("HGET")
        .arg("test:acct:bob")
        .arg("created")
        .query(&mut conn)
        .unwrap();
    assert!(created > 1_700_000_000);
    // Keys outside the prefix are not accounts.
    ::redis::cmd("SET")
        .arg("test:other")
        .arg("x")
        .query::<()>(&mut conn)
        .unwrap();
    assert_eq!(store.list_users().unwrap(), ["bob"]);
}
