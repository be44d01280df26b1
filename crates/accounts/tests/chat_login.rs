//! The chat machine's logins answered by a real account store (the memory
//! store, through the harness's `AuthMode::Store`): a registration is
//! stored as an argon2id hash, a wrong password is 33, and an unknown id
//! without auto-registration is 33 and creates nothing.

use std::sync::Arc;

use ringport_accounts::{HashParams, MemoryStore};
use ringport_chat::testing::{AuthMode, Harness, Received};
use ringport_chat::ChatConfig;
use ringport_proto::ResultCode;

fn res(code: ResultCode) -> Received {
    Received::LoginRes(code)
}

#[test]
fn with_a_real_store() {
    let store = Arc::new(MemoryStore::new(HashParams::fast_for_tests()));
    let mut h = Harness::new(ChatConfig::default()).with_auth(AuthMode::Store(store.clone()));
    let a = h.connect();
    h.login(a, "alice", "pw");
    assert_eq!(h.take(a), [res(ResultCode::None)]);
    assert!(store
        .stored_hash("alice")
        .is_some_and(|phc| phc.starts_with("$argon2id$")));
    let b = h.connect();
    h.login(b, "alice", "bad");
    h.login(b, "alice", "pw");
    assert_eq!(
        h.take(b),
        [
            res(ResultCode::LoginUserInvalidPw),
            res(ResultCode::LoginUserAlready)
        ]
    );
}

#[test]
fn unknown_id_without_auto_registration_is_33() {
    let store = Arc::new(MemoryStore::new(HashParams::fast_for_tests()));
    let config = ChatConfig {
        auto_register: false,
        ..ChatConfig::default()
    };
    let mut h = Harness::new(config).with_auth(AuthMode::Store(store.clone()));
    let conn = h.connect();
    h.login(conn, "nobody", "pw");
    assert_eq!(h.take(conn), [res(ResultCode::LoginUserInvalidPw)]);
    assert!(store.is_empty());
}
