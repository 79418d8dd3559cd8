//! Spans as records of the block engine, and back. One schema holds two kinds of record
//! (column `rec`): `span`, one per span, and `trace`, one partial trace summary per trace
//! and ingest batch (start, end, span and error counts, the root's service and operation
//! when the batch held the root). Both are written in the same WAL record, so a summary
//! never exists without its spans; a late span adds another partial, and readers merge the
//! partials of a trace ([`merge_summaries`]).
//!
//! Span attributes keep their names unless a name is one of the schema's columns or
//! reserved words (or starts with `@`): those are stored as `@a.<name>`. Resource
//! attributes are stored as `@r.<name>`, attribute types other than string in `@types`,
//! events and links as JSON in `@events` and `@links`.

use std::collections::HashMap;

use ingest::spans::{Attr, AttrType, SpanLine};
use logstore::{Column, ColumnKind, Record, Schema, Value};
use serde_json::json;

/// Column positions in [`schema`].
pub const REC: usize = 0;
pub const TRACE_ID: usize = 1;
pub const SPAN_ID: usize = 2;
pub const PARENT_ID: usize = 3;
pub const SERVICE: usize = 4;
pub const OPERATION: usize = 5;
pub const KIND: usize = 6;
pub const DURATION: usize = 7;
pub const STATUS: usize = 8;
const COLUMNS: usize = 9;

/// `rec` of a span record and of a partial trace summary.
pub const SPAN_REC: &str = "span";
pub const TRACE_REC: &str = "trace";

/// Prefixes of stored attribute names (see the module docs).
pub const RESOURCE_PREFIX: &str = "@r.";
pub const ESCAPED_PREFIX: &str = "@a.";
pub const TYPES: &str = "@types";
pub const EVENTS: &str = "@events";
pub const LINKS: &str = "@links";
const SCOPE: &str = "otel.scope.name";
pub const STATUS_MESSAGE: &str = "otel.status_description";

/// The spans store's schema.
pub fn schema() -> Schema {
    Schema::new(vec![
        Column::new("rec", ColumnKind::Keyword, &[]),
        Column::new("trace_id", ColumnKind::Id, &["traceID"]),
        Column::new("span_id", ColumnKind::Id, &["spanID"]),
        Column::new("parent_id", ColumnKind::Id, &["parent_span_id"]),
        Column::new("service", ColumnKind::Keyword, &["service.name"]),
        Column::new("operation", ColumnKind::Keyword, &["span.name"]),
        Column::new("kind", ColumnKind::Keyword, &["span.kind"]),
        Column::new("duration", ColumnKind::Int, &[]),
        Column::new("status", ColumnKind::Keyword, &[]),
    ])
    .expect("a valid schema")
}

/// The stored name of span attribute `key`.
pub fn stored_name(schema: &Schema, key: &str) -> String {
    let reserved = key.starts_with('@')
        || ["time", "timestamp", "body", "message", "msg"].contains(&key)
        || schema
            .columns()
            .iter()
            .any(|c| c.name == key || c.aliases.iter().any(|a| a == key));
    if reserved {
        format!("{ESCAPED_PREFIX}{key}")
    } else {
        key.to_owned()
    }
}

fn attrs_json(attrs: &[Attr]) -> serde_json::Value {
    serde_json::Value::Object(
        attrs
            .iter()
            .map(|a| (a.key.clone(), json!([a.value, a.kind.jaeger_name()])))
            .collect(),
    )
}

/// The record of one span, or why the store could not take it (too large once stored).
pub fn span_record(schema: &Schema, s: &SpanLine, max_bytes: usize) -> Result<Record, String> {
    let mut values = vec![Value::Absent; COLUMNS];
    values[REC] = Value::Str(SPAN_REC.into());
    values[TRACE_ID] = Value::Str(s.trace_id.clone());
    values[SPAN_ID] = Value::Str(s.span_id.clone());
    if !s.parent_span_id.is_empty() {
        values[PARENT_ID] = Value::Str(s.parent_span_id.clone());
    }
    values[SERVICE] = Value::Str(s.service.clone());
    values[OPERATION] = Value::Str(s.name.clone());
    values[KIND] = Value::Str(s.kind.as_str().into());
    values[DURATION] = Value::Int(s.duration_ns());
    values[STATUS] = Value::Str(s.status.as_str().into());
    let mut attributes: Vec<(String, String)> = Vec::with_capacity(s.attributes.len() + 8);
    let mut types = serde_json::Map::new();
    let put = |name: String, value: &str, attributes: &mut Vec<(String, String)>| {
        if let Some(slot) = attributes.iter_mut().find(|(k, _)| *k == name) {
            slot.1 = value.to_owned();
        } else {
            attributes.push((name, value.to_owned()));
        }
    };
    for a in &s.attributes {
        let name = stored_name(schema, &a.key);
        if a.kind != AttrType::Str {
            types.insert(name.clone(), a.kind.jaeger_name().into());
        }
        put(name, &a.value, &mut attributes);
    }
    for a in &s.resource {
        let name = format!("{RESOURCE_PREFIX}{}", a.key);
        if a.kind != AttrType::Str {
            types.insert(name.clone(), a.kind.jaeger_name().into());
        }
        put(name, &a.value, &mut attributes);
    }
    if !s.scope.is_empty() {
        put(stored_name(schema, SCOPE), &s.scope, &mut attributes);
    }
    if !s.status_message.is_empty() {
        put(STATUS_MESSAGE.into(), &s.status_message, &mut attributes);
    }
    if !types.is_empty() {
        put(
            TYPES.into(),
            &serde_json::Value::Object(types).to_string(),
            &mut attributes,
        );
    }
    if !s.events.is_empty() {
        let events: Vec<_> = s
            .events
            .iter()
            .map(|e| json!({"t": e.time_ns, "n": e.name, "a": attrs_json(&e.attributes)}))
            .collect();
        put(
            EVENTS.into(),
            &serde_json::Value::from(events).to_string(),
            &mut attributes,
        );
    }
    if !s.links.is_empty() {
        let links: Vec<_> = s
            .links
            .iter()
            .map(|l| json!({"t": l.trace_id, "s": l.span_id, "a": attrs_json(&l.attributes)}))
            .collect();
        put(
            LINKS.into(),
            &serde_json::Value::from(links).to_string(),
            &mut attributes,
        );
    }
    let record = Record {
        time: s.start_ns,
        values,
        attributes,
        body: String::new(),
    };
    if record.size() > max_bytes {
        return Err(format!(
            "the span takes {} bytes stored, at most {max_bytes}",
            record.size()
        ));
    }
    Ok(record)
}

/// One partial summary per trace among `spans` (see the module docs).
pub fn summary_records(spans: &[&SpanLine]) -> Vec<Record> {
    struct Acc<'a> {
        start: i64,
        end: i64,
        spans: u64,
        errors: u64,
        root: Option<&'a SpanLine>,
        first: &'a SpanLine,
    }
    let mut by_trace: HashMap<&str, Acc<'_>, logstore::FastHasher> = HashMap::default();
    let mut order = Vec::new();
    for &s in spans {
        let acc = by_trace.entry(&s.trace_id).or_insert_with(|| {
            order.push(s.trace_id.as_str());
            Acc {
                start: s.start_ns,
                end: s.end_ns,
                spans: 0,
                errors: 0,
                root: None,
                first: s,
            }
        });
        acc.start = acc.start.min(s.start_ns);
        acc.end = acc.end.max(s.end_ns);
        acc.spans += 1;
        acc.errors += u64::from(s.is_error());
        if s.parent_span_id.is_empty() && acc.root.is_none() {
            acc.root = Some(s);
        }
        if s.start_ns < acc.first.start_ns {
            acc.first = s;
        }
    }
    order
        .into_iter()
        .filter_map(|id| by_trace.get(id).map(|a| (id, a)))
        .map(|(id, a)| {
            let mut values = vec![Value::Absent; COLUMNS];
            values[REC] = Value::Str(TRACE_REC.into());
            values[TRACE_ID] = Value::Str(id.to_owned());
            values[DURATION] = Value::Int(a.end - a.start);
            if let Some(root) = a.root {
                values[SERVICE] = Value::Str(root.service.clone());
                values[OPERATION] = Value::Str(root.name.clone());
            }
            Record {
                time: a.start,
                values,
                attributes: vec![
                    ("spans".into(), a.spans.to_string()),
                    ("errors".into(), a.errors.to_string()),
                    ("end".into(), a.end.to_string()),
                    ("first_service".into(), a.first.service.clone()),
                    ("first_operation".into(), a.first.name.clone()),
                ],
                body: String::new(),
            }
        })
        .collect()
}
