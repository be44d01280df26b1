//! The latency figures every report quotes, defined once: p50, p90, p99,
//! p99.9, max and mean of a histogram of ns, in µs, with their JSON key
//! names and their human form.

use hdrhistogram::Histogram;

use super::json::JsonObject;

/// The figures, in this order, as JSON keys name them (`<prefix>p50_us`
/// ...).
pub const NAMES: [&str; 6] = ["p50", "p90", "p99", "p999", "max", "mean"];

/// Index of p50 in [`Percentiles`].
pub const P50: usize = 0;
/// Index of p99 in [`Percentiles`].
pub const P99: usize = 2;
/// Index of the maximum in [`Percentiles`].
pub const MAX: usize = 4;

/// p50, p90, p99, p99.9, max and mean in µs.
pub type Percentiles = [f64; 6];

/// The figures of `h` (ns), or `None` when it has no samples.
pub fn of(h: &Histogram<u64>) -> Option<Percentiles> {
    let us = |ns: u64| ns as f64 / 1000.0;
    (!h.is_empty()).then(|| {
        [
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.max()),
            h.mean() / 1000.0,
        ]
    })
}

/// Adds `<prefix>p50_us` ... `<prefix>mean_us` (null without samples).
pub fn write_json(j: &mut JsonObject, prefix: &str, p: Option<Percentiles>) {
    for (i, name) in NAMES.into_iter().enumerate() {
        j.opt_float(&format!("{prefix}{name}_us"), p.map(|p| p[i]), 1);
    }
}

/// `p50 … p90 … p99 … p99.9 … max … mean …`, one decimal each.
pub fn human(p: Percentiles) -> String {
    let [p50, p90, p99, p999, max, mean] = p;
    format!(
        "p50 {p50:.1}  p90 {p90:.1}  p99 {p99:.1}  p99.9 {p999:.1}  max {max:.1}  mean {mean:.1}"
    )
}
