//! Buffers: pooled byte buffers and the per-session send queue. These are the
//! only modules besides the backends allowed to hold `unsafe` code (they hold
//! none today).

pub(crate) mod pool;
pub(crate) mod send_queue;
