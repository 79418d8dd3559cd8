//! Namespaces scope rule groups, as Prometheus scopes them by rule file and Grafana by folder:
//! two files may each hold a group named `EmbeddedExporter` without one replacing the other.

use std::fmt;

use serde::Serialize;

const MAX_LEN: usize = 100;

/// A validated namespace name: 1–100 letters, digits, `.`, `_` or `-`, not only dots.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Namespace(String);

impl Namespace {
    /// Where groups go that name no namespace (and every group written before namespaces).
    pub const DEFAULT: &'static str = "default";

    pub fn parse(name: &str) -> Result<Namespace, String> {
        if name.is_empty() {
            return Err("a namespace needs a name".into());
        }
        if name.len() > MAX_LEN {
            return Err(format!("must be at most {MAX_LEN} characters"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "`{}` is not allowed: use letters, digits, `.`, `_` and `-`",
                c.escape_default()
            ));
        }
        if name.trim_matches('.').is_empty() {
            return Err("must not be only dots".into());
        }
        Ok(Namespace(name.to_owned()))
    }

    /// The namespace named by an optional request parameter: `default` when absent.
    pub fn parse_or_default(name: Option<&str>) -> Result<Namespace, String> {
        Namespace::parse(name.unwrap_or(Self::DEFAULT))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace(Self::DEFAULT.to_owned())
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_like_names_are_namespaces_and_paths_are_not() {
        for ok in ["default", "embedded-exporter.yml", "node_exporter", "a"] {
            assert_eq!(Namespace::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "..", "a/b", "a b", "ä", &"x".repeat(101)] {
            assert!(Namespace::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Namespace::parse_or_default(None).unwrap().as_str(),
            "default"
        );
    }
}
