//! Traces on dashboards: a `red` target's series read from its traces source's RED table
//! (the per-minute counts kept at ingest, no span read) and drawn by the same charts as
//! PromQL, and a traces panel's trace search, run as Explore → Traces runs it
//! (`trace_explore::search`, filters the store cannot apply included).

use std::sync::Arc;

use app::traces::model::{TraceSearch, TraceSummary};

use super::model::{RedMeasure, Target};
use crate::charts::series::Series;
use crate::charts::Named;
use crate::error::Error;
use crate::sources::traces::{RedPoint, RedQuery, TraceSource};

pub use wire::dashboard::DEFAULT_TRACE_LIMIT;

/// Finds a traces source by id (`None`: the traces family's default).
pub type TracesResolve = dyn Fn(Option<i64>) -> futures::future::BoxFuture<'static, Result<Arc<dyn TraceSource>, Error>>
    + Send
    + Sync;

/// Points of one RED series, at most (the step widens to fit the range).
const MAX_RED_POINTS: f64 = 2_000.0;

/// The RED step for a chart drawn at `step` over `span` seconds: whole minutes (the
/// table's resolution), at least the chart's step, at most [`MAX_RED_POINTS`] points.
pub fn red_step(step: f64, span: f64) -> u64 {
    let minutes = (step / 60.0)
        .ceil()
        .max((span / MAX_RED_POINTS / 60.0).ceil())
        .max(1.0);
    minutes as u64 * 60
}

/// The value of `measure` in one step's point; `None` where it has no value (a duration
/// without requests).
fn value(m: RedMeasure, p: &RedPoint, step: f64) -> Option<f64> {
    let has = p.requests > 0;
    match m {
        RedMeasure::Rate => Some(p.rate),
        RedMeasure::ErrorRate => Some(p.errors as f64 / step.max(1.0)),
        RedMeasure::ErrorRatio => Some(p.error_ratio),
        RedMeasure::P50 => has.then_some(p.p50_ms),
        RedMeasure::P95 => has.then_some(p.p95_ms),
        RedMeasure::P99 => has.then_some(p.p99_ms),
    }
}

/// What the inspector shows for a `red` target (service and operation filled in).
pub fn describe(service: &str, operation: &str, m: RedMeasure) -> String {
    let mut text = format!("red{{service={service:?}");
    if !operation.is_empty() {
        text.push_str(&format!(", operation={operation:?}"));
    }
    text.push_str(&format!("}} {}", m.as_str()));
    text
}

/// The series of one `red` target (`service` and `operation` with variables filled in)
/// over `[start, end)` drawn at `step`: every step a point (rates and ratios 0 without
/// requests; durations only where there were requests); with the step used.
pub async fn red_series(
    traces: &TracesResolve,
    t: &Target,
    (service, operation): (&str, &str),
    legend: &str,
    (start, end, step): (f64, f64, f64),
) -> Result<(Vec<Named>, usize, f64), Error> {
    let step = red_step(step, end - start);
    let width = step as f64;
    // Steps on multiples of their width, so a step counts the same minutes at any zoom.
    let from = (start / width).floor() * width;
    let q = RedQuery {
        // Without an operation, the requests entering the service (one series per
        // service, this one picked); with one, that operation's spans.
        service: (!operation.is_empty()).then(|| service.to_owned()),
        operation: (!operation.is_empty()).then(|| operation.to_owned()),
        start: from,
        end,
        step,
    };
    let source = traces(t.datasource).await?;
    let red = source.red(&q).await?;
    let found = red
        .series
        .iter()
        .find(|s| s.service == service && s.operation.as_deref().unwrap_or("") == operation);
    let mut points = Vec::new();
    let mut at = from;
    let mut given = found.map(|s| s.points.iter().peekable());
    while at < end {
        let p = given
            .as_mut()
            .and_then(|it| it.next_if(|p| (p.t - at).abs() < 0.5));
        let v = match p {
            Some(p) => value(t.measure, p, width),
            None => value(t.measure, &empty_point(at), width),
        };
        if let Some(v) = v {
            points.push((at, v));
        }
        at += width;
    }
    let mut labels = vec![("service".to_owned(), service.to_owned())];
    if !operation.is_empty() {
        labels.push(("operation".to_owned(), operation.to_owned()));
    }
    labels.push(("measure".to_owned(), t.measure.label().to_owned()));
    let legend = if legend.is_empty() {
        if operation.is_empty() {
            "{{service}} · {{measure}}".to_owned()
        } else {
            "{{service}} {{operation}} · {{measure}}".to_owned()
        }
    } else {
        legend.to_owned()
    };
    let query = describe(service, operation, t.measure);
    Ok((vec![(Series { labels, points }, (legend, query))], 1, width))
}

fn empty_point(t: f64) -> RedPoint {
    RedPoint {
        t,
        requests: 0,
        errors: 0,
        rate: 0.0,
        error_ratio: 0.0,
        mean_ms: 0.0,
        p50_ms: 0.0,
        p95_ms: 0.0,
        p99_ms: 0.0,
    }
}

/// A traces panel's search as Explore → Traces holds it (`service`, `operation` and
/// `filters` with variables filled in by the caller), over the dashboard's range.
pub fn search_of(t: &Target, filled: [String; 3], (from, to): (&str, &str)) -> TraceSearch {
    let [service, operation, filters] = filled;
    TraceSearch {
        service,
        operation,
        filters,
        min: t.min_duration.clone(),
        max: t.max_duration.clone(),
        errors: t.errors_only,
        from: from.to_owned(),
        to: to.to_owned(),
        limit: match t.limit {
            0 => DEFAULT_TRACE_LIMIT as usize,
            n => n as usize,
        },
    }
}

/// A traces panel's rows, and the link to the same search in Explore → Traces.
pub async fn search(
    traces: &TracesResolve,
    t: &Target,
    search: &TraceSearch,
    now: f64,
) -> Result<(Vec<TraceSummary>, String), Error> {
    let source = traces(t.datasource).await?;
    let found = crate::trace_explore::search(source.as_ref(), search, now).await?;
    Ok((found.traces, search.url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_steps_are_whole_minutes_and_few_enough() {
        assert_eq!(red_step(7.0, 3600.0), 60);
        assert_eq!(red_step(61.0, 3600.0), 120);
        let s = red_step(60.0, 30.0 * 86400.0);
        assert!(30.0 * 86400.0 / s as f64 <= MAX_RED_POINTS, "{s}");
        assert_eq!(s % 60, 0);
    }

    #[test]
    fn durations_have_no_value_without_requests_and_rates_are_zero() {
        let p = empty_point(0.0);
        assert_eq!(value(RedMeasure::P95, &p, 60.0), None);
        assert_eq!(value(RedMeasure::Rate, &p, 60.0), Some(0.0));
        let q = RedPoint {
            requests: 10,
            errors: 3,
            ..p
        };
        assert_eq!(value(RedMeasure::ErrorRate, &q, 60.0), Some(0.05));
        assert_eq!(
            describe("checkout", "pay", RedMeasure::P99),
            "red{service=\"checkout\", operation=\"pay\"} p99"
        );
    }
}
