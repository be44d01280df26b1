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

/// 311: opt in to features (history, resume tokens) (C→S, extension).
pub const HELLO_REQ: u16 = 311;
/// 312: the features granted (S→C, extension).
pub const HELLO_RES: u16 = 312;
/// 313: a chat message with its room, epoch, sequence number and time,
/// instead of 223 for sessions with the history feature (S→C, extension).
pub const ROOM_CHAT_SEQ_NTF: u16 = 313;
/// 314: the room's messages after a sequence number (C→S, extension).
pub const ROOM_HISTORY_REQ: u16 = 314;
/// 315: result of a history request, followed by its 313s (S→C,
/// extension).
pub const ROOM_HISTORY_RES: u16 = 315;
/// 316: a resume token (S→C, extension).
pub const RESUME_TOKEN_NTF: u16 = 316;
/// 317: log in with a resume token (C→S, extension).
pub const LOGIN_TOKEN_REQ: u16 = 317;
/// 318: result of a token login (S→C, extension).
pub const LOGIN_TOKEN_RES: u16 = 318;

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
        HELLO_REQ => "HELLO_REQ",
        HELLO_RES => "HELLO_RES",
        ROOM_CHAT_SEQ_NTF => "ROOM_CHAT_SEQ_NTF",
        ROOM_HISTORY_REQ => "ROOM_HISTORY_REQ",
        ROOM_HISTORY_RES => "ROOM_HISTORY_RES",
        RESUME_TOKEN_NTF => "RESUME_TOKEN_NTF",
        LOGIN_TOKEN_REQ => "LOGIN_TOKEN_REQ",
        LOGIN_TOKEN_RES => "LOGIN_TOKEN_RES",
        _ => return None,
    })
}

/// The id of the response that answers `request`, for the requests that have
/// one carrying a result code (201 → 202, 206 → 207, 215 → 216, 221 → 222,
/// and the extension's 301 → 302, 303 → 304, 307 → 308, 311 → 312,
/// 314 → 315, 317 → 318).
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
        HELLO_REQ => Some(HELLO_RES),
        ROOM_HISTORY_REQ => Some(ROOM_HISTORY_RES),
        LOGIN_TOKEN_REQ => Some(LOGIN_TOKEN_RES),
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
            (HELLO_REQ, 311, "HELLO_REQ"),
            (HELLO_RES, 312, "HELLO_RES"),
            (ROOM_CHAT_SEQ_NTF, 313, "ROOM_CHAT_SEQ_NTF"),
            (ROOM_HISTORY_REQ, 314, "ROOM_HISTORY_REQ"),
            (ROOM_HISTORY_RES, 315, "ROOM_HISTORY_RES"),
            (RESUME_TOKEN_NTF, 316, "RESUME_TOKEN_NTF"),
            (LOGIN_TOKEN_REQ, 317, "LOGIN_TOKEN_REQ"),
            (LOGIN_TOKEN_RES, 318, "LOGIN_TOKEN_RES"),
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
