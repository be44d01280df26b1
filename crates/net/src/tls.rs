//! TLS under a session's wire: a rustls [`ServerConnection`] driven without
//! I/O of its own, on the I/O thread that owns the session.
//!
//! Received bytes are fed to [`TlsSession::input`], which appends what they
//! decrypt to (the plaintext) for the session's wire to cut into frames, as
//! it cuts a plain TCP session's bytes. On the way out, the send queue
//! gathers plaintext as it does for every session; when the backend takes
//! the next send, [`TlsSession::seal`] encrypts everything gathered at once
//! (many frames per TLS record, records up to 16 KiB) into the one buffer
//! the send carries. The 1-send rule, the send-queue limits and the stall
//! clock work on those buffers as they do for plain sessions.
//!
//! rustls's own buffering is kept small: plaintext is read out after every
//! record batch, and the encrypted records are moved out into the send
//! buffer at each seal, so what a session holds is bounded by the send
//! queue's limits plus one partial record on the way in.

use std::io::{self, IoSlice, Write};
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection};

use crate::buf::send_queue::{Sealed, Sealer, MAX_IOVECS};

/// Why a TLS session failed, for counting by reason. Low cardinality: one
/// label value each on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// Bytes that are not TLS records (a plaintext client on the TLS port,
    /// garbage), or a malformed message.
    BadMessage,
    /// The peer sent a fatal alert (most often: it does not trust our
    /// certificate).
    Alert,
    /// No protocol version, cipher suite or application protocol (ALPN) in
    /// common.
    Incompatible,
    /// The peer broke the protocol otherwise (a record that does not
    /// decrypt, a message out of order, an oversized record).
    Misbehaved,
    /// The connection ended (closed, reset, timed out) before the handshake
    /// completed.
    Closed,
    /// Refused at once: `max_tls_handshakes` handshakes were in progress.
    Busy,
    /// Anything else rustls reports.
    Other,
}

impl TlsFailure {
    /// Every reason, in a fixed order (the index used by stats).
    pub const ALL: [TlsFailure; 7] = [
        TlsFailure::BadMessage,
        TlsFailure::Alert,
        TlsFailure::Incompatible,
        TlsFailure::Misbehaved,
        TlsFailure::Closed,
        TlsFailure::Busy,
        TlsFailure::Other,
    ];

    /// Stable snake_case name, for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsFailure::BadMessage => "bad_message",
            TlsFailure::Alert => "alert",
            TlsFailure::Incompatible => "incompatible",
            TlsFailure::Misbehaved => "misbehaved",
            TlsFailure::Closed => "closed",
            TlsFailure::Busy => "busy",
            TlsFailure::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn of(e: &rustls::Error) -> TlsFailure {
        use rustls::Error as E;
        match e {
            E::InvalidMessage(_) => TlsFailure::BadMessage,
            E::AlertReceived(_) => TlsFailure::Alert,
            E::PeerIncompatible(_) | E::NoApplicationProtocol => TlsFailure::Incompatible,
            E::PeerMisbehaved(_)
            | E::DecryptError
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::PeerSentOversizedRecord => TlsFailure::Misbehaved,
            _ => TlsFailure::Other,
        }
    }
}

/// What one [`TlsSession::input`] did besides appending plaintext.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TlsInput {
    /// The handshake completed during this input.
    pub(crate) handshake_done: bool,
    /// The peer sent `close_notify`: nothing more will come.
    pub(crate) peer_closed: bool,
}

/// A session's TLS state.
pub(crate) struct TlsSession {
    conn: ServerConnection,
    /// A fatal error happened: only what rustls queued (its alert) may still
    /// be sent; the application's bytes are dropped.
    failed: bool,
    /// The server is closing: `close_notify` goes out after what is queued.
    closing: bool,
    /// `close_notify` has been queued.
    notified: bool,
    /// Holds one of the places `max_tls_handshakes` allows (from its start
    /// until its handshake completes or fails).
    in_handshake: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("failed", &self.failed)
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}

impl TlsSession {
    /// A server side for a new connection.
    pub(crate) fn new(config: &Arc<ServerConfig>) -> Result<TlsSession, rustls::Error> {
        let mut conn = ServerConnection::new(config.clone())?;
        // Our send queue bounds what is written (its limit closes a slow
        // consumer); rustls's own limit would only make writes partial.
        conn.set_buffer_limit(None);
        Ok(TlsSession {
            conn,
            failed: false,
            closing: false,
            notified: false,
            in_handshake: true,
        })
    }

    /// Whether it still holds a handshake place.
    pub(crate) fn holds_handshake(&self) -> bool {
        self.in_handshake
    }

    /// Gives up its handshake place; true if it held one (the caller gives
    /// it back to the shared count).
    pub(crate) fn leave_handshake(&mut self) -> bool {
        std::mem::take(&mut self.in_handshake)
    }

    /// Whether the handshake is still in progress.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Feeds received bytes: what they decrypt to is appended to `plain`.
    /// On a fatal error rustls has queued an alert (sent by the next
    /// [`TlsSession::seal`]); the session must end after sending it.
    pub(crate) fn input(
        &mut self,
        mut data: &[u8],
        plain: &mut Vec<u8>,
    ) -> Result<TlsInput, TlsFailure> {
        let was_handshaking = self.conn.is_handshaking();
        let mut out = TlsInput::default();
        while !data.is_empty() {
            let n = match self.conn.read_tls(&mut data) {
                Ok(0) => break, // after close_notify: nothing more is read
                Ok(n) => n,
                Err(_) => {
                    // Backpressure errors cannot happen (plaintext is read
                    // out after every batch); treat any as a bad peer.
                    self.failed = true;
                    return Err(TlsFailure::Misbehaved);
                }
            };
            debug_assert!(n > 0);
            let state = match self.conn.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    self.failed = true;
                    return Err(TlsFailure::of(&e));
                }
            };
            let want = state.plaintext_bytes_to_read();
            if want > 0 {
                let start = plain.len();
                plain.resize(start + want, 0);
                match io::Read::read(&mut self.conn.reader(), &mut plain[start..]) {
                    Ok(got) => plain.truncate(start + got),
                    Err(_) => plain.truncate(start),
                }
            }
            if state.peer_has_closed() {
                out.peer_closed = true;
                break;
            }
        }
        out.handshake_done = was_handshaking && !self.conn.is_handshaking();
        Ok(out)
    }

    /// Asks for `close_notify` after the plaintext queued so far.
    pub(crate) fn close(&mut self) {
        self.closing = true;
    }
}

impl Sealer for TlsSession {
    /// Whether [`TlsSession::seal`] has records to send even with no
    /// plaintext (handshake messages, an alert, `close_notify`).
    fn wants_write(&self) -> bool {
        self.conn.wants_write() || (self.closing && !self.notified)
    }

    /// Encrypts `plaintext` (chunks of the send queue, in order) when data
    /// may be sent, then appends every pending TLS record (handshake
    /// messages, the data, an alert, `close_notify`) to `out`. Returns
    /// whether the plaintext was taken: when it was not (still in the
    /// handshake), it stays queued for a later seal; after a failure or
    /// `close_notify` it is dropped.
    fn seal<'a>(&mut self, plaintext: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) -> Sealed {
        let handshaking = self.conn.is_handshaking();
        let sealed = if self.failed || self.notified || (handshaking && self.closing) {
            Sealed::Dropped
        } else if handshaking {
            Sealed::Kept
        } else {
            let mut writer = self.conn.writer();
            // Each write is cut into records of up to 16 KiB; a send's chunks
            // (at most MAX_IOVECS of them, usually) go in one write.
            let mut batch: [IoSlice<'a>; MAX_IOVECS] = [IoSlice::new(&[]); MAX_IOVECS];
            let mut n = 0;
            let mut ok = true;
            for chunk in plaintext {
                batch[n] = IoSlice::new(chunk);
                n += 1;
                if n == batch.len() {
                    ok &= write_all_vectored(&mut writer, &batch[..n]);
                    n = 0;
                }
            }
            if n > 0 {
                ok &= write_all_vectored(&mut writer, &batch[..n]);
            }
            if ok {
                Sealed::Taken
            } else {
                self.failed = true;
                Sealed::Dropped
            }
        };
        if self.closing && !self.notified {
            // After a failure rustls has queued its alert, and during the
            // handshake there are no keys yet: the connection just ends.
            if !self.failed && !handshaking {
                self.conn.send_close_notify();
            }
            self.notified = true;
        }
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => break, // a Vec takes everything
                Ok(_) => {}
            }
        }
        sealed
    }
}

/// Writes every byte of `bufs` (rustls's writer takes all of it when its
/// buffer limit is off; a short write is a failure here).
fn write_all_vectored(writer: &mut rustls::Writer<'_>, bufs: &[IoSlice<'_>]) -> bool {
    let want: usize = bufs.iter().map(|b| b.len()).sum();
    matches!(writer.write_vectored(bufs), Ok(n) if n == want)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    use super::*;

    fn pair() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let der = CertificateDer::from(cert.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], key)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der).unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (Arc::new(server), Arc::new(client))
    }

    /// Moves the client's pending records to the server; returns plaintext.
    fn to_server(client: &mut ClientConnection, server: &mut TlsSession) -> Vec<u8> {
        let mut wire = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let mut plain = Vec::new();
        server.input(&wire, &mut plain).unwrap();
        plain
    }

    /// Moves the server's records (and `data`, sealed) to the client.
    fn to_client(server: &mut TlsSession, data: &[&[u8]], client: &mut ClientConnection) -> Sealed {
        let mut wire = Vec::new();
        let sealed = server.seal(data.iter().copied(), &mut wire);
        let mut rd = &wire[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).unwrap();
            client.process_new_packets().unwrap();
        }
        sealed
    }

    fn handshake() -> (TlsSession, ClientConnection) {
        let (server_cfg, client_cfg) = pair();
        let mut server = TlsSession::new(&server_cfg).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = ClientConnection::new(client_cfg, name).unwrap();
        for _ in 0..4 {
            to_server(&mut client, &mut server);
            to_client(&mut server, &[], &mut client);
        }
        assert!(!server.is_handshaking() && !client.is_handshaking());
        (server, client)
    }

    #[test]
    fn frames_both_ways_many_per_record() {
        let (mut server, mut client) = handshake();
        client.writer().write_all(b"hello").unwrap();
        assert_eq!(to_server(&mut client, &mut server), b"hello");
        let frames: Vec<Vec<u8>> = (0..200u8).map(|i| vec![i; 100]).collect();
        let slices: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let mut wire = Vec::new();
        assert_eq!(
            server.seal(slices.iter().copied(), &mut wire),
            Sealed::Taken
        );
        // 20,000 bytes of plaintext: two records (22 bytes of overhead
        // each with TLS 1.3's AES-GCM), not 200.
        assert_eq!(wire.len(), 20_000 + 2 * 22);
        let mut rd = &wire[..];
        while !rd.is_empty() {
            client.read_tls(&mut rd).unwrap();
            client.process_new_packets().unwrap();
        }
        let mut got = Vec::new();
        let _ = client.reader().read_to_end(&mut got);
        assert_eq!(got, frames.concat());
    }

    #[test]
    fn plaintext_waits_for_the_handshake_and_records_split_anywhere() {
        let (server_cfg, client_cfg) = pair();
        let mut server = TlsSession::new(&server_cfg).unwrap();
        let mut wire = Vec::new();
        assert_eq!(
            server.seal([&b"early"[..]].into_iter(), &mut wire),
            Sealed::Kept
        );
        assert!(wire.is_empty());
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = ClientConnection::new(client_cfg, name).unwrap();
        // The client's hello, one byte at a time.
        let mut hello = Vec::new();
        client.write_tls(&mut hello).unwrap();
        let mut plain = Vec::new();
        let mut done = false;
        for b in &hello {
            done |= server.input(&[*b], &mut plain).unwrap().handshake_done;
        }
        assert!(!done && plain.is_empty() && server.wants_write());
    }

    #[test]
    fn garbage_and_plaintext_fail_with_an_alert() {
        let (server_cfg, _) = pair();
        for bytes in [&b"GET / HTTP/1.1\r\n\r\n"[..], &[5, 0, 1, 2, 3][..]] {
            let mut server = TlsSession::new(&server_cfg).unwrap();
            let err = server.input(bytes, &mut Vec::new()).unwrap_err();
            assert_eq!(err, TlsFailure::BadMessage, "{bytes:?}");
            let mut wire = Vec::new();
            assert_eq!(
                server.seal([&b"x"[..]].into_iter(), &mut wire),
                Sealed::Dropped
            );
            assert_eq!(wire.first(), Some(&21), "an alert record");
        }
    }

    #[test]
    fn close_notify_follows_the_data() {
        let (mut server, mut client) = handshake();
        server.close();
        assert!(server.wants_write());
        assert_eq!(
            to_client(&mut server, &[b"bye"], &mut client),
            Sealed::Taken
        );
        let mut got = Vec::new();
        assert_eq!(client.reader().read_to_end(&mut got).unwrap(), 3);
        assert_eq!(got, b"bye");
        assert!(!server.wants_write());
        assert_eq!(
            server.seal([&b"late"[..]].into_iter(), &mut Vec::new()),
            Sealed::Dropped
        );
        // The client's own close_notify is seen as the peer closing.
        client.send_close_notify();
        let mut wire = Vec::new();
        client.write_tls(&mut wire).unwrap();
        assert!(server.input(&wire, &mut Vec::new()).unwrap().peer_closed);
    }
}
