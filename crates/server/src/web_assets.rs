//! The web chat client (`crates/server/web`), embedded in the binary for the
//! WebSocket listener to serve: `GET /` (and `/index.html`), `/app.js`,
//! `/proto.js`, `/style.css`. The page then opens a WebSocket at `/ws` on the
//! same origin (see `crates/server/web/README.md`).
//!
//! The files change with the binary, so a server may send them with
//! `Cache-Control: no-cache`.

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/index.html"),
    },
    Asset {
        path: "/app.js",
        // Module scripts need a JavaScript MIME type.
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/app.js"),
    },
    Asset {
        path: "/proto.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/proto.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../web/style.css"),
    },
];

/// The content type and bytes served for the request path `path` (a query
/// string or fragment is ignored; `/` is `/index.html`), or `None` for a path
/// that is not one of the client's files (answer 404).
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(|a| (a.content_type, a.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str) -> &'static str {
        let (_, body) = asset(path).expect("embedded");
        std::str::from_utf8(body).expect("UTF-8 text")
    }

    #[test]
    fn every_file_is_served_with_its_type() {
        for (path, ty) in [
            ("/", "text/html; charset=utf-8"),
            ("/index.html", "text/html; charset=utf-8"),
            ("/app.js", "text/javascript; charset=utf-8"),
            ("/proto.js", "text/javascript; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
        ] {
            let (content_type, body) = asset(path).expect(path);
            assert_eq!(content_type, ty, "{path}");
            assert!(!body.is_empty(), "{path}");
        }
        assert_eq!(asset("/"), asset("/index.html"));
        assert_eq!(asset("/?room=3"), asset("/index.html"));
        assert_eq!(asset("/app.js?v=1"), asset("/app.js"));
    }

    #[test]
    fn other_paths_are_not_found() {
        for path in [
            "",
            "/ws",
            "/README.md",
            "/index.htm",
            "/APP.JS",
            "/../Cargo.toml",
            "/web/app.js",
            "app.js",
            "//app.js",
        ] {
            assert_eq!(asset(path), None, "{path}");
        }
    }

    #[test]
    fn the_page_loads_only_embedded_files() {
        let index = text("/");
        for needle in [
            r#"<script type="module" src="/app.js"></script>"#,
            r#"<link rel="stylesheet" href="/style.css">"#,
        ] {
            assert!(index.contains(needle), "index.html has {needle}");
        }
        assert!(text("/app.js").contains(r#"import * as proto from "/proto.js";"#));
        // Works offline: nothing is loaded from another origin.
        for a in ASSETS {
            let body = std::str::from_utf8(a.body).expect("UTF-8 text");
            assert!(!body.contains("://"), "{} names another origin", a.path);
            assert!(!body.contains("@import"), "{} imports a stylesheet", a.path);
        }
    }

    #[test]
    fn the_page_has_the_automation_ids() {
        let index = text("/");
        for id in [
            "user",
            "password",
            "login",
            "room",
            "enter",
            "leave",
            "message",
            "send",
            "status",
            "log",
            "members",
            "conn-state",
            "reconnect",
        ] {
            assert!(index.contains(&format!(r#"id="{id}""#)), "#{id}");
        }
    }
}
