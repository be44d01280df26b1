//! No heap allocation per echoed frame in steady state, measured with a
//! counting global allocator around a real engine and echo application.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use ringport_net::{Engine, EngineConfig, Event};

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
    for backend in BACKENDS {
        let listener = bind_listener();
        let addr = listener.local_addr().unwrap();
        let (engine, mut ep) = Engine::start(
            listener,
            EngineConfig {
                backend,
                io_threads: 2,
                ..EngineConfig::default()
            },
            Header5 { max: 1024 },
        )
        .expect("engine starts");
        // The echo application: nothing but the engine's API.
        let app = std::thread::spawn(move || {
            while let Ok(batch) = ep.recv(None) {
                for ev in batch.iter() {
                    if let Event::Frame { session, frame } = ev {
                        ep.send(session, frame);
                    }
                }
                drop(batch);
                ep.flush();
            }
        });

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
        let per_frame = allocations as f64 / MEASURED as f64;
        eprintln!("{backend}: {allocations} allocations over {MEASURED} echoed frames");
        assert!(
            per_frame < 0.01,
            "{backend}: {allocations} allocations over {MEASURED} echoed frames \
             ({per_frame:.3} per frame)"
        );

        drop(c);
        engine.shutdown();
        engine.join().expect("the I/O threads exit cleanly");
        app.join().unwrap();
    }
}
