//! The ping-pong echo load: every connection keeps exactly one message
//! outstanding, checks each echo byte for byte and times the round trip.
//!
//! All connections run as tasks of one current-thread tokio runtime (one
//! core, no cross-thread synchronisation), sharing one [`Stats`] through an
//! `Rc<RefCell<_>>`. Phases are fixed instants taken once every connection is
//! open: warmup, then the measured window. A round trip counts when it
//! completes inside the window; when the window ends the runtime simply stops
//! polling the tasks, so no per-message timer is needed.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::LocalSet;

use crate::cli::Framing;
use crate::cpu::{CpuMeter, CpuTimes, CpuUse, Process};
use crate::load::connect::connect_all;
use crate::load::payload::Message;
use crate::load::{histogram, nanos, PROGRESS_EVERY};

/// What to run.
#[derive(Debug, Clone)]
pub struct EchoPlan {
    /// Server address.
    pub addr: SocketAddr,
    /// Connections to open.
    pub connections: u32,
    /// Total message size in bytes (header included with packet framing).
    pub size: usize,
    /// Message framing.
    pub framing: Framing,
    /// Time run before measuring.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Server process whose CPU time to sample over the window.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug)]
pub struct EchoOutcome {
    /// Connections that opened.
    pub connected: u32,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Round trips completed (and matching) inside the measured window.
    pub completed: u64,
    /// Round-trip latencies of `completed`, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Echoes that differed from what was sent (whole run, warmup included).
    pub mismatches: u64,
    /// Connections the server closed before echoing everything.
    pub closed_by_server: u64,
    /// Connections that failed with another I/O error.
    pub io_errors: u64,
    /// The first connect or I/O error, if any.
    pub first_error: Option<String>,
    /// The first mismatch, if any.
    pub first_mismatch: Option<String>,
    /// This process's CPU use over the measured window.
    pub generator_cpu: CpuUse,
    /// The server's CPU use over the window, or why it could not be read.
    pub server_cpu: Option<Result<CpuUse, String>>,
}

impl EchoOutcome {
    /// All errors: failed connects, early closes and I/O errors.
    pub fn errors(&self) -> u64 {
        self.connect_failures + self.closed_by_server + self.io_errors
    }
}

/// Runs the load on a current-thread runtime and returns what it measured.
///
/// # Errors
///
/// When the runtime cannot be built, `--server-pid` names no readable
/// process, or no connection at all could be opened. Errors of single
/// connections are counted in the outcome instead.
pub fn run(plan: &EchoPlan) -> anyhow::Result<EchoOutcome> {
    if let Some(pid) = plan.server_pid {
        CpuTimes::read(Process::Pid(pid))
            .with_context(|| format!("--server-pid {pid}: cannot read its CPU time"))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    LocalSet::new().block_on(&runtime, run_local(plan))
}

async fn run_local(plan: &EchoPlan) -> anyhow::Result<EchoOutcome> {
    let connected = connect_all(plan.addr, plan.connections).await;
    if connected.streams.is_empty() {
        bail!(
            "no connection to {} could be opened: {}",
            plan.addr,
            connected.first_error.as_deref().unwrap_or("unknown error")
        );
    }
    let opened = u32::try_from(connected.streams.len()).unwrap_or(u32::MAX);

    let start = Instant::now();
    let from = start + plan.warmup;
    let until = from + plan.duration;
    let stats = Rc::new(RefCell::new(Stats::new(from, until)?));
    for (n, stream) in (0u32..).zip(connected.streams) {
        tokio::task::spawn_local(drive(n, stream, plan.framing, plan.size, Rc::clone(&stats)));
    }

    // A progress bar (on a terminal only), updated by a task of its own.
    let bar = Rc::new(crate::report::progress::Bar::new(
        "echo",
        plan.warmup + plan.duration,
    ));
    {
        let (bar, stats) = (Rc::clone(&bar), Rc::clone(&stats));
        tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(PROGRESS_EVERY).await;
                let done = stats.borrow().completed;
                bar.update(start.elapsed(), || format!("round trips {done}"));
            }
        });
    }

    tokio::time::sleep_until(from.into()).await;
    let generator = CpuMeter::start(Process::Current)?;
    let server = plan
        .server_pid
        .map(|pid| CpuMeter::start(Process::Pid(pid)).map_err(|e| format!("{e:#}")));
    tokio::time::sleep_until(until.into()).await;
    let generator_cpu = generator.finish()?;
    let server_cpu = server.map(|m| m.and_then(|m| m.finish().map_err(|e| format!("{e:#}"))));

    bar.finish();
    let stats = stats.borrow();
    let mut first_error = connected.first_error;
    if first_error.is_none() {
        first_error.clone_from(&stats.first_error);
    }
    Ok(EchoOutcome {
        connected: opened,
        connect_failures: connected.failures,
        completed: stats.completed,
        latency_ns: stats.latency_ns.clone(),
        mismatches: stats.mismatches,
        closed_by_server: stats.closed_by_server,
        io_errors: stats.io_errors,
        first_error,
        first_mismatch: stats.first_mismatch.clone(),
        generator_cpu,
        server_cpu,
    })
}

/// Counters shared by all connections of a run.
#[derive(Debug)]
struct Stats {
    from: Instant,
    until: Instant,
    completed: u64,
    latency_ns: Histogram<u64>,
    mismatches: u64,
    closed_by_server: u64,
    io_errors: u64,
    first_error: Option<String>,
    first_mismatch: Option<String>,
}

impl Stats {
    fn new(from: Instant, until: Instant) -> anyhow::Result<Stats> {
        Ok(Stats {
            from,
            until,
            completed: 0,
            latency_ns: histogram()?,
            mismatches: 0,
            closed_by_server: 0,
            io_errors: 0,
            first_error: None,
            first_mismatch: None,
        })
    }

    fn round_trip(&mut self, sent: Instant, done: Instant) {
        if done >= self.from && done < self.until {
            self.completed += 1;
            self.latency_ns.saturating_record(nanos(done - sent).max(1));
        }
    }

    fn mismatch(&mut self, connection: u32, seq: u64, sent: &[u8], echo: &[u8]) {
        self.mismatches += 1;
        if self.first_mismatch.is_none() {
            let what = match sent.iter().zip(echo).position(|(a, b)| a != b) {
                Some(at) => format!(
                    "byte {at} of {} differs (sent {:#04x}, got {:#04x})",
                    sent.len(),
                    sent[at],
                    echo[at]
                ),
                None => format!("got {} bytes back for {} sent", echo.len(), sent.len()),
            };
            self.first_mismatch = Some(format!("connection {connection}, message {seq}: {what}"));
        }
    }

    fn failure(&mut self, connection: u32, seq: u64, error: &io::Error) {
        if error.kind() == io::ErrorKind::UnexpectedEof {
            self.closed_by_server += 1;
        } else {
            self.io_errors += 1;
        }
        if self.first_error.is_none() {
            let what = if error.kind() == io::ErrorKind::UnexpectedEof {
                "server closed the connection before the whole echo arrived".to_string()
            } else {
                error.to_string()
            };
            self.first_error = Some(format!("connection {connection}, message {seq}: {what}"));
        }
    }
}

/// Spare room after the expected echo in the receive buffer.
///
/// Reading into a buffer larger than what has arrived lets tokio see that the
/// socket is drained (a short read) and skip the `recv` that would only
/// return `EAGAIN`: one system call less per round trip. It also catches a
/// server that sends more than the echo.
const RECEIVE_SLACK: usize = 64;

/// One connection's loop: send, read the whole echo, check, record, repeat.
///
/// Writing and reading run concurrently so that a message larger than the
/// socket buffers cannot deadlock against a server that echoes as it reads.
async fn drive(
    connection: u32,
    mut stream: TcpStream,
    framing: Framing,
    size: usize,
    stats: Rc<RefCell<Stats>>,
) {
    let mut message = Message::new(framing, size, connection);
    let mut echo = vec![0u8; size + RECEIVE_SLACK];
    let (mut reader, mut writer) = stream.split();
    for seq in 0u64.. {
        message.fill(seq);
        let sent = Instant::now();
        let result = tokio::try_join!(
            writer.write_all(message.bytes()),
            read_at_least(&mut reader, &mut echo, size)
        );
        let done = Instant::now();
        let mut stats = stats.borrow_mut();
        let received = match result {
            Ok(((), received)) => received,
            Err(e) => {
                stats.failure(connection, seq, &e);
                return;
            }
        };
        let echo = &echo[..received];
        if message.matches(echo) {
            stats.round_trip(sent, done);
        } else {
            stats.mismatch(connection, seq, message.bytes(), echo);
            if received != size || !message.header_matches(echo) {
                // More bytes than were sent, or a packet stream out of step:
                // nothing after this can be trusted on this connection.
                return;
            }
        }
    }
}

/// Reads until at least `want` bytes are in `buf` and returns how many are.
///
/// # Errors
///
/// `UnexpectedEof` when the peer closes first; any I/O error of the read.
async fn read_at_least<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    want: usize,
) -> io::Result<usize> {
    let mut got = 0;
    while got < want {
        match reader.read(&mut buf[got..]).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok(got)
}
