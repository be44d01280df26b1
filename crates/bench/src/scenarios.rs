//! The scenarios built on the storm and chat loads: `connect-storm`,
//! `login-storm`, `slow-consumer` and `soak`, each with its human summary
//! and its `--json` object.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;

use crate::chat_load::{self, ChatOutcome, ChatPlan, Progress, SlowPlan};
use crate::chat_report::ChatReport;
use crate::cli::{
    check_chat_shape, ChatSystem, ConnectStormArgs, LoginStormArgs, SlowConsumerArgs, SoakArgs,
    MAX_SECS, MAX_STORM_RATE,
};
use crate::connect::{check_fd_limit, resolve_target};
use crate::json::{array, JsonObject};
use crate::out;
use crate::progress::Bar;
use crate::send_order::SendOrder;
use crate::storm::{self, code_name, After, Probe, Step, StormOutcome, StormPlan};

/// Exit status when no connection opened at all.
const EXIT_NO_PROGRESS: u8 = 3;

/// p50, p90, p99, p99.9, max and mean of a histogram of ns, in µs.
fn percentiles_us(h: &Histogram<u64>) -> Option<[f64; 6]> {
    let us = |ns: u64| ns as f64 / 1000.0;
    (!h.is_empty()).then(|| {
        [
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.max()),
            h.mean() / 1000.0,
        ]
    })
}

/// One human line of percentiles, or what to say when there are none.
fn percentile_line(label: &str, h: &Histogram<u64>, note: &str) -> String {
    match percentiles_us(h) {
        Some([p50, p90, p99, p999, max, mean]) => format!(
            "  {label:<11} p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  mean {mean:.1}  {note}\n"
        ),
        None => format!("  {label:<11} (no samples)\n"),
    }
}

/// Adds `<prefix>_p50_us` ... `<prefix>_mean_us`.
fn json_percentiles(j: &mut JsonObject, prefix: &str, h: &Histogram<u64>) {
    let p = percentiles_us(h);
    for (i, key) in ["p50", "p90", "p99", "p999", "max", "mean"]
        .iter()
        .enumerate()
    {
        j.opt_float(&format!("{prefix}_{key}_us"), p.map(|p| p[i]), 1);
    }
}

/// Progress message of a chat load.
fn chat_message(p: &Progress) -> String {
    format!("sent {}  delivered {}", p.sent, p.delivered)
}

fn failures_line(o: &StormOutcome) -> String {
    if o.failures.is_empty() {
        return "none".into();
    }
    o.failures
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn storm_json_common(j: &mut JsonObject, o: &StormOutcome) {
    j.int("attempts", o.attempts)
        .int("connected", o.connected)
        .int("answered", o.answered)
        .int("failed", o.failed())
        .counts("failures", o.failures.iter().map(|(k, n)| (*k, *n)));
    json_percentiles(j, "connect", &o.connect_ns);
    json_percentiles(j, "answer", &o.answer_ns);
    let lag = percentiles_us(&o.lag_ns);
    j.opt_float("lag_p99_us", lag.map(|l| l[2]), 1)
        .opt_float("lag_max_us", lag.map(|l| l[4]), 1)
        .opt_string("first_error", o.first_error.as_deref())
        .string("stopped_by", &o.stopped_by)
        .float("elapsed_secs", o.elapsed_secs, 3)
        .float("gen_cpu_percent", o.generator_cpu.percent(), 1)
        .opt_float(
            "gen_runq_wait_percent",
            o.generator_cpu.waiting_percent(),
            1,
        );
}

/// Runs `connect-storm` and prints its report.
///
/// # Errors
///
/// A refused target, bad arguments, or a too-low open-file limit.
pub fn connect_storm(args: &ConnectStormArgs) -> anyhow::Result<ExitCode> {
    if args.start_rate > args.max_rate {
        bail!(
            "--start-rate {} is above --max-rate {}",
            args.start_rate,
            args.max_rate
        );
    }
    let addr = resolve_target(&args.target)?;
    let steps = storm::rising_steps(
        args.start_rate,
        args.factor,
        args.max_rate,
        args.step_secs.as_secs_f64(),
    );
    // Held connections need a descriptor each; with --close only the
    // attempts in flight do, and running out is counted as the failure kind
    // "fd limit (generator)".
    let (after, max_attempts) = if args.close {
        (After::Close, args.attempts)
    } else {
        check_fd_limit(args.connections)?;
        (After::Hold, u64::from(args.connections))
    };
    let planned: f64 = steps.iter().map(|s| s.secs).sum();
    if planned > MAX_SECS {
        bail!(
            "the schedule ({} steps of {:.1} s) lasts {planned:.0} s, more than the {MAX_SECS} s allowed: \
             raise --factor or --start-rate, lower --max-rate or --step-secs",
            steps.len(),
            args.step_secs.as_secs_f64()
        );
    }
    let plan = StormPlan {
        addr,
        probe: Probe::Echo,
        after,
        steps,
        max_attempts,
        timeout: args.timeout,
        stop_failure_percent: Some(args.max_failure_percent),
    };
    let bar = Bar::new("connect-storm", Duration::from_secs_f64(planned));
    let outcome = storm::run(&plan, &mut |p| {
        bar.update(p.elapsed, || {
            format!(
                "{:.0}/s  attempts {}  answered {}  failed {}",
                p.rate, p.attempts, p.answered, p.failed
            )
        });
    })?;
    bar.finish();
    let limit = args.max_failure_percent;
    let reached = outcome
        .steps
        .iter()
        .filter(|s| s.attempts > 0 && s.failed_percent() <= limit)
        .map(|s| s.rate)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        });
    let mode = if args.close { "close" } else { "hold" };
    if args.json {
        let mut j = JsonObject::new();
        j.string("scenario", "connect-storm")
            .string("target", &addr.to_string())
            .string("mode", mode)
            .float("start_rate", args.start_rate, 1)
            .float("factor", args.factor, 3)
            .float("max_rate", args.max_rate, 1)
            .float("step_secs", args.step_secs.as_secs_f64(), 3)
            .float("max_failure_percent", limit, 2)
            .opt_float("reached_rate", reached, 1);
        storm_json_common(&mut j, &outcome);
        j.int("held_open", outcome.held_open)
            .int("held_closed", outcome.held_closed);
        let steps = outcome.steps.iter().map(|s| {
            let mut o = JsonObject::new();
            o.float("rate", s.rate, 1)
                .int("attempts", s.attempts)
                .int("connected", s.connected)
                .int("answered", s.answered)
                .int("failed", s.failed)
                .float("failed_percent", s.failed_percent(), 2)
                .float("connected_per_sec", s.connected as f64 / s.secs, 1);
            json_percentiles(&mut o, "connect", &s.connect_ns);
            let a = percentiles_us(&s.answer_ns);
            o.opt_float("answer_p99_us", a.map(|a| a[2]), 1);
            o.finish()
        });
        j.raw("steps", &array(steps));
        out::line(&j.finish())?;
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "connect-storm {addr}: {} to {} attempts/s (x{} every {:.1} s), {mode}, each probed with a DEV_ECHO",
            args.start_rate,
            plan.steps.last().map_or(0.0, |s| s.rate),
            args.factor,
            args.step_secs.as_secs_f64()
        );
        s.push_str("  step rate/s  attempts  connected  answered  failed  connect p50 / p99 ms  echo p99 ms\n");
        for st in &outcome.steps {
            let c = percentiles_us(&st.connect_ns);
            let a = percentiles_us(&st.answer_ns);
            let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.2}", v / 1000.0));
            let _ = writeln!(
                s,
                "  {:>11.0}  {:>8}  {:>9}  {:>8}  {:>6}  {:>8} / {:<8}  {:>10}",
                st.rate,
                st.attempts,
                st.connected,
                st.answered,
                st.failed,
                ms(c.map(|c| c[0])),
                ms(c.map(|c| c[2])),
                ms(a.map(|a| a[2]))
            );
        }
        let _ = writeln!(
            s,
            "  reached     {} (highest step with <= {limit} % failed attempts); stopped by {}",
            reached.map_or("no step".to_string(), |r| format!("{r:.0} connections/s")),
            outcome.stopped_by
        );
        let _ = writeln!(
            s,
            "  totals      {} attempts, {} connected, {} answered, {} failed: {}",
            outcome.attempts,
            outcome.connected,
            outcome.answered,
            outcome.failed(),
            failures_line(&outcome)
        );
        if let Some(e) = &outcome.first_error {
            let _ = writeln!(s, "    first failure: {e}");
        }
        s.push_str(&percentile_line(
            "connect µs",
            &outcome.connect_ns,
            "(from the scheduled attempt time)",
        ));
        s.push_str(&percentile_line(
            "echo µs",
            &outcome.answer_ns,
            "(connect and DEV_ECHO round trip, from the scheduled time)",
        ));
        if !args.close {
            let _ = writeln!(
                s,
                "  held        {} open at the end, {} closed by the server while held",
                outcome.held_open, outcome.held_closed
            );
        }
        outcome.generator_cpu.write_generator_summary(&mut s);
        out::line(s.trim_end())?;
    }
    if outcome.connected == 0 {
        eprintln!(
            "ringport-bench: no connection opened: {}",
            outcome.first_error.as_deref().unwrap_or("unknown error")
        );
        return Ok(ExitCode::from(EXIT_NO_PROGRESS));
    }
    Ok(ExitCode::SUCCESS)
}

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
    let chat_plan = (args.chat_room_members > 0).then(|| ChatPlan {
        addr,
        system: ChatSystem::Ringport,
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
            chat_load::prepare(p).context("setting up the chat room that runs during the storm")
        })
        .transpose()?;
    let plan = StormPlan {
        addr,
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
            .string("target", &addr.to_string())
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
            "(connect and login, from the scheduled time)",
        ));
        s.push_str(&percentile_line(
            "connect µs",
            &outcome.connect_ns,
            "(from the scheduled time)",
        ));
        let lag = percentiles_us(&outcome.lag_ns);
        if let Some(l) = lag {
            let _ = writeln!(
                s,
                "  start lag µs p99 {:.1}  max {:.1}  (generator behind its schedule)",
                l[2], l[4]
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
        let hint = ringport_proto::ResultCode::from_u16(code).map_or("", chat_load::login_hint);
        eprintln!(
            "ringport-bench: the server refused {n} login(s): {}{hint}",
            code_name(code)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `slow-consumer` and prints its report.
///
/// # Errors
///
/// A refused target, bad arguments, or a setup error (refused logins, a
/// room too small).
pub fn slow_consumer(args: &SlowConsumerArgs) -> anyhow::Result<ExitCode> {
    check_chat_shape(
        1,
        args.members,
        args.size,
        &args.user_prefix,
        args.rate,
        args.warmup + args.duration,
    )?;
    let stop_at = args.stop_after.unwrap_or(args.warmup);
    if stop_at >= args.warmup + args.duration {
        bail!(
            "--stop-after {:.1} s is not before the end of the load ({:.1} s)",
            stop_at.as_secs_f64(),
            (args.warmup + args.duration).as_secs_f64()
        );
    }
    let addr = resolve_target(&args.target)?;
    check_fd_limit(args.members)?;
    let plan = ChatPlan {
        addr,
        system: ChatSystem::Ringport,
        rooms: 1,
        members: args.members,
        room_start: args.room,
        rate: args.rate,
        size: args.size,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        user_prefix: args.user_prefix.clone(),
        server_pid: args.server_pid,
        slow: Some(SlowPlan {
            member: 0,
            stop_at,
            drain: args.slow_drain,
        }),
        order: SendOrder::Random,
        seed: 1,
    };
    let bar = Bar::new("slow-consumer", args.warmup + args.duration);
    let outcome = chat_load::run(&plan, &mut |p| bar.update(p.elapsed, || chat_message(p)))?;
    bar.finish();
    let report = ChatReport::new(&plan, &outcome);
    let Some(slow) = outcome.slow.as_ref() else {
        bail!("the load did not report on the slow member"); // cannot happen: the plan has one
    };
    let others = u64::from(args.members) - 1;
    let others_clean = report.missing() == 0 && report.correct();
    let notified = slow.leave_notices >= others;
    let pass = report.pass() && slow.cut_off() && notified;
    let cut_off_after = slow
        .first_leave_notice_secs
        .map(|t| t - slow.stopped_at_secs);
    let slow_id = format!("{}0", args.user_prefix);
    if args.json {
        let mut j = JsonObject::new();
        j.string("scenario", "slow-consumer")
            .raw("chat", &report.json())
            .string("slow_user", &slow_id)
            .float("slow_stopped_at_secs", slow.stopped_at_secs, 3)
            .int("slow_read_before_stop", slow.read_before_stop)
            .int("leave_notices", slow.leave_notices)
            .int("others", others)
            .opt_float("leave_notice_at_secs", slow.first_leave_notice_secs, 3)
            .opt_float("cut_off_after_secs", cut_off_after, 3)
            .int("slow_drained_deliveries", slow.drained_deliveries)
            .int("slow_drained_bytes", slow.drained_bytes)
            .string("slow_end", &slow.end)
            .bool("slow_cut_off", slow.cut_off())
            .bool("others_clean", others_clean)
            .bool("pass", pass);
        out::line(&j.finish())?;
    } else {
        let mut s = report.human();
        // The chat summary's own verdict is about the others only.
        let _ = writeln!(
            s,
            "  slow member {slow_id} stopped reading at {:.2} s (it had read {} deliveries; it sends nothing)",
            slow.stopped_at_secs, slow.read_before_stop
        );
        match (slow.first_leave_notice_secs, cut_off_after) {
            (Some(at), Some(after)) => {
                let _ = writeln!(
                    s,
                    "  cut off     the others were told it left (217) at {at:.2} s, {after:.2} s after it stopped reading ({} notices for {others} others)",
                    slow.leave_notices
                );
            }
            _ => {
                let _ = writeln!(s, "  cut off     no 217 (member left) reached the others");
                s.push_str("    note: the server's kernel send buffer (up to tcp_wmem's maximum, often 4 MiB) fills before its own queue limit counts: run longer or at a higher --rate\n");
            }
        }
        let _ = writeln!(
            s,
            "  its socket  held {} more deliveries ({:.1} KiB); read empty, the connection {}",
            slow.drained_deliveries,
            slow.drained_bytes as f64 / 1024.0,
            match slow.end.as_str() {
                "closed" => "was closed by the server".to_string(),
                "reset" => "was reset by the server".to_string(),
                "open" => format!(
                    "was STILL OPEN after {:.1} s: the server did not cut it off",
                    args.slow_drain.as_secs_f64()
                ),
                other => format!("ended with {other}"),
            }
        );
        let _ = writeln!(
            s,
            "  others      {}: missing {}, p99 {} ms",
            if others_clean {
                "unaffected, every delivery arrived"
            } else {
                "AFFECTED"
            },
            report.missing(),
            percentiles_us(&outcome.latency_ns)
                .map_or("–".into(), |p| format!("{:.2}", p[2] / 1000.0))
        );
        let _ = writeln!(
            s,
            "  verdict     {} (needs the others' run to pass, the slow member cut off and every other member told)",
            if pass { "PASS" } else { "FAIL" }
        );
        out::line(s.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One sample of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    rss_kib: Option<u64>,
    fds: Option<u64>,
}

/// `VmRSS` of a process in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Open file descriptors of a process.
fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// Runs `soak` and prints its report.
///
/// # Errors
///
/// A refused target, bad arguments, a server pid that cannot be read, or a
/// setup error.
pub fn soak(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    check_chat_shape(
        args.rooms,
        args.members,
        args.size,
        &args.user_prefix,
        args.rate,
        args.warmup + args.duration,
    )?;
    let addr = resolve_target(&args.target)?;
    check_fd_limit(args.rooms * args.members)?;
    let pid = args.server_pid;
    if rss_kib(pid).is_none() {
        bail!("--server-pid {pid}: cannot read /proc/{pid}/status (no such process, or not ours)");
    }
    let plan = ChatPlan {
        addr,
        system: args.system,
        rooms: args.rooms,
        members: args.members,
        room_start: 0,
        rate: args.rate,
        size: args.size,
        warmup: args.warmup,
        duration: args.duration,
        drain: args.drain,
        user_prefix: args.user_prefix.clone(),
        server_pid: Some(pid),
        slow: None,
        order: SendOrder::Random,
        seed: 1,
    };
    let prepared = chat_load::prepare(&plan)?;
    let samples = Mutex::new(Vec::<Sample>::new());
    let stop = AtomicBool::new(false);
    let bar = Bar::new("soak", args.warmup + args.duration);
    let start = Instant::now();
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut next = start;
            loop {
                let sample = Sample {
                    secs: start.elapsed().as_secs_f64(),
                    rss_kib: rss_kib(pid),
                    fds: open_fds(pid),
                };
                if let Ok(mut v) = samples.lock() {
                    v.push(sample);
                }
                next += args.sample_every;
                while Instant::now() < next {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50).min(args.sample_every));
                }
            }
        });
        let result = prepared.run(&plan, &mut |p| {
            bar.update(p.elapsed, || {
                let last = samples.lock().ok().and_then(|v| v.last().copied());
                let rss = last
                    .and_then(|s| s.rss_kib)
                    .map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
                format!("{}  server RSS {rss} MiB", chat_message(p))
            });
        });
        stop.store(true, Ordering::Relaxed);
        result
    });
    bar.finish();
    let outcome = outcome?;
    let mut samples = samples.into_inner().unwrap_or_default();
    // One last sample after the load.
    samples.push(Sample {
        secs: start.elapsed().as_secs_f64(),
        rss_kib: rss_kib(pid),
        fds: open_fds(pid),
    });
    let report = ChatReport::new(&plan, &outcome);
    let errors = outcome.closed_by_server + outcome.io_errors + outcome.protocol_errors;
    let pass = report.correct() && report.missing() == 0 && errors == 0 && outcome.expected > 0;
    let rss: Vec<u64> = samples.iter().filter_map(|s| s.rss_kib).collect();
    let fds: Vec<u64> = samples.iter().filter_map(|s| s.fds).collect();
    let first_last_max = |v: &[u64]| {
        v.first()
            .zip(v.last())
            .map(|(&a, &b)| (a, b, v.iter().copied().max().unwrap_or(b)))
    };
    let rss_flm = first_last_max(&rss);
    let fds_flm = first_last_max(&fds);
    if args.json {
        let mut j = JsonObject::new();
        j.string("scenario", "soak")
            .raw("chat", &report.json())
            .int("server_pid", u64::from(pid))
            .float("sample_every_secs", args.sample_every.as_secs_f64(), 3)
            .int("samples_taken", samples.len() as u64);
        let (a, b, m) = rss_flm.map_or((None, None, None), |(a, b, m)| (Some(a), Some(b), Some(m)));
        j.opt_float("rss_first_kib", a.map(|v| v as f64), 0)
            .opt_float("rss_last_kib", b.map(|v| v as f64), 0)
            .opt_float("rss_max_kib", m.map(|v| v as f64), 0);
        let (a, b, m) = fds_flm.map_or((None, None, None), |(a, b, m)| (Some(a), Some(b), Some(m)));
        j.opt_float("fds_first", a.map(|v| v as f64), 0)
            .opt_float("fds_last", b.map(|v| v as f64), 0)
            .opt_float("fds_max", m.map(|v| v as f64), 0);
        let list = samples.iter().map(|s| {
            let mut o = JsonObject::new();
            o.float("secs", s.secs, 2)
                .opt_float("rss_kib", s.rss_kib.map(|v| v as f64), 0)
                .opt_float("fds", s.fds.map(|v| v as f64), 0);
            o.finish()
        });
        j.raw("samples", &array(list)).bool("pass", pass);
        out::line(&j.finish())?;
    } else {
        let mut s = report.human();
        let _ = writeln!(
            s,
            "  server      pid {pid} sampled every {:.1} s ({} samples):",
            args.sample_every.as_secs_f64(),
            samples.len()
        );
        s.push_str("      t s   RSS MiB   open fds\n");
        // At most ~24 rows: every k-th sample, and always the last.
        let k = samples.len().div_ceil(24).max(1);
        for (i, smp) in samples.iter().enumerate() {
            if i % k != 0 && i + 1 != samples.len() {
                continue;
            }
            let _ = writeln!(
                s,
                "  {:>7.1}  {:>8}  {:>9}",
                smp.secs,
                smp.rss_kib
                    .map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
                smp.fds.map_or("?".into(), |f| f.to_string())
            );
        }
        if let Some((a, b, m)) = rss_flm {
            let _ = writeln!(
                s,
                "  RSS         {:.1} -> {:.1} MiB (max {:.1}, growth {:+.1} MiB)",
                a as f64 / 1024.0,
                b as f64 / 1024.0,
                m as f64 / 1024.0,
                (b as f64 - a as f64) / 1024.0
            );
        }
        if let Some((a, b, m)) = fds_flm {
            let _ = writeln!(s, "  open fds    {a} -> {b} (max {m})");
        }
        let _ = writeln!(
            s,
            "  verdict     {} (needs zero missing, no duplicate/foreign/corrupt delivery, no connection error)",
            if pass { "PASS" } else { "FAIL" }
        );
        out::line(s.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}
