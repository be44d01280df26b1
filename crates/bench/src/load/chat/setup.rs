//! Setting a `chat` load's connections up before it starts: plain blocking
//! I/O, phase by phase over all connections (connect all; `--tls`: the
//! handshakes; ringport: log all in, then enter all rooms; Redis: `HELLO 3` and `SUBSCRIBE` all; NATS:
//! `CONNECT`, `SUB`, `PING`), so when the load starts every member is in
//! its room.

use std::io::{self, Read, Write};
use std::net::TcpStream as StdStream;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use ringport_proto::{frame_len, LoginReq, ResultCode, RoomEnterReq, ServerPacket};

use super::runner::Load;
use super::wire::{
    frame_packet, messages, nats_setup, nats_subject, parse_nats_setup, parse_redis_setup,
    redis_channel, redis_command, upgrade_answer, upgrade_request, NatsSetup, RedisSetup,
};
use super::{ChatOutcome, ChatPlan, Progress, MAX_FRAME};
use crate::cli::{ChatSystem, ChatTransport};
use crate::cpu::{CpuTimes, Process};
use crate::load::tls::{handshake_all, SetupStream};

/// Longest wait for one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for one setup phase (all enters, all subscriptions, ...),
/// or for one login answer after the previous one.
const SETUP_PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Password of every ringport member.
const PASSWORD: &str = "pw";

/// Connections set up and ready for the load.
#[derive(Debug)]
pub struct Prepared {
    streams: Vec<SetupStream>,
    leftovers: Vec<Vec<u8>>,
    setup_secs: f64,
}

/// Sets every connection up (connect, log in and enter, or subscribe).
///
/// # Errors
///
/// As [`super::run`].
pub fn prepare(plan: &ChatPlan) -> anyhow::Result<Prepared> {
    if let Some(pid) = plan.server_pid {
        CpuTimes::read(Process::Pid(pid))
            .with_context(|| format!("--server-pid {pid}: cannot read its CPU time"))?;
    }
    let setup_start = Instant::now();
    let streams = connect_all(plan)?;
    let mut streams = match &plan.tls {
        Some(tls) => handshake_all(tls, streams, SETUP_PHASE_TIMEOUT)?,
        None => streams.into_iter().map(SetupStream::Plain).collect(),
    };
    let mut leftovers = vec![Vec::new(); streams.len()];
    if plan.transport == ChatTransport::Ws {
        upgrade_all(plan, &mut streams, &mut leftovers)?;
    }
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
    /// As [`super::run`].
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
    stream: &mut SetupStream,
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

/// Upgrades every connection to WebSocket (`--transport ws`); bytes that
/// follow an answer stay in its leftovers.
fn upgrade_all(
    plan: &ChatPlan,
    streams: &mut [SetupStream],
    bufs: &mut [Vec<u8>],
) -> anyhow::Result<()> {
    let request = upgrade_request(&plan.addr.to_string());
    for (i, stream) in streams.iter_mut().enumerate() {
        stream
            .write_all(&request)
            .with_context(|| format!("member {i}: sending the WebSocket upgrade"))?;
    }
    let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        read_until(stream, buf, deadline, |b| {
            Ok(upgrade_answer(b)?.map_or((0, false), |len| (len, true)))
        })
        .with_context(|| {
            if plan.tls.is_some() {
                format!("member {i}: upgrading to WebSocket (is --target the server's --ws-listen address, with websocket.tls on?)")
            } else {
                format!("member {i}: upgrading to WebSocket (is --target the server's --ws-listen address?)")
            }
        })?;
    }
    Ok(())
}

/// Sends one packet, over TCP or in a WebSocket message.
fn send_packet(
    plan: &ChatPlan,
    stream: &mut SetupStream,
    packet: &[u8],
    framed: &mut Vec<u8>,
) -> io::Result<()> {
    if plan.transport == ChatTransport::Ws {
        framed.clear();
        frame_packet(packet, framed);
        stream.write_all(framed)
    } else {
        stream.write_all(packet)
    }
}

/// Consumes complete ringport packets from `buf` (inside WebSocket messages
/// when `ws`), handing each to `f` until it returns true.
fn ringport_step(
    ws: bool,
    buf: &[u8],
    mut f: impl FnMut(ServerPacket<'_>) -> anyhow::Result<bool>,
) -> anyhow::Result<(usize, bool)> {
    if ws {
        return messages(buf, |payload| {
            let (used, done) = packets_step(payload, &mut f)?;
            if used != payload.len() {
                bail!("a WebSocket message that is not one whole packet");
            }
            Ok(done)
        });
    }
    packets_step(buf, f)
}

/// Consumes complete ringport packets from `buf`, handing each to `f` until
/// it returns true.
fn packets_step(
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
    streams: &mut [SetupStream],
    bufs: &mut [Vec<u8>],
) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut framed = Vec::new();
    let ws = plan.transport == ChatTransport::Ws;
    let user = |i: usize| format!("{}{i}", plan.user_prefix);
    for (i, stream) in streams.iter_mut().enumerate() {
        out.clear();
        let id = user(i);
        LoginReq::new(&id, PASSWORD)
            .map_err(|e| anyhow!("user id {id:?}: {e}"))?
            .encode(&mut out);
        send_packet(plan, stream, &out, &mut framed)
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
            ringport_step(ws, b, |p| {
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
        send_packet(plan, stream, &out, &mut framed)
            .with_context(|| format!("member {i}: sending enter"))?;
    }
    let deadline = Instant::now() + SETUP_PHASE_TIMEOUT;
    for (i, (stream, buf)) in streams.iter_mut().zip(bufs.iter_mut()).enumerate() {
        let mut entered: Option<ResultCode> = None;
        read_until(stream, buf, deadline, |b| {
            ringport_step(ws, b, |p| {
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
    streams: &mut [SetupStream],
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
    streams: &mut [SetupStream],
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
