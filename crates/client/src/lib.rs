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
//! The connection may be TLS ([`Client::connect_tls`], to a server's
//! `--tls-listen` listener): [`client_config`] trusts a CA file, the
//! system's roots, or (for tests) any certificate; [`server_name`] is the
//! name checked in the certificate. [`rustls`] is re-exported for callers
//! that build their own configuration.
//!
//! ```no_run
//! use std::path::Path;
//! use ringport_client::{client_config, server_name, Client};
//!
//! let config = client_config(Some(Path::new("ca.pem")), false)?;
//! let mut client = Client::connect_tls("127.0.0.1:11022", server_name("localhost")?, config)?;
//! client.echo(b"ping")?;
//! # Ok::<(), ringport_client::ClientError>(())
//! ```
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
mod stream;
mod tls;

pub use client::{Client, Member};
pub use error::ClientError;
/// The protocol crate, re-exported so users of the client need not depend
/// on it separately.
pub use ringport_proto as proto;
/// rustls (with its `pki_types`), re-exported so users of the client can
/// build or inspect TLS configurations without depending on it.
pub use rustls;
pub use tls::{client_config, server_name, TlsError};
