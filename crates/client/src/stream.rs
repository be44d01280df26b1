//! [`Stream`]: the connection under a [`crate::Client`], plain TCP or TLS.
//!
//! A TLS connection is shared by every handle [`Stream::try_clone`] makes
//! (a reader thread and a writer thread, as the `ringport-client` binary
//! does), so it is not a `rustls::StreamOwned` (one owner) but the rustls
//! state behind a mutex plus one duplicated socket per handle. The mutex is
//! never held across socket I/O: a receive blocked on the socket does not
//! stop a send, nor a send blocked on a server that does not read stop a
//! receive. Another mutex keeps sent records in order.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustls::ClientConnection;

/// Ciphertext bytes asked of the socket per read.
const RAW_CHUNK: usize = 16 * 1024;

/// How long [`Stream::shutdown`] may spend sending TLS `close_notify`.
const CLOSE_NOTIFY_TIMEOUT: Duration = Duration::from_millis(100);

/// A connected stream, plain or TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP, handshake done.
    Tls(TlsStream),
}

impl Stream {
    /// The TCP socket (under TLS, the one carrying the records).
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(sock) => sock,
            Stream::Tls(tls) => &tls.sock,
        }
    }

    /// A second handle on the same connection.
    pub(crate) fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Plain(sock) => Stream::Plain(sock.try_clone()?),
            Stream::Tls(tls) => Stream::Tls(tls.try_clone()?),
        })
    }

    /// Reads some bytes (plaintext under TLS); `Ok(0)` at the end of the
    /// stream.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(sock) => sock.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }

    /// Writes all of `bytes`.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(sock) => sock.write_all(bytes),
            Stream::Tls(tls) => tls.write_all(bytes),
        }
    }

    /// Shuts down one or both halves. Under TLS, shutting down the sending
    /// half sends `close_notify` first; shutting down both tries to, briefly
    /// and only if no send is under way.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Plain(sock) => sock.shutdown(how),
            Stream::Tls(tls) => tls.shutdown(how),
        }
    }
}

/// The rustls state shared by the handles of one TLS connection.
struct Shared {
    state: Mutex<State>,
    /// Held while records go out on the socket, so they leave in the order
    /// rustls made them.
    send: Mutex<()>,
}

struct State {
    conn: ClientConnection,
    /// Ciphertext read from the socket, not yet taken by rustls.
    pending: Vec<u8>,
}

/// One handle on a TLS connection.
pub(crate) struct TlsStream {
    sock: TcpStream,
    shared: Arc<Shared>,
    /// Scratch buffer for socket reads.
    raw: Vec<u8>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("sock", &self.sock)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex; a poisoned one (a panic while it was held) fails.
fn lock<T>(mutex: &Mutex<T>) -> io::Result<MutexGuard<'_, T>> {
    mutex
        .lock()
        .map_err(|_| io::Error::other("TLS state lost: a thread panicked while using it"))
}

impl TlsStream {
    /// Wraps a socket whose handshake `conn` has completed.
    pub(crate) fn new(sock: TcpStream, conn: ClientConnection) -> TlsStream {
        TlsStream {
            sock,
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    conn,
                    pending: Vec::new(),
                }),
                send: Mutex::new(()),
            }),
            raw: Vec::new(),
        }
    }

    fn try_clone(&self) -> io::Result<TlsStream> {
        Ok(TlsStream {
            sock: self.sock.try_clone()?,
            shared: self.shared.clone(),
            raw: Vec::new(),
        })
    }

    /// Reads plaintext: what rustls already has, else ciphertext from the
    /// socket (without the lock) until a record decrypts. The end of the
    /// TCP stream, with or without `close_notify`, is `Ok(0)`: the protocol
    /// is framed, so a truncated frame is still noticed by the reader.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let wants_write = {
                let mut state = lock(&self.shared.state)?;
                let State { conn, pending } = &mut *state;
                let mut fed = 0;
                while conn.wants_read() && fed < pending.len() {
                    let mut rest = pending.get(fed..).unwrap_or_default();
                    match conn.read_tls(&mut rest)? {
                        0 => break,
                        n => fed += n,
                    }
                    if let Err(e) = conn.process_new_packets() {
                        pending.clear();
                        drop(state);
                        // The alert rustls queued, if the socket takes it.
                        self.flush_if_idle();
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                pending.drain(..fed);
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if !pending.is_empty() {
                    // rustls takes no more and has nothing to give.
                    return Err(io::Error::other("TLS: received data cannot be processed"));
                }
                conn.wants_write()
            };
            if wants_write {
                // E.g. the answer to a key update.
                self.flush_if_idle();
            }
            self.raw.resize(RAW_CHUNK, 0);
            let n = self.sock.read(&mut self.raw)?;
            let mut state = lock(&self.shared.state)?;
            if n == 0 {
                // Tell rustls about the end of the stream; the next round
                // returns what is left, then the end.
                state.conn.read_tls(&mut io::empty())?;
                if let Err(e) = state.conn.process_new_packets() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            } else {
                state
                    .pending
                    .extend_from_slice(self.raw.get(..n).unwrap_or_default());
            }
        }
    }

    /// Encrypts and sends all of `bytes`, in order with the other handles'
    /// sends.
    fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        let _send = lock(&self.shared.send)?;
        let mut out = Vec::new();
        loop {
            let taken = {
                let mut state = lock(&self.shared.state)?;
                let taken = if bytes.is_empty() {
                    0
                } else {
                    state.conn.writer().write(bytes)?
                };
                while state.conn.wants_write() {
                    state.conn.write_tls(&mut out)?;
                }
                taken
            };
            bytes = bytes.get(taken..).unwrap_or_default();
            if out.is_empty() {
                if bytes.is_empty() {
                    return Ok(());
                }
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "TLS: the connection takes no more data",
                ));
            }
            (&self.sock).write_all(&out)?;
            out.clear();
        }
    }

    /// Sends what rustls has queued, unless a send is under way (then that
    /// send takes it along).
    fn flush_if_idle(&self) {
        let Ok(_send) = self.shared.send.try_lock() else {
            return;
        };
        let mut out = Vec::new();
        if let Ok(mut state) = self.shared.state.lock() {
            while state.conn.wants_write() {
                if state.conn.write_tls(&mut out).is_err() {
                    break;
                }
            }
        }
        let _ = (&self.sock).write_all(&out);
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match how {
            Shutdown::Read => {}
            Shutdown::Write => {
                let _send = lock(&self.shared.send)?;
                let mut out = Vec::new();
                {
                    let mut state = lock(&self.shared.state)?;
                    state.conn.send_close_notify();
                    while state.conn.wants_write() {
                        state.conn.write_tls(&mut out)?;
                    }
                }
                (&self.sock).write_all(&out)?;
            }
            Shutdown::Both => {
                // Politely, if that is quick: the socket is closing anyway,
                // so its write timeout can be changed.
                if let Ok(mut state) = self.shared.state.lock() {
                    state.conn.send_close_notify();
                }
                if self
                    .sock
                    .set_write_timeout(Some(CLOSE_NOTIFY_TIMEOUT))
                    .is_ok()
                {
                    self.flush_if_idle();
                }
            }
        }
        self.sock.shutdown(how)
    }
}
