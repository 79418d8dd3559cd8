//! What Explore → Traces asks of the traces family's source, shaped for the pages
//! (`app::traces::model`): a search with the attribute filters the store cannot apply
//! itself (`>`, `<`, `!=`, exists — checked on each candidate trace's spans, over a
//! bounded number of traces), one trace, and the service map with per-service RED
//! (`map.rs`). Called by the pages' server backend and by the `/api/v1/traces/explore`
//! and `/graph` routes alike.

pub mod map;

use app::traces::model::{
    parse_duration_ms, parse_filters, AttrFilter, Span, Trace, TraceSearch, TraceSearchView,
    TraceSummary,
};

use crate::charts::time::resolve;
use crate::error::Error;
use crate::sources::traces::{TraceQuery, TraceSource};

/// Candidate traces read, at most, to apply filters the store cannot.
pub const MAX_EXAMINED: usize = 500;

/// `from` and `to` as Unix seconds, `to` after `from`.
pub fn range(from: &str, to: &str, now: f64) -> Result<(f64, f64), Error> {
    let start = resolve(from, now).map_err(|m| Error::invalid("from", m))?;
    let end = resolve(to, now).map_err(|m| Error::invalid("to", m))?;
    if end <= start {
        return Err(Error::invalid("to", "`to` must be after `from`"));
    }
    Ok((start, end))
}

/// Whether one span meets every condition of the search.
fn span_matches(s: &Span, q: &TraceQuery, filters: &[AttrFilter]) -> bool {
    let ms = s.duration_ns as f64 / 1e6;
    q.service.as_ref().is_none_or(|v| *v == s.service)
        && q.operation.as_ref().is_none_or(|v| *v == s.operation)
        && q.min_duration_ms.is_none_or(|m| ms >= m)
        && q.max_duration_ms.is_none_or(|m| ms <= m)
        && (!q.errors_only || s.error)
        && filters.iter().all(|f| f.accepts(s.value_of(f.key())))
}

/// A source's trace in the pages' shape (the same fields, read back through serde).
pub fn to_page_trace(t: crate::sources::traces::Trace) -> Result<Trace, Error> {
    serde_json::to_value(t)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Internal(anyhow::anyhow!("trace shape: {e}")))
}

pub async fn search(
    src: &dyn TraceSource,
    req: &TraceSearch,
    now: f64,
) -> Result<TraceSearchView, Error> {
    let (start, end) = range(&req.from, &req.to, now)?;
    let filters = parse_filters(&req.filters).map_err(|m| Error::invalid("filters", m))?;
    let min = parse_duration_ms(&req.min).map_err(|m| Error::invalid("min", m))?;
    let max = parse_duration_ms(&req.max).map_err(|m| Error::invalid("max", m))?;
    if let (Some(a), Some(b)) = (min, max) {
        if b < a {
            return Err(Error::invalid(
                "max",
                "the maximum duration is below the minimum",
            ));
        }
    }
    let limit = req.limit.clamp(1, app::traces::model::MAX_LIMIT);
    let (exact, rest): (Vec<AttrFilter>, Vec<AttrFilter>) = filters
        .into_iter()
        .partition(|f| matches!(f, AttrFilter::Equals(..)));
    let nonempty = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let q = TraceQuery {
        service: nonempty(&req.service),
        operation: nonempty(&req.operation),
        attributes: exact
            .iter()
            .filter_map(|f| match f {
                AttrFilter::Equals(k, v) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        min_duration_ms: min,
        max_duration_ms: max,
        errors_only: req.errors,
        start,
        end,
        limit: if rest.is_empty() { limit } else { MAX_EXAMINED },
    };
    let candidates = src.search(&q).await?;
    let (mut traces, mut examined, mut capped) = (Vec::new(), 0, false);
    if rest.is_empty() {
        traces = candidates;
    } else {
        capped = candidates.len() >= MAX_EXAMINED;
        let all: Vec<AttrFilter> = exact.into_iter().chain(rest).collect();
        for s in candidates {
            if traces.len() >= limit {
                capped = false;
                break;
            }
            examined += 1;
            let Some(t) = src.get(&s.trace_id).await? else {
                continue;
            };
            let t = to_page_trace(t)?;
            if t.spans.iter().any(|sp| span_matches(sp, &q, &all)) {
                traces.push(s);
            }
        }
    }
    let (services, operations) = futures::future::join(src.services(start, end), async {
        match &q.service {
            Some(s) => src.operations(s).await.map(Some),
            None => Ok(None),
        }
    })
    .await;
    let mut operations: Vec<String> = operations?
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.name)
        .collect();
    operations.dedup();
    Ok(TraceSearchView {
        traces: traces
            .into_iter()
            .map(|s| TraceSummary {
                trace_id: s.trace_id,
                root_service: s.root_service,
                root_operation: s.root_operation,
                start_ns: s.start_ns,
                duration_ms: s.duration_ms,
                span_count: s.span_count,
                error_count: s.error_count,
            })
            .collect(),
        services: services?,
        operations,
        start,
        end,
        examined,
        capped,
    })
}

/// One trace; not found when the store does not have it.
pub async fn trace(src: &dyn TraceSource, id: &str) -> Result<Trace, Error> {
    match src.get(id).await? {
        Some(t) => to_page_trace(t),
        None => Err(Error::not_found(format!("trace {id}"))),
    }
}
