//! The value parsers of the bounded arguments: finite numbers, rates,
//! factors, percentages and seconds, each refusing what is out of range.

use std::time::Duration;

use super::load::MAX_CHAT_RATE;
use super::scenario::{MAX_SOAK_SECS, MAX_STORM_RATE};
use super::MAX_SECS;

/// Parses a finite number; `what` names the expected kind in the error.
fn finite(text: &str, what: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|e| format!("not a {what}: {e}"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("not a finite {what}"))
    }
}

/// Parses a chat rate: more than 0, at most [`MAX_CHAT_RATE`].
pub(super) fn parse_rate(text: &str) -> Result<f64, String> {
    let rate = finite(text, "number of messages per second")?;
    if rate <= 0.0 || rate > MAX_CHAT_RATE {
        return Err(format!("must be more than 0 and at most {MAX_CHAT_RATE}"));
    }
    Ok(rate)
}

/// Parses a storm rate: more than 0, at most [`MAX_STORM_RATE`].
pub(super) fn parse_storm_rate(text: &str) -> Result<f64, String> {
    let rate = finite(text, "number per second")?;
    if rate <= 0.0 || rate > MAX_STORM_RATE {
        return Err(format!("must be more than 0 and at most {MAX_STORM_RATE}"));
    }
    Ok(rate)
}

/// Parses a step factor in `1..=10`.
pub(super) fn parse_factor(text: &str) -> Result<f64, String> {
    let f = finite(text, "number")?;
    if !(1.0..=10.0).contains(&f) {
        return Err("must be between 1 and 10".into());
    }
    Ok(f)
}

/// Parses a percentage in `0..=100`.
pub(super) fn parse_percent(text: &str) -> Result<f64, String> {
    let p = finite(text, "number")?;
    if !(0.0..=100.0).contains(&p) {
        return Err("must be between 0 and 100".into());
    }
    Ok(p)
}

/// Parses a soak length: more than 0, at most [`MAX_SOAK_SECS`].
pub(super) fn parse_soak_secs(text: &str) -> Result<Duration, String> {
    let secs = finite(text, "number of seconds")?;
    if secs <= 0.0 || secs > MAX_SOAK_SECS {
        return Err(format!(
            "must be more than 0 and at most {MAX_SOAK_SECS} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a sampling period: 0.1 to 600 seconds.
pub(super) fn parse_sample_secs(text: &str) -> Result<Duration, String> {
    let d = parse_secs(text)?;
    if d < Duration::from_millis(100) {
        return Err("must be at least 0.1 seconds".into());
    }
    Ok(d)
}

/// Parses a positive number of seconds, at most [`MAX_SECS`].
pub(super) fn parse_secs(text: &str) -> Result<Duration, String> {
    let d = parse_secs_or_zero(text)?;
    if d.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(d)
}

/// Parses a number of seconds in `0..=MAX_SECS`.
pub(super) fn parse_secs_or_zero(text: &str) -> Result<Duration, String> {
    let secs = finite(text, "number of seconds")?;
    if !(0.0..=MAX_SECS).contains(&secs) {
        return Err(format!("must be between 0 and {MAX_SECS} seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_bounded() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_secs("0").is_err());
        assert_eq!(parse_secs_or_zero("0"), Ok(Duration::ZERO));
        assert!(parse_secs("601").is_err());
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("NaN").is_err());
        assert!(parse_secs("inf").is_err());
        assert!(parse_secs("x").is_err());
    }
}
