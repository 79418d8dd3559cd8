//! Label matchers with Prometheus semantics.

use std::fmt;

use regex::Regex;

use crate::error::Error;
use crate::labels::Labels;

/// How a matcher compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`, the regex anchored at both ends.
    Regex,
    /// `!~`, the regex anchored at both ends.
    NotRegex,
}

/// One label matcher, e.g. `job=~"api|web"`.
///
/// A label a series does not have has the value "" (as in Prometheus): `foo=""` selects
/// series without `foo`, `foo!=""` series with it, and `foo=~".*"` every series.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    re: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; regexes are compiled anchored (`^(?:value)$`).
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, Error> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::RegexBuilder::new(&format!("^(?s:{value})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| Error::InvalidMatcher(format!("{name}: {e}")))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(MatchOp::Equal, name, value).expect("equality matchers always build")
    }

    /// The label name matched.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The comparison.
    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The value or regex source as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (or "" for an absent label) matches.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|re| re.is_match(v)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|re| re.is_match(v)),
        }
    }

    /// Whether a label set matches (an absent label reads as "").
    pub fn matches_labels(&self, labels: &Labels) -> bool {
        self.matches(labels.get(&self.name).unwrap_or(""))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

/// Whether every matcher matches `labels`.
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches_labels(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_fully_anchored() {
        let m = Matcher::new(MatchOp::Regex, "job", "api|web").unwrap();
        assert!(m.matches("api") && m.matches("web"));
        assert!(!m.matches("xapi") && !m.matches("apix") && !m.matches("api|web"));
        let m = Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap();
        assert!(!m.matches("abc") && m.matches("bac") && m.matches(""));
        // `.` matches newlines, as in Prometheus.
        let m = Matcher::new(MatchOp::Regex, "x", ".*").unwrap();
        assert!(m.matches("a\nb"));
    }

    #[test]
    fn absent_label_reads_as_empty() {
        let l = Labels::new([("__name__", "up")]).unwrap();
        assert!(Matcher::equal("job", "").matches_labels(&l));
        assert!(!Matcher::new(MatchOp::NotEqual, "job", "")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::NotEqual, "job", "x")
            .unwrap()
            .matches_labels(&l));
        assert!(Matcher::new(MatchOp::Regex, "job", "x|")
            .unwrap()
            .matches_labels(&l));
        assert!(!Matcher::new(MatchOp::Regex, "job", ".+")
            .unwrap()
            .matches_labels(&l));
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchOp::Regex, "job", "(").unwrap_err();
        assert!(e.to_string().contains("job"), "{e}");
    }
}
