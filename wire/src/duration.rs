//! Durations as the trace pages and the trace APIs write them: Go's units.

/// A duration as Go writes them (`500ns`, `100us`, `250ms`, `1.5s`, `2m`, `1h`; a bare
/// number is milliseconds), in milliseconds; `None` for empty text.
pub fn parse_duration_ms(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let refused = || format!("{t:?} is not a duration like 250ms or 1.5s");
    let scale = match unit.trim() {
        "ns" => 1e-6,
        "us" | "µs" => 1e-3,
        "ms" | "" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3_600e3,
        _ => return Err(refused()),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * scale)
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(refused)
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn go_durations_read_as_milliseconds() {
        assert_eq!(parse_duration_ms("1.5s"), Ok(Some(1500.0)));
        assert_eq!(parse_duration_ms("250ms"), Ok(Some(250.0)));
        assert_eq!(parse_duration_ms("100us"), Ok(Some(0.1)));
        assert_eq!(parse_duration_ms("500ns"), Ok(Some(0.0005)));
        assert_eq!(parse_duration_ms("2m"), Ok(Some(120_000.0)));
        assert_eq!(parse_duration_ms("1h"), Ok(Some(3_600_000.0)));
        assert_eq!(parse_duration_ms("40"), Ok(Some(40.0)));
        assert_eq!(parse_duration_ms(""), Ok(None));
        assert!(parse_duration_ms("fast").is_err());
        assert!(parse_duration_ms("-5ms").is_err());
        assert!(parse_duration_ms("1e999s").is_err());
    }
}
