//! [`DevEcho`] (id 1): raw bytes echoed back unchanged, both directions.

use crate::codec::put_raw;
use crate::error::EncodeError;
use crate::header::{HEADER_LEN, MAX_FRAME_LIMIT};
use crate::id;

/// `DEV_ECHO` (1): any body, including an empty one, sent back unchanged
/// under the same id with type 0, in any session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevEcho<'a> {
    /// The raw body.
    pub body: &'a [u8],
}

impl<'a> DevEcho<'a> {
    /// The packet id.
    pub const ID: u16 = id::DEV_ECHO;
    /// Largest body that fits in a frame of [`MAX_FRAME_LIMIT`] bytes. A
    /// server's configured `max_frame` may be smaller.
    pub const MAX_BODY_LEN: usize = MAX_FRAME_LIMIT - HEADER_LEN;

    /// Total length of the encoded packet.
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    /// Appends the packet to `out`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLong`] if the body is longer than
    /// [`Self::MAX_BODY_LEN`]; nothing is appended then.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_raw(out, Self::ID, self.body)
    }
}
