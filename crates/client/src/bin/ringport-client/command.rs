//! The command language of the input line and of line mode: `/login ID
//! PASSWORD`, `/enter ROOM` (a number or a created room's name), `/leave`,
//! `/create NAME [MAX]`, `/rooms [watch]`, `/echo TEXT`, `/quit`, plain text
//! to chat, and a few more (see [`HELP`]).

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
    /// `/enter NUMBER`: 206.
    Enter(i32),
    /// `/enter NAME` (anything that is not a number): 307.
    EnterName(String),
    /// `/create NAME [MAX]`: 301. The last word is MAX only if it is a
    /// number, so names may hold spaces (`/create rust fans 8`).
    Create {
        /// The room's name, as typed (inner spaces kept).
        name: String,
        /// Its capacity; 0 (or no MAX) for the server's default.
        max_users: u16,
    },
    /// `/rooms` (list once) or `/rooms watch` (list and follow): 303.
    Rooms {
        /// Whether `watch` was given.
        watch: bool,
    },
    /// `/history [N]`: the last N messages of the room (314), 1 to 100,
    /// 20 by default.
    History(u16),
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

/// Messages `/history` asks for without N.
pub const DEFAULT_HISTORY: u16 = 20;
/// The most `/history` may ask for.
pub const MAX_HISTORY: u16 = 100;

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
    "/enter NUMBER|NAME    enter a room by number, or a created room by name",
    "/create NAME [MAX]    create a room (MAX users; absent or 0: the server's default)",
    "/rooms [watch]        list the rooms (watch: and follow changes)",
    "/leave                leave the room",
    "/history [N]          the room's last N messages (default 20, at most 100)",
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
        "enter" | "join" => parse_enter(args).map(Some),
        "create" => parse_create(args).map(Some),
        "rooms" | "list" => match args.to_ascii_lowercase().as_str() {
            "" => Ok(Some(Command::Rooms { watch: false })),
            "watch" => Ok(Some(Command::Rooms { watch: true })),
            _ => Err(ParseError::Usage("/rooms [watch]")),
        },
        "leave" | "part" => no_args(Command::Leave, "/leave"),
        "history" => match args {
            "" => Ok(Some(Command::History(DEFAULT_HISTORY))),
            n => match n.parse::<u16>() {
                Ok(n) if (1..=MAX_HISTORY).contains(&n) => Ok(Some(Command::History(n))),
                _ => Err(ParseError::Usage("/history [N] (N 1 to 100)")),
            },
        },
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

/// Whether `s` looks like a number: an optional `-`, then ASCII digits.
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `/enter NUMBER|NAME`: a number (which must fit an i32) enters by number,
/// anything else by name.
fn parse_enter(args: &str) -> Result<Command, ParseError> {
    const USAGE: &str = "/enter NUMBER|NAME";
    if args.is_empty() {
        return Err(ParseError::Usage(USAGE));
    }
    if is_number(args) {
        return args
            .parse()
            .map(Command::Enter)
            .map_err(|_| ParseError::Usage(USAGE));
    }
    Ok(Command::EnterName(args.to_string()))
}

/// `/create NAME [MAX]`: the last word is MAX when it is a number (0 to
/// 65535) and a name is left before it.
fn parse_create(args: &str) -> Result<Command, ParseError> {
    const USAGE: &str = "/create NAME [MAX] (MAX 0 to 65535)";
    if args.is_empty() {
        return Err(ParseError::Usage(USAGE));
    }
    if let Some(at) = args.rfind(char::is_whitespace) {
        let (name, last) = (args[..at].trim_end(), args[at..].trim_start());
        if is_number(last) {
            let max_users = last.parse().map_err(|_| ParseError::Usage(USAGE))?;
            return Ok(Command::Create {
                name: name.to_string(),
                max_users,
            });
        }
    }
    Ok(Command::Create {
        name: args.to_string(),
        max_users: 0,
    })
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
            Command::EnterName(name) => write!(f, "/enter {name}"),
            Command::Create { name, max_users: 0 } => write!(f, "/create {name}"),
            Command::Create { name, max_users } => write!(f, "/create {name} {max_users}"),
            Command::Rooms { watch: false } => write!(f, "/rooms"),
            Command::Rooms { watch: true } => write!(f, "/rooms watch"),
            Command::Leave => write!(f, "/leave"),
            Command::History(n) => write!(f, "/history {n}"),
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
        assert_eq!(ok("/history"), Command::History(20));
        assert_eq!(ok("/history 5"), Command::History(5));
        assert_eq!(ok("/history 100"), Command::History(100));
        assert_eq!(ok("/history 7").to_string(), "/history 7");
        for bad in ["/history 0", "/history 101", "/history x", "/history 1 2"] {
            assert!(matches!(parse(bad), Err(ParseError::Usage(_))), "{bad}");
        }
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
    fn enter_takes_a_number_or_a_name() {
        assert_eq!(ok("/enter 3"), Command::Enter(3));
        assert_eq!(ok("/enter rust"), Command::EnterName("rust".into()));
        assert_eq!(
            ok("/enter  rust fans  "),
            Command::EnterName("rust fans".into())
        );
        assert_eq!(ok("/enter 3a"), Command::EnterName("3a".into()));
        assert_eq!(ok("/enter room 42"), Command::EnterName("room 42".into()));
        assert_eq!(ok("/enter -"), Command::EnterName("-".into()));
        assert_eq!(ok("/enter rust").to_string(), "/enter rust");
    }

    #[test]
    fn create_takes_a_name_with_spaces_and_an_optional_max() {
        let create = |name: &str, max_users| Command::Create {
            name: name.into(),
            max_users,
        };
        assert_eq!(ok("/create rust"), create("rust", 0));
        assert_eq!(ok("/create rust 8"), create("rust", 8));
        assert_eq!(ok("/create rust fans 8"), create("rust fans", 8));
        assert_eq!(ok("/create rust fans"), create("rust fans", 0));
        assert_eq!(ok("/CREATE  rust   fans  8 "), create("rust   fans", 8));
        assert_eq!(ok("/create rust 0"), create("rust", 0));
        assert_eq!(
            ok("/create 42"),
            create("42", 0),
            "a lone number is the name"
        );
        assert_eq!(
            ok("/create room 42 0"),
            create("room 42", 0),
            "a name ending in a number needs MAX"
        );
        assert_eq!(ok("/create v2 rooms"), create("v2 rooms", 0));
        assert_eq!(ok("/create rust fans 8").to_string(), "/create rust fans 8");
        assert_eq!(ok("/create rust").to_string(), "/create rust");
        assert!(matches!(parse("/create"), Err(ParseError::Usage(_))));
        assert!(matches!(
            parse("/create rust 65536"),
            Err(ParseError::Usage(_))
        ));
        assert!(matches!(
            parse("/create rust -1"),
            Err(ParseError::Usage(_))
        ));
    }

    #[test]
    fn rooms_lists_once_or_watches() {
        assert_eq!(ok("/rooms"), Command::Rooms { watch: false });
        assert_eq!(ok("/rooms watch"), Command::Rooms { watch: true });
        assert_eq!(ok("/rooms WATCH").to_string(), "/rooms watch");
        assert!(matches!(parse("/rooms all"), Err(ParseError::Usage(_))));
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
