//! io_uring backend (being written).
use std::io;
use std::sync::Arc;

use crate::framing::Framing;
use crate::sys::{ThreadParts, Waker};

pub(crate) fn probe(_cfg: &crate::config::EngineConfig) -> io::Result<()> {
    Err(io::Error::other("not yet"))
}

pub(crate) struct UringDriver;

impl UringDriver {
    pub(crate) fn run(self) {}
}

pub(crate) fn setup<F: Framing>(_parts: ThreadParts<F>) -> io::Result<(UringDriver, Arc<Waker>)> {
    Err(io::Error::other("not yet"))
}
