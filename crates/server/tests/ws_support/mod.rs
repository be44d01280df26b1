//! WebSocket test clients: [`WsClient`] (tungstenite, a well-behaved
//! client: one packet per binary message) and [`RawWs`] (frames written by
//! hand, for what a well-behaved client never sends).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ringport_client::proto::{
    ClientPacket, LoginReq, RoomChatReq, RoomEnterReq, RoomLeaveReq, ServerPacket,
};
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

use crate::chat_support::{got, Got};

/// A chat client over WebSocket, on a plain socket (`ws://`) or any other
/// stream (a TLS one for `wss://`).
pub struct WsClient<S = TcpStream> {
    pub ws: WebSocket<S>,
}

impl WsClient {
    /// Opens `ws://addr/ws` (no `Origin`: not a browser).
    pub fn connect(addr: SocketAddr) -> WsClient {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let (ws, response) = tungstenite::client::client(format!("ws://{addr}/ws"), stream)
            .unwrap_or_else(|e| panic!("upgrade refused: {e}"));
        assert_eq!(response.status(), 101);
        WsClient { ws }
    }
}

impl<S: Read + Write> WsClient<S> {
    /// A client on a WebSocket opened otherwise.
    pub fn over(ws: WebSocket<S>) -> WsClient<S> {
        WsClient { ws }
    }

    /// Sends one packet as one binary message.
    pub fn send(&mut self, packet: &ClientPacket<'_>) {
        let mut out = Vec::new();
        packet.encode(&mut out).unwrap();
        self.ws.send(Message::Binary(out.into())).unwrap();
    }

    pub fn login(&mut self, id: &str, password: &str) {
        self.send(&ClientPacket::LoginReq(
            LoginReq::new(id, password).unwrap(),
        ));
    }

    pub fn enter(&mut self, room: i32) {
        self.send(&ClientPacket::RoomEnterReq(RoomEnterReq {
            room_number: room,
        }));
    }

    pub fn chat(&mut self, text: &str) {
        self.send(&ClientPacket::RoomChatReq(RoomChatReq::new(text).unwrap()));
    }

    pub fn leave(&mut self) {
        self.send(&ClientPacket::RoomLeaveReq(RoomLeaveReq));
    }

    /// The next packet (pings are answered by tungstenite on the way); a
    /// message holding anything but one whole packet fails the test.
    pub fn next(&mut self) -> Got {
        loop {
            match self.ws.read().unwrap() {
                Message::Binary(b) => {
                    let packet = ServerPacket::decode(&b)
                        .unwrap_or_else(|e| panic!("not one packet ({e}): {b:?}"));
                    return got(packet);
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// Logs in with password "pw" and expects success.
    pub fn login_ok(&mut self, id: &str) {
        self.login(id, "pw");
        assert_eq!(self.next(), Got::Login(0), "login of {id}");
    }

    /// Logs in, enters `room`, returns the member list.
    pub fn login_enter(&mut self, id: &str, room: i32) -> Vec<(i64, String)> {
        self.login_ok(id);
        self.enter(room);
        assert_eq!(self.next(), Got::Enter(0), "{id} enters {room}");
        match self.next() {
            Got::List(l) => l,
            other => panic!("{id}: expected a user list, got {other:?}"),
        }
    }

    /// Reads until the server's close frame; returns its code.
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.ws.read() {
                Ok(Message::Close(frame)) => return frame.map(|f: CloseFrame| f.code.into()),
                Ok(_) => continue,
                Err(e) => panic!("no close frame: {e}"),
            }
        }
    }
}

/// A WebSocket client writing frames by hand.
pub struct RawWs {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

const MASK: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];

/// A valid upgrade request for `/ws` with `extra` header lines.
pub fn upgrade_request(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

impl RawWs {
    /// Connects and sends `request`; returns the answer's status code and
    /// head, and the client (whose buffer keeps what followed the head).
    pub fn open(addr: SocketAddr, request: &str) -> (u16, String, RawWs) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = RawWs {
            stream,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(p) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            assert!(raw.fill(), "connection closed before an answer");
        };
        let head = String::from_utf8_lossy(&raw.buf[..end]).to_string();
        raw.buf.drain(..end);
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head, raw)
    }

    /// Connects and upgrades.
    pub fn connect(addr: SocketAddr) -> RawWs {
        let (status, head, raw) = RawWs::open(addr, &upgrade_request(""));
        assert_eq!(status, 101, "{head}");
        raw
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Writes one frame: `first` is the first header byte (FIN, RSV,
    /// opcode), masked unless `masked` is false.
    pub fn frame(&mut self, first: u8, payload: &[u8], masked: bool) {
        let mut out = vec![first];
        let mask_bit = if masked { 0x80 } else { 0 };
        let len = payload.len();
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= 0xffff {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        if masked {
            out.extend_from_slice(&MASK);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        // The server may have closed already; the test then reads that.
        let _ = self.stream.write_all(&out);
    }

    /// One whole binary message carrying `packet`.
    pub fn packet(&mut self, packet: &ClientPacket<'_>) {
        let mut out = Vec::new();
        packet.encode(&mut out).unwrap();
        self.frame(0x82, &out, true);
    }

    /// The next server frame as (first byte, payload); `None` at the end
    /// of the stream. Server frames must be unmasked.
    pub fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "server frames are never masked");
                let (len, at) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if len != usize::MAX && self.buf.len() >= at + len {
                    let first = self.buf[0];
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return Some((first, payload));
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads frames until a close frame; returns its code (None: empty
    /// payload), and checks that the server then ends the connection.
    pub fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.read_frame() {
                Some((0x88, payload)) => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    // Answer as a client does, then the server closes.
                    self.frame(0x88, &payload[..payload.len().min(2)], true);
                    assert!(self.read_frame().is_none(), "data after the close frame");
                    return code;
                }
                Some(_) => continue,
                None => panic!("connection ended without a close frame"),
            }
        }
    }
}
