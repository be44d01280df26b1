//! Drawing the [`App`] with ratatui: the message log and, beside it, the
//! member list above the rooms pane (the watched room list: number,
//! users/max, name), the input line under them, and the status line at the
//! bottom. Pure functions of the state, except that [`draw`] notes the log's
//! size in a [`View`] for scrolling.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use crate::app::{App, Conn};
use crate::format::text;
use crate::net::Room;
use crate::report::Report;

/// Width of the member list.
const MEMBERS_WIDTH: u16 = 24;

/// What the last draw learnt about the screen, for scrolling.
#[derive(Debug, Default, Clone, Copy)]
pub struct View {
    /// Rows of the log pane.
    pub log_rows: usize,
    /// How far the log can be scrolled back.
    pub max_scroll: usize,
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, app: &App, view: &mut View) {
    let [main, input, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let [log, side] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(MEMBERS_WIDTH)]).areas(main);
    draw_log(frame, app, log, view);
    if app.rooms.is_empty() && !app.watching {
        draw_members(frame, app, side);
    } else {
        // The rooms pane takes what its list needs, at most half.
        let wanted = u16::try_from(app.rooms.len().max(1) + 2).unwrap_or(u16::MAX);
        let height = wanted.min(side.height / 2).max(3);
        let [members, rooms] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(height)]).areas(side);
        draw_members(frame, app, members);
        draw_rooms(frame, app, rooms);
    }
    draw_input(frame, app, input);
    frame.render_widget(Paragraph::new(status_line(app)), status);
}

fn draw_log(frame: &mut Frame<'_>, app: &App, area: Rect, view: &mut View) {
    let title = format!(" ringport {} ", text(&app.server));
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let rows = usize::from(inner.height);
    view.log_rows = rows;
    // Wrap from the newest entry back, only as far as the view needs.
    let wanted = rows + app.scroll;
    let mut wrapped: Vec<Line<'static>> = Vec::new();
    let mut complete = true;
    for report in app.log.iter().rev() {
        let mut entry: Vec<Line<'static>> = report_lines(report)
            .into_iter()
            .flat_map(|line| wrap(line, width))
            .collect();
        entry.append(&mut wrapped);
        wrapped = entry;
        if wrapped.len() >= wanted {
            complete = false;
            break;
        }
    }
    view.max_scroll = if complete {
        wrapped.len().saturating_sub(rows)
    } else {
        // More above: allow one more page than what was wrapped.
        wrapped.len().saturating_sub(rows) + rows
    };
    let scroll = app.scroll.min(wrapped.len().saturating_sub(rows));
    let end = wrapped.len() - scroll;
    let start = end.saturating_sub(rows);
    let shown: Vec<Line<'static>> = wrapped.drain(start..end).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

fn draw_members(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = match app.room {
        Some(room) => format!(" room {room} · {} ", app.members.len() + 1),
        None => " no room ".to_string(),
    };
    let mut lines = Vec::new();
    if app.room.is_some() {
        if let Some(user) = &app.user {
            lines.push(Line::from(vec![
                Span::styled(text(user), Style::new().add_modifier(Modifier::BOLD)),
                Span::styled(" (you)", Style::new().fg(Color::DarkGray)),
            ]));
        }
        lines.extend(app.members.iter().map(|m| Line::from(text(&m.user_id))));
    }
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The rooms pane: one room a row, `NUMBER USERS/MAX NAME` (the name last,
/// so a narrow pane cuts the name, not the numbers); the room this client
/// is in is bold.
fn draw_rooms(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = if app.watching {
        format!(" rooms · {} ", app.rooms.len())
    } else {
        format!(" rooms · {} (not watched) ", app.rooms.len())
    };
    let lines: Vec<Line<'static>> = app
        .rooms
        .values()
        .map(|room| {
            let line = Line::from(room_row(room));
            if app.room == Some(room.number) {
                line.style(Style::new().add_modifier(Modifier::BOLD))
            } else {
                line
            }
        })
        .collect();
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// One row of the rooms pane, e.g. `1000 3/8 rust`.
pub fn room_row(room: &Room) -> String {
    let mut row = format!("{} {}/{}", room.number, room.users, room.max_users);
    if let Some(name) = &room.name {
        row.push(' ');
        row.push_str(&text(name));
    }
    row
}

fn draw_input(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" /help ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let typed = app.input.text();
    let masked = crate::command::mask_input(typed);
    // Masking keeps the byte length of every character class it replaces
    // only for ASCII, so find the cursor by characters.
    let cursor_chars = typed[..app.input.cursor()].chars().count();
    let chars: Vec<char> = masked.chars().collect();
    let before: usize = chars[..cursor_chars.min(chars.len())]
        .iter()
        .map(|c| c.width().unwrap_or(0))
        .sum();
    let prompt = "> ";
    let room = usize::from(inner.width).saturating_sub(prompt.len() + 1);
    // Scroll horizontally so the cursor stays in view.
    let mut skip = 0;
    let mut skipped_width = 0;
    while before - skipped_width > room && skip < chars.len() {
        skipped_width += chars[skip].width().unwrap_or(0);
        skip += 1;
    }
    let visible: String = chars[skip..].iter().map(|&c| sanitize(c)).collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(prompt, Style::new().fg(Color::Cyan)),
            Span::raw(visible),
        ])),
        inner,
    );
    let x = inner.x + u16::try_from(prompt.len() + before - skipped_width).unwrap_or(0);
    frame.set_cursor_position((x.min(inner.right().saturating_sub(1)), inner.y));
}

/// A control character typed or pasted is shown as a replacement mark.
fn sanitize(c: char) -> char {
    if c.is_control() {
        '\u{fffd}'
    } else {
        c
    }
}

/// The status line: connection, user, room and the last result by name.
pub fn status_line(app: &App) -> Line<'static> {
    let base = Style::new().bg(Color::DarkGray).fg(Color::White);
    let conn = match &app.conn {
        Conn::Idle => "not connected".to_string(),
        Conn::Connecting(addr) => format!("connecting to {}", text(addr)),
        Conn::Up(addr) => format!("connected {addr}"),
        Conn::Down(reason) => format!("disconnected: {}", text(reason)),
    };
    let mut spans = vec![Span::styled(format!(" {conn} "), base)];
    if let Some(user) = &app.user {
        spans.push(Span::styled(format!("| {} ", text(user)), base));
    }
    if let Some(room) = app.room {
        spans.push(Span::styled(format!("| room {room} "), base));
    }
    if let Some(status) = &app.status {
        let color = if status.ok { Color::Green } else { Color::Red };
        spans.push(Span::styled("| ", base));
        spans.push(Span::styled(
            format!("{} ", status.text),
            base.fg(color).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans).style(base)
}

/// The log lines of one report (most are one line; none for an accepted
/// chat, whose message shows when it comes back).
pub fn report_lines(report: &Report) -> Vec<Line<'static>> {
    let info = Style::new().fg(Color::Yellow);
    let bad = Style::new().fg(Color::Red);
    let dim = Style::new().fg(Color::DarkGray);
    let one = |style: Style, s: String| vec![Line::styled(s, style)];
    let refused = |what: String, result: ringport_client::proto::ResultCode| {
        vec![Line::styled(format!("! {what} refused: {result}"), bad)]
    };
    let room = |room: &Option<i32>| room.map_or_else(|| "?".to_string(), |r| r.to_string());
    match report {
        Report::Command(cmd) => one(dim, format!("> {}", text(cmd))),
        Report::Connecting(addr) => one(info, format!("* connecting to {}", text(addr))),
        Report::Connected(addr) => one(info, format!("* connected to {addr}")),
        Report::ConnectFailed { addr, error } => one(
            bad,
            format!("! cannot connect to {}: {}", text(addr), text(error)),
        ),
        Report::Closed(reason) => one(
            bad,
            format!(
                "! disconnected: {} (/login or /connect connects again)",
                text(reason)
            ),
        ),
        Report::Login { user, result } => {
            let user = text(user.as_deref().unwrap_or("?"));
            if result.is_success() {
                one(info, format!("* logged in as {user}"))
            } else {
                refused(format!("login as {user}"), *result)
            }
        }
        Report::Enter { room: r, result } => {
            if result.is_success() {
                one(info, format!("* entered room {}", room(r)))
            } else {
                refused(format!("enter room {}", room(r)), *result)
            }
        }
        Report::EnterName {
            name,
            room: r,
            result,
        } => {
            let name = text(name.as_deref().unwrap_or("?"));
            if result.is_success() {
                one(info, format!("* entered room {} ({name})", room(r)))
            } else {
                refused(format!("enter room {name}"), *result)
            }
        }
        Report::Create {
            name,
            room: r,
            result,
        } => {
            let name = text(name.as_deref().unwrap_or("?"));
            if result.is_success() {
                one(
                    info,
                    format!("* created room {r} ({name}): /enter {r} or /enter {name}"),
                )
            } else {
                refused(format!("create room {name}"), *result)
            }
        }
        Report::RoomsRes(result) if result.is_success() => Vec::new(),
        Report::RoomsRes(result) => refused("room list".to_string(), *result),
        Report::Rooms(rooms) => std::iter::once(one(info, format!("* {} rooms:", rooms.len())))
            .flatten()
            .chain(
                rooms
                    .iter()
                    .map(|r| Line::styled(format!("  {}", room_row(r)), info)),
            )
            .collect(),
        // The rooms pane shows changes.
        Report::RoomChange(_) => Vec::new(),
        Report::Users { room: r, members } if members.is_empty() => {
            one(info, format!("* nobody else in room {}", room(r)))
        }
        Report::Users { room: r, members } => {
            let names: Vec<String> = members.iter().map(|m| text(&m.user_id)).collect();
            one(info, format!("* in room {}: {}", room(r), names.join(", ")))
        }
        Report::Joined { room: r, member } => one(
            Style::new().fg(Color::Green),
            format!("→ {} entered room {}", text(&member.user_id), room(r)),
        ),
        Report::Left { room: r, uid, user } => {
            let who = user.as_deref().map_or_else(|| format!("user #{uid}"), text);
            one(
                Style::new().fg(Color::Magenta),
                format!("← {who} left room {}", room(r)),
            )
        }
        Report::Leave { room: r, result } => {
            if result.is_success() {
                one(info, format!("* left room {}", room(r)))
            } else {
                refused("leave".to_string(), *result)
            }
        }
        Report::ChatRes(result) if result.is_success() => Vec::new(),
        Report::ChatRes(result) => refused("chat".to_string(), *result),
        Report::Chat {
            from, message, own, ..
        } => {
            let name_style = if *own {
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
                    .fg(Color::LightBlue)
                    .add_modifier(Modifier::BOLD)
            };
            vec![Line::from(vec![
                Span::styled(format!("<{}> ", text(from)), name_style),
                Span::raw(text(message)),
            ])]
        }
        Report::History {
            room: r,
            result,
            messages,
        } if result.is_success() => std::iter::once(one(
            info,
            format!("* last {} messages of room {}:", messages.len(), room(r)),
        ))
        .flatten()
        .chain(messages.iter().map(|m| {
            Line::from(vec![
                Span::styled(format!("  #{} <{}> ", m.seq, text(&m.from)), dim),
                Span::raw(text(&m.message)),
            ])
        }))
        .collect(),
        Report::History { result, .. } => refused("history".to_string(), *result),
        Report::Reconnecting { attempt, delay } => one(
            info,
            format!(
                "* reconnecting in {:.1}s (attempt {attempt})",
                delay.as_secs_f64()
            ),
        ),
        Report::ReconnectGaveUp { attempts } => one(
            bad,
            format!("! gave up reconnecting after {attempts} attempts (/login or /connect connects again)"),
        ),
        Report::AutoLogin {
            user,
            token,
            result,
        } => {
            let how = if *token { "resume token" } else { "password" };
            if result.is_success() {
                one(info, format!("* logged in again as {} ({how})", text(user)))
            } else if *token {
                one(
                    dim,
                    format!("* resume token refused ({result}); logging in with the password"),
                )
            } else {
                refused(format!("login again as {}", text(user)), *result)
            }
        }
        Report::Reconnected {
            room: r, missed, ..
        } => one(
            info,
            match r {
                Some(_) => format!(
                    "* reconnected, back in room {}; {missed} missed message(s) follow",
                    room(r)
                ),
                None => "* reconnected".to_string(),
            },
        ),
        Report::Gap { room: r } => one(
            bad,
            format!("! ---- some messages of room {r} may be missing here ----"),
        ),
        Report::Echo(body) => one(
            info,
            format!(
                "* echo ({} bytes): {}",
                body.len(),
                text(&String::from_utf8_lossy(body))
            ),
        ),
        Report::Unknown { id, len } => one(dim, format!("? packet {id} ({len} bytes)")),
        Report::BadPacket(e) => one(bad, format!("! bad packet: {}", text(e))),
        Report::SendFailed(e) => one(bad, format!("! not sent: {}", text(e))),
        Report::CommandError(e) => one(bad, format!("! {}", text(e))),
        Report::Help => App::help_lines()
            .iter()
            .map(|h| Line::styled(format!("  {h}"), info))
            .collect(),
    }
}

/// Cuts a line into rows of at most `width` columns (by character, keeping
/// styles). An empty line stays one empty row.
pub fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let style = span.style.patch(line.style);
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > 0 {
                if !piece.is_empty() {
                    row.push(Span::styled(std::mem::take(&mut piece), style));
                }
                rows.push(Line::from(std::mem::take(&mut row)));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            row.push(Span::styled(piece, style));
        }
    }
    rows.push(Line::from(row));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use ringport_client::proto::ResultCode;
    use ringport_client::Member;

    use crate::command::Command;
    use crate::net::{Incoming, NetEvent};

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn wrapping_cuts_by_column_and_keeps_wide_chars_whole() {
        let rows = wrap(Line::from("abcdefg"), 3);
        assert_eq!(plain(&rows), ["abc", "def", "g"]);
        let rows = wrap(Line::from("a你好b"), 3);
        assert_eq!(plain(&rows), ["a你", "好b"]);
        let rows = wrap(Line::from(""), 5);
        assert_eq!(plain(&rows), [""]);
        let rows = wrap(Line::from(vec![Span::raw("<bob> "), Span::raw("hello")]), 4);
        assert_eq!(plain(&rows), ["<bob", "> he", "llo"]);
    }

    /// The screen as text, row by row.
    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut view = View::default();
        terminal.draw(|f| draw(f, app, &mut view)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..height {
            for x in 0..width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_screen_shows_log_members_input_and_status() {
        let mut app = App::new("127.0.0.1:11021");
        app.net(NetEvent::Connected("127.0.0.1:11021".parse().unwrap()));
        app.command(Command::Login {
            user: "ann".into(),
            password: "pw".into(),
        });
        app.net(NetEvent::Packet(Incoming::Login(ResultCode::None)));
        app.command(Command::Enter(3));
        app.net(NetEvent::Packet(Incoming::Enter(ResultCode::None)));
        app.net(NetEvent::Packet(Incoming::UserList {
            members: vec![Member {
                user_unique_id: 7,
                user_id: "bob".into(),
            }],
            last: true,
        }));
        app.net(NetEvent::Packet(Incoming::Chat {
            from: "bob".into(),
            message: "hi ann\x1b[2J".into(),
        }));
        app.input.set("/login ann secret");
        let shown = screen(&app, 80, 12);
        assert!(shown.contains("<bob> hi ann\\x1b[2J"), "{shown}");
        assert!(shown.contains("room 3 · 2"), "{shown}");
        assert!(shown.contains("ann (you)"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
        assert!(shown.contains("> /login ann ******"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("ENTER 3: NONE (0)"), "{shown}");
        assert!(shown.contains("| ann | room 3"), "{shown}");
    }

    #[test]
    fn the_rooms_pane_follows_the_watched_list() {
        let room = |number, users, name: Option<&str>| Room {
            number,
            users,
            max_users: 8,
            name: name.map(String::from),
            closed: false,
        };
        let mut app = App::new("s:1");
        assert!(
            !screen(&app, 80, 20).contains("rooms"),
            "no pane before a list"
        );
        app.net(NetEvent::Connected("127.0.0.1:1".parse().unwrap()));
        app.command(Command::Rooms { watch: true });
        app.net(NetEvent::Packet(Incoming::RoomsRes(ResultCode::None)));
        app.net(NetEvent::Packet(Incoming::RoomList {
            rooms: vec![room(0, 1, None), room(1000, 3, Some("rust fans"))],
            last: true,
        }));
        app.net(NetEvent::Packet(Incoming::RoomChange(room(
            1001,
            0,
            Some("go"),
        ))));
        let shown = screen(&app, 80, 20);
        assert!(shown.contains("rooms · 3"), "{shown}");
        assert!(shown.contains("0 1/8"), "{shown}");
        assert!(shown.contains("1000 3/8 rust fans"), "{shown}");
        assert!(shown.contains("1001 0/8 go"), "{shown}");
        app.net(NetEvent::Packet(Incoming::RoomChange(Room {
            closed: true,
            ..room(1001, 0, Some("go"))
        })));
        let shown = screen(&app, 80, 20);
        assert!(shown.contains("rooms · 2"), "{shown}");
        assert!(!shown.contains("1001"), "{shown}");
        assert_eq!(
            plain(&report_lines(&Report::Create {
                name: Some("go".into()),
                room: 1001,
                result: ResultCode::RoomNameTaken
            })),
            ["! create room go refused: ROOM_NAME_TAKEN (101)"]
        );
    }

    #[test]
    fn scrolling_back_shows_older_lines() {
        let mut app = App::new("s:1");
        for i in 0..50 {
            app.net(NetEvent::Packet(Incoming::Echo(
                format!("line{i:02}").into_bytes(),
            )));
        }
        let bottom = screen(&app, 60, 10);
        assert!(
            bottom.contains("line49") && !bottom.contains("line40"),
            "{bottom}"
        );
        app.scroll = 10;
        let back = screen(&app, 60, 10);
        assert!(
            back.contains("line39") && !back.contains("line49"),
            "{back}"
        );
        app.scroll = 1000;
        let top = screen(&app, 60, 10);
        assert!(top.contains("line00"), "{top}");
    }
}
