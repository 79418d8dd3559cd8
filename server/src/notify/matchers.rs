//! Alertmanager's label matchers: `name="value"`, `name!="value"`, `name=~"regex"`,
//! `name!~"regex"` (value quoted or bare, regexes anchored), as routes, inhibition rules and
//! silences use them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub type Labels = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Equal => "=",
            Op::NotEqual => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
        }
    }
}

/// One parsed matcher.
#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn unquote(raw: &str) -> Result<String, String> {
    let Some(inner) = raw.strip_prefix('"') else {
        return Ok(raw.to_owned());
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or_else(|| format!("`{raw}` opens a quote it does not close"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(e @ ('\\' | '"')) => out.push(e),
                Some(e) => return Err(format!("unknown escape `\\{e}`")),
                None => return Err("a value ends in a lone backslash".into()),
            },
            '"' => return Err("an unescaped quote inside the value".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Go's `%q` for the values a matcher prints.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Matcher {
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        if !valid_name(name) {
            return Err(format!("`{name}` is not a label name"));
        }
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("`{value}` is not a regular expression: {e}"))?,
            ),
            _ => None,
        };
        Ok(Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// Parses `name="value"` (Alertmanager's matcher syntax).
    pub fn parse(text: &str) -> Result<Matcher, String> {
        let text = text.trim();
        if text.len() > 4096 {
            return Err("a matcher is at most 4096 characters".into());
        }
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .ok_or_else(|| format!("`{text}` has no operator (=, !=, =~, !~)"))?;
        let name = &text[..end];
        let rest = text[end..].trim_start();
        let (op, value) = [
            ("=~", Op::Regex),
            ("!~", Op::NotRegex),
            ("!=", Op::NotEqual),
            ("=", Op::Equal),
        ]
        .into_iter()
        .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (op, v)))
        .ok_or_else(|| format!("`{text}` has no operator (=, !=, =~, !~)"))?;
        Matcher::new(name, op, &unquote(value.trim())?)
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match self.op {
            Op::Equal => v == self.value,
            Op::NotEqual => v != self.value,
            Op::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            Op::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}{}", self.name, self.op.as_str(), quote(&self.value))
    }
}

/// Parses a list of matcher strings; the error names `field[i]`.
pub fn parse_all(field: &str, texts: &[String]) -> Result<Vec<Matcher>, crate::error::Error> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Matcher::parse(t).map_err(|m| crate::error::Error::invalid(format!("{field}[{i}]"), m))
        })
        .collect()
}

pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// Alertmanager v2's matcher JSON, as silences carry them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl ApiMatcher {
    pub fn to_matcher(&self) -> Result<Matcher, String> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => Op::Equal,
            (false, false) => Op::NotEqual,
            (true, true) => Op::Regex,
            (true, false) => Op::NotRegex,
        };
        Matcher::new(&self.name, op, &self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matchers_parse_as_alertmanager_writes_them() {
        let m = Matcher::parse(r#"severity="critical""#).unwrap();
        assert_eq!(m.to_string(), r#"severity="critical""#);
        assert!(m.matches(&labels(&[("severity", "critical")])));
        let m = Matcher::parse("team =~ keiko|ops").unwrap();
        assert!(m.matches(&labels(&[("team", "ops")])));
        assert!(!m.matches(&labels(&[("team", "opsx")])));
        let m = Matcher::parse(r#"env!="prod""#).unwrap();
        assert!(m.matches(&labels(&[])));
        for bad in ["severity", "9x=\"a\"", r#"a=~"(""#, r#"a="open"#, "=\"x\""] {
            assert!(Matcher::parse(bad).is_err(), "{bad}");
        }
    }
}
