//! Stateful fuzzing of the chat state machine: a small configuration and a
//! sequence of operations (connects, disconnects, requests — structured or
//! raw bytes —, password-check answers, stale answers, clock steps) replayed
//! through `ringport_chat::testing::Harness`.
//!
//! After every operation the harness checks: nothing panicked; every packet
//! the server sent decodes; for every room, each member was told (by the
//! 209 list, then 208s and 217s) exactly who else is in it; an accepted chat
//! reached every member once; no user id is logged in twice; unique ids are
//! never given to two logins; and the machine's own bookkeeping (sessions,
//! logins, rooms, gauges, deadlines) is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringport_chat::testing::{AuthMode, FuzzConfig, Harness, Operation};

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    config: FuzzConfig,
    operations: Vec<Operation>,
}

fuzz_target!(|input: Input| {
    let mut harness = Harness::new(input.config.to_config()).with_auth(AuthMode::Deferred);
    for operation in input.operations.iter().take(512) {
        harness.apply(operation);
    }
    harness.check();
});
