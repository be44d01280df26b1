//! The command language of the input line and of line mode: `/login ID
//! PASSWORD`, `/enter ROOM`, `/leave`, `/echo TEXT`, `/quit`, plain text to
//! chat, and a few more (see [`HELP`]).

use std::fmt;
use std::time::Duration;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/connect [ADDR]`: (re)connect, to the `--server` address by default.
    Connect(Option<String>),
    /// `/login ID PASSWORD`: the password is the rest of the line.
    Login {
        /// User id.
        user: String,
        /// Password (never shown).
        password: String,
    },
    /// `/enter ROOM`.
    Enter(i32),
    /// `/leave`.
    Leave,
    /// `/echo [TEXT]`: DEV_ECHO with the text as its body (may be empty).
    Echo(String),
    /// Plain text (or `//text` for text starting with a slash): room chat.
    Chat(String),
    /// `/help`.
    Help,
    /// `/quit` (also `/exit`).
    Quit,
    /// `/sleep MS` (line mode): print events for a while.
    Sleep(Duration),
    /// `/expect TEXT` (line mode): wait until a printed line contains TEXT.
    Expect(String),
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An unknown `/word`.
    #[error("unknown command {0} (try /help)")]
    Unknown(String),
    /// A known command with wrong arguments; holds its usage.
    #[error("usage: {0}")]
    Usage(&'static str),
}

/// The commands, one per line, as `/help` shows them.
pub const HELP: &[&str] = &[
    "/connect [ADDR]       connect again (to --server by default)",
    "/login ID PASSWORD    log in (connects first if needed)",
    "/enter ROOM           enter a room",
    "/leave                leave the room",
    "/echo TEXT            DEV_ECHO round trip",
    "TEXT                  chat in the room (//TEXT sends /TEXT)",
    "/quit                 exit (also Ctrl-C)",
    "/sleep MS, /expect TEXT   line mode only",
];

/// Parses one line. `Ok(None)` for a line with nothing to do (blank).
///
/// # Errors
///
/// [`ParseError`] for an unknown command or bad arguments.
pub fn parse(line: &str) -> Result<Option<Command>, ParseError> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return Ok(None);
    }
    let lead = line.trim_start();
    let Some(after_slash) = lead.strip_prefix('/') else {
        return Ok(Some(Command::Chat(line.to_string())));
    };
    if after_slash.starts_with('/') {
        // `//text` chats `/text`.
        return Ok(Some(Command::Chat(after_slash.to_string())));
    }
    let (word, rest) = match after_slash.find(char::is_whitespace) {
        Some(at) => (&after_slash[..at], &after_slash[at..]),
        None => (after_slash, ""),
    };
    let args = rest.trim();
    let no_args = |cmd: Command, usage| {
        if args.is_empty() {
            Ok(Some(cmd))
        } else {
            Err(ParseError::Usage(usage))
        }
    };
    match word.to_ascii_lowercase().as_str() {
        "connect" => match args.split_whitespace().count() {
            0 => Ok(Some(Command::Connect(None))),
            1 => Ok(Some(Command::Connect(Some(args.to_string())))),
            _ => Err(ParseError::Usage("/connect [ADDR]")),
        },
        "login" => {
            const USAGE: &str = "/login ID PASSWORD";
            let (user, password) = args
                .split_once(char::is_whitespace)
                .ok_or(ParseError::Usage(USAGE))?;
            let password = password.trim();
            if password.is_empty() {
                return Err(ParseError::Usage(USAGE));
            }
            Ok(Some(Command::Login {
                user: user.to_string(),
                password: password.to_string(),
            }))
        }
        "enter" | "join" => args
            .parse()
            .map(|room| Some(Command::Enter(room)))
            .map_err(|_| ParseError::Usage("/enter ROOM (a number)")),
        "leave" | "part" => no_args(Command::Leave, "/leave"),
        // The echo body is everything after the one separating space.
        "echo" => Ok(Some(Command::Echo(
            rest.strip_prefix([' ', '\t']).unwrap_or(rest).to_string(),
        ))),
        "help" | "?" => no_args(Command::Help, "/help"),
        "quit" | "exit" => no_args(Command::Quit, "/quit"),
        "sleep" => args
            .parse()
            .map(|ms| Some(Command::Sleep(Duration::from_millis(ms))))
            .map_err(|_| ParseError::Usage("/sleep MS")),
        "expect" if !args.is_empty() => Ok(Some(Command::Expect(args.to_string()))),
        "expect" => Err(ParseError::Usage("/expect TEXT")),
        _ => Err(ParseError::Unknown(format!("/{word}"))),
    }
}

/// The line with a `/login` password replaced by one `*` per character, for
/// showing what is being typed.
pub fn mask_input(line: &str) -> String {
    match login_password_at(line) {
        Some(at) => {
            let (shown, secret) = line.split_at(at);
            let stars: String = secret
                .chars()
                .map(|c| if c.is_whitespace() { c } else { '*' })
                .collect();
            format!("{shown}{stars}")
        }
        None => line.to_string(),
    }
}

/// Whether the line is a `/login` that carries (part of) a password; such
/// lines are not kept in the input history.
pub fn has_password(line: &str) -> bool {
    login_password_at(line).is_some_and(|at| !line[at..].trim().is_empty())
}

/// The byte offset where the password of a `/login ID PASSWORD` line starts
/// (after the whitespace following the id), if the line is a `/login` with an
/// id and that whitespace.
fn login_password_at(line: &str) -> Option<usize> {
    let lead = line.len() - line.trim_start().len();
    let rest = line[lead..].strip_prefix('/')?;
    let (word, after) = rest.split_at(rest.find(char::is_whitespace)?);
    if !word.eq_ignore_ascii_case("login") {
        return None;
    }
    let id_start = after.len() - after.trim_start().len();
    let id_len = after[id_start..].find(char::is_whitespace)?;
    let after_id = &after[id_start + id_len..];
    let gap = after_id.len() - after_id.trim_start().len();
    Some(line.len() - after_id.len() + gap)
}

impl fmt::Display for Command {
    /// The command as it would be typed, with the password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Connect(None) => write!(f, "/connect"),
            Command::Connect(Some(addr)) => write!(f, "/connect {addr}"),
            Command::Login { user, .. } => write!(f, "/login {user} ********"),
            Command::Enter(room) => write!(f, "/enter {room}"),
            Command::Leave => write!(f, "/leave"),
            Command::Echo(text) => write!(f, "/echo {text}"),
            Command::Chat(text) => write!(f, "{text}"),
            Command::Help => write!(f, "/help"),
            Command::Quit => write!(f, "/quit"),
            Command::Sleep(d) => write!(f, "/sleep {}", d.as_millis()),
            Command::Expect(text) => write!(f, "/expect {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line).unwrap().unwrap()
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(ok("/connect"), Command::Connect(None));
        assert_eq!(
            ok("/connect 127.0.0.1:9"),
            Command::Connect(Some("127.0.0.1:9".into()))
        );
        assert_eq!(
            ok("/login ann secret"),
            Command::Login {
                user: "ann".into(),
                password: "secret".into()
            }
        );
        assert_eq!(ok("/enter 3"), Command::Enter(3));
        assert_eq!(ok("  /enter   -1  "), Command::Enter(-1));
        assert_eq!(ok("/leave"), Command::Leave);
        assert_eq!(ok("/echo hi there"), Command::Echo("hi there".into()));
        assert_eq!(ok("/echo"), Command::Echo(String::new()));
        assert_eq!(ok("/echo  two"), Command::Echo(" two".into()));
        assert_eq!(ok("/help"), Command::Help);
        assert_eq!(ok("/quit"), Command::Quit);
        assert_eq!(ok("/EXIT"), Command::Quit);
        assert_eq!(ok("/sleep 250"), Command::Sleep(Duration::from_millis(250)));
        assert_eq!(
            ok("/expect CHAT room=3 from=bob: hi"),
            Command::Expect("CHAT room=3 from=bob: hi".into())
        );
    }

    #[test]
    fn plain_text_is_chat_kept_as_typed() {
        assert_eq!(ok("hello world"), Command::Chat("hello world".into()));
        assert_eq!(ok("  indented \r\n"), Command::Chat("  indented ".into()));
        assert_eq!(ok("//slash"), Command::Chat("/slash".into()));
        assert_eq!(ok("héllo 你好"), Command::Chat("héllo 你好".into()));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   \n").unwrap(), None);
    }

    #[test]
    fn passwords_may_hold_spaces() {
        assert_eq!(
            ok("/login ann  correct horse  "),
            Command::Login {
                user: "ann".into(),
                password: "correct horse".into()
            }
        );
    }

    #[test]
    fn bad_lines_say_why() {
        assert_eq!(parse("/frob"), Err(ParseError::Unknown("/frob".into())));
        assert!(matches!(parse("/login ann"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/login"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/enter x"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/enter"), Err(ParseError::Usage(_))));
        assert!(matches!(
            parse("/enter 99999999999"),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(parse("/leave now"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/sleep soon"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/expect"), Err(ParseError::Usage(_))));
        assert!(matches!(parse("/connect a b"), Err(ParseError::Usage(_))));
    }

    #[test]
    fn passwords_are_masked_and_never_displayed() {
        assert_eq!(mask_input("/login ann secret"), "/login ann ******");
        assert_eq!(mask_input("/login ann se cr"), "/login ann ** **");
        assert_eq!(mask_input("  /LOGIN  ann   pw"), "  /LOGIN  ann   **");
        assert_eq!(mask_input("/login ann "), "/login ann ");
        assert_eq!(mask_input("/login ann"), "/login ann");
        assert_eq!(mask_input("/login"), "/login");
        assert_eq!(mask_input("/loginx a b"), "/loginx a b");
        assert_eq!(mask_input("hello there you"), "hello there you");
        assert!(has_password("/login ann x"));
        assert!(!has_password("/login ann "));
        assert!(!has_password("/enter 3"));
        let shown = ok("/login ann hunter2").to_string();
        assert_eq!(shown, "/login ann ********");
        assert!(!shown.contains("hunter2"));
    }
}
