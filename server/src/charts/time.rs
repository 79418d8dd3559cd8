//! Times as users write them in URLs: `now`, `now-6h`, Unix seconds or milliseconds, RFC 3339.

use crate::promql_syntax::duration::PromDuration;

/// Now, in Unix seconds.
pub fn now_seconds() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Resolves `text` against `now` (Unix seconds).
pub fn resolve(text: &str, now: f64) -> Result<f64, String> {
    let t = text.trim();
    if t == "now" {
        return Ok(now);
    }
    if let Some(offset) = t.strip_prefix("now-") {
        let d = PromDuration::parse(offset)?;
        return Ok(now - d.seconds());
    }
    if let Ok(n) = t.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return Err(format!("`{t}` is not a time"));
        }
        // Values beyond the year 5138 in seconds are milliseconds (as Grafana URLs carry).
        return Ok(if n > 1e11 { n / 1000.0 } else { n });
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis() as f64 / 1000.0)
        .map_err(|_| format!("`{t}` is not a time; write now, now-6h, Unix seconds or RFC 3339"))
}

/// A step for a chart `columns` pixels wide over `span` seconds: one point per column,
/// rounded up to a whole second (at least 1 s), as Grafana derives `$__interval`.
pub fn step_for(span: f64, columns: u32) -> f64 {
    (span / f64::from(columns.max(1))).ceil().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_absolute_and_millis() {
        assert_eq!(resolve("now", 1000.0), Ok(1000.0));
        assert_eq!(resolve("now-5m", 1000.0), Ok(700.0));
        assert_eq!(resolve("1700000000", 0.0), Ok(1_700_000_000.0));
        assert_eq!(resolve("1700000000500", 0.0), Ok(1_700_000_000.5));
        assert_eq!(resolve("2023-11-14T22:13:20Z", 0.0), Ok(1_700_000_000.0));
        assert!(resolve("yesterday", 0.0)
            .unwrap_err()
            .contains("not a time"));
        assert!(resolve("now-5x", 0.0).is_err());
    }

    #[test]
    fn steps_follow_the_pixel_width() {
        assert_eq!(step_for(3600.0, 720), 5.0);
        assert_eq!(step_for(60.0, 1000), 1.0);
        assert_eq!(step_for(30.0 * 86400.0, 1000), 2592.0);
    }
}
