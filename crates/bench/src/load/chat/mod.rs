//! The room fan-out load (`chat`): `rooms × members` connections, an
//! open-loop stream of chat messages at a fixed total rate, and every
//! delivery checked and timed.
//!
//! Setup is plain blocking I/O, phase by phase over all connections (connect
//! all; ringport: log all in, then enter all rooms; Redis: `HELLO 3` and
//! `SUBSCRIBE` all), so when the load starts every member is in its room.
//!
//! The load itself runs on this one thread with mio (edge-triggered epoll),
//! built to cost as little CPU per delivery as possible:
//!
//! * **Schedule.** Message `g` (0, 1, 2, ...) is due at `g / rate` seconds
//!   after the base instant and is sent by member `g mod N` as its sequence
//!   number `g div N`: every member sends at `rate / N` on a fixed grid,
//!   never waiting for answers, so a slow server cannot slow the offered load
//!   (no coordinated omission). Each loop turn queues every message that has
//!   come due on its sender's buffer, then writes each touched connection
//!   once (and looks again every 32 events while it works through a long
//!   batch of reads). How late a message was queued is the *send lag*.
//! * **Timer.** A periodic timerfd on the message grid (period: the
//!   message interval rounded up, at least 50 µs) wakes the loop when the
//!   next message is due, to the microsecond; the poller's own timeout has
//!   millisecond resolution and would add up to 1 ms of send lag at low
//!   rates. Without timerfd the loop falls back to that timeout (reported).
//! * **Text.** The message text carries sender, sequence number and the
//!   scheduled time (see [`crate::load::chat::wire`]); latency is receive time minus
//!   scheduled time, so generator lateness counts against the server, never
//!   for it.
//! * **Receive.** One shared 64 KiB read buffer; a connection's unparsed
//!   tail (part of a packet) is kept in its own small buffer and put back in
//!   front of the next read. One clock read per `read`, many packets per
//!   read; a short read means the socket is drained (no extra `EAGAIN` call).
//! * **Checks.** For every (receiver, sender) pair the next expected
//!   sequence number: a jump is counted as missing messages, a step back as a
//!   duplicate; a sender outside the receiver's room is foreign, a stamp
//!   that does not match the schedule is corrupt.
//!
//! Messages scheduled in the warmup are sent and checked but not counted;
//! those scheduled in the measured window are. After the last send the load
//! waits up to `drain` for deliveries still on their way (leaving early
//! once all have arrived). CPU use of the generator (and of `--server-pid`)
//! is sampled over the measured window.

pub mod send_order;
pub mod wire;

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use ringport_proto::{
    frame_len, LoginReq, ResultCode, RoomEnterReq, ServerPacket, DEFAULT_MAX_FRAME,
};

use self::send_order::{Rotation, SendOrder};
use self::wire::{
    nats_setup, nats_subject, parse_nats, parse_nats_setup, parse_redis, parse_redis_setup,
    parse_ringport, read_text, redis_channel, redis_command, write_text, Envelope, Incoming,
    NatsSetup, RedisSetup, Stamp,
};
use crate::cli::ChatSystem;
use crate::cpu::{all_tasks_time, CpuMeter, CpuTimes, CpuUse, Process};
use crate::load::{histogram, nanos, PROGRESS_EVERY};

/// Bytes asked of one `read`.
const READ_CHUNK: usize = 64 * 1024;

/// Unsent bytes one connection may hold; a message that would go beyond is
/// not sent (counted as unsent): the server is not reading.
const OUT_LIMIT: usize = 256 * 1024;

/// Longest wait for one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for one setup phase (all enters, all subscriptions, ...),
/// or for one login answer after the previous one.
const SETUP_PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Events taken from the poller at once.
const EVENTS_CAPACITY: usize = 1024;

/// Largest ringport frame accepted.
const MAX_FRAME: usize = DEFAULT_MAX_FRAME;

/// Token of the send timer.
const TIMER: Token = Token(usize::MAX - 1);

/// Shortest period of the send timer: at higher message rates the loop is
/// busy anyway and picks up every due message each turn.
const MIN_TICK_NS: u64 = 50_000;

/// Events handled between two looks at the send schedule.
const SEND_CHECK_EVERY: usize = 32;

/// Password of every ringport member.
const PASSWORD: &str = "pw";

/// What to run.
#[derive(Debug, Clone)]
pub struct ChatPlan {
    /// Server address.
    pub addr: SocketAddr,
    /// What the server speaks.
    pub system: ChatSystem,
    /// Number of rooms.
    pub rooms: u32,
    /// Members per room.
    pub members: u32,
    /// Number of the first room.
    pub room_start: i32,
    /// Messages per second, all members together.
    pub rate: f64,
    /// Message text size in bytes.
    pub size: usize,
    /// Time run before measuring.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Longest wait for late deliveries after the last send.
    pub drain: Duration,
    /// ringport user id prefix.
    pub user_prefix: String,
    /// Server process whose CPU time to sample over the window.
    pub server_pid: Option<u32>,
    /// One member that stops reading (the `slow-consumer` scenario).
    pub slow: Option<SlowPlan>,
    /// Which member sends next within each round.
    pub order: SendOrder,
    /// Seed of [`SendOrder::Random`].
    pub seed: u64,
}

/// A member that stops reading part-way (and sends nothing).
#[derive(Debug, Clone, Copy)]
pub struct SlowPlan {
    /// Index of the member.
    pub member: usize,
    /// When it stops reading, from the start of the load.
    pub stop_at: Duration,
    /// Longest wait, after the load, for its connection to end while its
    /// socket is read empty.
    pub drain: Duration,
}

/// What happened to the slow member.
#[derive(Debug, Clone)]
pub struct SlowOutcome {
    /// Seconds into the load it stopped reading.
    pub stopped_at_secs: f64,
    /// Deliveries it read before it stopped.
    pub read_before_stop: u64,
    /// 217s (a member left) the other members of its room received.
    pub leave_notices: u64,
    /// Seconds into the load the first such 217 arrived.
    pub first_leave_notice_secs: Option<f64>,
    /// Deliveries still in its socket, read after the load.
    pub drained_deliveries: u64,
    /// Bytes read after the load.
    pub drained_bytes: u64,
    /// How its connection ended when read empty: `closed` (end of stream),
    /// `reset`, `error: ...`, or `open` (the server never cut it off).
    pub end: String,
}

impl SlowOutcome {
    /// Whether the server cut the slow member off.
    pub fn cut_off(&self) -> bool {
        self.end != "open"
    }
}

/// Where a running load is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Time since the load started (after setup).
    pub elapsed: Duration,
    /// Messages sent so far.
    pub sent: u64,
    /// Deliveries received so far.
    pub delivered: u64,
}

impl ChatPlan {
    /// Number of connections.
    pub fn connections(&self) -> usize {
        self.rooms as usize * self.members as usize
    }

    /// Deliveries per second the plan asks for: every message goes to every
    /// member of its room.
    pub fn deliveries_per_sec(&self) -> f64 {
        self.rate * f64::from(self.members)
    }

    /// The room (number) of a member.
    fn room_of(&self, member: usize) -> i64 {
        i64::from(self.room_start) + (member / self.members as usize) as i64
    }
}

/// What a run measured.
#[derive(Debug)]
pub struct ChatOutcome {
    /// Connections set up (all of them, or the run fails).
    pub connected: u64,
    /// Seconds the setup (connect, login, enter / subscribe) took.
    pub setup_secs: f64,
    /// Messages scheduled in the measured window.
    pub scheduled: u64,
    /// Of those, messages written (queued) on their sender's connection.
    pub sent: u64,
    /// Messages of the whole run not sent: the sender's connection was
    /// closed, or held [`OUT_LIMIT`] bytes the server had not read.
    pub unsent: u64,
    /// Deliveries expected for the measured window: `scheduled × members`.
    pub expected: u64,
    /// Deliveries of measured messages received (each once).
    pub delivered: u64,
    /// Messages skipped in some receiver's sequence (whole run; unsent
    /// messages show up here too, once per member).
    pub gaps: u64,
    /// Deliveries whose sequence number went backwards (duplicates).
    pub duplicates: u64,
    /// Deliveries from a sender outside the receiver's room.
    pub foreign: u64,
    /// Deliveries whose text is not a stamp of this run.
    pub corrupt: u64,
    /// Answers to sent messages (ringport 222, Redis `PUBLISH` replies).
    pub acks: u64,
    /// Of those, refusals (non-zero result, Redis or NATS error).
    pub rejected: u64,
    /// Refusals by result code ([`crate::load::chat::wire::FOREIGN_ERROR`] for
    /// Redis and NATS errors), ascending.
    pub rejected_codes: Vec<(u16, u64)>,
    /// 217s (a member left) received, whole run.
    pub leave_notices: u64,
    /// The slow member, when the plan has one.
    pub slow: Option<SlowOutcome>,
    /// Connections the server closed.
    pub closed_by_server: u64,
    /// Connections that failed with another I/O error.
    pub io_errors: u64,
    /// Connections dropped because the server sent what cannot be parsed.
    pub protocol_errors: u64,
    /// The first such error.
    pub first_error: Option<String>,
    /// Delivery latencies from the scheduled send time, in ns.
    pub latency_ns: Histogram<u64>,
    /// How late measured messages were queued, in ns.
    pub lag_ns: Histogram<u64>,
    /// Seconds waited after the measured window for late deliveries.
    pub drain_secs: f64,
    /// Whether sends were woken by the precise timer (timerfd); otherwise
    /// by the poller's millisecond timeout.
    pub precise_timer: bool,
    /// This process's CPU use over the measured window.
    pub generator_cpu: CpuUse,
    /// The server's CPU use over the window, or why it could not be read.
    pub server_cpu: Option<Result<CpuUse, String>>,
    /// CPU time other processes took over the window (all cores), known
    /// when the server's was measured: a noisy neighbour shows up here even
    /// on the server's core, where run-queue waits cannot tell it from the
    /// server's own threads waiting for one another.
    pub others_cpu: Option<CpuUse>,
}

/// Runs the load and returns what it measured.
///
/// # Errors
///
/// When `--server-pid` names no readable process, or the setup fails: a
/// connection cannot be opened, a login or enter is refused, Redis refuses
/// RESP3 or the subscription, or a phase times out. Once the load runs,
/// errors of single connections are counted in the outcome instead.
pub fn run(plan: &ChatPlan, observer: &mut dyn FnMut(&Progress)) -> anyhow::Result<ChatOutcome> {
    prepare(plan)?.run(plan, observer)
}

/// Connections set up and ready for the load.
#[derive(Debug)]
pub struct Prepared {
    streams: Vec<StdStream>,
    leftovers: Vec<Vec<u8>>,
    setup_secs: f64,
}

/// Sets every connection up (connect, log in and enter, or subscribe).
///
/// # Errors
///
/// As [`run`].
pub fn prepare(plan: &ChatPlan) -> anyhow::Result<Prepared> {
    if let Some(pid) = plan.server_pid {
        CpuTimes::read(Process::Pid(pid))
            .with_context(|| format!("--server-pid {pid}: cannot read its CPU time"))?;
    }
    let setup_start = Instant::now();
    let mut streams = connect_all(plan)?;
    let mut leftovers = vec![Vec::new(); streams.len()];
    match plan.system {
        ChatSystem::Ringport => setup_ringport(plan, &mut streams, &mut leftovers)?,
        ChatSystem::Redis => setup_redis(plan, &mut streams, &mut leftovers)?,
        ChatSystem::Nats => setup_nats(plan, &mut streams, &mut leftovers)?,
    }
    Ok(Prepared {
        streams,
        leftovers,
        setup_secs: setup_start.elapsed().as_secs_f64(),
    })
}

impl Prepared {
    /// Runs the load on the prepared connections; `observer` hears about
    /// its progress every 200 ms or so.
    ///
    /// # Errors
    ///
    /// As [`run`].
    pub fn run(
        self,
        plan: &ChatPlan,
        observer: &mut dyn FnMut(&Progress),
    ) -> anyhow::Result<ChatOutcome> {
        Load::new(plan, self.streams, self.leftovers, self.setup_secs)?.run(observer)
    }
}

/// Opens every connection, in member order.
fn connect_all(plan: &ChatPlan) -> anyhow::Result<Vec<StdStream>> {
    let mut streams = Vec::with_capacity(plan.connections());
    for i in 0..plan.connections() {
        let stream = StdStream::connect_timeout(&plan.addr, CONNECT_TIMEOUT)
            .with_context(|| format!("member {i}: connecting to {}", plan.addr))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        streams.push(stream);
    }
    Ok(streams)
}

/// Reads from a blocking `stream` into `buf` until `step` (given the
/// buffered bytes, returning how many it consumed and whether it is done)
/// says done or `deadline` passes.
fn read_until(
    stream: &mut StdStream,
    buf: &mut Vec<u8>,
    deadline: Instant,
    mut step: impl FnMut(&[u8]) -> anyhow::Result<(usize, bool)>,
) -> anyhow::Result<()> {
    let mut chunk = [0u8; 8192];
    loop {
        let (used, done) = step(&buf[..])?;
        buf.drain(..used);
        if done {
            return Ok(());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("timed out");
        }
        stream
            .set_read_timeout(Some(left))
            .context("setting a read timeout")?;
        match stream.read(&mut chunk) {
            Ok(0) => bail!("the server closed the connection"),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                bail!("timed out")
            }
            Err(e) => return Err(e).context("reading"),
        }
    }
}

/// Consumes complete ringport packets from `buf`, handing each to `f` until
/// it returns true.
fn ringport_step(
    buf: &[u8],
    mut f: impl FnMut(ServerPacket<'_>) -> anyhow::Result<bool>,
) -> anyhow::Result<(usize, bool)> {
    let mut pos = 0;
    while let Some(len) =
        frame_len(&buf[pos..], MAX_FRAME).map_err(|e| anyhow!("bad frame: {e}"))?
    {
        let packet = ServerPacket::decode(&buf[pos..pos + len])
            .map_err(|e| anyhow!("undecodable packet: {e}"))?;
        pos += len;
        if f(packet)? {
            return Ok((pos, true));
        }
    }
    Ok((pos, false))
}

/// Logs every member in, then enters every member's room.
fn setup_ringport(
    plan: &ChatPlan,
    streams: &mut [StdStream],
    bufs: &mut [Vec<u8>],
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let user = |i: usize| format!("{}{i}", plan.user_prefix);
    for (i, stream) in streams.iter_mut().enumerate() {
        out.clear();
        let id = user(i);
        LoginReq::new(&id, PASSWORD)
            .map_err(|e| anyhow!("user id {id:?}: {e}"))?
            .encode(&mut out);
        stream
            .write_all(&out)
            .with_context(|| format!("member {i}: sending login"))?;
    }
    let streams_len = streams.len();
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        // Logins queue for the server's password hashing (default argon2
        // cost: thousands take minutes), so the wait is for progress: each
        // answer within SETUP_PHASE_TIMEOUT of the one before.
        let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
        let mut result = None;
        read_until(stream, buf, deadline, |b| {
            ringport_step(b, |p| {
                if let ServerPacket::LoginRes(r) = p {
                    result = Some(r.result);
                }
                Ok(result.is_some())
            })
        })
        .with_context(|| {
            format!(
                "member {i}: waiting for the login answer (the server closes sessions that \
                 are not logged in within its --login-timeout, 10 s by default; {} logins \
                 queue for its password hashing: start it with cheaper --argon2-memory-kib \
                 and --argon2-iterations, or a longer --login-timeout)",
                streams_len
            )
        })?;
        if let Some(code) = result.filter(|c| !c.is_success()) {
            bail!(
                "member {i}: the server refused the login as {:?}: {code}{}",
                user(i),
                login_hint(code)
            );
        }
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        out.clear();
        let room = plan.room_of(i);
        let room_number = i32::try_from(room).map_err(|_| anyhow!("room {room} is not an i32"))?;
        RoomEnterReq { room_number }.encode(&mut out);
        stream
            .write_all(&out)
            .with_context(|| format!("member {i}: sending enter"))?;
    }
    let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        let mut entered: Option<ResultCode> = None;
        read_until(stream, buf, deadline, |b| {
            ringport_step(b, |p| {
                Ok(match p {
                    ServerPacket::RoomEnterRes(r) => {
                        entered = Some(r.result);
                        !r.result.is_success()
                    }
                    ServerPacket::RoomUserListNtf(list) => entered.is_some() && list.is_last(),
                    _ => false,
                })
            })
        })
        .with_context(|| format!("member {i}: waiting to enter room {}", plan.room_of(i)))?;
        if let Some(code) = entered.filter(|c| !c.is_success()) {
            let why = match code {
                ResultCode::EnterRoomFullUser => format!(
                    "the room is full: it holds fewer than the {} members asked for (start \
                     the server with --room-max-users {} or more, and make sure no one else \
                     is in the room)",
                    plan.members, plan.members
                ),
                ResultCode::RoomInvalidIndex => format!(
                    "the server has no such room: this load needs rooms {} to {} (see the \
                     server's --rooms and --room-start)",
                    plan.room_of(0),
                    plan.room_of(plan.connections() - 1),
                ),
                _ => format!(
                    "the server needs at least --rooms {} and --room-max-users {}",
                    plan.rooms, plan.members
                ),
            };
            bail!(
                "member {i}: the server refused to let it enter room {}: {code}: {why}",
                plan.room_of(i)
            );
        }
    }
    Ok(())
}

/// Why a login may have been refused, for the error message.
pub fn login_hint(code: ResultCode) -> &'static str {
    match code {
        ResultCode::LoginUserInvalidPw => {
            " (wrong password, or an unknown id with auto-registration off: the bench \
             logs in with password \"pw\"; start the server with --auto-register true \
             or pick another --user-prefix)"
        }
        ResultCode::LoginUserAlready => {
            " (the id is logged in elsewhere: pick another --user-prefix)"
        }
        ResultCode::LoginUserUsedAllObj => {
            " (the server holds its maximum of logged-in users: raise its --max-sessions)"
        }
        ResultCode::LoginBackendUnavailable => " (the server's account store is unreachable)",
        _ => "",
    }
}

/// Sends each NATS connection `CONNECT`, `SUB` and `PING`, and waits for
/// the `PONG`.
fn setup_nats(
    plan: &ChatPlan,
    streams: &mut [StdStream],
    bufs: &mut [Vec<u8>],
) -> anyhow::Result<()> {
    for (i, stream) in streams.iter_mut().enumerate() {
        let out = nats_setup(&nats_subject(plan.room_of(i)));
        stream
            .write_all(&out)
            .with_context(|| format!("member {i}: sending SUB"))?;
    }
    let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        let mut pings = 0;
        read_until(stream, buf, deadline, |b| {
            let mut pos = 0;
            while let Some((what, len)) = parse_nats_setup(&b[pos..]).map_err(|e| anyhow!(e))? {
                pos += len;
                match what {
                    NatsSetup::Ready => return Ok((pos, true)),
                    NatsSetup::Error(e) => bail!("nats refused: {e}"),
                    NatsSetup::Ping => pings += 1,
                    NatsSetup::Other => {}
                }
            }
            Ok((pos, false))
        })
        .with_context(|| format!("member {i}: waiting for the subscription"))?;
        for _ in 0..pings {
            stream.write_all(b"PONG\r\n").context("answering a PING")?;
        }
    }
    Ok(())
}

/// Switches every connection to RESP3 and subscribes it to its room.
fn setup_redis(
    plan: &ChatPlan,
    streams: &mut [StdStream],
    bufs: &mut [Vec<u8>],
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    for (i, stream) in streams.iter_mut().enumerate() {
        out.clear();
        redis_command(&mut out, &[b"HELLO", b"3"]);
        let channel = redis_channel(plan.room_of(i));
        redis_command(&mut out, &[b"SUBSCRIBE", channel.as_bytes()]);
        stream
            .write_all(&out)
            .with_context(|| format!("member {i}: sending SUBSCRIBE"))?;
    }
    let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        read_until(stream, buf, deadline, |b| {
            let mut pos = 0;
            while let Some((what, len)) = parse_redis_setup(&b[pos..]).map_err(|e| anyhow!(e))? {
                pos += len;
                match what {
                    RedisSetup::Subscribed => return Ok((pos, true)),
                    RedisSetup::Error(e) => {
                        bail!("redis refused: {e} (RESP3 needs Redis 6 or later)")
                    }
                    RedisSetup::Other => {}
                }
            }
            Ok((pos, false))
        })
        .with_context(|| format!("member {i}: waiting for the subscription"))?;
    }
    Ok(())
}

/// One member's connection during the load.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    /// Received bytes not parsed yet (part of a packet).
    partial: Vec<u8>,
    /// Bytes to send; `out[out_pos..]` not written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// In the list of connections to write this turn.
    queued: bool,
    /// The last write hit `WouldBlock`: wait for a writable event.
    blocked: bool,
    open: bool,
}

/// Errors of single connections.
#[derive(Debug, Default)]
struct Errors {
    closed_by_server: u64,
    io_errors: u64,
    protocol_errors: u64,
    first: Option<String>,
}

impl Errors {
    fn note(&mut self, member: usize, what: String) {
        self.first
            .get_or_insert_with(|| format!("member {member}: {what}"));
    }
}

/// Counts deliveries and checks their order.
#[derive(Debug)]
struct Tracker {
    /// Connections (senders and receivers).
    n: u64,
    /// Members per room.
    m: u64,
    /// Nanoseconds between two messages of the whole load.
    interval_ns: f64,
    /// First message of the measured window.
    first_measured: u64,
    /// Messages of the whole run (warmup and window).
    total: u64,
    /// Per receiver and sender slot (the sender's place in the room): the
    /// next expected sequence number.
    next_seq: Vec<u32>,
    delivered_all: u64,
    delivered: u64,
    gaps: u64,
    duplicates: u64,
    foreign: u64,
    corrupt: u64,
    acks: u64,
    rejected: u64,
    /// Refusals by result code, ascending.
    rejected_codes: Vec<(u16, u64)>,
    /// The member that stops reading: its deliveries are counted apart.
    slow: Option<u64>,
    /// Deliveries the slow member read (before it stopped).
    slow_delivered: u64,
    /// 217s received by members other than the slow one.
    left: u64,
    /// When the first of them arrived, ns since the base instant.
    first_left_ns: Option<u64>,
    latency_ns: Histogram<u64>,
    /// Who sends message `g`, and back.
    rotation: Rotation,
}

impl Tracker {
    /// Scheduled time of message `g`, in ns since the base instant.
    fn sched_ns(&self, g: u64) -> u64 {
        (g as f64 * self.interval_ns) as u64
    }

    /// The first message scheduled at or after `ns`.
    fn first_at_or_after(&self, ns: u64) -> u64 {
        let mut g = (ns as f64 / self.interval_ns).ceil() as u64;
        while g > 0 && self.sched_ns(g - 1) >= ns {
            g -= 1;
        }
        while self.sched_ns(g) < ns {
            g += 1;
        }
        g
    }

    fn incoming(&mut self, receiver: usize, event: Incoming<'_>, now_ns: u64) {
        match event {
            Incoming::Delivery(text) => self.delivery(receiver as u64, text, now_ns),
            Incoming::Ack { ok, code } => {
                self.acks += 1;
                if !ok {
                    self.rejected += 1;
                    match self.rejected_codes.binary_search_by_key(&code, |&(c, _)| c) {
                        Ok(at) => self.rejected_codes[at].1 += 1,
                        Err(at) => self.rejected_codes.insert(at, (code, 1)),
                    }
                }
            }
            Incoming::Left => {
                if self.slow != Some(receiver as u64) {
                    self.left += 1;
                    self.first_left_ns.get_or_insert(now_ns);
                }
            }
            Incoming::Ping | Incoming::Other => {}
        }
    }

    fn delivery(&mut self, receiver: u64, text: &[u8], now_ns: u64) {
        if self.slow == Some(receiver) {
            self.slow_delivered += 1;
            return;
        }
        let Some(Stamp {
            sender,
            seq,
            sched_ns,
        }) = read_text(text)
        else {
            self.corrupt += 1;
            return;
        };
        let sender = u64::from(sender);
        if sender >= self.n || sender / self.m != receiver / self.m {
            self.foreign += 1;
            return;
        }
        let Some(g) = self.rotation.message(sender, seq) else {
            self.corrupt += 1;
            return;
        };
        if g >= self.total || self.sched_ns(g) != sched_ns {
            self.corrupt += 1;
            return;
        }
        let slot = (receiver * self.m + sender % self.m) as usize;
        let Some(next) = self.next_seq.get_mut(slot) else {
            self.corrupt += 1;
            return;
        };
        let next_seq = u64::from(*next);
        if seq < next_seq {
            self.duplicates += 1;
            return;
        }
        self.gaps += seq - next_seq;
        *next = u32::try_from(seq + 1).unwrap_or(u32::MAX);
        self.delivered_all += 1;
        if g >= self.first_measured {
            self.delivered += 1;
            self.latency_ns
                .saturating_record(now_ns.saturating_sub(sched_ns).max(1));
        }
    }
}

/// The running load.
struct Load<'a> {
    plan: &'a ChatPlan,
    poll: Poll,
    conns: Vec<Conn>,
    /// Per room: how a message is framed.
    envelopes: Vec<Envelope>,
    tracker: Tracker,
    errors: Errors,
    /// Shared read buffer.
    rbuf: Vec<u8>,
    /// Connections with bytes queued this turn.
    dirty: Vec<usize>,
    t0: Instant,
    next_g: u64,
    sent_all: u64,
    sent: u64,
    unsent: u64,
    /// Deliveries owed for every message sent so far (its room's members,
    /// less a slow one).
    expected_all: u64,
    /// Messages scheduled in the measured window (the slow member's none).
    scheduled: u64,
    /// Deliveries owed for them.
    expected: u64,
    /// When the slow member stopped reading.
    slow_stopped: Option<Instant>,
    lag_ns: Histogram<u64>,
    setup_secs: f64,
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
    fn new(
        plan: &'a ChatPlan,
        streams: Vec<StdStream>,
        leftovers: Vec<Vec<u8>>,
        setup_secs: f64,
    ) -> anyhow::Result<Load<'a>> {
        let poll = Poll::new().context("creating the poller")?;
        let mut conns = Vec::with_capacity(streams.len());
        for (i, (stream, partial)) in streams.into_iter().zip(leftovers).enumerate() {
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
        let n = plan.connections() as u64;
        let m = u64::from(plan.members);
        let mut tracker = Tracker {
            n,
            m,
            interval_ns: 1e9 / plan.rate,
            first_measured: 0,
            total: 0,
            next_seq: vec![0; (n * m) as usize],
            delivered_all: 0,
            delivered: 0,
            gaps: 0,
            duplicates: 0,
            foreign: 0,
            corrupt: 0,
            acks: 0,
            rejected: 0,
            rejected_codes: Vec::new(),
            slow: plan.slow.map(|s| s.member as u64),
            slow_delivered: 0,
            left: 0,
            first_left_ns: None,
            latency_ns: histogram()?,
            rotation: Rotation::new(plan.order, plan.rooms, plan.members, plan.seed),
        };
        tracker.first_measured = tracker.first_at_or_after(nanos(plan.warmup));
        tracker.total = tracker.first_at_or_after(nanos(plan.warmup + plan.duration));
        Ok(Load {
            plan,
            poll,
            conns,
            envelopes,
            tracker,
            errors: Errors::default(),
            rbuf: vec![0; READ_CHUNK + MAX_FRAME],
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
        })
    }

    fn run(mut self, observer: &mut dyn FnMut(&Progress)) -> anyhow::Result<ChatOutcome> {
        // Whatever arrived during setup (presence notifies) is parsed first.
        for i in 0..self.conns.len() {
            self.read(i);
        }
        let plan = self.plan;
        self.t0 = Instant::now();
        // Fires at or just after each message's due time (the period is
        // rounded up and starts after t0), never before it.
        let mut timer = start_timer(self.tracker.interval_ns, self.poll.registry());
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
            if self.next_g < self.tracker.total {
                self.send_due(now);
                if self.next_g >= self.tracker.total {
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
            if measured.is_some() && self.next_g >= self.tracker.total {
                let all_arrived = self.tracker.delivered_all >= self.expected_all;
                if all_arrived || now >= drain_deadline {
                    break;
                }
            }
            let mut wake = drain_deadline.min(next_progress);
            if self.next_g < self.tracker.total {
                let due = self.t0 + Duration::from_nanos(self.tracker.sched_ns(self.next_g));
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
                if n % SEND_CHECK_EVERY == SEND_CHECK_EVERY - 1 && self.next_g < self.tracker.total
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
            connected: t.n,
            setup_secs: self.setup_secs,
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

    /// Queues every message due by `now` on its sender, then writes each
    /// touched connection once.
    fn send_due(&mut self, now: Instant) {
        let elapsed = nanos(now.saturating_duration_since(self.t0));
        let t = &self.tracker;
        let size = self.plan.size;
        while self.next_g < t.total {
            let g = self.next_g;
            let sched_ns = t.sched_ns(g);
            if sched_ns > elapsed {
                break;
            }
            self.next_g += 1;
            let sender = t.rotation.sender(g) as usize;
            if t.slow == Some(sender as u64) {
                continue; // the slow member sends nothing
            }
            let receivers = if t.slow.is_some_and(|s| s / t.m == sender as u64 / t.m) {
                t.m - 1
            } else {
                t.m
            };
            let measured = g >= t.first_measured;
            if measured {
                self.scheduled += 1;
                self.expected += receivers;
            }
            let env = &self.envelopes[sender / self.plan.members as usize];
            let conn = &mut self.conns[sender];
            if !conn.open || conn.out.len() - conn.out_pos + env.len(size) > OUT_LIMIT {
                self.unsent += 1;
                continue;
            }
            conn.out.extend_from_slice(&env.prefix);
            let stamp = Stamp {
                sender: sender as u32,
                seq: g / t.n,
                sched_ns,
            };
            write_text(&mut conn.out, stamp, size);
            conn.out.extend_from_slice(&env.suffix);
            self.sent_all += 1;
            self.expected_all += receivers;
            if measured {
                self.sent += 1;
                self.lag_ns
                    .saturating_record(elapsed.saturating_sub(sched_ns).max(1));
            }
            if !conn.queued {
                conn.queued = true;
                self.dirty.push(sender);
            }
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        for &i in &dirty {
            self.conns[i].queued = false;
            if !self.conns[i].blocked {
                self.flush(i);
            }
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// Writes as much of connection `i`'s queued bytes as the socket takes.
    fn flush(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        while conn.open && conn.out_pos < conn.out.len() {
            match conn.stream.write(&conn.out[conn.out_pos..]) {
                Ok(0) => {
                    self.errors.io_errors += 1;
                    self.errors.note(i, "the socket took no bytes".into());
                    conn.open = false;
                }
                Ok(n) => conn.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.errors.io_errors += 1;
                    self.errors.note(i, format!("writing: {e}"));
                    conn.open = false;
                }
            }
        }
        if conn.out_pos == conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
        } else if conn.out_pos > conn.out.len() / 2 {
            conn.out.drain(..conn.out_pos);
            conn.out_pos = 0;
        }
        if !conn.open {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }

    /// After the load: reads the slow member's socket empty, counting the
    /// deliveries still in it, until the connection ends or `slow.drain`
    /// passes.
    fn drain_slow(&mut self, slow: SlowPlan) -> SlowOutcome {
        let since_t0 = |at: Instant| at.saturating_duration_since(self.t0).as_secs_f64();
        let stopped_at_secs = self
            .slow_stopped
            .map_or(slow.stop_at.as_secs_f64(), since_t0);
        let mut outcome = SlowOutcome {
            stopped_at_secs,
            read_before_stop: self.tracker.slow_delivered,
            leave_notices: self.tracker.left,
            first_leave_notice_secs: self.tracker.first_left_ns.map(|ns| ns as f64 / 1e9),
            drained_deliveries: 0,
            drained_bytes: 0,
            end: "open".into(),
        };
        let conn = &mut self.conns[slow.member];
        if !conn.open {
            outcome.end = "closed".into(); // seen closed before it stopped reading
            return outcome;
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let mut buf = std::mem::take(&mut conn.partial);
        let deadline = Instant::now() + slow.drain;
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match conn.stream.read(&mut chunk) {
                Ok(0) => {
                    outcome.end = "closed".into();
                    break;
                }
                Ok(n) => {
                    outcome.drained_bytes += n as u64;
                    buf.extend_from_slice(&chunk[..n]);
                    let mut deliveries = 0;
                    match parse_ringport(&buf, MAX_FRAME, |e| {
                        if matches!(e, Incoming::Delivery(_)) {
                            deliveries += 1;
                        }
                    }) {
                        Ok(used) => {
                            buf.drain(..used);
                        }
                        Err(e) => {
                            outcome.end = format!("error: {e}");
                            break;
                        }
                    }
                    outcome.drained_deliveries += deliveries;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        break; // still open
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    outcome.end = "reset".into();
                    break;
                }
                Err(e) => {
                    outcome.end = format!("error: {e}");
                    break;
                }
            }
        }
        conn.open = false;
        outcome
    }

    /// Reads everything connection `i` has and handles every whole packet.
    fn read(&mut self, i: usize) {
        if let Some(slow) = self.plan.slow.filter(|s| s.member == i) {
            if self.slow_stopped.is_some() {
                return;
            }
            let now = Instant::now();
            if now >= self.t0 + slow.stop_at {
                self.slow_stopped = Some(now);
                return;
            }
        }
        let conn = &mut self.conns[i];
        let rbuf = &mut self.rbuf;
        let tracker = &mut self.tracker;
        let system = self.plan.system;
        let mut filled = conn.partial.len();
        let mut pong = false;
        if filled > rbuf.len() {
            self.errors.protocol_errors += 1;
            self.errors
                .note(i, "a packet larger than the read buffer".into());
            conn.open = false;
        } else {
            rbuf[..filled].copy_from_slice(&conn.partial);
            conn.partial.clear();
        }
        while conn.open {
            let space = rbuf.len() - filled;
            if space == 0 {
                self.errors.protocol_errors += 1;
                self.errors
                    .note(i, "a value larger than the read buffer".into());
                conn.open = false;
                break;
            }
            let n = match conn
                .stream
                .read(&mut rbuf[filled..filled + space.min(READ_CHUNK)])
            {
                Ok(0) => {
                    self.errors.closed_by_server += 1;
                    self.errors
                        .note(i, "the server closed the connection".into());
                    conn.open = false;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.errors.io_errors += 1;
                    self.errors.note(i, format!("reading: {e}"));
                    conn.open = false;
                    break;
                }
            };
            let now_ns = nanos(Instant::now().saturating_duration_since(self.t0));
            filled += n;
            let mut pings = 0usize;
            let handle = |event: Incoming<'_>| {
                if event == Incoming::Ping {
                    pings += 1;
                }
                tracker.incoming(i, event, now_ns);
            };
            let parsed = match system {
                ChatSystem::Ringport => parse_ringport(&rbuf[..filled], MAX_FRAME, handle),
                ChatSystem::Redis => parse_redis(&rbuf[..filled], handle),
                ChatSystem::Nats => parse_nats(&rbuf[..filled], handle),
            };
            for _ in 0..pings {
                conn.out.extend_from_slice(b"PONG\r\n");
                pong = true;
            }
            match parsed {
                Ok(used) => {
                    rbuf.copy_within(used..filled, 0);
                    filled -= used;
                }
                Err(e) => {
                    self.errors.protocol_errors += 1;
                    self.errors.note(i, e);
                    conn.open = false;
                    break;
                }
            }
            if n < space.min(READ_CHUNK) {
                break; // a short read: the socket is drained
            }
        }
        if conn.open {
            conn.partial.extend_from_slice(&rbuf[..filled]);
            if pong && !conn.blocked {
                self.flush(i);
            }
        } else {
            let _ = self.poll.registry().deregister(&mut conn.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(n: u64, m: u64, rate: f64) -> Tracker {
        let mut t = Tracker {
            n,
            m,
            interval_ns: 1e9 / rate,
            first_measured: 0,
            total: 0,
            next_seq: vec![0; (n * m) as usize],
            delivered_all: 0,
            delivered: 0,
            gaps: 0,
            duplicates: 0,
            foreign: 0,
            corrupt: 0,
            acks: 0,
            rejected: 0,
            rejected_codes: Vec::new(),
            slow: None,
            slow_delivered: 0,
            left: 0,
            first_left_ns: None,
            latency_ns: histogram().unwrap(),
            rotation: Rotation::new(SendOrder::Grouped, (n / m) as u32, m as u32, 0),
        };
        t.first_measured = t.first_at_or_after(1_000_000_000);
        t.total = t.first_at_or_after(2_000_000_000);
        t
    }

    fn text(t: &Tracker, g: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let stamp = Stamp {
            sender: t.rotation.sender(g) as u32,
            seq: g / t.n,
            sched_ns: t.sched_ns(g),
        };
        write_text(&mut out, stamp, 64);
        out
    }

    #[test]
    fn window_boundaries_follow_the_schedule() {
        let t = tracker(6, 3, 4.0); // every 250 ms
        assert_eq!(t.first_measured, 4); // at 1000 ms
        assert_eq!(t.total, 8); // the last at 1750 ms
        let t = tracker(6, 3, 7.0);
        assert!(t.sched_ns(t.first_measured) >= 1_000_000_000);
        assert!(t.sched_ns(t.first_measured - 1) < 1_000_000_000);
        assert!(t.sched_ns(t.total - 1) < 2_000_000_000);
        assert!(t.sched_ns(t.total) >= 2_000_000_000);
    }

    #[test]
    fn deliveries_are_checked_per_sender_and_receiver() {
        // 2 rooms of 3: members 0-2 and 3-5.
        let mut t = tracker(6, 3, 60.0);
        let g0 = t.first_measured; // a measured message
        let sender = g0 % 6;
        let room_mate = sender / 3 * 3 + (sender + 1) % 3;
        let stranger = (sender + 3) % 6;
        let now = t.sched_ns(g0) + 1000;
        t.delivery(room_mate, &text(&t, g0), now);
        assert_eq!((t.delivered, t.gaps, t.duplicates), (1, g0 / 6, 0));
        assert_eq!(t.latency_ns.max(), 1000);
        t.delivery(room_mate, &text(&t, g0), now);
        assert_eq!(t.duplicates, 1);
        t.delivery(stranger, &text(&t, g0), now);
        assert_eq!(t.foreign, 1);
        let mut bad = text(&t, g0);
        bad[30] = if bad[30] == b'0' { b'1' } else { b'0' }; // wrong time
        t.delivery(sender, &bad, now);
        t.delivery(sender, b"hello", now);
        assert_eq!(t.corrupt, 2);
        // The next message of the same sender, skipping one.
        t.delivery(room_mate, &text(&t, g0 + 12), now);
        assert_eq!((t.delivered, t.gaps), (2, g0 / 6 + 1));
        // A warmup message is checked but not counted.
        let mut t = tracker(6, 3, 60.0);
        t.delivery(0, &text(&t, 0), 5);
        assert_eq!((t.delivered_all, t.delivered), (1, 0));
    }
}
