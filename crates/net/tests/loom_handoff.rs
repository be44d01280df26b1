//! Model check of the batch hand-off's pause/wake handshake
//! (`src/wake_flag.rs`) with loom: every interleaving and every value the
//! C11 memory model lets a load see, up to loom's documented limits.
//!
//! Run with:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo test -p ringport-net --test loom_handoff --release
//! ```
//!
//! The model: an I/O thread needs `n` free batches. It tries the free list,
//! and when that is empty runs the pause handshake and, if the re-check
//! finds nothing either, sleeps until woken. Application threads ("givers")
//! drop batches: push to the free list, then take the flag and wake the I/O
//! thread if it was up. The wake-up is a loom `Notify` (a wake before the
//! sleep is kept, like the eventfd's counter; loom also tries a spurious
//! wake). Once every giver has finished, the last one sends one more wake,
//! the engine's 250 ms tick: an I/O thread that only that tick wakes had
//! lost its wake-up, and the test fails with "lost wake-up".
//!
//! The free list is an atomic counter pushed with Release and popped with
//! Acquire, the weakest orderings a channel that hands over data may have,
//! so the check does not rely on fences or locks inside the real channel
//! (crossbeam): a `Mutex` would order the two sides by itself and hide the
//! bug.
//!
//! loom's documented limits, and why they do not weaken this check:
//!
//! - loom treats `SeqCst` loads, stores and read-modify-writes as `AcqRel`
//!   (tokio-rs/loom#180; `fence(SeqCst)` is modeled). `WakeFlag` uses
//!   `AcqRel` swaps and no `SeqCst` at all, so loom checks exactly what the
//!   engine runs.
//! - loom 0.7 keeps a location's modification order partial and can let a
//!   read see a store that another store, which happens before the read,
//!   already overwrote (tokio-rs/loom#254, #389). Every write of the flag is
//!   a swap, and each swap reads the latest value, so the flag's order is a
//!   single chain, the case loom models exactly.
//!
//! The `weakened_*` tests run the same model against copies of the handshake
//! with one ordering weakened, or with the engine's previous code (a
//! Release `store` to raise the flag), and expect loom to find the lost
//! wake-up; `copy_as_in_engine_passes` runs the copy unweakened. Together
//! they show that the model catches the bug it is here for and that each
//! ordering `WakeFlag` uses is needed.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Notify};
use loom::thread;
use ringport_net::wake_flag::WakeFlag;

/// Stand-in for the free-batch channel, with the weakest orderings a channel
/// that hands over data may have.
#[derive(Default)]
struct FreeList {
    items: AtomicUsize,
}

impl FreeList {
    fn push(&self) {
        self.items.fetch_add(1, Ordering::Release);
    }

    fn try_pop(&self) -> Option<()> {
        let mut n = self.items.load(Ordering::Acquire);
        loop {
            if n == 0 {
                return None;
            }
            match self
                .items
                .compare_exchange(n, n - 1, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(()),
                Err(now) => n = now,
            }
        }
    }
}

/// The two halves of a pause/wake handshake, so the same model runs against
/// the real one and against deliberately broken copies.
trait Handshake: Default + Send + Sync + 'static {
    fn pause_unless(&self, recheck: impl FnOnce() -> Option<()>) -> Option<()>;
    fn take(&self) -> bool;
}

impl Handshake for WakeFlag {
    fn pause_unless(&self, recheck: impl FnOnce() -> Option<()>) -> Option<()> {
        WakeFlag::pause_unless(self, recheck)
    }

    fn take(&self) -> bool {
        WakeFlag::take(self)
    }
}

/// How a copy of the handshake writes the flag.
trait Variant: Send + Sync + 'static {
    /// Raise with a swap of this ordering, or with a Release store (the
    /// engine's code before `WakeFlag`) when `None`.
    const RAISE: Option<Ordering>;
    const TAKE: Ordering;
}

/// A copy of `WakeFlag`'s logic with the orderings of `V`.
struct Replica<V> {
    paused: AtomicBool,
    _variant: std::marker::PhantomData<V>,
}

impl<V> Default for Replica<V> {
    fn default() -> Self {
        Replica {
            paused: AtomicBool::new(false),
            _variant: std::marker::PhantomData,
        }
    }
}

impl<V: Variant> Handshake for Replica<V> {
    fn pause_unless(&self, recheck: impl FnOnce() -> Option<()>) -> Option<()> {
        match V::RAISE {
            Some(order) => {
                self.paused.swap(true, order);
            }
            None => self.paused.store(true, Ordering::Release),
        }
        let found = recheck();
        if found.is_some() {
            match V::RAISE {
                Some(order) => {
                    self.paused.swap(false, order);
                }
                None => self.paused.store(false, Ordering::Release),
            }
        }
        found
    }

    fn take(&self) -> bool {
        self.paused.swap(false, V::TAKE)
    }
}

/// The shared state of one run of the model.
struct Home<H> {
    free: FreeList,
    flag: H,
    /// The I/O thread's eventfd.
    waker: Notify,
    /// Wake-ups sent by givers.
    wakes: AtomicUsize,
    /// Givers that have returned all their batches.
    givers_done: AtomicUsize,
    /// Set (before the last wake) once every giver has finished.
    tick: AtomicBool,
}

/// The application drops a batch (`EventBatch::drop`).
fn give_back<H: Handshake>(home: &Home<H>) {
    home.free.push();
    if home.flag.take() {
        home.wakes.fetch_add(1, Ordering::Release);
        home.waker.notify();
    }
}

/// The I/O thread takes `n` batches from the free list, pausing while there
/// is none (`Shard::ship` and the wait of the engine's loop). Returns how
/// often it paused.
fn io_thread<H: Handshake>(home: &Home<H>, n: usize) -> Result<usize, String> {
    let mut got = 0;
    let mut pauses = 0;
    let mut seen_wakes = 0;
    while got < n {
        if home.free.try_pop().is_some() {
            got += 1;
            continue;
        }
        pauses += 1;
        if home.flag.pause_unless(|| home.free.try_pop()).is_some() {
            got += 1;
            continue;
        }
        // Sleep until a giver wakes the thread (a spurious wake just goes
        // round again).
        loop {
            home.waker.wait();
            // The tick first: once it is seen, every giver's wake is too.
            let tick = home.tick.load(Ordering::Acquire);
            let wakes = home.wakes.load(Ordering::Acquire);
            if wakes > seen_wakes {
                seen_wakes = wakes;
                break;
            }
            if tick {
                return Err(format!(
                    "lost wake-up: paused with {got} of {n} batches and only the tick woke the thread"
                ));
            }
        }
    }
    Ok(pauses)
}

/// Runs the model: the I/O thread needs `givers × per_giver` batches, each
/// giver thread returns `per_giver` of them. All interleavings with up to
/// three preemptions, about two seconds for the file (`LOOM_MAX_PREEMPTIONS`
/// overrides: every test here also passes with 6, in about five minutes).
fn check<H: Handshake>(givers: usize, per_giver: usize) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(move || {
        let home = Arc::new(Home {
            free: FreeList::default(),
            flag: H::default(),
            waker: Notify::new(),
            wakes: AtomicUsize::new(0),
            givers_done: AtomicUsize::new(0),
            tick: AtomicBool::new(false),
        });
        let threads: Vec<_> = (0..givers)
            .map(|_| {
                let home = home.clone();
                thread::spawn(move || {
                    for _ in 0..per_giver {
                        give_back(&home);
                    }
                    // The last giver to finish stands in for the engine's
                    // tick, which wakes the I/O thread whatever happened.
                    if home.givers_done.fetch_add(1, Ordering::AcqRel) + 1 == givers {
                        home.tick.store(true, Ordering::Release);
                        home.waker.notify();
                    }
                })
            })
            .collect();
        // The I/O thread is the model's main thread.
        let pauses = io_thread(&home, givers * per_giver).unwrap();
        for t in threads {
            t.join().unwrap();
        }
        // Each pause is answered by at most one wake (a wake may come for
        // nothing, when the re-check found the batch first).
        let wakes = home.wakes.load(Ordering::Relaxed);
        assert!(
            wakes <= pauses,
            "paused {pauses} times, woken {wakes} times"
        );
        assert_eq!(home.free.items.load(Ordering::Relaxed), 0);
    });
}

#[test]
fn one_batch_given_back() {
    check::<WakeFlag>(1, 1);
}

#[test]
fn two_batches_given_back_by_one_thread() {
    check::<WakeFlag>(1, 2);
}

#[test]
fn two_batches_given_back_by_two_threads() {
    check::<WakeFlag>(2, 1);
}

/// `WakeFlag`'s orderings in the test's copy: passes, so the `weakened_*`
/// failures come from the weakened ordering and nothing else.
struct AsInEngine;
impl Variant for AsInEngine {
    const RAISE: Option<Ordering> = Some(Ordering::AcqRel);
    const TAKE: Ordering = Ordering::AcqRel;
}

#[test]
fn copy_as_in_engine_passes() {
    check::<Replica<AsInEngine>>(1, 2);
}

/// The engine's code before `WakeFlag`: Release store to raise, AcqRel swap
/// to take. It worked in practice thanks to the `SeqCst` fence inside
/// crossbeam's `try_recv` and x86's locked instructions, not by the memory
/// model.
struct Previous;
impl Variant for Previous {
    const RAISE: Option<Ordering> = None;
    const TAKE: Ordering = Ordering::AcqRel;
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn weakened_previous_code_loses_a_wakeup() {
    check::<Replica<Previous>>(1, 1);
}

/// The raise without its Acquire half.
struct RaiseRelease;
impl Variant for RaiseRelease {
    const RAISE: Option<Ordering> = Some(Ordering::Release);
    const TAKE: Ordering = Ordering::AcqRel;
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn weakened_raise_without_acquire_loses_a_wakeup() {
    check::<Replica<RaiseRelease>>(1, 1);
}

/// The take without its Release half.
struct TakeAcquire;
impl Variant for TakeAcquire {
    const RAISE: Option<Ordering> = Some(Ordering::AcqRel);
    const TAKE: Ordering = Ordering::Acquire;
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn weakened_take_without_release_loses_a_wakeup() {
    check::<Replica<TakeAcquire>>(1, 1);
}
