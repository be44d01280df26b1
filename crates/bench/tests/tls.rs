//! End-to-end `--tls`: the loads through a TLS-terminating proxy (rustls,
//! in this process, a certificate from rcgen) in front of the `tokio-chat`
//! baseline, or of a real `ringport serve` (the debug build, when it
//! exists): every byte the server sees went through the generator's TLS
//! layer and back. The server's own TLS listener is not needed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::{address_after, json_number, run, Server};
use rcgen::{CertificateParams, CertifiedKey, DnType, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// A self-signed certificate for `localhost` and 127.0.0.1 with common
/// name `cn`, written as PEM to a file of its own; returns the file and
/// the server's configuration.
fn certificate(cn: &str) -> (tempfile::TempPath, CertifiedKey<KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = CertifiedKey {
        cert: params.self_signed(&key).unwrap(),
        signing_key: key,
    };
    // Removed when the returned path is dropped.
    let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::write(&path, cert.cert.pem()).unwrap();
    (path, cert)
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    http: bool,
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    if http {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Arc::new(config)
}

fn config_of(cert: &CertifiedKey<KeyPair>, http: bool) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    server_config(vec![cert.cert.der().clone()], key, http)
}

/// A TLS-terminating proxy to `backend` on a free loopback port: each
/// connection is a rustls server connection whose plaintext goes to a new
/// connection to `backend` and back (two threads per connection).
fn tls_proxy(backend: SocketAddr, config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || relay(client, backend, config));
        }
    });
    addr
}

fn relay(client: TcpStream, backend: SocketAddr, config: Arc<ServerConfig>) {
    let Ok(mut upstream) = TcpStream::connect(backend) else {
        return;
    };
    client.set_nodelay(true).unwrap();
    upstream.set_nodelay(true).unwrap();
    let tls = Arc::new(Mutex::new(ServerConnection::new(config).unwrap()));
    // Server → client: plaintext in, records out.
    {
        let tls = Arc::clone(&tls);
        let mut from = upstream.try_clone().unwrap();
        let mut to = client.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = from.read(&mut buf).unwrap_or(0);
                let mut tls = tls.lock().unwrap();
                if n == 0 {
                    tls.send_close_notify();
                } else {
                    tls.writer().write_all(&buf[..n]).unwrap();
                }
                while tls.wants_write() {
                    if tls.write_tls(&mut to).is_err() {
                        break;
                    }
                }
                if n == 0 {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
        });
    }
    // Client → server: records in, plaintext out (and the handshake's
    // answers back).
    let mut from = client.try_clone().unwrap();
    let mut to = client;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).unwrap_or(0);
        if n == 0 {
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
        let mut plain = Vec::new();
        let mut failed = false;
        {
            let mut tls = tls.lock().unwrap();
            let mut cipher = &buf[..n];
            while !cipher.is_empty() && !failed {
                if tls.read_tls(&mut cipher).unwrap_or(0) == 0 {
                    break;
                }
                failed = tls.process_new_packets().is_err();
                let _ = tls.reader().read_to_end(&mut plain);
            }
            while tls.wants_write() {
                if tls.write_tls(&mut to).is_err() {
                    break;
                }
            }
        }
        if failed || upstream.write_all(&plain).is_err() {
            let _ = to.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = run(args);
    assert!(success, "{args:?} failed: stdout {stdout}, stderr {stderr}");
    stdout
}

/// The string value of `key` in a flat JSON object.
fn json_str(json: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":\"");
    let start = json
        .find(&pattern)
        .unwrap_or_else(|| panic!("no string {key} in {json}"))
        + pattern.len();
    json[start..].split('"').next().unwrap().to_string()
}

/// A short `chat` run is clean: 2 rooms x 3 members at 60 msg/s for 1 s.
fn assert_clean_chat(json: &str) {
    assert_eq!(json_number(json, "connections"), 6.0, "{json}");
    let expected = json_number(json, "expected");
    assert!((170.0..=190.0).contains(&expected), "{json}");
    assert_eq!(json_number(json, "delivered"), expected, "{json}");
    for key in [
        "missing",
        "gaps",
        "duplicates",
        "corrupt",
        "errors",
        "unsent",
    ] {
        assert_eq!(json_number(json, key), 0.0, "{key}: {json}");
    }
    assert!(json_number(json, "p99_us") > 0.0, "{json}");
}

fn chat_args<'a>(target: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["chat", "--target", target, "--json"];
    args.extend(["--rooms", "2", "--members", "3", "--rate", "60"]);
    args.extend(["--duration", "1", "--warmup", "0.3", "--drain", "2"]);
    args.extend(extra);
    args
}

#[test]
fn chat_over_tls_is_clean_and_says_so() {
    let server = Server::tokio_chat(2, 3);
    let (ca, cert) = certificate("ringport-bench test CA");
    let proxy = tls_proxy(server.addr, config_of(&cert, false)).to_string();
    let ca = ca.to_str().unwrap();
    let json = ok(&chat_args(&proxy, &["--tls", "--tls-ca", ca]));
    assert_clean_chat(&json);
    assert!(
        json.contains("\"transport\":\"tcp\",\"tls\":true,"),
        "{json}"
    );
    assert!(json.contains("\"tls_insecure\":false"), "{json}");
    assert_eq!(json_str(&json, "tls_version"), "TLSv1_3", "{json}");
    assert!(
        json_str(&json, "tls_cipher").starts_with("TLS13_"),
        "{json}"
    );
    // The certificate names 127.0.0.1 too.
    let json = ok(&chat_args(
        &proxy,
        &["--tls", "--tls-ca", ca, "--tls-server-name", "127.0.0.1"],
    ));
    assert_clean_chat(&json);
    // The human summary names TLS and the check.
    let (success, stdout, stderr) = run(&chat_args(&proxy, &["--tls", "--tls-insecure"])
        .into_iter()
        .filter(|a| *a != "--json")
        .collect::<Vec<_>>());
    assert!(success, "{stdout} {stderr}");
    assert!(stdout.contains("chat ringport (tcp+tls)"), "{stdout}");
    assert!(
        stdout.contains("server certificate NOT checked (--tls-insecure"),
        "{stdout}"
    );
    // Without --tls the same report says false.
    let json = ok(&chat_args(&server.addr.to_string(), &[]));
    assert_clean_chat(&json);
    assert!(json.contains("\"tls\":false,\"tls_insecure\":false,\"tls_version\":null"));
}

#[test]
fn an_untrusted_server_certificate_fails_the_setup_clearly() {
    let server = Server::tokio_chat(2, 3);
    let (_, cert) = certificate("the server's CA");
    let (other_ca, _) = certificate("another CA");
    let proxy = tls_proxy(server.addr, config_of(&cert, false)).to_string();
    let other_ca = other_ca.to_str().unwrap();
    let (success, stdout, stderr) = run(&chat_args(&proxy, &["--tls", "--tls-ca", other_ca]));
    assert!(!success, "{stdout}");
    assert!(
        stderr.contains(
            "member 0: TLS handshake with localhost: invalid peer certificate: UnknownIssuer"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("is --tls-ca the CA"), "{stderr}");
    // A login storm counts every attempt as a failed handshake, and says why.
    let json = ok(&[
        "login-storm",
        "--target",
        &proxy,
        "--rate",
        "20",
        "--duration",
        "0.5",
        "--tls",
        "--tls-ca",
        other_ca,
        "--json",
    ]);
    assert_eq!(json_number(&json, "attempts"), 10.0, "{json}");
    assert!(
        json.contains("\"failures\":{\"TLS handshake failed\":10}"),
        "{json}"
    );
    assert!(
        json_str(&json, "first_error").contains("UnknownIssuer"),
        "{json}"
    );
    assert!(json.ends_with("\"pass\":false}\n"), "{json}");
}

#[test]
fn tls_at_a_plaintext_listener_is_named() {
    let server = Server::tokio_chat(1, 4);
    let json = ok(&[
        "login-storm",
        "--target",
        &server.addr.to_string(),
        "--rate",
        "10",
        "--duration",
        "0.3",
        "--timeout",
        "1",
        "--tls",
        "--tls-insecure",
        "--json",
    ]);
    assert!(
        json.contains("\"failures\":{\"TLS handshake timeout\":3}"),
        "{json}"
    );
    assert!(
        json_str(&json, "first_error").contains("--tls-listen"),
        "{json}"
    );
    assert!(json.contains("\"tls_insecure\":true"), "{json}");
}

#[test]
fn login_storm_over_tls_with_a_busy_room() {
    let server = Server::tokio_chat(1, 4);
    let (ca, cert) = certificate("ringport-bench test CA");
    let proxy = tls_proxy(server.addr, config_of(&cert, false)).to_string();
    let json = ok(&[
        "login-storm",
        "--target",
        &proxy,
        "--rate",
        "40",
        "--duration",
        "1",
        "--chat-room-members",
        "4",
        "--chat-rate",
        "40",
        "--tls",
        "--tls-ca",
        ca.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json_number(&json, "attempts"), 40.0, "{json}");
    assert_eq!(json_number(&json, "logins_ok"), 40.0, "{json}");
    assert!(json.contains("\"tls\":true"), "{json}");
    assert_eq!(json_str(&json, "tls_version"), "TLSv1_3", "{json}");
    // Every login's handshake was timed, and came before its answer.
    let handshake = json_number(&json, "handshake_p50_us");
    assert!(handshake > 0.0, "{json}");
    assert!(json_number(&json, "answer_p50_us") >= handshake, "{json}");
    assert!(json.ends_with("\"pass\":true}\n"), "{json}");
    // The busy room ran over TLS too, every delivery in.
    let chat = &json[json.find("\"chat\":{").unwrap()..];
    assert!(chat.contains("\"tls\":true"), "{chat}");
    assert_eq!(json_number(chat, "missing"), 0.0, "{chat}");
    assert!(json_number(chat, "delivered") > 0.0, "{chat}");
}

/// A `ringport serve` (the debug build) with a WebSocket listener, and
/// the addresses of both listeners; `None`, after a loud note, when the
/// binary is not built (and CI is unset).
fn ringport(test: &str) -> Option<(Server, SocketAddr)> {
    let extra = [
        "--ws-listen",
        "127.0.0.1:0",
        "--rooms",
        "2",
        "--room-max-users",
        "3",
    ];
    let (server, line) =
        Server::ringport_line(test, &[&extra[..], &["--chat-rate", "0"]].concat())?;
    let ws = address_after(&line, "ws=").expect("the WebSocket listener's address");
    Some((server, ws))
}

#[test]
fn connect_storm_and_wss_against_ringport() {
    let Some((server, ws)) = ringport("connect_storm_and_wss_against_ringport") else {
        return;
    };
    let (ca, cert) = certificate("ringport-bench test CA");
    let ca = ca.to_str().unwrap();
    let proxy = tls_proxy(server.addr, config_of(&cert, false)).to_string();
    let json = ok(&[
        "connect-storm",
        "--target",
        &proxy,
        "--start-rate",
        "40",
        "--max-rate",
        "40",
        "--step-secs",
        "0.5",
        "--close",
        "--tls",
        "--tls-ca",
        ca,
        "--json",
    ]);
    assert_eq!(json_number(&json, "answered"), 20.0, "{json}");
    assert_eq!(json_number(&json, "failed"), 0.0, "{json}");
    assert!(json_number(&json, "handshake_p99_us") > 0.0, "{json}");
    // wss: the WebSocket listener behind TLS with ALPN http/1.1.
    let wss = tls_proxy(ws, config_of(&cert, true)).to_string();
    let json = ok(&chat_args(
        &wss,
        &["--transport", "ws", "--tls", "--tls-ca", ca],
    ));
    assert_clean_chat(&json);
    assert!(json.contains("\"transport\":\"ws\",\"tls\":true"), "{json}");
}

/// The certificate `bench/lib.sh` makes (openssl, with `CA:FALSE`: see
/// `load::tls`'s tests for why) is accepted by the generator, trusting it
/// as its own CA; skipped loudly without openssl.
#[test]
fn the_bench_scripts_certificate_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("bash")
        .arg("-c")
        .arg(". bench/lib.sh && make_tls_cert \"$0\" \"$1\"")
        .arg(&cert)
        .arg(&key)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output();
    match made {
        Ok(out) if out.status.success() => {}
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("openssl not found") => {
            eprintln!("\n*** SKIPPED the_bench_scripts_certificate_is_trusted: no openssl ***\n");
            return;
        }
        other => panic!("make_tls_cert failed: {other:?}"),
    }
    let chain = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let server = Server::tokio_chat(2, 3);
    let proxy = tls_proxy(server.addr, server_config(chain, key, false)).to_string();
    let json = ok(&chat_args(
        &proxy,
        &["--tls", "--tls-ca", cert.to_str().unwrap()],
    ));
    assert_clean_chat(&json);
}
