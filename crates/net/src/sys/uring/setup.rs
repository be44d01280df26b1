//! Building an I/O thread's ring (with its provided-buffer ring, file table
//! and eventfd waker), probing whether io_uring can be used at all, and the
//! thread's wake-up read on the eventfd.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use io_uring::{opcode, types, IoUring};

use super::accept::Acceptor;
use super::buf_ring::BufRing;
use super::{OpKind, UringDriver, NO_SLOT};
use crate::config::EngineConfig;
use crate::framing::Framing;
use crate::linger::Linger;
use crate::shard::{Shard, ThreadParts};
use crate::sys::AcceptTrouble;
use crate::waker::Waker;

const SQ_ENTRIES: u32 = 1024;
pub(super) const BUF_GROUP: u16 = 0;

/// How completion work (the kernel's side of finished operations) is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskRun {
    /// `IORING_SETUP_DEFER_TASKRUN` (6.1+): only inside this thread's own
    /// waits, in batches. Best for inline handlers: nothing else needs the
    /// thread's attention.
    Deferred,
    /// `IORING_SETUP_COOP_TASKRUN` (5.19+): when the thread next enters the
    /// kernel, without interrupting it. Used when an application thread
    /// shares the core: measured with room fan-out (10 rooms x 100,
    /// messages from rooms in random order, one core), deferred task running
    /// left a standing backlog of 100-250 ms at 800k deliveries/s with the
    /// core 10 % idle, where cooperative task running passed 1.6M/s at p99
    /// 31 ms (docs/BENCHMARKS.md, "Room fan-out in arrival order"); for the
    /// inline echo, deferred was 6-14 % cheaper per message. Also used for
    /// an application hosted on the I/O thread (the chat logic with one I/O
    /// thread): with deferred task running it stood 270-300 ms behind at
    /// 520k-640k deliveries/s (10 rooms x 100, random order, one core),
    /// where cooperative task running passed 1.6M/s at p99 47 ms.
    Cooperative,
}

fn build_ring(cfg: &EngineConfig, taskrun: TaskRun) -> io::Result<IoUring> {
    let cq = (SQ_ENTRIES * 8).max(cfg.recv_buffers as u32 * 2);
    // Best first, then a ring without the newer flags for older kernels.
    let deferred: fn(&mut io_uring::Builder) = |b| {
        b.setup_single_issuer().setup_defer_taskrun();
    };
    let cooperative: fn(&mut io_uring::Builder) = |b| {
        b.setup_single_issuer()
            .setup_coop_taskrun()
            .setup_taskrun_flag();
    };
    let attempts: [fn(&mut io_uring::Builder); 3] = match taskrun {
        TaskRun::Deferred => [deferred, cooperative, |_| {}],
        TaskRun::Cooperative => [cooperative, |_| {}, |_| {}],
    };
    let mut last = None;
    for tune in attempts {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(cq).setup_submit_all();
        tune(&mut builder);
        match builder.build(SQ_ENTRIES) {
            Ok(ring) => return Ok(ring),
            // Older kernels refuse newer flags with EINVAL: try the next set.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL)))
}

/// Registers a sparse file table of one entry per session slot (capped by
/// the open-file limit, which the kernel applies to it), or none if the
/// kernel refuses: sessions then use plain descriptors.
fn register_file_table(ring: &IoUring, cfg: &EngineConfig) -> u32 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill in.
    let nofile = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        limit.rlim_cur
    } else {
        0
    };
    let want = (cfg.max_sessions as u64).min(nofile).min(1 << 20) as u32;
    if want == 0 {
        return 0;
    }
    match ring.submitter().register_files_sparse(want) {
        Ok(()) => want,
        Err(e) => {
            tracing::debug!(error = %e, "no fixed-file table; sessions use plain descriptors");
            0
        }
    }
}

/// Can this process set up what the backend needs? Builds and drops a ring
/// with a provided-buffer ring, so `auto` can fall back before any thread
/// starts.
pub(crate) fn probe(cfg: &EngineConfig) -> io::Result<()> {
    let ring = build_ring(cfg, TaskRun::Cooperative)?;
    let mut bufs = BufRing::new(&ring.submitter(), 8, 512, BUF_GROUP)?;
    bufs.unregister(&ring.submitter());
    Ok(())
}

fn new_eventfd() -> io::Result<File> {
    // SAFETY: plain system call; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Creates the ring, buffer ring and waker on the current thread.
pub(crate) fn setup<F: Framing>(parts: ThreadParts<F>) -> io::Result<(UringDriver<F>, Arc<Waker>)> {
    let taskrun = if parts.inline.is_some() {
        TaskRun::Deferred
    } else {
        TaskRun::Cooperative
    };
    let ring = build_ring(&parts.cfg, taskrun)?;
    let bufs = BufRing::new(
        &ring.submitter(),
        parts.cfg.recv_buffers as u16,
        parts.cfg.recv_buffer_size,
        BUF_GROUP,
    )?;
    let fixed_files = register_file_table(&ring, &parts.cfg);
    let waker = Arc::new(Waker::EventFd(new_eventfd()?));
    let linger = Linger::new(&parts.cfg, parts.shared.stats[parts.index].clone());
    let (shard, sockets) = Shard::build(parts, waker.clone());
    let mut driver = UringDriver {
        ring,
        bufs,
        shard,
        linger,
        acceptors: sockets.into_iter().map(Acceptor::new).collect(),
        accept_retry_at: None,
        wake_fd: waker.clone(),
        wake_buf: Box::new(0),
        wake_armed: false,
        backlog: VecDeque::with_capacity(1024),
        rearm: Vec::with_capacity(64),
        dirty: Vec::with_capacity(1024),
        changed: Vec::with_capacity(256),
        waiting_close: Vec::with_capacity(64),
        cqes: Vec::with_capacity(1024),
        trouble: AcceptTrouble::default(),
        fixed_files,
    };
    driver.arm_wake();
    driver.arm_accept();
    Ok((driver, waker))
}

impl<F: Framing> UringDriver<F> {
    /// Posts the read of the eventfd that [`Waker::wake`] completes.
    fn arm_wake(&mut self) {
        // The kernel writes the 8-byte counter into `wake_buf`, a heap
        // value the driver owns and Rust code never touches.
        let sqe = opcode::Read::new(
            types::Fd(self.wake_raw_fd()),
            (&mut *self.wake_buf as *mut u64).cast::<u8>(),
            8,
        )
        .build()
        .user_data(OpKind::Wake.user_data(NO_SLOT));
        self.push(sqe);
        self.wake_armed = true;
    }

    fn wake_raw_fd(&self) -> RawFd {
        match &*self.wake_fd {
            Waker::EventFd(f) => f.as_raw_fd(),
            Waker::Mio(_) => -1,
        }
    }

    /// The wake-up read completed: post the next one, unless the thread is
    /// on its way out.
    pub(super) fn on_wake(&mut self) {
        self.wake_armed = false;
        let exiting = self.shard.shared.shutting_down() && self.shard.live() == 0;
        if !exiting {
            self.arm_wake();
        }
    }
}
