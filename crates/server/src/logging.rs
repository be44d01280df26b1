//! Log output: human-readable lines on stderr, filtered like `RUST_LOG`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `filter` wins over `RUST_LOG`; the default
/// is `info`.
pub fn init(filter: &Option<String>) -> Result<(), String> {
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| e.to_string())?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // A write error must not become a panic: by default the subscriber
        // reports failed writes with `eprintln!`, which panics when stderr
        // itself is gone (a closed pipe), killing whichever thread logged.
        .log_internal_errors(false)
        .with_target(false)
        .init();
    Ok(())
}
