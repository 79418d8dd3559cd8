//! Reads of the RED table kept at ingest (`traces::red`): the service map (nodes and
//! edges summed over the range's minutes) and RED over time. No span is read here.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::sources::traces::{
    Red, RedPoint, RedQuery, RedSeries, ServiceEdge, ServiceMap, ServiceNode,
};
use crate::traces::aggregates::{lock, Aggregates};
use crate::traces::red::{Cell, KeyKind};
use crate::traces::TraceStoreError;

/// Series one RED answer holds, at most.
pub const MAX_SERIES: usize = 500;
/// Points one RED series holds, at most (as Prometheus's range queries).
pub const MAX_POINTS: u64 = 11_000;

fn ns(seconds: f64) -> i64 {
    (seconds * 1e9).clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

/// The service map of `[start, end)` from the per-minute counts.
pub fn service_map(agg: &Mutex<Aggregates>, start: f64, end: f64) -> ServiceMap {
    let totals = lock(agg)
        .red
        .totals(ns(start), ns(end), |k| k.kind != KeyKind::Operation);
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for (key, cell) in &totals.cells {
        match key.kind {
            KeyKind::Entry => nodes.push(ServiceNode {
                service: key.a.to_string(),
                requests: cell.count,
                errors: cell.errors,
                p95_ms: cell.quantile_ms(0.95),
            }),
            KeyKind::Edge => edges.push(ServiceEdge {
                parent: key.a.to_string(),
                child: key.b.to_string(),
                calls: cell.count,
                errors: cell.errors,
                p95_ms: cell.quantile_ms(0.95),
            }),
            KeyKind::Operation => {}
        }
    }
    ServiceMap {
        nodes,
        edges,
        truncated: totals.truncated,
    }
}

fn point(t: f64, seconds: f64, c: &Cell) -> RedPoint {
    let per = |n: u64| {
        if c.count == 0 {
            0.0
        } else {
            n as f64 / c.count as f64
        }
    };
    RedPoint {
        t,
        requests: c.count,
        errors: c.errors,
        rate: c.count as f64 / seconds.max(1.0),
        error_ratio: per(c.errors),
        mean_ms: if c.count == 0 {
            0.0
        } else {
            c.sum_ns as f64 / c.count as f64 / 1e6
        },
        p50_ms: c.quantile_ms(0.5),
        p95_ms: c.quantile_ms(0.95),
        p99_ms: c.quantile_ms(0.99),
    }
}

/// RED over time (see [`RedQuery`]).
pub fn red(agg: &Mutex<Aggregates>, q: &RedQuery) -> Result<Red, TraceStoreError> {
    if q.end.partial_cmp(&q.start) != Some(std::cmp::Ordering::Greater) {
        return Err(TraceStoreError::Refused("`to` must be after `from`".into()));
    }
    if q.step == 0 || !q.step.is_multiple_of(60) {
        return Err(TraceStoreError::Refused(
            "step is a whole number of minutes".into(),
        ));
    }
    if (q.end - q.start) / q.step as f64 > MAX_POINTS as f64 {
        return Err(TraceStoreError::Refused(format!(
            "the range holds more than {MAX_POINTS} steps; take a larger step"
        )));
    }
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let operation = q.operation.as_deref().filter(|s| !s.is_empty());
    let group = |k: &crate::traces::red::Key| -> Option<String> {
        match (service, k.kind) {
            (None, KeyKind::Entry) => Some(k.a.to_string()),
            (Some(s), KeyKind::Operation) if &*k.a == s => match operation {
                Some(op) if &*k.b != op => None,
                _ => Some(k.b.to_string()),
            },
            _ => None,
        }
    };
    let (from, to, step_ns) = (ns(q.start), ns(q.end), q.step as i64 * 1_000_000_000);
    let (by_group, truncated) = {
        let a = lock(agg);
        (
            a.red.series(from, to, step_ns, group),
            a.red.totals(from, to, |_| false).truncated,
        )
    };
    let over = by_group.len() > MAX_SERIES;
    let range_seconds = q.end - q.start;
    let series = by_group
        .into_iter()
        .take(MAX_SERIES)
        .map(|(name, steps): (String, BTreeMap<i64, Cell>)| {
            let mut total = Cell::default();
            let points = steps
                .iter()
                .map(|(t, c)| {
                    total.merge(c);
                    point(*t as f64 / 1e9, q.step as f64, c)
                })
                .collect();
            let (service, operation) = match service {
                None => (name, None),
                Some(s) => (s.to_owned(), Some(name)),
            };
            RedSeries {
                service,
                operation,
                total: point(q.start, range_seconds, &total),
                points,
            }
        })
        .collect();
    Ok(Red {
        start: q.start,
        end: q.end,
        step: q.step,
        series,
        truncated: truncated || over,
    })
}
