//! A load connection's byte stream: the socket as it is, or TLS over it
//! ([`Link`], `--tls`). TLS is driven without I/O of its own (rustls's
//! `ClientConnection`) over whatever socket the load uses: a blocking one
//! during setup, mio's non-blocking one during the load. Plaintext
//! connections pay nothing for it: [`Link::Plain`] reads and writes the
//! socket directly.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use ringport_client::rustls::pki_types::ServerName;
use ringport_client::rustls::{ClientConfig, ClientConnection};

/// How the load's connections use TLS (`--tls`, `--tls-ca`,
/// `--tls-server-name`).
#[derive(Debug, Clone)]
pub struct TlsPlan {
    /// The client configuration (trusting `--tls-ca`).
    pub config: Arc<ClientConfig>,
    /// The name the server's certificate must hold.
    pub server_name: ServerName<'static>,
}

impl TlsPlan {
    /// TLS trusting the PEM certificates in `ca`, checking `server_name`.
    ///
    /// # Errors
    /// The CA file cannot be read or holds no certificate; the name is not
    /// a DNS name or an IP address.
    pub fn new(ca: &Path, server_name: &str) -> anyhow::Result<TlsPlan> {
        let config = ringport_client::client_config(Some(ca), false)
            .map_err(|e| anyhow!("--tls-ca {}: {e}", ca.display()))?;
        let server_name = ringport_client::server_name(server_name)
            .map_err(|e| anyhow!("--tls-server-name {server_name:?}: {e}"))?;
        Ok(TlsPlan {
            config,
            server_name,
        })
    }
}

/// A connection's byte stream over the socket `S`.
#[derive(Debug)]
pub enum Link<S> {
    /// The socket's bytes as they are.
    Plain(S),
    /// TLS over the socket.
    Tls {
        /// rustls's client state.
        conn: Box<ClientConnection>,
        /// The socket.
        sock: S,
    },
}

impl<S> Link<S> {
    /// The socket.
    pub fn socket(&self) -> &S {
        match self {
            Link::Plain(sock) | Link::Tls { sock, .. } => sock,
        }
    }

    /// The socket, mutably (to register it with a poller).
    pub fn socket_mut(&mut self) -> &mut S {
        match self {
            Link::Plain(sock) | Link::Tls { sock, .. } => sock,
        }
    }

    /// The same link over another socket type (blocking setup to mio).
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Link<T> {
        match self {
            Link::Plain(sock) => Link::Plain(f(sock)),
            Link::Tls { conn, sock } => Link::Tls {
                conn,
                sock: f(sock),
            },
        }
    }

    /// Whether a read shorter than asked for means the socket is drained
    /// (true for a plain socket; under TLS a record's plaintext may be
    /// shorter while more records wait).
    pub fn short_read_drains(&self) -> bool {
        matches!(self, Link::Plain(_))
    }

    /// Whether encrypted bytes wait to be written (call `flush`).
    pub fn has_pending(&self) -> bool {
        match self {
            Link::Plain(_) => false,
            Link::Tls { conn, .. } => conn.wants_write(),
        }
    }
}

impl<S: Read + Write> Link<S> {
    /// Connects TLS over a blocking `sock` and completes the handshake.
    ///
    /// # Errors
    /// The handshake fails (an untrusted certificate, a server that does not
    /// speak TLS) or times out.
    pub fn handshake(sock: S, tls: &TlsPlan, addr: SocketAddr) -> anyhow::Result<Link<S>> {
        let conn = ClientConnection::new(tls.config.clone(), tls.server_name.clone())
            .context("starting TLS")?;
        let mut link = Link::Tls {
            conn: Box::new(conn),
            sock,
        };
        if let Link::Tls { conn, sock } = &mut link {
            while conn.is_handshaking() {
                conn.complete_io(sock)
                    .with_context(|| format!("TLS handshake with {addr}"))?;
            }
        }
        Ok(link)
    }
}

impl<S: Read + Write> Read for Link<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (conn, sock) = match self {
            Link::Plain(sock) => return sock.read(buf),
            Link::Tls { conn, sock } => (conn, sock),
        };
        loop {
            match conn.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the server's close_notify
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // No plaintext buffered: read records (WouldBlock passes up).
            if conn.read_tls(sock)? == 0 {
                return Ok(0);
            }
            conn.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

impl<S: Read + Write> Write for Link<S> {
    /// Plain: the socket's write. TLS: records still waiting from an
    /// earlier write are written first (`WouldBlock` if the socket will not
    /// take them; nothing of `buf` is taken then); then all of `buf` is
    /// encrypted and as much written as the socket takes; the rest waits
    /// ([`Link::has_pending`], `flush`).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (conn, sock) = match self {
            Link::Plain(sock) => return sock.write(buf),
            Link::Tls { conn, sock } => (conn, sock),
        };
        while conn.wants_write() {
            conn.write_tls(sock)?;
        }
        conn.writer().write_all(buf)?;
        while conn.wants_write() {
            match conn.write_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Link::Plain(sock) => sock.flush(),
            Link::Tls { conn, sock } => {
                while conn.wants_write() {
                    conn.write_tls(sock)?;
                }
                sock.flush()
            }
        }
    }
}
