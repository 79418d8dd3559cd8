//! Exemplars: a sample's pointer to a trace (`trace_id`, `span_id` labels), kept per
//! series as Prometheus's exemplar storage keeps them — in memory, in one circular buffer
//! of bounded size shared by all series (the oldest exemplar goes first), out-of-order and
//! duplicate exemplars of a series refused. Not persisted: a restart starts empty, as
//! Prometheus without its WAL's exemplar records.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::labels::Labels;
use crate::matcher::{matches_all, Matcher};

/// Exemplars kept in all, at most (Prometheus's default `max_exemplars`).
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Labels of one exemplar, in runes at most (OpenMetrics' limit).
pub const MAX_LABEL_RUNES: usize = 128;

/// One exemplar of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    /// Its own labels (e.g. `trace_id`, `span_id`), sorted by name.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// Unix milliseconds.
    pub t_ms: i64,
}

/// Why an exemplar was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExemplarRefusal {
    /// Older than the series' newest exemplar.
    OutOfOrder,
    /// The same as the series' newest exemplar.
    Duplicate,
    /// Its labels are longer than [`MAX_LABEL_RUNES`].
    LabelsTooLong,
}

#[derive(Default)]
struct Inner {
    by_series: HashMap<Arc<Labels>, VecDeque<Exemplar>>,
    /// The series of every kept exemplar, oldest first: the ring's order.
    order: VecDeque<Arc<Labels>>,
}

/// The exemplar storage; cheap to share behind an `Arc`.
pub struct Exemplars {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl Default for Exemplars {
    fn default() -> Self {
        Exemplars::new(DEFAULT_CAPACITY)
    }
}

impl Exemplars {
    pub fn new(capacity: usize) -> Exemplars {
        Exemplars {
            inner: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Exemplars kept now.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps `e` for `series`, dropping the oldest exemplar when the buffer is full.
    pub fn add(&self, series: &Labels, mut e: Exemplar) -> Result<(), ExemplarRefusal> {
        let runes: usize = e
            .labels
            .iter()
            .map(|(n, v)| n.chars().count() + v.chars().count())
            .sum();
        if runes > MAX_LABEL_RUNES {
            return Err(ExemplarRefusal::LabelsTooLong);
        }
        e.labels.sort();
        let mut inner = self.lock();
        let key = match inner.by_series.get_key_value(series) {
            Some((k, list)) => {
                if let Some(last) = list.back() {
                    if e.t_ms < last.t_ms {
                        return Err(ExemplarRefusal::OutOfOrder);
                    }
                    if e.t_ms == last.t_ms
                        && e.value.to_bits() == last.value.to_bits()
                        && e.labels == last.labels
                    {
                        return Err(ExemplarRefusal::Duplicate);
                    }
                }
                k.clone()
            }
            None => Arc::new(series.clone()),
        };
        inner.by_series.entry(key.clone()).or_default().push_back(e);
        inner.order.push_back(key);
        while inner.order.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            let empty = match inner.by_series.get_mut(&oldest) {
                Some(list) => {
                    list.pop_front();
                    list.is_empty()
                }
                None => false,
            };
            if empty {
                inner.by_series.remove(&oldest);
            }
        }
        Ok(())
    }

    /// The exemplars in `[start_ms, end_ms]` of the series matching any of the selectors
    /// (each a list of matchers), by series; at most `max` exemplars in all.
    pub fn query(
        &self,
        selectors: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
        max: usize,
    ) -> Vec<(Labels, Vec<Exemplar>)> {
        let inner = self.lock();
        let mut out: Vec<(Labels, Vec<Exemplar>)> = Vec::new();
        let mut n = 0;
        for (series, list) in &inner.by_series {
            if !selectors.iter().any(|m| matches_all(m, series)) {
                continue;
            }
            let found: Vec<Exemplar> = list
                .iter()
                .filter(|e| e.t_ms >= start_ms && e.t_ms <= end_ms)
                .take(max.saturating_sub(n))
                .cloned()
                .collect();
            n += found.len();
            if !found.is_empty() {
                out.push(((**series).clone(), found));
            }
            if n >= max {
                break;
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::Matcher;

    fn series(name: &str) -> Labels {
        Labels::new([("__name__", name), ("job", "api")]).unwrap()
    }

    fn ex(trace: &str, v: f64, t: i64) -> Exemplar {
        Exemplar {
            labels: vec![("trace_id".into(), trace.into())],
            value: v,
            t_ms: t,
        }
    }

    #[test]
    fn the_buffer_is_bounded_and_refuses_out_of_order_and_duplicates() {
        let store = Exemplars::new(3);
        let a = series("a_bucket");
        store.add(&a, ex("t1", 1.0, 10)).unwrap();
        assert_eq!(
            store.add(&a, ex("t1", 1.0, 10)),
            Err(ExemplarRefusal::Duplicate)
        );
        assert_eq!(
            store.add(&a, ex("t0", 2.0, 5)),
            Err(ExemplarRefusal::OutOfOrder)
        );
        store.add(&a, ex("t2", 2.0, 20)).unwrap();
        store.add(&series("b"), ex("t3", 3.0, 30)).unwrap();
        store.add(&series("b"), ex("t4", 4.0, 40)).unwrap();
        assert_eq!(store.len(), 3, "the oldest went");
        let all = [vec![Matcher::equal("job", "api")]];
        let found = store.query(&all, 0, 100, 100);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].1, [ex("t2", 2.0, 20)]);
        let only_b = [vec![Matcher::equal("__name__", "b")]];
        assert_eq!(store.query(&only_b, 35, 100, 100)[0].1, [ex("t4", 4.0, 40)]);
        assert_eq!(
            store
                .query(&all, 0, 100, 1)
                .iter()
                .map(|s| s.1.len())
                .sum::<usize>(),
            1
        );
        let long = Exemplar {
            labels: vec![("trace_id".into(), "x".repeat(200))],
            ..ex("", 1.0, 50)
        };
        assert_eq!(store.add(&a, long), Err(ExemplarRefusal::LabelsTooLong));
    }
}
