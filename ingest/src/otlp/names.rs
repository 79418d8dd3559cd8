//! OTLP metric, unit and attribute names into Prometheus names, with Prometheus 3's default
//! translation strategy (`UnderscoreEscapingWithSuffixes`) and its default label options
//! (multiple underscores preserved, labels starting with a single `_` prefixed with `key`).
//!
//! The rules are those of prometheus/otlptranslator; the code is this crate's own.

/// The kind of an OTLP metric, as far as naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gauge,
    MonotonicCounter,
    NonMonotonicCounter,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// Characters kept in metric names; everything else separates name tokens.
fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// OTLP (UCSUM) units and their Prometheus spelling; `1` means dimensionless and adds nothing.
fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// The denominator of a `x/y` unit, singular.
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

/// Splits a unit into its main part and its `per_…` part, both spelled out but not yet
/// cleaned. Annotations in braces (`{requests}`) make a part count as absent.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main, Some(per)),
        None => (unit, None),
    };
    let usable = |s: &str| !s.is_empty() && !s.contains(['{', '}']);
    let main = main.trim();
    let main = if usable(main) {
        unit_word(main).to_owned()
    } else {
        String::new()
    };
    let per = per
        .map(str::trim)
        .filter(|p| usable(p))
        .map_or(String::new(), |p| {
            let word = per_unit_word(p);
            if word.is_empty() {
                String::new()
            } else {
                format!("per_{word}")
            }
        });
    (main, per)
}

/// Replaces characters invalid in a metric name with `_`, collapses runs of `_` and drops one
/// leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// The Prometheus metric (family) name of an OTLP metric: invalid characters split the name
/// into tokens joined by `_`, the unit is appended unless already there (`_seconds`,
/// `_bytes_per_second`), `_total` for monotonic counters, `_ratio` for gauges of unit `1`,
/// and a leading digit gets a `_` prefix.
pub(crate) fn metric_name(name: &str, unit: &str, kind: Kind) -> Result<String, String> {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();

    let (main, per) = unit_suffixes(unit);
    let (mut main, per) = (clean_unit(&main), clean_unit(&per));
    if tokens.contains(&main) {
        main.clear();
    }
    let per = if per == "per_" {
        String::new()
    } else {
        let per = per.strip_suffix('_').unwrap_or(&per).to_owned();
        if tokens.contains(&per) {
            String::new()
        } else {
            per
        }
    };
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    tokens.extend([main, per].into_iter().filter(|t| !t.is_empty()));

    let mut append_last = |suffix: &str| {
        tokens.retain(|t| t != suffix);
        tokens.push(suffix.to_owned());
    };
    if kind == Kind::MonotonicCounter {
        append_last("total");
    }
    if unit == "1" && kind == Kind::Gauge {
        append_last("ratio");
    }

    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        return Err(format!(
            "normalization for metric {:?} resulted in empty name",
            crate::error::clip(name)
        ));
    }
    if out != name && out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for metric {:?} resulted in invalid name {out:?}",
            crate::error::clip(name)
        ));
    }
    Ok(out)
}

/// The unit as Prometheus metadata spells it: `s` → `seconds`, `By/s` → `bytes_per_second`,
/// `1` and annotations → empty.
pub(crate) fn unit_name(unit: &str) -> String {
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    let joined = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    let trimmed = joined.strip_prefix('_').unwrap_or(&joined);
    trimmed.strip_suffix('_').unwrap_or(trimmed).to_owned()
}

/// The Prometheus label name of an OTLP attribute key: invalid characters become `_` (one per
/// character, runs kept), a leading digit gets a `key_` prefix and a single leading `_` a `key`
/// prefix; empty keys and keys that end up all underscores are errors.
pub(crate) fn label_name(key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("label name is empty".to_owned());
    }
    let fast = key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && (!key.starts_with('_') || key.starts_with("__"))
        && !key.bytes().all(|b| b == b'_');
    if fast {
        return Ok(key.to_owned());
    }
    let mut out: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out.bytes().all(|b| b == b'_') {
        return Err(format!(
            "normalization for label name {:?} resulted in invalid name {out:?}",
            crate::error::clip(key)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_get_unit_and_type_suffixes() {
        let cases = [
            (
                "http.server.duration",
                "s",
                Kind::Histogram,
                "http_server_duration_seconds",
            ),
            (
                "system.memory.usage",
                "By",
                Kind::Gauge,
                "system_memory_usage_bytes",
            ),
            (
                "requests.count",
                "1",
                Kind::MonotonicCounter,
                "requests_count_total",
            ),
            ("cpu.utilization", "1", Kind::Gauge, "cpu_utilization_ratio"),
            (
                "cpu.utilization",
                "1",
                Kind::NonMonotonicCounter,
                "cpu_utilization",
            ),
            (
                "throughput",
                "By/s",
                Kind::Gauge,
                "throughput_bytes_per_second",
            ),
            ("rate", "{req}/s", Kind::Gauge, "rate_per_second"),
            ("queue.size", "{items}", Kind::Gauge, "queue_size"),
            ("latency_seconds", "s", Kind::Gauge, "latency_seconds"),
            (
                "requests_total",
                "",
                Kind::MonotonicCounter,
                "requests_total",
            ),
            (
                "total.requests",
                "",
                Kind::MonotonicCounter,
                "requests_total",
            ),
            ("temp", "Cel", Kind::Gauge, "temp_celsius"),
            ("disk.io", "%", Kind::Gauge, "disk_io_percent"),
            ("a__b..c", "", Kind::Gauge, "a_b_c"),
            ("2xx.responses", "", Kind::Gauge, "_2xx_responses"),
            ("my:metric", "m/w", Kind::Gauge, "my:metric_meters_per_week"),
            ("weird", "foo bar", Kind::Gauge, "weird_foo_bar"),
            ("speed", "km/h", Kind::Gauge, "speed_km_per_hour"),
            ("x", "/s", Kind::Gauge, "x_per_second"),
            ("ratio.thing", "1", Kind::Gauge, "thing_ratio"),
        ];
        for (name, unit, kind, expected) in cases {
            assert_eq!(
                metric_name(name, unit, kind).as_deref(),
                Ok(expected),
                "{name} {unit}"
            );
        }
    }

    #[test]
    fn metric_names_that_vanish_are_errors() {
        assert!(metric_name("...", "", Kind::Gauge).is_err());
        assert!(metric_name("", "", Kind::Gauge).is_err());
        assert_eq!(metric_name("", "s", Kind::Gauge).as_deref(), Ok("seconds"));
        assert_eq!(
            metric_name("é", "", Kind::MonotonicCounter).as_deref(),
            Ok("total")
        );
    }

    #[test]
    fn units_for_metadata() {
        assert_eq!(unit_name("s"), "seconds");
        assert_eq!(unit_name("By/s"), "bytes_per_second");
        assert_eq!(unit_name("1"), "");
        assert_eq!(unit_name("{requests}"), "");
        assert_eq!(unit_name("{req}/s"), "per_second");
        assert_eq!(unit_name("_x_"), "x");
    }

    #[test]
    fn label_names_are_sanitized_as_prometheus_does_by_default() {
        let cases = [
            ("http.method", "http_method"),
            ("service.instance.id", "service_instance_id"),
            ("a..b", "a__b"),
            ("123abc", "key_123abc"),
            ("_private", "key_private"),
            ("__reserved__", "__reserved__"),
            ("__x.y", "__x_y"),
            ("_", "key_"),
            ("ünïcode", "key_n_code"),
            ("plain", "plain"),
        ];
        for (key, expected) in cases {
            assert_eq!(label_name(key).as_deref(), Ok(expected), "{key}");
        }
        assert!(label_name("").is_err());
        assert!(label_name("__").is_err());
        assert!(label_name("..").is_err());
    }
}
