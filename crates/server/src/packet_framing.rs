//! The chat protocol's framing (5-byte header, length includes the header)
//! for the engine.

use ringport_net::{FrameError, Framing};
use ringport_proto::header::{self, MAX_FRAME_LIMIT};

/// Frames of PROTOCOL.md: lengths outside `5..=max_frame` close the session.
#[derive(Debug, Clone, Copy)]
pub struct PacketFraming {
    max_frame: usize,
}

impl PacketFraming {
    /// Framing with the given maximum frame length (clamped to 32,767, the
    /// largest length the C# client can read).
    pub fn new(max_frame: usize) -> Self {
        PacketFraming {
            max_frame: max_frame.clamp(header::HEADER_LEN, MAX_FRAME_LIMIT),
        }
    }
}

impl Framing for PacketFraming {
    fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        header::frame_len(buf, self.max_frame).map_err(|e| match e {
            header::FrameError::TooShort(len) => FrameError {
                reason: "frame length below the 5-byte header",
                len,
            },
            header::FrameError::TooLong { len, .. } => FrameError {
                reason: "frame length above max_frame",
                len,
            },
        })
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_header() {
        let f = PacketFraming::new(8192);
        assert_eq!(f.frame_len(&[5, 0, 1, 0, 0, 9]).unwrap(), Some(5));
        assert_eq!(f.frame_len(&[6, 0, 1, 0]).unwrap(), None);
        assert!(f.frame_len(&[4, 0]).is_err());
        assert!(f.frame_len(&[0x01, 0x20]).is_err(), "8193 > 8192");
        assert_eq!(PacketFraming::new(1 << 20).max_frame_len(), 32_767);
    }
}
