//! `ringport-client`: a terminal chat client for ringport (the original
//! tutorial's test client, for a terminal), with a line mode for scripts.
//! `--tls`, `--ca FILE`, `--insecure` and `--server-name NAME` connect to a
//! server's TLS listener. See `crates/client/README.md`.
#![forbid(unsafe_code)]

mod app;
mod command;
mod format;
mod input;
mod line;
mod net;
mod report;
mod resume;
mod tui;
mod ui;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Environment variable holding a password for `--user`.
const PASSWORD_ENV: &str = "RINGPORT_PASSWORD";

/// The server address without `--server`, plain and TLS.
const DEFAULT_SERVER: &str = "127.0.0.1:11021";
const DEFAULT_TLS_SERVER: &str = "127.0.0.1:11022";

/// Printed on standard error (and at the top of the TUI's log) whenever
/// `--insecure` is used.
const INSECURE_WARNING: &str = "WARNING: --insecure: the server's certificate is NOT checked; \
                                anyone on the path can read your password";

/// Terminal chat client for ringport: log in, enter rooms, chat.
///
/// Without --script or --line it opens a full-screen terminal UI; type /help
/// there. In line mode it reads one command per line and prints one line per
/// event (see crates/client/README.md for the format).
#[derive(Debug, Parser)]
#[command(name = "ringport-client", version)]
#[command(group(clap::ArgGroup::new("tls_mode").args(["tls", "ca", "insecure"]).multiple(true)))]
struct Args {
    /// Server address [default: 127.0.0.1:11021, with TLS 127.0.0.1:11022].
    #[arg(short, long, value_name = "ADDR")]
    server: Option<String>,
    /// Connect with TLS (to the server's --tls-listen listener), trusting
    /// the system's certificate authorities.
    #[arg(long)]
    tls: bool,
    /// Trust the CA certificate(s) in this PEM file (or a self-signed
    /// server certificate), and only those; implies --tls.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Accept any server certificate, for tests and self-signed setups
    /// only: the connection is encrypted, but to whoever answers, and
    /// anyone on the path can read your password. Implies --tls; warns on
    /// standard error each time.
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// With TLS: the name the server's certificate must hold, also sent as
    /// SNI (a DNS name, or an IP address) [default: the host part of the
    /// address connected to].
    #[arg(long, value_name = "NAME", requires = "tls_mode")]
    server_name: Option<String>,
    /// Log in as this user at start. The password comes from
    /// --password-stdin or the RINGPORT_PASSWORD environment variable; the
    /// TUI without either asks for it in the input line.
    #[arg(short, long, value_name = "ID")]
    user: Option<String>,
    /// Read the password for --user from the first line of standard input
    /// (with --line, the commands follow on the next lines).
    #[arg(long, requires = "user")]
    password_stdin: bool,
    /// Line mode: run the commands of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "line")]
    script: Option<PathBuf>,
    /// Line mode: run the commands read from standard input.
    #[arg(long)]
    line: bool,
    /// Line mode: when the next command runs: after the answer to the
    /// previous request (response), or at once (none).
    #[arg(long, value_enum, default_value = "response")]
    wait: line::Wait,
    /// Line mode: seconds an answer, a connect or an /expect may take.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = parse_secs)]
    timeout: Duration,
    /// Line mode: milliseconds to keep printing events after the last
    /// command and the answers it was owed.
    #[arg(long, default_value = "0", value_name = "MS")]
    linger: u64,
    /// Do not reconnect when the connection drops. By default the client
    /// reconnects by itself (after 0.5 s, doubling up to 30 s, ±50 %
    /// jitter), logs in again (resume token, else password), enters its
    /// room again and shows the messages it missed.
    #[arg(long)]
    no_reconnect: bool,
    /// Give up reconnecting after N attempts in a row that did not restore
    /// the session (0: never give up). Line mode then exits with code 3;
    /// the terminal UI says so and waits for /connect or /login.
    #[arg(long, default_value = "0", value_name = "N")]
    reconnect_tries: u32,
    /// Line mode: stop with exit code 1 at the first failing command (a
    /// refused request, a timeout, a bad line).
    #[arg(long)]
    strict: bool,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !(0.0..=86_400.0).contains(&secs) || secs == 0.0 {
        return Err("between 0 and 86400 seconds, not 0".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let tls = match tls_settings(&args) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("ringport-client: {e}");
            return ExitCode::from(2);
        }
    };
    if args.insecure {
        eprintln!("{INSECURE_WARNING}");
    }
    let server = match &args.server {
        Some(server) => server.clone(),
        None if tls.is_some() => DEFAULT_TLS_SERVER.to_string(),
        None => DEFAULT_SERVER.to_string(),
    };
    let password = match read_password(&args) {
        Ok(password) => password,
        Err(e) => {
            eprintln!("ringport-client: {e}");
            return ExitCode::from(2);
        }
    };
    let line_mode = args.line || args.script.is_some();
    if line_mode {
        let source = match &args.script {
            Some(path) => match std::fs::File::open(path) {
                Ok(file) => line::Source::File(file),
                Err(e) => {
                    eprintln!("ringport-client: cannot open {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            },
            None => line::Source::Stdin,
        };
        let login = match (&args.user, password) {
            (Some(user), Some(password)) => Some((user.clone(), password)),
            (Some(_), None) => {
                eprintln!(
                    "ringport-client: --user in line mode needs --password-stdin or \
                     {PASSWORD_ENV} (or use /login in the commands)"
                );
                return ExitCode::from(2);
            }
            (None, _) => None,
        };
        let opts = line::Options {
            wait: args.wait,
            timeout: args.timeout,
            linger: Duration::from_millis(args.linger),
            strict: args.strict,
            tls,
            reconnect: !args.no_reconnect,
            reconnect_tries: args.reconnect_tries,
        };
        let code = line::run(&server, source, login, opts, std::io::stdout().lock());
        return ExitCode::from(code);
    }
    if !std::io::stdout().is_terminal() {
        eprintln!("ringport-client: standard output is not a terminal; use --line or --script");
        return ExitCode::from(2);
    }
    let login = args.user.clone().map(|user| (user, password));
    let warning = args.insecure.then_some(INSECURE_WARNING);
    let reconnect = (!args.no_reconnect).then_some(args.reconnect_tries);
    match tui::run(&server, login, tls, warning, reconnect) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringport-client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The TLS settings asked for, if any: `--ca` and `--insecure` imply
/// `--tls`.
fn tls_settings(args: &Args) -> Result<Option<net::Tls>, String> {
    if !(args.tls || args.ca.is_some() || args.insecure) {
        return Ok(None);
    }
    let config = ringport_client::client_config(args.ca.as_deref(), args.insecure)
        .map_err(|e| e.to_string())?;
    let server_name = match &args.server_name {
        Some(name) => Some(ringport_client::server_name(name).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(Some(net::Tls {
        config,
        server_name,
    }))
}

/// The password for `--user`, from standard input or the environment.
fn read_password(args: &Args) -> Result<Option<String>, String> {
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err("--password-stdin: the first line of standard input is empty".into());
        }
        return Ok(Some(password));
    }
    if args.user.is_some() {
        if let Ok(password) = std::env::var(PASSWORD_ENV) {
            if !password.is_empty() {
                return Ok(Some(password));
            }
        }
    }
    Ok(None)
}
