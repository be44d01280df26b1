//! `connect-storm`: new connections at a rising rate until they fail, each
//! probed with a `DEV_ECHO`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use super::{failures_line, percentile_line, storm_json_common};
use crate::cli::{ConnectStormArgs, MAX_SECS};
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::load::storm::{self, After, Probe, StormPlan};
use crate::report::json::{array, JsonObject};
use crate::report::out;
use crate::report::percentiles::{self, P50, P99};
use crate::report::progress::Bar;
use crate::report::tls;
use crate::EXIT_NO_PROGRESS;

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
    let tls = args.tls.client(false)?;
    let plan = StormPlan {
        addr,
        tls,
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
            .string("target", &addr.to_string());
        tls::json(&mut j, plan.tls.as_deref(), outcome.tls.as_ref())
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
            percentiles::write_json(&mut o, "connect_", percentiles::of(&s.connect_ns));
            let a = percentiles::of(&s.answer_ns);
            o.opt_float("answer_p99_us", a.map(|a| a[P99]), 1);
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
        tls::human(
            &mut s,
            plan.tls.as_deref(),
            outcome.tls.as_ref(),
            "a full handshake per connection, part of the echo latency",
        );
        s.push_str("  step rate/s  attempts  connected  answered  failed  connect p50 / p99 ms  echo p99 ms\n");
        for st in &outcome.steps {
            let c = percentiles::of(&st.connect_ns);
            let a = percentiles::of(&st.answer_ns);
            let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.2}", v / 1000.0));
            let _ = writeln!(
                s,
                "  {:>11.0}  {:>8}  {:>9}  {:>8}  {:>6}  {:>8} / {:<8}  {:>10}",
                st.rate,
                st.attempts,
                st.connected,
                st.answered,
                st.failed,
                ms(c.map(|c| c[P50])),
                ms(c.map(|c| c[P99])),
                ms(a.map(|a| a[P99]))
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
        if plan.tls.is_some() {
            s.push_str(&percentile_line(
                "handshake µs",
                &outcome.handshake_ns,
                "(connect and TLS handshake, from the scheduled time)",
            ));
        }
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
