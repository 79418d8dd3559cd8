//! Bounds on what one request may cost, and the running account kept while decoding.

use crate::error::DecodeError;

/// Bounds applied while decoding one request. [`Limits::default`] suits a single-node store.
///
/// The body size is checked before anything is allocated for it; label limits refuse the
/// offending series or data point only; the sample and output limits refuse the whole request,
/// since they protect the server's memory rather than judge the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest body accepted after decompression (also applies to uncompressed bodies).
    pub max_decompressed_bytes: usize,
    /// Longest label name, in bytes.
    pub max_label_name_bytes: usize,
    /// Longest label value, in bytes.
    pub max_label_value_bytes: usize,
    /// Most labels on one series, `__name__` included.
    pub max_labels_per_series: usize,
    /// Most samples one request may decode to.
    pub max_samples: usize,
    /// Most memory the decoded samples may take (an estimate: label text plus per-item overhead).
    /// Labels are copied into every sample, so a series with many samples and long labels
    /// costs far more than its encoded size.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Prometheus refuses remote-write bodies above 32 MiB decompressed.
            max_decompressed_bytes: 32 << 20,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 64 << 10,
            max_labels_per_series: 256,
            max_samples: 2_000_000,
            max_output_bytes: 512 << 20,
        }
    }
}

impl Limits {
    /// Checks the labels of one series (already known to be valid names) against the per-series
    /// limits; the error says which one is exceeded.
    pub(crate) fn check_labels(&self, labels: &[(String, String)]) -> Result<(), String> {
        if labels.len() > self.max_labels_per_series {
            return Err(format!(
                "{} labels, more than the limit of {}",
                labels.len(),
                self.max_labels_per_series
            ));
        }
        for (name, value) in labels {
            if name.len() > self.max_label_name_bytes {
                return Err(format!(
                    "label name {} longer than the limit of {} bytes",
                    crate::error::clip(name),
                    self.max_label_name_bytes
                ));
            }
            if value.len() > self.max_label_value_bytes {
                return Err(format!(
                    "value of label {:?} is {} bytes, longer than the limit of {}",
                    crate::error::clip(name),
                    value.len(),
                    self.max_label_value_bytes
                ));
            }
        }
        Ok(())
    }
}

/// What remains of [`Limits::max_samples`] and [`Limits::max_output_bytes`] for one request.
#[derive(Debug)]
pub(crate) struct Budget {
    samples_left: usize,
    bytes_left: usize,
    limits: (usize, usize),
}

impl Budget {
    /// Fixed cost of one sample besides its label text: the struct and one pair of `String`s
    /// per label are accounted separately.
    const SAMPLE_OVERHEAD: usize = std::mem::size_of::<crate::Sample>();
    const LABEL_OVERHEAD: usize = std::mem::size_of::<(String, String)>();

    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            samples_left: limits.max_samples,
            bytes_left: limits.max_output_bytes,
            limits: (limits.max_samples, limits.max_output_bytes),
        }
    }

    /// The estimated memory of one sample carrying `labels`.
    pub(crate) fn cost(labels: &[(String, String)]) -> usize {
        labels.iter().fold(Self::SAMPLE_OVERHEAD, |acc, (n, v)| {
            acc.saturating_add(Self::LABEL_OVERHEAD + n.len() + v.len())
        })
    }

    /// Takes `count` samples of `labels` from the budget, or fails without taking anything.
    pub(crate) fn charge(
        &mut self,
        labels: &[(String, String)],
        count: usize,
    ) -> Result<(), DecodeError> {
        if count > self.samples_left {
            return Err(DecodeError::TooManySamples {
                limit: format!("{} samples", self.limits.0),
            });
        }
        let bytes = Self::cost(labels).saturating_mul(count);
        if bytes > self.bytes_left {
            return Err(DecodeError::TooManySamples {
                limit: format!("{} bytes of decoded samples", self.limits.1),
            });
        }
        self.samples_left -= count;
        self.bytes_left -= bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_limits_name_the_offender() {
        let limits = Limits {
            max_label_value_bytes: 4,
            max_labels_per_series: 2,
            ..Limits::default()
        };
        assert!(limits.check_labels(&labels(&[("a", "1234")])).is_ok());
        let err = limits.check_labels(&labels(&[("a", "12345")])).unwrap_err();
        assert!(err.contains("\"a\"") && err.contains("5 bytes"), "{err}");
        let err = limits
            .check_labels(&labels(&[("a", ""), ("b", ""), ("c", "")]))
            .unwrap_err();
        assert!(err.contains("3 labels"), "{err}");
    }

    #[test]
    fn budget_refuses_without_spending() {
        let limits = Limits {
            max_samples: 3,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        let l = labels(&[("__name__", "up")]);
        budget.charge(&l, 2).unwrap();
        assert!(budget.charge(&l, 2).is_err());
        budget.charge(&l, 1).unwrap();
        let err = budget.charge(&l, 1).unwrap_err();
        assert!(err.is_too_large());

        let limits = Limits {
            max_output_bytes: 1000,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        let big = labels(&[("a", &"x".repeat(600))]);
        budget.charge(&big, 1).unwrap();
        assert!(budget.charge(&big, 1).is_err());
    }
}
