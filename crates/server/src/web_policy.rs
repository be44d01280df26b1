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
    /// Lowercase `name` or `name:port`; empty: any host.
    allowed_hosts: Vec<String>,
}

impl WebPolicy {
    /// A policy allowing the page's own origin and `allowed_origins`, for
    /// requests to `allowed_hosts` (all hosts when empty).
    pub fn new(allowed_origins: Vec<String>, allowed_hosts: Vec<String>) -> Self {
        WebPolicy {
            allowed_origins: allowed_origins.iter().map(|o| normal(o)).collect(),
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }
}

/// The name part of a `Host` value: `name`, `name:port`, `[v6]` or
/// `[v6]:port`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(name, _)| &host[..=name.len()]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// An origin as browsers send it: lowercase, no trailing slash, no default
/// port (`:80` for http, `:443` for https).
fn normal(origin: &str) -> String {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if origin.starts_with(scheme) {
            if let Some(bare) = origin.strip_suffix(port) {
                return bare.to_string();
            }
        }
    }
    origin
}

impl HttpPolicy for WebPolicy {
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = normal(origin);
        if self
            .allowed_origins
            .iter()
            .any(|o| o == "*" || *o == origin)
        {
            return true;
        }
        // The page's own origin: its scheme + the Host it asked (with the
        // scheme's default port left out, as browsers do).
        let Some(host) = host else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        ["http://", "https://"]
            .iter()
            .any(|scheme| normal(&format!("{scheme}{host}")) == origin)
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let Some(host) = host else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        // An entry with a port matches exactly; one without matches the
        // name on any port.
        self.allowed_hosts
            .iter()
            .any(|allowed| *allowed == host || *allowed == host_name(&host))
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
        let listed = WebPolicy::new(vec!["https://chat.example/".into()], vec![]);
        assert!(listed.origin_allowed("https://chat.example", Some("10.0.0.1:11080")));
        assert!(!listed.origin_allowed("http://chat.example", Some("10.0.0.1:11080")));
        let any = WebPolicy::new(vec!["*".into()], vec![]);
        assert!(any.origin_allowed("http://anything", None));
        // Default ports: browsers leave them out of Origin.
        assert!(own.origin_allowed("http://chat.example", Some("chat.example:80")));
        assert!(own.origin_allowed("https://chat.example", Some("chat.example:443")));
        assert!(!own.origin_allowed("http://chat.example", Some("chat.example:443")));
        let port = WebPolicy::new(vec!["https://chat.example:443".into()], vec![]);
        assert!(port.origin_allowed("https://chat.example", Some("elsewhere")));
    }

    #[test]
    fn hosts_are_all_allowed_unless_listed() {
        let any = WebPolicy::default();
        assert!(any.host_allowed(Some("rebound.attacker.example")));
        assert!(any.host_allowed(None));
        let listed = WebPolicy::new(vec![], vec!["Chat.Example".into(), "[::1]:11080".into()]);
        assert!(listed.host_allowed(Some("chat.example")));
        assert!(
            listed.host_allowed(Some("CHAT.example:11080")),
            "a name without a port: any port"
        );
        assert!(listed.host_allowed(Some("[::1]:11080")));
        assert!(
            !listed.host_allowed(Some("[::1]:80")),
            "a name with a port: that port"
        );
        assert!(!listed.host_allowed(Some("rebound.attacker.example")));
        assert!(!listed.host_allowed(Some("127.0.0.1:11080")));
        assert!(!listed.host_allowed(None), "no Host at all");
        let v6 = WebPolicy::new(vec![], vec!["[::1]".into()]);
        assert!(v6.host_allowed(Some("[::1]:11080")));
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
