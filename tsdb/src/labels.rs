//! Label sets: the identity of a series.

use std::fmt;

use crate::error::Error;

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A validated label set, sorted by name, with unique names and no empty values.
///
/// An empty value means "label absent" (as in Prometheus), so [`Labels::new`] drops pairs
/// whose value is empty rather than storing them. Names must match
/// `[a-zA-Z_][a-zA-Z0-9_]*`. Size limits (labels per series, name and value lengths) are
/// [`crate::Limits`] and are checked when a series is appended, not here.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a label set from pairs in any order.
    ///
    /// Fails on an invalid name or a name given twice; pairs with an empty value are dropped.
    pub fn new<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: Into<String>,
        V: Into<String>,
    {
        let mut v: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(n, v)| (n.into(), v.into()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        for (n, _) in &v {
            if !valid_label_name(n) {
                return Err(Error::InvalidLabels(format!("invalid label name {n:?}")));
            }
        }
        v.sort();
        if let Some(w) = v.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::InvalidLabels(format!(
                "label name {:?} given twice",
                w[0].0
            )));
        }
        Ok(Labels(v))
    }

    /// Builds from pairs already known to be valid and sorted (read back from our own files).
    pub(crate) fn from_sorted_unchecked(v: Vec<(String, String)>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        Labels(v)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The metric name (`__name__`), or "" when the set has none.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME).unwrap_or("")
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the set has no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}

/// Whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_empty_values_dropped() {
        let l = Labels::new([("job", "a"), ("__name__", "up"), ("empty", "")]).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec![("__name__", "up"), ("job", "a")]
        );
        assert_eq!(l.metric_name(), "up");
        assert_eq!(l.get("empty"), None);
        assert_eq!(l.to_string(), r#"{__name__="up", job="a"}"#);
    }

    #[test]
    fn invalid_names_and_duplicates_refused() {
        for bad in ["", "1a", "a-b", "é"] {
            assert!(Labels::new([(bad, "x")]).is_err(), "{bad:?}");
        }
        assert!(Labels::new([("a", "1"), ("a", "2")]).is_err());
        assert!(Labels::new([("_a9", "x"), ("A", "y")]).is_ok());
    }
}
