//! A tiny HTTP/1.1 file server on loopback for browser tests: serves the
//! files of one directory (no subdirectories), plus routes held in memory.
//! Every response closes its connection. `/` is `/index.html`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running file server; stopped when dropped.
pub struct StaticFiles {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Extra in-memory routes: path → (content type, body).
pub type Routes = HashMap<String, (&'static str, Vec<u8>)>;

impl StaticFiles {
    /// Serves `dir` on 127.0.0.1 (a free port).
    pub fn serve(dir: &Path) -> StaticFiles {
        StaticFiles::serve_with(dir, Routes::new())
    }

    /// Serves `dir` and `routes` (which win over files of the same path).
    pub fn serve_with(dir: &Path, routes: Routes) -> StaticFiles {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the file server");
        let addr = listener.local_addr().expect("file server address");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let dir = dir.to_path_buf();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::Acquire) {
                    break;
                }
                if let Ok(stream) = stream {
                    // One request per connection; errors only end that one.
                    let _ = handle(stream, &dir, &routes);
                }
            }
        });
        StaticFiles {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for StaticFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The content type for a file name.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn handle(stream: TcpStream, dir: &Path, routes: &Routes) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    let found = match routes.get(path) {
        Some((ty, body)) => Some((*ty, body.clone())),
        None => file(dir, path).map(|(file, body)| (content_type(&file), body)),
    };
    let mut stream = stream;
    match (method, found) {
        ("GET" | "HEAD", Some((ty, body))) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {ty}\r\nContent-Length: {}\r\n\
                 Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            if method == "GET" {
                stream.write_all(&body)?;
            }
        }
        _ => {
            let body = b"not found\n";
            write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(body)?;
        }
    }
    stream.flush()
}

/// A file directly in `dir`; no subdirectories, no `..`.
fn file(dir: &Path, path: &str) -> Option<(String, Vec<u8>)> {
    let name = path.strip_prefix('/')?;
    if name.is_empty() || name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return None;
    }
    let full: PathBuf = dir.join(name);
    std::fs::read(&full)
        .ok()
        .map(|body| (name.to_string(), body))
}
