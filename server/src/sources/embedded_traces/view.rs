//! Stored span records read back as the traces family's types: a span record as a
//! [`Span`], the partial trace summaries of a trace merged into one [`TraceSummary`]
//! (see `traces::records` for how they are written).

use std::collections::{BTreeMap, HashMap};

use ingest::spans::SpanStatus;
use logstore::{Record, Value};

use crate::sources::traces::{Span, SpanEventView, SpanLinkView, TraceSummary};
use crate::traces::records::{
    DURATION, ESCAPED_PREFIX, EVENTS, KIND, LINKS, OPERATION, PARENT_ID, REC, RESOURCE_PREFIX,
    SERVICE, SPAN_ID, STATUS, STATUS_MESSAGE, TRACE_ID, TRACE_REC, TYPES,
};

fn attrs_from_json(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v[0].as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn str_at(r: &Record, i: usize) -> &str {
    r.values.get(i).and_then(Value::as_str).unwrap_or_default()
}

/// Merges the partial summaries of each trace (records with `rec` = `trace`).
pub fn merge_summaries(records: &[Record]) -> HashMap<String, TraceSummary> {
    struct Acc {
        start: i64,
        end: i64,
        spans: usize,
        errors: usize,
        root: Option<(i64, String, String)>,
        first: (i64, String, String),
    }
    let mut by_trace: HashMap<String, Acc> = HashMap::new();
    for r in records.iter().filter(|r| str_at(r, REC) == TRACE_REC) {
        let num = |k: &str| {
            r.attribute(k)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let end = num("end").max(r.time);
        let first = (
            r.time,
            r.attribute("first_service").unwrap_or_default().to_owned(),
            r.attribute("first_operation")
                .unwrap_or_default()
                .to_owned(),
        );
        let root = r
            .values
            .get(SERVICE)
            .and_then(Value::as_str)
            .map(|s| (r.time, s.to_owned(), str_at(r, OPERATION).to_owned()));
        let acc = by_trace
            .entry(str_at(r, TRACE_ID).to_owned())
            .or_insert_with(|| Acc {
                start: r.time,
                end,
                spans: 0,
                errors: 0,
                root: None,
                first: first.clone(),
            });
        acc.start = acc.start.min(r.time);
        acc.end = acc.end.max(end);
        acc.spans += num("spans").max(0) as usize;
        acc.errors += num("errors").max(0) as usize;
        if first.0 < acc.first.0 {
            acc.first = first;
        }
        if let Some(root) = root {
            if acc.root.as_ref().is_none_or(|r| root.0 < r.0) {
                acc.root = Some(root);
            }
        }
    }
    by_trace
        .into_iter()
        .map(|(id, a)| {
            let (_, service, operation) = a.root.unwrap_or(a.first);
            let summary = TraceSummary {
                trace_id: id.clone(),
                root_service: service,
                root_operation: operation,
                start_ns: a.start,
                duration_ms: (a.end - a.start) as f64 / 1e6,
                span_count: a.spans,
                error_count: a.errors,
            };
            (id, summary)
        })
        .collect()
}

fn typed(types: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    types.get(name).and_then(|t| t.as_str()).map(str::to_owned)
}

fn typed_attrs(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v[0].as_str().unwrap_or_default().to_owned(),
                        v[1].as_str().unwrap_or("string").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A stored span record as the traces family's [`Span`].
pub fn span_view(r: Record) -> Span {
    let types: serde_json::Map<String, serde_json::Value> = r
        .attribute(TYPES)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let mut span = Span {
        trace_id: str_at(&r, TRACE_ID).to_owned(),
        span_id: str_at(&r, SPAN_ID).to_owned(),
        parent_span_id: r
            .values
            .get(PARENT_ID)
            .and_then(Value::as_str)
            .map(str::to_owned),
        service: str_at(&r, SERVICE).to_owned(),
        operation: str_at(&r, OPERATION).to_owned(),
        kind: str_at(&r, KIND).to_owned(),
        start_ns: r.time,
        duration_ms: r.values.get(DURATION).and_then(Value::as_int).unwrap_or(0) as f64 / 1e6,
        duration_ns: r.values.get(DURATION).and_then(Value::as_int).unwrap_or(0),
        error: SpanStatus::parse(str_at(&r, STATUS)) == Some(SpanStatus::Error),
        status_message: None,
        attributes: BTreeMap::new(),
        resource: BTreeMap::new(),
        attribute_types: BTreeMap::new(),
        events: Vec::new(),
        links: Vec::new(),
    };
    for (k, v) in r.attributes {
        match k.as_str() {
            TYPES => {}
            STATUS_MESSAGE => span.status_message = Some(v),
            EVENTS => {
                let parsed: serde_json::Value = serde_json::from_str(&v).unwrap_or_default();
                span.events = parsed
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| SpanEventView {
                        time_ns: e["t"].as_i64().unwrap_or(0),
                        name: e["n"].as_str().unwrap_or_default().to_owned(),
                        attributes: attrs_from_json(&e["a"]),
                        attribute_types: typed_attrs(&e["a"])
                            .into_iter()
                            .filter(|(_, _, t)| t != "string")
                            .map(|(k, _, t)| (k, t))
                            .collect(),
                    })
                    .collect();
            }
            LINKS => {
                let parsed: serde_json::Value = serde_json::from_str(&v).unwrap_or_default();
                span.links = parsed
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| SpanLinkView {
                        trace_id: l["t"].as_str().unwrap_or_default().to_owned(),
                        span_id: l["s"].as_str().unwrap_or_default().to_owned(),
                        attributes: attrs_from_json(&l["a"]),
                    })
                    .collect();
            }
            _ => {
                if let Some(t) = typed(&types, &k) {
                    let plain = k
                        .strip_prefix(RESOURCE_PREFIX)
                        .map(|n| format!("{RESOURCE_PREFIX}{n}"))
                        .unwrap_or_else(|| k.strip_prefix(ESCAPED_PREFIX).unwrap_or(&k).to_owned());
                    span.attribute_types.insert(plain, t);
                }
                if let Some(name) = k.strip_prefix(RESOURCE_PREFIX) {
                    span.resource.insert(name.to_owned(), v);
                } else {
                    let name = k.strip_prefix(ESCAPED_PREFIX).unwrap_or(&k).to_owned();
                    span.attributes.insert(name, v);
                }
            }
        }
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::records::{schema, span_record, summary_records};
    use ingest::spans::{Attr, AttrType, SpanLine};
    use ingest::spans::{SpanEvent, SpanKind, SpanLink};

    fn span(id: &str, parent: &str, start: i64, end: i64) -> SpanLine {
        SpanLine {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            span_id: id.into(),
            parent_span_id: parent.into(),
            name: format!("op-{id}"),
            kind: SpanKind::Server,
            start_ns: start,
            end_ns: end,
            service: "keiko-agent".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_span_round_trips_through_its_record() {
        let schema = schema();
        let mut s = span("eee19b7ec3c1b174", "", 10, 30);
        s.status = SpanStatus::Error;
        s.status_message = "boom".into();
        s.attributes = vec![
            Attr::text("agent.id", "a-1"),
            Attr::text("service", "clash"),
            Attr {
                key: "task.result_size".into(),
                value: "42".into(),
                kind: AttrType::Int,
            },
        ];
        s.resource = vec![Attr::text("host.name", "pod-1")];
        s.events = vec![SpanEvent {
            time_ns: 20,
            name: "exception".into(),
            attributes: vec![Attr::text("exception.type", "TimeoutError")],
        }];
        s.links = vec![SpanLink {
            trace_id: "5b8efff798038103d269b633813fc60d".into(),
            span_id: "eee19b7ec3c1b175".into(),
            attributes: vec![],
        }];
        let r = span_record(&schema, &s, 1 << 20).unwrap();
        assert_eq!(r.attribute("@a.service"), Some("clash"));
        let v = span_view(r);
        assert_eq!(v.attributes["service"], "clash");
        assert_eq!(v.attributes["agent.id"], "a-1");
        assert_eq!(v.attribute_types["task.result_size"], "int64");
        assert_eq!(v.resource["host.name"], "pod-1");
        assert_eq!(v.events[0].attributes["exception.type"], "TimeoutError");
        assert_eq!(v.links[0].span_id, "eee19b7ec3c1b175");
        assert_eq!(v.status_message.as_deref(), Some("boom"));
        assert!(v.error);
        assert_eq!(v.duration_ns, 20);
        assert!(span_record(&schema, &s, 50).is_err());
    }

    #[test]
    fn partial_summaries_merge_with_a_late_root() {
        let child = span("00000000000000b2", "00000000000000b1", 20, 40);
        let early = summary_records(&[&child]);
        let root = span("00000000000000b1", "", 10, 50);
        let sibling = span("00000000000000b3", "00000000000000b1", 45, 60);
        let late = summary_records(&[&root, &sibling]);
        let all: Vec<Record> = early.into_iter().chain(late).collect();
        let merged = merge_summaries(&all);
        let t = &merged["5b8efff798038103d269b633813fc60c"];
        assert_eq!(t.span_count, 3);
        assert_eq!(t.root_operation, "op-00000000000000b1");
        assert_eq!(t.start_ns, 10);
        assert_eq!(t.duration_ms, 50.0 / 1e6);
    }
}
