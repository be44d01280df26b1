//! TLS on the listeners, end to end against the real `ringport serve`:
//! users on plain TCP, TLS and `wss://` chat in one room; `openssl
//! s_client` verifies the chain with TLS 1.3 and 1.2 and gets ALPN
//! `http/1.1` on the wss listener; plaintext and garbage on the TLS port
//! end only their own connection; a client that does not trust the CA is
//! refused and counted; SIGHUP swaps the certificate for new sessions (and
//! refuses a pair that does not match); a TLS member that reads nothing is
//! closed as a slow consumer by the same rule as a plain one; unusable
//! certificates are configuration errors (exit 78, naming the file); the
//! handshake counts against the login deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod chat_support;
mod common;
mod ws_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_support::{login_enter, next, serve, Got, SETUPS};
use common::Running;
use ringport_client::proto::{ClientPacket, LoginReq, RoomChatReq};
use ringport_client::{Client, ClientError};
use ringport_net::testing::{localhost, TestCa, TestCert};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use tempfile::TempDir;
use ws_support::WsClient;

/// How long any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

/// A CA and a server certificate it signed, written as PEM files.
struct Pki {
    dir: TempDir,
    ca: TestCa,
    ca_pem: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(cn: &str) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new("ringport test CA");
        let server = ca.server_cert(cn);
        let ca_pem = write(dir.path(), "ca.pem", &ca.cert_pem());
        let cert = write(dir.path(), "cert.pem", &server.cert_pem);
        let key = write(dir.path(), "key.pem", &server.key_pem);
        Pki {
            dir,
            ca,
            ca_pem,
            cert,
            key,
        }
    }

    /// `--tls-cert CERT --tls-key KEY`.
    fn cert_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }

    /// A TLS listener on a free port with this certificate.
    fn tls_args(&self) -> Vec<String> {
        let mut args = vec!["--tls-listen".to_string(), "127.0.0.1:0".to_string()];
        args.extend(self.cert_args());
        args
    }

    /// Writes `cert` over the certificate and key files.
    fn install(&self, cert: &TestCert) {
        std::fs::write(&self.cert, &cert.cert_pem).unwrap();
        std::fs::write(&self.key, &cert.key_pem).unwrap();
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// `chat_support::serve` (both backends' defaults, two I/O threads, an
/// admin listener) with a TLS listener and `extra` flags.
fn serve_tls(setup: &str, pki: &Pki, extra: &[&str]) -> Running {
    let tls = pki.tls_args();
    let mut args = strs(&tls);
    args.extend_from_slice(extra);
    serve(setup, &args)
}

/// A TLS client of `addr` trusting `ca`'s file, as a user configures it.
fn connect_tls(addr: SocketAddr, ca: &Path) -> Client {
    let config = ringport_client::client_config(Some(ca), false).unwrap();
    let c = Client::connect_tls(
        addr,
        ringport_client::server_name("localhost").unwrap(),
        config,
    )
    .unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c
}

/// Completes a handshake with rustls directly and returns the connection
/// (to read what was negotiated: the peer's certificate, ALPN).
fn handshake(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> StreamOwned<ClientConnection, TcpStream> {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    sock.set_write_timeout(Some(WAIT)).unwrap();
    sock.set_nodelay(true).unwrap();
    let conn = ClientConnection::new(config, localhost()).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

/// The certificate a new TLS session on `addr` is shown.
fn certificate_seen(addr: SocketAddr, ca: &TestCa) -> CertificateDer<'static> {
    let tls = handshake(addr, ca.client_config());
    tls.conn.peer_certificates().expect("a server certificate")[0]
        .clone()
        .into_owned()
}

/// Reads packets until a chat arrives, skipping arrivals and the sender's
/// own acknowledgement; returns (from, text).
fn next_chat(mut next: impl FnMut() -> Got, who: &str) -> (String, String) {
    loop {
        match next() {
            Got::Chat(from, text) => return (from, text),
            Got::NewUser(..) | Got::ChatRes(0) => {}
            other => panic!("{who}: expected a chat, got {other:?}"),
        }
    }
}

/// Opens `wss://localhost/ws` on `addr` offering ALPN `http/1.1`, as a
/// browser does; asserts the server chose it.
fn connect_wss(
    addr: SocketAddr,
    ca: &TestCa,
) -> WsClient<StreamOwned<ClientConnection, TcpStream>> {
    let mut config = (*ca.client_config()).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tls = handshake(addr, Arc::new(config));
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (ws, response) = tungstenite::client::client("wss://localhost/ws", tls)
        .unwrap_or_else(|e| panic!("upgrade refused: {e}"));
    assert_eq!(response.status(), 101);
    WsClient::over(ws)
}

/// Waits until a log line contains every one of `needles`; returns it.
fn wait_log(server: &Running, needles: &[&str]) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(line) = server
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| needles.iter().all(|n| l.contains(n)))
        {
            return line.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needles:?}: {:?}",
            server.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads until the server ends the connection; returns what it sent
/// (nothing, or a TLS alert). A read timeout fails the test: the server
/// kept the connection open.
fn read_until_closed(s: &mut TcpStream, what: &str) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("{what}: the server did not close the connection: {e}"),
        }
    }
}

const TLS_ALERT: u8 = 21;

#[test]
fn tcp_tls_and_wss_users_chat_in_one_room() {
    let pki = Pki::new("localhost");
    for setup in SETUPS {
        let extra = ["--ws-listen", "127.0.0.1:0", "--ws-tls", "true"];
        let server = serve_tls(setup, &pki, &extra);
        let tls_addr = server.tls.expect("the startup line names the TLS listener");
        let wss_addr = server.ws.expect("the startup line names the ws listener");
        assert_ne!(tls_addr, server.addr);

        let mut plain = chat_support::connect(&server);
        assert!(!plain.is_tls());
        assert_eq!(login_enter(&mut plain, "plain", 1), vec![], "{setup}");
        let mut tls = connect_tls(tls_addr, &pki.ca_pem);
        assert!(tls.is_tls());
        let members = login_enter(&mut tls, "secure", 1);
        assert_eq!(members.len(), 1, "{setup}: {members:?}");
        let mut wss = connect_wss(wss_addr, &pki.ca);
        let members = wss.login_enter("browser", 1);
        assert_eq!(members.len(), 2, "{setup}: {members:?}");

        // Each one's chat reaches the two others (and comes back to it).
        plain.chat("hello from tcp").unwrap();
        let want = ("plain".to_string(), "hello from tcp".to_string());
        assert_eq!(next_chat(|| next(&mut plain), "plain"), want);
        assert_eq!(next_chat(|| next(&mut tls), "secure"), want, "{setup}");
        assert_eq!(next_chat(|| wss.next(), "browser"), want, "{setup}");

        tls.chat("hello from tls").unwrap();
        let want = ("secure".to_string(), "hello from tls".to_string());
        assert_eq!(next_chat(|| next(&mut tls), "secure"), want);
        assert_eq!(next_chat(|| next(&mut plain), "plain"), want, "{setup}");
        assert_eq!(next_chat(|| wss.next(), "browser"), want, "{setup}");

        wss.chat("hello from wss ✓");
        let want = ("browser".to_string(), "hello from wss ✓".to_string());
        assert_eq!(next_chat(|| wss.next(), "browser"), want);
        assert_eq!(next_chat(|| next(&mut plain), "plain"), want, "{setup}");
        assert_eq!(next_chat(|| next(&mut tls), "secure"), want, "{setup}");

        common::scrape_until(
            server.admin.unwrap(),
            &[
                ("ringport_transport_sessions_open{transport=\"tcp\"}", 1.0),
                ("ringport_transport_sessions_open{transport=\"tls\"}", 1.0),
                ("ringport_transport_sessions_open{transport=\"wss\"}", 1.0),
                ("ringport_tls_handshakes_total", 2.0),
                ("ringport_tls_handshakes_in_progress", 0.0),
            ],
        );
        server.stop();
    }
}

/// Runs `openssl ARGS` with nothing on its input (it connects, shakes
/// hands, prints the session and quits); returns (success, stdout+stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, out) = wait_output(child);
    (status.success(), out)
}

/// Waits (at most [`WAIT`]) for `child` to exit; returns its status and its
/// stdout and stderr.
fn wait_output(mut child: std::process::Child) -> (ExitStatus, String) {
    let out = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    let pipes: Vec<Box<dyn Read + Send>> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    for mut pipe in pipes {
        let out = out.clone();
        readers.push(std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            out.lock().unwrap().push_str(&text);
        }));
    }
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {WAIT:?}: {}", out.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    for r in readers {
        r.join().unwrap();
    }
    let text = out.lock().unwrap().clone();
    (status, text)
}

#[test]
fn openssl_s_client_verifies_the_chain_with_tls_1_3_and_1_2_and_gets_alpn_on_wss() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("SKIPPED: `openssl` is not installed; this test needs `openssl s_client`");
        return;
    }
    let pki = Pki::new("localhost");
    let extra = ["--ws-listen", "127.0.0.1:0", "--ws-tls", "true"];
    let server = serve_tls("poll", &pki, &extra);
    let tls = server.tls.unwrap().port().to_string();
    let wss = server.ws.unwrap().port().to_string();
    let ca = pki.ca_pem.display().to_string();
    let connect = |port: &str| format!("127.0.0.1:{port}");
    let base = |port: &str| {
        vec![
            "s_client".to_string(),
            "-connect".to_string(),
            connect(port),
            "-CAfile".to_string(),
            ca.clone(),
            "-verify_return_error".to_string(),
        ]
    };

    let args = base(&tls);
    let (ok, out) = openssl(&strs(&args));
    assert!(ok, "TLS 1.3: {out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("New, TLSv1.3,"), "TLS 1.3 by default: {out}");

    let mut args = base(&tls);
    args.push("-tls1_2".into());
    let (ok, out) = openssl(&strs(&args));
    assert!(ok, "TLS 1.2: {out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("New, TLSv1.2,"), "TLS 1.2 when asked: {out}");

    let mut args = base(&wss);
    args.extend(["-alpn".to_string(), "http/1.1".to_string()]);
    let (ok, out) = openssl(&strs(&args));
    assert!(ok, "wss with ALPN: {out}");
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");

    // A protocol the wss listener does not speak: refused, counted.
    let mut args = base(&wss);
    args.extend(["-alpn".to_string(), "h2".to_string()]);
    let (ok, out) = openssl(&strs(&args));
    assert!(!ok, "ALPN h2 must be refused: {out}");

    common::scrape_until(
        server.admin.unwrap(),
        &[
            ("ringport_tls_handshakes_total", 3.0),
            (
                "ringport_tls_handshake_failures_total{reason=\"incompatible\"}",
                1.0,
            ),
            ("ringport_tls_handshakes_in_progress", 0.0),
        ],
    );
    server.stop();
}

/// Deterministic noise (xorshift), not starting like a TLS record.
fn garbage(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    let mut out: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    out[0] = 0xa5; // no TLS content type
    out
}

#[test]
fn plaintext_and_garbage_on_the_tls_port_end_only_their_connection() {
    let pki = Pki::new("localhost");
    for setup in SETUPS {
        let server = serve_tls(setup, &pki, &[]);
        let tls_addr = server.tls.unwrap();
        let mut alice = connect_tls(tls_addr, &pki.ca_pem);
        login_enter(&mut alice, "alice", 1);
        let mut bob = connect_tls(tls_addr, &pki.ca_pem);
        login_enter(&mut bob, "bob", 1);
        assert!(matches!(next(&mut alice), Got::NewUser(_, name) if name == "bob"));

        // A plain client on the wrong port: a valid login frame in clear.
        let mut login = Vec::new();
        ClientPacket::LoginReq(LoginReq::new("mallory", "pw").unwrap())
            .encode(&mut login)
            .unwrap();
        let mut s = TcpStream::connect(tls_addr).unwrap();
        s.write_all(&login).unwrap();
        let answer = read_until_closed(&mut s, "plaintext login");
        assert!(
            answer.is_empty() || answer[0] == TLS_ALERT,
            "{setup}: an alert or nothing, got {answer:?}"
        );
        // Garbage.
        let mut s = TcpStream::connect(tls_addr).unwrap();
        let _ = s.write_all(&garbage(4096)); // the server may close first
        let answer = read_until_closed(&mut s, "garbage");
        assert!(
            answer.is_empty() || answer[0] == TLS_ALERT,
            "{setup}: an alert or nothing, got {answer:?}"
        );

        // The established sessions chat on.
        alice.chat("still here").unwrap();
        let want = ("alice".to_string(), "still here".to_string());
        assert_eq!(next_chat(|| next(&mut alice), "alice"), want);
        assert_eq!(next_chat(|| next(&mut bob), "bob"), want, "{setup}");
        bob.chat("me too").unwrap();
        let want = ("bob".to_string(), "me too".to_string());
        assert_eq!(next_chat(|| next(&mut bob), "bob"), want);
        assert_eq!(next_chat(|| next(&mut alice), "alice"), want, "{setup}");

        common::scrape_until(
            server.admin.unwrap(),
            &[
                (
                    "ringport_tls_handshake_failures_total{reason=\"bad_message\"}",
                    2.0,
                ),
                ("ringport_session_closes_total{reason=\"tls_error\"}", 2.0),
                ("ringport_transport_sessions_open{transport=\"tls\"}", 2.0),
                ("ringport_tls_handshakes_in_progress", 0.0),
                ("ringport_logins_total{result=\"ok\"}", 2.0),
            ],
        );
        server.stop();
    }
}

#[test]
fn a_client_that_does_not_trust_the_certificate_is_refused_and_counted() {
    let pki = Pki::new("localhost");
    let server = serve_tls("poll", &pki, &[]);
    let tls_addr = server.tls.unwrap();
    let other = TestCa::new("some other CA");
    let other_pem = write(pki.dir.path(), "other-ca.pem", &other.cert_pem());
    let config = ringport_client::client_config(Some(&other_pem), false).unwrap();
    let name = ringport_client::server_name("localhost").unwrap();
    match Client::connect_tls(tls_addr, name, config) {
        Err(ClientError::Tls(e)) => {
            assert!(e.to_string().contains("UnknownIssuer"), "{e}");
            assert!(
                matches!(
                    e.rustls_error(),
                    Some(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::UnknownIssuer
                    ))
                ),
                "{e:?}"
            );
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a CA the client does not trust was accepted"),
    }
    // The right CA, the wrong name.
    let config = ringport_client::client_config(Some(&pki.ca_pem), false).unwrap();
    let name = ringport_client::server_name("chat.example.com").unwrap();
    match Client::connect_tls(tls_addr, name, config) {
        Err(ClientError::Tls(e)) => assert!(
            matches!(
                e.rustls_error(),
                Some(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                ))
            ),
            "{e:?}"
        ),
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a certificate for another name was accepted"),
    }
    common::scrape_until(
        server.admin.unwrap(),
        &[
            (
                "ringport_tls_handshake_failures_total{reason=\"alert\"}",
                2.0,
            ),
            ("ringport_session_closes_total{reason=\"tls_error\"}", 2.0),
            ("ringport_tls_handshakes_in_progress", 0.0),
        ],
    );
    // A client that trusts it gets in.
    let mut ok = connect_tls(tls_addr, &pki.ca_pem);
    chat_support::login(&mut ok, "trusting");
    server.stop();
}

#[test]
fn sighup_swaps_the_certificate_for_new_sessions_and_refuses_a_bad_pair() {
    let pki = Pki::new("unused");
    let a = pki.ca.server_cert("cert A");
    let b = pki.ca.server_cert("cert B");
    pki.install(&a);
    let server = serve_tls("poll", &pki, &[]);
    let admin = server.admin.unwrap();
    let tls_addr = server.tls.unwrap();
    assert_eq!(certificate_seen(tls_addr, &pki.ca), a.cert_der());
    let mut old = connect_tls(tls_addr, &pki.ca_pem);
    login_enter(&mut old, "old", 1);

    pki.install(&b);
    common::signal(&server.child, "HUP");
    wait_log(&server, &["SIGHUP: TLS certificate reloaded"]);
    common::scrape_until(
        admin,
        &[
            ("ringport_tls_reloads_total{result=\"ok\"}", 1.0),
            ("ringport_tls_reloads_total{result=\"refused\"}", 0.0),
        ],
    );
    assert_eq!(certificate_seen(tls_addr, &pki.ca), b.cert_der());
    // The session opened under A and one opened under B chat together.
    let mut new = connect_tls(tls_addr, &pki.ca_pem);
    login_enter(&mut new, "new", 1);
    old.chat("opened before the reload").unwrap();
    let want = ("old".to_string(), "opened before the reload".to_string());
    assert_eq!(next_chat(|| next(&mut old), "old"), want);
    assert_eq!(next_chat(|| next(&mut new), "new"), want);

    // A key that does not belong to the certificate: refused, B stays.
    let c = pki.ca.server_cert("cert C");
    std::fs::write(&pki.key, &c.key_pem).unwrap();
    common::signal(&server.child, "HUP");
    let line = wait_log(&server, &["SIGHUP: TLS certificate refused"]);
    assert!(line.contains("does not match"), "{line}");
    assert!(line.contains(&pki.key.display().to_string()), "{line}");
    common::scrape_until(
        admin,
        &[
            ("ringport_tls_reloads_total{result=\"ok\"}", 1.0),
            ("ringport_tls_reloads_total{result=\"refused\"}", 1.0),
        ],
    );
    assert_eq!(certificate_seen(tls_addr, &pki.ca), b.cert_der());
    let mut newer = connect_tls(tls_addr, &pki.ca_pem);
    login_enter(&mut newer, "newer", 1);
    new.chat("after the refused reload").unwrap();
    let want = ("new".to_string(), "after the refused reload".to_string());
    assert_eq!(next_chat(|| next(&mut new), "new"), want);
    assert_eq!(next_chat(|| next(&mut old), "old"), want);
    assert_eq!(next_chat(|| next(&mut newer), "newer"), want);
    server.stop();
}

#[test]
fn a_tls_member_that_reads_nothing_is_closed_like_a_plain_one() {
    let pki = Pki::new("localhost");
    for setup in SETUPS {
        // The same rule as for plain sessions, with smaller numbers so the
        // test is short: a send stall of 2 s instead of the default 10, and
        // a 64 KiB kernel send buffer so a non-reader's socket stops taking
        // bytes soon. No chat rate limit: the sender writes in bursts of 100
        // (paced below so that the non-readers' queues stay far under the
        // 32 MiB send_queue_limit for as long as the stall takes: the stall
        // rule is the one under test, and it closes them).
        let server = serve_tls(
            setup,
            &pki,
            &[
                "--chat-rate",
                "0",
                "--send-stall-timeout",
                "2",
                "--socket-send-buffer",
                "65536",
            ],
        );
        let tls_addr = server.tls.unwrap();
        let room = 2;
        // Two members that stop reading after entering: one plain, one TLS.
        let mut plain_sleeper = chat_support::connect(&server);
        login_enter(&mut plain_sleeper, "plainsleeper", room);
        let mut tls_sleeper = connect_tls(tls_addr, &pki.ca_pem);
        login_enter(&mut tls_sleeper, "tlssleeper", room);
        // A TLS member that writes and reads everything: it is never cut.
        let mut sender = connect_tls(tls_addr, &pki.ca_pem);
        let sleepers: Vec<i64> = login_enter(&mut sender, "sender", room)
            .into_iter()
            .map(|(uid, _)| uid)
            .collect();
        assert_eq!(sleepers.len(), 2);
        // Longer than the stall rule takes, shorter than the assertion's.
        sender
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();

        let flood = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let mut w = sender.try_clone().unwrap();
        let stop2 = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let mut i = 0u64;
            while !stop2.load(Ordering::Relaxed) && i < 600_000 {
                for _ in 0..100 {
                    RoomChatReq::new(&format!("flood {i} {}", "x".repeat(200)))
                        .unwrap()
                        .encode(&mut buf);
                    i += 1;
                }
                w.send_raw(&buf).unwrap();
                buf.clear();
                // At most ~3 MB/s of notifications to each member.
                std::thread::sleep(Duration::from_millis(10));
            }
            // The last one: the reader stops at it.
            w.chat("end").unwrap();
        });
        let mut left = Vec::new();
        let mut chats = 0u64;
        loop {
            match next(&mut sender) {
                Got::LeaveUser(uid) => {
                    assert!(sleepers.contains(&uid), "{setup}: {uid} left");
                    left.push(uid);
                    if left.len() == 2 {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Got::Chat(from, text) if from == "sender" && text == "end" => break,
                Got::Chat(..) => chats += 1,
                Got::ChatRes(0) => {}
                other => panic!("{setup}: {other:?}"),
            }
        }
        writer.join().unwrap();
        assert_eq!(left.len(), 2, "{setup}: both non-readers were closed");
        eprintln!(
            "{setup}: {chats} chats delivered to the reader in {:?}, both non-readers closed",
            flood.elapsed()
        );
        common::scrape_until(
            server.admin.unwrap(),
            &[
                (
                    "ringport_session_closes_total{reason=\"slow_consumer\"}",
                    2.0,
                ),
                ("ringport_send_stalls_total", 2.0),
                ("ringport_session_closes_total{reason=\"tls_error\"}", 0.0),
                ("ringport_transport_sessions_open{transport=\"tls\"}", 1.0),
                ("ringport_transport_sessions_open{transport=\"tcp\"}", 0.0),
            ],
        );
        // The reader is still in: its chat comes back.
        sender.chat("still here").unwrap();
        assert_eq!(
            next_chat(|| next(&mut sender), "sender"),
            ("sender".to_string(), "still here".to_string())
        );
        drop((plain_sleeper, tls_sleeper));
        server.stop();
    }
}

/// Runs `ringport serve ARGS` (in-memory accounts, no admin listener) to
/// its exit; returns the status and what it wrote to stderr.
fn serve_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_ringport"))
        .args(["serve", "--accounts", "memory", "--admin-listen", "none"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child)
}

#[test]
fn unusable_certificates_are_configuration_errors_naming_the_file() {
    let pki = Pki::new("localhost");
    let dir = pki.dir.path();
    let other = pki.ca.server_cert("other");
    let other_key = write(dir, "other.key", &other.key_pem);
    let expired = pki.ca.expired_server_cert();
    let expired_cert = write(dir, "expired.pem", &expired.cert_pem);
    let expired_key = write(dir, "expired.key", &expired.key_pem);
    let missing = dir.join("missing.pem");
    let shown = |p: &Path| p.display().to_string();
    let (cert, key) = (shown(&pki.cert), shown(&pki.key));
    let cases: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        (
            "a missing certificate file",
            vec![shown(&missing), key.clone()],
            vec![shown(&missing), "cannot read".into()],
        ),
        (
            "a key that does not match",
            vec![cert.clone(), shown(&other_key)],
            vec![shown(&other_key), "does not match".into()],
        ),
        (
            "an expired certificate",
            vec![shown(&expired_cert), shown(&expired_key)],
            vec![shown(&expired_cert), "expired".into()],
        ),
    ];
    for (what, files, wanted) in &cases {
        for listener in [
            &["--tls-listen", "127.0.0.1:0"][..],
            &["--ws-listen", "127.0.0.1:0", "--ws-tls", "true"][..],
        ] {
            let mut args = vec!["--listen", "127.0.0.1:0"];
            args.extend_from_slice(listener);
            args.extend(["--tls-cert", &files[0], "--tls-key", &files[1]]);
            let (status, stderr) = serve_to_exit(&args);
            assert_eq!(status.code(), Some(78), "{what} ({listener:?}): {stderr}");
            for w in wanted {
                assert!(stderr.contains(w.as_str()), "{what}: {w:?} in {stderr}");
            }
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        }
    }
    // A TLS listener without a certificate.
    for listener in [
        &["--tls-listen", "127.0.0.1:0"][..],
        &["--ws-listen", "127.0.0.1:0", "--ws-tls", "true"][..],
    ] {
        let mut args = vec!["--listen", "127.0.0.1:0"];
        args.extend_from_slice(listener);
        let (status, stderr) = serve_to_exit(&args);
        assert_eq!(status.code(), Some(78), "{listener:?}: {stderr}");
        assert!(stderr.contains("tls.cert"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_tls_listener_alone_serves_with_listen_none() {
    let pki = Pki::new("localhost");
    let tls = pki.tls_args();
    let mut args = vec![
        "serve",
        "--accounts",
        "memory",
        "--admin-listen",
        "127.0.0.1:0",
        "--listen",
        "none",
    ];
    args.extend(strs(&tls));
    let server = common::start_exact(&args);
    assert_eq!(Some(server.addr), server.tls, "the startup line's address");
    wait_log(&server, &["listening on", "listen=none"]);
    let mut c = connect_tls(server.addr, &pki.ca_pem);
    login_enter(&mut c, "only-tls", 1);
    common::scrape_until(
        server.admin.unwrap(),
        &[
            ("ringport_transport_sessions_open{transport=\"tls\"}", 1.0),
            (
                "ringport_transport_sessions_accepted_total{transport=\"tcp\"}",
                0.0,
            ),
        ],
    );
    server.stop();
}

#[test]
fn a_handshake_that_never_starts_ends_at_the_login_deadline() {
    let pki = Pki::new("localhost");
    for setup in SETUPS {
        // One second instead of the default ten keeps the test short.
        let server = serve_tls(setup, &pki, &["--login-timeout", "1"]);
        let start = Instant::now();
        let mut silent = TcpStream::connect(server.tls.unwrap()).unwrap();
        // Not the 20 s of other waits: the default deadline (10 s) must not
        // pass for this one.
        silent
            .set_read_timeout(Some(Duration::from_secs(8)))
            .unwrap();
        let mut rest = Vec::new();
        match silent.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{setup}: not closed at the login deadline: {e}"),
        }
        assert!(rest.is_empty(), "{setup}: {rest:?}");
        eprintln!("{setup}: closed after {:?}", start.elapsed());
        common::scrape_until(
            server.admin.unwrap(),
            &[
                (
                    "ringport_tls_handshake_failures_total{reason=\"closed\"}",
                    1.0,
                ),
                ("ringport_tls_handshakes_in_progress", 0.0),
                ("ringport_transport_sessions_open{transport=\"tls\"}", 0.0),
            ],
        );
        server.stop();
    }
}
