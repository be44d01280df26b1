//! [`Waker`]: how another thread wakes one I/O thread from its wait.
//!
//! A leaf module: the backends create wakers (each waits on its own kind),
//! the application's side ([`crate::Endpoint`], [`crate::EventBatch`]'s
//! drop, the shutdown switch) only calls [`Waker::wake`].

use std::io::Write;

/// Wakes one I/O thread from its wait.
#[derive(Debug)]
pub(crate) enum Waker {
    /// An eventfd the io_uring backend keeps a read posted on.
    EventFd(std::fs::File),
    /// mio's waker (an eventfd registered with the poller).
    Mio(mio::Waker),
}

impl Waker {
    pub(crate) fn wake(&self) {
        match self {
            Waker::EventFd(file) => {
                // EAGAIN means the counter is already non-zero: the thread
                // will wake anyway.
                let _ = (&*file).write(&1u64.to_ne_bytes());
            }
            Waker::Mio(waker) => {
                let _ = waker.wake();
            }
        }
    }
}
