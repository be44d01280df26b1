//! Log output through `tracing`: human-readable lines (coloured on a
//! terminal) or JSON objects on stderr, filtered like `RUST_LOG`, and
//! optionally the same lines in a file that rolls over daily.

use std::io::IsTerminal;
use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSection};

type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// One output in the configured format.
fn output<S, W>(format: LogFormat, writer: W, ansi: bool) -> BoxedLayer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    // A write error must not become a panic: by default the subscriber
    // reports failed writes with `eprintln!`, which panics when stderr
    // itself is gone (a closed pipe), killing whichever thread logged.
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .log_internal_errors(false);
    match format {
        LogFormat::Text => layer.with_ansi(ansi).with_target(false).boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}

/// Installs the global subscriber. The returned guard flushes the log file
/// when dropped: keep it until exit.
///
/// # Errors
/// The filter is invalid (validation catches that first) or the log file's
/// directory cannot be used.
pub fn init(log: &LogSection) -> Result<Option<WorkerGuard>, String> {
    let filter = EnvFilter::try_new(&log.filter).map_err(|e| format!("log.filter: {e}"))?;
    let mut layers = vec![output(
        log.format,
        std::io::stderr,
        std::io::stderr().is_terminal(),
    )];
    let mut guard = None;
    if !log.file.is_empty() {
        let path = Path::new(&log.file);
        let prefix = path
            .file_name()
            .ok_or_else(|| format!("log.file {:?} has no file name prefix", log.file))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let appender = RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix(prefix.to_string_lossy())
            .build(dir)
            .map_err(|e| format!("log.file {:?}: {e}", log.file))?;
        let (writer, g) = tracing_appender::non_blocking(appender);
        layers.push(output(log.format, writer, false));
        guard = Some(g);
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(guard)
}
