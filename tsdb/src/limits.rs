//! Limits that keep one writer or one query from exhausting the store.

use crate::error::{Refusal, RefuseReason};
use crate::labels::Labels;

/// Limits checked on append and on query. Every refusal names the limit and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most head series with one metric name (`__name__`).
    pub max_series_per_metric: usize,
    /// Most head series in all.
    pub max_series: usize,
    /// Most labels in one series, `__name__` included.
    pub max_labels_per_series: usize,
    /// Longest label name, in bytes.
    pub max_label_name_len: usize,
    /// Longest label value, in bytes.
    pub max_label_value_len: usize,
    /// Most samples in one append batch.
    pub max_samples_per_batch: usize,
    /// Most samples one `select` may return.
    pub max_samples_per_query: usize,
    /// Samples later than the system clock plus this are refused (`too_far_in_future`);
    /// `None` accepts any time.
    pub max_future_ms: Option<i64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_series_per_metric: 100_000,
            max_series: 1_000_000,
            max_labels_per_series: 64,
            max_label_name_len: 256,
            max_label_value_len: 4096,
            max_samples_per_batch: 100_000,
            max_samples_per_query: 50_000_000,
            max_future_ms: Some(10 * 60 * 1000),
        }
    }
}

impl Limits {
    /// The refusal of a new series' label set, if it breaks a size limit.
    pub(crate) fn check_labels(&self, labels: &Labels) -> Option<Refusal> {
        if labels.len() > self.max_labels_per_series {
            return Some(Refusal {
                reason: RefuseReason::LabelsPerSeries,
                message: format!(
                    "series {labels} has {} labels, over the limit max_labels_per_series={}",
                    labels.len(),
                    self.max_labels_per_series
                ),
            });
        }
        for (n, v) in labels.iter() {
            if n.len() > self.max_label_name_len {
                return Some(Refusal {
                    reason: RefuseReason::LabelNameLength,
                    message: format!(
                        "label name {:?}… is {} bytes, over the limit max_label_name_len={}",
                        prefix(n),
                        n.len(),
                        self.max_label_name_len
                    ),
                });
            }
            if v.len() > self.max_label_value_len {
                return Some(Refusal {
                    reason: RefuseReason::LabelValueLength,
                    message: format!(
                        "value of label {:?} is {} bytes, over the limit max_label_value_len={}",
                        prefix(n),
                        v.len(),
                        self.max_label_value_len
                    ),
                });
            }
        }
        None
    }
}

/// The first few characters of a (possibly huge) string, for messages.
fn prefix(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_limits_name_the_limit() {
        let limits = Limits {
            max_labels_per_series: 2,
            max_label_name_len: 5,
            max_label_value_len: 3,
            ..Limits::default()
        };
        let ok = Labels::new([("a", "abc")]).unwrap();
        assert!(limits.check_labels(&ok).is_none());
        let many = Labels::new([("a", "1"), ("b", "2"), ("c", "3")]).unwrap();
        let r = limits.check_labels(&many).unwrap();
        assert_eq!(r.reason, RefuseReason::LabelsPerSeries);
        assert!(
            r.message.contains("max_labels_per_series=2"),
            "{}",
            r.message
        );
        let long_name = Labels::new([("abcdef", "1")]).unwrap();
        assert_eq!(
            limits.check_labels(&long_name).unwrap().reason,
            RefuseReason::LabelNameLength
        );
        let long_value = Labels::new([("a", "1234")]).unwrap();
        let r = limits.check_labels(&long_value).unwrap();
        assert_eq!(r.reason, RefuseReason::LabelValueLength);
        assert!(r.message.contains("4 bytes"), "{}", r.message);
    }
}
