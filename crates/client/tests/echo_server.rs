//! The client against a tiny std-thread TCP server that echoes every byte
//! back, optionally in small pieces: round trips, coalesced and dribbled
//! packets, exact encoding, errors and timeouts.

#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use ringport_client::{Client, ClientError, Member};
use ringport_proto::{
    encode_user_list, BodyError, DecodeError, DevEcho, FrameError, LoginRes, ResultCode,
    RoomChatNtf, RoomMember, ServerPacket, UserId,
};

/// Starts a server for one connection that echoes what it reads, written
/// back in pieces of at most `piece` bytes with `pause` after each, and
/// closes the connection when the client shuts down its sending half.
fn echo_server(piece: usize, pause: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for chunk in buf[..n].chunks(piece) {
                if stream.write_all(chunk).is_err() {
                    return;
                }
                if !pause.is_zero() {
                    thread::sleep(pause);
                }
            }
        }
    });
    addr
}

fn connect(piece: usize, pause: Duration) -> Client {
    let client = Client::connect(echo_server(piece, pause)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client
}

fn whole() -> Client {
    connect(usize::MAX, Duration::ZERO)
}

#[test]
fn echo_round_trips() {
    let mut client = whole();
    client.echo(b"hello").unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: b"hello" })
    );
    client.echo(&[]).unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: &[] })
    );
    // Larger than one read of the server and of the client.
    let big: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    client.echo(&big).unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: &big })
    );
}

#[test]
fn two_packets_in_one_write_are_both_received() {
    let mut client = whole();
    let mut bytes = Vec::new();
    LoginRes::new(ResultCode::LoginUserAlready).encode(&mut bytes);
    RoomChatNtf {
        user_id: UserId::new("bob").unwrap(),
        message: ringport_proto::Message::new("hi").unwrap(),
    }
    .encode(&mut bytes);
    assert_eq!(bytes.len(), 7 + 295);
    client.send_raw(&bytes).unwrap();

    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::LoginRes(LoginRes::new(ResultCode::LoginUserAlready))
    );
    match client.recv().unwrap() {
        ServerPacket::RoomChatNtf(ntf) => {
            assert_eq!(ntf.user_id, "bob");
            assert_eq!(ntf.message.as_str(), "hi");
        }
        other => panic!("expected a chat notify, got {other:?}"),
    }
}

#[test]
fn a_packet_dribbled_byte_by_byte_is_received() {
    let mut client = connect(1, Duration::from_millis(1));
    client.echo(b"one byte at a time").unwrap();
    client.echo(b"and another").unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho {
            body: b"one byte at a time"
        })
    );
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho {
            body: b"and another"
        })
    );
}

#[test]
fn requests_are_encoded_like_the_csharp_client() {
    let mut client = whole();
    client.login("test", "1234").unwrap();
    let mut login = vec![0x47, 0x00, 0xC9, 0x00, 0x00];
    login.extend(b"test");
    login.extend([0; 29]);
    login.extend(b"1234");
    login.extend([0; 29]);
    assert_eq!(client.recv_frame().unwrap(), login.as_slice());

    client.enter(3).unwrap();
    assert_eq!(
        client.recv_frame().unwrap(),
        [0x09, 0x00, 0xCE, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00]
    );
    client.leave().unwrap();
    assert_eq!(client.recv_frame().unwrap(), [0x05, 0x00, 0xD7, 0x00, 0x00]);

    client.chat("hi").unwrap();
    let mut chat = vec![0x06, 0x01, 0xDD, 0x00, 0x00, b'h', b'i'];
    chat.extend([0; 255]);
    assert_eq!(client.recv_frame().unwrap(), chat.as_slice());
}

#[test]
fn text_that_does_not_fit_is_not_sent() {
    let mut client = whole();
    assert!(matches!(
        client.login(&"x".repeat(33), "pw"),
        Err(ClientError::Encode(_))
    ));
    assert!(matches!(client.chat(""), Err(ClientError::Encode(_))));
    assert!(matches!(
        client.echo(&vec![0; 40_000]),
        Err(ClientError::Encode(_))
    ));
    // Nothing went out: the first packet back is the next one sent.
    client.echo(b"after").unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: b"after" })
    );
}

#[test]
fn an_undecodable_packet_is_skipped() {
    let mut client = whole();
    // 202 with an undefined result code, then a valid echo.
    let mut bytes = vec![0x07, 0x00, 0xCA, 0x00, 0x00, 0xE7, 0x03];
    bytes.extend([0x06, 0x00, 0x01, 0x00, 0x00, 0x2A]);
    client.send_raw(&bytes).unwrap();
    assert!(matches!(
        client.recv(),
        Err(ClientError::Decode(DecodeError::InvalidBody {
            id: 202,
            reason: BodyError::UnknownResult(999)
        }))
    ));
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: &[42] })
    );
}

#[test]
fn a_bad_length_field_is_a_frame_error() {
    let mut client = whole();
    client.send_raw(&[0x02, 0x00, 0x01]).unwrap();
    assert!(matches!(
        client.recv(),
        Err(ClientError::Frame(FrameError::TooShort(2)))
    ));

    let mut client = whole();
    client.set_max_frame(100);
    client.echo(&[0; 200]).unwrap();
    assert!(matches!(
        client.recv(),
        Err(ClientError::Frame(FrameError::TooLong {
            len: 205,
            max: 100
        }))
    ));
}

#[test]
fn server_close_is_reported() {
    let mut client = whole();
    client.echo(b"last").unwrap();
    client.shutdown_write().unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: b"last" })
    );
    assert!(matches!(client.recv(), Err(ClientError::Closed)));
}

#[test]
fn server_close_mid_frame_is_reported() {
    let mut client = whole();
    client.send_raw(&[0x07, 0x00, 0xCA]).unwrap();
    client.shutdown_write().unwrap();
    assert!(matches!(client.recv(), Err(ClientError::Closed)));
}

#[test]
fn a_read_timeout_keeps_the_partial_frame() {
    let mut client = whole();
    client
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let err = client.recv().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    // Half a packet, a timeout, then the rest.
    let mut bytes = Vec::new();
    DevEcho { body: b"split" }.encode(&mut bytes).unwrap();
    let (first, second) = bytes.split_at(4);
    client.send_raw(first).unwrap();
    let err = client.recv().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    client.send_raw(second).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body: b"split" })
    );
}

#[test]
fn a_long_user_list_is_collected_across_packets() {
    let mut client = connect(1000, Duration::ZERO);
    let names: Vec<String> = (0..300).map(|i| format!("user{i}")).collect();
    let members = names.iter().zip(0i64..).map(|(name, uid)| RoomMember {
        user_unique_id: uid,
        user_id: UserId::new(name).unwrap(),
    });
    let mut bytes = Vec::new();
    assert_eq!(encode_user_list(members, &mut bytes), 3);
    client.send_raw(&bytes).unwrap();
    let expected: Vec<Member> = names
        .iter()
        .zip(0i64..)
        .map(|(name, uid)| Member {
            user_unique_id: uid,
            user_id: name.clone(),
        })
        .collect();
    assert_eq!(client.recv_user_list().unwrap(), expected);

    // Anything else where a list is expected is reported.
    client.echo(b"x").unwrap();
    assert!(matches!(
        client.recv_user_list(),
        Err(ClientError::Unexpected { id: 1 })
    ));
}

#[test]
fn a_clone_receives_on_another_thread_and_shutdown_wakes_it() {
    let mut writer = whole();
    let mut reader = writer.try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let received = thread::spawn(move || loop {
        match reader.recv() {
            Ok(ServerPacket::DevEcho(echo)) => tx.send(echo.body.to_vec()).unwrap(),
            Ok(other) => panic!("{other:?}"),
            Err(e) => return e,
        }
    });
    writer.echo(b"one").unwrap();
    writer.echo(b"two").unwrap();
    for expected in [b"one", b"two"] {
        let body = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(body, expected);
    }
    // The reader is blocked in a receive; shutting down wakes it.
    writer.shutdown().unwrap();
    let error = received.join().unwrap();
    assert!(matches!(error, ClientError::Closed), "{error:?}");
}
