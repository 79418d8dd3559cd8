//! Severity: OpenTelemetry's severity numbers (1–24) and the names people type.
//!
//! Stored as the OTel number. A name stands for its band of four numbers (`ERROR` is
//! 17–20, `ERROR2` is 18 alone), so `level:ERROR` matches ERROR…ERROR4 and
//! `level:>=WARNING` matches everything from 13 up. Python's names map onto the bands:
//! `WARNING` = `WARN`, `CRITICAL` = `FATAL`.

/// The bands in order, with the names that select each (first name is the display name).
const BANDS: [(&str, &[&str]); 6] = [
    ("TRACE", &["TRACE"]),
    ("DEBUG", &["DEBUG"]),
    ("INFO", &["INFO", "INFORMATION", "NOTICE"]),
    ("WARNING", &["WARNING", "WARN"]),
    ("ERROR", &["ERROR", "ERR"]),
    (
        "CRITICAL",
        &["CRITICAL", "FATAL", "CRIT", "ALERT", "EMERGENCY", "PANIC"],
    ),
];

/// The display names of the bands, lowest first; [`band`] indexes into it.
pub const LEVEL_NAMES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// OTel severity numbers of the common levels.
pub const TRACE: u8 = 1;
pub const DEBUG: u8 = 5;
pub const INFO: u8 = 9;
pub const WARNING: u8 = 13;
pub const ERROR: u8 = 17;
pub const CRITICAL: u8 = 21;

/// The numbers a severity text selects: a band name gives its band, `ERROR3` or a number
/// 1–24 a single number. Case-insensitive. `None` for anything else.
pub fn parse_severity(text: &str) -> Option<(u8, u8)> {
    if let Ok(n) = text.parse::<u8>() {
        return (1..=24).contains(&n).then_some((n, n));
    }
    let upper = text.to_ascii_uppercase();
    let (name, sub) = match upper.char_indices().last() {
        Some((i, c @ '2'..='4')) => (&upper[..i], Some(c as u8 - b'1')),
        _ => (upper.as_str(), None),
    };
    let band = BANDS.iter().position(|(_, names)| names.contains(&name))? as u8;
    let low = band * 4 + 1;
    Some(match sub {
        Some(k) => (low + k, low + k),
        None => (low, low + 3),
    })
}

/// The band (index into [`LEVEL_NAMES`]) of a severity number; 0 (`TRACE`) for 0 or less.
pub fn band(n: i64) -> usize {
    ((n.clamp(1, 24) - 1) / 4) as usize
}

/// The display name of a severity number's band.
pub fn level_name(n: i64) -> &'static str {
    BANDS[band(n)].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_select_bands_and_suffixes_single_numbers() {
        assert_eq!(parse_severity("ERROR"), Some((17, 20)));
        assert_eq!(parse_severity("error"), Some((17, 20)));
        assert_eq!(parse_severity("WARN"), parse_severity("WARNING"));
        assert_eq!(parse_severity("CRITICAL"), parse_severity("FATAL"));
        assert_eq!(parse_severity("INFO2"), Some((10, 10)));
        assert_eq!(parse_severity("13"), Some((13, 13)));
        assert_eq!(parse_severity("25"), None);
        assert_eq!(parse_severity("LOUD"), None);
        assert_eq!(level_name(i64::from(ERROR) + 2), "ERROR");
        assert_eq!(level_name(0), "TRACE");
        assert_eq!(band(i64::from(CRITICAL)), 5);
    }
}
