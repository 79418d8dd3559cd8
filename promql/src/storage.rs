//! What the engine reads from: the [`Queryable`] trait and [`MemStorage`], an in-memory store.

use std::collections::BTreeMap;

use crate::error::QueryError;
use crate::histogram::FloatHistogram;
use crate::value::{HistogramSeries, Labels, Series};

/// A label matcher of a selector (`name="v"`, `!=`, `=~`, `!~`), as promql-parser builds it.
/// Regular expressions are already fully anchored; [`LabelMatcher::is_match`] tests a value.
/// A series without the label matches as if its value were the empty string.
pub type LabelMatcher = promql_parser::label::Matcher;

/// Whether `labels` satisfy every matcher (an absent label counts as the empty string).
pub fn matches_all(labels: &Labels, matchers: &[LabelMatcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.is_match(labels.get(&m.name).unwrap_or("")))
}

/// A source of series the engine queries.
pub trait Queryable: Send + Sync {
    /// Every series matching all `matchers`, with its samples in `[start_ms, end_ms]`
    /// (both ends included) sorted by time. Series come with sorted labels, `__name__`
    /// included; a series with no sample in the range may be left out. Stale markers are
    /// returned as samples (see [`crate::value::is_stale_nan`]), also for series of native
    /// histograms. A store that keeps native histograms but cannot return them should fail
    /// with [`QueryError::native_histograms_unsupported`].
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, QueryError>;

    /// The native histogram samples of the series matching all `matchers` in
    /// `[start_ms, end_ms]`, as [`Queryable::select`] gives float samples. A store without
    /// native histograms keeps the default, which finds none.
    fn select_histograms(
        &self,
        _matchers: &[LabelMatcher],
        _start_ms: i64,
        _end_ms: i64,
    ) -> Result<Vec<HistogramSeries>, QueryError> {
        Ok(Vec::new())
    }
}

/// An in-memory [`Queryable`]: series kept in label order, samples in time order.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    series: BTreeMap<Labels, Vec<(i64, f64)>>,
    histograms: BTreeMap<Labels, Vec<(i64, FloatHistogram)>>,
}

/// Puts `(t, v)` into time-ordered `samples`, replacing a sample at the same time.
fn insert_at<V>(samples: &mut Vec<(i64, V)>, t: i64, v: V) {
    match samples.binary_search_by_key(&t, |s| s.0) {
        Ok(i) => samples[i].1 = v,
        Err(i) => samples.insert(i, (t, v)),
    }
}

/// Removes the sample at time `t`, if any.
fn remove_at<V>(samples: Option<&mut Vec<(i64, V)>>, t: i64) {
    if let Some(s) = samples {
        s.retain(|p| p.0 != t);
    }
}

/// The samples of each matching series within `[start_ms, end_ms]`.
fn select_from<V: Clone>(
    map: &BTreeMap<Labels, Vec<(i64, V)>>,
    matchers: &[LabelMatcher],
    start_ms: i64,
    end_ms: i64,
) -> Vec<(Labels, Vec<(i64, V)>)> {
    map.iter()
        .filter(|(labels, _)| matches_all(labels, matchers))
        .filter_map(|(labels, samples)| {
            let from = samples.partition_point(|s| s.0 < start_ms);
            let to = samples.partition_point(|s| s.0 <= end_ms);
            (from < to).then(|| (labels.clone(), samples[from..to].to_vec()))
        })
        .collect()
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample; a sample at an existing timestamp replaces the old one.
    pub fn add_sample(&mut self, labels: &Labels, t_ms: i64, v: f64) {
        insert_at(self.series.entry(labels.clone()).or_default(), t_ms, v);
        remove_at(self.histograms.get_mut(labels), t_ms);
    }

    /// Adds one native histogram sample; it replaces any sample at the same timestamp.
    pub fn add_histogram(&mut self, labels: &Labels, t_ms: i64, h: FloatHistogram) {
        insert_at(self.histograms.entry(labels.clone()).or_default(), t_ms, h);
        remove_at(self.series.get_mut(labels), t_ms);
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.series.clear();
        self.histograms.clear();
    }

    /// How many series are stored.
    pub fn series_count(&self) -> usize {
        let only_histograms = self
            .histograms
            .keys()
            .filter(|l| !self.series.contains_key(*l))
            .count();
        self.series.len() + only_histograms
    }
}

impl Queryable for MemStorage {
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, QueryError> {
        Ok(select_from(&self.series, matchers, start_ms, end_ms)
            .into_iter()
            .map(|(labels, samples)| Series { labels, samples })
            .collect())
    }

    fn select_histograms(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<HistogramSeries>, QueryError> {
        Ok(select_from(&self.histograms, matchers, start_ms, end_ms)
            .into_iter()
            .map(|(labels, samples)| HistogramSeries { labels, samples })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::label::MatchOp;

    #[test]
    fn select_filters_by_matchers_and_time() {
        let mut s = MemStorage::new();
        let a = Labels::new([("__name__", "m"), ("job", "a")]);
        let b = Labels::new([("__name__", "m"), ("job", "b")]);
        for t in 0..5 {
            s.add_sample(&a, t * 10, t as f64);
            s.add_sample(&b, t * 10, -(t as f64));
        }
        let m = [LabelMatcher::new(MatchOp::Equal, "job", "a")];
        let got = s.select(&m, 10, 30).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples, vec![(10, 1.0), (20, 2.0), (30, 3.0)]);
        let none = [LabelMatcher::new(MatchOp::Equal, "missing", "")];
        assert_eq!(s.select(&none, 0, 100).unwrap().len(), 2);
        assert!(s.select(&m, 100, 200).unwrap().is_empty());
    }
}
