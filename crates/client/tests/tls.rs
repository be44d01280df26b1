//! The client over TLS against a tiny in-process TLS server (rustls, a
//! thread per connection) that answers `DEV_ECHO` like `ringport serve
//! --tls-listen`: a test CA made here with rcgen signs the server's
//! certificate for `localhost` and 127.0.0.1. Trusted, untrusted, wrong
//! name and insecure connects; configuration errors; the binary's `--ca`,
//! `--insecure` and `--server-name` in line mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use ringport_client::proto::{frame_len, ClientPacket, DevEcho, ServerPacket, MAX_FRAME_LIMIT};
use ringport_client::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ringport_client::rustls::{self, CertificateError, ServerConfig, ServerConnection};
use ringport_client::{client_config, server_name, Client, ClientError};

/// A test CA: its certificate and the issuer to sign with.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn make_ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// The server's configuration: a certificate for `localhost` and
/// 127.0.0.1 signed by `ca`.
fn server_config(ca: &Ca) -> Arc<ServerConfig> {
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// Starts a TLS server on 127.0.0.1:0 that answers every `DEV_ECHO` with
/// the same packet, on any number of connections (a thread each), and
/// closes a connection at the client's end of stream or on any error.
fn tls_server(config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let config = config.clone();
            thread::spawn(move || serve(config, sock));
        }
    });
    addr
}

fn serve(config: Arc<ServerConfig>, sock: TcpStream) {
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(len)) = frame_len(&buf, MAX_FRAME_LIMIT) {
            let frame: Vec<u8> = buf.drain(..len).collect();
            if let Ok(ClientPacket::DevEcho(_)) = ClientPacket::decode(&frame) {
                if tls.write_all(&frame).is_err() {
                    return;
                }
            }
        }
    }
}

/// A fresh directory for a test's files, removed when dropped.
fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Writes `ca`'s certificate to `dir/name`.
fn write_ca(dir: &Path, name: &str, ca: &Ca) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, &ca.pem).unwrap();
    path
}

fn echo(client: &mut Client, body: &[u8]) {
    client.echo(body).unwrap();
    assert_eq!(
        client.recv().unwrap(),
        ServerPacket::DevEcho(DevEcho { body })
    );
}

#[test]
fn a_ca_file_connects_and_echoes() {
    let ca = make_ca("ringport test CA");
    let addr = tls_server(server_config(&ca));
    let dir_guard = temp_dir();
    let dir = dir_guard.path();
    let config = client_config(Some(&write_ca(dir, "ca.pem", &ca)), false).unwrap();

    for name in ["localhost", "127.0.0.1"] {
        let mut client = Client::connect_tls(addr, server_name(name).unwrap(), config.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(client.is_tls());
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        echo(&mut client, b"hello");
        echo(&mut client, b"");
        // Several TLS records each way, and more than one read of the client.
        let big: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
        echo(&mut client, &big);
    }

    let mut client = Client::connect_tls_timeout(
        &addr,
        Duration::from_secs(10),
        server_name("localhost").unwrap(),
        config,
    )
    .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    echo(&mut client, b"with a timeout");
    // A read timeout under TLS is a timeout, and the connection goes on.
    client
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let err = client.recv().unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    echo(&mut client, b"after the timeout");
    // The end of the sending half (close_notify) closes the server's side.
    client.shutdown_write().unwrap();
    assert!(matches!(client.recv(), Err(ClientError::Closed)));
}

#[test]
fn a_clone_receives_while_the_other_sends_over_tls() {
    let ca = make_ca("ringport test CA");
    let addr = tls_server(server_config(&ca));
    let config = client_config(None, true).unwrap();
    let mut writer = Client::connect_tls(addr, server_name("localhost").unwrap(), config).unwrap();
    let mut reader = writer.try_clone().unwrap();
    assert!(reader.is_tls());
    let (tx, rx) = std::sync::mpsc::channel();
    let received = thread::spawn(move || loop {
        match reader.recv() {
            Ok(ServerPacket::DevEcho(echo)) => tx.send(echo.body.to_vec()).unwrap(),
            Ok(other) => panic!("{other:?}"),
            Err(e) => return e,
        }
    });
    // The reader is blocked on the socket while these go out.
    let bodies: Vec<Vec<u8>> = (0..200u32)
        .map(|i| vec![(i % 256) as u8; 500 + i as usize * 37])
        .collect();
    for body in &bodies {
        writer.echo(body).unwrap();
    }
    for body in &bodies {
        assert_eq!(&rx.recv_timeout(Duration::from_secs(10)).unwrap(), body);
    }
    writer.shutdown().unwrap();
    let error = received.join().unwrap();
    assert!(matches!(error, ClientError::Closed), "{error:?}");
}

#[test]
fn an_untrusted_certificate_fails_the_connect() {
    let ca = make_ca("ringport test CA");
    let other = make_ca("some other CA");
    let addr = tls_server(server_config(&ca));
    let dir_guard = temp_dir();
    let dir = dir_guard.path();
    let config = client_config(Some(&write_ca(dir, "other.pem", &other)), false).unwrap();
    let err = Client::connect_tls(addr, server_name("localhost").unwrap(), config).unwrap_err();
    let ClientError::Tls(tls) = &err else {
        panic!("expected a TLS error, got {err:?}");
    };
    assert!(err.to_string().contains("certificate not trusted"), "{err}");
    assert!(
        matches!(
            tls.rustls_error(),
            Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
        ),
        "{tls:?}"
    );
}

#[test]
fn a_certificate_for_another_name_fails_the_connect() {
    let ca = make_ca("ringport test CA");
    let addr = tls_server(server_config(&ca));
    let dir_guard = temp_dir();
    let dir = dir_guard.path();
    let config = client_config(Some(&write_ca(dir, "ca.pem", &ca)), false).unwrap();
    let err = Client::connect_tls(addr, server_name("chat.example").unwrap(), config).unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("certificate") && shown.contains("chat.example"),
        "{shown}"
    );
}

#[test]
fn insecure_accepts_any_certificate() {
    let ca = make_ca("nobody trusts this CA");
    let addr = tls_server(server_config(&ca));
    let config = client_config(None, true).unwrap();
    // Any name: nothing about the certificate is checked.
    let mut client =
        Client::connect_tls(addr, server_name("whatever.example").unwrap(), config).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    echo(&mut client, b"insecure but encrypted");
}

#[test]
fn a_listener_without_tls_fails_the_connect() {
    // Accepts, reads the ClientHello, closes: like a plain listener that
    // rejects a frame it cannot parse.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let _ = sock.read(&mut [0u8; 1024]);
        }
    });
    let config = client_config(None, true).unwrap();
    let err = Client::connect_tls(addr, server_name("localhost").unwrap(), config).unwrap_err();
    assert!(
        matches!(err, ClientError::Tls(_) | ClientError::Io(_)),
        "{err:?}"
    );

    // A server that never answers: the handshake is bounded too.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = client_config(None, true).unwrap();
    let started = Instant::now();
    let err = Client::connect_tls_timeout(
        &silent.local_addr().unwrap(),
        Duration::from_millis(300),
        server_name("localhost").unwrap(),
        config,
    )
    .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(silent);
}

#[test]
fn config_errors_name_the_file() {
    let dir_guard = temp_dir();
    let dir = dir_guard.path();
    let missing = dir.join("missing.pem");
    let err = client_config(Some(&missing), false).unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let empty = dir.join("no-certificate.pem");
    std::fs::write(&empty, "just some text\n").unwrap();
    let err = client_config(Some(&empty), false).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains(&empty.display().to_string()) && shown.contains("no certificate"),
        "{shown}"
    );

    // A key is not a certificate either.
    let key_only = dir.join("key.pem");
    std::fs::write(&key_only, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let err = client_config(Some(&key_only), false).unwrap_err();
    assert!(err.to_string().contains("no certificate"), "{err}");

    let err = server_name("not a name").unwrap_err();
    assert!(matches!(err, ClientError::Tls(_)), "{err:?}");
}

/// Runs `ringport-client --line` with `args`, the commands on standard
/// input.
fn run_client(args: &[&str], commands: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringport-client"))
        .args(args)
        .args(["--line", "--timeout", "10"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A client that fails at once (an untrusted certificate, a missing CA
    // file) may exit before it reads its input: a broken pipe here is not
    // the test's failure; its exit status and output are checked.
    let _ = child.stdin.take().unwrap().write_all(commands.as_bytes());
    child.wait_with_output().unwrap()
}

#[test]
fn the_binary_connects_with_tls() {
    let ca = make_ca("ringport test CA");
    let other = make_ca("some other CA");
    let addr = tls_server(server_config(&ca));
    let server = addr.to_string();
    let dir_guard = temp_dir();
    let dir = dir_guard.path();
    let ca_file = write_ca(dir, "ca.pem", &ca);
    let ca_file = ca_file.to_str().unwrap();
    let other_file = write_ca(dir, "other.pem", &other);
    let other_file = other_file.to_str().unwrap();
    let ok = format!("CONNECTED addr={addr}\nECHO ok len=5: hello\n");

    // --ca: the address's host (127.0.0.1) is the name checked.
    let out = run_client(&["--server", &server, "--ca", ca_file], "/echo hello\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout, ok);
    // --server-name picks another name, which the certificate also holds.
    let args = [
        "--server",
        &server,
        "--ca",
        ca_file,
        "--server-name",
        "localhost",
    ];
    let out = run_client(&args, "/echo hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), ok);
    let args = [
        "--server",
        &server,
        "--ca",
        ca_file,
        "--server-name",
        "chat.example",
    ];
    let out = run_client(&args, "/echo hello\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("chat.example"), "{stdout}");

    // A CA that did not sign the server's certificate: no connection.
    let out = run_client(&["--server", &server, "--ca", other_file], "/echo hello\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "CONNECT error addr={addr}: TLS: certificate not trusted"
        )),
        "{stdout}"
    );

    // --insecure connects, and says loudly what it means.
    let out = run_client(&["--server", &server, "--insecure"], "/echo hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), ok);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("WARNING: --insecure: the server's certificate is NOT checked"),
        "{stderr}"
    );

    // A CA file that is not there: a usage error naming it.
    let missing = dir.join("missing.pem");
    let out = run_client(
        &["--server", &server, "--ca", missing.to_str().unwrap()],
        "/echo hello\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.pem"), "{stderr}");
}
