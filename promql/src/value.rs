//! The values PromQL works with: label sets, series of samples, and query results.

use std::fmt;

use crate::histogram::FloatHistogram;

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// Prometheus's stale marker: a NaN with this exact bit pattern, stored as a sample to say
/// that a series ended. It is never returned as a value; it ends a series for lookback.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as an `f64` (see [`STALE_NAN_BITS`]).
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the stale marker (and not any other NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Whether a label is the metric name or metadata travelling with it (`__type__`,
/// `__unit__`): the labels Prometheus removes when an operation changes a metric's meaning.
pub fn is_metadata_label(name: &str) -> bool {
    matches!(name, "__name__" | "__type__" | "__unit__")
}

/// A set of labels, kept sorted by name with unique names; `__name__` is an ordinary label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a label set from pairs in any order; empty values are dropped (an empty label
    /// is the same as no label in Prometheus) and a later duplicate name wins.
    pub fn new<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        let mut v: Vec<(String, String)> = Vec::new();
        for (n, val) in pairs {
            let (n, val) = (n.into(), val.into());
            match v.iter_mut().find(|(k, _)| *k == n) {
                Some(slot) => slot.1 = val,
                None => v.push((n, val)),
            }
        }
        v.retain(|(_, val)| !val.is_empty());
        v.sort();
        Labels(v)
    }

    /// The empty label set.
    pub fn empty() -> Self {
        Labels(Vec::new())
    }

    /// The value of label `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (name.to_string(), value.to_string())),
        }
    }

    /// Removes label `name` if present.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    /// A copy without the metric name and the metadata labels that go with it
    /// (`__type__`, `__unit__`), as Prometheus drops them.
    pub fn without_name(&self) -> Labels {
        let mut l = self.clone();
        l.retain(|n| !is_metadata_label(n));
        l
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Prometheus's `labels.String()`: `{__name__="m", a="b"}` (used in error messages).
    pub fn to_braced_string(&self) -> String {
        let body: Vec<String> = self.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
        format!("{{{}}}", body.join(", "))
    }

    /// Keeps only the labels whose name satisfies `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(n, _)| keep(n));
    }
}

impl fmt::Display for Labels {
    /// Prometheus's notation: `name{a="b", c="d"}`, or `{}` for the empty set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(n) = name {
            write!(f, "{n}")?;
        }
        let rest: Vec<_> = self.iter().filter(|(n, _)| *n != METRIC_NAME).collect();
        if rest.is_empty() && name.is_some() {
            return Ok(());
        }
        write!(f, "{{")?;
        for (i, (n, v)) in rest.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        write!(f, "}}")
    }
}

/// One stored series: its labels and its samples `(t_ms, value)` sorted by time. A sample
/// whose value is the stale marker ([`is_stale_nan`]) ends the series for lookback.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
}

/// The native histogram samples of one series, `(t_ms, histogram)` sorted by time. A
/// series may hold floats ([`Series`]) and histograms at different times.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, FloatHistogram)>,
}

/// One sample of an instant vector result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// The value a query returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A single number at time `t`.
    Scalar { t: i64, v: f64 },
    /// An instant vector: at most one sample per label set.
    Vector(Vec<Sample>),
    /// A range vector (instant query of a range selector) or the result of a range query:
    /// series sorted by labels, each with its points sorted by time.
    Matrix(Vec<Series>),
    /// A string literal at time `t`.
    String { t: i64, s: String },
}

/// A query's value together with the annotations Prometheus would attach to it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    /// Messages starting `PromQL warning: …` (reported as `warnings` by the HTTP API).
    pub warnings: Vec<String>,
    /// Messages starting `PromQL info: …` (reported as `infos` by the HTTP API).
    pub infos: Vec<String>,
    /// The native histogram samples of the result, which [`Value`] (floats only) leaves
    /// out: for an instant vector one point per series at the evaluation time, for a range
    /// vector or range query every point. A series may appear both here and in `value`.
    pub histograms: Vec<HistogramSeries>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_unique_and_drop_empty_values() {
        let l = Labels::new([("b", "2"), ("__name__", "m"), ("a", "1"), ("c", "")]);
        assert_eq!(
            l.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            ["__name__", "a", "b"]
        );
        assert_eq!(l.get("a"), Some("1"));
        assert_eq!(l.to_string(), r#"m{a="1", b="2"}"#);
        assert_eq!(Labels::empty().to_string(), "{}");
    }

    #[test]
    fn set_and_remove_keep_order() {
        let mut l = Labels::new([("b", "2")]);
        l.set("a", "1");
        l.set("c", "3");
        l.set("b", "");
        assert_eq!(l, Labels::new([("a", "1"), ("c", "3")]));
    }

    #[test]
    fn stale_marker_is_a_specific_nan() {
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
