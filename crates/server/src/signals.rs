//! SIGINT/SIGTERM: the first starts a graceful shutdown, a second one exits
//! at once (status 130).

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Spawns the thread that watches for termination signals and calls
/// `on_first` on the first one.
pub fn watch(on_first: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("ringport-signals".into())
        .spawn(move || {
            let mut on_first = Some(on_first);
            for sig in signals.forever() {
                match on_first.take() {
                    Some(f) => {
                        // Act first, then log: nothing may stand between a
                        // signal and the shutdown it asks for.
                        f();
                        tracing::info!(signal = sig, "shutting down (send again to exit at once)");
                    }
                    None => {
                        tracing::warn!(signal = sig, "second signal: exiting now");
                        std::process::exit(130);
                    }
                }
            }
        })?;
    Ok(())
}

/// Makes SIGINT/SIGTERM shut `engine` down gracefully. Call it before
/// announcing the listener, so a signal sent as soon as the server is up is
/// a graceful shutdown, not the default (fatal) action.
pub fn shut_down_on_signal(engine: &ringport_net::Engine) -> anyhow::Result<()> {
    use anyhow::Context;
    let stop = engine.shutdown_handle();
    watch(move || stop.shutdown()).context("cannot watch signals")
}

/// Like [`shut_down_on_signal`], for the chat server: the first signal also
/// turns readiness off and tells systemd the server is stopping.
pub fn drain_on_signal(
    engine: &ringport_net::Engine,
    health: std::sync::Arc<crate::health::Health>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let stop = engine.shutdown_handle();
    watch(move || {
        health.start_draining();
        stop.shutdown();
        crate::notify::stopping();
    })
    .context("cannot watch signals")
}

/// Makes SIGHUP re-read the TLS certificate and key (see
/// [`Certificates::reload`](crate::tls::Certificates::reload)); without
/// TLS it is logged and ignored (it no longer ends the process).
pub fn reload_on_hangup(
    certs: Option<std::sync::Arc<crate::tls::Certificates>>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut signals = Signals::new([signal_hook::consts::SIGHUP]).context("cannot watch SIGHUP")?;
    std::thread::Builder::new()
        .name("ringport-reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                match &certs {
                    None => tracing::info!("SIGHUP: nothing to reload (no TLS listener)"),
                    Some(certs) => match certs.reload() {
                        Ok(()) => tracing::info!(
                            cert = %certs.cert_path().display(),
                            days_left = format!("{:.1}", certs.days_left()),
                            "SIGHUP: TLS certificate reloaded; new sessions use it"
                        ),
                        Err(e) => tracing::warn!(
                            error = %e,
                            "SIGHUP: TLS certificate refused; the previous one stays in use"
                        ),
                    },
                }
            }
        })
        .context("cannot start the reload watcher")?;
    Ok(())
}
