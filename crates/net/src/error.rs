//! Errors the engine reports to its user.

use std::io;

/// Why the engine could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A setting is out of range.
    #[error("invalid engine configuration: {0}")]
    Config(String),
    /// io_uring was required but could not be set up.
    #[error("io_uring is unavailable: {0}")]
    IoUringUnavailable(io::Error),
    /// An operating-system call failed during start-up.
    #[error("{what}: {source}")]
    Io {
        /// What the engine was doing.
        what: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The engine's I/O threads have exited.
    #[error("the engine has stopped")]
    Stopped,
    /// An I/O thread panicked (a bug: please report it).
    #[error("I/O thread {0} panicked")]
    ThreadPanicked(usize),
}

impl EngineError {
    pub(crate) fn io(what: &'static str, source: io::Error) -> Self {
        EngineError::Io { what, source }
    }
}
