//! Writing results to stdout: flushed at once (scripts wait for lines) and
//! returning an error, instead of panicking like `println!`, when the reader
//! has gone away (for example `| head`).

use std::io::Write as _;

use anyhow::Context;

/// Writes `text` and a newline to stdout and flushes.
///
/// # Errors
///
/// When stdout is closed or cannot be written.
pub fn line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .context("writing to stdout")
}
