//! [`ClientError`]: everything a [`crate::Client`] call can fail with.

use std::io;

use ringport_proto::{DecodeError, EncodeError, FrameError};

use crate::tls::TlsError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed, or a read or write timed out (see
    /// [`ClientError::is_timeout`]; after a read timeout the client can keep
    /// receiving, nothing buffered is lost).
    #[error("i/o error: {0}")]
    Io(io::Error),
    /// The server closed the connection (possibly in the middle of a frame).
    #[error("connection closed by the server")]
    Closed,
    /// The server sent a length field outside the allowed range; the stream
    /// cannot be read further.
    #[error("bad frame from the server: {0}")]
    Frame(#[from] FrameError),
    /// A complete frame could not be decoded. The frame has been consumed;
    /// the next receive reads the packet after it.
    #[error("cannot decode a packet from the server: {0}")]
    Decode(#[from] DecodeError),
    /// A packet to send could not be encoded (text that does not fit its
    /// field, a body too long for a frame); nothing was sent.
    #[error("cannot encode the packet: {0}")]
    Encode(#[from] EncodeError),
    /// TLS failed: the handshake (an untrusted or unsuitable certificate, an
    /// alert from the server, a server that does not speak TLS), a record
    /// that does not decrypt, or a TLS configuration that cannot be built
    /// (see [`crate::client_config`]).
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A packet other than the one expected arrived (see
    /// [`crate::Client::recv_user_list`]).
    #[error("unexpected packet {id} from the server")]
    Unexpected {
        /// Its id.
        id: u16,
    },
}

impl From<io::Error> for ClientError {
    /// [`ClientError::Tls`] for the errors rustls reports through `std::io`
    /// (a failed handshake, a record that does not decrypt, an alert),
    /// [`ClientError::Io`] for the others.
    fn from(e: io::Error) -> ClientError {
        match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => ClientError::Tls(TlsError::from(tls.clone())),
            None => ClientError::Io(e),
        }
    }
}

impl ClientError {
    /// Whether this is a read or write timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ClientError::Io(e)
            if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
    }
}
