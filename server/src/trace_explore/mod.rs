//! What Explore → Traces asks of the traces family's source, shaped for the pages
//! (`app::traces::model`): a search with its attribute filters (`=` as the source's tags,
//! `!=`, `>`, `<` and exists as its conditions, applied by the source on each span it
//! scans; the answer says when the source's read budget ran out first), one trace, two
//! traces compared, and the service map with per-service RED (`map.rs`). Called by the
//! pages' server backend and by the `/api/v1/traces/explore`, `/compare` and `/graph`
//! routes alike.

pub mod map;

use app::traces::comparison::TraceComparison;
use app::traces::model::{
    parse_duration_ms, parse_filters, AttrFilter, Trace, TraceSearch, TraceSearchView, TraceSummary,
};

use crate::charts::time::resolve;
use crate::error::Error;
use crate::sources::traces::{TraceQuery, TraceSource};

/// `from` and `to` as Unix seconds, `to` after `from`.
pub fn range(from: &str, to: &str, now: f64) -> Result<(f64, f64), Error> {
    let start = resolve(from, now).map_err(|m| Error::invalid("from", m))?;
    let end = resolve(to, now).map_err(|m| Error::invalid("to", m))?;
    if end <= start {
        return Err(Error::invalid("to", "`to` must be after `from`"));
    }
    Ok((start, end))
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
    let (exact, conditions): (Vec<AttrFilter>, Vec<AttrFilter>) = filters
        .into_iter()
        .partition(|f| matches!(f, AttrFilter::Equals(..)));
    let nonempty = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
    let q = TraceQuery {
        service: nonempty(&req.service),
        operation: nonempty(&req.operation),
        attributes: exact
            .into_iter()
            .filter_map(|f| match f {
                AttrFilter::Equals(k, v) => Some((k, v)),
                _ => None,
            })
            .collect(),
        conditions,
        min_duration_ms: min,
        max_duration_ms: max,
        errors_only: req.errors,
        start,
        end,
        limit,
    };
    let found = src.search(&q).await?;
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
        traces: found
            .traces
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
        partial: found.partial,
    })
}

/// One trace; not found when the store does not have it.
pub async fn trace(src: &dyn TraceSource, id: &str) -> Result<Trace, Error> {
    match src.get(id).await? {
        Some(t) => to_page_trace(t),
        None => Err(Error::not_found(format!("trace {id}"))),
    }
}

/// A trace id as a query parameter names it: 32 hex digits, or 16 for a 64-bit id.
fn trace_id_param(field: &str, id: &str) -> Result<String, Error> {
    let id = id.trim().to_ascii_lowercase();
    if ingest::spans::is_hex_id(&id, 32) || ingest::spans::is_hex_id(&id, 16) {
        Ok(id)
    } else {
        Err(Error::invalid(
            field,
            "a trace id is 32 hex digits (or 16 for a 64-bit id), not all zero",
        ))
    }
}

/// Traces `a` and `b` compared as the compare page shows them
/// (`app::traces::comparison::compare`): both ids checked before either is read.
pub async fn compare(src: &dyn TraceSource, a: &str, b: &str) -> Result<TraceComparison, Error> {
    let (a, b) = (trace_id_param("a", a)?, trace_id_param("b", b)?);
    let (ta, tb) = futures::future::join(trace(src, &a), trace(src, &b)).await;
    Ok(app::traces::comparison::compare(&ta?, &tb?))
}

#[cfg(test)]
mod tests {
    use ingest::spans::{Attr, SpanKind, SpanLine};

    use super::*;
    use crate::sources::embedded_traces::EmbeddedTraces;
    use crate::traces::{Settings, TraceStore};

    /// A root span of its own trace `i`, `i` ms after `t0`, with `http.status_code`.
    fn root(i: usize, t0: i64, status: &str) -> SpanLine {
        SpanLine {
            trace_id: format!("{:032x}", i + 1),
            span_id: format!("{:016x}", i + 1),
            name: "GET /api/tasks".into(),
            kind: SpanKind::Server,
            start_ns: t0 + i as i64 * 1_000_000,
            end_ns: t0 + i as i64 * 1_000_000 + 5_000_000,
            service: "keiko-api".into(),
            attributes: vec![Attr::text("http.status_code", status)],
            ..Default::default()
        }
    }

    fn request(filters: &str, t0: i64) -> TraceSearch {
        TraceSearch {
            service: "keiko-api".into(),
            filters: filters.into(),
            from: format!("{}", t0 / 1_000_000_000 - 60),
            to: format!("{}", t0 / 1_000_000_000 + 60),
            limit: 20,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn comparison_and_exists_filters_find_a_match_older_than_the_newest_500_traces() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let t0 = 1_700_000_000_000_000_000;
        // The oldest of 800 traces is the only one that failed, and the only one retried.
        let mut spans: Vec<SpanLine> = (0..800).map(|i| root(i, t0, "200")).collect();
        spans[0] = root(0, t0, "503");
        spans[0].attributes.push(Attr::text("retry.count", "2"));
        store.append_blocking(&spans).unwrap();
        let src = EmbeddedTraces(store.clone());
        for in_block in [false, true] {
            if in_block {
                // The same searches once the head is a block (its value summaries and
                // bloom filters in play).
                store.engine().flush().unwrap();
            }
            searches_find_the_oldest(&src, t0).await;
        }
    }

    async fn searches_find_the_oldest(src: &EmbeddedTraces, t0: i64) {
        let oldest = format!("{:032x}", 1);
        for filters in [
            "http.status_code>499",
            "retry.count",
            "http.status_code!=200",
        ] {
            let v = search(src, &request(filters, t0), 0.0).await.unwrap();
            let ids: Vec<&str> = v.traces.iter().map(|t| t.trace_id.as_str()).collect();
            assert_eq!(ids, vec![oldest.as_str()], "{filters}");
            assert!(!v.partial, "{filters}");
        }
        // `<` with an equality on the same span: the 799 successes, newest first, 20 shown.
        let v = search(
            src,
            &request("http.status_code<300 http.status_code=200", t0),
            0.0,
        )
        .await
        .unwrap();
        assert_eq!(v.traces.len(), 20);
        assert_eq!(v.traces[0].trace_id, format!("{:032x}", 800));
        assert!(!v.partial);
        // A filter no span passes: nothing, and the whole range was read (not partial).
        let v = search(src, &request("http.status_code>600", t0), 0.0)
            .await
            .unwrap();
        assert!(v.traces.is_empty() && !v.partial, "{v:?}");
    }
}
