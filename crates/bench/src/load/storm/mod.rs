//! Storms of new connections (`connect-storm`, `login-storm`): attempts
//! start on an open-loop schedule (one every `1 / rate` s of a step, never
//! waiting for earlier ones), each opens a connection, sends one request
//! (a `DEV_ECHO` probe or a login with a fresh id) and waits for its
//! answer; then the connection is closed or held open.
//!
//! With `--tls` each connection makes a full TLS handshake (no
//! resumption) before its request goes out: the handshake is part of the
//! connect-and-answer latency, and its own end is timed too.
//!
//! One thread, mio (edge-triggered epoll), non-blocking connects. Every
//! latency is timed from the attempt's *scheduled* start, so a generator
//! that falls behind counts against the server, never for it; how far it
//! fell behind is reported as the start lag. Every attempt ends one way:
//! answered, or failed with a kind (refused, reset, timed out, closed by
//! the server, ...), never silently dropped.
//!
//! This module holds the plan, the outcome and the entry point; [`runner`]
//! is the event loop that starts attempts on the schedule, and [`attempt`]
//! one attempt's state and its I/O.

mod attempt;
mod runner;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use ringport_proto::ResultCode;

use self::runner::Storm;
use crate::cpu::{CpuMeter, CpuUse, Process};
use crate::load::tls::{Negotiated, TlsClient};

/// What each connection asks once it is open.
#[derive(Debug, Clone)]
pub enum Probe {
    /// A `DEV_ECHO` (id 1) with an 8-byte body; the server must send it
    /// back unchanged.
    Echo,
    /// A login as `prefix` + the attempt number, password `pw`.
    Login {
        /// User id prefix.
        prefix: String,
    },
}

/// What happens to a connection once it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Close it at once.
    Close,
    /// Keep it open until the storm ends (and count the ones the server
    /// closes meanwhile).
    Hold,
}

/// One step of the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Attempts per second.
    pub rate: f64,
    /// Length in seconds.
    pub secs: f64,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct StormPlan {
    /// Server address.
    pub addr: SocketAddr,
    /// TLS on every connection (`--tls`).
    pub tls: Option<Arc<TlsClient>>,
    /// The request each connection sends.
    pub probe: Probe,
    /// What happens after the answer.
    pub after: After,
    /// The schedule, step after step.
    pub steps: Vec<Step>,
    /// Attempts at most (the schedule ends there).
    pub max_attempts: u64,
    /// Longest wait for one attempt (connect and answer), from its
    /// scheduled start.
    pub timeout: Duration,
    /// Stop after a step in which more than this share (%) of the attempts
    /// failed.
    pub stop_failure_percent: Option<f64>,
}

/// Figures of one step.
#[derive(Debug)]
pub struct StepOutcome {
    /// The step's planned rate.
    pub rate: f64,
    /// Its planned length in seconds.
    pub secs: f64,
    /// Attempts started in it.
    pub attempts: u64,
    /// Of those, connections that opened.
    pub connected: u64,
    /// Of those, answered (whatever the answer).
    pub answered: u64,
    /// Failed attempts.
    pub failed: u64,
    /// Connect latencies of its attempts, ns from the scheduled start.
    pub connect_ns: Histogram<u64>,
    /// Answer latencies, ns from the scheduled start.
    pub answer_ns: Histogram<u64>,
}

impl StepOutcome {
    /// Failed attempts as a share (%) of the step's attempts.
    pub fn failed_percent(&self) -> f64 {
        if self.attempts == 0 {
            0.0
        } else {
            100.0 * self.failed as f64 / self.attempts as f64
        }
    }
}

/// What a storm measured.
#[derive(Debug)]
pub struct StormOutcome {
    /// The steps run (the last possibly cut short).
    pub steps: Vec<StepOutcome>,
    /// Attempts started.
    pub attempts: u64,
    /// Connections that opened.
    pub connected: u64,
    /// Attempts answered.
    pub answered: u64,
    /// Answers by result code (logins; echoes count as 0).
    pub codes: BTreeMap<u16, u64>,
    /// Failures by kind.
    pub failures: BTreeMap<&'static str, u64>,
    /// The first failure, in words.
    pub first_error: Option<String>,
    /// Connect latency of every opened connection, ns from the scheduled
    /// start.
    pub connect_ns: Histogram<u64>,
    /// Answer latency of every answered attempt, ns from the scheduled
    /// start.
    pub answer_ns: Histogram<u64>,
    /// `--tls`: when each handshake was done, ns from the scheduled start.
    pub handshake_ns: Histogram<u64>,
    /// What the first TLS handshake agreed on.
    pub tls: Option<Negotiated>,
    /// How late attempts started, ns.
    pub lag_ns: Histogram<u64>,
    /// Held connections still open at the end.
    pub held_open: u64,
    /// Held connections the server closed while held.
    pub held_closed: u64,
    /// Why the schedule ended.
    pub stopped_by: String,
    /// Seconds from the first scheduled attempt to the last resolved one.
    pub elapsed_secs: f64,
    /// This process's CPU use over the storm.
    pub generator_cpu: CpuUse,
}

impl StormOutcome {
    /// All failed attempts.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// Where a storm is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct StormProgress {
    /// Time since the first scheduled attempt.
    pub elapsed: Duration,
    /// The current step's rate.
    pub rate: f64,
    /// Attempts started.
    pub attempts: u64,
    /// Answered.
    pub answered: u64,
    /// Failed.
    pub failed: u64,
}

/// The name of a result code as reports show it.
pub fn code_name(code: u16) -> String {
    match ResultCode::from_u16(code) {
        Some(c) => format!("{} ({code})", c.name()),
        None if code == crate::load::chat::wire::FOREIGN_ERROR => "ERROR".into(),
        None => format!("UNKNOWN ({code})"),
    }
}

/// Runs the storm and returns what it measured.
///
/// # Errors
///
/// When the poller cannot be created or waited on. Failures of single
/// attempts are counted in the outcome instead.
pub fn run(
    plan: &StormPlan,
    observer: &mut dyn FnMut(&StormProgress),
) -> anyhow::Result<StormOutcome> {
    let meter = CpuMeter::start(Process::Current)?;
    let mut storm = Storm::new(plan)?;
    storm.run(observer)?;
    let mut out = storm.out;
    out.generator_cpu = meter.finish()?;
    Ok(out)
}

/// The steps of a rising schedule: `start` per second, multiplied by
/// `factor` every `secs` seconds while it stays at most `max`.
pub fn rising_steps(start: f64, factor: f64, max: f64, secs: f64) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut rate = start;
    while rate <= max * (1.0 + 1e-9) && steps.len() < 64 {
        steps.push(Step { rate, secs });
        if factor <= 1.0 {
            break;
        }
        rate *= factor;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_schedule() {
        let steps = rising_steps(100.0, 2.0, 1000.0, 1.0);
        let rates: Vec<f64> = steps.iter().map(|s| s.rate).collect();
        assert_eq!(rates, vec![100.0, 200.0, 400.0, 800.0]);
        assert_eq!(rising_steps(100.0, 1.0, 1000.0, 2.0).len(), 1);
        assert_eq!(rising_steps(100.0, 1.5, 100.0, 2.0).len(), 1);
    }

    #[test]
    fn code_names() {
        assert_eq!(code_name(0), "NONE (0)");
        assert_eq!(code_name(33), "LOGIN_USER_INVALID_PW (33)");
        assert_eq!(code_name(7), "UNKNOWN (7)");
    }
}
