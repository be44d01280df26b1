//! [`Storm`]: the running storm, one thread on mio: starts every attempt
//! that has come due on the open-loop schedule, ends the step (or the
//! storm) on too many failures, expires attempts past their deadline, and
//! hands socket events to [`super::attempt`].

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::time::{Duration, Instant};

use anyhow::Context;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use ringport_proto::{LoginReq, HEADER_LEN};

use super::attempt::{kind_of, Attempt, State};
use super::{Probe, StepOutcome, StormOutcome, StormPlan, StormProgress};
use crate::cpu::CpuUse;
use crate::load::{histogram, nanos, PROGRESS_EVERY};

/// Events taken from the poller at once.
const EVENTS_CAPACITY: usize = 1024;

/// Failures of a step after which it may end early (when they are more
/// than the allowed share of its attempts so far).
const EARLY_STOP_FAILURES: u64 = 50;

/// Password of every login.
const PASSWORD: &str = "pw";

/// The running storm.
pub(super) struct Storm<'a> {
    pub(super) plan: &'a StormPlan,
    pub(super) poll: Poll,
    pub(super) slots: Vec<Option<Attempt>>,
    pub(super) free: Vec<usize>,
    /// (deadline ns, slot, serial) in start order: deadlines ascend.
    pub(super) deadlines: VecDeque<(u64, usize, u64)>,
    pub(super) t0: Instant,
    pub(super) out: StormOutcome,
    pub(super) in_flight: usize,
    pub(super) read_buf: Vec<u8>,
}

impl<'a> Storm<'a> {
    /// A storm of `plan` that has not started.
    ///
    /// # Errors
    ///
    /// When the poller cannot be created.
    pub(super) fn new(plan: &'a StormPlan) -> anyhow::Result<Storm<'a>> {
        Ok(Storm {
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
                handshake_ns: histogram()?,
                tls: None,
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
        })
    }

    pub(super) fn run(&mut self, observer: &mut dyn FnMut(&StormProgress)) -> anyhow::Result<()> {
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

    pub(super) fn open_step(&mut self, step: usize) {
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

    pub(super) fn fail(
        &mut self,
        step: usize,
        kind: &'static str,
        detail: impl FnOnce() -> String,
    ) {
        *self.out.failures.entry(kind).or_default() += 1;
        if let Some(s) = self.out.steps.get_mut(step) {
            s.failed += 1;
        }
        if self.out.first_error.is_none() {
            self.out.first_error = Some(format!("{kind}: {}", detail()));
        }
    }

    /// Starts attempt number `attempts` of `step`, due at `due_ns`.
    pub(super) fn start(&mut self, step: usize, due_ns: u64, now_ns: u64) {
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
            tls: None,
        });
        self.in_flight += 1;
        self.deadlines
            .push_back((due_ns + nanos(self.plan.timeout), slot, serial));
    }

    /// Ends attempt `slot`: closes it unless it is held.
    pub(super) fn finish(&mut self, slot: usize, hold: bool) {
        if hold {
            if let Some(a) = self.slots[slot].as_mut() {
                a.state = State::Held;
                a.inbuf.clear();
                a.out = Vec::new();
            }
        } else if let Some(mut a) = self.slots[slot].take() {
            if let Some(tls) = a.tls.as_deref_mut() {
                tls.close(&mut a.stream);
            }
            let _ = self.poll.registry().deregister(&mut a.stream);
            self.free.push(slot);
        }
        self.in_flight -= 1;
    }

    /// Fails every attempt whose deadline has passed.
    pub(super) fn expire(&mut self, now_ns: u64) {
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
            let handshaking = a.tls.as_ref().is_some_and(|t| t.is_handshaking());
            let (step, kind) = match a.state {
                State::Connecting => (a.step, "connect timeout"),
                _ if handshaking => (a.step, "TLS handshake timeout"),
                _ => (a.step, "no answer in time"),
            };
            let timeout = self.plan.timeout;
            self.fail(step, kind, || {
                let hint = if handshaking {
                    " (is --target the server's --tls-listen address?)"
                } else {
                    ""
                };
                format!("after {timeout:?}{hint}")
            });
            self.finish(slot, false);
        }
    }
}
