//! TLS listeners on both backends, against real rustls clients on loopback:
//! frames both ways beside a plain listener, large and pipelined traffic,
//! garbage and untrusted clients closing only their own session (counted
//! by reason), the bound on handshakes in progress, and `close_notify`
//! after a server close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{bind_listener, frame, Header5, Mode, Server, BACKENDS};
use ringport_net::rustls::{ClientConfig, ClientConnection, StreamOwned};
use ringport_net::testing::{localhost, TestCa, TestCert};
use ringport_net::{
    BackendChoice, CloseReason, EngineConfig, Listener, ListenerKind, TlsFailure, Transport,
};

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

struct Pki {
    ca: TestCa,
    cert: TestCert,
}

fn pki() -> Pki {
    let ca = TestCa::new("ringport test CA");
    let cert = ca.server_cert("ringport test server");
    Pki { ca, cert }
}

/// A server with a plain listener (`addrs[0]`) and a TLS one (`addrs[1]`).
fn start(backend: BackendChoice, pki: &Pki, cfg: EngineConfig, mode: Mode) -> Server {
    let plain = Listener::new(bind_listener(), Transport::Tcp);
    let tls = Listener::new(bind_listener(), Transport::Tcp).with_tls(pki.cert.server_config(&[]));
    let cfg = EngineConfig {
        io_threads: 2,
        idle_timeout: Some(Duration::from_secs(30)),
        ..cfg
    };
    Server::start_on(
        backend,
        cfg,
        vec![plain, tls],
        Header5 { max: 65_535 },
        mode,
    )
}

fn connect_tls(addr: SocketAddr, config: Arc<ClientConfig>) -> std::io::Result<TlsStream> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let conn = ClientConnection::new(config, localhost()).map_err(std::io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

fn read_exact(s: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

#[test]
fn frames_both_ways_beside_a_plain_listener() {
    let pki = pki();
    for backend in BACKENDS {
        let server = start(backend, &pki, EngineConfig::default(), Mode::Scripted);
        let mut tls = connect_tls(server.addrs[1], pki.ca.client_config()).unwrap();
        // 2,000 frames of varied sizes in one write: every one echoed, in
        // order, though they arrive in records cut anywhere.
        let frames: Vec<Vec<u8>> = (0..2000u32)
            .map(|i| frame(1, &vec![(i % 251) as u8; (i as usize * 37) % 900]))
            .collect();
        let all = frames.concat();
        tls.write_all(&all).unwrap();
        assert_eq!(read_exact(&mut tls, all.len()), all, "{backend:?}");
        // Bursts much larger than a record: 8 × 64 KiB shared payloads.
        tls.write_all(&frame(3, &[8])).unwrap();
        let burst = read_exact(&mut tls, 8 * 64 * 1024);
        assert!(burst.iter().all(|&b| b == 7), "{backend:?}");
        // The plain listener beside it works as ever.
        let mut plain = common::connect(server.addrs[0]);
        common::echo_ok(&mut plain, &frame(1, b"plain"), "plain echo");
        let stats = server.wait_stats("both sessions counted", |s| {
            s.open_on(ListenerKind::Tls) == 1 && s.open_on(ListenerKind::Tcp) == 1
        });
        assert_eq!(stats.tls_handshakes, 1);
        assert_eq!(stats.accepted_on(ListenerKind::Tls), 1);
        assert_eq!(stats.tls_handshakes_in_progress, 0);
        drop(tls);
        drop(plain);
        server.wait_stats("sessions gone", |s| s.sessions_open == 0);
        server.stop();
    }
}

#[test]
fn garbage_and_plaintext_close_only_their_own_session() {
    let pki = pki();
    for backend in BACKENDS {
        let server = start(backend, &pki, EngineConfig::default(), Mode::Echo);
        let mut good = connect_tls(server.addrs[1], pki.ca.client_config()).unwrap();
        for bad in [
            frame(1, b"plaintext frame"),
            vec![0x16, 3, 3, 0xff, 0xff, 1, 2],
        ] {
            let mut raw = common::connect(server.addrs[1]);
            raw.write_all(&bad).unwrap();
            // An alert record (type 21), then the end of the connection.
            let mut got = Vec::new();
            let _ = raw.read_to_end(&mut got);
            assert_eq!(got.first(), Some(&21), "{backend:?}: {got:?}");
        }
        let stats = server.wait_stats("two failures", |s| {
            s.tls_failures.iter().sum::<u64>() == 2 && s.closes_by(CloseReason::TlsError) == 2
        });
        assert!(
            stats.tls_failures_by(TlsFailure::BadMessage) >= 1,
            "{stats:?}"
        );
        // The good session did not notice.
        good.write_all(&frame(1, b"still here")).unwrap();
        assert_eq!(read_exact(&mut good, 15), frame(1, b"still here"));
        assert_eq!(server.stats().tls_handshakes_in_progress, 0);
        server.stop();
    }
}

#[test]
fn a_client_that_does_not_trust_the_certificate_fails_and_is_counted() {
    let pki = pki();
    let stranger = TestCa::new("another CA");
    for backend in BACKENDS {
        let server = start(backend, &pki, EngineConfig::default(), Mode::Echo);
        let err = connect_tls(server.addrs[1], stranger.client_config()).unwrap_err();
        assert!(
            err.to_string().contains("UnknownIssuer"),
            "{backend:?}: {err}"
        );
        let stats = server.wait_stats("the alert counted", |s| {
            s.tls_failures_by(TlsFailure::Alert) == 1
        });
        assert_eq!(stats.tls_handshakes, 0);
        server.wait_stats("session gone", |s| s.sessions_open == 0);
        server.stop();
    }
}

#[test]
fn handshakes_in_progress_are_bounded() {
    let pki = pki();
    for backend in BACKENDS {
        let cfg = EngineConfig {
            max_tls_handshakes: 2,
            ..EngineConfig::default()
        };
        let server = start(backend, &pki, cfg, Mode::Echo);
        // Two connections that never say hello hold both places.
        let silent: Vec<TcpStream> = (0..2).map(|_| common::connect(server.addrs[1])).collect();
        server.wait_stats("two handshakes", |s| s.tls_handshakes_in_progress == 2);
        // The third is closed at once.
        let mut third = common::connect(server.addrs[1]);
        third
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut buf = [0u8; 16];
        match third.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("{backend:?}: the third connection was served: {other:?}"),
        }
        let stats = server.wait_stats("busy counted", |s| s.tls_failures_by(TlsFailure::Busy) == 1);
        assert_eq!(stats.refused, 1);
        // Plain clients are not limited by it.
        let mut plain = common::connect(server.addrs[0]);
        common::echo_ok(&mut plain, &frame(1, b"x"), "plain echo");
        // Once the silent ones leave, their places come back.
        drop(silent);
        server.wait_stats("places back", |s| {
            s.tls_handshakes_in_progress == 0 && s.tls_failures_by(TlsFailure::Closed) == 2
        });
        let mut tls = connect_tls(server.addrs[1], pki.ca.client_config()).unwrap();
        tls.write_all(&frame(1, b"ok")).unwrap();
        assert_eq!(read_exact(&mut tls, 7), frame(1, b"ok"));
        server.stop();
    }
}

#[test]
fn a_server_close_sends_what_is_queued_then_close_notify() {
    let pki = pki();
    for backend in BACKENDS {
        let server = start(backend, &pki, EngineConfig::default(), Mode::Scripted);
        let mut tls = connect_tls(server.addrs[1], pki.ca.client_config()).unwrap();
        // Id 2: echoed, then the application closes the session.
        tls.write_all(&frame(2, b"last words")).unwrap();
        let mut got = Vec::new();
        // A clean end: close_notify, not a truncation (which rustls reports
        // as UnexpectedEof).
        tls.read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert_eq!(got, frame(2, b"last words"), "{backend:?}");
        server.wait_stats("closed", |s| s.closes_by(CloseReason::ServerClose) == 1);
        server.stop();
    }
}
