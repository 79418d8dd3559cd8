//! Durations as Prometheus writes them: `15s`, `1m30s`, `1h`, `500ms`, `2w`, `1y`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// A duration in Prometheus's notation, with millisecond precision.
///
/// Parsing accepts units in decreasing order, each at most once (`1h30m`, not
/// `30m1h`), and a bare `0`; `y` is 365 days, `w` 7 days. Display writes the
/// canonical form (`90s` is `1m30s`; `y` and `w` only when exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        PromDuration(Duration::from_millis(ms))
    }

    /// Whether this is zero (in configuration: "not set").
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// The duration in milliseconds (saturating).
    pub fn as_millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }
}

impl From<PromDuration> for Duration {
    fn from(d: PromDuration) -> Self {
        d.0
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DurationError {}

impl FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || DurationError(format!("not a valid duration string: {s:?}"));
        if s == "0" {
            return Ok(PromDuration::default());
        }
        if s.is_empty() {
            return Err(DurationError("empty duration string".into()));
        }
        let mut rest = s;
        let mut next_unit = 0; // index into UNITS of the smallest unit still allowed
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let (i, (unit, ms)) = UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .ok_or_else(invalid)?;
            rest = &rest[unit.len()..];
            next_unit = i + 1;
            total = n
                .checked_mul(*ms)
                .and_then(|v| total.checked_add(v))
                .filter(|&v| v <= i64::MAX as u64)
                .ok_or_else(|| DurationError(format!("duration out of range: {s:?}")))?;
        }
        Ok(PromDuration::from_millis(total))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (i, (unit, size)) in UNITS.iter().enumerate() {
            let exact_only = i < 2; // years and weeks
            if exact_only && !ms.is_multiple_of(*size) {
                continue;
            }
            if ms >= *size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<u64, DurationError> {
        s.parse::<PromDuration>().map(PromDuration::as_millis)
    }

    #[test]
    fn parses_prometheus_notation() {
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("0s"), Ok(0));
        assert_eq!(ms("15s"), Ok(15_000));
        assert_eq!(ms("1m30s"), Ok(90_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("1m500ms"), Ok(60_500));
        assert_eq!(ms("2d"), Ok(2 * 86_400_000));
        assert_eq!(ms("1w"), Ok(7 * 86_400_000));
        assert_eq!(ms("1y"), Ok(365 * 86_400_000));
        assert_eq!(
            ms("1y2w3d4h5m6s7ms"),
            Ok(((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7)
        );
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "", "1", "s", "1.5s", "-1s", "30m1h", "1s1s", "1sec", "1 s", "1h ", "ms", "1S", "1ms1s",
        ] {
            assert!(ms(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ms("1x").unwrap_err().to_string(),
            "not a valid duration string: \"1x\""
        );
        assert!(ms("99999999999999999999y").is_err());
        assert!(ms("300000000y")
            .unwrap_err()
            .to_string()
            .contains("out of range"));
    }

    #[test]
    fn displays_canonically() {
        let show = |s: &str| s.parse::<PromDuration>().unwrap().to_string();
        assert_eq!(show("0"), "0s");
        assert_eq!(show("90s"), "1m30s");
        assert_eq!(show("1h"), "1h");
        assert_eq!(show("1500ms"), "1s500ms");
        assert_eq!(show("7d"), "1w");
        assert_eq!(show("8d"), "8d");
        assert_eq!(show("365d"), "1y");
        assert_eq!(show("366d"), "366d");
    }

    #[test]
    fn round_trips() {
        for ms in [
            0,
            1,
            999,
            1000,
            61_001,
            3_600_000,
            86_400_000 * 9,
            86_400_000 * 730,
        ] {
            let d = PromDuration::from_millis(ms);
            assert_eq!(d.to_string().parse::<PromDuration>(), Ok(d), "{d}");
        }
    }

    #[test]
    fn serde_uses_strings() {
        let d: PromDuration = serde_norway::from_str("1m30s").unwrap();
        assert_eq!(d, PromDuration::from_millis(90_000));
        assert_eq!(serde_norway::to_string(&d).unwrap().trim(), "1m30s");
        let err = serde_norway::from_str::<PromDuration>("soon").unwrap_err();
        assert!(
            err.to_string().contains("not a valid duration string"),
            "{err}"
        );
    }
}
