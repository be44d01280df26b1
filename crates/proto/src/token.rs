//! Resume tokens (extension): `RESUME_TOKEN_NTF` (316), `LOGIN_TOKEN_REQ`
//! (317) and `LOGIN_TOKEN_RES` (318); see `docs/PROTOCOL.md`, "History and
//! resume". Tokens are opaque bytes to clients (at most 255).

use std::fmt;

use crate::codec::{put_header, Reader};
use crate::error::BodyError;
use crate::header::HEADER_LEN;
use crate::id;
use crate::room_name::put_prefixed;

/// `RESUME_TOKEN_NTF` (316, extension), 10 + n bytes: `u32 ttl_secs`, `u8
/// len`, `len` bytes of token. Sent after 202(0) or 318(0) to a session
/// with [`crate::Features::RESUME`]. `Debug` does not print the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResumeTokenNtf<'a> {
    /// Seconds the token stays valid.
    pub ttl_secs: u32,
    /// The token.
    pub token: &'a [u8],
}

impl<'a> ResumeTokenNtf<'a> {
    /// The packet id.
    pub const ID: u16 = id::RESUME_TOKEN_NTF;

    /// Total length of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 4 + 1 + self.token.len().min(255)
    }

    /// Appends the packet to `out` (a token is at most 255 bytes; a longer
    /// one is cut, which makes it invalid).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        out.extend_from_slice(&self.ttl_secs.to_le_bytes());
        put_prefixed(out, self.token);
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<ResumeTokenNtf<'a>, BodyError> {
        let mut r = Reader::new(body);
        let ttl_secs = r.u32()?;
        let token = r.prefixed()?;
        r.finish()?;
        Ok(ResumeTokenNtf { ttl_secs, token })
    }
}

impl fmt::Debug for ResumeTokenNtf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResumeTokenNtf")
            .field("ttl_secs", &self.ttl_secs)
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .finish()
    }
}

/// `LOGIN_TOKEN_REQ` (317, extension), 6 + n bytes: `u8 len`, `len` bytes
/// of a token from a 316. `Debug` does not print the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginTokenReq<'a> {
    /// The token.
    pub token: &'a [u8],
}

impl<'a> LoginTokenReq<'a> {
    /// The packet id.
    pub const ID: u16 = id::LOGIN_TOKEN_REQ;

    /// Total length of the encoded packet.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + 1 + self.token.len().min(255)
    }

    /// Appends the packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_header(out, Self::ID, self.encoded_len());
        put_prefixed(out, self.token);
    }

    pub(crate) fn decode_body(body: &'a [u8]) -> Result<LoginTokenReq<'a>, BodyError> {
        let mut r = Reader::new(body);
        let token = r.prefixed()?;
        r.finish()?;
        Ok(LoginTokenReq { token })
    }
}

impl fmt::Debug for LoginTokenReq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginTokenReq")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .finish()
    }
}
