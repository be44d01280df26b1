//! `ringport serve` end to end, one scenario per rule of docs/PROTOCOL.md,
//! through a client that encodes exactly like the tutorial's C# client, on
//! both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use chat_support::*;

fn raw(r: &common::Running) -> TcpStream {
    let s = TcpStream::connect(r.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0; n];
    s.read_exact(&mut b).unwrap();
    b
}

fn field(text: &str, len: usize) -> Vec<u8> {
    let mut f = text.as_bytes().to_vec();
    f.resize(len, 0);
    f
}

#[test]
fn byte_examples_on_the_wire() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let mut s = raw(&r);
        // login "test"/"1234" → login ok
        let mut login = vec![0x47, 0x00, 0xC9, 0x00, 0x00];
        login.extend(field("test", 33));
        login.extend(field("1234", 33));
        assert_eq!(login.len(), 71);
        s.write_all(&login).unwrap();
        assert_eq!(
            read_exact(&mut s, 7),
            [0x07, 0, 0xCA, 0, 0, 0, 0],
            "{setup}"
        );
        // enter room 3 → 207(0), then an empty 209
        s.write_all(&[0x09, 0x00, 0xCE, 0x00, 0x00, 0x03, 0, 0, 0])
            .unwrap();
        assert_eq!(read_exact(&mut s, 7), [0x07, 0, 0xCF, 0, 0, 0, 0]);
        assert_eq!(read_exact(&mut s, 6), [0x06, 0, 0xD1, 0, 0, 0]);
        // A second user entering sees "test" in its 209, and "test" gets 208.
        let mut bob = connect(&r);
        let list = login_enter(&mut bob, "bob", 3);
        assert_eq!(list.len(), 1);
        let (test_uid, name) = list[0].clone();
        assert_eq!(name, "test");
        let bob_uid_bytes = {
            let ntf = read_exact(&mut s, 5 + 8 + 1 + 3);
            assert_eq!(&ntf[..5], &[17, 0, 208, 0, 0]);
            assert_eq!(ntf[13], 3);
            assert_eq!(&ntf[14..], b"bob");
            ntf[5..13].to_vec()
        };
        assert_ne!(
            i64::from_le_bytes(bob_uid_bytes.try_into().unwrap()),
            test_uid
        );
        // chat "hi" → 222(0) then the 295-byte 223 to both members
        let mut chat = vec![0x06, 0x01, 0xDD, 0x00, 0x00];
        chat.extend(field("hi", 257));
        s.write_all(&chat).unwrap();
        assert_eq!(read_exact(&mut s, 7), [0x07, 0, 0xDE, 0, 0, 0, 0]);
        let ntf = read_exact(&mut s, 295);
        let mut want = vec![0x27, 0x01, 0xDF, 0x00, 0x00];
        want.extend(field("test", 33));
        want.extend(field("hi", 257));
        assert_eq!(ntf, want, "{setup}: 223 bytes");
        assert_eq!(next(&mut bob), Got::Chat("test".into(), "hi".into()));
        // leave → 216(0); bob gets 217 with test's uid
        s.write_all(&[0x05, 0x00, 0xD7, 0x00, 0x00]).unwrap();
        assert_eq!(read_exact(&mut s, 7), [0x07, 0, 0xD8, 0, 0, 0, 0]);
        assert_eq!(next(&mut bob), Got::LeaveUser(test_uid));
        r.stop();
    }
}

#[test]
fn login_rules() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let mut a = connect(&r);
        login(&mut a, "alice");
        // 31: this session is already logged in
        a.login("alice", "pw").unwrap();
        assert_eq!(next(&mut a), Got::Login(31), "{setup}");
        // 33: wrong password for a registered id
        let mut b = connect(&r);
        b.login("alice", "wrong").unwrap();
        assert_eq!(next(&mut b), Got::Login(33));
        // 31: right password, but logged in on another session
        b.login("alice", "pw").unwrap();
        assert_eq!(next(&mut b), Got::Login(31));
        // 90: wrong body size, and the session stays open
        let mut short = vec![70, 0, 201, 0, 0];
        short.resize(70, 0);
        b.send_raw(&short).unwrap();
        assert_eq!(next(&mut b), Got::Login(90));
        // 90: no NUL in the id field
        let mut no_nul = vec![71, 0, 201, 0, 0];
        no_nul.extend(std::iter::repeat_n(b'x', 33));
        no_nul.extend(field("pw", 33));
        b.send_raw(&no_nul).unwrap();
        assert_eq!(next(&mut b), Got::Login(90));
        b.echo(b"still open").unwrap();
        assert_eq!(next(&mut b), Got::Echo(b"still open".to_vec()));
        // Disconnect releases the login: the id works again at once.
        drop(a);
        let mut ok = false;
        for _ in 0..50 {
            b.login("alice", "pw").unwrap();
            match next(&mut b) {
                Got::Login(0) => {
                    ok = true;
                    break;
                }
                Got::Login(31) => std::thread::sleep(Duration::from_millis(20)),
                other => panic!("{setup}: {other:?}"),
            }
        }
        assert!(ok, "{setup}: login released after disconnect");
        r.stop();
    }
}

#[test]
fn enter_rules() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let mut c = connect(&r);
        c.enter(0).unwrap();
        assert_eq!(next(&mut c), Got::Enter(52), "{setup}: not logged in");
        login(&mut c, "carol");
        for bad in [10, -1, i32::MAX, i32::MIN] {
            c.enter(bad).unwrap();
            assert_eq!(next(&mut c), Got::Enter(61), "{setup}: room {bad}");
        }
        // Enter order: 207 → 209 (others) → 208 to the others.
        c.enter(9).unwrap();
        assert_eq!(next(&mut c), Got::Enter(0));
        assert_eq!(next(&mut c), Got::List(vec![]));
        c.enter(8).unwrap();
        assert_eq!(next(&mut c), Got::Enter(52), "already in a room");
        let mut others = Vec::new();
        for i in 0..3 {
            let mut o = connect(&r);
            let list = login_enter(&mut o, &format!("u{i}"), 9);
            assert_eq!(list.len(), i + 1, "209 lists the members already there");
            others.push(o);
        }
        // carol saw three 208s, in order
        for i in 0..3 {
            match next(&mut c) {
                Got::NewUser(_, id) => assert_eq!(id, format!("u{i}")),
                other => panic!("{setup}: {other:?}"),
            }
        }
        // 54: the room holds 4
        let mut late = connect(&r);
        login(&mut late, "late");
        late.enter(9).unwrap();
        assert_eq!(next(&mut late), Got::Enter(54));
        assert!(
            quiet(&mut c, Duration::from_millis(200)),
            "no 208 for a refused enter"
        );
        r.stop();
    }
}

#[test]
fn leave_and_disconnect_notify_the_others() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let mut a = connect(&r);
        a.leave().unwrap();
        assert_eq!(next(&mut a), Got::Leave(61), "{setup}: not in a room");
        login_enter(&mut a, "a", 1);
        let mut b = connect(&r);
        let list = login_enter(&mut b, "b", 1);
        let a_uid = list[0].0;
        let b_uid = match next(&mut a) {
            Got::NewUser(uid, _) => uid,
            other => panic!("{other:?}"),
        };
        b.leave().unwrap();
        assert_eq!(next(&mut b), Got::Leave(0));
        assert_eq!(next(&mut a), Got::LeaveUser(b_uid));
        b.leave().unwrap();
        assert_eq!(next(&mut b), Got::Leave(61), "left already");
        // back in, then disconnect: 217 again
        b.enter(1).unwrap();
        assert_eq!(next(&mut b), Got::Enter(0));
        assert_eq!(next(&mut b), Got::List(vec![(a_uid, "a".into())]));
        assert_eq!(next(&mut a), Got::NewUser(b_uid, "b".into()));
        drop(b);
        assert_eq!(
            next(&mut a),
            Got::LeaveUser(b_uid),
            "{setup}: disconnect notifies"
        );
        // An emptied room is reusable.
        a.leave().unwrap();
        assert_eq!(next(&mut a), Got::Leave(0));
        a.enter(1).unwrap();
        assert_eq!(next(&mut a), Got::Enter(0));
        assert_eq!(next(&mut a), Got::List(vec![]));
        r.stop();
    }
}

#[test]
fn chat_rules() {
    for setup in SETUPS {
        let r = serve(setup, &["--chat-rate", "1", "--chat-burst", "3"]);
        let mut a = connect(&r);
        login(&mut a, "a");
        a.chat("nobody hears").unwrap();
        assert_eq!(next(&mut a), Got::ChatRes(81), "{setup}: not in a room");
        login_enter_pair(&r, &mut a, setup);
        r.stop();
    }
}

fn login_enter_pair(r: &common::Running, a: &mut ringport_client::Client, setup: &str) {
    a.enter(2).unwrap();
    assert_eq!(next(a), Got::Enter(0));
    assert_eq!(next(a), Got::List(vec![]));
    let mut b = connect(r);
    login_enter(&mut b, "b", 2);
    assert!(matches!(next(a), Got::NewUser(_, _)));
    // Pipelined: each 222 reaches the sender before that message's 223.
    a.chat("one").unwrap();
    a.chat("two").unwrap();
    for m in ["one", "two"] {
        assert_eq!(next(a), Got::ChatRes(0), "{setup}");
        assert_eq!(
            next(a),
            Got::Chat("a".into(), m.into()),
            "sender gets its own line"
        );
        assert_eq!(next(&mut b), Got::Chat("a".into(), m.into()));
    }
    // Empty message: 90.
    let mut empty = vec![0x06, 0x01, 0xDD, 0x00, 0x00];
    empty.resize(262, 0);
    a.send_raw(&empty).unwrap();
    assert_eq!(next(a), Got::ChatRes(90));
    // Rate 1/s, burst 3: two tokens used above (the 90 costs none or one);
    // a fast burst runs into 63.
    let mut limited = false;
    for i in 0..5 {
        a.chat(&format!("burst {i}")).unwrap();
        match next(a) {
            Got::ChatRes(0) => {
                assert!(matches!(next(a), Got::Chat(..)));
                assert!(matches!(next(&mut b), Got::Chat(..)));
            }
            Got::ChatRes(63) => {
                limited = true;
                break;
            }
            other => panic!("{setup}: {other:?}"),
        }
    }
    assert!(limited, "{setup}: rate limit answered 63");
    assert!(
        quiet(&mut b, Duration::from_millis(200)),
        "refused chat not delivered"
    );
}

#[test]
fn echo_in_any_state_and_bad_frames_close_one_session() {
    for setup in SETUPS {
        let r = serve(setup, &[]);
        let mut a = connect(&r);
        a.echo(b"").unwrap();
        assert_eq!(next(&mut a), Got::Echo(vec![]), "{setup}");
        login_enter(&mut a, "a", 0);
        a.echo(b"in a room").unwrap();
        assert_eq!(next(&mut a), Got::Echo(b"in a room".to_vec()));
        // Unknown ids (including server-sent ones) are ignored.
        a.send_raw(&[5, 0, 0xCA, 0, 0]).unwrap();
        a.send_raw(&[6, 0, 0x39, 0x30, 0, 1]).unwrap();
        a.echo(b"after unknown").unwrap();
        assert_eq!(next(&mut a), Got::Echo(b"after unknown".to_vec()));
        let mut bad = connect(&r);
        login_enter(&mut bad, "bad", 0);
        assert!(matches!(next(&mut a), Got::NewUser(..)));
        bad.send_raw(&[4, 0, 1, 0]).unwrap();
        assert!(closed(&mut bad), "{setup}: bad frame closes");
        assert!(
            matches!(next(&mut a), Got::LeaveUser(_)),
            "its room is told"
        );
        a.echo(b"unaffected").unwrap();
        assert_eq!(next(&mut a), Got::Echo(b"unaffected".to_vec()));
        r.stop();
    }
}

#[test]
fn login_deadline_closes_idle_strangers() {
    for setup in SETUPS {
        let r = serve(setup, &["--login-timeout", "1"]);
        let mut stranger = connect(&r);
        let mut member = connect(&r);
        login(&mut member, "m");
        let t = std::time::Instant::now();
        assert!(closed(&mut stranger), "{setup}: closed without login");
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(500),
            "not before the deadline: {waited:?}"
        );
        member.echo(b"alive").unwrap();
        assert_eq!(next(&mut member), Got::Echo(b"alive".to_vec()));
        r.stop();
    }
}
