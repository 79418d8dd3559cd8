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

use ingest::spans::{Attr, AttrType, SpanKind, SpanLine, SpanStatus};
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

/// Whether span attribute `key` is stored under another name (see the module docs).
fn is_reserved(schema: &Schema, key: &str) -> bool {
    key.starts_with('@')
        || ["time", "timestamp", "body", "message", "msg"].contains(&key)
        || schema
            .columns()
            .iter()
            .any(|c| c.name == key || c.aliases.iter().any(|a| a == key))
}

/// The stored name of span attribute `key`.
pub fn stored_name(schema: &Schema, key: &str) -> String {
    if is_reserved(schema, key) {
        format!("{ESCAPED_PREFIX}{key}")
    } else {
        key.to_owned()
    }
}

/// [`stored_name`] of a key the caller gives up (most keep their name: no copy).
fn stored_name_owned(schema: &Schema, key: String) -> String {
    if is_reserved(schema, &key) {
        format!("{ESCAPED_PREFIX}{key}")
    } else {
        key
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

/// Sets attribute `name` (a later value of a name replaces the earlier one).
fn put(attributes: &mut Vec<(String, String)>, name: String, value: String) {
    if let Some(slot) = attributes.iter_mut().find(|(k, _)| *k == name) {
        slot.1 = value;
    } else {
        attributes.push((name, value));
    }
}

/// The record of one span, or why the store could not take it (too large once stored).
pub fn span_record(schema: &Schema, s: &SpanLine, max_bytes: usize) -> Result<Record, String> {
    span_record_owned(schema, s.clone(), max_bytes)
}

/// [`span_record`] of a span the caller gives up: its strings move into the record.
pub fn span_record_owned(schema: &Schema, s: SpanLine, max_bytes: usize) -> Result<Record, String> {
    let duration = s.duration_ns();
    let parent = if s.parent_span_id.is_empty() {
        Value::Absent
    } else {
        Value::Str(s.parent_span_id)
    };
    // In column order: REC, TRACE_ID, SPAN_ID, PARENT_ID, SERVICE, OPERATION, KIND,
    // DURATION, STATUS.
    let values = vec![
        Value::Str(SPAN_REC.into()),
        Value::Str(s.trace_id),
        Value::Str(s.span_id),
        parent,
        Value::Str(s.service),
        Value::Str(s.name),
        Value::Str(s.kind.as_str().into()),
        Value::Int(duration),
        Value::Str(s.status.as_str().into()),
    ];
    debug_assert_eq!(values.len(), COLUMNS);
    debug_assert_eq!((REC, DURATION, STATUS), (0, 7, 8));
    let mut attributes: Vec<(String, String)> =
        Vec::with_capacity(s.attributes.len() + s.resource.len() + 2);
    let mut types = serde_json::Map::new();
    for a in s.attributes {
        let name = stored_name_owned(schema, a.key);
        if a.kind != AttrType::Str {
            types.insert(name.clone(), a.kind.jaeger_name().into());
        }
        put(&mut attributes, name, a.value);
    }
    for a in s.resource {
        let name = format!("{RESOURCE_PREFIX}{}", a.key);
        if a.kind != AttrType::Str {
            types.insert(name.clone(), a.kind.jaeger_name().into());
        }
        put(&mut attributes, name, a.value);
    }
    if !s.scope.is_empty() {
        put(&mut attributes, stored_name(schema, SCOPE), s.scope);
    }
    if !s.status_message.is_empty() {
        put(&mut attributes, STATUS_MESSAGE.into(), s.status_message);
    }
    if !types.is_empty() {
        let types = serde_json::Value::Object(types).to_string();
        put(&mut attributes, TYPES.into(), types);
    }
    if !s.events.is_empty() {
        let events: Vec<_> = s
            .events
            .iter()
            .map(|e| json!({"t": e.time_ns, "n": e.name, "a": attrs_json(&e.attributes)}))
            .collect();
        let events = serde_json::Value::from(events).to_string();
        put(&mut attributes, EVENTS.into(), events);
    }
    if !s.links.is_empty() {
        let links: Vec<_> = s
            .links
            .iter()
            .map(|l| json!({"t": l.trace_id, "s": l.span_id, "a": attrs_json(&l.attributes)}))
            .collect();
        let links = serde_json::Value::from(links).to_string();
        put(&mut attributes, LINKS.into(), links);
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

/// What the trace summaries, RED and the services table read of a stored span, borrowed
/// (from its record at ingest, so the span's strings are not copied for them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanFacts<'a> {
    pub trace_id: &'a str,
    pub span_id: &'a str,
    /// Empty for a root span.
    pub parent_span_id: &'a str,
    pub service: &'a str,
    pub name: &'a str,
    pub kind: SpanKind,
    pub start_ns: i64,
    pub end_ns: i64,
    pub error: bool,
}

impl<'a> SpanFacts<'a> {
    /// The facts of a record [`span_record_owned`] made of a span of `kind`.
    pub fn of_record(r: &'a Record, kind: SpanKind) -> SpanFacts<'a> {
        let text = |i: usize| r.values[i].as_str().unwrap_or("");
        let duration = r.values[DURATION].as_int().unwrap_or(0);
        SpanFacts {
            trace_id: text(TRACE_ID),
            span_id: text(SPAN_ID),
            parent_span_id: text(PARENT_ID),
            service: text(SERVICE),
            name: text(OPERATION),
            kind,
            start_ns: r.time,
            end_ns: r.time.saturating_add(duration),
            error: text(STATUS) == SpanStatus::Error.as_str(),
        }
    }

    pub fn duration_ns(&self) -> i64 {
        self.end_ns - self.start_ns
    }
}

impl<'a> From<&'a SpanLine> for SpanFacts<'a> {
    fn from(s: &'a SpanLine) -> SpanFacts<'a> {
        SpanFacts {
            trace_id: &s.trace_id,
            span_id: &s.span_id,
            parent_span_id: &s.parent_span_id,
            service: &s.service,
            name: &s.name,
            kind: s.kind,
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            error: s.is_error(),
        }
    }
}

/// One partial summary per trace among `spans` (see the module docs).
pub fn summary_records<'a, S: Copy + Into<SpanFacts<'a>>>(spans: &[S]) -> Vec<Record> {
    struct Acc<'a> {
        start: i64,
        end: i64,
        spans: u64,
        errors: u64,
        root: Option<SpanFacts<'a>>,
        first: SpanFacts<'a>,
    }
    let mut by_trace: HashMap<&str, Acc<'_>, logstore::FastHasher> = HashMap::default();
    let mut order = Vec::new();
    for &s in spans {
        let s: SpanFacts<'a> = s.into();
        let acc = by_trace.entry(s.trace_id).or_insert_with(|| {
            order.push(s.trace_id);
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
        acc.errors += u64::from(s.error);
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
                values[SERVICE] = Value::Str(root.service.to_owned());
                values[OPERATION] = Value::Str(root.name.to_owned());
            }
            Record {
                time: a.start,
                values,
                attributes: vec![
                    ("spans".into(), a.spans.to_string()),
                    ("errors".into(), a.errors.to_string()),
                    ("end".into(), a.end.to_string()),
                    ("first_service".into(), a.first.service.to_owned()),
                    ("first_operation".into(), a.first.name.to_owned()),
                ],
                body: String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use ingest::spans::{stored_size_bound, SpanEvent, SpanLimits, SpanLink};

    use super::*;

    /// A span at the per-span limits, its text the kind JSON escapes most.
    fn worst(fill: &str) -> SpanLine {
        let l = SpanLimits::default();
        let text = |n: usize| fill.repeat(n / fill.len());
        let attr = |i: usize, kind: AttrType| Attr {
            key: format!("{i:0>width$}", width = l.max_key_bytes),
            value: text(1_000),
            kind,
        };
        SpanLine {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            span_id: "eee19b7ec3c1b174".into(),
            parent_span_id: "eee19b7ec3c1b175".into(),
            name: text(l.max_name_bytes),
            kind: SpanKind::Consumer,
            start_ns: 1,
            end_ns: i64::MAX,
            status: SpanStatus::Error,
            status_message: text(2_000),
            service: text(l.max_name_bytes),
            resource: (0..10).map(|i| attr(i, AttrType::Float)).collect(),
            attributes: (10..20).map(|i| attr(i, AttrType::Bool)).collect(),
            scope: text(500),
            events: (0..l.max_events)
                .map(|i| SpanEvent {
                    time_ns: i64::MIN,
                    name: text(300),
                    attributes: vec![attr(i, AttrType::Float)],
                })
                .collect(),
            links: (0..l.max_events)
                .map(|i| SpanLink {
                    trace_id: "5b8efff798038103d269b633813fc60c".into(),
                    span_id: "eee19b7ec3c1b174".into(),
                    attributes: vec![attr(i, AttrType::Int)],
                })
                .collect(),
        }
    }

    #[test]
    fn a_span_that_passes_the_ingest_limits_fits_in_one_record() {
        let store = logstore::Limits::default();
        let limits = SpanLimits::default();
        assert!(limits.max_span_bytes <= store.max_record_bytes);
        // Stored names are the key behind at most a 3-byte prefix.
        assert!(limits.max_key_bytes + ESCAPED_PREFIX.len() <= store.max_field_name_bytes);
        assert!(limits.max_attributes + 5 <= store.max_fields_per_record);
        let mut small = worst("\u{1}");
        small.events.truncate(1);
        small.links.clear();
        small.events[0].name = "\u{1}".repeat(25_000);
        assert_eq!(
            limits.check(&small),
            Ok(()),
            "a span at the limits is stored"
        );
        let cases = ["x", "é", "\"", "\u{1}", "\\n"].map(|f| (f, worst(f)));
        for (fill, s) in cases.into_iter().chain([("one event", small)]) {
            let r = span_record(&schema(), &s, usize::MAX).unwrap();
            assert!(
                r.size() <= stored_size_bound(&s),
                "{fill:?}: {} stored, bound {}",
                r.size(),
                stored_size_bound(&s)
            );
            if limits.check(&s).is_ok() {
                assert!(
                    store.check_record(&r).is_ok(),
                    "{fill:?} passed but not stored"
                );
            }
        }
    }
}
