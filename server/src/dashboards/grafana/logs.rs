//! Grafana `logs` panels: their queries become the log store's language. A Loki query's
//! stream selector and line filters translate (`{app="api", level="error"} |= "timeout"
//! != "debug"` → `app:api AND level:error AND "timeout" AND NOT "debug"`); what has no
//! equivalent (regex matchers and filters, pipeline stages) is left out with a note. An
//! Elasticsearch query (Lucene) is kept as written: the language is close to it.
//!
//! Time-series targets on a logs datasource become log-count targets where Grafana counts
//! lines: Loki's `count_over_time(…)` (alone, in `sum(…)` or `sum by (label)`), and an
//! Elasticsearch `count` metric over a date histogram (a `terms` bucket splits it). Other
//! log metrics (`rate`, `bytes_over_time`, averages of a field …) are reported, not drawn.

use serde_json::Value;

use super::super::log_counts::quote;
use super::super::model::{Target, TargetKind};

/// The panel's queries as log queries, with notes for what changed.
pub(super) fn targets_of(p: &Value, notes: &mut Vec<String>) -> Vec<Target> {
    let mut out = Vec::new();
    for t in p["targets"].as_array().into_iter().flatten() {
        if t["hide"].as_bool() == Some(true) {
            continue;
        }
        if let Some(expr) = t["expr"].as_str().filter(|e| !e.trim().is_empty()) {
            let (query, mut n) = from_logql(expr);
            notes.append(&mut n);
            out.push(Target {
                expr: query,
                ..Target::default()
            });
        } else if let Some(q) = t["query"].as_str() {
            out.push(Target {
                expr: q.trim().to_owned(),
                ..Target::default()
            });
        }
    }
    if out.len() > 1 {
        notes.push(format!(
            "{} queries; the logs panel shows the first",
            out.len()
        ));
        out.truncate(1);
    }
    out
}

/// The datasource type a Grafana target (or its panel) names, lower-cased: the `type` of a
/// `{type, uid}` reference, or the name itself (`Loki`, `${DS_ELASTICSEARCH}`).
fn datasource_type(t: &Value, panel: &Value) -> String {
    [&t["datasource"], &panel["datasource"]]
        .into_iter()
        .find_map(|d| d["type"].as_str().or_else(|| d.as_str()))
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// A fixed bucket width kept as the target's minimum interval; `auto`, `$__interval` and
/// the like follow the chart's step (empty), and so does what is not a Prometheus duration.
fn bucket_width(range: &str, notes: &mut Vec<String>) -> String {
    let range = range.trim();
    if range.is_empty() || range == "auto" || range.starts_with('$') {
        return String::new();
    }
    if crate::promql_syntax::duration::PromDuration::parse(range).is_err() {
        notes.push(format!(
            "interval `{range}` left out; the chart's step is used"
        ));
        return String::new();
    }
    range.to_owned()
}

/// `ident (a, b) rest` → the names and the rest.
fn by_clause(s: &str) -> Option<(Vec<String>, &str)> {
    let s = s.trim_start();
    let rest = s.strip_prefix("by").or_else(|| s.strip_prefix("without"))?;
    let inner = rest.trim_start().strip_prefix('(')?;
    let close = inner.find(')')?;
    let names = inner[..close]
        .split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    Some((names, &inner[close + 1..]))
}

/// Where the parenthesis that opens `s` closes (quoted strings skipped).
fn closing(s: &str) -> Option<usize> {
    if !s.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    let mut open_quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (open_quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some('"'), '\\') => escaped = true,
            (Some(q), c) if c == q => open_quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => open_quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text inside the parentheses that open `s` and close at its end.
fn wrapped(s: &str) -> Option<&str> {
    s.trim().strip_prefix('(')?.strip_suffix(')')
}

/// A Loki metric query as a log count: the log query, the label to split by, the range.
fn from_loki_count(expr: &str, notes: &mut Vec<String>) -> Option<(String, String, String)> {
    let mut e = expr.trim();
    let mut by: Option<Vec<String>> = None;
    let mut summed = false;
    if let Some(rest) = e.strip_prefix("sum") {
        summed = true;
        let rest = rest.trim_start();
        if rest.starts_with("by") || rest.starts_with("without") {
            if rest.starts_with("without") {
                notes.push("`sum without (…)` counted as one series".into());
            } else {
                by = by_clause(rest).map(|(n, _)| n);
            }
            let (_, after) = by_clause(rest)?;
            e = wrapped(after)?;
        } else {
            // `sum(…)` or `sum(…) by (…)`.
            let close = closing(rest)?;
            let open = &rest[1..];
            let close = close - 1;
            let tail = open[close + 1..].trim();
            if !tail.is_empty() {
                let (names, left) = by_clause(tail)?;
                if !left.trim().is_empty() || tail.starts_with("without") {
                    return None;
                }
                by = Some(names);
            }
            e = &open[..close];
        }
    }
    let inner = e.trim().strip_prefix("count_over_time")?;
    let inner = wrapped(inner)?;
    let open = inner.rfind('[')?;
    let range = inner[open + 1..]
        .trim()
        .strip_suffix(']')?
        .trim()
        .to_owned();
    let (query, mut n) = from_logql(&inner[..open]);
    notes.append(&mut n);
    let split = match by {
        Some(names) if names.len() == 1 => names[0].clone(),
        Some(names) if names.len() > 1 => {
            notes.push(format!(
                "counts split by `{}` only (the log count splits by one field; `{}` left out)",
                names[0],
                names[1..].join("`, `")
            ));
            names[0].clone()
        }
        _ => {
            if !summed {
                notes.push("`count_over_time` per stream drawn as one series of all lines".into());
            }
            String::new()
        }
    };
    Some((query, split, range))
}

/// A Grafana time-series target on a logs datasource as a log-count target. `None`: not a
/// logs target (the caller reads it as PromQL); `Some(None)`: a logs target that does not
/// map (the note says why).
pub(super) fn count_target(
    t: &Value,
    panel: &Value,
    notes: &mut Vec<String>,
) -> Option<Option<Target>> {
    let ds = datasource_type(t, panel);
    let ref_id = t["refId"].as_str().unwrap_or("?");
    let elastic =
        ds.contains("elasticsearch") || ds.contains("opensearch") || t["bucketAggs"].is_array();
    if elastic {
        let metrics = t["metrics"].as_array().cloned().unwrap_or_default();
        let counts =
            !metrics.is_empty() && metrics.iter().all(|m| m["type"].as_str() == Some("count"));
        let aggs = t["bucketAggs"].as_array().cloned().unwrap_or_default();
        let histogram = aggs
            .iter()
            .find(|a| a["type"].as_str() == Some("date_histogram"));
        let terms: Vec<&Value> = aggs
            .iter()
            .filter(|a| a["type"].as_str() == Some("terms"))
            .collect();
        let (Some(histogram), true) = (histogram, counts) else {
            notes.push(format!(
                "query {ref_id}: only Elasticsearch `count` over a date histogram is drawn (as a log count); left out"
            ));
            return Some(None);
        };
        if terms.len() > 1 || aggs.len() > terms.len() + 1 {
            notes.push(format!(
                "query {ref_id}: split by the first `terms` bucket only; other buckets left out"
            ));
        }
        let interval = bucket_width(
            histogram["settings"]["interval"].as_str().unwrap_or(""),
            notes,
        );
        let query = t["query"].as_str().unwrap_or("").trim();
        return Some(Some(Target {
            expr: if query.is_empty() {
                "*".into()
            } else {
                query.to_owned()
            },
            legend: t["alias"].as_str().unwrap_or_default().to_owned(),
            kind: TargetKind::LogCount,
            split_by: terms
                .first()
                .and_then(|a| a["field"].as_str())
                .map(|f| f.trim_end_matches(".keyword").to_owned())
                .unwrap_or_default(),
            interval,
            ..Target::default()
        }));
    }
    let expr = t["expr"].as_str().filter(|e| !e.trim().is_empty())?;
    // By the datasource only: `count_over_time` is PromQL too.
    if !ds.contains("loki") {
        return None;
    }
    let Some((query, split_by, range)) = from_loki_count(expr, notes) else {
        notes.push(format!(
            "query {ref_id}: only LogQL `count_over_time` (alone, in `sum` or `sum by (label)`) is drawn as a log count; `{}` left out",
            expr.trim()
        ));
        return Some(None);
    };
    let interval = bucket_width(&range, notes);
    Some(Some(Target {
        expr: if query.is_empty() { "*".into() } else { query },
        legend: t["legendFormat"].as_str().unwrap_or_default().to_owned(),
        kind: TargetKind::LogCount,
        split_by,
        interval,
        ..Target::default()
    }))
}

/// A quoted LogQL string at the start of `s` (`"…"` with escapes, or a `` `raw` `` one):
/// its value and the rest.
fn string_at(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let mut chars = s.char_indices();
    let (_, open) = chars.next()?;
    if open != '"' && open != '`' {
        return None;
    }
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if open == '"' && escaped {
            value.push(c);
            escaped = false;
        } else if open == '"' && c == '\\' {
            escaped = true;
        } else if c == open {
            return Some((value, &s[i + 1..]));
        } else {
            value.push(c);
        }
    }
    None
}

/// LogQL → the store's query, and notes on what was left out.
pub(super) fn from_logql(expr: &str) -> (String, Vec<String>) {
    let mut terms = Vec::new();
    let mut notes = Vec::new();
    let mut rest = expr.trim();
    if let Some(body) = rest.strip_prefix('{') {
        let Some(end) = body.find('}') else {
            return (
                expr.to_owned(),
                vec!["LogQL selector not closed; kept as written".into()],
            );
        };
        for matcher in body[..end].split(',').filter(|m| !m.trim().is_empty()) {
            let m = matcher.trim();
            let (name, op, value) = if let Some((n, v)) = m.split_once("!~") {
                (n, "!~", v)
            } else if let Some((n, v)) = m.split_once("=~") {
                (n, "=~", v)
            } else if let Some((n, v)) = m.split_once("!=") {
                (n, "!=", v)
            } else if let Some((n, v)) = m.split_once('=') {
                (n, "=", v)
            } else {
                notes.push(format!("label matcher `{m}` left out"));
                continue;
            };
            let name = name.trim();
            let Some((value, _)) = string_at(value) else {
                notes.push(format!("label matcher `{m}` left out"));
                continue;
            };
            match op {
                "=" => terms.push(format!("{name}:{}", quote(&value))),
                "!=" => terms.push(format!("NOT {name}:{}", quote(&value))),
                _ => notes.push(format!("regular-expression matcher `{m}` left out")),
            }
        }
        rest = &body[end + 1..];
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (op, after) = if let Some(a) = rest.strip_prefix("|=") {
            ("|=", a)
        } else if let Some(a) = rest.strip_prefix("!=") {
            ("!=", a)
        } else if let Some(a) = rest.strip_prefix("|~") {
            ("|~", a)
        } else if let Some(a) = rest.strip_prefix("!~") {
            ("!~", a)
        } else {
            notes.push(format!("LogQL pipeline `{}` left out", rest.trim()));
            break;
        };
        let Some((value, next)) = string_at(after) else {
            notes.push(format!("LogQL filter `{}` left out", rest.trim()));
            break;
        };
        match op {
            "|=" => terms.push(format!(
                "\"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            "!=" => terms.push(format!(
                "NOT \"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            _ => notes.push(format!("regular-expression line filter `{value}` left out")),
        }
        rest = next;
    }
    (terms.join(" AND "), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_line_filters_translate() {
        let (q, notes) = from_logql(r#"{app="api", level="error"} |= "timeout" != "debug""#);
        assert_eq!(
            q,
            r#"app:api AND level:error AND "timeout" AND NOT "debug""#
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (q, notes) = from_logql(r#"{job=~"api.*", env!="dev"} |~ "5.." | json"#);
        assert_eq!(q, "NOT env:dev");
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    fn count_of(t: Value) -> (Option<Option<Target>>, Vec<String>) {
        let mut notes = Vec::new();
        let panel = serde_json::json!({"datasource": {"type": "loki", "uid": "x"}});
        (count_target(&t, &panel, &mut notes), notes)
    }

    #[test]
    fn loki_count_over_time_becomes_a_log_count() {
        let (t, notes) = count_of(serde_json::json!({"refId": "A",
            "expr": r#"sum by (level) (count_over_time({app="api"} |= "timeout" [$__interval]))"#,
            "legendFormat": "{{level}}"}));
        let t = t.unwrap().unwrap();
        assert_eq!(t.kind, TargetKind::LogCount);
        assert_eq!(t.expr, r#"app:api AND "timeout""#);
        assert_eq!((t.split_by.as_str(), t.interval.as_str()), ("level", ""));
        assert_eq!(t.legend, "{{level}}");
        assert!(notes.is_empty(), "{notes:?}");
        let (t, _) = count_of(
            serde_json::json!({"expr": r#"sum(count_over_time({app="api"}[5m])) by (service)"#}),
        );
        let t = t.unwrap().unwrap();
        assert_eq!(
            (t.split_by.as_str(), t.interval.as_str()),
            ("service", "5m")
        );
        let (t, notes) =
            count_of(serde_json::json!({"refId": "B", "expr": r#"rate({app="api"}[1m])"#}));
        assert_eq!(t, Some(None));
        assert!(notes[0].contains("count_over_time"), "{notes:?}");
    }

    #[test]
    fn an_elasticsearch_count_over_a_date_histogram_becomes_a_log_count() {
        let mut notes = Vec::new();
        let panel = serde_json::json!({"datasource": "Elasticsearch"});
        let t = serde_json::json!({"refId": "A", "query": "level:ERROR", "metrics": [{"type": "count", "id": "1"}],
            "bucketAggs": [{"type": "terms", "field": "service.keyword"}, {"type": "date_histogram", "settings": {"interval": "1m"}}]});
        let t = count_target(&t, &panel, &mut notes).unwrap().unwrap();
        assert_eq!(
            (t.expr.as_str(), t.split_by.as_str(), t.interval.as_str()),
            ("level:ERROR", "service", "1m")
        );
        let avg = serde_json::json!({"refId": "B", "metrics": [{"type": "avg", "field": "bytes"}],
            "bucketAggs": [{"type": "date_histogram"}]});
        assert_eq!(count_target(&avg, &panel, &mut notes), Some(None));
        let promql = serde_json::json!({"expr": "up"});
        assert_eq!(
            count_target(&promql, &serde_json::json!({}), &mut notes),
            None
        );
    }

    #[test]
    fn elasticsearch_queries_are_kept() {
        let p = serde_json::json!({"targets": [{"query": "level:ERROR AND service:api"}]});
        let mut notes = Vec::new();
        let t = targets_of(&p, &mut notes);
        assert_eq!(t[0].expr, "level:ERROR AND service:api");
    }
}
