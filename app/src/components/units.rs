//! Units of chart values and how they are written on axes, tooltips and stat panels.
//! Shared by the server (SVG axes) and the browser (tooltips), so both write the same text.

use serde::{Deserialize, Serialize};

/// A value's unit. The names are Grafana's unit ids, so imported panels keep theirs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A plain number with SI suffixes (k, M, G …).
    #[default]
    Short,
    /// Seconds, written as µs, ms, s, min, h or d.
    Seconds,
    /// Milliseconds, written like seconds.
    Milliseconds,
    /// Bytes with binary prefixes (KiB, MiB …).
    Bytes,
    /// Already a percentage (0–100).
    Percent,
    /// A ratio (0–1) written as a percentage.
    PercentUnit,
    /// Per second (SI suffixes, "/s").
    PerSecond,
    /// The number as it is.
    None,
    /// Bytes with SI prefixes (kB, MB …): Grafana's `decbytes`.
    DecBytes,
    /// Bits with SI prefixes (b, kb, Mb …).
    Bits,
    /// Bits per second (bps, kbps, Mbps …).
    BitsPerSecond,
    /// Bytes per second with SI prefixes (B/s, kB/s, MB/s …): Grafana's `Bps`.
    BytesPerSecond,
    /// Packets per second.
    PacketsPerSecond,
    /// Events per second.
    EventsPerSecond,
    /// I/O operations per second.
    Iops,
    /// Minutes, written like seconds.
    Minutes,
    /// Hours, written like seconds.
    Hours,
    /// Nanoseconds, written like seconds.
    Nanoseconds,
    /// Microseconds, written like seconds.
    Microseconds,
    /// 0 is "No", anything else "Yes".
    BoolYesNo,
    /// 0 is "Off", anything else "On".
    BoolOnOff,
}

impl Unit {
    /// Reads a unit id: Grafana's (`s`, `ms`, `bytes`, `decbytes`, `bits`, `bps`, `Bps`,
    /// `pps`, `eps`, `iops`, `percent`, `percentunit`, `short`, `reqps`, `ops`, `none`,
    /// `bool_yes_no` …) or the portal's long names. Unit ids are case-sensitive, as
    /// Grafana's are (`bps` is bits, `Bps` bytes per second).
    pub fn parse(id: &str) -> Option<Unit> {
        Some(match id.trim() {
            "" | "short" | "auto" => Unit::Short,
            "s" | "seconds" | "dtdurations" | "dtdhms" => Unit::Seconds,
            "ms" | "milliseconds" => Unit::Milliseconds,
            "m" | "minutes" => Unit::Minutes,
            "h" | "hours" => Unit::Hours,
            "ns" | "nanoseconds" => Unit::Nanoseconds,
            "µs" | "us" | "microseconds" => Unit::Microseconds,
            "bytes" => Unit::Bytes,
            "decbytes" => Unit::DecBytes,
            "bits" => Unit::Bits,
            "bps" => Unit::BitsPerSecond,
            "Bps" | "binBps" => Unit::BytesPerSecond,
            "pps" => Unit::PacketsPerSecond,
            "eps" | "events" => Unit::EventsPerSecond,
            "iops" => Unit::Iops,
            "percent" => Unit::Percent,
            "percentunit" => Unit::PercentUnit,
            "reqps" | "ops" | "rps" | "persecond" | "wps" | "rds" | "opm" => Unit::PerSecond,
            "none" => Unit::None,
            "bool_yes_no" => Unit::BoolYesNo,
            "bool_on_off" => Unit::BoolOnOff,
            _ => return None,
        })
    }

    pub fn id(self) -> &'static str {
        match self {
            Unit::Short => "short",
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Bytes => "bytes",
            Unit::Percent => "percent",
            Unit::PercentUnit => "percentunit",
            Unit::PerSecond => "reqps",
            Unit::None => "none",
            Unit::DecBytes => "decbytes",
            Unit::Bits => "bits",
            Unit::BitsPerSecond => "bps",
            Unit::BytesPerSecond => "Bps",
            Unit::PacketsPerSecond => "pps",
            Unit::EventsPerSecond => "eps",
            Unit::Iops => "iops",
            Unit::Minutes => "m",
            Unit::Hours => "h",
            Unit::Nanoseconds => "ns",
            Unit::Microseconds => "µs",
            Unit::BoolYesNo => "bool_yes_no",
            Unit::BoolOnOff => "bool_on_off",
        }
    }

    /// The unit a query's metric name implies (Prometheus naming: `_seconds`, `_bytes`,
    /// `_ratio`), else [`Unit::Short`].
    pub fn guess(query: &str) -> Unit {
        let name_end = |suffix: &str| {
            query
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .any(|word| word.ends_with(suffix) || word.contains(&format!("{suffix}_")))
        };
        if query.contains("histogram_quantile") || name_end("_seconds") {
            Unit::Seconds
        } else if name_end("_bytes") {
            Unit::Bytes
        } else if name_end("_ratio") {
            Unit::PercentUnit
        } else {
            Unit::Short
        }
    }

    /// Writes `v` in this unit, with about three significant digits.
    pub fn format(self, v: f64) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
        }
        match self {
            Unit::None => trim(v, 6),
            Unit::Short => si(v, ""),
            Unit::PerSecond => si(v, "/s"),
            Unit::Percent => format!("{}%", digits(v)),
            Unit::PercentUnit => format!("{}%", digits(v * 100.0)),
            Unit::Seconds => duration(v),
            Unit::Milliseconds => duration(v / 1000.0),
            Unit::Bytes => bytes(v),
            Unit::DecBytes => si(v, "B"),
            Unit::Bits => si(v, "b"),
            Unit::BitsPerSecond => si(v, "bps"),
            Unit::BytesPerSecond => si(v, "B/s"),
            Unit::PacketsPerSecond => si(v, "p/s"),
            Unit::EventsPerSecond => si(v, " events/s"),
            Unit::Iops => si(v, "io/s"),
            Unit::Minutes => duration(v * 60.0),
            Unit::Hours => duration(v * 3600.0),
            Unit::Nanoseconds => duration(v / 1e9),
            Unit::Microseconds => duration(v / 1e6),
            Unit::BoolYesNo => if v == 0.0 { "No" } else { "Yes" }.into(),
            Unit::BoolOnOff => if v == 0.0 { "Off" } else { "On" }.into(),
        }
    }
}

/// Three significant digits, no trailing zeros.
fn digits(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    trim(v, decimals)
}

fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

fn si(v: f64, suffix: &str) -> String {
    const PREFIXES: [(f64, &str); 5] =
        [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, prefix) in PREFIXES {
        if v.abs() >= scale {
            return format!("{} {prefix}{suffix}", digits(v / scale));
        }
    }
    let spaced = if suffix.is_empty() || suffix.starts_with(' ') {
        ""
    } else {
        " "
    };
    format!("{}{spaced}{suffix}", digits(v))
}

fn duration(seconds: f64) -> String {
    let a = seconds.abs();
    if a == 0.0 {
        "0 s".into()
    } else if a < 1e-3 {
        format!("{} µs", digits(seconds * 1e6))
    } else if a < 1.0 {
        format!("{} ms", digits(seconds * 1e3))
    } else if a < 60.0 {
        format!("{} s", digits(seconds))
    } else if a < 3600.0 {
        format!("{} min", digits(seconds / 60.0))
    } else if a < 86400.0 {
        format!("{} h", digits(seconds / 3600.0))
    } else {
        format!("{} d", digits(seconds / 86400.0))
    }
}

fn bytes(v: f64) -> String {
    const PREFIXES: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut scaled = v;
    let mut i = 0;
    while scaled.abs() >= 1024.0 && i < PREFIXES.len() - 1 {
        scaled /= 1024.0;
        i += 1;
    }
    format!("{} {}", digits(scaled), PREFIXES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_each_unit() {
        assert_eq!(Unit::Seconds.format(0.25), "250 ms");
        assert_eq!(Unit::Seconds.format(0.0004), "400 µs");
        assert_eq!(Unit::Seconds.format(90.0), "1.5 min");
        assert_eq!(Unit::Bytes.format(1536.0), "1.5 KiB");
        assert_eq!(Unit::Bytes.format(3.0 * 1024.0 * 1024.0 * 1024.0), "3 GiB");
        assert_eq!(Unit::Percent.format(99.5), "99.5%");
        assert_eq!(Unit::PercentUnit.format(0.05), "5%");
        assert_eq!(Unit::Short.format(1_250_000.0), "1.25 M");
        assert_eq!(Unit::Short.format(0.125), "0.125");
        assert_eq!(Unit::Short.format(42.0), "42");
        assert_eq!(Unit::PerSecond.format(2500.0), "2.5 k/s");
        assert_eq!(Unit::Short.format(f64::NAN), "NaN");
    }

    #[test]
    fn writes_the_units_grafana_users_rely_on() {
        let f = |id: &str, v: f64| Unit::parse(id).unwrap().format(v);
        assert_eq!(f("bps", 1_500_000.0), "1.5 Mbps");
        assert_eq!(f("Bps", 2048.0), "2.05 kB/s");
        assert_eq!(f("decbytes", 1500.0), "1.5 kB");
        assert_eq!(f("bits", 8.0), "8 b");
        assert_eq!(f("pps", 120.0), "120 p/s");
        assert_eq!(f("eps", 3000.0), "3 k events/s");
        assert_eq!(f("eps", 12.0), "12 events/s");
        assert_eq!(f("iops", 250.0), "250 io/s");
        assert_eq!(f("bool_yes_no", 0.0), "No");
        assert_eq!(f("bool_yes_no", 1.0), "Yes");
        assert_eq!(f("bool_on_off", 2.0), "On");
        assert_eq!(f("m", 1.5), "1.5 min");
        assert_eq!(f("ns", 2500.0), "2.5 µs");
        // Each id reads back as itself.
        for id in [
            "bps",
            "Bps",
            "pps",
            "eps",
            "iops",
            "decbytes",
            "bits",
            "bool_yes_no",
            "m",
            "h",
            "ns",
        ] {
            assert_eq!(Unit::parse(id).unwrap().id(), id);
        }
    }

    #[test]
    fn guesses_from_metric_names() {
        assert_eq!(
            Unit::guess("rate(keiko_http_request_duration_seconds_sum[5m])"),
            Unit::Seconds
        );
        assert_eq!(
            Unit::guess("histogram_quantile(0.95, rate(x_bucket[5m]))"),
            Unit::Seconds
        );
        assert_eq!(
            Unit::guess("keiko_memory_usage_bytes{component=\"api\"}"),
            Unit::Bytes
        );
        assert_eq!(
            Unit::guess("rate(keiko_http_requests_total[5m])"),
            Unit::Short
        );
        assert_eq!(Unit::parse("percentunit"), Some(Unit::PercentUnit));
        assert_eq!(Unit::parse("furlongs"), None);
    }
}
