//! Storms of new connections (`connect-storm`, `login-storm`): attempts
//! start on an open-loop schedule (one every `1 / rate` s of a step, never
//! waiting for earlier ones), each opens a connection, sends one request
//! (a `DEV_ECHO` probe or a login with a fresh id) and waits for its
//! answer; then the connection is closed or held open.
//!
//! One thread, mio (edge-triggered epoll), non-blocking connects. Every
//! latency is timed from the attempt's *scheduled* start, so a generator
//! that falls behind counts against the server, never for it; how far it
//! fell behind is reported as the start lag. Every attempt ends one way:
//! answered, or failed with a kind (refused, reset, timed out, closed by
//! the server, ...), never silently dropped.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use ringport_proto::{frame_len, LoginReq, ResultCode, DEFAULT_MAX_FRAME, HEADER_LEN};

use crate::cpu::{CpuMeter, CpuUse, Process};
use crate::load::{histogram, nanos, PROGRESS_EVERY};

/// Events taken from the poller at once.
const EVENTS_CAPACITY: usize = 1024;

/// Failures of a step after which it may end early (when they are more
/// than the allowed share of its attempts so far).
const EARLY_STOP_FAILURES: u64 = 50;

/// Password of every login.
const PASSWORD: &str = "pw";

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Waiting,
    Held,
}

#[derive(Debug)]
struct Attempt {
    stream: TcpStream,
    serial: u64,
    step: usize,
    due_ns: u64,
    state: State,
    /// The request, `out[out_pos..]` not written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes received, not parsed yet.
    inbuf: Vec<u8>,
}

/// How an I/O error is counted.
fn kind_of(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(24 | 23) => return "fd limit (generator)",
        Some(99) => return "no local port (generator)",
        _ => {}
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => "reset",
        io::ErrorKind::TimedOut => "timed out (kernel)",
        io::ErrorKind::AddrNotAvailable => "no local port (generator)",
        _ => "other I/O error",
    }
}

/// The running storm.
struct Storm<'a> {
    plan: &'a StormPlan,
    poll: Poll,
    slots: Vec<Option<Attempt>>,
    free: Vec<usize>,
    /// (deadline ns, slot, serial) in start order: deadlines ascend.
    deadlines: VecDeque<(u64, usize, u64)>,
    t0: Instant,
    out: StormOutcome,
    in_flight: usize,
    read_buf: Vec<u8>,
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
    let mut storm = Storm {
        plan,
        poll: Poll::new().context("creating the poller")?,
        slots: Vec::new(),
        free: Vec::new(),
        deadlines: VecDeque::new(),
        t0: Instant::now(),
        out: StormOutcome {
            steps: Vec::new(),
            attempts: 0,
            connected: 0,
            answered: 0,
            codes: BTreeMap::new(),
            failures: BTreeMap::new(),
            first_error: None,
            connect_ns: histogram()?,
            answer_ns: histogram()?,
            lag_ns: histogram()?,
            held_open: 0,
            held_closed: 0,
            stopped_by: String::new(),
            elapsed_secs: 0.0,
            generator_cpu: CpuUse {
                user: Duration::ZERO,
                system: Duration::ZERO,
                waiting: None,
                wall: Duration::ZERO,
            },
        },
        in_flight: 0,
        read_buf: vec![0; 16 * 1024],
    };
    storm.run(observer)?;
    let mut out = storm.out;
    out.generator_cpu = meter.finish()?;
    Ok(out)
}

impl Storm<'_> {
    fn run(&mut self, observer: &mut dyn FnMut(&StormProgress)) -> anyhow::Result<()> {
        let plan = self.plan;
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut step = 0usize;
        let mut step_start_ns = 0u64;
        let mut in_step = 0u64;
        let mut scheduling = !plan.steps.is_empty();
        if scheduling {
            self.open_step(0);
        }
        self.t0 = Instant::now();
        let mut next_progress = self.t0;
        loop {
            let now = Instant::now();
            let now_ns = nanos(now.saturating_duration_since(self.t0));
            // Start every attempt that is due.
            while scheduling {
                let s = plan.steps[step];
                let step_len_ns = (s.secs * 1e9) as u64;
                let due_ns = step_start_ns + (in_step as f64 * 1e9 / s.rate) as u64;
                if due_ns >= step_start_ns + step_len_ns {
                    // The step is over: stop when it failed too often.
                    let done = &self.out.steps[step];
                    if let Some(limit) = plan.stop_failure_percent {
                        if done.failed_percent() > limit {
                            self.out.stopped_by = format!(
                                "failures: {:.1} % of the attempts at {} /s failed (limit {limit} %)",
                                done.failed_percent(),
                                s.rate
                            );
                            scheduling = false;
                            break;
                        }
                    }
                    step += 1;
                    if step == plan.steps.len() {
                        self.out.stopped_by = "end of the schedule".into();
                        scheduling = false;
                        break;
                    }
                    step_start_ns += step_len_ns;
                    in_step = 0;
                    self.open_step(step);
                    continue;
                }
                if due_ns > now_ns {
                    break;
                }
                // Failing already, well before the step ends: stop now
                // rather than pile more attempts onto a server that refuses.
                if let (Some(limit), Some(done)) =
                    (plan.stop_failure_percent, self.out.steps.get(step))
                {
                    if done.failed >= EARLY_STOP_FAILURES && done.failed_percent() > limit {
                        self.out.stopped_by = format!(
                            "failures: {} of the first {} attempts at {} /s failed (limit {limit} %)",
                            done.failed, done.attempts, s.rate
                        );
                        scheduling = false;
                        break;
                    }
                }
                if self.out.attempts >= plan.max_attempts {
                    self.out.stopped_by = format!("the attempt cap ({})", plan.max_attempts);
                    scheduling = false;
                    break;
                }
                in_step += 1;
                self.start(step, due_ns, now_ns);
            }
            self.expire(now_ns);
            if now >= next_progress {
                observer(&StormProgress {
                    elapsed: now.saturating_duration_since(self.t0),
                    rate: plan.steps.get(step).map_or(0.0, |s| s.rate),
                    attempts: self.out.attempts,
                    answered: self.out.answered,
                    failed: self.out.failed(),
                });
                next_progress = now + PROGRESS_EVERY;
            }
            if self.in_flight == 0 && !scheduling {
                self.out.elapsed_secs = now.saturating_duration_since(self.t0).as_secs_f64();
                break;
            }
            // Sleep until the next due attempt, the next deadline or the
            // next progress report.
            let mut wake = next_progress;
            if scheduling {
                let s = plan.steps[step];
                let due_ns = step_start_ns + (in_step as f64 * 1e9 / s.rate) as u64;
                wake = wake.min(self.t0 + Duration::from_nanos(due_ns));
            }
            if let Some(&(deadline, _, _)) = self.deadlines.front() {
                wake = wake.min(self.t0 + Duration::from_nanos(deadline));
            }
            let timeout = wake.saturating_duration_since(Instant::now());
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("waiting for socket events"),
            }
            let now_ns = nanos(Instant::now().saturating_duration_since(self.t0));
            for event in events.iter() {
                let slot = event.token().0;
                self.handle(slot, now_ns, event.is_writable());
            }
        }
        self.out.held_open = self
            .slots
            .iter()
            .flatten()
            .filter(|a| a.state == State::Held)
            .count() as u64;
        Ok(())
    }

    fn open_step(&mut self, step: usize) {
        let s = self.plan.steps[step];
        // Histograms cannot fail to be created with these bounds.
        if let (Ok(connect_ns), Ok(answer_ns)) = (histogram(), histogram()) {
            self.out.steps.push(StepOutcome {
                rate: s.rate,
                secs: s.secs,
                attempts: 0,
                connected: 0,
                answered: 0,
                failed: 0,
                connect_ns,
                answer_ns,
            });
        }
    }

    fn fail(&mut self, step: usize, kind: &'static str, detail: impl FnOnce() -> String) {
        *self.out.failures.entry(kind).or_default() += 1;
        if let Some(s) = self.out.steps.get_mut(step) {
            s.failed += 1;
        }
        if self.out.first_error.is_none() {
            self.out.first_error = Some(format!("{kind}: {}", detail()));
        }
    }

    /// Starts attempt number `attempts` of `step`, due at `due_ns`.
    fn start(&mut self, step: usize, due_ns: u64, now_ns: u64) {
        let serial = self.out.attempts;
        self.out.attempts += 1;
        if let Some(s) = self.out.steps.get_mut(step) {
            s.attempts += 1;
        }
        self.out
            .lag_ns
            .saturating_record(now_ns.saturating_sub(due_ns).max(1));
        let mut stream = match TcpStream::connect(self.plan.addr) {
            Ok(s) => s,
            Err(e) => {
                let kind = kind_of(&e);
                self.fail(step, kind, || format!("connecting: {e}"));
                return;
            }
        };
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free.push(slot);
            self.fail(step, "other I/O error", || format!("registering: {e}"));
            return;
        }
        let mut out = Vec::with_capacity(LoginReq::LEN);
        match &self.plan.probe {
            Probe::Echo => {
                let len = u16::try_from(HEADER_LEN + 8).unwrap_or(u16::MAX);
                ringport_proto::Header::new(ringport_proto::id::DEV_ECHO, len).write(&mut out);
                out.extend_from_slice(&serial.to_le_bytes());
            }
            Probe::Login { prefix } => {
                let id = format!("{prefix}{serial}");
                match LoginReq::new(&id, PASSWORD) {
                    Ok(req) => req.encode(&mut out),
                    Err(e) => {
                        self.free.push(slot);
                        let _ = self.poll.registry().deregister(&mut stream);
                        self.fail(step, "bad user id (generator)", || format!("{id:?}: {e}"));
                        return;
                    }
                }
            }
        }
        self.slots[slot] = Some(Attempt {
            stream,
            serial,
            step,
            due_ns,
            state: State::Connecting,
            out,
            out_pos: 0,
            inbuf: Vec::new(),
        });
        self.in_flight += 1;
        self.deadlines
            .push_back((due_ns + nanos(self.plan.timeout), slot, serial));
    }

    /// Ends attempt `slot`: closes it unless it is held.
    fn finish(&mut self, slot: usize, hold: bool) {
        if hold {
            if let Some(a) = self.slots[slot].as_mut() {
                a.state = State::Held;
                a.inbuf.clear();
                a.out = Vec::new();
            }
        } else if let Some(mut a) = self.slots[slot].take() {
            let _ = self.poll.registry().deregister(&mut a.stream);
            self.free.push(slot);
        }
        self.in_flight -= 1;
    }

    /// Fails every attempt whose deadline has passed.
    fn expire(&mut self, now_ns: u64) {
        while let Some(&(deadline, slot, serial)) = self.deadlines.front() {
            if deadline > now_ns {
                break;
            }
            self.deadlines.pop_front();
            let Some(a) = self.slots[slot].as_ref() else {
                continue;
            };
            if a.serial != serial || a.state == State::Held {
                continue;
            }
            let (step, kind) = match a.state {
                State::Connecting => (a.step, "connect timeout"),
                _ => (a.step, "no answer in time"),
            };
            let timeout = self.plan.timeout;
            self.fail(step, kind, || format!("after {timeout:?}"));
            self.finish(slot, false);
        }
    }

    fn handle(&mut self, slot: usize, now_ns: u64, writable: bool) {
        let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let step = a.step;
        if a.state == State::Connecting {
            let error = match a.stream.take_error() {
                Ok(Some(e)) | Err(e) => Some(e),
                Ok(None) => None,
            };
            if let Some(e) = error {
                let kind = kind_of(&e);
                self.fail(step, kind, || format!("connecting: {e}"));
                self.finish(slot, false);
                return;
            }
            match a.stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // not yet
                Err(e) => {
                    let kind = kind_of(&e);
                    self.fail(step, kind, || format!("connecting: {e}"));
                    self.finish(slot, false);
                    return;
                }
            }
            let _ = a.stream.set_nodelay(true);
            a.state = State::Waiting;
            let latency = now_ns.saturating_sub(a.due_ns).max(1);
            self.out.connected += 1;
            self.out.connect_ns.saturating_record(latency);
            if let Some(s) = self.out.steps.get_mut(step) {
                s.connected += 1;
                s.connect_ns.saturating_record(latency);
            }
        }
        let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        // Write what is left of the request.
        if (writable || a.out_pos == 0) && a.out_pos < a.out.len() {
            loop {
                match a.stream.write(&a.out[a.out_pos..]) {
                    Ok(n) => {
                        a.out_pos += n;
                        if a.out_pos == a.out.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let kind = kind_of(&e);
                        let held = a.state == State::Held;
                        self.fail(step, kind, || format!("sending the request: {e}"));
                        if held {
                            self.out.held_closed += 1;
                        }
                        self.finish(slot, false);
                        return;
                    }
                }
            }
        }
        // Read whatever came.
        loop {
            let Some(a) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            let n = match a.stream.read(&mut self.read_buf) {
                Ok(0) => {
                    if a.state == State::Held {
                        self.out.held_closed += 1;
                        // A held connection was counted as finished already.
                        if let Some(mut a) = self.slots[slot].take() {
                            let _ = self.poll.registry().deregister(&mut a.stream);
                            self.free.push(slot);
                        }
                    } else {
                        self.fail(step, "closed by server", || {
                            "the server closed the connection before answering".into()
                        });
                        self.finish(slot, false);
                    }
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if a.state == State::Held {
                        self.out.held_closed += 1;
                        if let Some(mut a) = self.slots[slot].take() {
                            let _ = self.poll.registry().deregister(&mut a.stream);
                            self.free.push(slot);
                        }
                    } else {
                        let kind = kind_of(&e);
                        self.fail(step, kind, || format!("reading the answer: {e}"));
                        self.finish(slot, false);
                    }
                    return;
                }
            };
            if a.state != State::Waiting {
                continue; // held: anything the server sends is ignored
            }
            a.inbuf.extend_from_slice(&self.read_buf[..n]);
            match self.answer(slot) {
                Ok(None) => {}
                Ok(Some(code)) => {
                    let Some(a) = self.slots[slot].as_ref() else {
                        return;
                    };
                    let latency = now_ns.saturating_sub(a.due_ns).max(1);
                    self.out.answered += 1;
                    *self.out.codes.entry(code).or_default() += 1;
                    self.out.answer_ns.saturating_record(latency);
                    if let Some(s) = self.out.steps.get_mut(step) {
                        s.answered += 1;
                        s.answer_ns.saturating_record(latency);
                    }
                    let hold = self.plan.after == After::Hold;
                    self.finish(slot, hold);
                    if !hold {
                        return;
                    }
                }
                Err(what) => {
                    self.fail(step, "bad answer", || what);
                    self.finish(slot, false);
                    return;
                }
            }
        }
    }

    /// Looks for the answer in what attempt `slot` received: `Ok(Some(code))`
    /// once it is there (0 for a matching echo).
    fn answer(&mut self, slot: usize) -> Result<Option<u16>, String> {
        let Some(a) = self.slots[slot].as_mut() else {
            return Ok(None);
        };
        let mut pos = 0;
        let mut found = None;
        while let Some(len) =
            frame_len(&a.inbuf[pos..], DEFAULT_MAX_FRAME).map_err(|e| format!("bad frame: {e}"))?
        {
            let frame = &a.inbuf[pos..pos + len];
            pos += len;
            let id = u16::from_le_bytes([frame[2], frame[3]]);
            match (&self.plan.probe, id) {
                (Probe::Echo, ringport_proto::id::DEV_ECHO) => {
                    if frame == a.out.as_slice() {
                        found = Some(0);
                    } else {
                        return Err("the echo differs from the probe".into());
                    }
                }
                (Probe::Login { .. }, ringport_proto::id::LOGIN_RES) => {
                    let Some(code) = frame.get(HEADER_LEN..HEADER_LEN + 2) else {
                        return Err(format!("a {len}-byte 202"));
                    };
                    found = Some(u16::from_le_bytes([code[0], code[1]]));
                }
                _ => {}
            }
            if found.is_some() {
                break;
            }
        }
        a.inbuf.drain(..pos);
        Ok(found)
    }
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
    fn error_kinds() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(kind_of(&e), "refused");
        assert_eq!(
            kind_of(&io::Error::from_raw_os_error(24)),
            "fd limit (generator)"
        );
        assert_eq!(
            kind_of(&io::Error::from_raw_os_error(99)),
            "no local port (generator)"
        );
        assert_eq!(
            kind_of(&io::Error::from(io::ErrorKind::BrokenPipe)),
            "reset"
        );
    }

    #[test]
    fn code_names() {
        assert_eq!(code_name(0), "NONE (0)");
        assert_eq!(code_name(33), "LOGIN_USER_INVALID_PW (33)");
        assert_eq!(code_name(7), "UNKNOWN (7)");
    }
}
