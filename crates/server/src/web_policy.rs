//! The HTTP side of the WebSocket listener: which browser pages may open a
//! chat session (origins), and the web client's files.
//!
//! A browser sends `Origin` with every WebSocket upgrade; a page on another
//! site could otherwise open sessions with its visitors' browsers. By
//! default only the page ringport serves itself may connect: the origin's
//! host and port must be the request's `Host`. `websocket.allowed_origins`
//! adds origins (exact `scheme://host[:port]`, or `*` for any). Programs
//! (no `Origin` header) are not browsers and are not checked.

use ringport_net::{HttpPolicy, Page};

use crate::web_assets;

/// The chat server's HTTP policy.
#[derive(Debug, Clone, Default)]
pub struct WebPolicy {
    allowed_origins: Vec<String>,
}

impl WebPolicy {
    /// A policy allowing the page's own origin and `allowed_origins`.
    pub fn new(allowed_origins: Vec<String>) -> Self {
        WebPolicy {
            allowed_origins: allowed_origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }
}

impl HttpPolicy for WebPolicy {
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self
            .allowed_origins
            .iter()
            .any(|o| o == "*" || *o == origin)
        {
            return true;
        }
        // The page's own origin: `http(s)://` + the Host it asked.
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        matches!((own, host), (Some(o), Some(h)) if o == h.to_ascii_lowercase())
    }

    fn page(&self, path: &str) -> Option<Page> {
        web_assets::asset(path).map(|(content_type, body)| Page { content_type, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_own_origin_and_configured_ones() {
        let own = WebPolicy::default();
        assert!(own.origin_allowed("http://localhost:11080", Some("localhost:11080")));
        assert!(own.origin_allowed("https://Chat.Example", Some("chat.example")));
        assert!(!own.origin_allowed("http://evil.example", Some("chat.example")));
        assert!(!own.origin_allowed("http://localhost:1", Some("localhost:11080")));
        assert!(!own.origin_allowed("null", Some("localhost")));
        assert!(!own.origin_allowed("http://localhost", None));
        let listed = WebPolicy::new(vec!["https://chat.example/".into()]);
        assert!(listed.origin_allowed("https://chat.example", Some("10.0.0.1:11080")));
        assert!(!listed.origin_allowed("http://chat.example", Some("10.0.0.1:11080")));
        let any = WebPolicy::new(vec!["*".into()]);
        assert!(any.origin_allowed("http://anything", None));
    }

    #[test]
    fn serves_the_web_client() {
        let p = WebPolicy::default();
        let index = p.page("/").unwrap();
        assert!(index.content_type.starts_with("text/html"));
        assert!(p.page("/app.js").is_some());
        assert!(p.page("/secret").is_none());
    }
}
