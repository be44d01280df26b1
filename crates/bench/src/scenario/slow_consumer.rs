//! `slow-consumer`: a room where one member stops reading; the others'
//! deliveries and latency, and whether the server cuts the slow one off.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;

use crate::cli::{check_chat_shape, ChatSystem, SlowConsumerArgs};
use crate::load;
use crate::load::chat::send_order::SendOrder;
use crate::load::chat::{ChatPlan, SlowPlan};
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::report::chat::ChatReport;
use crate::report::json::JsonObject;
use crate::report::out;
use crate::report::percentiles::{self, P99};
use crate::report::progress::{chat_message, Bar};

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
        transport: crate::cli::ChatTransport::Tcp,
        tls: args.tls.client(false)?,
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
    let outcome = load::chat::run(&plan, &mut |p| bar.update(p.elapsed, || chat_message(p)))?;
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
            percentiles::of(&outcome.latency_ns)
                .map_or("–".into(), |p| format!("{:.2}", p[P99] / 1000.0))
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
