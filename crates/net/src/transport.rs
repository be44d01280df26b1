//! What a listener speaks: the public configuration of transports.
//!
//! A [`Transport::Tcp`] session carries the application's frames as they
//! are. A [`Transport::WebSocket`] session first reads an HTTP request head
//! (bounded), answers it (a page, an error, or `101 Switching Protocols`),
//! then carries each application frame as one binary WebSocket message
//! (RFC 6455). All of it runs on the I/O thread that owns the session, over
//! the same buffers: the application sees the same frames from both, and
//! the session is the same kind of session (ids, limits, timeouts, metrics).
//!
//! The protocol itself (request heads, frame decoding, close codes) is
//! `ringport-ws`'s; [`crate::wire`] applies it to a session: what to
//! deliver, what to answer, when the session ends.

use std::fmt;
use std::net::TcpListener;
use std::sync::Arc;

/// What a listener speaks.
#[derive(Clone, Default)]
pub enum Transport {
    /// The application's frames, as they are.
    #[default]
    Tcp,
    /// WebSocket: one application frame per binary message.
    WebSocket(WebSocketConfig),
}

impl Transport {
    /// A short name for logs and metrics labels: `tcp` or `ws`.
    pub fn label(&self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::WebSocket(_) => "ws",
        }
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A bound listening socket and what it speaks.
#[derive(Debug)]
pub struct Listener {
    /// The socket (bind `127.0.0.1:0` in tests).
    pub socket: TcpListener,
    /// What its sessions speak.
    pub transport: Transport,
}

/// How a WebSocket listener answers HTTP.
#[derive(Clone)]
pub struct WebSocketConfig {
    /// The path of the upgrade (`/ws`). Other paths are pages or 404.
    pub path: String,
    /// The longest request head accepted (bytes); longer is answered 400.
    pub max_head: usize,
    /// The application's answers: allowed origins, pages.
    pub http: Arc<dyn HttpPolicy>,
}

impl fmt::Debug for WebSocketConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketConfig")
            .field("path", &self.path)
            .field("max_head", &self.max_head)
            .finish_non_exhaustive()
    }
}

/// The default bound of a request head.
pub const DEFAULT_MAX_HEAD: usize = 8 * 1024;

/// A static page served by a WebSocket listener.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// The application's policy for the HTTP side of a WebSocket listener.
/// Called on the I/O threads: answers must be quick and must not block.
pub trait HttpPolicy: Send + Sync + 'static {
    /// Whether a browser page from `origin` may open a WebSocket session
    /// (`host` is the request's `Host`). Requests without `Origin` come
    /// from programs, not browsers, and are not asked about.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool;

    /// The page served for `GET path`, if any.
    fn page(&self, path: &str) -> Option<Page>;
}
