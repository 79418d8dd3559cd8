//! Two traces compared (pure): each one's root, duration and span count, B's duration less
//! A's, and per service and operation the spans, total and self time of each with the change
//! in self time, largest change first. The compare page draws it and
//! `GET /api/v1/traces/compare` answers it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::layout::{layout, Layout, SelfTime};
use super::model::Trace;

/// One trace's head line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompareSide {
    pub trace_id: String,
    /// The first span of the waterfall (empty for a trace without spans).
    pub root_service: String,
    pub root_operation: String,
    pub duration_ns: i64,
    pub span_count: usize,
}

/// One service and operation's figures in one trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationTime {
    pub spans: usize,
    pub total_ns: i64,
    pub self_ns: i64,
}

impl From<&SelfTime> for OperationTime {
    fn from(s: &SelfTime) -> Self {
        OperationTime {
            spans: s.spans,
            total_ns: s.total_ns,
            self_ns: s.self_ns,
        }
    }
}

/// One operation's figures in both traces (`None`: not in that trace).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub service: String,
    pub operation: String,
    pub a: Option<OperationTime>,
    pub b: Option<OperationTime>,
    /// B's self time less A's, in nanoseconds.
    pub delta_ns: i64,
}

/// Two traces side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceComparison {
    pub a: CompareSide,
    pub b: CompareSide,
    /// B's duration less A's, in nanoseconds.
    pub delta_ns: i64,
    /// Every service and operation of either trace, largest change in self time first.
    pub rows: Vec<CompareRow>,
}

fn side(t: &Trace, l: &Layout) -> CompareSide {
    let root = l.rows.first().map(|r| &t.spans[r.span]);
    CompareSide {
        trace_id: t.trace_id.clone(),
        root_service: root.map(|s| s.service.clone()).unwrap_or_default(),
        root_operation: root.map(|s| s.operation.clone()).unwrap_or_default(),
        duration_ns: l.duration_ns,
        span_count: t.spans.len(),
    }
}

pub fn compare(a: &Trace, b: &Trace) -> TraceComparison {
    let (la, lb) = (layout(a), layout(b));
    let mut rows: BTreeMap<(String, String), CompareRow> = BTreeMap::new();
    for (is_a, l) in [(true, &la), (false, &lb)] {
        for s in &l.self_times {
            let row = rows
                .entry((s.service.clone(), s.operation.clone()))
                .or_insert_with(|| CompareRow {
                    service: s.service.clone(),
                    operation: s.operation.clone(),
                    a: None,
                    b: None,
                    delta_ns: 0,
                });
            if is_a {
                row.a = Some(s.into());
            } else {
                row.b = Some(s.into());
            }
        }
    }
    let own = |s: &Option<OperationTime>| s.map_or(0, |s| s.self_ns);
    let mut rows: Vec<CompareRow> = rows
        .into_values()
        .map(|r| CompareRow {
            delta_ns: own(&r.b) - own(&r.a),
            ..r
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.delta_ns.abs()));
    TraceComparison {
        a: side(a, &la),
        b: side(b, &lb),
        delta_ns: lb.duration_ns - la.duration_ns,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::model::Span;

    fn span(id: &str, parent: Option<&str>, op: &str, start_ms: i64, dur_ms: i64) -> Span {
        Span {
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            service: "svc".into(),
            operation: op.into(),
            start_ns: start_ms * 1_000_000,
            duration_ns: dur_ms * 1_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn the_largest_change_in_self_time_comes_first() {
        let a = Trace {
            trace_id: "a".into(),
            spans: vec![
                span("r", None, "root", 0, 100),
                span("d", Some("r"), "db", 10, 50),
            ],
        };
        let b = Trace {
            trace_id: "b".into(),
            spans: vec![
                span("r", None, "root", 0, 300),
                span("d", Some("r"), "db", 10, 250),
                span("c", Some("r"), "cache", 270, 10),
            ],
        };
        let c = compare(&a, &b);
        let ops: Vec<(&str, i64)> = c
            .rows
            .iter()
            .map(|r| (r.operation.as_str(), r.delta_ns / 1_000_000))
            .collect();
        // db: 50 → 250 ms; cache: new, 10 ms; root: 50 → 40 ms.
        assert_eq!(ops, vec![("db", 200), ("cache", 10), ("root", -10)]);
        assert!(c.rows[1].a.is_none());
        assert_eq!(c.delta_ns, 200_000_000);
        assert_eq!((c.b.root_operation.as_str(), c.b.span_count), ("root", 3));
    }
}
