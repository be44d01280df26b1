//! [`Client`]: a blocking connection that sends requests and receives framed
//! server packets.
//!
//! Receiving is check-then-parse over one growable buffer: bytes are read
//! until [`frame_len`] reports a whole frame, the frame is decoded in place
//! (the returned packet borrows it), and it is dropped from the buffer at the
//! start of the next receive. Extra bytes (the next packets) stay buffered.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use rustls_pki_types::ServerName;

use ringport_proto::{
    frame_len, ClientPacket, DevEcho, LoginReq, RoomChatReq, RoomEnterReq, RoomLeaveReq,
    RoomUserListNtf, ServerPacket, MAX_FRAME_LIMIT,
};

use crate::error::ClientError;
use crate::stream::{Stream, TlsStream};
use crate::tls;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// A room member from a 209 user list, owned.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// The member's unique id.
    pub user_unique_id: i64,
    /// The member's user id.
    pub user_id: String,
}

/// A blocking ringport client over one TCP connection, plain or TLS (see
/// [`Client::connect_tls`]); everything but connecting works the same on
/// both.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    /// Received bytes; `buf[head..]` is not consumed yet.
    buf: Vec<u8>,
    head: usize,
    /// Length of the frame the last receive returned, consumed on the next.
    returned: usize,
    max_frame: usize,
    /// Scratch buffer for encoding.
    out: Vec<u8>,
}

impl Client {
    /// Connects to a server and sets `TCP_NODELAY`. No timeouts are set.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the connection or the socket option fails.
    pub fn connect<A: ToSocketAddrs>(addr: A) -> Result<Client, ClientError> {
        Client::from_stream(TcpStream::connect(addr)?)
    }

    /// Connects with a connect timeout and sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the connection fails or times out.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> Result<Client, ClientError> {
        Client::from_stream(TcpStream::connect_timeout(addr, timeout)?)
    }

    /// Wraps a connected stream and sets `TCP_NODELAY` on it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the socket option cannot be set.
    pub fn from_stream(stream: TcpStream) -> Result<Client, ClientError> {
        stream.set_nodelay(true)?;
        Ok(Client::with(Stream::Plain(stream)))
    }

    /// Connects to a TLS listener (`ringport serve --tls-listen`), sets
    /// `TCP_NODELAY` and completes the TLS handshake: a certificate that
    /// `config` does not accept for `server_name` fails here. No timeouts
    /// are set, none stay set.
    ///
    /// `config` comes from [`crate::client_config`] (or is built with the
    /// re-exported [`rustls`](crate::rustls)); `server_name` from
    /// [`crate::server_name`] or `ServerName::try_from`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the connection fails; [`ClientError::Tls`] if
    /// the handshake does (e.g. `certificate not trusted: UnknownIssuer`).
    pub fn connect_tls<A: ToSocketAddrs>(
        addr: A,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> Result<Client, ClientError> {
        Client::from_stream_tls(TcpStream::connect(addr)?, server_name, config)
    }

    /// [`Client::connect_tls`] within `timeout`, for the connect and the
    /// handshake together. The socket's timeouts are off again afterwards.
    ///
    /// # Errors
    ///
    /// As [`Client::connect_tls`]; a timeout is a [`ClientError::Io`] for
    /// which [`ClientError::is_timeout`] is true.
    pub fn connect_tls_timeout(
        addr: &SocketAddr,
        timeout: Duration,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> Result<Client, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut sock = TcpStream::connect_timeout(addr, timeout)?;
        sock.set_nodelay(true)?;
        let conn = tls::handshake(&mut sock, server_name, config, Some(deadline))?;
        Ok(Client::with(Stream::Tls(TlsStream::new(sock, conn))))
    }

    /// Runs the TLS handshake on a connected stream (see
    /// [`Client::connect_tls`]) and sets `TCP_NODELAY` on it. Timeouts set
    /// on `stream` apply to the handshake and stay set.
    ///
    /// # Errors
    ///
    /// As [`Client::connect_tls`].
    pub fn from_stream_tls(
        mut stream: TcpStream,
        server_name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> Result<Client, ClientError> {
        stream.set_nodelay(true)?;
        let conn = tls::handshake(&mut stream, server_name, config, None)?;
        Ok(Client::with(Stream::Tls(TlsStream::new(stream, conn))))
    }

    fn with(stream: Stream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
            head: 0,
            returned: 0,
            max_frame: MAX_FRAME_LIMIT,
            out: Vec::new(),
        }
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Sets the read timeout; `None` blocks forever. A receive that times out
    /// fails with an error for which [`ClientError::is_timeout`] is true and
    /// keeps any partial frame for the next receive.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`], e.g. for a zero duration.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), ClientError> {
        Ok(self.stream.socket().set_read_timeout(timeout)?)
    }

    /// Sets the write timeout; `None` blocks forever.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`], e.g. for a zero duration.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> Result<(), ClientError> {
        Ok(self.stream.socket().set_write_timeout(timeout)?)
    }

    /// Sets the largest frame accepted from the server (default and maximum:
    /// [`MAX_FRAME_LIMIT`]; larger values are clamped to it).
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the socket cannot report it.
    pub fn local_addr(&self) -> Result<SocketAddr, ClientError> {
        Ok(self.stream.socket().local_addr()?)
    }

    /// The server's address.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the socket cannot report it.
    pub fn peer_addr(&self) -> Result<SocketAddr, ClientError> {
        Ok(self.stream.socket().peer_addr()?)
    }

    /// A second client on the same connection, with its own (empty) receive
    /// buffer: receive on one (e.g. on a reader thread) and send on the
    /// other. Bytes already buffered by this client stay with it; socket
    /// timeouts are shared. Under TLS both share the TLS session: one may
    /// send while the other receives (but not two receive at once).
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the socket cannot be duplicated.
    pub fn try_clone(&self) -> Result<Client, ClientError> {
        let mut clone = Client::with(self.stream.try_clone()?);
        clone.max_frame = self.max_frame;
        Ok(clone)
    }

    /// Shuts down both halves of the connection: a receive blocked on
    /// another handle (see [`Client::try_clone`]) returns at once. Under
    /// TLS, `close_notify` goes out first if that is quick.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the shutdown fails.
    pub fn shutdown(&self) -> Result<(), ClientError> {
        Ok(self.stream.shutdown(Shutdown::Both)?)
    }

    /// The underlying TCP stream, e.g. to set other socket options. Under
    /// TLS it carries the encrypted records: bytes written to it directly
    /// break the TLS session.
    pub fn stream(&self) -> &TcpStream {
        self.stream.socket()
    }

    /// Shuts down the sending half (the server sees end of stream; under TLS
    /// after `close_notify`); receiving still works.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the shutdown fails.
    pub fn shutdown_write(&self) -> Result<(), ClientError> {
        Ok(self.stream.shutdown(Shutdown::Write)?)
    }

    /// Sends bytes as they are: partial, malformed or several packets.
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`] if the write fails or times out.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Encodes and sends one packet.
    ///
    /// # Errors
    ///
    /// [`ClientError::Encode`] (nothing sent) or [`ClientError::Io`].
    pub fn send(&mut self, packet: &ClientPacket<'_>) -> Result<(), ClientError> {
        self.out.clear();
        packet.encode(&mut self.out)?;
        self.stream.write_all(&self.out)?;
        Ok(())
    }

    /// Sends `LOGIN_REQ` (201, 71 bytes).
    ///
    /// # Errors
    ///
    /// [`ClientError::Encode`] if the user id or the password is not 1 to 32
    /// bytes without NUL (nothing sent); [`ClientError::Io`].
    pub fn login(&mut self, user_id: &str, password: &str) -> Result<(), ClientError> {
        self.send(&ClientPacket::LoginReq(LoginReq::new(user_id, password)?))
    }

    /// Sends `ROOM_ENTER_REQ` (206, 9 bytes).
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`].
    pub fn enter(&mut self, room_number: i32) -> Result<(), ClientError> {
        self.send(&ClientPacket::RoomEnterReq(RoomEnterReq { room_number }))
    }

    /// Sends `ROOM_LEAVE_REQ` (215, 5 bytes).
    ///
    /// # Errors
    ///
    /// [`ClientError::Io`].
    pub fn leave(&mut self) -> Result<(), ClientError> {
        self.send(&ClientPacket::RoomLeaveReq(RoomLeaveReq))
    }

    /// Sends `ROOM_CHAT_REQ` (221, 262 bytes).
    ///
    /// # Errors
    ///
    /// [`ClientError::Encode`] if the message is not 1 to 256 bytes without
    /// NUL (nothing sent); [`ClientError::Io`].
    pub fn chat(&mut self, message: &str) -> Result<(), ClientError> {
        self.send(&ClientPacket::RoomChatReq(RoomChatReq::new(message)?))
    }

    /// Sends `DEV_ECHO` (1) with `body`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Encode`] if the body does not fit in a frame (nothing
    /// sent); [`ClientError::Io`].
    pub fn echo(&mut self, body: &[u8]) -> Result<(), ClientError> {
        self.send(&ClientPacket::DevEcho(DevEcho { body }))
    }

    /// Receives one packet and decodes it. The packet borrows the client's
    /// buffer until the next call.
    ///
    /// # Errors
    ///
    /// [`ClientError::Decode`] if the frame is invalid (it is consumed; the
    /// next call reads the following packet); otherwise as
    /// [`Client::recv_frame`].
    pub fn recv(&mut self) -> Result<ServerPacket<'_>, ClientError> {
        let frame = self.recv_frame()?;
        Ok(ServerPacket::decode(frame)?)
    }

    /// Receives one complete frame (header included) without decoding it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] if the server closes the connection first;
    /// [`ClientError::Frame`] if its length field is out of range (the
    /// connection is unusable then); [`ClientError::Io`] on a socket error or
    /// a read timeout (a partial frame stays buffered).
    pub fn recv_frame(&mut self) -> Result<&[u8], ClientError> {
        self.head += std::mem::take(&mut self.returned);
        let len = loop {
            let pending = self.buf.get(self.head..).unwrap_or_default();
            if let Some(len) = frame_len(pending, self.max_frame)? {
                break len;
            }
            self.fill()?;
        };
        self.returned = len;
        let start = self.head;
        self.buf.get(start..start + len).ok_or(ClientError::Closed)
    }

    /// Receives a whole room user list: 209 packets until one with fewer than
    /// 127 users (PROTOCOL.md: a full packet is always followed by another).
    ///
    /// # Errors
    ///
    /// [`ClientError::Unexpected`] if another packet arrives first or in
    /// between (it is consumed); otherwise as [`Client::recv`].
    pub fn recv_user_list(&mut self) -> Result<Vec<Member>, ClientError> {
        let mut members = Vec::new();
        loop {
            let list = match self.recv()? {
                ServerPacket::RoomUserListNtf(list) => list,
                other => return Err(ClientError::Unexpected { id: other.id() }),
            };
            members.extend(list.members().map(|m| Member {
                user_unique_id: m.user_unique_id,
                user_id: m.user_id.to_string(),
            }));
            if list.len() < RoomUserListNtf::MAX_USERS {
                return Ok(members);
            }
        }
    }

    /// Reads once from the socket into the buffer, first dropping consumed
    /// bytes.
    fn fill(&mut self) -> Result<(), ClientError> {
        if self.head > 0 {
            self.buf.drain(..self.head);
            self.head = 0;
        }
        let filled = self.buf.len();
        self.buf.resize(filled + READ_CHUNK, 0);
        let read = loop {
            match self.stream.read(&mut self.buf[filled..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(filled + *read.as_ref().unwrap_or(&0));
        match read? {
            0 => Err(ClientError::Closed),
            _ => Ok(()),
        }
    }
}
