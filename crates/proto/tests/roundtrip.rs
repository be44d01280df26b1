//! Property tests: every packet survives encode → frame → decode; a stream
//! of packets cut at arbitrary points reassembles to the same packets; and
//! arbitrary bytes never make the decoders panic.

#![allow(clippy::unwrap_used)] // helpers of a test file: a failed unwrap is a failed test

use proptest::prelude::*;
use ringport_proto::{
    encode_room_list, encode_user_list, frame_len, ClientPacket, DecodeError, DevEcho, Features,
    FrameError, HelloReq, HelloRes, LoginReq, LoginRes, LoginTokenReq, LoginTokenRes, Message,
    ResultCode, ResumeTokenNtf, RoomChatNtf, RoomChatReq, RoomChatRes, RoomChatSeqNtf,
    RoomCreateReq, RoomCreateRes, RoomEnterNameReq, RoomEnterNameRes, RoomEnterReq, RoomEnterRes,
    RoomHistoryReq, RoomHistoryRes, RoomInfo, RoomLeaveReq, RoomLeaveRes, RoomLeaveUserNtf,
    RoomListChangeNtf, RoomListReq, RoomListRes, RoomMember, RoomName, RoomNewUserNtf,
    RoomUserListNtf, ServerPacket, UserId, DEFAULT_MAX_FRAME,
};

/// Text of 1 to `max` bytes without NUL, cut on a character boundary.
fn text(max: usize) -> impl Strategy<Value = String> {
    let ascii = proptest::string::string_regex(&format!("[ -~]{{1,{max}}}")).unwrap();
    let any = proptest::string::string_regex(&format!("[^\\x00]{{1,{max}}}")).unwrap();
    prop_oneof![ascii, any].prop_map(move |s| {
        let end = s
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|&end| end <= max)
            .last()
            .unwrap_or(0);
        s[..end].to_string()
    })
}

fn result_code() -> impl Strategy<Value = ResultCode> {
    proptest::sample::select(ResultCode::ALL.to_vec())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..300)
}

/// An owned description of a client-to-server packet.
#[derive(Debug, Clone, PartialEq)]
enum Req {
    Echo(Vec<u8>),
    Login(String, String),
    Enter(i32),
    Leave,
    Chat(String),
    Create(u16, Vec<u8>),
    List(bool),
    EnterName(Vec<u8>),
    Hello(u32),
    History(u64, u64, u16),
    LoginToken(Vec<u8>),
    Unknown(u16, Vec<u8>),
}

/// Any bytes a name field can carry (the server checks them, not the
/// decoder).
fn name_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..=255)
}

fn req() -> impl Strategy<Value = Req> {
    let unknown = any::<u16>().prop_filter("not a request id", |id| {
        ![1, 201, 206, 215, 221, 301, 303, 307, 311, 314, 317].contains(id)
    });
    prop_oneof![
        any::<u32>().prop_map(Req::Hello),
        (any::<u64>(), any::<u64>(), any::<u16>()).prop_map(|(e, s, m)| Req::History(e, s, m)),
        name_bytes().prop_map(Req::LoginToken),
        (any::<u16>(), name_bytes()).prop_map(|(max, name)| Req::Create(max, name)),
        any::<bool>().prop_map(Req::List),
        name_bytes().prop_map(Req::EnterName),
        body().prop_map(Req::Echo),
        (text(32), text(32)).prop_map(|(id, pw)| Req::Login(id, pw)),
        any::<i32>().prop_map(Req::Enter),
        Just(Req::Leave),
        text(256).prop_map(Req::Chat),
        (unknown, body()).prop_map(|(id, body)| Req::Unknown(id, body)),
    ]
}

impl Req {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Req::Echo(body) => DevEcho { body }.encode(out).unwrap(),
            Req::Login(id, pw) => LoginReq::new(id, pw).unwrap().encode(out),
            Req::Enter(room_number) => RoomEnterReq {
                room_number: *room_number,
            }
            .encode(out),
            Req::Leave => RoomLeaveReq.encode(out),
            Req::Chat(msg) => RoomChatReq::new(msg).unwrap().encode(out),
            Req::Create(max_users, name) => RoomCreateReq {
                max_users: *max_users,
                name,
            }
            .encode(out),
            Req::List(watch) => RoomListReq { watch: *watch }.encode(out),
            Req::EnterName(name) => RoomEnterNameReq { name }.encode(out),
            Req::Hello(f) => HelloReq {
                features: Features(*f),
            }
            .encode(out),
            Req::History(epoch, after_seq, max) => RoomHistoryReq {
                epoch: *epoch,
                after_seq: *after_seq,
                max: *max,
            }
            .encode(out),
            Req::LoginToken(token) => LoginTokenReq { token }.encode(out),
            Req::Unknown(id, body) => ClientPacket::Unknown { id: *id, body }.encode(out).unwrap(),
        }
    }

    fn from_packet(packet: &ClientPacket<'_>) -> Req {
        match *packet {
            ClientPacket::DevEcho(p) => Req::Echo(p.body.to_vec()),
            ClientPacket::LoginReq(p) => {
                Req::Login(p.user_id.to_string(), p.password.as_str().to_string())
            }
            ClientPacket::RoomEnterReq(p) => Req::Enter(p.room_number),
            ClientPacket::RoomLeaveReq(RoomLeaveReq) => Req::Leave,
            ClientPacket::RoomChatReq(p) => Req::Chat(p.message.to_string()),
            ClientPacket::RoomCreateReq(p) => Req::Create(p.max_users, p.name.to_vec()),
            ClientPacket::RoomListReq(p) => Req::List(p.watch),
            ClientPacket::RoomEnterNameReq(p) => Req::EnterName(p.name.to_vec()),
            ClientPacket::HelloReq(p) => Req::Hello(p.features.0),
            ClientPacket::RoomHistoryReq(p) => Req::History(p.epoch, p.after_seq, p.max),
            ClientPacket::LoginTokenReq(p) => Req::LoginToken(p.token.to_vec()),
            ClientPacket::Unknown { id, body } => Req::Unknown(id, body.to_vec()),
        }
    }
}

/// An owned description of a server-to-client packet.
#[derive(Debug, Clone, PartialEq)]
enum Res {
    Echo(Vec<u8>),
    Login(ResultCode),
    Enter(ResultCode),
    NewUser(i64, String),
    UserList(Vec<(i64, String)>),
    Leave(ResultCode),
    LeaveUser(i64),
    Chat(ResultCode),
    ChatNtf(String, String),
    Create(ResultCode, i32),
    List(ResultCode),
    Rooms(Vec<Room>),
    Change(Room),
    EnterName(ResultCode, i32),
    Hello(ResultCode, u32),
    ChatSeq(i32, u64, u64, i64, String, String),
    History(ResultCode, i32, u64, u64, bool, bool, u16),
    Token(u32, Vec<u8>),
    LoginToken(ResultCode),
    Unknown(u16, Vec<u8>),
}

/// An owned room entry: number, users, capacity, created, closed, name.
type Room = (i32, u16, u16, bool, bool, Option<String>);

fn room_name() -> impl Strategy<Value = String> {
    text(32).prop_filter("a valid room name", |n| RoomName::new(n).is_ok())
}

fn room() -> impl Strategy<Value = Room> {
    (
        any::<i32>(),
        any::<u16>(),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(room_name()),
    )
}

fn room_info(r: &Room) -> RoomInfo<'_> {
    RoomInfo {
        number: r.0,
        users: r.1,
        max_users: r.2,
        created: r.3,
        closed: r.4,
        name: r.5.as_deref().map(|n| RoomName::new(n).unwrap()),
    }
}

fn owned_room(r: RoomInfo<'_>) -> Room {
    (
        r.number,
        r.users,
        r.max_users,
        r.created,
        r.closed,
        r.name.map(|n| n.as_str().to_owned()),
    )
}

fn res() -> impl Strategy<Value = Res> {
    let unknown = any::<u16>().prop_filter("not a server id", |id| {
        ![
            1, 202, 207, 208, 209, 216, 217, 222, 223, 302, 304, 305, 306, 308,
        ]
        .contains(id)
    });
    let members = proptest::collection::vec((any::<i64>(), text(32)), 0..=127);
    prop_oneof![
        body().prop_map(Res::Echo),
        result_code().prop_map(Res::Login),
        result_code().prop_map(Res::Enter),
        (any::<i64>(), text(32)).prop_map(|(uid, id)| Res::NewUser(uid, id)),
        members.prop_map(Res::UserList),
        result_code().prop_map(Res::Leave),
        any::<i64>().prop_map(Res::LeaveUser),
        result_code().prop_map(Res::Chat),
        (text(32), text(256)).prop_map(|(id, msg)| Res::ChatNtf(id, msg)),
        (result_code(), any::<i32>()).prop_map(|(r, n)| Res::Create(r, n)),
        result_code().prop_map(Res::List),
        // At most 126 rooms: one 305, the last of its list.
        proptest::collection::vec(room(), 0..=126).prop_map(Res::Rooms),
        room().prop_map(Res::Change),
        (result_code(), any::<i32>()).prop_map(|(r, n)| Res::EnterName(r, n)),
        (result_code(), any::<u32>()).prop_map(|(r, f)| Res::Hello(r, f)),
        (
            any::<i32>(),
            any::<u64>(),
            any::<u64>(),
            any::<i64>(),
            text(32),
            text(256)
        )
            .prop_map(|(r, e, s, t, u, m)| Res::ChatSeq(r, e, s, t, u, m)),
        (
            result_code(),
            any::<i32>(),
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
            any::<bool>(),
            any::<u16>()
        )
            .prop_map(|(r, room, e, s, l, m, c)| Res::History(r, room, e, s, l, m, c)),
        (any::<u32>(), name_bytes()).prop_map(|(t, b)| Res::Token(t, b)),
        result_code().prop_map(Res::LoginToken),
        (unknown, body()).prop_map(|(id, body)| Res::Unknown(id, body)),
    ]
}

fn members(list: &[(i64, String)]) -> Vec<RoomMember<'_>> {
    list.iter()
        .map(|(uid, id)| RoomMember {
            user_unique_id: *uid,
            user_id: UserId::new(id).unwrap(),
        })
        .collect()
}

impl Res {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Res::Echo(body) => DevEcho { body }.encode(out).unwrap(),
            Res::Login(r) => LoginRes::new(*r).encode(out),
            Res::Enter(r) => RoomEnterRes::new(*r).encode(out),
            Res::NewUser(uid, id) => RoomNewUserNtf {
                user_unique_id: *uid,
                user_id: UserId::new(id).unwrap(),
            }
            .encode(out),
            Res::UserList(list) => RoomUserListNtf::encode_members(&members(list), out).unwrap(),
            Res::Leave(r) => RoomLeaveRes::new(*r).encode(out),
            Res::LeaveUser(uid) => RoomLeaveUserNtf {
                user_unique_id: *uid,
            }
            .encode(out),
            Res::Chat(r) => RoomChatRes::new(*r).encode(out),
            Res::ChatNtf(id, msg) => RoomChatNtf {
                user_id: UserId::new(id).unwrap(),
                message: Message::new(msg).unwrap(),
            }
            .encode(out),
            Res::Create(result, room_number) => RoomCreateRes {
                result: *result,
                room_number: *room_number,
            }
            .encode(out),
            Res::List(r) => RoomListRes::new(*r).encode(out),
            Res::Rooms(rooms) => {
                assert_eq!(encode_room_list(rooms.iter().map(room_info), out), 1);
            }
            Res::Change(r) => RoomListChangeNtf { room: room_info(r) }.encode(out),
            Res::EnterName(result, room_number) => RoomEnterNameRes {
                result: *result,
                room_number: *room_number,
            }
            .encode(out),
            Res::Hello(result, f) => HelloRes {
                result: *result,
                features: Features(*f),
            }
            .encode(out),
            Res::ChatSeq(room, epoch, seq, time_ms, user, message) => RoomChatSeqNtf {
                room: *room,
                epoch: *epoch,
                seq: *seq,
                time_ms: *time_ms,
                user_id: UserId::new(user).unwrap(),
                message: Message::new(message).unwrap(),
            }
            .encode(out),
            Res::History(result, room, epoch, last_seq, lost, more, count) => RoomHistoryRes {
                result: *result,
                room: *room,
                epoch: *epoch,
                last_seq: *last_seq,
                lost: *lost,
                more: *more,
                count: *count,
            }
            .encode(out),
            Res::Token(ttl_secs, token) => ResumeTokenNtf {
                ttl_secs: *ttl_secs,
                token,
            }
            .encode(out),
            Res::LoginToken(r) => LoginTokenRes::new(*r).encode(out),
            Res::Unknown(id, body) => ServerPacket::Unknown { id: *id, body }.encode(out).unwrap(),
        }
    }

    fn from_packet(packet: &ServerPacket<'_>) -> Res {
        match *packet {
            ServerPacket::DevEcho(p) => Res::Echo(p.body.to_vec()),
            ServerPacket::LoginRes(p) => Res::Login(p.result),
            ServerPacket::RoomEnterRes(p) => Res::Enter(p.result),
            ServerPacket::RoomNewUserNtf(p) => {
                Res::NewUser(p.user_unique_id, p.user_id.to_string())
            }
            ServerPacket::RoomUserListNtf(p) => Res::UserList(
                p.members()
                    .map(|m| (m.user_unique_id, m.user_id.to_string()))
                    .collect(),
            ),
            ServerPacket::RoomLeaveRes(p) => Res::Leave(p.result),
            ServerPacket::RoomLeaveUserNtf(p) => Res::LeaveUser(p.user_unique_id),
            ServerPacket::RoomChatRes(p) => Res::Chat(p.result),
            ServerPacket::RoomChatNtf(p) => {
                Res::ChatNtf(p.user_id.to_string(), p.message.to_string())
            }
            ServerPacket::RoomCreateRes(p) => Res::Create(p.result, p.room_number),
            ServerPacket::RoomListRes(p) => Res::List(p.result),
            ServerPacket::RoomListNtf(p) => Res::Rooms(p.rooms().map(owned_room).collect()),
            ServerPacket::RoomListChangeNtf(p) => Res::Change(owned_room(p.room)),
            ServerPacket::RoomEnterNameRes(p) => Res::EnterName(p.result, p.room_number),
            ServerPacket::HelloRes(p) => Res::Hello(p.result, p.features.0),
            ServerPacket::RoomChatSeqNtf(p) => Res::ChatSeq(
                p.room,
                p.epoch,
                p.seq,
                p.time_ms,
                p.user_id.to_string(),
                p.message.to_string(),
            ),
            ServerPacket::RoomHistoryRes(p) => Res::History(
                p.result, p.room, p.epoch, p.last_seq, p.lost, p.more, p.count,
            ),
            ServerPacket::ResumeTokenNtf(p) => Res::Token(p.ttl_secs, p.token.to_vec()),
            ServerPacket::LoginTokenRes(p) => Res::LoginToken(p.result),
            ServerPacket::Unknown { id, body } => Res::Unknown(id, body.to_vec()),
        }
    }
}

/// Splits `stream` into chunks at the given cut points (taken modulo the
/// stream length), as a TCP receive might.
fn chunks(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(0);
    points.push(stream.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

/// Feeds chunks through `frame_len` like a server's receive loop and decodes
/// every complete frame with `decode`.
fn reassemble<T>(chunks: &[Vec<u8>], mut decode: impl FnMut(&[u8]) -> T) -> (Vec<T>, usize) {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(len) = frame_len(&buf[start..], DEFAULT_MAX_FRAME).unwrap() {
            out.push(decode(&buf[start..start + len]));
            start += len;
        }
        buf.drain(..start);
    }
    (out, buf.len())
}

proptest! {
    #[test]
    fn client_packets_round_trip(req in req()) {
        let mut frame = Vec::new();
        req.encode(&mut frame);
        prop_assert_eq!(frame_len(&frame, DEFAULT_MAX_FRAME), Ok(Some(frame.len())));
        let packet = ClientPacket::decode(&frame).unwrap();
        prop_assert_eq!(Req::from_packet(&packet), req);
        // Encoding is canonical: the decoded packet encodes to the same bytes.
        let mut again = Vec::new();
        packet.encode(&mut again).unwrap();
        prop_assert_eq!(again, frame);
    }

    #[test]
    fn server_packets_round_trip(res in res()) {
        let mut frame = Vec::new();
        res.encode(&mut frame);
        prop_assert_eq!(frame_len(&frame, DEFAULT_MAX_FRAME), Ok(Some(frame.len())));
        let packet = ServerPacket::decode(&frame).unwrap();
        prop_assert_eq!(Res::from_packet(&packet), res);
        let mut again = Vec::new();
        packet.encode(&mut again).unwrap();
        prop_assert_eq!(again, frame);
    }

    #[test]
    fn client_stream_cut_anywhere_reassembles(
        reqs in proptest::collection::vec(req(), 1..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut stream = Vec::new();
        for req in &reqs {
            req.encode(&mut stream);
        }
        let (decoded, left) = reassemble(&chunks(&stream, &cuts), |frame| {
            ClientPacket::decode(frame).map(|p| Req::from_packet(&p))
        });
        prop_assert_eq!(left, 0);
        let decoded: Result<Vec<_>, DecodeError> = decoded.into_iter().collect();
        prop_assert_eq!(decoded, Ok(reqs));
    }

    #[test]
    fn server_stream_cut_anywhere_reassembles(
        all in proptest::collection::vec(res(), 1..20),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut stream = Vec::new();
        for res in &all {
            res.encode(&mut stream);
        }
        let (decoded, left) = reassemble(&chunks(&stream, &cuts), |frame| {
            ServerPacket::decode(frame).map(|p| Res::from_packet(&p))
        });
        prop_assert_eq!(left, 0);
        let decoded: Result<Vec<_>, DecodeError> = decoded.into_iter().collect();
        prop_assert_eq!(decoded, Ok(all));
    }

    #[test]
    fn user_list_of_any_length_reassembles(list in proptest::collection::vec((any::<i64>(), text(32)), 0..400)) {
        let mut out = Vec::new();
        let packets = encode_user_list(members(&list), &mut out);
        prop_assert_eq!(packets, list.len() / 127 + 1);
        let (decoded, left) = reassemble(&[out], |frame| match ServerPacket::decode(frame) {
            Ok(ServerPacket::RoomUserListNtf(p)) => Ok((
                p.len(),
                p.members().map(|m| (m.user_unique_id, m.user_id.to_string())).collect::<Vec<_>>(),
            )),
            other => Err(format!("{other:?}")),
        });
        prop_assert_eq!(left, 0);
        prop_assert_eq!(decoded.len(), packets);
        let mut all = Vec::new();
        for (i, packet) in decoded.into_iter().enumerate() {
            let (len, members) = packet.unwrap();
            let last = i + 1 == packets;
            prop_assert_eq!(len < 127, last);
            all.extend(members);
        }
        prop_assert_eq!(all, list);
    }

    #[test]
    fn arbitrary_frames_never_panic(kind in any::<u8>(), id in any::<u16>(), body in body()) {
        let mut frame = Vec::new();
        ClientPacket::Unknown { id, body: &body }.encode(&mut frame).unwrap();
        frame[4] = kind;
        // Anything that decodes re-encodes to a frame that decodes the same.
        if let Ok(packet) = ClientPacket::decode(&frame) {
            prop_assert_eq!(packet.id(), id);
            let mut again = Vec::new();
            packet.encode(&mut again).unwrap();
            prop_assert_eq!(ClientPacket::decode(&again), Ok(packet));
        }
        if let Ok(packet) = ServerPacket::decode(&frame) {
            prop_assert_eq!(packet.id(), id);
            let mut again = Vec::new();
            packet.encode(&mut again).unwrap();
            prop_assert_eq!(ServerPacket::decode(&again), Ok(packet));
        }
    }

    #[test]
    fn a_bad_known_request_names_itself(
        id in proptest::sample::select(vec![201u16, 206, 215, 221, 301, 303, 307, 311, 314, 317]),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut frame = Vec::new();
        ClientPacket::Unknown { id, body: &body }.encode(&mut frame).unwrap();
        match ClientPacket::decode(&frame) {
            Ok(packet) => prop_assert_eq!(packet.id(), id),
            Err(err) => prop_assert_eq!(err.invalid_packet_id(), Some(id)),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), max in 0usize..40000) {
        let mut rest = bytes.as_slice();
        loop {
            match frame_len(rest, max) {
                Ok(Some(len)) => {
                    prop_assert!(len >= 5 && len <= max.min(32767) && len <= rest.len());
                    let (frame, tail) = rest.split_at(len);
                    let _ = ClientPacket::decode(frame);
                    let _ = ServerPacket::decode(frame);
                    rest = tail;
                }
                Ok(None) => {
                    let announced = rest
                        .first_chunk::<2>()
                        .map(|b| usize::from(u16::from_le_bytes(*b)));
                    prop_assert!(announced.is_none_or(|len| len > rest.len()));
                    break;
                }
                Err(FrameError::TooShort(len)) => {
                    prop_assert!(len < 5);
                    break;
                }
                Err(FrameError::TooLong { len, max: limit }) => {
                    prop_assert_eq!(limit, max.min(32767));
                    prop_assert!(len > limit);
                    break;
                }
            }
        }
    }
}
