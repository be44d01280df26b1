//! Random operation sequences against the machine (the same operations as
//! the `chat_ops` fuzz target): after every step the harness checks that
//! every room member was told exactly who else is in its room, that every
//! request is answered once and in request order (nothing owed unless a
//! login is in flight; pauses and resumes of reading balanced), that the
//! machine's bookkeeping is consistent, and that nothing panicked.

use proptest::prelude::*;
use ringport_chat::testing::{FuzzConfig, Harness, Operation, RoomPick};

fn room_pick() -> impl Strategy<Value = RoomPick> {
    prop_oneof![
        9 => any::<u8>().prop_map(RoomPick::Near),
        3 => any::<u8>().prop_map(RoomPick::Created),
        1 => any::<i32>().prop_map(RoomPick::Any),
    ]
}

fn operation() -> impl Strategy<Value = Operation> {
    let conn = 0u8..8;
    prop_oneof![
        4 => Just(Operation::Connect),
        1 => conn.clone().prop_map(|conn| Operation::Disconnect { conn }),
        4 => (conn.clone(), any::<u8>(), prop_oneof![3 => Just(0u8), 1 => 0u8..3])
            .prop_map(|(conn, user, password)| Operation::Login { conn, user, password }),
        5 => (conn.clone(), room_pick()).prop_map(|(conn, room)| Operation::Enter { conn, room }),
        2 => conn.clone().prop_map(|conn| Operation::Leave { conn }),
        4 => (conn.clone(), any::<u8>()).prop_map(|(conn, len)| Operation::Chat { conn, len }),
        1 => (conn.clone(), any::<u8>()).prop_map(|(conn, len)| Operation::Echo { conn, len }),
        1 => (conn.clone(), prop_oneof![Just(201u16), Just(206), Just(215), Just(221), Just(1), any::<u16>()],
              proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(conn, id, body)| Operation::Packet { conn, id, body }),
        1 => (conn.clone(), proptest::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(conn, bytes)| Operation::Frame { conn, bytes }),
        5 => (any::<u8>(), any::<u8>()).prop_map(|(check, result)| Operation::Answer { check, result }),
        1 => (conn.clone(), 0u8..8, any::<u8>())
            .prop_map(|(conn, ticket, result)| Operation::StaleAnswer { conn, ticket, result }),
        1 => (0u16..1500).prop_map(|millis| Operation::Advance { millis }),
        3 => (conn.clone(), any::<u8>(), any::<u8>())
            .prop_map(|(conn, name, max)| Operation::Create { conn, name, max }),
        2 => (conn.clone(), any::<bool>()).prop_map(|(conn, watch)| Operation::List { conn, watch }),
        3 => (conn.clone(), any::<u8>()).prop_map(|(conn, name)| Operation::EnterName { conn, name }),
        2 => (conn.clone(), 0u8..4).prop_map(|(conn, features)| Operation::Hello { conn, features }),
        2 => (conn.clone(), prop_oneof![Just(255u8), 0u8..12], 0u8..6, any::<bool>())
            .prop_map(|(conn, after, max, stale_epoch)| Operation::History { conn, after, max, stale_epoch }),
        2 => (conn.clone(), any::<u8>(), prop_oneof![3 => Just(false), 1 => Just(true)])
            .prop_map(|(conn, token, tamper)| Operation::TokenLogin { conn, token, tamper }),
        1 => (conn.clone(), prop_oneof![Just(301u16), Just(303), Just(307), Just(311), Just(314), Just(317)],
              proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(conn, id, body)| Operation::Packet { conn, id, body }),
    ]
}

fn config() -> impl Strategy<Value = FuzzConfig> {
    (
        prop_oneof![Just(0i32), Just(-3), Just(i32::MAX - 2), any::<i32>()],
        1u8..5,
        1u8..6,
        3u8..8,
        0u8..20,
        1u8..5,
        1000u16..5000,
        prop_oneof![3 => Just(true), 1 => Just(false)],
        0u8..4,
        (prop_oneof![1 => Just(0u8), 3 => 1u8..3], 0u8..4, 0u8..5),
    )
        .prop_map(
            |(
                room_start,
                rooms,
                room_max_users,
                max_users,
                chat_rate,
                chat_burst,
                login_timeout_ms,
                auto_register,
                pipeline_frames,
                (rooms_per_user, room_idle_close_secs, history_len),
            )| {
                FuzzConfig {
                    room_start,
                    rooms,
                    room_max_users,
                    max_users,
                    chat_rate,
                    chat_burst,
                    login_timeout_ms,
                    auto_register,
                    pipeline_frames,
                    rooms_per_user,
                    room_idle_close_secs,
                    history_len,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn presence_matches_the_notifies(config in config(), ops in proptest::collection::vec(operation(), 1..120)) {
        let mut h = Harness::new(config.to_config())
            .with_auth(ringport_chat::testing::AuthMode::Deferred);
        for op in &ops {
            h.apply(op);
        }
        h.check();
    }
}

/// The scripts above must reach the interesting states, or the property
/// would hold vacuously: logins, shared rooms, chats, timeouts.
#[test]
fn random_scripts_reach_rooms_and_chats() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut logins, mut shared_rooms, mut chats, mut timeouts) = (0, 0, 0, 0);
    let (mut queued, mut pauses) = (0, 0);
    let (mut created, mut closed, mut refused, mut changes) = (0, 0, 0, 0);
    let (mut token_logins, mut pages, mut paged) = (0, 0, 0);
    for _ in 0..200 {
        let Ok(tree) =
            (config(), proptest::collection::vec(operation(), 240..260)).new_tree(&mut runner)
        else {
            panic!("strategy failed");
        };
        let (config, ops) = tree.current();
        let mut h =
            Harness::new(config.to_config()).with_auth(ringport_chat::testing::AuthMode::Deferred);
        for op in &ops {
            h.apply(op);
            if h.stats().users_in_rooms > h.stats().rooms_active {
                shared_rooms += 1;
            }
        }
        logins += h.stats().logins_ok;
        chats += h.stats().chats_in;
        timeouts += h.stats().login_timeouts;
        queued += h.stats().requests_queued;
        pauses += h.stats().pipeline_pauses;
        created += h.stats().rooms_created;
        closed += h.stats().rooms_closed;
        refused += h.stats().create_failures.name_invalid + h.stats().create_failures.name_taken;
        changes += h.stats().room_changes_out;
        token_logins += h.stats().token_logins_ok;
        pages += h.stats().history_requests;
        paged += h.stats().history_messages_out;
    }
    println!(
        "logins {logins}, steps with a shared room {shared_rooms}, chats {chats}, \
         timeouts {timeouts}, requests queued {queued}, read pauses {pauses}"
    );
    assert!(logins > 200 && shared_rooms > 100 && chats > 50 && timeouts > 10);
    assert!(queued > 200 && pauses > 20);
    println!(
        "rooms created {created}, closed {closed}, bad or taken names {refused}, 306s {changes}"
    );
    assert!(created > 30 && closed > 5 && refused > 100 && changes > 30);
    println!("token logins {token_logins}, history pages {pages} with {paged} messages");
    assert!(token_logins > 10 && pages > 30 && paged > 3);
}
