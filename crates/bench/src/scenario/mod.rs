//! The scenarios built on the storm and chat loads, one file each, with
//! their human summary and their `--json` object:
//!
//! * `connect-storm`: [`connect_storm()`];
//! * `login-storm` (and its busy room): [`login_storm()`];
//! * `reconnect-storm` (tokens against passwords): [`reconnect_storm()`];
//! * `slow-consumer`: [`slow_consumer()`];
//! * `soak`: [`soak()`].
//!
//! This module holds what their reports share.

mod connect_storm;
mod login_storm;
mod reconnect_storm;
mod slow_consumer;
mod soak;

pub use connect_storm::connect_storm;
pub use login_storm::login_storm;
pub use reconnect_storm::reconnect_storm;
pub use slow_consumer::slow_consumer;
pub use soak::soak;

use hdrhistogram::Histogram;

use crate::load::storm::StormOutcome;
use crate::report::json::JsonObject;
use crate::report::percentiles::{self, MAX, P99};

/// One human line of percentiles, or what to say when there are none.
pub(super) fn percentile_line(label: &str, h: &Histogram<u64>, note: &str) -> String {
    match percentiles::of(h) {
        Some(p) => format!("  {label:<11} {}  {note}\n", percentiles::human(p)),
        None => format!("  {label:<11} (no samples)\n"),
    }
}

/// The failures of a storm by kind, in words.
pub(super) fn failures_line(o: &StormOutcome) -> String {
    if o.failures.is_empty() {
        return "none".into();
    }
    o.failures
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON keys both storms report.
pub(super) fn storm_json_common(j: &mut JsonObject, o: &StormOutcome) {
    j.int("attempts", o.attempts)
        .int("connected", o.connected)
        .int("answered", o.answered)
        .int("failed", o.failed())
        .counts("failures", o.failures.iter().map(|(k, n)| (*k, *n)));
    percentiles::write_json(j, "connect_", percentiles::of(&o.connect_ns));
    percentiles::write_json(j, "answer_", percentiles::of(&o.answer_ns));
    percentiles::write_json(j, "handshake_", percentiles::of(&o.handshake_ns));
    let lag = percentiles::of(&o.lag_ns);
    j.opt_float("lag_p99_us", lag.map(|l| l[P99]), 1)
        .opt_float("lag_max_us", lag.map(|l| l[MAX]), 1)
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

/// `VmRSS` of a process in KiB.
pub(super) fn rss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Open file descriptors of a process.
pub(super) fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}
