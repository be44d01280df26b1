//! The web client in a real browser against a real `ringport serve
//! --ws-listen`, on its defaults: two headless Chromium sessions and one TCP
//! client in one room see each other's messages and presence changes; a
//! refused login and a full room show readable errors; a browser creates a
//! room in the lobby, enters it by a click and chats there with a TCP
//! client that entered it by number, the lobby's counts following. Saves
//! screenshots under `target/` (`web-chat.png` is the one in the docs).
//!
//! Skipped with a loud message when chromium or chromedriver is absent;
//! `RINGPORT_REQUIRE_BROWSER=1` (set by CI) turns the skip into a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod chat_support;
mod common;
mod support;

use chat_support::{connect, login_enter, next, serve, Got};
use ringport_client::Client;
use ringport_net::testing::TestCa;
use serde_json::json;
use support::browser::Browser;

/// A JS expression: the element `#members` lists `id`.
fn lists(id: &str) -> String {
    format!(
        "[...document.querySelectorAll('#members > *')].some(e => e.textContent.includes({}))",
        json!(id)
    )
}

/// A JS expression: `#log` has a line from `sender` with `text`.
fn logged(sender: &str, text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#log > *')].some(e => e.textContent.includes({}) && e.textContent.includes({}))",
        json!(sender),
        json!(text)
    )
}

/// Opens the page and waits for its WebSocket.
async fn open(browser: &Browser, url: &str) {
    browser.goto(url).await;
    browser
        .wait_until(
            "document.getElementById('conn-state').dataset.state === 'open'",
            "the WebSocket to open",
        )
        .await;
}

async fn log_in(browser: &Browser, id: &str, password: &str) {
    browser.type_into("#user", id).await;
    // Enter in the password field logs in.
    browser
        .type_into("#password", &format!("{password}\n"))
        .await;
}

async fn enter(browser: &Browser, room: i32) {
    browser.type_into("#room", &room.to_string()).await;
    browser.click("#enter").await;
}

async fn session_is(browser: &Browser, state: &str) {
    browser
        .wait_until(
            &format!("document.body.dataset.session === {}", json!(state)),
            state,
        )
        .await;
}

async fn status_code(browser: &Browser, code: u16) -> String {
    browser
        .wait_until(
            &format!(
                "document.getElementById('status').dataset.code === {}",
                json!(code.to_string())
            ),
            &format!("result {code} in #status"),
        )
        .await;
    browser.text("#status").await
}

#[tokio::test]
async fn two_browsers_and_a_tcp_client_chat_in_one_room() {
    let Some(alice) = Browser::start_or_skip("web_chat (alice)").await else {
        return;
    };
    let Some(bob) = Browser::start_or_skip("web_chat (bob)").await else {
        return;
    };
    let server = serve("io-uring", &["--ws-listen", "127.0.0.1:0"]);
    let url = format!("http://{}/", server.ws.expect("ws listener"));

    // bob exists with another password: a refused login reads as such.
    let mut owner = connect(&server);
    owner.login("bob", "bobs-password").unwrap();
    assert_eq!(next(&mut owner), Got::Login(0));
    drop(owner);

    open(&alice, &url).await;
    log_in(&alice, "alice", "pw").await;
    session_is(&alice, "loggedIn").await;
    enter(&alice, 1).await;
    session_is(&alice, "inRoom").await;

    open(&bob, &url).await;
    log_in(&bob, "bob", "wrong").await;
    let refused = status_code(&bob, 33).await;
    assert!(
        refused.to_lowercase().contains("password"),
        "a readable refusal: {refused:?}"
    );
    log_in(&bob, "bob", "bobs-password").await;
    session_is(&bob, "loggedIn").await;
    enter(&bob, 1).await;
    session_is(&bob, "inRoom").await;
    bob.wait_until(&lists("alice"), "alice in bob's list").await;
    alice.wait_until(&lists("bob"), "bob's arrival").await;

    // A TCP user joins the same room.
    let mut carol = connect(&server);
    let members = login_enter(&mut carol, "carol", 1);
    let names: Vec<&str> = members.iter().map(|(_, n)| n.as_str()).collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{names:?}"
    );
    alice
        .wait_until(&lists("carol"), "carol in alice's list")
        .await;
    bob.wait_until(&lists("carol"), "carol in bob's list").await;

    // Messages in every direction.
    alice.type_into("#message", "hello from alice\n").await;
    bob.wait_until(&logged("alice", "hello from alice"), "alice's line at bob")
        .await;
    assert_eq!(
        next(&mut carol),
        Got::Chat("alice".into(), "hello from alice".into())
    );
    bob.type_into("#message", "bob here, ça va?").await;
    bob.click("#send").await;
    alice
        .wait_until(&logged("bob", "bob here, ça va?"), "bob's line at alice")
        .await;
    assert_eq!(
        next(&mut carol),
        Got::Chat("bob".into(), "bob here, ça va?".into())
    );
    carol.chat("hi browsers, from a terminal").unwrap();
    assert_eq!(next(&mut carol), Got::ChatRes(0));
    for b in [&alice, &bob] {
        b.wait_until(
            &logged("carol", "hi browsers, from a terminal"),
            "carol's line",
        )
        .await;
    }
    // Own lines are marked.
    let own = alice
        .eval(
            "return [...document.querySelectorAll('#log > [data-own=\"true\"]')].map(e => e.textContent);",
            vec![],
        )
        .await;
    assert!(own.to_string().contains("hello from alice"), "{own}");
    alice.screenshot("web-chat").await;

    // carol leaves: both lists drop her.
    carol.leave().unwrap();
    for b in [&alice, &bob] {
        b.wait_until(&format!("!({})", lists("carol")), "carol gone")
            .await;
    }

    // A full room (4 users by default) is a readable error.
    let mut fillers = Vec::new();
    for k in 0..4 {
        let mut c = connect(&server);
        login_enter(&mut c, &format!("filler{k}"), 2);
        fillers.push(c);
    }
    bob.click("#leave").await;
    session_is(&bob, "loggedIn").await;
    alice
        .wait_until(&format!("!({})", lists("bob")), "bob gone")
        .await;
    enter(&bob, 2).await;
    let full = status_code(&bob, 54).await;
    assert!(
        full.to_lowercase().contains("full"),
        "a readable refusal: {full:?}"
    );
    bob.screenshot("web-chat-full-room").await;

    alice.close().await;
    bob.close().await;
    drop(fillers);
    server.stop();
}

/// A JS expression: the lobby's entry for the created room `name`.
fn lobby_entry(name: &str) -> String {
    format!(
        "document.querySelector('#rooms > li[data-name=' + {} + ']')",
        json!(json!(name).to_string())
    )
}

/// A JS expression: the lobby shows `name` with `users` members.
fn lobby_count(name: &str, users: u16) -> String {
    format!(
        "({e}) && ({e}).dataset.users === {u}",
        e = lobby_entry(name),
        u = json!(users.to_string())
    )
}

#[tokio::test]
async fn a_browser_creates_a_room_in_the_lobby_and_chats_there() {
    let Some(fay) = Browser::start_or_skip("web_chat (lobby)").await else {
        return;
    };
    let server = serve("io-uring", &["--ws-listen", "127.0.0.1:0"]);
    let url = format!("http://{}/", server.ws.expect("ws listener"));
    open(&fay, &url).await;
    log_in(&fay, "fay", "pw").await;
    session_is(&fay, "loggedIn").await;
    // The lobby lists the fixed rooms (10 by default, no name).
    fay.wait_until(
        "document.querySelectorAll('#rooms > li[data-created=\"false\"]').length === 10",
        "the fixed rooms in the lobby",
    )
    .await;
    assert_eq!(
        fay.text("#rooms > li[data-number='3'] .room-name").await,
        "Room 3"
    );

    // Create "Rust fans" for 3: the watch brings it into the list.
    fay.type_into("#room-name", "Rust fans").await;
    fay.type_into("#room-capacity", "3").await;
    fay.click("#create").await;
    fay.wait_until(&lobby_count("Rust fans", 0), "the new room in the lobby")
        .await;
    let status = fay.text("#status").await;
    assert!(status.starts_with("Created room "), "{status:?}");
    let entry = fay
        .eval(
            &format!(
                "const e = {}; return [e.dataset.number, e.dataset.maxUsers];",
                lobby_entry("Rust fans")
            ),
            vec![],
        )
        .await;
    let number: i32 = entry[0].as_str().unwrap().parse().unwrap();
    assert!(
        number >= 1000,
        "created rooms are numbered from 1000: {entry}"
    );
    assert_eq!(entry[1], json!("3"));
    // The same name in other case is taken: the form says so.
    fay.type_into("#room-name", "RUST FANS\n").await;
    let taken = status_code(&fay, 101).await;
    assert_eq!(fay.text("#create-error").await, taken);

    // Enter it by a click; a TCP client enters it by number.
    fay.click(&format!("#rooms > li[data-number='{number}'] button"))
        .await;
    session_is(&fay, "inRoom").await;
    assert_eq!(
        fay.text("#status").await,
        format!("Entered Rust fans (room {number})")
    );
    let mut gus = connect(&server);
    let members = login_enter(&mut gus, "gus", number);
    assert!(members.iter().any(|(_, n)| n == "fay"), "{members:?}");
    fay.wait_until(&lists("gus"), "gus in fay's list").await;
    // The watch goes on in the room: the (hidden) lobby counts 2.
    fay.wait_until(&lobby_count("Rust fans", 2), "2 in the lobby's count")
        .await;

    fay.type_into("#message", "welcome to Rust fans\n").await;
    assert_eq!(
        next(&mut gus),
        Got::Chat("fay".into(), "welcome to Rust fans".into())
    );
    gus.chat("thanks, from a terminal").unwrap();
    assert_eq!(next(&mut gus), Got::ChatRes(0));
    assert_eq!(
        next(&mut gus),
        Got::Chat("gus".into(), "thanks, from a terminal".into())
    );
    fay.wait_until(&logged("gus", "thanks, from a terminal"), "gus's line")
        .await;
    fay.screenshot("web-chat-created-room").await;

    // Leave: back in the lobby, which counts gus alone, then nobody.
    fay.click("#leave").await;
    session_is(&fay, "loggedIn").await;
    assert!(matches!(next(&mut gus), Got::LeaveUser(_)));
    fay.wait_until(&lobby_count("Rust fans", 1), "1 in the lobby's count")
        .await;
    fay.screenshot("web-chat-lobby").await;
    gus.leave().unwrap();
    assert_eq!(next(&mut gus), Got::Leave(0));
    fay.wait_until(&lobby_count("Rust fans", 0), "0 in the lobby's count")
        .await;

    fay.close().await;
    server.stop();
}

/// The web client over `https://` and `wss://` (`--ws-tls true`), Chromium
/// trusting the test certificate by its key's hash, chatting with a client
/// on the binary TLS listener in the same room.
#[tokio::test]
async fn the_web_client_over_https_and_wss() {
    let ca = TestCa::new("ringport test CA");
    let cert = ca.server_cert("ringport web test");
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    let trust = format!(
        "--ignore-certificate-errors-spki-list={}",
        cert.spki_sha256_base64()
    );
    let Some(dana) = Browser::start_or_skip_with("web_chat (wss)", &[trust]).await else {
        return;
    };
    let (cert_arg, key_arg) = (cert_path.to_str().unwrap(), key_path.to_str().unwrap());
    let server = serve(
        "io-uring",
        &[
            "--ws-listen",
            "127.0.0.1:0",
            "--ws-tls",
            "true",
            "--tls-listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert_arg,
            "--tls-key",
            key_arg,
        ],
    );
    let tls_addr = server.log.lock().unwrap().iter().find_map(|l| {
        l.contains("listening on")
            .then(|| common::addr_after(l, "tls="))
            .flatten()
    });
    let tls_addr = tls_addr.expect("the startup line names the TLS listener");
    // The page's origin is https://127.0.0.1:PORT; the certificate names
    // 127.0.0.1 too.
    let url = format!("https://{}/", server.ws.expect("wss listener"));
    open(&dana, &url).await;
    let scheme = dana.eval("return location.protocol;", vec![]).await;
    assert_eq!(scheme, "https:");
    log_in(&dana, "dana", "pw").await;
    session_is(&dana, "loggedIn").await;
    enter(&dana, 3).await;
    session_is(&dana, "inRoom").await;

    let config = ringport_client::client_config(Some(&dir.path().join("ca.pem")), false);
    assert!(config.is_err(), "no ca.pem yet: an error naming the file");
    std::fs::write(dir.path().join("ca.pem"), ca.cert_pem()).unwrap();
    let config = ringport_client::client_config(Some(&dir.path().join("ca.pem")), false).unwrap();
    let name = ringport_client::server_name("localhost").unwrap();
    let mut erin = Client::connect_tls(tls_addr, name, config).unwrap();
    erin.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let members = login_enter(&mut erin, "erin", 3);
    assert!(members.iter().any(|(_, n)| n == "dana"), "{members:?}");
    dana.wait_until(&lists("erin"), "erin in dana's list").await;

    dana.type_into("#message", "over wss\n").await;
    assert_eq!(next(&mut erin), Got::Chat("dana".into(), "over wss".into()));
    erin.chat("over tls").unwrap();
    assert_eq!(next(&mut erin), Got::ChatRes(0));
    dana.wait_until(&logged("erin", "over tls"), "erin's line at dana")
        .await;
    dana.screenshot("web-chat-wss").await;
    dana.close().await;
    server.stop();
}
