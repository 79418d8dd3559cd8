//! Times and durations as Prometheus's HTTP API takes them: Unix seconds (with fractions)
//! or RFC 3339 for times; float seconds or a Prometheus duration (`15s`, `1m30s`) for steps.

use crate::promql_syntax::duration::PromDuration;

/// Milliseconds since the epoch of a `time`/`start`/`end` parameter.
pub fn time_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs.abs() < 1e13 {
            return Ok((secs * 1000.0).round() as i64);
        }
        return Err(format!("`{t}` is not a time in range"));
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .map_err(|_| format!("cannot parse `{t}` to a valid timestamp"))
}

/// Milliseconds of a `step`/`timeout` parameter.
pub fn duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 && secs < 1e10 {
            return Ok((secs * 1000.0).round().max(1.0) as i64);
        }
        return Err(format!("`{t}` is not a positive duration"));
    }
    PromDuration::parse(t)
        .map(|d| (d.seconds() * 1000.0).round() as i64)
        .ok()
        .filter(|ms| *ms > 0)
        .ok_or_else(|| format!("cannot parse `{t}` to a valid duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_parse_as_prometheus_takes_them() {
        assert_eq!(time_ms("1700000000.5").unwrap(), 1_700_000_000_500);
        assert_eq!(time_ms("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000);
        assert!(time_ms("yesterday").is_err());
        assert_eq!(duration_ms("15").unwrap(), 15_000);
        assert_eq!(duration_ms("1m30s").unwrap(), 90_000);
        assert!(duration_ms("0").is_err());
        assert!(duration_ms("-5").is_err());
    }
}
