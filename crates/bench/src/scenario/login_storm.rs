//! `login-storm`: logins with fresh ids at a fixed rate or in one burst,
//! optionally with a busy chat room alongside.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::{failures_line, percentile_line, rss_kib, storm_json_common};
use crate::cli::{check_chat_shape, ChatSystem, LoginStormArgs, MAX_STORM_RATE};
use crate::load;
use crate::load::chat::send_order::SendOrder;
use crate::load::chat::{ChatOutcome, ChatPlan};
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::load::storm::{self, code_name, After, Probe, Step, StormPlan};
use crate::report::chat::ChatReport;
use crate::report::json::JsonObject;
use crate::report::out;
use crate::report::percentiles::{self, MAX, P99};
use crate::report::progress::Bar;
use crate::report::tls;

/// Runs `login-storm` (and its chat room) and prints its report.
///
/// # Errors
///
/// A refused target, bad arguments, a too-low open-file limit, or a chat
/// room that cannot be set up (refused logins, a room too small).
pub fn login_storm(args: &LoginStormArgs) -> anyhow::Result<ExitCode> {
    args.validate()?;
    let addr = resolve_target(&args.target)?;
    let prefix = args.prefix();
    // A burst is one step at the highest rate the schedule allows.
    let (rate, duration) = match args.burst {
        Some(n) => (
            MAX_STORM_RATE,
            Duration::from_secs_f64(n as f64 / MAX_STORM_RATE),
        ),
        None => (args.rate, args.duration),
    };
    let logins = args
        .burst
        .unwrap_or((rate * duration.as_secs_f64()).ceil() as u64);
    // The room's members need a descriptor each; the logins in flight
    // too, but running out of those is counted ("fd limit (generator)").
    check_fd_limit(args.chat_room_members)?;
    let chat_warmup = Duration::from_secs(1);
    let tls = args.tls.client(false)?;
    let chat_plan = (args.chat_room_members > 0).then(|| ChatPlan {
        addr,
        system: ChatSystem::Ringport,
        transport: crate::cli::ChatTransport::Tcp,
        tls: tls.clone(),
        rooms: 1,
        members: args.chat_room_members,
        room_start: args.chat_room,
        rate: args.chat_rate,
        size: 64,
        warmup: chat_warmup,
        duration: args.duration,
        drain: Duration::from_secs(2),
        user_prefix: format!("{prefix}c"),
        server_pid: args.server_pid,
        slow: None,
        order: SendOrder::Random,
        seed: 1,
    });
    if let Some(p) = &chat_plan {
        check_chat_shape(
            1,
            p.members,
            p.size,
            &p.user_prefix,
            p.rate,
            p.warmup + p.duration,
        )?;
    }
    let prepared = chat_plan
        .as_ref()
        .map(|p| {
            load::chat::prepare(p).context("setting up the chat room that runs during the storm")
        })
        .transpose()?;
    let plan = StormPlan {
        addr,
        tls,
        probe: Probe::Login {
            prefix: prefix.clone(),
        },
        after: After::Close,
        steps: vec![Step {
            rate,
            secs: duration.as_secs_f64(),
        }],
        max_attempts: logins,
        timeout: args.timeout,
        stop_failure_percent: None,
    };
    let bar = Bar::new("login-storm", duration);
    let (outcome, chat) = std::thread::scope(|scope| {
        let chat = match (prepared, &chat_plan) {
            (Some(prepared), Some(p)) => Some(scope.spawn(move || prepared.run(p, &mut |_| {}))),
            _ => None,
        };
        if chat.is_some() {
            // The storm starts as the room's measured window does.
            std::thread::sleep(chat_warmup);
        }
        let outcome = storm::run(&plan, &mut |p| {
            bar.update(p.elapsed, || {
                format!(
                    "logins {}  answered {}  failed {}",
                    p.attempts, p.answered, p.failed
                )
            });
        });
        let chat = chat.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the chat room's thread panicked")))
        });
        (outcome, chat)
    });
    bar.finish();
    let outcome = outcome?;
    let chat: Option<ChatOutcome> = chat.transpose()?;
    let ok = outcome.codes.get(&0).copied().unwrap_or(0);
    let refused: u64 = outcome
        .codes
        .iter()
        .filter(|(&c, _)| c != 0)
        .map(|(_, n)| n)
        .sum();
    let window = outcome.elapsed_secs.max(duration.as_secs_f64());
    let achieved = ok as f64 / window;
    // A rate passes when every login succeeded; a burst when every login
    // was answered (34 under overload is an answer), none closed or lost.
    let pass = outcome.attempts > 0
        && match args.burst {
            Some(_) => outcome.answered == outcome.attempts && outcome.failed() == 0,
            None => ok == outcome.attempts,
        };
    let rss = args.server_pid.and_then(rss_kib);
    let chat_report = chat
        .as_ref()
        .zip(chat_plan.as_ref())
        .map(|(o, p)| ChatReport::new(p, o));
    let codes: Vec<(String, u64)> = outcome
        .codes
        .iter()
        .map(|(&c, &n)| (code_name(c), n))
        .collect();
    if args.json {
        let mut j = JsonObject::new();
        j.string("scenario", "login-storm")
            .string("target", &addr.to_string());
        tls::json(&mut j, plan.tls.as_deref(), outcome.tls.as_ref())
            .string("user_prefix", &prefix)
            .float("rate", rate, 1)
            .float("duration_secs", duration.as_secs_f64(), 3)
            .opt_int("burst", args.burst)
            .float("last_answer_secs", outcome.elapsed_secs, 3)
            .opt_int("server_rss_kib", rss)
            .int("logins_ok", ok)
            .int("logins_refused", refused)
            .float("logins_per_sec", achieved, 1)
            .counts("codes", codes.iter().map(|(k, n)| (k.as_str(), *n)));
        storm_json_common(&mut j, &outcome);
        match &chat_report {
            Some(r) => j.raw("chat", &r.json()),
            None => j.null("chat"),
        };
        j.bool("pass", pass);
        out::line(&j.finish())?;
    } else {
        let mut s = String::new();
        match args.burst {
            Some(n) => {
                let _ = writeln!(
                    s,
                    "login-storm {addr}: a burst of {n} logins at once with fresh ids ({prefix}N, password pw), one connection each; last answer after {:.2} s{}",
                    outcome.elapsed_secs,
                    rss.map_or(String::new(), |k| format!("; server RSS {:.1} MiB", k as f64 / 1024.0))
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "login-storm {addr}: {rate} logins/s with fresh ids ({prefix}N, password pw) for {:.1} s, one connection each",
                    duration.as_secs_f64()
                );
            }
        }
        tls::human(
            &mut s,
            plan.tls.as_deref(),
            outcome.tls.as_ref(),
            "a full handshake per login, part of its latency",
        );
        let _ = writeln!(
            s,
            "  logins      {} attempted, {} answered, {ok} ok, {refused} refused, {} failed; {achieved:.1} ok logins/s over {window:.1} s",
            outcome.attempts,
            outcome.answered,
            outcome.failed()
        );
        let names: Vec<String> = codes.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        let _ = writeln!(
            s,
            "  answers     {}",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
        let _ = writeln!(s, "  failures    {}", failures_line(&outcome));
        if let Some(e) = &outcome.first_error {
            let _ = writeln!(s, "    first failure: {e}");
        }
        s.push_str(&percentile_line(
            "login µs",
            &outcome.answer_ns,
            if plan.tls.is_some() {
                "(connect, TLS handshake and login, from the scheduled time)"
            } else {
                "(connect and login, from the scheduled time)"
            },
        ));
        if plan.tls.is_some() {
            s.push_str(&percentile_line(
                "handshake µs",
                &outcome.handshake_ns,
                "(connect and TLS handshake, from the scheduled time)",
            ));
        }
        s.push_str(&percentile_line(
            "connect µs",
            &outcome.connect_ns,
            "(from the scheduled time)",
        ));
        let lag = percentiles::of(&outcome.lag_ns);
        if let Some(l) = lag {
            let _ = writeln!(
                s,
                "  start lag µs p99 {:.1}  max {:.1}  (generator behind its schedule)",
                l[P99], l[MAX]
            );
        }
        outcome.generator_cpu.write_generator_summary(&mut s);
        if let Some(r) = &chat_report {
            let _ = writeln!(
                s,
                "  busy room during the storm (its measured window is the storm's):"
            );
            for line in r.human().lines() {
                let _ = writeln!(s, "  | {line}");
            }
        }
        let _ = writeln!(
            s,
            "  result      {} (needs every login {})",
            if pass { "PASS" } else { "FAIL" },
            if args.burst.is_some() {
                "answered, none closed or unanswered"
            } else {
                "answered NONE (0)"
            }
        );
        out::line(s.trim_end())?;
    }
    for (&code, &n) in &outcome.codes {
        if code == 0 {
            continue;
        }
        let hint = ringport_proto::ResultCode::from_u16(code).map_or("", load::chat::login_hint);
        eprintln!(
            "ringport-bench: the server refused {n} login(s): {}{hint}",
            code_name(code)
        );
    }
    Ok(ExitCode::SUCCESS)
}
