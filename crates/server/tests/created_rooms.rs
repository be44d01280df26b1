//! Created rooms end to end (docs/PROTOCOL.md, "Created rooms"), on both
//! backends and both transports, on the server's defaults: a TCP user
//! creates a room, a WebSocket user watching the list sees it, enters it by
//! name and chats with the TCP user who entered it by number; bad names get
//! 100 over the wire; the protocol's byte examples hold; metrics count it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat_support;
mod common;
mod ws_support;

use chat_support::{connect, login, next, serve, Got, SETUPS};
use ringport_client::proto::{
    ClientPacket, ResultCode, RoomCreateReq, RoomEnterNameReq, RoomListReq,
};
use ws_support::WsClient;

#[test]
fn tcp_and_websocket_users_create_find_and_share_a_room() {
    for setup in SETUPS {
        let server = serve(setup, &["--ws-listen", "127.0.0.1:0"]);
        let ws_addr = server.ws.expect("the startup line names the ws listener");

        // A browser user watches the list.
        let mut web = WsClient::connect(ws_addr);
        web.login_ok("web");
        web.send(&ClientPacket::RoomListReq(RoomListReq { watch: true }));
        assert_eq!(web.next(), Got::ListRes(0), "{setup}");
        match web.next() {
            Got::Rooms(rooms) => {
                assert_eq!(rooms.len(), 10, "{setup}: the fixed rooms");
                assert_eq!(rooms[0], (0, String::new(), 0, 4));
            }
            other => panic!("{setup}: {other:?}"),
        }

        // A TCP user creates "Rust fans" with room for 8.
        let mut tcp = connect(&server);
        login(&mut tcp, "tcp");
        tcp.send(&ClientPacket::RoomCreateReq(
            RoomCreateReq::new("Rust fans", 8).unwrap(),
        ))
        .unwrap();
        let number = match next(&mut tcp) {
            Got::Created(0, n) => n,
            other => panic!("{setup}: {other:?}"),
        };
        assert_eq!(number, 1000);
        assert_eq!(
            web.next(),
            Got::RoomChange(number, "Rust fans".into(), 0, 8, false)
        );
        // The same name in other case is taken.
        tcp.send(&ClientPacket::RoomCreateReq(
            RoomCreateReq::new("RUST FANS", 0).unwrap(),
        ))
        .unwrap();
        assert_eq!(
            next(&mut tcp),
            Got::Created(ResultCode::RoomNameTaken.code(), 0)
        );

        // The TCP user enters by number (as the C# client would), the web
        // user by name.
        tcp.enter(number).unwrap();
        assert_eq!(next(&mut tcp), Got::Enter(0));
        assert_eq!(next(&mut tcp), Got::List(vec![]));
        web.send(&ClientPacket::RoomEnterNameReq(
            RoomEnterNameReq::new("rust fans").unwrap(),
        ));
        // The 306 about tcp's enter may come first (a notify), within
        // the watcher's one-per-second allowance.
        let mut got = web.next();
        if let Got::RoomChange(n, _, 1, 8, false) = got {
            assert_eq!(n, number);
            got = web.next();
        }
        assert_eq!(got, Got::EnterName(0, number), "{setup}");
        match web.next() {
            Got::List(members) => assert_eq!(members.len(), 1),
            other => panic!("{setup}: {other:?}"),
        }
        assert!(matches!(next(&mut tcp), Got::NewUser(_, name) if name == "web"));

        web.chat("found it in the lobby");
        assert_eq!(web.next(), Got::ChatRes(0));
        let line = Got::Chat("web".into(), "found it in the lobby".into());
        assert_eq!(web.next(), line);
        assert_eq!(next(&mut tcp), line);

        // The held-back count reaches the watcher within about a second.
        loop {
            match web.next() {
                Got::RoomChange(n, _, users, 8, false) if n == number => {
                    if users == 2 {
                        break;
                    }
                }
                other => panic!("{setup}: {other:?}"),
            }
        }
        server.stop();
    }
}

#[test]
fn bad_names_and_the_byte_examples_on_the_wire() {
    for setup in SETUPS {
        let server = serve(setup, &[]);
        let mut c = connect(&server);
        login(&mut c, "ann");
        // Create "rust", default capacity → created, room 1000.
        c.send_raw(&[
            0x0C, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x00, 0x04, b'r', b'u', b's', b't',
        ])
        .unwrap();
        assert_eq!(next(&mut c), Got::Created(0, 1000), "{setup}");
        // Enter "rust" → 308(0, 1000), then an empty 209.
        c.send_raw(&[0x0A, 0x00, 0x33, 0x01, 0x00, 0x04, b'r', b'u', b's', b't'])
            .unwrap();
        assert_eq!(next(&mut c), Got::EnterName(0, 1000));
        assert_eq!(next(&mut c), Got::List(vec![]));
        // Names with a NUL, a newline, invalid UTF-8, 33 bytes: 100.
        let long = [b'x'; 33];
        for bad in [&b"a\0b"[..], b"a\nb", b"\xff\xfe", &long] {
            c.send(&ClientPacket::RoomCreateReq(RoomCreateReq {
                max_users: 0,
                name: bad,
            }))
            .unwrap();
            assert_eq!(
                next(&mut c),
                Got::Created(ResultCode::RoomNameInvalid.code(), 0),
                "{setup}: {bad:?}"
            );
        }
        // A name length that disagrees with the body: 90, session kept.
        c.send_raw(&[0x09, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x00, 0x05, b'a'])
            .unwrap();
        assert_eq!(
            next(&mut c),
            Got::Created(ResultCode::InvalidPacket.code(), 0)
        );
        let admin = server.admin.expect("admin listener");
        common::scrape_until(
            admin,
            &[
                ("ringport_room_creates_total{result=\"ok\"}", 1.0),
                ("ringport_room_creates_total{result=\"name_invalid\"}", 4.0),
                (
                    "ringport_room_creates_total{result=\"invalid_packet\"}",
                    1.0,
                ),
                ("ringport_rooms_created_open", 1.0),
            ],
        );
        server.stop();
    }
}
