//! What the bench prints: the reports of the loads (human summary or one
//! JSON object), the latency percentiles they all quote, the progress bar,
//! and the `chart` subcommand.
//!
//! * [`echo`] and [`chat`]: the reports of `echo` and `chat` (the scenarios'
//!   reports are in [`crate::scenario`], built on these).
//! * [`percentiles`] holds the one list of percentiles every report quotes.
//! * [`json`] is the flat JSON writer, [`out`] writes stdout lines, [`progress`]
//!   draws the bar on stderr, and [`chart`] the PNG chart; [`cpu`] quotes
//!   CPU use the same way in every report, [`tls`] whether a run used TLS.

pub mod chart;
pub mod chat;
pub mod cpu;
pub mod echo;
pub mod json;
pub mod out;
pub mod percentiles;
pub mod progress;
pub mod tls;
