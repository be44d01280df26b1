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
pub struct Listener {
    /// The socket (bind `127.0.0.1:0` in tests).
    pub socket: TcpListener,
    /// What its sessions speak.
    pub transport: Transport,
    /// TLS under the transport, if any: every session starts with a TLS
    /// handshake, and its bytes are encrypted both ways (`crate::tls`).
    /// The configuration is shared by the listener's new sessions; to
    /// change certificates without a restart, give it a certificate
    /// resolver that can be swapped (as the server's `SIGHUP` reload does).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Listener {
    /// A listener speaking `transport` in the clear.
    pub fn new(socket: TcpListener, transport: Transport) -> Listener {
        Listener {
            socket,
            transport,
            tls: None,
        }
    }

    /// The same listener, inside TLS with `config`.
    pub fn with_tls(self, config: Arc<rustls::ServerConfig>) -> Listener {
        Listener {
            tls: Some(config),
            ..self
        }
    }

    /// What kind of sessions it makes.
    pub fn kind(&self) -> ListenerKind {
        ListenerKind::of(&self.transport, self.tls.is_some())
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("socket", &self.socket)
            .field("kind", &self.kind())
            .finish()
    }
}

/// A listener's transport and whether TLS is under it: how sessions are
/// counted (`Stats::accepted_by`, `Stats::open_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListenerKind {
    /// The application's frames in the clear.
    Tcp,
    /// The application's frames inside TLS.
    Tls,
    /// WebSocket in the clear (`ws://`).
    Ws,
    /// WebSocket inside TLS (`wss://`).
    Wss,
}

impl ListenerKind {
    /// Every kind, in a fixed order (the index used by stats).
    pub const ALL: [ListenerKind; 4] = [
        ListenerKind::Tcp,
        ListenerKind::Tls,
        ListenerKind::Ws,
        ListenerKind::Wss,
    ];

    /// The kind of a listener speaking `transport`, inside TLS or not.
    pub fn of(transport: &Transport, tls: bool) -> ListenerKind {
        match (transport, tls) {
            (Transport::Tcp, false) => ListenerKind::Tcp,
            (Transport::Tcp, true) => ListenerKind::Tls,
            (Transport::WebSocket(_), false) => ListenerKind::Ws,
            (Transport::WebSocket(_), true) => ListenerKind::Wss,
        }
    }

    /// A short name for logs and metrics labels: `tcp`, `tls`, `ws`, `wss`.
    pub fn label(self) -> &'static str {
        match self {
            ListenerKind::Tcp => "tcp",
            ListenerKind::Tls => "tls",
            ListenerKind::Ws => "ws",
            ListenerKind::Wss => "wss",
        }
    }

    /// Whether its sessions speak WebSocket.
    pub fn is_websocket(self) -> bool {
        matches!(self, ListenerKind::Ws | ListenerKind::Wss)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
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

    /// Whether a request for `host` (its `Host` header, if any) is served
    /// at all; refused requests are answered `421 Misdirected Request`.
    /// Checked before anything else, for pages and upgrades alike: a
    /// listener that names its hosts cannot be reached through a name an
    /// attacker controls (DNS rebinding). Default: every host.
    fn host_allowed(&self, _host: Option<&str>) -> bool {
        true
    }

    /// The page served for `GET path`, if any.
    fn page(&self, path: &str) -> Option<Page>;
}
