//! Grafana `traces` panels: a Jaeger or Tempo search target becomes a `trace_search`
//! target. Jaeger's fields carry over (service, operation, logfmt tags as attribute
//! filters, duration bounds, limit; `error=true` as errors only). Tempo's search builder
//! filters (`service.name`, `name`, `status`, `duration`, attributes with `=`, `!=`, `>`,
//! `<`) and plain TraceQL of one spanset joined by `&&` translate the same way. What has no
//! equivalent (regular expressions, `||`, pipelines, trace-id lookups, uploads, the
//! service graph) is left out with a note.

use serde_json::Value;

use super::super::model::{Target, TargetKind};

/// The panel's first search target as a trace search, with notes for what changed; `None`
/// when no target is a search.
pub(super) fn target_of(p: &Value, notes: &mut Vec<String>) -> Option<Target> {
    let targets: Vec<&Value> = p["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["hide"].as_bool() != Some(true))
        .collect();
    let mut out = None;
    for t in &targets {
        let ref_id = t["refId"].as_str().unwrap_or("?");
        let query_type = t["queryType"].as_str().unwrap_or("search");
        if out.is_some() {
            notes.push(format!(
                "query {ref_id}: the traces panel shows the first search only"
            ));
            continue;
        }
        let mut target = Target {
            kind: TargetKind::TraceSearch,
            ..Target::default()
        };
        let mut filters = Vec::new();
        match query_type {
            // Jaeger's search form.
            "search" if t.get("service").is_some() || t.get("tags").is_some() => {
                target.service = text(&t["service"]);
                target.operation = text(&t["operation"]);
                for term in logfmt(&text(&t["tags"])) {
                    match term.as_str() {
                        "error=true" => target.errors_only = true,
                        _ => filters.push(term),
                    }
                }
            }
            // Tempo's search builder (and its older form).
            "traceqlSearch" | "nativeSearch" | "search" => {
                if !text(&t["serviceName"]).is_empty() {
                    target.service = text(&t["serviceName"]);
                }
                if !text(&t["spanName"]).is_empty() {
                    target.operation = text(&t["spanName"]);
                }
                for term in logfmt(&text(&t["search"])) {
                    filters.push(term);
                }
                for f in t["filters"].as_array().into_iter().flatten() {
                    let (tag, op) = (text(&f["tag"]), text(&f["operator"]));
                    let value = match &f["value"] {
                        Value::Array(a) if a.len() == 1 => text(&a[0]),
                        Value::Array(a) if a.is_empty() => continue,
                        Value::Array(_) => {
                            notes.push(format!(
                                "query {ref_id}: `{tag}` with several values left out"
                            ));
                            continue;
                        }
                        v => text(v),
                    };
                    if tag.is_empty() || value.is_empty() {
                        continue;
                    }
                    condition(&mut target, &mut filters, &tag, &op, &value, ref_id, notes);
                }
            }
            "traceql" => {
                let q = text(&t["query"]);
                traceql(&q, &mut target, &mut filters, ref_id, notes);
            }
            other => {
                notes.push(format!(
                    "query {ref_id}: a `{other}` query is not a trace search; left out"
                ));
                continue;
            }
        }
        target.filters = filters.join(" ");
        for (name, field) in [
            ("minDuration", &mut target.min_duration),
            ("maxDuration", &mut target.max_duration),
        ] {
            if !text(&t[name]).is_empty() {
                *field = text(&t[name]);
            }
            *field = duration(field, name, ref_id, notes);
        }
        target.limit = match t["limit"]
            .as_u64()
            .or_else(|| t["limit"].as_str()?.parse().ok())
        {
            Some(n) if n > u64::from(wire::dashboard::MAX_TRACE_LIMIT) => {
                notes.push(format!(
                    "query {ref_id}: limit {n} lowered to {}",
                    wire::dashboard::MAX_TRACE_LIMIT
                ));
                wire::dashboard::MAX_TRACE_LIMIT
            }
            Some(n) => n as u32,
            None => 0,
        };
        if app::traces::model::parse_filters(&target.filters).is_err() {
            notes.push(format!(
                "query {ref_id}: attribute filters `{}` left out (not `key=value` terms)",
                target.filters
            ));
            target.filters.clear();
        }
        out = Some(target);
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A duration bound kept when the trace pages read it (`250ms`, `1.5s`).
fn duration(d: &str, name: &str, ref_id: &str, notes: &mut Vec<String>) -> String {
    if d.is_empty() {
        return String::new();
    }
    match app::traces::model::parse_duration_ms(d) {
        Ok(_) => d.to_owned(),
        Err(_) => {
            notes.push(format!("query {ref_id}: {name} `{d}` left out"));
            String::new()
        }
    }
}

/// Logfmt terms (`a=1 b="x y"`), each as one filter term with its quotes (an unclosed
/// quote: the whole text, for the filter check to report).
fn logfmt(s: &str) -> Vec<String> {
    app::traces::model::split_terms(s).unwrap_or_else(|_| vec![s.to_owned()])
}

/// One condition of a Tempo search (`tag op value`) onto the target.
fn condition(
    target: &mut Target,
    filters: &mut Vec<String>,
    tag: &str,
    op: &str,
    value: &str,
    ref_id: &str,
    notes: &mut Vec<String>,
) {
    let tag = tag
        .trim_start_matches("resource.")
        .trim_start_matches("span.")
        .trim_start_matches('.');
    let value = value.trim_matches('"');
    match (tag, op) {
        ("service.name", "=") => target.service = value.to_owned(),
        ("name", "=") => target.operation = value.to_owned(),
        ("status", "=") if value == "error" => target.errors_only = true,
        ("duration", ">" | ">=") => target.min_duration = value.to_owned(),
        ("duration", "<" | "<=") => target.max_duration = value.to_owned(),
        (_, "=" | "!=" | ">" | "<") if !tag.is_empty() => {
            let quoted = if value.contains(char::is_whitespace) {
                format!("\"{value}\"")
            } else {
                value.to_owned()
            };
            filters.push(format!("{tag}{op}{quoted}"));
        }
        _ => notes.push(format!(
            "query {ref_id}: `{tag} {op} {value}` has no equivalent; left out"
        )),
    }
}

/// TraceQL of one spanset whose conditions are joined by `&&`; the rest is left out.
fn traceql(
    q: &str,
    target: &mut Target,
    filters: &mut Vec<String>,
    ref_id: &str,
    notes: &mut Vec<String>,
) {
    let q = q.trim();
    let inner = q
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .filter(|i| !i.contains(['{', '}', '|']));
    let Some(inner) = inner else {
        notes.push(format!(
            "query {ref_id}: TraceQL `{q}` is more than one spanset of `&&` conditions; left out"
        ));
        return;
    };
    if inner.contains("||") {
        notes.push(format!(
            "query {ref_id}: TraceQL `||` has no equivalent; the query is left out"
        ));
        return;
    }
    for cond in inner.split("&&").map(str::trim).filter(|c| !c.is_empty()) {
        let op = ["!=", ">=", "<=", "=~", "!~", "=", ">", "<"]
            .into_iter()
            .find(|op| cond.contains(op));
        match op {
            Some(op @ ("=~" | "!~")) | Some(op @ (">=" | "<="))
                if !cond.starts_with("duration") =>
            {
                notes.push(format!(
                    "query {ref_id}: `{cond}` ({op}) has no equivalent; left out"
                ));
            }
            Some(op) => {
                let (tag, value) = cond.split_once(op).unwrap_or_default();
                condition(target, filters, tag.trim(), op, value.trim(), ref_id, notes);
            }
            None => notes.push(format!("query {ref_id}: `{cond}` left out")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jaeger_and_tempo_searches_translate_and_report_the_rest() {
        let mut notes = Vec::new();
        let jaeger = json!({"targets": [{"refId": "A", "queryType": "search", "service": "checkout",
            "operation": "pay", "tags": "http.status_code=500 error=true team=\"core pay\"",
            "minDuration": "10ms", "maxDuration": "2s", "limit": 30}]});
        let t = target_of(&jaeger, &mut notes).unwrap();
        assert_eq!(
            (t.service.as_str(), t.operation.as_str(), t.filters.as_str()),
            ("checkout", "pay", "http.status_code=500 team=\"core pay\"")
        );
        assert!(t.errors_only);
        assert_eq!(
            (t.min_duration.as_str(), t.max_duration.as_str(), t.limit),
            ("10ms", "2s", 30)
        );
        assert!(notes.is_empty(), "{notes:?}");

        let tempo = json!({"targets": [{"refId": "A", "queryType": "traceqlSearch", "limit": 900, "filters": [
            {"id": "s", "tag": "service.name", "operator": "=", "value": ["ledger"], "scope": "resource"},
            {"id": "d", "tag": "duration", "operator": ">", "value": "100ms", "scope": "intrinsic"},
            {"id": "r", "tag": "http.route", "operator": "=~", "value": "/api/.*", "scope": "span"},
            {"id": "c", "tag": "http.status_code", "operator": ">", "value": "499", "scope": "span"}]},
            {"refId": "B", "queryType": "serviceMap"}]});
        let t = target_of(&tempo, &mut notes).unwrap();
        assert_eq!(t.service, "ledger");
        assert_eq!(t.min_duration, "100ms");
        assert_eq!(t.filters, "http.status_code>499");
        assert_eq!(t.limit, wire::dashboard::MAX_TRACE_LIMIT);
        let all = notes.join("\n");
        assert!(all.contains("http.route =~"), "{all}");
        assert!(all.contains("limit 900"), "{all}");
        assert!(all.contains("first search only"), "{all}");

        notes.clear();
        let ql = json!({"targets": [{"refId": "A", "queryType": "traceql",
            "query": "{ resource.service.name = \"checkout\" && name = \"pay\" && status = error && span.agent.id = \"a-1\" }"}]});
        let t = target_of(&ql, &mut notes).unwrap();
        assert_eq!(
            (t.service.as_str(), t.operation.as_str()),
            ("checkout", "pay")
        );
        assert!(t.errors_only);
        assert_eq!(t.filters, "agent.id=a-1");
        let piped = json!({"targets": [{"refId": "A", "queryType": "traceql",
            "query": "{ .a = 1 } | count() > 2"}]});
        notes.clear();
        let t = target_of(&piped, &mut notes).unwrap();
        assert_eq!(t.filters, "");
        assert!(notes[0].contains("left out"), "{notes:?}");
        let by_id = json!({"targets": [{"refId": "A", "queryType": "traceId", "query": "abc"}]});
        notes.clear();
        assert!(target_of(&by_id, &mut notes).is_none());
        assert!(notes[0].contains("traceId"), "{notes:?}");
    }
}
