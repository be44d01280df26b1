//! The byte examples of `docs/PROTOCOL.md`, "Created rooms", read from the
//! document itself, against the codec: what the codec encodes is what the
//! document shows, and decoding the document's bytes gives the values it
//! describes. Also the decode errors a peer can trigger with these packets.

#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use ringport_proto::{
    encode_room_list, BodyError, ClientPacket, DecodeError, ResultCode, RoomCreateReq,
    RoomCreateRes, RoomEnterNameReq, RoomEnterNameRes, RoomInfo, RoomListChangeNtf, RoomListReq,
    RoomListRes, RoomName, RoomNameError, ServerPacket,
};

const PROTOCOL: &str = include_str!("../../../docs/PROTOCOL.md");

/// The hex of the example whose label starts with `label` in the section
/// "Created rooms" (several backtick groups are joined).
fn example(label: &str) -> Vec<u8> {
    let section = PROTOCOL
        .split("## Created rooms")
        .nth(1)
        .and_then(|s| s.split("### Result codes").next())
        .unwrap();
    // An example may wrap onto the next line: join them first.
    let joined = section.replace("\n  ", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with(&format!("- {label}")))
        .unwrap_or_else(|| panic!("no example {label:?} in PROTOCOL.md"));
    let mut out = Vec::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 1 {
            for token in part.split_whitespace().filter(|t| *t != "|") {
                out.push(u8::from_str_radix(token, 16).unwrap());
            }
        }
    }
    out
}

fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

fn room(number: i32, users: u16, max: u16, name: Option<&'static str>) -> RoomInfo<'static> {
    RoomInfo {
        number,
        users,
        max_users: max,
        created: name.is_some(),
        closed: false,
        name: name.map(|n| RoomName::new(n).unwrap()),
    }
}

#[test]
fn requests_match_the_document() {
    let create = example("create \"rust\"");
    assert_eq!(
        encoded(|o| RoomCreateReq::new("rust", 0).unwrap().encode(o)),
        create
    );
    assert!(matches!(
        ClientPacket::decode(&create),
        Ok(ClientPacket::RoomCreateReq(RoomCreateReq {
            max_users: 0,
            name: b"rust"
        }))
    ));
    let list = example("list and watch");
    assert_eq!(encoded(|o| RoomListReq { watch: true }.encode(o)), list);
    let enter = example("enter \"rust\"");
    assert_eq!(
        encoded(|o| RoomEnterNameReq::new("rust").unwrap().encode(o)),
        enter
    );
}

#[test]
fn responses_match_the_document() {
    let ok = |room_number| RoomCreateRes {
        result: ResultCode::None,
        room_number,
    };
    assert_eq!(
        encoded(|o| ok(1000).encode(o)),
        example("created, room 1000")
    );
    assert_eq!(
        encoded(|o| RoomListRes::new(ResultCode::None).encode(o)),
        example("list ok")
    );
    assert_eq!(
        encoded(|o| {
            encode_room_list([room(0, 2, 4, None), room(1000, 3, 8, Some("rust"))], o);
        }),
        example("list of fixed room 0")
    );
    assert_eq!(
        encoded(|o| RoomListChangeNtf {
            room: room(1000, 3, 8, Some("rust"))
        }
        .encode(o)),
        example("change, room 1000")
    );
    assert_eq!(
        encoded(|o| RoomEnterNameRes {
            result: ResultCode::None,
            room_number: 1000
        }
        .encode(o)),
        example("entered, room 1000")
    );
}

#[test]
fn bodies_that_disagree_with_their_length_are_invalid() {
    // name_len 5 with one byte of name.
    let short = [0x09, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x00, 0x05, b'a'];
    assert!(matches!(
        ClientPacket::decode(&short),
        Err(DecodeError::InvalidBody { id: 301, .. })
    ));
    // A byte after the name.
    let long = [0x0A, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x00, 0x01, b'a', b'b'];
    assert_eq!(
        ClientPacket::decode(&long),
        Err(DecodeError::InvalidBody {
            id: 301,
            reason: BodyError::TrailingBytes(1)
        })
    );
    // A watch flag of 2.
    let flag = [0x06, 0x00, 0x2F, 0x01, 0x00, 0x02];
    assert_eq!(
        ClientPacket::decode(&flag),
        Err(DecodeError::InvalidBody {
            id: 303,
            reason: BodyError::BadFlag(2)
        })
    );
    // The server answers these with the request's response carrying 90.
    assert_eq!(
        ServerPacket::response(301, ResultCode::InvalidPacket).map(|p| p.id()),
        Some(302)
    );
    assert_eq!(
        ServerPacket::response(307, ResultCode::InvalidPacket).map(|p| p.id()),
        Some(308)
    );
}

#[test]
fn bad_names_are_carried_to_the_server_not_refused_by_the_decoder() {
    // The server answers them with 100, so the decoder must let them
    // through as bytes.
    for name in [&b"a\0b"[..], b"\xff", b"", &[b'x'; 40]] {
        let frame = encoded(|o| RoomEnterNameReq { name }.encode(o));
        match ClientPacket::decode(&frame) {
            Ok(ClientPacket::RoomEnterNameReq(req)) => {
                assert_eq!(req.name, name);
                assert!(RoomName::from_bytes(req.name).is_err());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(RoomCreateReq::new("", 0), Err(RoomNameError::Empty));
}

#[test]
fn a_room_entry_with_a_bad_name_is_refused_by_a_client() {
    let mut frame = encoded(|o| {
        RoomListChangeNtf {
            room: room(1000, 1, 4, Some("ok")),
        }
        .encode(o)
    });
    let at = frame.len() - 1;
    frame[at] = 0x00;
    assert!(matches!(
        ServerPacket::decode(&frame),
        Err(DecodeError::InvalidBody {
            id: 306,
            reason: BodyError::RoomName(RoomNameError::Control)
        })
    ));
}
