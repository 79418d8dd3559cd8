//! Staleness: the series a target stopped exposing get one sample with the special
//! StaleNaN value, so queries stop returning them at once instead of five minutes later.

use std::collections::HashSet;

use crate::labels::Labels;

/// The bit pattern of Prometheus's StaleNaN, distinct from ordinary NaNs.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The StaleNaN value; compare with [`is_stale_nan`], never with `==`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `value` is the StaleNaN marker (not just any NaN).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// The series one scrape of a target wrote, to compare with the next scrape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesSet(HashSet<Labels>);

impl SeriesSet {
    pub fn new() -> Self {
        SeriesSet::default()
    }

    /// Adds a series; whether it was new to the set.
    pub fn insert(&mut self, labels: Labels) -> bool {
        self.0.insert(labels)
    }

    pub fn contains(&self, labels: &Labels) -> bool {
        self.0.contains(labels)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Labels> {
        self.0.iter()
    }
}

impl FromIterator<Labels> for SeriesSet {
    fn from_iter<I: IntoIterator<Item = Labels>>(iter: I) -> Self {
        SeriesSet(iter.into_iter().collect())
    }
}

/// The series of `previous` that are not in `current`, sorted: each should get a
/// StaleNaN sample at the current scrape's timestamp.
pub fn disappeared(previous: &SeriesSet, current: &SeriesSet) -> Vec<Labels> {
    let mut gone: Vec<Labels> = previous
        .iter()
        .filter(|labels| !current.contains(labels))
        .cloned()
        .collect();
    gone.sort();
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str) -> Labels {
        vec![("__name__".into(), name.into())]
    }

    #[test]
    fn stale_nan_is_a_specific_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert!(!is_stale_nan(1.0));
        assert_eq!(stale_nan().to_bits(), 0x7ff0000000000002);
    }

    #[test]
    fn lists_what_disappeared() {
        let previous: SeriesSet = ["a", "b", "c"].map(series).into_iter().collect();
        let current: SeriesSet = ["b", "d"].map(series).into_iter().collect();
        assert_eq!(
            disappeared(&previous, &current),
            vec![series("a"), series("c")]
        );
        assert!(disappeared(&current, &current).is_empty());
        assert_eq!(disappeared(&previous, &SeriesSet::new()).len(), 3);
    }
}
