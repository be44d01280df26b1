//! The terminal UI in a real pseudo-terminal: `ringport-client` runs inside
//! a detached tmux session (on a socket of its own, 120x40), keys go in with
//! `send-keys`, the screen comes out with `capture-pane`. It logs in, enters
//! a room, and sees another user (a library client driven by the test)
//! enter, chat and leave; its rooms pane follows the watched room list as
//! it creates a room and users come and go. Skipped, loudly, when tmux is
//! not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup should panic

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{client_binary, expect_result, logged_in, start_server};
use ringport_client::proto::{id, ResultCode, ServerPacket};

/// A tmux server on its own socket, killed (and its socket removed) when
/// dropped.
struct Tmux {
    socket: PathBuf,
}

const SESSION: &str = "client";

impl Tmux {
    /// Starts `command` in a new detached 120x40 session.
    fn start(command: &str) -> Tmux {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        // A socket path of its own (not the user's default tmux server),
        // unique per process and test.
        let socket = std::env::temp_dir().join(format!(
            "ringport-client-tmux-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let tmux = Tmux { socket };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            SESSION,
            command,
            // Keep the pane when the client exits, so a crash stays on screen.
            ";",
            "set-option",
            "-t",
            SESSION,
            "remain-on-exit",
            "on",
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// Types `text` literally, then Enter.
    fn line(&self, text: &str) {
        self.type_text(text);
        assert!(self
            .run(&["send-keys", "-t", SESSION, "Enter"])
            .status
            .success());
    }

    fn type_text(&self, text: &str) {
        assert!(self
            .run(&["send-keys", "-t", SESSION, "-l", text])
            .status
            .success());
    }

    /// The visible screen.
    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`, and returns the screen.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the client is still running in the pane.
    fn alive(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", SESSION, "#{pane_dead}"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn tmux_installed() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Quotes a word for `sh`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A server, and the client's terminal UI connected to it in tmux; `None`
/// (after a loud message) when tmux or the server binary is missing.
fn tui_on_a_server(test: &str) -> Option<(common::Server, Tmux)> {
    if !tmux_installed() {
        eprintln!("\n*** SKIPPED {test}: tmux is not installed (apt-get install tmux) ***\n");
        return None;
    }
    let server = start_server(test)?;
    let command = format!(
        "{} --server {}",
        quote(&client_binary().to_string_lossy()),
        server.addr
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("* connected to");
    Some((server, tmux))
}

#[test]
fn tui_logs_in_enters_and_sees_another_users_message() {
    let Some((server, tmux)) = tui_on_a_server("tui_logs_in_enters_and_sees_another_users_message")
    else {
        return;
    };

    // The password is masked while typed and never shown afterwards.
    tmux.type_text("/login ann tui-secret-pw");
    let screen = tmux.wait_for("/login ann *************");
    assert!(!screen.contains("tui-secret-pw"), "{screen}");
    tmux.line("");
    let screen = tmux.wait_for("* logged in as ann");
    assert!(!screen.contains("tui-secret-pw"), "{screen}");
    assert!(screen.contains("LOGIN ann: NONE (0)"), "{screen}");

    // A refused enter shows its result code by name in the status line.
    tmux.line("/enter 1000");
    tmux.wait_for("ENTER 1000: ROOM_INVALID_INDEX (61)");
    tmux.line("/enter 3");
    let screen = tmux.wait_for("* entered room 3");
    assert!(screen.contains("ENTER 3: NONE (0)"), "{screen}");
    tmux.wait_for("ann (you)");

    // Another user, from the library, enters and chats.
    let mut bob = logged_in(server.addr, "bob");
    bob.enter(3).unwrap();
    expect_result(&mut bob, id::ROOM_ENTER_RES, ResultCode::None);
    assert_eq!(bob.recv_user_list().unwrap().len(), 1);
    tmux.wait_for("→ bob entered room 3");
    tmux.wait_for("room 3 · 2");
    bob.chat("hello from bob").unwrap();
    expect_result(&mut bob, id::ROOM_CHAT_RES, ResultCode::None);
    assert!(matches!(bob.recv().unwrap(), ServerPacket::RoomChatNtf(_)));
    tmux.wait_for("<bob> hello from bob");

    // What ann types reaches bob.
    tmux.line("hi bob, from the terminal");
    match bob.recv().unwrap() {
        ServerPacket::RoomChatNtf(ntf) => {
            assert_eq!(ntf.user_id.as_str(), "ann");
            assert_eq!(ntf.message.as_str(), "hi bob, from the terminal");
        }
        other => panic!("{other:?}"),
    }
    tmux.wait_for("<ann> hi bob, from the terminal");

    // bob leaves: the notify shows and the member list shrinks.
    bob.leave().unwrap();
    expect_result(&mut bob, id::ROOM_LEAVE_RES, ResultCode::None);
    tmux.wait_for("← bob left room 3");
    let screen = tmux.wait_for("room 3 · 1");
    assert!(!screen.contains("tui-secret-pw"), "{screen}");

    tmux.line("/quit");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() {
        assert!(
            Instant::now() < deadline,
            "the client did not exit on /quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The rooms pane follows the watched room list: the TUI watches from its
/// login on, a room it creates appears, and member counts change as
/// another user (the library client) and the TUI's user enter and leave.
#[test]
fn tui_rooms_pane_follows_created_rooms_and_their_members() {
    let Some((server, tmux)) =
        tui_on_a_server("tui_rooms_pane_follows_created_rooms_and_their_members")
    else {
        return;
    };
    tmux.line("/login cat pw");
    tmux.wait_for("* logged in as cat");
    // The ten fixed rooms of four, watched from the login on.
    tmux.wait_for(" rooms · 10 ");
    tmux.wait_for("3 0/4");

    tmux.line("/create tui fans 8");
    tmux.wait_for("* created room 1000 (tui fans)");
    tmux.wait_for(" rooms · 11 ");
    tmux.wait_for("1000 0/8 tui fans");

    // Another user enters it by number: the count follows (the first change
    // of a quiet room is sent at once, later ones within a second).
    let mut dan = logged_in(server.addr, "dan");
    dan.enter(1000).unwrap();
    expect_result(&mut dan, id::ROOM_ENTER_RES, ResultCode::None);
    assert_eq!(dan.recv_user_list().unwrap().len(), 0);
    tmux.wait_for("1000 1/8 tui fans");

    tmux.line("/enter tui fans");
    tmux.wait_for("* entered room 1000 (tui fans)");
    tmux.wait_for("1000 2/8 tui fans");
    assert!(matches!(
        dan.recv().unwrap(),
        ServerPacket::RoomNewUserNtf(_)
    ));

    // Fixed rooms follow too.
    let mut eve = logged_in(server.addr, "eve");
    eve.enter(3).unwrap();
    expect_result(&mut eve, id::ROOM_ENTER_RES, ResultCode::None);
    tmux.wait_for("3 1/4");

    dan.leave().unwrap();
    expect_result(&mut dan, id::ROOM_LEAVE_RES, ResultCode::None);
    let screen = tmux.wait_for("1000 1/8 tui fans");
    assert!(screen.contains(" rooms · 11 "), "{screen}");
    tmux.line("/quit");
}
