//! ringport client library: a small blocking client for protocol v1 (see
//! `docs/PROTOCOL.md`), used by integration tests and tools.
//!
//! [`Client`] wraps a `std::net::TcpStream` (with `TCP_NODELAY`). Senders
//! encode exactly like the C# test client of the original tutorial (fixed
//! 33/33/257-byte text fields); [`Client::recv`] returns one decoded
//! [`ServerPacket`](ringport_proto::ServerPacket) at a time, however the bytes were split or coalesced on
//! the way. [`Client::try_clone`] gives a second handle on the connection,
//! to receive on one thread while sending on another.
//!
//! The crate also builds the `ringport-client` binary, a terminal chat
//! client with a line mode for scripts (see the crate's `README.md`).
//!
//! ```no_run
//! use ringport_client::Client;
//! use ringport_proto::{ResultCode, ServerPacket};
//!
//! let mut client = Client::connect("127.0.0.1:11021")?;
//! client.login("alice", "secret")?;
//! match client.recv()? {
//!     ServerPacket::LoginRes(res) if res.result == ResultCode::None => println!("logged in"),
//!     other => println!("refused: {other:?}"),
//! }
//! # Ok::<(), ringport_client::ClientError>(())
//! ```
#![forbid(unsafe_code)]

mod client;
mod error;

pub use client::{Client, Member};
pub use error::ClientError;
/// The protocol crate, re-exported so users of the client need not depend
/// on it separately.
pub use ringport_proto as proto;
