//! `--tls`: the loads' connections inside TLS (rustls, `ring` provider),
//! a layer under the wires: the ringport packets (or the WebSocket
//! messages of `--transport ws`, then wss) are the plaintext.
//!
//! * [`TlsClient`]: the client configuration of a run, made once from the
//!   command line: the CA to trust (`--tls-ca`) or no certificate check at
//!   all (`--tls-insecure`, benchmarking only), the name the certificate
//!   must carry (`--tls-server-name`), ALPN `http/1.1` for wss only (the
//!   TCP listener negotiates none). No session resumption: every
//!   connection makes a full handshake, what a new client costs the
//!   server, so a login storm measures that and not a cache.
//! * [`TlsConn`]: one connection's TLS, driven sans-IO by the mio loops
//!   (the socket stays the loop's): bytes read from the socket go in
//!   ([`TlsConn::decrypt`]), plaintext comes out into the loop's own read
//!   buffer; plaintext to send goes in and records go out to the socket
//!   ([`TlsConn::send`]), keeping write interest while rustls wants to
//!   write.
//! * [`SetupStream`]: a blocking connection during a `chat` load's setup
//!   (handshake, WebSocket upgrade, logins), plain or TLS, split into the
//!   socket and its [`TlsConn`] when the load starts.
//!
//! The socket is read into a buffer of the loop's (64 KiB) and the
//! ciphertext handed to rustls from there: rustls's own `read_tls` reads
//! at most about 4 KiB per system call, which at a few M deliveries/s
//! would cost the generator many times the system calls of the plaintext
//! load. A load without `--tls` never gets here: its connections carry no
//! [`TlsConn`] and its read and write paths are the plaintext ones.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

/// How a run checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// Against the CA certificates of this PEM file.
    Ca(PathBuf),
    /// Not at all (`--tls-insecure`).
    Insecure,
}

/// What the command line asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// How the certificate is checked.
    pub verify: Verify,
    /// The name the server's certificate must carry (SNI too).
    pub server_name: String,
}

/// What one handshake agreed on, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// `TLSv1_3` or `TLSv1_2`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
}

/// The TLS client configuration of a run.
#[derive(Debug)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    /// Whether certificates go unchecked (`--tls-insecure`).
    pub insecure: bool,
}

impl TlsClient {
    /// The configuration for `options`; `http` offers ALPN `http/1.1`
    /// (wss).
    ///
    /// # Errors
    ///
    /// A CA file that cannot be read or holds no certificate, or a server
    /// name that is neither a DNS name nor an IP address.
    pub fn new(options: &TlsOptions, http: bool) -> anyhow::Result<TlsClient> {
        // The CA file and the insecure verifier are ringport-client's
        // (`--ca`, `--insecure`): one reading of a CA file, one verifier
        // that takes any certificate but still checks the handshake's
        // signatures, so a handshake costs what a checking client's does,
        // less the chain.
        let shared = match &options.verify {
            Verify::Ca(path) => ringport_client::client_config(Some(path), false)
                .map_err(|e| anyhow!("--tls-ca {}: {e}", path.display()))?,
            Verify::Insecure => ringport_client::client_config(None, true)
                .map_err(|e| anyhow!("--tls-insecure: {e}"))?,
        };
        let mut config = ClientConfig::clone(&shared);
        config.resumption = Resumption::disabled();
        if http {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
        }
        let server_name = ServerName::try_from(options.server_name.clone()).map_err(|_| {
            anyhow!(
                "--tls-server-name {:?} is neither a DNS name nor an IP address",
                options.server_name
            )
        })?;
        Ok(TlsClient {
            config: Arc::new(config),
            server_name,
            insecure: options.verify == Verify::Insecure,
        })
    }

    /// The server name the certificate is checked against.
    pub fn server_name(&self) -> String {
        self.server_name.to_str().into_owned()
    }

    /// A new connection's TLS, its ClientHello ready to send.
    ///
    /// # Errors
    ///
    /// When rustls refuses to start (cannot happen with this
    /// configuration).
    pub fn connect(&self) -> anyhow::Result<TlsConn> {
        let conn = ClientConnection::new(Arc::clone(&self.config), self.server_name.clone())
            .context("TLS: starting a connection")?;
        Ok(TlsConn {
            conn,
            closed: false,
        })
    }
}

/// Why TLS could not go on, in words: a rustls error ("invalid peer
/// certificate: UnknownIssuer", "received fatal alert: ...") or a packet
/// larger than the read buffer.
pub type TlsError = String;

/// One connection's TLS, driven sans-IO.
#[derive(Debug)]
pub struct TlsConn {
    conn: ClientConnection,
    /// The server sent `close_notify`.
    closed: bool,
}

impl TlsConn {
    /// Whether the handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether rustls has records to send.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether the server closed the TLS session (`close_notify`).
    pub fn peer_closed(&self) -> bool {
        self.closed
    }

    /// The version and cipher suite agreed on, once the handshake is done.
    pub fn negotiated(&self) -> Option<Negotiated> {
        negotiated(&self.conn)
    }

    /// Gives rustls bytes from `cipher` (advancing it) and decrypts every
    /// whole record.
    fn take(&mut self, cipher: &mut &[u8]) -> Result<bool, TlsError> {
        match self.conn.read_tls(cipher) {
            Ok(0) => return Ok(false), // after close_notify rustls takes nothing
            Ok(_) => {}
            Err(e) => return Err(format!("TLS: {e}")),
        }
        match self.conn.process_new_packets() {
            Ok(state) => {
                self.closed |= state.peer_has_closed();
                Ok(true)
            }
            Err(e) => Err(format!("TLS: {e}")),
        }
    }

    /// Hands rustls the bytes `cipher` read from the socket; the plaintext
    /// goes into `buf` after its first `*filled` bytes. Whenever `buf` is
    /// full, and once at the end, `parse` is given `buf[..*filled]` and
    /// says how many bytes it used; those leave the buffer (the rest moves
    /// to its start). So a record split across reads waits in rustls for
    /// its end, and a record of many packets is parsed like one read of
    /// them.
    ///
    /// # Errors
    ///
    /// A TLS error (bad record, alert, certificate), an error of `parse`,
    /// or a packet larger than `buf`.
    pub fn decrypt(
        &mut self,
        mut cipher: &[u8],
        buf: &mut [u8],
        filled: &mut usize,
        mut parse: impl FnMut(&[u8]) -> Result<usize, String>,
    ) -> Result<(), TlsError> {
        loop {
            // Plaintext out first: rustls takes no more ciphertext while
            // 16 KiB of plaintext wait in it.
            while *filled < buf.len() {
                match self.conn.reader().read(&mut buf[*filled..]) {
                    Ok(0) => break, // close_notify: nothing more will come
                    Ok(n) => *filled += n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::UnexpectedEof
                        ) =>
                    {
                        break
                    }
                    Err(e) => return Err(format!("TLS: {e}")),
                }
            }
            if *filled == buf.len() {
                let used = parse(&buf[..*filled])?;
                if used == 0 {
                    return Err("a packet larger than the read buffer".into());
                }
                buf.copy_within(used..*filled, 0);
                *filled -= used;
                continue;
            }
            if cipher.is_empty() || !self.take(&mut cipher)? {
                break;
            }
        }
        let used = parse(&buf[..*filled])?;
        buf.copy_within(used..*filled, 0);
        *filled -= used;
        Ok(())
    }

    /// [`TlsConn::decrypt`] for small amounts: all the plaintext of
    /// `cipher` (and any rustls still held) is appended to `out`.
    ///
    /// # Errors
    ///
    /// A TLS error.
    pub fn decrypt_to(&mut self, mut cipher: &[u8], out: &mut Vec<u8>) -> Result<(), TlsError> {
        loop {
            // Stops at WouldBlock (all read) or the end of the session;
            // what was read stays in `out` either way.
            match self.conn.reader().read_to_end(out) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::UnexpectedEof
                    ) => {}
                Err(e) => return Err(format!("TLS: {e}")),
            }
            if cipher.is_empty() || !self.take(&mut cipher)? {
                return Ok(());
            }
        }
    }

    /// Hands rustls as much of `plain` as it takes, then writes records to
    /// `sock` until rustls has none left or the socket would block.
    /// Returns how many bytes of `plain` were taken and whether the socket
    /// blocked (then wait for it to be writable and call again).
    ///
    /// # Errors
    ///
    /// A write error of the socket, or a socket that takes no bytes.
    pub fn send(&mut self, sock: &mut impl Write, plain: &[u8]) -> io::Result<(usize, bool)> {
        let mut taken = 0;
        loop {
            if taken < plain.len() {
                taken += self.conn.writer().write(&plain[taken..])?;
            }
            if !self.conn.wants_write() {
                return Ok((taken, false));
            }
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((taken, true)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues a `close_notify` and writes what the socket takes at once,
    /// ignoring errors: the connection is being dropped.
    pub fn close(&mut self, sock: &mut impl Write) {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            match self.conn.write_tls(sock) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

/// What the handshake of `conn` agreed on, once it is done.
fn negotiated(conn: &ClientConnection) -> Option<Negotiated> {
    Some(Negotiated {
        version: format!("{:?}", conn.protocol_version()?),
        cipher: format!("{:?}", conn.negotiated_cipher_suite()?.suite()),
    })
}

/// A connection during a `chat` load's blocking setup: plain TCP, or TLS
/// over it.
#[derive(Debug)]
pub enum SetupStream {
    /// Plain TCP.
    Plain(StdStream),
    /// TLS (handshake done).
    Tls(Box<rustls::StreamOwned<ClientConnection, StdStream>>),
}

impl SetupStream {
    /// Sets the socket's read timeout.
    ///
    /// # Errors
    ///
    /// As [`StdStream::set_read_timeout`].
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            SetupStream::Plain(s) => s.set_read_timeout(t),
            SetupStream::Tls(s) => s.sock.set_read_timeout(t),
        }
    }

    /// The socket, its TLS (with any plaintext rustls still holds moved
    /// to the end of `leftover`), and what the handshake agreed on.
    ///
    /// # Errors
    ///
    /// A TLS error in what rustls still held.
    pub fn into_parts(
        self,
        leftover: &mut Vec<u8>,
    ) -> Result<(StdStream, Option<TlsConn>), TlsError> {
        match self {
            SetupStream::Plain(s) => Ok((s, None)),
            SetupStream::Tls(s) => {
                let rustls::StreamOwned { conn, sock } = *s;
                let mut tls = TlsConn {
                    conn,
                    closed: false,
                };
                tls.decrypt_to(&[], leftover)?;
                Ok((sock, Some(tls)))
            }
        }
    }

    /// What the handshake agreed on (`None` for plain TCP).
    pub fn negotiated(&self) -> Option<Negotiated> {
        match self {
            SetupStream::Plain(_) => None,
            SetupStream::Tls(s) => negotiated(&s.conn),
        }
    }
}

impl Read for SetupStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            SetupStream::Plain(s) => s.read(buf),
            SetupStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for SetupStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            SetupStream::Plain(s) => s.write(buf),
            SetupStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            SetupStream::Plain(s) => s.flush(),
            SetupStream::Tls(s) => s.flush(),
        }
    }
}

/// Makes the TLS handshake on every blocking socket of `socks` (in order),
/// all within `timeout`: all ClientHellos first, so the server works on
/// the handshakes side by side, then each handshake to its end.
///
/// # Errors
///
/// The first connection whose handshake fails or times out, with the
/// reason (an untrusted certificate: "invalid peer certificate:
/// UnknownIssuer") and what to check.
pub fn handshake_all(
    client: &TlsClient,
    socks: Vec<StdStream>,
    timeout: Duration,
) -> anyhow::Result<Vec<SetupStream>> {
    let deadline = Instant::now() + timeout;
    let mut conns = Vec::with_capacity(socks.len());
    for (i, mut sock) in socks.into_iter().enumerate() {
        let mut tls = client.connect()?;
        tls.conn
            .write_tls(&mut sock)
            .with_context(|| format!("member {i}: sending the TLS ClientHello"))?;
        conns.push((tls.conn, sock));
    }
    let mut out = Vec::with_capacity(conns.len());
    for (i, (mut conn, mut sock)) in conns.into_iter().enumerate() {
        let context = || format!("member {i}: TLS handshake with {}", client.server_name());
        while conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(handshake_error(client, &"timed out")).with_context(context);
            }
            sock.set_read_timeout(Some(left))
                .context("setting a read timeout")?;
            match conn.complete_io(&mut sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(handshake_error(client, &"timed out")).with_context(context)
                }
                Err(e) => return Err(handshake_error(client, &e)).with_context(context),
            }
        }
        out.push(SetupStream::Tls(Box::new(rustls::StreamOwned::new(
            conn, sock,
        ))));
    }
    Ok(out)
}

/// A failed handshake in words, with a hint for the usual causes.
pub fn handshake_error(client: &TlsClient, e: &dyn std::fmt::Display) -> anyhow::Error {
    let text = e.to_string();
    let hint = if text.contains("certificate") {
        if client.insecure {
            ""
        } else {
            " (is --tls-ca the CA that signed the server's certificate, and is \
             --tls-server-name a name the certificate carries?)"
        }
    } else {
        " (is --target the server's --tls-listen address?)"
    };
    anyhow!("{text}{hint}")
}

#[cfg(test)]
mod tests {
    //! The TLS layer against an in-process rustls server (a thread with a
    //! `StreamOwned`, certificates from rcgen).

    use std::net::TcpListener;
    use std::path::Path;
    use std::thread::JoinHandle;

    use rcgen::{CertificateParams, CertifiedKey, IsCa, KeyPair};
    use ringport_proto::{ResultCode, RoomChatRes};
    use rustls::pki_types::PrivateKeyDer;
    use rustls::{ServerConfig, ServerConnection, StreamOwned};

    use super::*;
    use crate::load::chat::wire::fixtures::{chat_ntf, filled};
    use crate::load::chat::wire::{
        parse_ringport, parse_ringport_ws, read_text, Envelope, Incoming, Stamp,
    };

    /// A self-signed certificate (its own CA) for `localhost`, with
    /// common name `cn`.
    fn self_signed(cn: &str, is_ca: IsCa) -> CertifiedKey<KeyPair> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = is_ca;
        CertifiedKey {
            cert: params.self_signed(&key).unwrap(),
            signing_key: key,
        }
    }

    /// A self-signed certificate for `localhost` (its own CA).
    fn localhost() -> CertifiedKey<KeyPair> {
        self_signed("localhost", IsCa::NoCa)
    }

    /// `cert`'s PEM in a temporary file of its own, removed when the
    /// returned path is dropped.
    fn pem_file(cert: &CertifiedKey<KeyPair>) -> tempfile::TempPath {
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        std::fs::write(&path, cert.cert.pem()).unwrap();
        path
    }

    fn client(ca: &Path, name: &str, http: bool) -> TlsClient {
        let options = TlsOptions {
            verify: Verify::Ca(ca.to_path_buf()),
            server_name: name.into(),
        };
        TlsClient::new(&options, http).unwrap()
    }

    /// A server on a free port that accepts one connection, makes the
    /// handshake with `cert` and hands the stream to `script`; its thread
    /// returns whether the handshake succeeded.
    fn serve(
        cert: &CertifiedKey<KeyPair>,
        script: impl FnOnce(&mut StreamOwned<ServerConnection, StdStream>) + Send + 'static,
    ) -> (std::net::SocketAddr, JoinHandle<bool>) {
        serve_alpn(cert, false, script)
    }

    /// [`serve`], with ALPN `http/1.1` when `http` (as wss).
    fn serve_alpn(
        cert: &CertifiedKey<KeyPair>,
        http: bool,
        script: impl FnOnce(&mut StreamOwned<ServerConnection, StdStream>) + Send + 'static,
    ) -> (std::net::SocketAddr, JoinHandle<bool>) {
        let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        if http {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (sock, _) = listener.accept().unwrap();
            let conn = ServerConnection::new(Arc::new(config)).unwrap();
            let mut stream = StreamOwned::new(conn, sock);
            while stream.conn.is_handshaking() {
                if stream.conn.complete_io(&mut stream.sock).is_err() {
                    return false;
                }
            }
            script(&mut stream);
            true
        });
        (addr, handle)
    }

    /// Connects to `addr` and makes the handshake as the chat load's setup
    /// does.
    fn connect(client: &TlsClient, addr: std::net::SocketAddr) -> anyhow::Result<SetupStream> {
        let sock = StdStream::connect(addr)?;
        let mut streams = handshake_all(client, vec![sock], Duration::from_secs(10))?;
        Ok(streams.remove(0))
    }

    /// What the server sends: a 222, 40 deliveries (seq 0..40) and a
    /// refused 222, about 12 KiB: one record.
    fn server_packets() -> Vec<u8> {
        let mut out = Vec::new();
        RoomChatRes::new(ResultCode::None).encode(&mut out);
        for seq in 0..40 {
            out.extend_from_slice(&chat_ntf(seq));
        }
        RoomChatRes::new(ResultCode::RoomTooManyPacket).encode(&mut out);
        out
    }

    /// The events of [`server_packets`], in order.
    fn check_events(events: &[Incoming<'_>]) {
        assert_eq!(events.len(), 42);
        assert_eq!(events[0], Incoming::Ack { ok: true, code: 0 });
        for (seq, e) in events[1..41].iter().enumerate() {
            match e {
                Incoming::Delivery(t) => assert_eq!(read_text(t).unwrap().seq, seq as u64),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            events[41],
            Incoming::Ack {
                ok: false,
                code: 63
            }
        );
    }

    /// Reads `sock` in pieces of at most `piece` bytes and decrypts them
    /// through `tls` into a `buf_len`-byte buffer parsed as ringport (or
    /// WebSocket) packets, until `want` events came; returns them (as
    /// owned data) and how many parses it took.
    fn receive(
        tls: &mut TlsConn,
        sock: &mut StdStream,
        piece: usize,
        buf_len: usize,
        ws: bool,
        want: usize,
    ) -> (Vec<Incoming<'static>>, usize) {
        let mut events = Vec::new();
        let mut buf = vec![0; buf_len];
        let mut filled = 0;
        let mut cipher = vec![0; piece];
        let mut parses = 0;
        while events.len() < want {
            let n = sock.read(&mut cipher).unwrap();
            assert!(n > 0, "the server closed early");
            tls.decrypt(&cipher[..n], &mut buf, &mut filled, |b| {
                parses += 1;
                let mut add = |e: Incoming<'_>| {
                    events.push(match e {
                        Incoming::Delivery(t) => {
                            Incoming::Delivery(Box::leak(t.to_vec().into_boxed_slice()))
                        }
                        Incoming::Ack { ok, code } => Incoming::Ack { ok, code },
                        Incoming::Left => Incoming::Left,
                        Incoming::Ping => Incoming::Ping,
                        Incoming::Other => Incoming::Other,
                    })
                };
                if ws {
                    parse_ringport_ws(b, 8192, &mut add)
                } else {
                    parse_ringport(b, 8192, &mut add)
                }
            })
            .unwrap();
        }
        assert_eq!(filled, 0, "bytes left over");
        (events, parses)
    }

    #[test]
    fn chat_frames_round_trip_through_tls() {
        let cert = localhost();
        let ca = pem_file(&cert);
        let stamp = |seq| Stamp {
            sender: 1,
            seq,
            sched_ns: 99,
        };
        let sent: Vec<u8> = (0..3)
            .flat_map(|seq| filled(&Envelope::ringport(64), stamp(seq), 64))
            .collect();
        let expect = sent.clone();
        let (addr, server) = serve(&cert, move |s| {
            // The client's three 221s, byte for byte.
            let mut got = vec![0; expect.len()];
            s.read_exact(&mut got).unwrap();
            assert_eq!(got, expect);
            // Many packets in one record, three times over, each after the
            // client said it had the one before.
            for _ in 0..3 {
                s.write_all(&server_packets()).unwrap();
                s.flush().unwrap();
                let mut go = [0u8; 1];
                s.read_exact(&mut go).unwrap();
            }
            s.conn.send_close_notify();
            s.flush().unwrap();
        });
        let client = client(&ca, "localhost", false);
        let stream = connect(&client, addr).unwrap();
        let negotiated = stream.negotiated().unwrap();
        assert_eq!(negotiated.version, "TLSv1_3");
        let mut leftover = Vec::new();
        let (mut sock, tls) = stream.into_parts(&mut leftover).unwrap();
        let mut tls = tls.unwrap();
        assert!(leftover.is_empty());
        // Sent as the load sends: all queued plaintext at once.
        let (taken, blocked) = tls.send(&mut sock, &sent).unwrap();
        assert_eq!((taken, blocked), (sent.len(), false));
        assert!(!tls.wants_write());
        let go = |tls: &mut TlsConn, sock: &mut StdStream| {
            assert_eq!(tls.send(sock, b"g").unwrap(), (1, false));
        };
        // The first record read as the load reads (64 KiB at a time).
        let (events, _) = receive(&mut tls, &mut sock, 64 * 1024, 72 * 1024, false, 42);
        check_events(&events);
        go(&mut tls, &mut sock);
        // The second split across reads of 7 bytes: it waits in rustls
        // for its end.
        let (events, _) = receive(&mut tls, &mut sock, 7, 72 * 1024, false, 42);
        check_events(&events);
        go(&mut tls, &mut sock);
        // The third into a buffer smaller than the record: parsed
        // whenever the buffer is full, packets cut at its end carried over.
        let (events, parses) = receive(&mut tls, &mut sock, 64 * 1024, 1000, false, 42);
        check_events(&events);
        assert!(parses > 10, "{parses} parses");
        go(&mut tls, &mut sock);
        // Then close_notify.
        let mut rest = Vec::new();
        loop {
            let mut chunk = [0u8; 512];
            let n = sock.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            tls.decrypt_to(&chunk[..n], &mut rest).unwrap();
        }
        assert!(rest.is_empty());
        assert!(tls.peer_closed());
        assert!(server.join().unwrap());
    }

    #[test]
    fn websocket_messages_round_trip_through_tls() {
        let cert = localhost();
        let ca = pem_file(&cert);
        let (addr, server) = serve_alpn(&cert, true, |s| {
            assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
            // Each packet as one server message (unmasked), all in one
            // record.
            let packets = server_packets();
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < packets.len() {
                let len = usize::from(u16::from_le_bytes([packets[pos], packets[pos + 1]]));
                out.push(0x82);
                if len < 126 {
                    out.push(len as u8);
                } else {
                    out.push(126);
                    out.extend_from_slice(&(len as u16).to_be_bytes());
                }
                out.extend_from_slice(&packets[pos..pos + len]);
                pos += len;
            }
            s.write_all(&out).unwrap();
            s.flush().unwrap();
        });
        let client = client(&ca, "localhost", true);
        let stream = connect(&client, addr).unwrap();
        let (mut sock, tls) = stream.into_parts(&mut Vec::new()).unwrap();
        let (events, _) = receive(&mut tls.unwrap(), &mut sock, 100, 2000, true, 42);
        check_events(&events);
        assert!(server.join().unwrap());
    }

    #[test]
    fn an_untrusted_certificate_fails_the_connection_clearly() {
        let server_cert = localhost();
        let other = self_signed("another CA", IsCa::NoCa);
        let ca = pem_file(&other);
        let (addr, server) = serve(&server_cert, |_| {});
        let err = connect(&client(&ca, "localhost", false), addr).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("member 0: TLS handshake with localhost"),
            "{text}"
        );
        assert!(
            text.contains("invalid peer certificate: UnknownIssuer"),
            "{text}"
        );
        assert!(text.contains("--tls-ca"), "{text}");
        assert!(!server.join().unwrap(), "the server's handshake succeeded");
    }

    #[test]
    fn a_certificate_for_another_name_fails_the_connection() {
        let cert = localhost();
        let ca = pem_file(&cert);
        let (addr, server) = serve(&cert, |_| {});
        let err = connect(&client(&ca, "chat.example", false), addr).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("certificate not valid for name \"chat.example\""),
            "{text}"
        );
        assert!(text.contains("--tls-server-name"), "{text}");
        assert!(!server.join().unwrap());
    }

    /// What `openssl req -x509` makes by default: a certificate marked as a
    /// CA (basicConstraints CA:TRUE). webpki refuses it as the server's
    /// own certificate even when it is the trusted CA: bench/lib.sh adds
    /// `basicConstraints=critical,CA:FALSE`.
    #[test]
    fn a_ca_certificate_is_refused_as_the_server_certificate() {
        let cert = self_signed(
            "localhost",
            IsCa::Ca(rcgen::BasicConstraints::Unconstrained),
        );
        let ca = pem_file(&cert);
        let (addr, server) = serve(&cert, |_| {});
        let err = connect(&client(&ca, "localhost", false), addr).unwrap_err();
        assert!(format!("{err:#}").contains("CaUsedAsEndEntity"), "{err:#}");
        assert!(!server.join().unwrap());
    }

    #[test]
    fn insecure_takes_any_certificate() {
        let cert = localhost();
        let (addr, server) = serve(&cert, |s| {
            s.write_all(b"\x07\x00\xde\x00\x00\x00\x00").unwrap();
            s.flush().unwrap();
        });
        let options = TlsOptions {
            verify: Verify::Insecure,
            server_name: "not-the-name.example".into(),
        };
        let client = TlsClient::new(&options, false).unwrap();
        assert!(client.insecure);
        let mut stream = connect(&client, addr).unwrap();
        let mut got = [0u8; 7];
        stream.read_exact(&mut got).unwrap();
        assert_eq!(got[2], 0xde);
        assert!(server.join().unwrap());
    }

    #[test]
    fn ca_files_that_do_not_do() {
        let options = |path: &Path| TlsOptions {
            verify: Verify::Ca(path.to_path_buf()),
            server_name: "localhost".into(),
        };
        let missing = std::env::temp_dir().join("ringport-bench-tls-no-such-file.pem");
        let err = TlsClient::new(&options(&missing), false).unwrap_err();
        assert!(format!("{err:#}").contains("--tls-ca"), "{err:#}");
        let empty = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = TlsClient::new(&options(&empty), false).unwrap_err();
        assert!(
            format!("{err:#}").contains("no certificate in it"),
            "{err:#}"
        );
        let bad_name = TlsOptions {
            verify: Verify::Insecure,
            server_name: "not a name".into(),
        };
        let err = TlsClient::new(&bad_name, false).unwrap_err();
        assert!(err.to_string().contains("--tls-server-name"), "{err}");
    }
}
