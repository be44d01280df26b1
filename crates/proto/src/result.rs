//! [`ResultCode`]: the u16 result carried by the 202/207/216/222 responses
//! (see `docs/PROTOCOL.md`, "Result codes").

use std::fmt;

/// A response's result code. `None` (0) is success; every other code says why
/// the request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ResultCode {
    /// 0 `NONE`: success.
    None = 0,
    /// 31 `LOGIN_USER_ALREADY`: the id is logged in on another session, or
    /// this session is already logged in.
    LoginUserAlready = 31,
    /// 32 `LOGIN_USER_USED_ALL_OBJ`: the server holds its maximum of
    /// logged-in users.
    LoginUserUsedAllObj = 32,
    /// 33 `LOGIN_USER_INVALID_PW`: wrong password, or unknown id when
    /// auto-registration is off.
    LoginUserInvalidPw = 33,
    /// 34 `LOGIN_BACKEND_UNAVAILABLE`: the account store cannot be reached.
    LoginBackendUnavailable = 34,
    /// 52 `ENTER_ROOM_INVALID_USER_STATUS`: not logged in, or already in a room.
    EnterRoomInvalidUserStatus = 52,
    /// 54 `ENTER_ROOM_FULL_USER`: the room holds its maximum.
    EnterRoomFullUser = 54,
    /// 61 `ROOM_INVALID_INDEX`: room number out of range (207), or not in a
    /// room (216).
    RoomInvalidIndex = 61,
    /// 63 `ROOM_TOO_MANY_PACKET`: the session exceeded its chat rate limit.
    RoomTooManyPacket = 63,
    /// 81 `CHAT_ROOM_INVALID_ROOM_NUMBER`: chat while not in a room.
    ChatRoomInvalidRoomNumber = 81,
    /// 90 `INVALID_PACKET`: wrong body size, invalid UTF-8, empty text field.
    InvalidPacket = 90,
    /// 100 `ROOM_NAME_INVALID` (extension): a room name that is empty,
    /// longer than 32 bytes, not UTF-8, holds a control character or starts
    /// or ends with white space.
    RoomNameInvalid = 100,
    /// 101 `ROOM_NAME_TAKEN` (extension): an open room has this name (case
    /// ignored).
    RoomNameTaken = 101,
    /// 102 `ROOM_NAME_UNKNOWN` (extension): no open room has this name.
    RoomNameUnknown = 102,
    /// 103 `ROOM_CAPACITY_INVALID` (extension): the capacity asked is above
    /// the server's limit.
    RoomCapacityInvalid = 103,
    /// 104 `ROOM_CREATE_LIMIT_USER` (extension): the user already has its
    /// maximum of created rooms open.
    RoomCreateLimitUser = 104,
    /// 105 `ROOM_CREATE_LIMIT_SERVER` (extension): the server holds its
    /// maximum of created rooms.
    RoomCreateLimitServer = 105,
    /// 106 `ROOM_SERVICE_UNAVAILABLE` (extension): the cluster could not be
    /// asked; try again.
    RoomServiceUnavailable = 106,
    /// 110 `FEATURE_NOT_ENABLED` (extension): the request needs a feature
    /// the session did not get with 311 (or the server has it off).
    FeatureNotEnabled = 110,
    /// 111 `TOKEN_INVALID` (extension): not a token of this server
    /// (malformed, tampered with, or signed with another secret).
    TokenInvalid = 111,
    /// 112 `TOKEN_EXPIRED` (extension): the token's time is up.
    TokenExpired = 112,
    /// 113 `TOKEN_REVOKED` (extension): the user's password changed or the
    /// user was deleted since the token was issued.
    TokenRevoked = 113,
}

impl ResultCode {
    /// Every code of protocol v1 and its extension, in ascending order.
    pub const ALL: [ResultCode; 22] = [
        ResultCode::None,
        ResultCode::LoginUserAlready,
        ResultCode::LoginUserUsedAllObj,
        ResultCode::LoginUserInvalidPw,
        ResultCode::LoginBackendUnavailable,
        ResultCode::EnterRoomInvalidUserStatus,
        ResultCode::EnterRoomFullUser,
        ResultCode::RoomInvalidIndex,
        ResultCode::RoomTooManyPacket,
        ResultCode::ChatRoomInvalidRoomNumber,
        ResultCode::InvalidPacket,
        ResultCode::RoomNameInvalid,
        ResultCode::RoomNameTaken,
        ResultCode::RoomNameUnknown,
        ResultCode::RoomCapacityInvalid,
        ResultCode::RoomCreateLimitUser,
        ResultCode::RoomCreateLimitServer,
        ResultCode::RoomServiceUnavailable,
        ResultCode::FeatureNotEnabled,
        ResultCode::TokenInvalid,
        ResultCode::TokenExpired,
        ResultCode::TokenRevoked,
    ];

    /// The code for a wire value, or `None` if the protocol does not define it.
    pub const fn from_u16(code: u16) -> Option<ResultCode> {
        Some(match code {
            0 => ResultCode::None,
            31 => ResultCode::LoginUserAlready,
            32 => ResultCode::LoginUserUsedAllObj,
            33 => ResultCode::LoginUserInvalidPw,
            34 => ResultCode::LoginBackendUnavailable,
            52 => ResultCode::EnterRoomInvalidUserStatus,
            54 => ResultCode::EnterRoomFullUser,
            61 => ResultCode::RoomInvalidIndex,
            63 => ResultCode::RoomTooManyPacket,
            81 => ResultCode::ChatRoomInvalidRoomNumber,
            90 => ResultCode::InvalidPacket,
            100 => ResultCode::RoomNameInvalid,
            101 => ResultCode::RoomNameTaken,
            102 => ResultCode::RoomNameUnknown,
            103 => ResultCode::RoomCapacityInvalid,
            104 => ResultCode::RoomCreateLimitUser,
            105 => ResultCode::RoomCreateLimitServer,
            106 => ResultCode::RoomServiceUnavailable,
            110 => ResultCode::FeatureNotEnabled,
            111 => ResultCode::TokenInvalid,
            112 => ResultCode::TokenExpired,
            113 => ResultCode::TokenRevoked,
            _ => return None,
        })
    }

    /// The wire value.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// Whether this is `NONE` (0), the success code.
    pub const fn is_success(self) -> bool {
        matches!(self, ResultCode::None)
    }

    /// The protocol name, e.g. `"LOGIN_USER_ALREADY"`.
    pub const fn name(self) -> &'static str {
        match self {
            ResultCode::None => "NONE",
            ResultCode::LoginUserAlready => "LOGIN_USER_ALREADY",
            ResultCode::LoginUserUsedAllObj => "LOGIN_USER_USED_ALL_OBJ",
            ResultCode::LoginUserInvalidPw => "LOGIN_USER_INVALID_PW",
            ResultCode::LoginBackendUnavailable => "LOGIN_BACKEND_UNAVAILABLE",
            ResultCode::EnterRoomInvalidUserStatus => "ENTER_ROOM_INVALID_USER_STATUS",
            ResultCode::EnterRoomFullUser => "ENTER_ROOM_FULL_USER",
            ResultCode::RoomInvalidIndex => "ROOM_INVALID_INDEX",
            ResultCode::RoomTooManyPacket => "ROOM_TOO_MANY_PACKET",
            ResultCode::ChatRoomInvalidRoomNumber => "CHAT_ROOM_INVALID_ROOM_NUMBER",
            ResultCode::InvalidPacket => "INVALID_PACKET",
            ResultCode::RoomNameInvalid => "ROOM_NAME_INVALID",
            ResultCode::RoomNameTaken => "ROOM_NAME_TAKEN",
            ResultCode::RoomNameUnknown => "ROOM_NAME_UNKNOWN",
            ResultCode::RoomCapacityInvalid => "ROOM_CAPACITY_INVALID",
            ResultCode::RoomCreateLimitUser => "ROOM_CREATE_LIMIT_USER",
            ResultCode::RoomCreateLimitServer => "ROOM_CREATE_LIMIT_SERVER",
            ResultCode::RoomServiceUnavailable => "ROOM_SERVICE_UNAVAILABLE",
            ResultCode::FeatureNotEnabled => "FEATURE_NOT_ENABLED",
            ResultCode::TokenInvalid => "TOKEN_INVALID",
            ResultCode::TokenExpired => "TOKEN_EXPIRED",
            ResultCode::TokenRevoked => "TOKEN_REVOKED",
        }
    }
}

impl fmt::Display for ResultCode {
    /// `NAME (code)`, e.g. `LOGIN_USER_ALREADY (31)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl From<ResultCode> for u16 {
    fn from(code: ResultCode) -> u16 {
        code.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_match_the_protocol_table() {
        let table = [
            (0, "NONE"),
            (31, "LOGIN_USER_ALREADY"),
            (32, "LOGIN_USER_USED_ALL_OBJ"),
            (33, "LOGIN_USER_INVALID_PW"),
            (34, "LOGIN_BACKEND_UNAVAILABLE"),
            (52, "ENTER_ROOM_INVALID_USER_STATUS"),
            (54, "ENTER_ROOM_FULL_USER"),
            (61, "ROOM_INVALID_INDEX"),
            (63, "ROOM_TOO_MANY_PACKET"),
            (81, "CHAT_ROOM_INVALID_ROOM_NUMBER"),
            (90, "INVALID_PACKET"),
            (100, "ROOM_NAME_INVALID"),
            (101, "ROOM_NAME_TAKEN"),
            (102, "ROOM_NAME_UNKNOWN"),
            (103, "ROOM_CAPACITY_INVALID"),
            (104, "ROOM_CREATE_LIMIT_USER"),
            (105, "ROOM_CREATE_LIMIT_SERVER"),
            (106, "ROOM_SERVICE_UNAVAILABLE"),
            (110, "FEATURE_NOT_ENABLED"),
            (111, "TOKEN_INVALID"),
            (112, "TOKEN_EXPIRED"),
            (113, "TOKEN_REVOKED"),
        ];
        assert_eq!(table.len(), ResultCode::ALL.len());
        for ((code, name), listed) in table.into_iter().zip(ResultCode::ALL) {
            let parsed = ResultCode::from_u16(code).expect("code from the table");
            assert_eq!(parsed, listed);
            assert_eq!(parsed.code(), code);
            assert_eq!(u16::from(parsed), code);
            assert_eq!(parsed.name(), name);
        }
    }

    #[test]
    fn undefined_codes_are_none() {
        for code in 0..=u16::MAX {
            let defined = ResultCode::ALL.iter().any(|c| c.code() == code);
            assert_eq!(ResultCode::from_u16(code).is_some(), defined, "code {code}");
        }
    }

    #[test]
    fn only_none_is_success() {
        for code in ResultCode::ALL {
            assert_eq!(code.is_success(), code == ResultCode::None);
        }
        assert_eq!(ResultCode::InvalidPacket.to_string(), "INVALID_PACKET (90)");
    }
}
