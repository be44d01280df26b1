//! Turning an echo run's outcome into the human summary or one JSON object.

use std::fmt::Write as _;

use crate::cpu::CpuUse;
use crate::load::echo::{EchoOutcome, EchoPlan};
use crate::report::cpu;
use crate::report::json::JsonObject;
use crate::report::percentiles::{self, Percentiles};

/// Generator CPU above which the summary warns that the generator itself
/// may be the bottleneck.
const GENERATOR_BUSY_PERCENT: f64 = 90.0;

/// The figures of one run, derived once for both output forms.
#[derive(Debug)]
pub struct EchoReport<'a> {
    plan: &'a EchoPlan,
    outcome: &'a EchoOutcome,
    msgs_per_sec: f64,
    /// The latency figures (`None` with no samples).
    latency_us: Option<Percentiles>,
    msgs_per_server_cpu_sec: Option<f64>,
}

impl<'a> EchoReport<'a> {
    /// Derives the report of `outcome`.
    pub fn new(plan: &'a EchoPlan, outcome: &'a EchoOutcome) -> EchoReport<'a> {
        let window = plan.duration.as_secs_f64();
        let msgs_per_sec = if window > 0.0 {
            outcome.completed as f64 / window
        } else {
            0.0
        };
        let latency_us = percentiles::of(&outcome.latency_ns);
        // Messages completed per second of server CPU, over the same window.
        let msgs_per_server_cpu_sec = cpu::per_server_cpu_sec(msgs_per_sec, &outcome.server_cpu);
        EchoReport {
            plan,
            outcome,
            msgs_per_sec,
            latency_us,
            msgs_per_server_cpu_sec,
        }
    }

    /// The human-readable multi-line summary.
    pub fn human(&self) -> String {
        let (p, o) = (self.plan, self.outcome);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "echo {}: {} connections ({} open), {} B {}, {:.1} s measured after {:.1} s warmup",
            p.addr,
            p.connections,
            o.connected,
            p.size,
            p.framing.name(),
            p.duration.as_secs_f64(),
            p.warmup.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  throughput  {:.0} msg/s ({} round trips)",
            self.msgs_per_sec, o.completed
        );
        match self.latency_us {
            Some(p) => {
                let _ = writeln!(s, "  latency µs  {}", percentiles::human(p));
            }
            None => s.push_str("  latency µs  (no round trip completed)\n"),
        }
        let _ = writeln!(
            s,
            "  errors      {} (connect {}, closed by server {}, other I/O {})",
            o.errors(),
            o.connect_failures,
            o.closed_by_server,
            o.io_errors
        );
        if let Some(e) = &o.first_error {
            let _ = writeln!(s, "    first error: {e}");
        }
        let _ = writeln!(s, "  mismatches  {}", o.mismatches);
        if let Some(m) = &o.first_mismatch {
            let _ = writeln!(s, "    first mismatch: {m}");
        }
        let g = &o.generator_cpu;
        g.write_generator_summary(&mut s);
        if g.percent() > GENERATOR_BUSY_PERCENT {
            s.push_str(
                "    warning: the generator is near one full core; it may be the bottleneck\n",
            );
        }
        let server = cpu::server_human(
            &mut s,
            p.server_pid,
            &o.server_cpu,
            self.msgs_per_server_cpu_sec,
            "msg",
        );
        if let Some(w) = server.and_then(CpuUse::waiting_percent) {
            let _ = writeln!(s, "              waited for a CPU {w:.1}% of the window");
            if w > crate::cpu::CONTENDED_WAIT_PERCENT {
                s.push_str("    warning: another process competed for the server's CPU; figures are noisy\n");
            }
        }
        s
    }

    /// One JSON object on one line (no trailing newline).
    pub fn json(&self) -> String {
        let (p, o) = (self.plan, self.outcome);
        let mut j = JsonObject::new();
        j.string("target", &p.addr.to_string())
            .int("connections", u64::from(p.connections))
            .int("connected", u64::from(o.connected))
            .int("size", p.size as u64)
            .string("framing", p.framing.name())
            .float("warmup_secs", p.warmup.as_secs_f64(), 3)
            .float("duration_secs", p.duration.as_secs_f64(), 3)
            .int("completed", o.completed)
            .float("msgs_per_sec", self.msgs_per_sec, 1);
        percentiles::write_json(&mut j, "", self.latency_us);
        let g = &o.generator_cpu;
        j.int("errors", o.errors())
            .int("connect_errors", o.connect_failures)
            .int("closed_by_server", o.closed_by_server)
            .int("io_errors", o.io_errors)
            .opt_string("first_error", o.first_error.as_deref())
            .int("mismatches", o.mismatches)
            .opt_string("first_mismatch", o.first_mismatch.as_deref());
        cpu::generator_json(&mut j, g).bool("gen_busy", g.percent() > GENERATOR_BUSY_PERCENT);
        cpu::server_json(
            &mut j,
            p.server_pid,
            &o.server_cpu,
            "msgs_per_server_cpu_sec",
            self.msgs_per_server_cpu_sec,
        );
        j.finish()
    }
}
