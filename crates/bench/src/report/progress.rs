//! A progress bar on stderr while a scenario runs (indicatif), drawn only
//! when stderr is a terminal, so scripts and `--json` consumers see
//! nothing of it.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over a run's planned time; a no-op when stderr is not a terminal.
#[derive(Debug)]
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar labelled `label` over `total` of wall time.
    pub fn new(label: &str, total: Duration) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(
            Some(millis(total).max(1)),
            ProgressDrawTarget::stderr_with_hz(5),
        );
        let style = ProgressStyle::with_template(
            "{prefix:>14} [{bar:30}] {elapsed:>4} / {len_secs}  {msg}",
        )
        .map(|s| {
            s.with_key(
                "len_secs",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}s", state.len().unwrap_or(0) as f64 / 1000.0);
                },
            )
            .progress_chars("=> ")
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Bar(Some(bar))
    }

    /// Moves the bar to `elapsed` with the message `msg` (only built when
    /// the bar is drawn).
    pub fn update(&self, elapsed: Duration, msg: impl FnOnce() -> String) {
        if let Some(bar) = &self.0 {
            bar.set_position(millis(elapsed));
            bar.set_message(msg());
        }
    }

    /// Removes the bar, before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The progress message of a chat load.
pub fn chat_message(p: &crate::load::chat::Progress) -> String {
    format!("sent {}  delivered {}", p.sent, p.delivered)
}
