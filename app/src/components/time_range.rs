//! The time picker's presets and conversions, shared by Explore and the dashboard view.

use crate::components::chart::utc;

/// Relative ranges offered by the time picker.
pub const PRESETS: &[(&str, &str)] = &[
    ("5m", "Last 5 minutes"),
    ("15m", "Last 15 minutes"),
    ("30m", "Last 30 minutes"),
    ("1h", "Last 1 hour"),
    ("3h", "Last 3 hours"),
    ("6h", "Last 6 hours"),
    ("12h", "Last 12 hours"),
    ("24h", "Last 24 hours"),
    ("2d", "Last 2 days"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// Auto-refresh choices (seconds; 0 is off).
pub const REFRESH: &[(&str, u32)] = &[
    ("off", 0),
    ("5s", 5),
    ("10s", 10),
    ("30s", 30),
    ("1m", 60),
    ("5m", 300),
];

/// The time picker's preset for a range (`1h` for `now-1h`…`now`), or `custom`.
pub fn preset_of(from: &str, to: &str) -> String {
    match from.strip_prefix("now-") {
        Some(p) if to == "now" && PRESETS.iter().any(|(k, _)| *k == p) => p.to_owned(),
        _ => "custom".into(),
    }
}

/// A zoom selection (Unix seconds) as URL times (Unix milliseconds, as Grafana writes them).
pub fn zoom_times((t1, t2): (f64, f64)) -> (String, String) {
    let ms = |t: f64| format!("{}", (t * 1000.0).round() as i64);
    (ms(t1), ms(t2))
}

/// `2026-11-25T10:00` (a `datetime-local` value, read as UTC) → RFC 3339.
pub fn local_input_to_rfc3339(v: &str) -> Option<String> {
    let v = v.trim();
    if v.len() < 16 {
        return None;
    }
    Some(if v.len() == 16 {
        format!("{v}:00Z")
    } else {
        format!("{v}Z")
    })
}

/// A time from the URL as a `datetime-local` value (UTC), when it is absolute.
pub fn to_local_input(t: &str) -> String {
    if t.starts_with("now") {
        return String::new();
    }
    let secs = t
        .parse::<f64>()
        .map(|n| if n > 1e11 { n / 1000.0 } else { n });
    match secs {
        Ok(s) => utc(s).replace(' ', "T")[..16].to_owned(),
        Err(_) => t.trim_end_matches('Z').chars().take(16).collect(),
    }
}

/// `2026-11-25T10:00:00Z` (or with an offset, fractions ignored) → Unix seconds.
pub fn rfc3339_seconds(t: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days-from-civil, the inverse of `chart::utc`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let rest = t[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let hh = o.get(1..3)?.parse::<i64>().ok()?;
            let mm = o.get(4..6)?.parse::<i64>().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    Some(days * 86_400 + h * 3600 + min * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_become_unix_seconds() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_seconds("2026-12-03T08:55:39.123Z"),
            Some(1_796_288_139)
        );
        assert_eq!(
            rfc3339_seconds("2026-12-03T09:55:39+01:00"),
            Some(1_796_288_139)
        );
        assert_eq!(rfc3339_seconds("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(rfc3339_seconds("yesterday"), None);
    }

    #[test]
    fn absolute_inputs_become_rfc3339() {
        assert_eq!(
            local_input_to_rfc3339("2026-11-25T10:00").as_deref(),
            Some("2026-11-25T10:00:00Z")
        );
        assert_eq!(to_local_input("1700000000000"), "2023-11-14T22:13");
        assert_eq!(to_local_input("now-1h"), "");
    }
}
