//! One member's connection during the load ([`Conn`]), and the errors of
//! single connections ([`Errors`]).

use mio::net::TcpStream;

use crate::load::tls::TlsConn;

/// One member's connection during the load.
#[derive(Debug)]
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    /// Its TLS (`--tls`): then `partial` and `out` hold plaintext.
    pub(super) tls: Option<Box<TlsConn>>,
    /// Received bytes not parsed yet (part of a packet).
    pub(super) partial: Vec<u8>,
    /// Bytes to send; `out[out_pos..]` not written yet.
    pub(super) out: Vec<u8>,
    pub(super) out_pos: usize,
    /// In the list of connections to write this turn.
    pub(super) queued: bool,
    /// The last write hit `WouldBlock`: wait for a writable event.
    pub(super) blocked: bool,
    pub(super) open: bool,
}

/// Errors of single connections.
#[derive(Debug, Default)]
pub(super) struct Errors {
    pub(super) closed_by_server: u64,
    pub(super) io_errors: u64,
    pub(super) protocol_errors: u64,
    pub(super) first: Option<String>,
}

impl Errors {
    pub(super) fn note(&mut self, member: usize, what: String) {
        self.first
            .get_or_insert_with(|| format!("member {member}: {what}"));
    }
}
