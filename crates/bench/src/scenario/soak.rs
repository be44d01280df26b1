//! `soak`: many connections chatting at a moderate rate for a long time
//! while the server's RSS and open fds are sampled.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::{open_fds, rss_kib};
use crate::cli::{check_chat_shape, SoakArgs};
use crate::load;
use crate::load::chat::send_order::SendOrder;
use crate::load::chat::ChatPlan;
use crate::load::connect::{check_fd_limit, resolve_target};
use crate::report::chat::ChatReport;
use crate::report::json::{array, JsonObject};
use crate::report::out;
use crate::report::progress::{chat_message, Bar};

/// One sample of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    rss_kib: Option<u64>,
    fds: Option<u64>,
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
    if args.tls.tls && args.system != crate::cli::ChatSystem::Ringport {
        bail!("--tls is for --system ringport");
    }
    let plan = ChatPlan {
        addr,
        system: args.system,
        transport: crate::cli::ChatTransport::Tcp,
        tls: args.tls.client(false)?,
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
    let prepared = load::chat::prepare(&plan)?;
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
