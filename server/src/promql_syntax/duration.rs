//! Durations in Prometheus syntax (`1h30m`, `5m`, `30s`, `100ms`, `2d`, `1w`, `1y`, `0`),
//! as `model.ParseDuration` accepts them: units from largest to smallest, each at most once.

/// A duration that parsed; keeps the text so export writes it back unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromDuration {
    text: String,
    millis: u64,
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl PromDuration {
    pub fn parse(text: &str) -> Result<PromDuration, String> {
        let bad = || format!("`{text}` is not a duration; write e.g. 30s, 5m, 1h30m, 2d");
        if text == "0" {
            return Ok(PromDuration {
                text: text.into(),
                millis: 0,
            });
        }
        if text.is_empty() {
            return Err(bad());
        }
        let mut rest = text;
        let mut millis: u64 = 0;
        let mut last_unit = None::<usize>;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            // "ms" before "m", so a longest match wins.
            let (idx, (unit, factor)) = UNITS
                .iter()
                .enumerate()
                .filter(|(_, (u, _))| rest.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .ok_or_else(bad)?;
            if last_unit.is_some_and(|l| idx <= l) {
                return Err(format!(
                    "`{text}`: units must go from largest to smallest, each once"
                ));
            }
            last_unit = Some(idx);
            rest = &rest[unit.len()..];
            millis = n
                .checked_mul(*factor)
                .and_then(|v| millis.checked_add(v))
                .ok_or_else(bad)?;
        }
        Ok(PromDuration {
            text: text.into(),
            millis,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn millis(&self) -> u64 {
        self.millis
    }

    pub fn seconds(&self) -> f64 {
        self.millis as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations_parse() {
        for (text, ms) in [
            ("30s", 30_000),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
            ("100ms", 100),
            ("1d", 86_400_000),
            ("0", 0),
            ("1w", 604_800_000),
            ("1y2d", 365 * 86_400_000 + 2 * 86_400_000),
        ] {
            assert_eq!(PromDuration::parse(text).unwrap().millis(), ms, "{text}");
        }
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in ["", "5", "m", "5 m", "1.5h", "30m1h", "5mm", "-5m", "5x"] {
            assert!(PromDuration::parse(text).is_err(), "{text}");
        }
    }
}
