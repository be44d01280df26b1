//! Packet ids of protocol v1 and its extension (ids 300 and up), in one place (see `docs/PROTOCOL.md`, "Packets").
//!
//! Ids the client sends are `*_REQ` (plus [`DEV_ECHO`]); ids the server sends
//! are `*_RES` and `*_NTF` (plus [`DEV_ECHO`]). A server treats a server-sent id
//! it receives as unknown, and the other way round.

/// 1: raw bytes echoed back unchanged, both directions, any session state.
pub const DEV_ECHO: u16 = 1;
/// 201: log in with a user id and a password (C→S).
pub const LOGIN_REQ: u16 = 201;
/// 202: result of a login (S→C).
pub const LOGIN_RES: u16 = 202;
/// 206: enter a room by number (C→S).
pub const ROOM_ENTER_REQ: u16 = 206;
/// 207: result of entering a room (S→C).
pub const ROOM_ENTER_RES: u16 = 207;
/// 208: a user entered the room, sent to the other members (S→C).
pub const ROOM_NEW_USER_NTF: u16 = 208;
/// 209: the users already in the room, sent to the one entering (S→C).
pub const ROOM_USER_LIST_NTF: u16 = 209;
/// 215: leave the current room (C→S).
pub const ROOM_LEAVE_REQ: u16 = 215;
/// 216: result of leaving a room (S→C).
pub const ROOM_LEAVE_RES: u16 = 216;
/// 217: a user left the room, sent to the remaining members (S→C).
pub const ROOM_LEAVE_USER_NTF: u16 = 217;
/// 221: send a chat message to the current room (C→S).
pub const ROOM_CHAT_REQ: u16 = 221;
/// 222: result of a chat request (S→C).
pub const ROOM_CHAT_RES: u16 = 222;
/// 223: a chat message, sent to every member of the room (S→C).
pub const ROOM_CHAT_NTF: u16 = 223;

/// 301: create a room with a name and a capacity (C→S, extension).
pub const ROOM_CREATE_REQ: u16 = 301;
/// 302: result of creating a room, with its number (S→C, extension).
pub const ROOM_CREATE_RES: u16 = 302;
/// 303: list the rooms, and start or stop watching the list (C→S,
/// extension).
pub const ROOM_LIST_REQ: u16 = 303;
/// 304: result of a list request, followed by the 305s (S→C, extension).
pub const ROOM_LIST_RES: u16 = 304;
/// 305: rooms of the list, split at 127 (S→C, extension).
pub const ROOM_LIST_NTF: u16 = 305;
/// 306: a room of the watched list changed (S→C, extension; only to
/// sessions that asked to watch).
pub const ROOM_LIST_CHANGE_NTF: u16 = 306;
/// 307: enter a room by name (C→S, extension).
pub const ROOM_ENTER_NAME_REQ: u16 = 307;
/// 308: result of entering by name, with the room's number (S→C,
/// extension).
pub const ROOM_ENTER_NAME_RES: u16 = 308;

/// The protocol name of a packet id (`"ROOM_CHAT_REQ"`), or `None` for an id
/// protocol v1 does not define. Meant for logs and metrics labels.
pub const fn name(id: u16) -> Option<&'static str> {
    Some(match id {
        DEV_ECHO => "DEV_ECHO",
        LOGIN_REQ => "LOGIN_REQ",
        LOGIN_RES => "LOGIN_RES",
        ROOM_ENTER_REQ => "ROOM_ENTER_REQ",
        ROOM_ENTER_RES => "ROOM_ENTER_RES",
        ROOM_NEW_USER_NTF => "ROOM_NEW_USER_NTF",
        ROOM_USER_LIST_NTF => "ROOM_USER_LIST_NTF",
        ROOM_LEAVE_REQ => "ROOM_LEAVE_REQ",
        ROOM_LEAVE_RES => "ROOM_LEAVE_RES",
        ROOM_LEAVE_USER_NTF => "ROOM_LEAVE_USER_NTF",
        ROOM_CHAT_REQ => "ROOM_CHAT_REQ",
        ROOM_CHAT_RES => "ROOM_CHAT_RES",
        ROOM_CHAT_NTF => "ROOM_CHAT_NTF",
        ROOM_CREATE_REQ => "ROOM_CREATE_REQ",
        ROOM_CREATE_RES => "ROOM_CREATE_RES",
        ROOM_LIST_REQ => "ROOM_LIST_REQ",
        ROOM_LIST_RES => "ROOM_LIST_RES",
        ROOM_LIST_NTF => "ROOM_LIST_NTF",
        ROOM_LIST_CHANGE_NTF => "ROOM_LIST_CHANGE_NTF",
        ROOM_ENTER_NAME_REQ => "ROOM_ENTER_NAME_REQ",
        ROOM_ENTER_NAME_RES => "ROOM_ENTER_NAME_RES",
        _ => return None,
    })
}

/// The id of the response that answers `request`, for the requests that have
/// one carrying a result code (201 → 202, 206 → 207, 215 → 216, 221 → 222,
/// and the extension's 301 → 302, 303 → 304, 307 → 308).
///
/// This is the packet a server sends with result 90 `INVALID_PACKET` when the
/// request's body is invalid. [`DEV_ECHO`] has no result code (and any body is
/// valid for it), so it maps to `None`, as does every other id.
pub const fn response_to(request: u16) -> Option<u16> {
    match request {
        LOGIN_REQ => Some(LOGIN_RES),
        ROOM_ENTER_REQ => Some(ROOM_ENTER_RES),
        ROOM_LEAVE_REQ => Some(ROOM_LEAVE_RES),
        ROOM_CHAT_REQ => Some(ROOM_CHAT_RES),
        ROOM_CREATE_REQ => Some(ROOM_CREATE_RES),
        ROOM_LIST_REQ => Some(ROOM_LIST_RES),
        ROOM_ENTER_NAME_REQ => Some(ROOM_ENTER_NAME_RES),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_protocol_table() {
        let table = [
            (DEV_ECHO, 1, "DEV_ECHO"),
            (LOGIN_REQ, 201, "LOGIN_REQ"),
            (LOGIN_RES, 202, "LOGIN_RES"),
            (ROOM_ENTER_REQ, 206, "ROOM_ENTER_REQ"),
            (ROOM_ENTER_RES, 207, "ROOM_ENTER_RES"),
            (ROOM_NEW_USER_NTF, 208, "ROOM_NEW_USER_NTF"),
            (ROOM_USER_LIST_NTF, 209, "ROOM_USER_LIST_NTF"),
            (ROOM_LEAVE_REQ, 215, "ROOM_LEAVE_REQ"),
            (ROOM_LEAVE_RES, 216, "ROOM_LEAVE_RES"),
            (ROOM_LEAVE_USER_NTF, 217, "ROOM_LEAVE_USER_NTF"),
            (ROOM_CHAT_REQ, 221, "ROOM_CHAT_REQ"),
            (ROOM_CHAT_RES, 222, "ROOM_CHAT_RES"),
            (ROOM_CHAT_NTF, 223, "ROOM_CHAT_NTF"),
            (ROOM_CREATE_REQ, 301, "ROOM_CREATE_REQ"),
            (ROOM_CREATE_RES, 302, "ROOM_CREATE_RES"),
            (ROOM_LIST_REQ, 303, "ROOM_LIST_REQ"),
            (ROOM_LIST_RES, 304, "ROOM_LIST_RES"),
            (ROOM_LIST_NTF, 305, "ROOM_LIST_NTF"),
            (ROOM_LIST_CHANGE_NTF, 306, "ROOM_LIST_CHANGE_NTF"),
            (ROOM_ENTER_NAME_REQ, 307, "ROOM_ENTER_NAME_REQ"),
            (ROOM_ENTER_NAME_RES, 308, "ROOM_ENTER_NAME_RES"),
        ];
        for (constant, value, label) in table {
            assert_eq!(constant, value);
            assert_eq!(name(value), Some(label));
        }
        assert_eq!(name(0), None);
        assert_eq!(name(200), None);
    }

    #[test]
    fn responses_pair_with_requests() {
        assert_eq!(response_to(LOGIN_REQ), Some(LOGIN_RES));
        assert_eq!(response_to(ROOM_ENTER_REQ), Some(ROOM_ENTER_RES));
        assert_eq!(response_to(ROOM_LEAVE_REQ), Some(ROOM_LEAVE_RES));
        assert_eq!(response_to(ROOM_CHAT_REQ), Some(ROOM_CHAT_RES));
        assert_eq!(response_to(ROOM_CREATE_REQ), Some(ROOM_CREATE_RES));
        assert_eq!(response_to(ROOM_LIST_REQ), Some(ROOM_LIST_RES));
        assert_eq!(response_to(ROOM_ENTER_NAME_REQ), Some(ROOM_ENTER_NAME_RES));
        assert_eq!(response_to(DEV_ECHO), None);
        assert_eq!(response_to(LOGIN_RES), None);
    }
}
