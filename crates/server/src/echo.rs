//! `ringport echo`: the bare engine as an echo server (tutorial stage 1).
//!
//! `--framing raw` echoes whatever bytes arrive; `--framing packet` cuts the
//! stream into PROTOCOL.md packets, echoes DEV_ECHO (id 1) packets with type
//! 0, ignores other ids and closes sessions that send a bad frame length.

use anyhow::Context;
use clap::{Args, ValueEnum};
use ringport_net::{Endpoint, Engine, Event, Handler, RawFraming, Reply, SessionId};
use ringport_proto::header::HEADER_LEN;
use ringport_proto::id::DEV_ECHO;

use crate::config::flags::{Flags, ForEcho};
use crate::config::{Config, ListenAddr};
use crate::packet_framing::PacketFraming;

/// How the echo server reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EchoFraming {
    /// Echo raw bytes as they arrive.
    Raw,
    /// Echo DEV_ECHO packets of the chat protocol.
    Packet,
}

/// Flags of `ringport echo`.
#[derive(Debug, Args)]
pub struct EchoArgs {
    /// Raw bytes or DEV_ECHO packets.
    #[arg(long, value_enum, default_value_t = EchoFraming::Raw)]
    pub framing: EchoFraming,

    /// Largest packet accepted with `--framing packet` (at most 32767).
    #[arg(long, default_value_t = 8192)]
    pub max_frame: usize,

    /// Echo on a separate application thread (frames handed over in batches,
    /// as the chat server does) instead of on the I/O threads.
    #[arg(long)]
    pub app_thread: bool,

    /// The setting flags: `[server]` and `[engine]`.
    #[command(flatten)]
    pub settings: Flags<ForEcho>,
}

impl EchoArgs {
    /// Writes the flags that were given over `config` (only `[server]` and
    /// `[engine]` apply to the echo server).
    pub fn apply(&self, config: &mut Config) {
        self.settings.apply(config);
    }
}

/// Runs the echo server until SIGINT/SIGTERM. `config` has been validated.
pub fn run(args: EchoArgs, config: Config) -> anyhow::Result<()> {
    let ListenAddr::On(listen) = config.server.listen else {
        anyhow::bail!("the echo server needs server.listen (it has no TLS listener)");
    };
    let listener =
        crate::listen::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let cfg = config.engine.to_engine_config();
    let threads = cfg.io_threads;
    let packets = PacketFraming::new(args.max_frame);
    let handler = EchoHandler::new(args.framing);
    let (engine, endpoint) = match (args.framing, args.app_thread) {
        (EchoFraming::Raw, true) => {
            Engine::start(listener, cfg, RawFraming).map(|(e, p)| (e, Some(p)))
        }
        (EchoFraming::Packet, true) => {
            Engine::start(listener, cfg, packets).map(|(e, p)| (e, Some(p)))
        }
        (EchoFraming::Raw, false) => {
            Engine::start_inline(listener, cfg, RawFraming, handler).map(|e| (e, None))
        }
        (EchoFraming::Packet, false) => {
            Engine::start_inline(listener, cfg, packets, handler).map(|e| (e, None))
        }
    }
    .context("cannot start the engine")?;
    crate::signals::shut_down_on_signal(&engine)?;
    tracing::info!(
        listen = %engine.local_addr(),
        backend = %engine.backend(),
        io_threads = threads,
        framing = ?args.framing,
        app_thread = args.app_thread,
        "ringport echo listening on {}",
        engine.local_addr()
    );
    if let Some(endpoint) = endpoint {
        serve(endpoint, args.framing);
    }
    let stats = engine.join().context("engine stopped abnormally")?;
    tracing::info!(
        accepted = stats.accepted,
        frames_in = stats.frames_in,
        bytes_out = stats.bytes_out,
        sends = stats.sends,
        recv_rearms = stats.recv_rearms,
        read_pauses = stats.read_pauses,
        "ringport echo stopped"
    );
    Ok(())
}

/// What to send back for one frame, if anything: raw frames as they are,
/// DEV_ECHO packets with type 0, nothing for other packets.
fn echo_of<'a>(
    framing: EchoFraming,
    frame: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Option<&'a [u8]> {
    match framing {
        EchoFraming::Raw => Some(frame),
        EchoFraming::Packet => {
            // The framing guarantees a whole header; `Header::parse` checks
            // again rather than trusting it.
            let header = ringport_proto::header::Header::parse(frame)?;
            if header.id != DEV_ECHO || frame.len() < HEADER_LEN {
                tracing::debug!(id = header.id, "ignoring a non-echo packet");
                return None;
            }
            scratch.clear();
            scratch.extend_from_slice(frame);
            scratch[4] = 0; // type: always 0 on what we send
            Some(scratch)
        }
    }
}

/// The echo application on the I/O threads (the default).
#[derive(Debug, Clone)]
pub struct EchoHandler {
    framing: EchoFraming,
    scratch: Vec<u8>,
}

impl EchoHandler {
    fn new(framing: EchoFraming) -> Self {
        EchoHandler {
            framing,
            scratch: Vec::with_capacity(ringport_proto::header::MAX_FRAME_LIMIT),
        }
    }
}

impl Handler for EchoHandler {
    fn on_frame(&mut self, _session: SessionId, frame: &[u8], reply: &mut Reply<'_>) {
        if let Some(out) = echo_of(self.framing, frame, &mut self.scratch) {
            reply.send(out);
        }
    }
}

/// The echo application on its own thread (`--app-thread`): runs until the
/// engine stops.
pub fn serve(mut endpoint: Endpoint, framing: EchoFraming) {
    let mut scratch = Vec::with_capacity(ringport_proto::header::MAX_FRAME_LIMIT);
    while let Ok(batch) = endpoint.recv(None) {
        for event in batch.iter() {
            if let Event::Frame { session, frame } = event {
                if let Some(out) = echo_of(framing, frame, &mut scratch) {
                    endpoint.send(session, out);
                }
            }
        }
        endpoint.flush();
    }
}
