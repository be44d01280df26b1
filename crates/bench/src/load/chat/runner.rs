//! [`Load`]: the running `chat` load, one thread on mio (edge-triggered
//! epoll): the event loop, the send timer, and the outcome at the end. Its
//! two halves are in [`super::send`] (queueing due messages and writing)
//! and [`super::receive`] (reading and parsing).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use super::conn::{Conn, Errors};
use super::schedule::Schedule;
use super::send_order::Rotation;
use super::tracker::Tracker;
use super::wire::{nats_subject, redis_channel, Envelope};
use super::{ChatOutcome, ChatPlan, Progress, MAX_FRAME, READ_CHUNK};
use crate::cli::{ChatSystem, ChatTransport};
use crate::cpu::{all_tasks_time, CpuMeter, CpuUse, Process};
use crate::load::tls::{Negotiated, SetupStream};
use crate::load::{histogram, PROGRESS_EVERY};

/// Events taken from the poller at once.
const EVENTS_CAPACITY: usize = 1024;

/// Token of the send timer.
const TIMER: Token = Token(usize::MAX - 1);

/// Shortest period of the send timer: at higher message rates the loop is
/// busy anyway and picks up every due message each turn.
const MIN_TICK_NS: u64 = 50_000;

/// Events handled between two looks at the send schedule.
const SEND_CHECK_EVERY: usize = 32;

/// The running load.
pub(super) struct Load<'a> {
    pub(super) plan: &'a ChatPlan,
    pub(super) poll: Poll,
    pub(super) conns: Vec<Conn>,
    /// Per room: how a message is framed.
    pub(super) envelopes: Vec<Envelope>,
    pub(super) tracker: Tracker,
    pub(super) errors: Errors,
    /// Shared read buffer.
    pub(super) rbuf: Vec<u8>,
    /// Shared buffer of the bytes read from a TLS connection's socket
    /// before they are decrypted into `rbuf` (empty without `--tls`).
    pub(super) cbuf: Vec<u8>,
    /// Connections with bytes queued this turn.
    pub(super) dirty: Vec<usize>,
    pub(super) t0: Instant,
    pub(super) next_g: u64,
    pub(super) sent_all: u64,
    pub(super) sent: u64,
    pub(super) unsent: u64,
    /// Deliveries owed for every message sent so far (its room's members,
    /// less a slow one).
    pub(super) expected_all: u64,
    /// Messages scheduled in the measured window (the slow member's none).
    pub(super) scheduled: u64,
    /// Deliveries owed for them.
    pub(super) expected: u64,
    /// When the slow member stopped reading.
    pub(super) slow_stopped: Option<Instant>,
    pub(super) lag_ns: Histogram<u64>,
    pub(super) setup_secs: f64,
    /// What the first TLS handshake agreed on.
    pub(super) tls: Option<Negotiated>,
}
/// Starts a periodic timer (timerfd) firing every `interval_ns` (rounded
/// up, at least [`MIN_TICK_NS`]) from now, registered as [`TIMER`]; `None`
/// if the system has no timerfd.
fn start_timer(interval_ns: f64, registry: &Registry) -> Option<File> {
    use rustix::time::{
        timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags,
        TimerfdTimerFlags, Timespec,
    };
    let fd = timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )
    .ok()?;
    let period = (interval_ns.ceil() as u64).max(MIN_TICK_NS);
    let every = Timespec {
        tv_sec: i64::try_from(period / 1_000_000_000).ok()?,
        tv_nsec: i64::try_from(period % 1_000_000_000).ok()?,
    };
    let spec = Itimerspec {
        it_interval: every,
        it_value: every,
    };
    timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec).ok()?;
    registry
        .register(&mut SourceFd(&fd.as_raw_fd()), TIMER, Interest::READABLE)
        .ok()?;
    Some(File::from(fd))
}
impl<'a> Load<'a> {
    pub(super) fn new(
        plan: &'a ChatPlan,
        streams: Vec<SetupStream>,
        leftovers: Vec<Vec<u8>>,
        setup_secs: f64,
    ) -> anyhow::Result<Load<'a>> {
        let poll = Poll::new().context("creating the poller")?;
        let negotiated = streams.first().and_then(SetupStream::negotiated);
        let mut conns = Vec::with_capacity(streams.len());
        for (i, (stream, mut partial)) in streams.into_iter().zip(leftovers).enumerate() {
            let (stream, tls) = stream
                .into_parts(&mut partial)
                .map_err(|e| anyhow::anyhow!("member {i}: {e}"))?;
            stream
                .set_nonblocking(true)
                .context("making a socket non-blocking")?;
            let mut stream = TcpStream::from_std(stream);
            poll.registry()
                .register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .context("registering a socket")?;
            conns.push(Conn {
                stream,
                tls: tls.map(Box::new),
                partial,
                out: Vec::new(),
                out_pos: 0,
                queued: false,
                blocked: false,
                open: true,
            });
        }
        let envelopes = (0..plan.rooms as usize)
            .map(|r| match plan.system {
                ChatSystem::Ringport if plan.transport == ChatTransport::Ws => {
                    Envelope::ringport_ws(plan.size)
                }
                ChatSystem::Ringport => Envelope::ringport(plan.size),
                ChatSystem::Redis => Envelope::redis(
                    &redis_channel(plan.room_of(r * plan.members as usize)),
                    plan.size,
                ),
                ChatSystem::Nats => Envelope::nats(
                    &nats_subject(plan.room_of(r * plan.members as usize)),
                    plan.size,
                ),
            })
            .collect();
        let rotation = Rotation::new(plan.order, plan.rooms, plan.members, plan.seed);
        let schedule = Schedule::new(
            plan.rooms,
            plan.members,
            plan.rate,
            rotation,
            plan.warmup,
            plan.duration,
        );
        let tracker = Tracker::new(schedule, plan.slow.map(|s| s.member as u64))?;
        Ok(Load {
            plan,
            poll,
            conns,
            envelopes,
            tracker,
            errors: Errors::default(),
            rbuf: vec![0; READ_CHUNK + MAX_FRAME],
            cbuf: if plan.tls.is_some() {
                vec![0; READ_CHUNK]
            } else {
                Vec::new()
            },
            dirty: Vec::new(),
            t0: Instant::now(),
            next_g: 0,
            sent_all: 0,
            sent: 0,
            unsent: 0,
            expected_all: 0,
            scheduled: 0,
            expected: 0,
            slow_stopped: None,
            lag_ns: histogram()?,
            setup_secs,
            tls: negotiated,
        })
    }

    pub(super) fn run(
        mut self,
        observer: &mut dyn FnMut(&Progress),
    ) -> anyhow::Result<ChatOutcome> {
        // Whatever arrived during setup (presence notifies) is parsed first.
        for i in 0..self.conns.len() {
            self.read(i);
        }
        let plan = self.plan;
        self.t0 = Instant::now();
        // Fires at or just after each message's due time (the period is
        // rounded up and starts after t0), never before it.
        let mut timer = start_timer(self.tracker.schedule.interval_ns, self.poll.registry());
        let precise_timer = timer.is_some();
        let window_start = self.t0 + plan.warmup;
        let window_end = window_start + plan.duration;
        let drain_deadline = window_end + plan.drain;
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut meters: Option<(CpuMeter, Option<Result<CpuMeter, String>>)> = None;
        let mut measured: Option<(CpuUse, Option<Result<CpuUse, String>>)> = None;
        // All tasks' CPU time at the window's start and over it.
        let mut all_tasks_start: Option<Duration> = None;
        let mut all_tasks: Option<Duration> = None;
        let mut window_closed_at = window_end;
        let mut next_progress = self.t0;
        loop {
            let now = Instant::now();
            if now >= next_progress {
                observer(&Progress {
                    elapsed: now.saturating_duration_since(self.t0),
                    sent: self.sent_all,
                    delivered: self.tracker.delivered_all,
                });
                next_progress = now + PROGRESS_EVERY;
            }
            if self.next_g < self.tracker.schedule.total {
                self.send_due(now);
                if self.next_g >= self.tracker.schedule.total {
                    timer = None; // all sent: closing the timer deregisters it
                }
            }
            if meters.is_none() && measured.is_none() && now >= window_start {
                let server = plan
                    .server_pid
                    .map(|pid| CpuMeter::start(Process::Pid(pid)).map_err(|e| format!("{e:#}")));
                meters = Some((CpuMeter::start(Process::Current)?, server));
                all_tasks_start = all_tasks_time().ok();
            }
            if measured.is_none() && now >= window_end {
                if let Some((generator, server)) = meters.take() {
                    let server =
                        server.map(|m| m.and_then(|m| m.finish().map_err(|e| format!("{e:#}"))));
                    measured = Some((generator.finish()?, server));
                    all_tasks = all_tasks_start
                        .zip(all_tasks_time().ok())
                        .map(|(start, end)| end.saturating_sub(start));
                    window_closed_at = now;
                }
            }
            if measured.is_some() && self.next_g >= self.tracker.schedule.total {
                let all_arrived = self.tracker.delivered_all >= self.expected_all;
                if all_arrived || now >= drain_deadline {
                    break;
                }
            }
            let mut wake = drain_deadline.min(next_progress);
            if self.next_g < self.tracker.schedule.total {
                let due =
                    self.t0 + Duration::from_nanos(self.tracker.schedule.sched_ns(self.next_g));
                wake = wake.min(due);
            }
            if measured.is_none() {
                wake = wake.min(if meters.is_none() {
                    window_start
                } else {
                    window_end
                });
            }
            match self
                .poll
                .poll(&mut events, Some(wake.saturating_duration_since(now)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("waiting for socket events"),
            }
            for (n, event) in events.iter().enumerate() {
                // A long batch of reads must not hold back messages coming
                // due meanwhile: check the schedule every so many events.
                if n % SEND_CHECK_EVERY == SEND_CHECK_EVERY - 1
                    && self.next_g < self.tracker.schedule.total
                {
                    self.send_due(Instant::now());
                }
                if event.token() == TIMER {
                    if let Some(timer) = &mut timer {
                        let _ = timer.read(&mut [0u8; 8]); // clear the expiry count
                    }
                    continue;
                }
                let i = event.token().0;
                if i >= self.conns.len() || !self.conns[i].open {
                    continue;
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read(i);
                }
                if event.is_writable() && self.conns[i].open {
                    self.conns[i].blocked = false;
                    self.flush(i);
                }
            }
        }
        let drain_secs = Instant::now()
            .saturating_duration_since(window_closed_at)
            .as_secs_f64();
        let Some((generator_cpu, server_cpu)) = measured else {
            bail!("the measured window never ended"); // cannot happen: the loop waits for it
        };
        // What other processes took: all tasks' time minus ours and the
        // server's (known only when the server's CPU was measured).
        let others_cpu = match (&server_cpu, all_tasks) {
            (Some(Ok(server)), Some(all)) => Some(CpuUse {
                user: all
                    .saturating_sub(generator_cpu.total())
                    .saturating_sub(server.total()),
                system: Duration::ZERO,
                waiting: None,
                wall: generator_cpu.wall,
            }),
            _ => None,
        };
        let slow = plan.slow.map(|s| self.drain_slow(s));
        let t = self.tracker;
        Ok(ChatOutcome {
            connected: t.schedule.n,
            setup_secs: self.setup_secs,
            tls: self.tls,
            scheduled: self.scheduled,
            sent: self.sent,
            unsent: self.unsent,
            expected: self.expected,
            delivered: t.delivered,
            gaps: t.gaps,
            duplicates: t.duplicates,
            foreign: t.foreign,
            corrupt: t.corrupt,
            acks: t.acks,
            rejected: t.rejected,
            rejected_codes: t.rejected_codes,
            leave_notices: t.left,
            slow,
            closed_by_server: self.errors.closed_by_server,
            io_errors: self.errors.io_errors,
            protocol_errors: self.errors.protocol_errors,
            first_error: self.errors.first,
            latency_ns: t.latency_ns,
            lag_ns: self.lag_ns,
            drain_secs,
            precise_timer,
            generator_cpu,
            server_cpu,
            others_cpu,
        })
    }
}
