//! No heap allocation per echoed frame in steady state (the application on
//! its own thread, inline, or hosted on the I/O thread), measured with a
//! counting global allocator around a real engine and echo application.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use ringport_net::{Engine, EngineConfig, Event, Received};

/// Counts every allocation and reallocation made by any thread.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is (see the impl's comment).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: usize = 2_000;
const MEASURED: usize = 20_000;

/// How the echo application waits for events.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// `Endpoint::recv`.
    Recv,
    /// `Endpoint::recv_with` (engine events or another channel).
    RecvWith,
    /// No application thread: a `Handler` echoes on the I/O threads.
    Inline,
    /// A `HostedApp` on the one I/O thread, through the `Endpoint`.
    Hosted,
}

/// Echo on the I/O threads.
#[derive(Clone)]
struct InlineEcho;

impl ringport_net::Handler for InlineEcho {
    fn on_frame(
        &mut self,
        _session: ringport_net::SessionId,
        frame: &[u8],
        reply: &mut ringport_net::Reply<'_>,
    ) {
        reply.send(frame);
    }
}

/// Echo as a hosted application: one flush per turn with events.
struct HostedEcho(ringport_net::Endpoint);

impl ringport_net::HostedApp for HostedEcho {
    fn turn(&mut self) -> Option<std::time::Instant> {
        let mut any = false;
        while let Ok(batch) = self.0.try_recv() {
            for ev in batch.iter() {
                if let Event::Frame { session, frame } = ev {
                    self.0.send(session, frame);
                    any = true;
                }
            }
        }
        if any {
            self.0.flush();
        }
        None
    }
}

#[test]
fn echoing_a_frame_allocates_nothing_in_steady_state() {
    // The counter sees allocations (the allocator is installed).
    let start = ALLOCATIONS.load(Ordering::SeqCst);
    let probe = std::hint::black_box(vec![1u8; 16]);
    assert!(
        ALLOCATIONS.load(Ordering::SeqCst) > start,
        "counting allocator"
    );
    drop(probe);

    // One test, run in turn for each case: other tests in this binary would
    // allocate concurrently and spoil the count.
    for backend in BACKENDS {
        for wait in [Wait::Recv, Wait::RecvWith, Wait::Inline, Wait::Hosted] {
            let allocations = measure(backend, wait);
            let per_frame = allocations as f64 / MEASURED as f64;
            eprintln!(
                "{backend} {wait:?}: {allocations} allocations over {MEASURED} echoed frames"
            );
            assert!(
                per_frame < 0.01,
                "{backend}, application waiting with {wait:?}: {allocations} allocations \
                 over {MEASURED} echoed frames ({per_frame:.3} per frame)"
            );
        }
    }
}

/// Runs an engine and an echo application, and counts the allocations made
/// by every thread during `MEASURED` ping-pong round trips after a warm-up.
fn measure(backend: ringport_net::BackendChoice, wait: Wait) -> u64 {
    let listener = bind_listener();
    let addr = listener.local_addr().unwrap();
    let cfg = EngineConfig {
        backend,
        io_threads: 2,
        ..EngineConfig::default()
    };
    if let Wait::Inline = wait {
        let engine = Engine::start_inline(listener, cfg, Header5 { max: 1024 }, InlineEcho)
            .expect("engine starts");
        let allocations = ping_pong(addr, backend);
        engine.shutdown();
        engine.join().expect("the I/O threads exit cleanly");
        return allocations;
    }
    if let Wait::Hosted = wait {
        let (mut engine, ep, _waker) = Engine::start_hosted(
            vec![ringport_net::Listener::new(
                listener,
                ringport_net::Transport::Tcp,
            )],
            EngineConfig {
                io_threads: 1,
                ..cfg
            },
            Header5 { max: 1024 },
        )
        .expect("engine starts");
        engine.host(Box::new(HostedEcho(ep))).expect("hosted");
        let allocations = ping_pong(addr, backend);
        engine.shutdown();
        engine.join().expect("the I/O thread exits cleanly");
        return allocations;
    }
    let (engine, mut ep) =
        Engine::start(listener, cfg, Header5 { max: 1024 }).expect("engine starts");
    // The echo application: nothing but the engine's API.
    let app = std::thread::spawn(move || {
        let (_keep, other) = ringport_net::crossbeam_channel::bounded::<u8>(1);
        loop {
            let batch = match wait {
                Wait::Recv => match ep.recv(None) {
                    Ok(batch) => batch,
                    Err(_) => break,
                },
                Wait::RecvWith => match ep.recv_with(&other, None) {
                    Received::Events(batch) => batch,
                    Received::Stopped => break,
                    other => panic!("unexpected {other:?}"),
                },
                Wait::Inline | Wait::Hosted => unreachable!("handled above"),
            };
            for ev in batch.iter() {
                if let Event::Frame { session, frame } = ev {
                    ep.send(session, frame);
                }
            }
            drop(batch);
            ep.flush();
        }
    });
    let allocations = ping_pong(addr, backend);
    engine.shutdown();
    engine.join().expect("the I/O threads exit cleanly");
    app.join().unwrap();
    allocations
}

/// Counts the allocations of every thread during `MEASURED` round trips
/// after a warm-up; the connection is closed before returning.
fn ping_pong(addr: std::net::SocketAddr, backend: ringport_net::BackendChoice) -> u64 {
    let mut c = connect(addr);
    let ping = frame(1, b"thirty-two bytes of ping payload");
    let mut pong = vec![0u8; ping.len()];
    let round_trip = |c: &mut std::net::TcpStream, pong: &mut [u8]| {
        c.write_all(&ping).unwrap();
        c.read_exact(pong).unwrap();
    };
    for _ in 0..WARM_UP {
        round_trip(&mut c, &mut pong);
    }
    assert_eq!(pong, ping, "{backend}: echo");
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..MEASURED {
        round_trip(&mut c, &mut pong);
    }
    let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(pong, ping, "{backend}: echo");

    drop(c);
    allocations
}
