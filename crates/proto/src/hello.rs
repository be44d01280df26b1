//! `HELLO_REQ` (311) and `HELLO_RES` (312), extension: a client opts in to
//! [`Features`] (see `docs/PROTOCOL.md`, "History and resume"). A session
//! that never says hello — the tutorial's C# client — sees no change.

use crate::codec::{put_header, Reader};
use crate::error::BodyError;
use crate::header::HEADER_LEN;
use crate::id;
use crate::result::ResultCode;

/// Optional behaviours a session asks for, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(pub u32);

impl Features {
    /// Live chat as 313 (room, epoch, sequence number, time) instead of
    /// 223, and history requests (314).
    pub const HISTORY: Features = Features(1);
    /// A resume token (316) after each login, and logins with it (317).
    pub const RESUME: Features = Features(2);
    /// Every feature this protocol defines.
    pub const ALL: Features = Features(3);
    /// No feature.
    pub const NONE: Features = Features(0);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in both.
    pub const fn intersect(self, other: Features) -> Features {
        Features(self.0 & other.0)
    }
}

/// `HELLO_REQ` (311, extension), 9 bytes: `u32 features`. Bits the server
/// does not know are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelloReq {
    /// The features asked for.
    pub features: Features,
}

impl HelloReq {
    /// The packet id.
    pub const ID: u16 = id::HELLO_REQ;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 4;

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.features.0.to_le_bytes());
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<HelloReq, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(HelloReq {
            features: Features(r.u32()?),
        })
    }
}

/// `HELLO_RES` (312, extension), 11 bytes: `u16 result`, `u32 features`
/// (the ones granted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelloRes {
    /// The result code.
    pub result: ResultCode,
    /// The features now in force for the session.
    pub features: Features,
}

impl HelloRes {
    /// The packet id.
    pub const ID: u16 = id::HELLO_RES;
    /// Total length of the packet.
    pub const LEN: usize = HEADER_LEN + 2 + 4;

    /// A response carrying `result` and no feature.
    pub const fn new(result: ResultCode) -> HelloRes {
        HelloRes {
            result,
            features: Features::NONE,
        }
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(Self::LEN);
        put_header(out, Self::ID, Self::LEN);
        out.extend_from_slice(&self.result.code().to_le_bytes());
        out.extend_from_slice(&self.features.0.to_le_bytes());
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<HelloRes, BodyError> {
        let mut r = Reader::fixed(body, Self::LEN - HEADER_LEN)?;
        Ok(HelloRes {
            result: r.result()?,
            features: Features(r.u32()?),
        })
    }
}
