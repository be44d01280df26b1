//! A first end-to-end pass through the machine: login, enter, chat, leave.

use ringport_chat::testing::{Harness, Received};
use ringport_chat::ChatConfig;
use ringport_proto::ResultCode;

#[test]
fn login_enter_chat_leave() {
    let mut h = Harness::new(ChatConfig::default());
    let alice = h.user_in_room("alice", 3);
    let bob = h.user("bob");
    h.enter(bob, 3);
    let got = h.take(bob);
    assert_eq!(got[0], Received::EnterRes(ResultCode::None));
    assert!(
        matches!(&got[1], Received::UserList(users) if users.len() == 1 && users[0].1 == "alice")
    );
    assert!(matches!(&h.take(alice)[..], [Received::NewUser(_, id)] if id == "bob"));
    h.chat_message(alice, "hi");
    let ntf = Received::ChatNtf {
        user_id: "alice".into(),
        message: "hi".into(),
    };
    assert_eq!(
        h.take(alice),
        [Received::ChatRes(ResultCode::None), ntf.clone()]
    );
    assert_eq!(h.take(bob), [ntf]);
    h.leave(bob);
    assert_eq!(h.take(bob), [Received::LeaveRes(ResultCode::None)]);
    assert!(matches!(&h.take(alice)[..], [Received::LeaveUser(_)]));
}
