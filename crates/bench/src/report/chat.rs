//! Turning a `chat` run's outcome into the human summary or one JSON
//! object, and the pass criteria of the room fan-out benchmark.

use std::fmt::Write as _;

use crate::cpu::{CpuUse, CONTENDED_WAIT_PERCENT};
use crate::load::chat::{ChatOutcome, ChatPlan};
use crate::report::cpu;
use crate::report::json::JsonObject;
use crate::report::percentiles::{self, Percentiles, MAX, P50, P99};
use crate::report::tls;

/// A run passes with at least this share of the expected deliveries...
pub const PASS_DELIVERED_PERCENT: f64 = 99.9;

/// ...and a 99th percentile latency below this (from the scheduled send
/// time), and no duplicate, foreign or corrupt delivery.
pub const PASS_P99_MS: f64 = 50.0;

/// Generator CPU from which a run's limit is the generator's, not the
/// server's.
pub const GENERATOR_SATURATED_PERCENT: f64 = 95.0;

/// The figures of one run, derived once for both output forms.
#[derive(Debug)]
pub struct ChatReport<'a> {
    plan: &'a ChatPlan,
    outcome: &'a ChatOutcome,
    delivered_percent: f64,
    deliveries_per_sec: f64,
    /// The latency figures (`None` with no samples).
    latency_us: Option<Percentiles>,
    /// The send lag figures (of which p50, p99 and max are reported).
    lag_us: Option<Percentiles>,
    deliveries_per_server_cpu_sec: Option<f64>,
}

impl<'a> ChatReport<'a> {
    /// Derives the report of `outcome`.
    pub fn new(plan: &'a ChatPlan, outcome: &'a ChatOutcome) -> ChatReport<'a> {
        let window = plan.duration.as_secs_f64();
        let deliveries_per_sec = if window > 0.0 {
            outcome.delivered as f64 / window
        } else {
            0.0
        };
        let delivered_percent = if outcome.expected > 0 {
            100.0 * outcome.delivered as f64 / outcome.expected as f64
        } else {
            0.0
        };
        let latency_us = percentiles::of(&outcome.latency_ns);
        let lag_us = percentiles::of(&outcome.lag_ns);
        let deliveries_per_server_cpu_sec =
            cpu::per_server_cpu_sec(deliveries_per_sec, &outcome.server_cpu);
        ChatReport {
            plan,
            outcome,
            delivered_percent,
            deliveries_per_sec,
            latency_us,
            lag_us,
            deliveries_per_server_cpu_sec,
        }
    }

    /// Deliveries expected but not received.
    pub fn missing(&self) -> u64 {
        self.outcome.expected.saturating_sub(self.outcome.delivered)
    }

    /// Whether every delivery was a correct one: no duplicate, foreign or
    /// corrupt delivery.
    pub fn correct(&self) -> bool {
        let o = self.outcome;
        o.duplicates == 0 && o.foreign == 0 && o.corrupt == 0
    }

    /// Whether the run meets the benchmark's bar: enough delivered, p99
    /// below the limit, every delivery correct.
    pub fn pass(&self) -> bool {
        self.correct()
            && self.outcome.expected > 0
            && self.delivered_percent >= PASS_DELIVERED_PERCENT
            && self
                .latency_us
                .is_some_and(|l| l[P99] < PASS_P99_MS * 1000.0)
    }

    /// Whether the generator used (nearly) a whole core: then the run's
    /// limit may be the generator's.
    pub fn generator_saturated(&self) -> bool {
        self.outcome.generator_cpu.percent() >= GENERATOR_SATURATED_PERCENT
    }

    /// The human-readable multi-line summary.
    pub fn human(&self) -> String {
        let (p, o) = (self.plan, self.outcome);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "chat {} ({}{}) {}: {} rooms x {} members ({} connections, set up in {:.1} s), {} B messages",
            p.system.name(),
            p.transport.name(),
            if p.tls.is_some() { "+tls" } else { "" },
            p.addr,
            p.rooms,
            p.members,
            o.connected,
            o.setup_secs,
            p.size
        );
        tls::human(
            &mut s,
            p.tls.as_deref(),
            o.tls.as_ref(),
            "the handshakes are part of the setup",
        );
        let _ = writeln!(
            s,
            "  offered     {:.0} msg/s = {:.0} deliveries/s, {:.1} s measured after {:.1} s warmup",
            p.rate,
            p.deliveries_per_sec(),
            p.duration.as_secs_f64(),
            p.warmup.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  sent        {} of {} scheduled (unsent in the whole run: {}), answers {} (refused {})",
            o.sent, o.scheduled, o.unsent, o.acks, o.rejected
        );
        if !o.rejected_codes.is_empty() {
            let codes: Vec<String> = o
                .rejected_codes
                .iter()
                .map(|&(c, n)| format!("{} x{n}", crate::load::storm::code_name(c)))
                .collect();
            let _ = writeln!(s, "    refused by code: {}", codes.join(", "));
            if o.rejected_codes.iter().any(|&(c, _)| c == 63) {
                s.push_str("    warning: the server's chat rate limit refused messages: start it with --chat-rate 0 (or above the per-member rate)\n");
            }
        }
        let _ = writeln!(
            s,
            "  delivered   {} of {} ({:.3} %), {:.0} deliveries/s; missing {}, gaps {}, duplicates {}, foreign {}, corrupt {}",
            o.delivered,
            o.expected,
            self.delivered_percent,
            self.deliveries_per_sec,
            self.missing(),
            o.gaps,
            o.duplicates,
            o.foreign,
            o.corrupt
        );
        match self.latency_us {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "  latency µs  {}  (from the scheduled send time)",
                    percentiles::human(p)
                );
            }
            None => s.push_str("  latency µs  (nothing delivered)\n"),
        }
        if let Some(lag) = self.lag_us {
            let (p50, p99, max) = (lag[P50], lag[P99], lag[MAX]);
            let _ = writeln!(
                s,
                "  send lag µs p50 {p50:.1}  p99 {p99:.1}  max {max:.1}  (generator behind its schedule; {})",
                if o.precise_timer { "timerfd wake-ups" } else { "no timerfd: ms wake-ups" }
            );
        }
        let _ = writeln!(
            s,
            "  errors      closed by server {}, other I/O {}, protocol {}; waited {:.2} s for late deliveries",
            o.closed_by_server, o.io_errors, o.protocol_errors, o.drain_secs
        );
        if let Some(e) = &o.first_error {
            let _ = writeln!(s, "    first error: {e}");
        }
        let g = &o.generator_cpu;
        g.write_generator_summary(&mut s);
        if self.generator_saturated() {
            s.push_str("    warning: the generator used a whole core: this run's limit may be the generator's, not the server's\n");
        }
        let server = cpu::server_human(
            &mut s,
            p.server_pid,
            &o.server_cpu,
            self.deliveries_per_server_cpu_sec,
            "deliveries",
        );
        if let Some(w) = server.and_then(CpuUse::waiting_percent) {
            let _ = writeln!(
                s,
                "              its threads waited for a CPU {w:.1}% of the window (summed; threads sharing a core wait for one another)"
            );
        }
        if let Some(others) = &o.others_cpu {
            let _ = writeln!(
                s,
                "  others      other processes took {:.1}% of one core over the window",
                others.percent()
            );
            if others.percent() > CONTENDED_WAIT_PERCENT {
                s.push_str(
                    "    warning: other processes competed for the CPUs; figures are noisy\n",
                );
            }
        }
        let _ = writeln!(
            s,
            "  result      {} (needs >= {PASS_DELIVERED_PERCENT} % delivered, p99 < {PASS_P99_MS} ms, no duplicate/foreign/corrupt delivery)",
            if self.pass() { "PASS" } else { "FAIL" }
        );
        s
    }

    /// One JSON object on one line (no trailing newline).
    pub fn json(&self) -> String {
        let (p, o) = (self.plan, self.outcome);
        let mut j = JsonObject::new();
        j.string("system", p.system.name())
            .string("transport", p.transport.name());
        tls::json(&mut j, p.tls.as_deref(), o.tls.as_ref())
            .string("target", &p.addr.to_string())
            .int("rooms", u64::from(p.rooms))
            .int("members", u64::from(p.members))
            .int("connections", o.connected)
            .int("size", p.size as u64)
            .float("rate", p.rate, 1)
            .float("offered_deliveries_per_sec", p.deliveries_per_sec(), 1)
            .float("warmup_secs", p.warmup.as_secs_f64(), 3)
            .float("duration_secs", p.duration.as_secs_f64(), 3)
            .float("setup_secs", o.setup_secs, 3)
            .int("scheduled", o.scheduled)
            .int("sent", o.sent)
            .int("unsent", o.unsent)
            .int("expected", o.expected)
            .int("delivered", o.delivered)
            .float("delivered_percent", self.delivered_percent, 4)
            .float("deliveries_per_sec", self.deliveries_per_sec, 1)
            .int("missing", self.missing())
            .int("gaps", o.gaps)
            .int("duplicates", o.duplicates)
            .int("foreign", o.foreign)
            .int("corrupt", o.corrupt)
            .int("acks", o.acks)
            .int("rejected", o.rejected);
        let codes: Vec<(String, u64)> = o
            .rejected_codes
            .iter()
            .map(|&(c, n)| (crate::load::storm::code_name(c), n))
            .collect();
        j.counts(
            "rejected_codes",
            codes.iter().map(|(name, n)| (name.as_str(), *n)),
        )
        .int("leave_notices", o.leave_notices);
        percentiles::write_json(&mut j, "", self.latency_us);
        for (i, key) in [
            (P50, "lag_p50_us"),
            (P99, "lag_p99_us"),
            (MAX, "lag_max_us"),
        ] {
            j.opt_float(key, self.lag_us.map(|l| l[i]), 1);
        }
        let g = &o.generator_cpu;
        j.float("drain_secs", o.drain_secs, 3)
            .bool("precise_timer", o.precise_timer)
            .int(
                "errors",
                o.closed_by_server + o.io_errors + o.protocol_errors,
            )
            .int("closed_by_server", o.closed_by_server)
            .int("io_errors", o.io_errors)
            .int("protocol_errors", o.protocol_errors)
            .opt_string("first_error", o.first_error.as_deref());
        cpu::generator_json(&mut j, g).bool("gen_saturated", self.generator_saturated());
        cpu::server_json(
            &mut j,
            p.server_pid,
            &o.server_cpu,
            "deliveries_per_server_cpu_sec",
            self.deliveries_per_server_cpu_sec,
        )
        .opt_float(
            "others_cpu_percent",
            o.others_cpu.as_ref().map(CpuUse::percent),
            1,
        )
        .bool("correct", self.correct())
        .bool("pass", self.pass());
        j.finish()
    }
}
