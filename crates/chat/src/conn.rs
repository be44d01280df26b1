//! [`ConnId`]: how the host names a connection to the state machine.

use std::fmt;

/// Opaque id of a connection, chosen by the host and never reused by it while
/// the process runs (the engine's slot + generation fits in a `u64`).
///
/// The machine only compares and hashes it; every `Outbound` call names its
/// target with it.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}
