//! What log views are on the wire: a line as `GET /api/v1/logs/query` answers it, the
//! histogram by level, field counts, and the request Explore → Logs makes (the same
//! parameters the API takes), plus the query edits a facet click makes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::components::chart_model::encode_pairs;

/// Lines a page asks for unless the URL says otherwise, and the choices offered.
pub const DEFAULT_LIMIT: usize = 100;
pub const LIMITS: [usize; 4] = [50, 100, 500, 1000];

/// One log line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The store's id of the line (for context and get-by-id).
    pub id: String,
    /// Unix nanoseconds.
    pub time_ns: i64,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub message: String,
    /// Columns (service, trace and correlation ids) and attributes, as text.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl LogLine {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The CSS class of the line's level: `sev-error`, `sev-warning`, … `sev-none`.
    pub fn severity_class(&self) -> String {
        severity_class(self.severity.as_deref())
    }

    /// The line as one JSON object (time, level, message and every field), for "copy".
    pub fn to_json(&self) -> String {
        let mut o = serde_json::Map::new();
        o.insert("time".into(), rfc3339_ns(self.time_ns).into());
        if let Some(s) = &self.severity {
            o.insert("level".into(), s.clone().into());
        }
        o.insert("message".into(), self.message.clone().into());
        for (k, v) in &self.fields {
            o.entry(k.clone()).or_insert_with(|| v.clone().into());
        }
        serde_json::to_string_pretty(&serde_json::Value::Object(o)).unwrap_or_default()
    }
}

/// `sev-error` for `ERROR` (and the levels the store names), `sev-none` without one.
pub fn severity_class(severity: Option<&str>) -> String {
    match severity.map(str::to_ascii_uppercase).as_deref() {
        Some("CRITICAL" | "FATAL") => "sev-critical".into(),
        Some("ERROR") => "sev-error".into(),
        Some("WARNING" | "WARN") => "sev-warning".into(),
        Some("INFO") => "sev-info".into(),
        Some("DEBUG") => "sev-debug".into(),
        Some("TRACE") => "sev-trace".into(),
        _ => "sev-none".into(),
    }
}

/// The colour a level is drawn in (histogram bars; the line classes use the same).
pub fn severity_color(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "CRITICAL" | "FATAL" => "#a3162b",
        "ERROR" => "#e02f44",
        "WARNING" | "WARN" => "#ff9830",
        "INFO" => "#3274d9",
        "DEBUG" => "#8e8e8e",
        "TRACE" => "#b8b8b8",
        _ => "#a352cc",
    }
}

/// `2026-12-03T10:00:00.123Z` for Unix nanoseconds.
pub fn rfc3339_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let day = crate::components::chart::utc(secs as f64);
    format!("{}.{ms:03}Z", day.replace(' ', "T"))
}

/// Counts per interval by level (`GET /api/v1/logs/histogram`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogHistogram {
    /// Unix seconds where the first bucket starts, and the bucket width in seconds.
    pub start: f64,
    pub step: f64,
    pub levels: Vec<String>,
    /// `counts[bucket][level]`.
    pub counts: Vec<Vec<u64>>,
}

/// A field name (or value) and how many matching lines have it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldCount {
    #[serde(alias = "value")]
    pub name: String,
    pub count: u64,
}

/// A search as the URL and the API hold it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogsRequest {
    pub query: String,
    pub from: String,
    pub to: String,
    pub limit: usize,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl LogsRequest {
    /// The query string for `/api/v1/logs/query` (and, without `limit`/`cursor`, the
    /// histogram and the facets).
    pub fn to_query_string(&self, paged: bool) -> String {
        let mut pairs = vec![
            ("query", self.query.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ];
        if paged {
            pairs.push(("limit", self.limit.to_string()));
            if let Some(c) = &self.cursor {
                pairs.push(("cursor", c.clone()));
            }
        }
        encode_pairs(&pairs)
    }
}

/// Everything Explore → Logs shows for one search: the page of lines, the histogram and
/// the fields of the matching lines.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogsView {
    pub lines: Vec<LogLine>,
    pub next: Option<String>,
    pub histogram: LogHistogram,
    pub fields: Vec<FieldCount>,
}

/// `value` as a query value: bare when it is one plain word, else a quoted phrase.
pub fn quote_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !["and", "or", "not"].contains(&value.to_ascii_lowercase().as_str());
    if plain {
        value.to_owned()
    } else {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

/// The query with `field:value` added (filter in) or `NOT field:value` (filter out); the
/// old query is kept whole (in parentheses when it has an OR).
pub fn with_filter(query: &str, field: &str, value: &str, include: bool) -> String {
    let term = format!("{field}:{}", quote_value(value));
    let term = if include { term } else { format!("NOT {term}") };
    let q = query.trim();
    if q.is_empty() || q == "*" {
        return term;
    }
    let upper = q.to_ascii_uppercase();
    let base = if upper.contains(" OR ") {
        format!("({q})")
    } else {
        q.to_owned()
    };
    format!("{base} AND {term}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_edit_the_query() {
        assert_eq!(with_filter("", "service", "api", true), "service:api");
        assert_eq!(
            with_filter("timeout", "service", "pay ment", false),
            "timeout AND NOT service:\"pay ment\""
        );
        assert_eq!(
            with_filter("a OR b", "level", "ERROR", true),
            "(a OR b) AND level:ERROR"
        );
        assert_eq!(quote_value("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(quote_value("and"), "\"and\"");
    }

    #[test]
    fn lines_copy_as_json_with_their_time() {
        let mut l = LogLine {
            id: "1.0".into(),
            time_ns: 1_700_000_000_123_000_000,
            severity: Some("ERROR".into()),
            message: "boom".into(),
            ..Default::default()
        };
        l.fields.insert("service".into(), "api".into());
        let v: serde_json::Value = serde_json::from_str(&l.to_json()).unwrap();
        assert_eq!(v["time"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["service"], "api");
        assert_eq!(l.severity_class(), "sev-error");
    }

    #[test]
    fn the_request_encodes_paging_only_for_lines() {
        let r = LogsRequest {
            query: "level:ERROR".into(),
            from: "now-1h".into(),
            to: "now".into(),
            limit: 50,
            cursor: Some("17.2".into()),
        };
        assert_eq!(
            r.to_query_string(false),
            "query=level%3AERROR&from=now-1h&to=now"
        );
        assert!(r.to_query_string(true).ends_with("&limit=50&cursor=17.2"));
    }
}
