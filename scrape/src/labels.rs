//! Label sets and the naming rules they follow.
//!
//! A label set is a `Vec<(name, value)>` sorted by name (byte order, as Prometheus
//! sorts them), without duplicate names and without empty values: Prometheus treats
//! a label with an empty value exactly like an absent label.

/// The label holding a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// A sorted label set; see the module documentation for its invariants.
pub type Labels = Vec<(String, String)>;

/// Whether `name` is a classic (legacy) Prometheus metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `name` is a classic (legacy) Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value of label `name` in a sorted label set, if present.
pub fn get<'a>(labels: &'a [(String, String)], name: &str) -> Option<&'a str> {
    labels
        .binary_search_by(|(n, _)| n.as_str().cmp(name))
        .ok()
        .map(|i| labels[i].1.as_str())
}

/// Sorts a label set by name and drops empty values; the first of duplicate names wins.
pub fn normalize(mut labels: Labels) -> Labels {
    labels.retain(|(_, v)| !v.is_empty());
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    labels.dedup_by(|later, earlier| later.0 == earlier.0);
    labels
}

/// Renders a label set as Prometheus prints series: `name{a="1", b="x\"y"}`.
pub fn format(labels: &[(String, String)]) -> String {
    let name = get(labels, METRIC_NAME).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(n, _)| n != METRIC_NAME)
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    if rest.is_empty() && !name.is_empty() {
        return name.to_owned();
    }
    format!("{name}{{{}}}", rest.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        for ok in ["a", "_", ":", "http_requests_total", "job:rate5m", "A9"] {
            assert!(is_valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a.b", "é", "a b"] {
            assert!(!is_valid_metric_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_", "__name__", "instance", "A9_"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a:b", "a-b", "a.b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn normalize_sorts_and_drops_empty_values() {
        let l = normalize(vec![
            ("b".into(), "2".into()),
            ("a".into(), "".into()),
            ("__name__".into(), "m".into()),
            ("b".into(), "3".into()),
        ]);
        assert_eq!(
            l,
            vec![("__name__".into(), "m".into()), ("b".into(), "2".into())]
        );
        assert_eq!(get(&l, "b"), Some("2"));
        assert_eq!(get(&l, "a"), None);
        assert_eq!(format(&l), r#"m{b="2"}"#);
        assert_eq!(format(&l[..1]), "m");
        assert_eq!(format(&[("a".into(), "\"".into())]), r#"{a="\""}"#);
    }
}
