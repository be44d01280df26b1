//! The byte examples of `docs/PROTOCOL.md`, packet sizes as the C# client
//! encodes them, and every decode error a peer can trigger.

#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use ringport_proto::{
    encode_user_list, frame_len, id, BodyError, ClientPacket, DecodeError, DevEcho, EncodeError,
    LoginReq, LoginRes, ResultCode, RoomChatNtf, RoomChatReq, RoomChatRes, RoomEnterReq,
    RoomEnterRes, RoomLeaveReq, RoomLeaveRes, RoomLeaveUserNtf, RoomMember, RoomNewUserNtf,
    RoomUserListNtf, ServerPacket, TextError, TextField, UserId, DEFAULT_MAX_FRAME,
    MAX_FRAME_LIMIT,
};

/// Parses the notation of PROTOCOL.md: hex bytes, `00×29` repeats, `|` as a
/// visual separator.
fn hex(spec: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for token in spec.split_whitespace().filter(|t| *t != "|") {
        let (byte, times) = match token.split_once('×') {
            Some((byte, times)) => (byte, times.parse::<usize>().unwrap()),
            None => (token, 1),
        };
        let byte = u8::from_str_radix(byte, 16).unwrap();
        out.extend(std::iter::repeat_n(byte, times));
    }
    out
}

fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

fn client(frame: &[u8]) -> ClientPacket<'_> {
    assert_eq!(frame_len(frame, DEFAULT_MAX_FRAME), Ok(Some(frame.len())));
    ClientPacket::decode(frame).unwrap()
}

fn server(frame: &[u8]) -> ServerPacket<'_> {
    assert_eq!(frame_len(frame, DEFAULT_MAX_FRAME), Ok(Some(frame.len())));
    ServerPacket::decode(frame).unwrap()
}

fn member(user_unique_id: i64, user_id: &str) -> RoomMember<'_> {
    RoomMember {
        user_unique_id,
        user_id: UserId::new(user_id).unwrap(),
    }
}

#[test]
fn example_login_request() {
    let bytes = hex("47 00 C9 00 00 | 74 65 73 74 00×29 | 31 32 33 34 00×29");
    assert_eq!(bytes.len(), 71);
    let req = LoginReq::new("test", "1234").unwrap();
    assert_eq!(encoded(|out| req.encode(out)), bytes);
    let ClientPacket::LoginReq(decoded) = client(&bytes) else {
        panic!("not a login request");
    };
    assert_eq!(decoded.user_id, "test");
    assert_eq!(decoded.password.as_str(), "1234");
    assert_eq!(decoded, req);
}

#[test]
fn example_login_ok() {
    let bytes = hex("07 00 CA 00 00 | 00 00");
    let res = LoginRes::new(ResultCode::None);
    assert_eq!(encoded(|out| res.encode(out)), bytes);
    assert_eq!(server(&bytes), ServerPacket::LoginRes(res));
}

#[test]
fn example_enter_room_3() {
    let bytes = hex("09 00 CE 00 00 | 03 00 00 00");
    let req = RoomEnterReq { room_number: 3 };
    assert_eq!(encoded(|out| req.encode(out)), bytes);
    assert_eq!(client(&bytes), ClientPacket::RoomEnterReq(req));
}

#[test]
fn example_leave() {
    let bytes = hex("05 00 D7 00 00");
    assert_eq!(encoded(|out| RoomLeaveReq.encode(out)), bytes);
    assert_eq!(client(&bytes), ClientPacket::RoomLeaveReq(RoomLeaveReq));
}

#[test]
fn example_chat_hi() {
    let bytes = hex("06 01 DD 00 00 | 68 69 00×255");
    assert_eq!(bytes.len(), 262);
    let req = RoomChatReq::new("hi").unwrap();
    assert_eq!(encoded(|out| req.encode(out)), bytes);
    let ClientPacket::RoomChatReq(decoded) = client(&bytes) else {
        panic!("not a chat request");
    };
    assert_eq!(decoded.message.as_str(), "hi");
}

#[test]
fn example_user_list_one_user() {
    let bytes = hex("12 00 D1 00 00 | 01 | 07 00 00 00 00 00 00 00 | 03 | 62 6F 62");
    let members = [member(7, "bob")];
    assert_eq!(
        encoded(|out| RoomUserListNtf::encode_members(&members, out).unwrap()),
        bytes
    );
    assert_eq!(
        encoded(|out| assert_eq!(encode_user_list(members, out), 1)),
        bytes
    );
    let ServerPacket::RoomUserListNtf(list) = server(&bytes) else {
        panic!("not a user list");
    };
    assert_eq!(list.len(), 1);
    assert!(list.is_last());
    assert_eq!(list.members().collect::<Vec<_>>(), members);
    assert_eq!(encoded(|out| list.encode(out)), bytes);
}

#[test]
fn sizes_as_the_csharp_client_encodes_them() {
    let sizes = [
        encoded(|o| LoginReq::new("a", "b").unwrap().encode(o)).len(),
        encoded(|o| LoginRes::new(ResultCode::None).encode(o)).len(),
        encoded(|o| RoomEnterReq { room_number: 0 }.encode(o)).len(),
        encoded(|o| RoomEnterRes::new(ResultCode::None).encode(o)).len(),
        encoded(|o| RoomLeaveReq.encode(o)).len(),
        encoded(|o| RoomLeaveRes::new(ResultCode::None).encode(o)).len(),
        encoded(|o| RoomChatReq::new("m").unwrap().encode(o)).len(),
        encoded(|o| RoomChatRes::new(ResultCode::None).encode(o)).len(),
        encoded(|o| {
            RoomChatNtf {
                user_id: UserId::new("a").unwrap(),
                message: ringport_proto::Message::new("m").unwrap(),
            }
            .encode(o)
        })
        .len(),
    ];
    assert_eq!(sizes, [71, 7, 9, 7, 5, 7, 262, 7, 295]);
    let consts = [
        LoginReq::LEN,
        LoginRes::LEN,
        RoomEnterReq::LEN,
        RoomEnterRes::LEN,
        RoomLeaveReq::LEN,
        RoomLeaveRes::LEN,
        RoomChatReq::LEN,
        RoomChatRes::LEN,
        RoomChatNtf::LEN,
    ];
    assert_eq!(consts, sizes);
    assert_eq!(RoomLeaveUserNtf::LEN, 13);
    assert_eq!(RoomUserListNtf::MAX_LEN, 5213);
}

#[test]
fn new_user_and_leave_user_notifies() {
    let ntf = RoomNewUserNtf {
        user_unique_id: -2,
        user_id: UserId::new("bob").unwrap(),
    };
    let bytes = hex("11 00 D0 00 00 | FE FF FF FF FF FF FF FF | 03 | 62 6F 62");
    assert_eq!(ntf.encoded_len(), 17);
    assert_eq!(encoded(|out| ntf.encode(out)), bytes);
    assert_eq!(server(&bytes), ServerPacket::RoomNewUserNtf(ntf));

    let ntf = RoomLeaveUserNtf { user_unique_id: 7 };
    let bytes = hex("0D 00 D9 00 00 | 07 00 00 00 00 00 00 00");
    assert_eq!(encoded(|out| ntf.encode(out)), bytes);
    assert_eq!(server(&bytes), ServerPacket::RoomLeaveUserNtf(ntf));
}

#[test]
fn echo_any_body_including_empty() {
    let bytes = hex("05 00 01 00 00");
    assert_eq!(client(&bytes), ClientPacket::DevEcho(DevEcho { body: &[] }));
    let bytes = hex("08 00 01 00 00 | 00 FF 0A");
    let echo = DevEcho {
        body: &[0x00, 0xFF, 0x0A],
    };
    assert_eq!(encoded(|out| echo.encode(out).unwrap()), bytes);
    assert_eq!(client(&bytes), ClientPacket::DevEcho(echo));
    assert_eq!(server(&bytes), ServerPacket::DevEcho(echo));
}

#[test]
fn echo_too_long_is_refused_without_writing() {
    let body = vec![7; DevEcho::MAX_BODY_LEN + 1];
    let mut out = vec![1, 2];
    assert_eq!(
        DevEcho { body: &body }.encode(&mut out),
        Err(EncodeError::TooLong {
            len: MAX_FRAME_LIMIT + 1,
            max: MAX_FRAME_LIMIT
        })
    );
    assert_eq!(out, [1, 2]);
    DevEcho {
        body: &body[..DevEcho::MAX_BODY_LEN],
    }
    .encode(&mut out)
    .unwrap();
    assert_eq!(out.len(), 2 + MAX_FRAME_LIMIT);
    assert_eq!(frame_len(&out[2..], usize::MAX), Ok(Some(MAX_FRAME_LIMIT)));
}

#[test]
fn type_byte_is_ignored() {
    let bytes = hex("05 00 D7 00 80");
    assert_eq!(client(&bytes), ClientPacket::RoomLeaveReq(RoomLeaveReq));
}

#[test]
fn unknown_ids_are_not_errors() {
    // Ids the server sends are unknown to a server.
    let bytes = hex("07 00 CA 00 00 | 00 00");
    assert_eq!(
        client(&bytes),
        ClientPacket::Unknown {
            id: id::LOGIN_RES,
            body: &[0, 0]
        }
    );
    let bytes = hex("06 00 0F 27 00 | 2A");
    assert_eq!(
        client(&bytes),
        ClientPacket::Unknown {
            id: 9999,
            body: &[42]
        }
    );
    // And request ids are unknown to a client.
    let bytes = hex("05 00 D7 00 00");
    let packet = server(&bytes);
    assert_eq!(
        packet,
        ServerPacket::Unknown {
            id: id::ROOM_LEAVE_REQ,
            body: &[]
        }
    );
    // Encoding an unknown packet writes the same frame.
    assert_eq!(encoded(|out| packet.encode(out).unwrap()), bytes);
}

fn invalid(id: u16, reason: BodyError) -> Result<(), DecodeError> {
    Err(DecodeError::InvalidBody { id, reason })
}

fn decode_client(frame: &[u8]) -> Result<(), DecodeError> {
    ClientPacket::decode(frame).map(|_| ())
}

fn decode_server(frame: &[u8]) -> Result<(), DecodeError> {
    ServerPacket::decode(frame).map(|_| ())
}

/// A frame with a correct header around `body`.
fn frame(id: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    ClientPacket::Unknown { id, body }.encode(&mut out).unwrap();
    out
}

#[test]
fn wrong_body_size_names_the_request() {
    let cases = [
        (id::LOGIN_REQ, 65, 66),
        (id::LOGIN_REQ, 67, 66),
        (id::LOGIN_REQ, 0, 66),
        (id::ROOM_ENTER_REQ, 3, 4),
        (id::ROOM_ENTER_REQ, 5, 4),
        (id::ROOM_LEAVE_REQ, 1, 0),
        (id::ROOM_CHAT_REQ, 256, 257),
        (id::ROOM_CHAT_REQ, 258, 257),
    ];
    for (request, len, expected) in cases {
        let mut body = vec![b'a'; len];
        if let Some(first) = body.get_mut(1) {
            *first = 0;
        }
        let err = ClientPacket::decode(&frame(request, &body)).unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidBody {
                id: request,
                reason: BodyError::WrongSize { len, expected }
            }
        );
        assert_eq!(err.invalid_packet_id(), Some(request));
        // The server answers with the request's response and result 90.
        let response = ServerPacket::response(request, ResultCode::InvalidPacket).unwrap();
        assert_eq!(Some(response.id()), id::response_to(request));
        let bytes = encoded(|out| response.encode(out).unwrap());
        let code = u16::from_le_bytes([bytes[5], bytes[6]]);
        assert_eq!((bytes.len(), code), (7, 90));
    }
    assert_eq!(ServerPacket::response(id::DEV_ECHO, ResultCode::None), None);
}

#[test]
fn bad_text_fields_name_the_request_and_field() {
    let mut login = hex("47 00 C9 00 00 | 74 65 73 74 00×29 | 31 32 33 34 00×29");
    // No NUL in the user id.
    let mut no_nul = login.clone();
    no_nul[5..38].fill(b'x');
    assert_eq!(
        decode_client(&no_nul),
        invalid(
            201,
            BodyError::Text {
                field: TextField::UserId,
                source: TextError::NoNul
            }
        )
    );
    // Empty password.
    login[38] = 0;
    assert_eq!(
        decode_client(&login),
        invalid(
            201,
            BodyError::Text {
                field: TextField::Password,
                source: TextError::Empty
            }
        )
    );
    // Invalid UTF-8 message, and an empty one.
    let mut chat = hex("06 01 DD 00 00 | 68 69 00×255");
    chat[6] = 0xFF;
    assert_eq!(
        decode_client(&chat),
        invalid(
            221,
            BodyError::Text {
                field: TextField::Message,
                source: TextError::InvalidUtf8
            }
        )
    );
    chat[5] = 0;
    assert_eq!(
        decode_client(&chat),
        invalid(
            221,
            BodyError::Text {
                field: TextField::Message,
                source: TextError::Empty
            }
        )
    );
}

#[test]
fn bytes_after_the_nul_are_ignored() {
    let mut chat = hex("06 01 DD 00 00 | 68 69 00×255");
    chat[8] = 0xFF;
    chat[261] = b'z';
    let ClientPacket::RoomChatReq(req) = client(&chat) else {
        panic!("not a chat");
    };
    assert_eq!(req.message.as_str(), "hi");
}

#[test]
fn frame_must_match_its_header() {
    assert_eq!(decode_client(&[5, 0, 0xD7]), Err(DecodeError::TooShort(3)));
    assert_eq!(decode_server(&[]), Err(DecodeError::TooShort(0)));
    // A longer slice than the header says: the caller did not cut it.
    assert_eq!(
        decode_client(&hex("05 00 D7 00 00 | 05")),
        Err(DecodeError::LengthMismatch {
            header: 5,
            frame: 6
        })
    );
    assert_eq!(
        decode_server(&hex("09 00 CA 00 00 | 00 00")),
        Err(DecodeError::LengthMismatch {
            header: 9,
            frame: 7
        })
    );
}

#[test]
fn server_packet_errors() {
    assert_eq!(
        decode_server(&hex("07 00 CA 00 00 | E7 03")),
        invalid(202, BodyError::UnknownResult(999))
    );
    assert_eq!(
        decode_server(&hex("08 00 DE 00 00 | 00 00 00")),
        invalid(
            222,
            BodyError::WrongSize {
                len: 3,
                expected: 2
            }
        )
    );
    // 208 whose id_len does not match the body.
    assert_eq!(
        decode_server(&frame(208, &hex("07 00×7 | 04 | 62 6F 62"))),
        invalid(
            208,
            BodyError::WrongSize {
                len: 12,
                expected: 13
            }
        )
    );
    assert_eq!(
        decode_server(&frame(208, &hex("07 00×7"))),
        invalid(208, BodyError::Truncated)
    );
    assert_eq!(
        decode_server(&frame(208, &hex("07 00×7 | 00"))),
        invalid(
            208,
            BodyError::Text {
                field: TextField::UserId,
                source: TextError::Empty
            }
        )
    );
    // 209: count too large, entries missing, bytes left over, bad id.
    assert_eq!(
        decode_server(&frame(209, &[128])),
        invalid(209, BodyError::TooManyUsers(128))
    );
    assert_eq!(
        decode_server(&frame(209, &[])),
        invalid(209, BodyError::Truncated)
    );
    assert_eq!(
        decode_server(&frame(209, &hex("02 | 07 00×7 | 03 | 62 6F 62"))),
        invalid(209, BodyError::Truncated)
    );
    assert_eq!(
        decode_server(&frame(209, &hex("01 | 07 00×7 | 03 | 62 6F 62 | 00"))),
        invalid(209, BodyError::TrailingBytes(1))
    );
    assert_eq!(
        decode_server(&frame(209, &hex("01 | 07 00×7 | 02 | C3 28"))),
        invalid(
            209,
            BodyError::Text {
                field: TextField::UserId,
                source: TextError::InvalidUtf8
            }
        )
    );
}

#[test]
fn text_that_does_not_fit_is_refused() {
    let long = "x".repeat(33);
    assert_eq!(
        LoginReq::new(&long, "pw"),
        Err(EncodeError::Text {
            field: TextField::UserId,
            source: TextError::TooLong { len: 33, max: 32 }
        })
    );
    assert_eq!(
        LoginReq::new("id", ""),
        Err(EncodeError::Text {
            field: TextField::Password,
            source: TextError::Empty
        })
    );
    assert_eq!(
        RoomChatReq::new(&"é".repeat(129)),
        Err(EncodeError::Text {
            field: TextField::Message,
            source: TextError::TooLong { len: 258, max: 256 }
        })
    );
}

fn names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("user{i}")).collect()
}

#[test]
fn user_lists_split_into_packets_of_127() {
    for (count, expected) in [
        (0, vec![0]),
        (1, vec![1]),
        (126, vec![126]),
        (127, vec![127, 0]),
        (128, vec![127, 1]),
        (254, vec![127, 127, 0]),
        (300, vec![127, 127, 46]),
    ] {
        let names = names(count);
        let members = names
            .iter()
            .enumerate()
            .map(|(i, name)| member(i64::try_from(i).unwrap() * 3, name));
        let mut out = Vec::new();
        assert_eq!(encode_user_list(members.clone(), &mut out), expected.len());

        let mut rest = out.as_slice();
        let mut decoded = Vec::new();
        let mut sizes = Vec::new();
        while let Some(len) = frame_len(rest, DEFAULT_MAX_FRAME).unwrap() {
            let (frame, tail) = rest.split_at(len);
            let ServerPacket::RoomUserListNtf(list) = ServerPacket::decode(frame).unwrap() else {
                panic!("not a user list");
            };
            sizes.push(list.len());
            assert_eq!(list.is_last(), sizes.len() == expected.len());
            decoded.extend(list.members());
            rest = tail;
        }
        assert!(rest.is_empty());
        assert_eq!(sizes, expected, "{count} members");
        assert_eq!(decoded, members.collect::<Vec<_>>());
    }
}

#[test]
fn one_user_list_packet_holds_at_most_127() {
    let names = names(128);
    let members: Vec<_> = names.iter().map(|n| member(1, n)).collect();
    let mut out = vec![9];
    assert_eq!(
        RoomUserListNtf::encode_members(&members, &mut out),
        Err(EncodeError::TooManyUsers(128))
    );
    assert_eq!(out, [9]);
    RoomUserListNtf::encode_members(&members[..127], &mut out).unwrap();
    let ServerPacket::RoomUserListNtf(list) = server(&out[1..]) else {
        panic!("not a user list");
    };
    assert_eq!(list.len(), 127);
    assert!(!list.is_last());
}

#[test]
fn largest_user_list_fits_the_default_frame() {
    let name = "n".repeat(32);
    let members = vec![member(i64::MIN, &name); 127];
    let mut out = Vec::new();
    RoomUserListNtf::encode_members(&members, &mut out).unwrap();
    assert_eq!(out.len(), RoomUserListNtf::MAX_LEN);
    assert_eq!(
        frame_len(&out, DEFAULT_MAX_FRAME),
        Ok(Some(RoomUserListNtf::MAX_LEN))
    );
}
