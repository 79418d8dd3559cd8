//! What the trace pages exchange with the server: the search as the URL holds it (with its
//! attribute filters), trace summaries, whole traces, and the service map with each
//! service's rate, errors and p95.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::components::chart_model::encode_pairs;

/// Traces a search shows unless the URL asks for another number, and at most.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// Explore → Traces's search: `/explore/traces?service=…&operation=…&filters=…&min=…&max=…&errors=1&from=…&to=…&limit=…`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct TraceSearch {
    pub service: String,
    pub operation: String,
    /// Attribute filters separated by spaces: `key=value`, `key!=value`, `key>n`, `key<n`,
    /// or a bare `key` (the attribute exists).
    pub filters: String,
    /// Duration bounds as written (`250ms`, `1.5s`), empty for none.
    pub min: String,
    pub max: String,
    pub errors: bool,
    pub from: String,
    pub to: String,
    pub limit: usize,
}

impl TraceSearch {
    /// From URL (or API) parameters; absent ones take the defaults (the last hour).
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> TraceSearch {
        let text = |k: &str| get(k).map(str::trim).unwrap_or_default().to_owned();
        let or = |k: &str, d: &str| get(k).filter(|v| !v.is_empty()).unwrap_or(d).to_owned();
        TraceSearch {
            service: text("service"),
            operation: text("operation"),
            filters: text("filters"),
            min: text("min"),
            max: text("max"),
            errors: matches!(get("errors"), Some("1" | "true")),
            from: or("from", "now-1h"),
            to: or("to", "now"),
            limit: get("limit")
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .unwrap_or(DEFAULT_LIMIT),
        }
    }

    /// The parameters that differ from the defaults, URL-encoded.
    pub fn to_query_string(&self) -> String {
        let mut pairs = Vec::new();
        for (k, v) in [
            ("service", &self.service),
            ("operation", &self.operation),
            ("filters", &self.filters),
            ("min", &self.min),
            ("max", &self.max),
        ] {
            if !v.is_empty() {
                pairs.push((k, v.clone()));
            }
        }
        if self.errors {
            pairs.push(("errors", "1".into()));
        }
        pairs.push(("from", self.from.clone()));
        pairs.push(("to", self.to.clone()));
        if self.limit != DEFAULT_LIMIT {
            pairs.push(("limit", self.limit.to_string()));
        }
        encode_pairs(&pairs)
    }

    pub fn url(&self) -> String {
        format!("/explore/traces?{}", self.to_query_string())
    }
}

/// One attribute condition of a search.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrFilter {
    Equals(String, String),
    NotEquals(String, String),
    Greater(String, f64),
    Less(String, f64),
    Exists(String),
}

impl AttrFilter {
    /// Whether a span with `value` for the filter's key (None: absent) passes.
    pub fn accepts(&self, value: Option<&str>) -> bool {
        let num = || value.and_then(|v| v.trim().parse::<f64>().ok());
        match self {
            AttrFilter::Equals(_, want) => value == Some(want.as_str()),
            AttrFilter::NotEquals(_, want) => value.is_some_and(|v| v != want),
            AttrFilter::Greater(_, n) => num().is_some_and(|v| v > *n),
            AttrFilter::Less(_, n) => num().is_some_and(|v| v < *n),
            AttrFilter::Exists(_) => value.is_some(),
        }
    }

    pub fn key(&self) -> &str {
        match self {
            AttrFilter::Equals(k, _)
            | AttrFilter::NotEquals(k, _)
            | AttrFilter::Greater(k, _)
            | AttrFilter::Less(k, _)
            | AttrFilter::Exists(k) => k,
        }
    }
}

/// Most filters one search may hold.
pub const MAX_FILTERS: usize = 16;

/// `http.status_code>499 agent.id=a-1 error.type` → three filters; values may be quoted
/// (`task.type="code review"`), and inside quotes a backslash makes the next character
/// plain (`note="say \"hi\""`, `path="C:\\tmp"`), as in the log query language.
/// [`filter_value`] writes a value so that it reads back whole.
pub fn parse_filters(text: &str) -> Result<Vec<AttrFilter>, String> {
    let mut out = Vec::new();
    for term in split_terms(text)? {
        let op_at = term.find(['=', '>', '<', '!']);
        let filter = match op_at {
            None => AttrFilter::Exists(term.clone()),
            Some(i) => {
                let key = term[..i].trim().to_owned();
                if key.is_empty() {
                    return Err(format!(
                        "{term:?} has no attribute name before its operator"
                    ));
                }
                let rest = &term[i..];
                let (op, value) = if let Some(v) = rest.strip_prefix("!=") {
                    ("!=", v)
                } else {
                    rest.split_at(1)
                };
                let value = unquote(value);
                let number = || {
                    value
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| format!("{term:?}: {op} needs a number, not {value:?}"))
                };
                match op {
                    "=" => AttrFilter::Equals(key, value),
                    "!=" => AttrFilter::NotEquals(key, value),
                    ">" => AttrFilter::Greater(key, number()?),
                    "<" => AttrFilter::Less(key, number()?),
                    _ => return Err(format!("{term:?}: use =, !=, >, < or a bare name")),
                }
            }
        };
        out.push(filter);
    }
    if out.len() > MAX_FILTERS {
        return Err(format!("at most {MAX_FILTERS} filters"));
    }
    Ok(out)
}

/// Terms separated by spaces, a double-quoted part kept whole with its quotes and
/// backslash escapes (logfmt's terms too).
pub fn split_terms(text: &str) -> Result<Vec<String>, String> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            cur.push(c);
            continue;
        }
        match c {
            '\\' if quoted => {
                escaped = true;
                cur.push(c);
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    terms.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    if !cur.is_empty() {
        terms.push(cur);
    }
    Ok(terms)
}

/// A value as written: inside quotes, `\x` is `x`.
fn unquote(v: &str) -> String {
    let v = v.trim();
    let Some(inner) = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .filter(|_| v.len() >= 2)
    else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    out
}

/// `value` as a filter's value that [`parse_filters`] reads back whole: quoted, with `\`
/// before a quote or a backslash, when it holds a space, a quote or a backslash (or is
/// empty).
pub fn filter_value(value: &str) -> String {
    if !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        return value.to_owned();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A duration as written in the search (`250ms`, `1.5s`, `2m`, a bare number is
/// milliseconds), in milliseconds: the one parser the server's trace APIs use too.
pub use wire::duration::parse_duration_ms;

/// One trace in a search result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    /// Unix nanoseconds of the first span.
    pub start_ns: i64,
    pub duration_ms: f64,
    pub span_count: usize,
    pub error_count: usize,
}

/// A search's answer: the traces, and what the form offers (services in the range, the
/// chosen service's operations).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSearchView {
    pub traces: Vec<TraceSummary>,
    pub services: Vec<String>,
    pub operations: Vec<String>,
    /// The range searched, Unix seconds.
    pub start: f64,
    pub end: f64,
    /// Set when the store stopped at its read budget before it found `limit` traces:
    /// older matches may be missing.
    #[serde(default)]
    pub partial: bool,
}

/// One span of a trace (the shape of `GET /api/v1/traces/{id}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    #[serde(default)]
    pub kind: String,
    pub start_ns: i64,
    #[serde(default)]
    pub duration_ns: i64,
    #[serde(default)]
    pub error: bool,
    #[serde(default)]
    pub status_message: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub resource: BTreeMap<String, String>,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    #[serde(default)]
    pub links: Vec<SpanLink>,
}

impl Span {
    pub fn end_ns(&self) -> i64 {
        self.start_ns.saturating_add(self.duration_ns.max(0))
    }

    /// An attribute, or else a resource attribute (`resource.` prefix optional).
    pub fn value_of(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .or_else(|| self.resource.get(key))
            .or_else(|| {
                key.strip_prefix("resource.")
                    .and_then(|k| self.resource.get(k))
            })
            .map(String::as_str)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub time_ns: i64,
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// A whole trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

/// A service on the map: the spans that enter it (no parent, or a parent in another
/// service) in the range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceNode {
    pub service: String,
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

/// Calls from `parent` to `child` in the range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceEdge {
    pub parent: String,
    pub child: String,
    pub calls: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

/// The service map of a range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceMapView {
    pub start: f64,
    pub end: f64,
    pub nodes: Vec<ServiceNode>,
    pub edges: Vec<ServiceEdge>,
    /// The store read only part of the range's spans (the newest ones).
    pub truncated: bool,
}

impl ServiceMapView {
    /// Per second over the range.
    pub fn rate(&self, count: u64) -> f64 {
        count as f64 / (self.end - self.start).max(1.0)
    }
}

/// `requests/s`, `errors %`, `p95` as the map and its table print them.
pub fn red_text(rate: f64, requests: u64, errors: u64, p95_ms: f64) -> String {
    let err = if requests == 0 {
        0.0
    } else {
        errors as f64 * 100.0 / requests as f64
    };
    format!(
        "{} req/s · {err:.1}% err · p95 {}",
        short_number(rate),
        duration_text(p95_ms)
    )
}

fn short_number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// `850µs`, `12.3ms`, `1.25s`.
pub fn duration_text(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_each_operator() {
        let f = parse_filters(r#"http.status_code>499 agent.id=a-1 task.type="code review" error.type retries<3 env!=dev"#)
            .unwrap();
        assert_eq!(
            f,
            vec![
                AttrFilter::Greater("http.status_code".into(), 499.0),
                AttrFilter::Equals("agent.id".into(), "a-1".into()),
                AttrFilter::Equals("task.type".into(), "code review".into()),
                AttrFilter::Exists("error.type".into()),
                AttrFilter::Less("retries".into(), 3.0),
                AttrFilter::NotEquals("env".into(), "dev".into()),
            ]
        );
        assert!(parse_filters("x>abc")
            .unwrap_err()
            .contains("needs a number"));
        assert!(parse_filters("=v").is_err());
        assert!(parse_filters("a=\"b").is_err());
        // Inside quotes a backslash makes the next character plain, as in log queries.
        assert_eq!(
            parse_filters(r#"note="say \"hi\" to C:\\tmp" b=c"#).unwrap(),
            [
                AttrFilter::Equals("note".into(), r#"say "hi" to C:\tmp"#.into()),
                AttrFilter::Equals("b".into(), "c".into()),
            ]
        );
        assert!(
            parse_filters(r#"a="b\""#).is_err(),
            "an escaped quote does not close"
        );
        assert!(AttrFilter::Greater("c".into(), 499.0).accepts(Some("500")));
        assert!(!AttrFilter::Greater("c".into(), 499.0).accepts(Some("200")));
        assert!(!AttrFilter::Exists("c".into()).accepts(None));
    }

    fn decode(v: &str) -> String {
        let mut bytes = Vec::new();
        let mut it = v.bytes();
        while let Some(b) = it.next() {
            if b == b'%' {
                let h = [it.next().unwrap(), it.next().unwrap()];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&h).unwrap(), 16).unwrap());
            } else {
                bytes.push(b);
            }
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_search_round_trips_through_its_query_string() {
        let s = TraceSearch {
            service: "checkout".into(),
            operation: "GET /cart".into(),
            filters: "http.status_code>499 agent.id=a".into(),
            min: "250ms".into(),
            max: "2s".into(),
            errors: true,
            from: "now-6h".into(),
            to: "now".into(),
            limit: 100,
        };
        let qs = s.to_query_string();
        let pairs: Vec<(String, String)> = qs
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), decode(v))
            })
            .collect();
        let back = TraceSearch::from_pairs(|k| {
            pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
        });
        assert_eq!(back, s);
        assert_eq!(parse_duration_ms("1.5s"), Ok(Some(1500.0)));
        assert_eq!(parse_duration_ms(""), Ok(None));
        assert!(parse_duration_ms("fast").is_err());
    }
}
