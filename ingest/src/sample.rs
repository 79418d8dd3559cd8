//! The output of every decoder: samples with their full label sets, and metric metadata.

/// The label holding a series' metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// The bit pattern Prometheus uses to mark a series as stale (a NaN distinct from the ordinary
/// NaN a sample may legitimately hold).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float; compare with [`is_stale_nan`], never with `==`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the staleness marker (and not just any NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels, `__name__` included, sorted by name, names unique, values non-empty.
    pub labels: Vec<(String, String)>,
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
    /// The value; may be NaN or the staleness marker ([`is_stale_nan`]).
    pub v: f64,
}

/// An exemplar of one series: a sample's pointer to a trace (labels such as `trace_id` and
/// `span_id`), as remote-write and OTLP send them.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarSample {
    /// The series it belongs to, as in [`Sample::labels`].
    pub series: Vec<(String, String)>,
    /// Its own labels, names unique, values non-empty.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
}

impl Sample {
    /// The metric name (`__name__`), empty if missing (never the case for decoded samples).
    pub fn name(&self) -> &str {
        self.label(METRIC_NAME_LABEL).unwrap_or("")
    }

    /// The value of the label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }
}

/// The type of a metric family, as in Prometheus's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// Not known, or not one of the others (e.g. OTLP delta sums when accepted).
    #[default]
    Unknown,
    /// A monotonic counter.
    Counter,
    /// A value that can go up and down.
    Gauge,
    /// A classic histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
    /// A gauge histogram.
    GaugeHistogram,
    /// A summary (quantiles, `_sum`, `_count`).
    Summary,
    /// An info metric.
    Info,
    /// A state set.
    StateSet,
}

impl MetricType {
    /// The name Prometheus's metadata API uses (`"counter"`, `"gauge"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }
}

/// What a sender said about a metric family: its type, help text and unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The family name: the metric name without `_bucket`, `_sum`, `_count` or `_total`
    /// suffixes added per series (for OTLP, the translated name, `_total` included).
    pub family: String,
    /// The family's type.
    pub metric_type: MetricType,
    /// The help text (OTLP: the metric's description).
    pub help: String,
    /// The unit (OTLP: translated, e.g. `seconds`, `bytes_per_second`; empty if none).
    pub unit: String,
}

/// Whether `name` is a valid (legacy, non-UTF-8) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `name` is a valid (legacy, non-UTF-8) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_validation() {
        for ok in ["up", "_x", ":a:b", "http_requests_total", "A9"] {
            assert!(is_valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a.b", "é"] {
            assert!(!is_valid_metric_name(bad), "{bad}");
        }
        for ok in ["job", "_x", "__name__", "le", "a9"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a:b", "a-b", "ü"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn stale_nan_is_a_particular_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }

    #[test]
    fn sample_label_lookup() {
        let s = Sample {
            labels: vec![
                ("__name__".into(), "up".into()),
                ("instance".into(), "a:1".into()),
                ("job".into(), "j".into()),
            ],
            t_ms: 1,
            v: 1.0,
        };
        assert_eq!(s.name(), "up");
        assert_eq!(s.label("job"), Some("j"));
        assert_eq!(s.label("zone"), None);
        assert_eq!(MetricType::GaugeHistogram.as_str(), "gaugehistogram");
    }
}
