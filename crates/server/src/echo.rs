//! `ringport echo`: the bare engine as an echo server (tutorial stage 1).
//!
//! `--framing raw` echoes whatever bytes arrive; `--framing packet` cuts the
//! stream into PROTOCOL.md packets, echoes DEV_ECHO (id 1) packets with type
//! 0, ignores other ids and closes sessions that send a bad frame length.

use std::net::{SocketAddr, TcpListener};

use anyhow::Context;
use clap::{Args, ValueEnum};
use ringport_net::{Endpoint, Engine, Event, RawFraming};
use ringport_proto::header::HEADER_LEN;
use ringport_proto::id::DEV_ECHO;

use crate::engine_args::EngineArgs;
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
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:11021")]
    pub listen: SocketAddr,

    /// Raw bytes or DEV_ECHO packets.
    #[arg(long, value_enum, default_value_t = EchoFraming::Raw)]
    pub framing: EchoFraming,

    /// Largest packet accepted with `--framing packet` (at most 32767).
    #[arg(long, default_value_t = 8192)]
    pub max_frame: usize,

    /// Engine settings.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs the echo server until SIGINT/SIGTERM.
pub fn run(args: EchoArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let cfg = args.engine.to_config();
    let threads = cfg.io_threads;
    let (engine, endpoint) = match args.framing {
        EchoFraming::Raw => Engine::start(listener, cfg, RawFraming),
        EchoFraming::Packet => Engine::start(listener, cfg, PacketFraming::new(args.max_frame)),
    }
    .context("cannot start the engine")?;
    tracing::info!(
        listen = %engine.local_addr(),
        backend = %engine.backend(),
        io_threads = threads,
        framing = ?args.framing,
        "ringport echo listening on {}",
        engine.local_addr()
    );
    let stop = engine.shutdown_handle();
    crate::signals::watch(move || stop.shutdown()).context("cannot watch signals")?;
    serve(endpoint, args.framing);
    let stats = engine.stats();
    engine.join().context("engine stopped abnormally")?;
    tracing::info!(
        accepted = stats.accepted,
        frames_in = stats.frames_in,
        bytes_out = stats.bytes_out,
        "ringport echo stopped"
    );
    Ok(())
}

/// The echo application: runs until the engine stops.
pub fn serve(mut endpoint: Endpoint, framing: EchoFraming) {
    let mut scratch = Vec::with_capacity(ringport_proto::header::MAX_FRAME_LIMIT);
    while let Ok(batch) = endpoint.recv(None) {
        for event in batch.iter() {
            let Event::Frame { session, frame } = event else {
                continue;
            };
            match framing {
                EchoFraming::Raw => endpoint.send(session, frame),
                EchoFraming::Packet => {
                    // The framing guarantees a whole header; `Header::parse`
                    // checks again rather than trusting it.
                    let Some(header) = ringport_proto::header::Header::parse(frame) else {
                        continue;
                    };
                    let id = header.id;
                    if id == DEV_ECHO && frame.len() >= HEADER_LEN {
                        scratch.clear();
                        scratch.extend_from_slice(frame);
                        scratch[4] = 0; // type: always 0 on what we send
                        endpoint.send(session, &scratch);
                    } else {
                        tracing::debug!(%session, id, "ignoring a non-echo packet");
                    }
                }
            }
        }
        endpoint.flush();
    }
}
