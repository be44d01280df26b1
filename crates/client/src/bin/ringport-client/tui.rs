//! The terminal UI loop. Three threads feed one channel: the terminal reader
//! (keys, resizes), and the network writer and reader (see [`crate::net`]).
//! The UI thread only waits on that channel, so a slow or silent server
//! never freezes the screen or the keyboard.

use std::sync::mpsc;
use std::thread;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::{App, Effect};
use crate::command::Command;
use crate::net::{Net, NetEvent, Tls};
use crate::ui::{self, View};

enum Msg {
    Term(Event),
    TermGone(String),
    Net(NetEvent),
}

/// Messages handled before the screen is drawn again, at most.
const BATCH: usize = 512;

/// Runs the TUI until `/quit` or Ctrl-C. `login` logs in at once; a user
/// without a password puts `/login USER ` in the input line for the
/// password to be typed. Once logged in, the rooms pane watches the room
/// list (303 with watch 1). With `reconnect`, a dropped connection is
/// reconnected by itself (see [`App::reconnect`]). With `tls` every connection is TLS; `warning`
/// (the `--insecure` one) heads the log. The log starts with the help.
///
/// # Errors
///
/// If the terminal cannot be set up or drawn on.
pub fn run(
    server: &str,
    login: Option<(String, Option<String>)>,
    tls: Option<Tls>,
    warning: Option<&str>,
    reconnect: Option<u32>,
) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let net_tx = tx.clone();
    let net = Net::start(
        move |ev| {
            let _ = net_tx.send(Msg::Net(ev));
        },
        tls,
    )?;
    let mut app = App::new(server);
    app.reconnect = reconnect.is_some();
    app.reconnect_tries = reconnect.unwrap_or(0);
    // The rooms pane follows the room list from the login on.
    app.auto_watch = true;
    if let Some(warning) = warning {
        app.warn(warning);
    }
    app.command(Command::Help);
    let mut effects = app.command(Command::Connect(None));
    match login {
        Some((user, Some(password))) => {
            effects.extend(app.command(Command::Login { user, password }));
        }
        Some((user, None)) => app.input.set(&format!("/login {user} ")),
        None => {}
    }
    let mut quit = apply(&net, effects);

    let mut terminal = ratatui::try_init()?;
    thread::Builder::new()
        .name("terminal-input".into())
        .spawn(move || loop {
            match event::read() {
                Ok(ev) => {
                    if tx.send(Msg::Term(ev)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Msg::TermGone(e.to_string()));
                    return;
                }
            }
        })?;
    let mut view = View::default();
    let mut failure = None;
    while !quit {
        if let Err(e) = terminal.draw(|f| ui::draw(f, &app, &mut view)) {
            failure = Some(e);
            break;
        }
        let Ok(first) = rx.recv() else { break };
        let mut next = Some(first);
        let mut handled = 0;
        while let Some(msg) = next {
            match msg {
                Msg::Term(Event::Key(key)) => {
                    let effects = key_event(&mut app, key, view);
                    quit |= apply(&net, effects);
                }
                Msg::Term(Event::Paste(text)) => {
                    for c in text.chars() {
                        app.input.insert(if c.is_control() { ' ' } else { c });
                    }
                }
                Msg::Term(_) => {}
                Msg::TermGone(e) => {
                    failure = Some(std::io::Error::other(format!("terminal input: {e}")));
                    quit = true;
                }
                Msg::Net(event) => {
                    app.net(event);
                    quit |= apply(&net, app.take_effects());
                }
            }
            handled += 1;
            next = if quit || handled == BATCH {
                None
            } else {
                rx.try_recv().ok()
            };
        }
    }
    net.close();
    ratatui::restore();
    failure.map_or(Ok(()), Err)
}

/// Hands effects to the network; true if one of them is quit.
fn apply(net: &Net, effects: Vec<Effect>) -> bool {
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Connect(addr) => net.connect(addr),
            Effect::ConnectAfter(addr, delay) => net.connect_after(addr, delay),
            Effect::Send(request) => net.send(request),
            Effect::Quit => quit = true,
        }
    }
    quit
}

/// Applies one key to the app.
///
/// Enter submits; Ctrl-C quits (Ctrl-D too on an empty line); Esc or
/// Ctrl-U clears the line; Ctrl-W deletes a word; Left/Right/Home/End
/// (Ctrl-A/Ctrl-E) move; Up/Down browse the history; PageUp/PageDown scroll
/// the log.
pub fn key_event(app: &mut App, key: KeyEvent, view: View) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let page = view.log_rows.saturating_sub(1).max(1);
    match key.code {
        KeyCode::Char('c') if ctrl => return vec![Effect::Quit],
        KeyCode::Char('d') if ctrl && app.input.text().is_empty() => return vec![Effect::Quit],
        KeyCode::Char('d') if ctrl => app.input.delete(),
        KeyCode::Char('u') if ctrl => app.input.clear(),
        KeyCode::Char('w') if ctrl => app.input.delete_word(),
        KeyCode::Char('a') if ctrl => app.input.home(),
        KeyCode::Char('e') if ctrl => app.input.end(),
        KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => {}
        KeyCode::Char(c) => app.input.insert(c),
        KeyCode::Enter => return app.submit(),
        KeyCode::Backspace => app.input.backspace(),
        KeyCode::Delete => app.input.delete(),
        KeyCode::Left => app.input.left(),
        KeyCode::Right => app.input.right(),
        KeyCode::Home => app.input.home(),
        KeyCode::End => app.input.end(),
        KeyCode::Up => app.input.history_prev(),
        KeyCode::Down => app.input.history_next(),
        KeyCode::Esc => app.input.clear(),
        KeyCode::PageUp => app.scroll = (app.scroll + page).min(view.max_scroll),
        KeyCode::PageDown => app.scroll = app.scroll.saturating_sub(page),
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Request;

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        key_event(
            app,
            KeyEvent::new(code, KeyModifiers::NONE),
            View {
                log_rows: 10,
                max_scroll: 25,
            },
        )
    }

    fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
        key_event(
            app,
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            View::default(),
        )
    }

    #[test]
    fn typing_and_enter_send_a_chat() {
        let mut app = App::new("s:1");
        app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
        for c in "hi!".chars() {
            press(&mut app, KeyCode::Char(c));
        }
        press(&mut app, KeyCode::Backspace);
        assert_eq!(
            press(&mut app, KeyCode::Enter),
            [Effect::Send(Request::Chat("hi".into()))]
        );
        assert_eq!(app.input.text(), "");
    }

    #[test]
    fn control_keys() {
        let mut app = App::new("s:1");
        app.input.set("abc def");
        ctrl(&mut app, 'w');
        assert_eq!(app.input.text(), "abc ");
        ctrl(&mut app, 'x');
        assert_eq!(app.input.text(), "abc ", "other control keys type nothing");
        assert!(ctrl(&mut app, 'd').is_empty(), "Ctrl-D on text deletes");
        ctrl(&mut app, 'u');
        assert_eq!(app.input.text(), "");
        assert_eq!(ctrl(&mut app, 'd'), [Effect::Quit]);
        assert_eq!(ctrl(&mut app, 'c'), [Effect::Quit]);
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.scroll, 9);
        for _ in 0..5 {
            press(&mut app, KeyCode::PageUp);
        }
        assert_eq!(app.scroll, 25, "bounded by what there is to see");
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.scroll, 16);
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..KeyEvent::new(KeyCode::Char('z'), KeyModifiers::NONE)
        };
        key_event(&mut app, release, View::default());
        assert_eq!(app.input.text(), "");
    }
}
