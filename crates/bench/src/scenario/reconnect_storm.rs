//! `reconnect-storm`: many clients come back at once, as after a server
//! restart or a network blip — first with the resume tokens they were
//! given (no password hash), then, for comparison, with their passwords.
//!
//! Setup (not measured): `--clients` users say hello with the resume
//! feature and log in with a password, paced at `--setup-rate` (argon2
//! sets the pace; a 34 is retried), each keeping its token; then every
//! connection closes. Measured, twice: every client connects, then all
//! send their login at once (hello and 317 with the token; then hello and
//! 201 with the password), and the time from the first send to the last
//! answer is reported with the answers by code. The connections are
//! opened before the clock starts, so what is measured is the server
//! answering logins, not the generator connecting.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use ringport_client::proto::{
    ClientPacket, Features, HelloReq, LoginReq, LoginTokenReq, ResultCode, ServerPacket,
};
use ringport_client::Client;

use crate::cli::ReconnectStormArgs;
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::load::storm::code_name;
use crate::report::json::JsonObject;
use crate::report::out;

/// Threads that run the paced setup logins.
const SETUP_THREADS: usize = 16;

/// One measured wave: when the last answer came, and the answers by code.
struct Wave {
    last_answer: Duration,
    codes: std::collections::BTreeMap<u16, u64>,
    unanswered: u64,
}

impl Wave {
    fn ok(&self) -> u64 {
        self.codes.get(&0).copied().unwrap_or(0)
    }
}

/// Runs `reconnect-storm` and prints its report.
///
/// # Errors
///
/// A refused target, a too-low open-file limit, or a setup that could not
/// log every client in.
pub fn reconnect_storm(args: &ReconnectStormArgs) -> anyhow::Result<ExitCode> {
    let addr = resolve_target(&args.target)?;
    check_fd_limit(args.clients)?;
    let prefix = args.user_prefix.clone().unwrap_or_else(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("rs{:x}_", ms & 0xFFFF_FFFF)
    });
    let ids: Vec<String> = (0..args.clients).map(|i| format!("{prefix}{i}")).collect();
    let started = Instant::now();
    let tokens = setup(addr, &ids, args)?;
    let setup_secs = started.elapsed().as_secs_f64();
    // Logins are released when their connections close: give the server a
    // moment to see every close.
    std::thread::sleep(Duration::from_secs(1));
    let with_tokens = wave(addr, &ids, Some(&tokens), args.timeout)?;
    std::thread::sleep(Duration::from_secs(1));
    let with_passwords = wave(addr, &ids, None, args.timeout)?;
    let n = u64::from(args.clients);
    let pass = with_tokens.ok() == n;
    if args.json {
        let mut j = JsonObject::new();
        j.string("scenario", "reconnect-storm")
            .string("target", &addr.to_string())
            .int("clients", n)
            .float("setup_secs", setup_secs, 2);
        for (name, w) in [("tokens", &with_tokens), ("passwords", &with_passwords)] {
            let mut o = JsonObject::new();
            o.float("last_answer_secs", w.last_answer.as_secs_f64(), 3)
                .int("ok", w.ok())
                .int("unanswered", w.unanswered);
            let codes: Vec<(String, u64)> =
                w.codes.iter().map(|(&c, &k)| (code_name(c), k)).collect();
            o.counts("codes", codes.iter().map(|(k, v)| (k.as_str(), *v)));
            j.raw(name, &o.finish());
        }
        j.bool("pass", pass);
        out::line(&j.finish())?;
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "reconnect-storm {addr}: {n} clients ({prefix}N) logged in with passwords in {setup_secs:.1} s (setup), then all reconnect at once"
        );
        for (name, w) in [
            ("with tokens   ", &with_tokens),
            ("with passwords", &with_passwords),
        ] {
            let codes: Vec<String> = w
                .codes
                .iter()
                .map(|(&c, &k)| format!("{} x{k}", code_name(c)))
                .collect();
            let _ = writeln!(
                s,
                "  {name}  last answer after {:.3} s; {} ok of {n}; answers {}; {} unanswered",
                w.last_answer.as_secs_f64(),
                w.ok(),
                codes.join(", "),
                w.unanswered
            );
        }
        let _ = writeln!(
            s,
            "  result          {} (needs every token login answered 0)",
            if pass { "PASS" } else { "FAIL" }
        );
        out::line(s.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn connect(addr: SocketAddr, timeout: Duration) -> anyhow::Result<Client> {
    let client = Client::connect_timeout(&addr, timeout).context("connecting")?;
    client
        .set_read_timeout(Some(timeout))
        .context("read timeout")?;
    Ok(client)
}

fn hello() -> ClientPacket<'static> {
    ClientPacket::HelloReq(HelloReq {
        features: Features::RESUME,
    })
}

/// Logs every id in with its password (retrying a 34), paced, and returns
/// their tokens.
fn setup(
    addr: SocketAddr,
    ids: &[String],
    args: &ReconnectStormArgs,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let tokens: Mutex<Vec<Option<Vec<u8>>>> = Mutex::new(vec![None; ids.len()]);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.setup_rate);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..SETUP_THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else {
                    return;
                };
                let due = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                match login_for_token(addr, id, args.timeout) {
                    Ok(token) => {
                        if let Ok(mut t) = tokens.lock() {
                            t[i] = Some(token);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut errs) = errors.lock() {
                            errs.push(format!("{id}: {e:#}"));
                        }
                    }
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap_or_default();
    if let Some(first) = errors.first() {
        anyhow::bail!(
            "{} of {} setup logins failed; first: {first}",
            errors.len(),
            ids.len()
        );
    }
    let tokens = tokens.into_inner().unwrap_or_default();
    tokens
        .into_iter()
        .map(|t| t.context("a setup login left no token"))
        .collect()
}

fn login_for_token(addr: SocketAddr, id: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    for _ in 0..30 {
        let mut c = connect(addr, timeout)?;
        c.send(&hello())?;
        c.send(&ClientPacket::LoginReq(LoginReq::new(id, "pw")?))?;
        let mut token = None;
        loop {
            match c.recv()? {
                ServerPacket::HelloRes(res) if !res.features.contains(Features::RESUME) => {
                    anyhow::bail!("the server does not grant resume tokens")
                }
                ServerPacket::LoginRes(res)
                    if res.result == ResultCode::LoginBackendUnavailable =>
                {
                    break;
                }
                ServerPacket::LoginRes(res) if !res.result.is_success() => {
                    anyhow::bail!("login refused: {}", res.result)
                }
                ServerPacket::ResumeTokenNtf(ntf) => {
                    token = Some(ntf.token.to_vec());
                }
                _ => {}
            }
            if token.is_some() {
                return token.context("token");
            }
        }
        // 34: the server is busy hashing; try again shortly.
        std::thread::sleep(Duration::from_millis(500));
    }
    anyhow::bail!("still answered 34 after 30 tries")
}

/// Every client connects; then all send hello and their login at once
/// (the token when given, else the password); the answers are read.
fn wave(
    addr: SocketAddr,
    ids: &[String],
    tokens: Option<&[Vec<u8>]>,
    timeout: Duration,
) -> anyhow::Result<Wave> {
    let mut clients = Vec::with_capacity(ids.len());
    for _ in ids {
        clients.push(connect(addr, timeout)?);
    }
    let mut frames: Vec<Vec<u8>> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let mut frame = Vec::new();
        hello().encode(&mut frame)?;
        match tokens.and_then(|t| t.get(i)) {
            Some(token) => LoginTokenReq { token }.encode(&mut frame),
            None => LoginReq::new(id, "pw")?.encode(&mut frame),
        }
        frames.push(frame);
    }
    let start = Instant::now();
    for (client, frame) in clients.iter_mut().zip(&frames) {
        client.send_raw(frame)?;
    }
    let mut codes = std::collections::BTreeMap::new();
    let mut unanswered = 0;
    let mut last_answer = Duration::ZERO;
    for client in &mut clients {
        let code = loop {
            match client.recv() {
                Ok(ServerPacket::LoginTokenRes(res)) => break Some(res.result.code()),
                Ok(ServerPacket::LoginRes(res)) => break Some(res.result.code()),
                Ok(_) => continue,
                Err(_) => break None,
            }
        };
        match code {
            Some(code) => {
                *codes.entry(code).or_insert(0) += 1;
                last_answer = start.elapsed();
            }
            None => unanswered += 1,
        }
    }
    Ok(Wave {
        last_answer,
        codes,
        unanswered,
    })
}
