//! Buffers: pooled byte buffers and the per-session send queue, whose
//! in-flight part ([`send_queue::Flight`]) a send owns until its completion.
//! Safe code only: the memory shared with the kernel (the provided-buffer
//! ring, a send's message header) lives in the io_uring backend, the one
//! module allowed `unsafe` (`sys::uring`).

pub(crate) mod pool;
pub(crate) mod send_queue;
