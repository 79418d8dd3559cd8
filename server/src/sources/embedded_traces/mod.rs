//! The embedded span store as a [`TraceSource`]: called in-process, each read on a
//! blocking thread behind the store's concurrency limit and timeout. `query.rs` holds the
//! reads of spans, `red.rs` the reads of the RED table kept at ingest (service map, RED
//! over time), `view.rs` the stored records as the family's types.

mod query;
mod red;
mod view;

pub use query::normalize_trace_id;

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;

use super::traces::{
    Operation, Red, RedQuery, ServiceMap, Trace, TraceMatches, TraceQuery, TraceSource,
};
use super::SourceError;
use crate::traces::catalog::lock;
use crate::traces::{TraceStore, TraceStoreError};
use query::range;

pub struct EmbeddedTraces(pub Arc<TraceStore>);

fn failure(e: TraceStoreError) -> SourceError {
    match e {
        TraceStoreError::Refused(m) => SourceError::BadQuery(m),
        TraceStoreError::Timeout(ms) => SourceError::Timeout(ms),
        TraceStoreError::Stopped => SourceError::Timeout(0),
        other => SourceError::Upstream(other.to_string()),
    }
}

impl TraceSource for EmbeddedTraces {
    fn search<'a>(&'a self, q: &'a TraceQuery) -> BoxFuture<'a, Result<TraceMatches, SourceError>> {
        Box::pin(async move {
            let q = q.clone();
            self.0
                .read(move |s, _, _| query::search(s, &q, query::BUDGET))
                .await
                .map_err(failure)
        })
    }

    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, Result<Option<Trace>, SourceError>> {
        Box::pin(async move {
            let id = trace_id.to_owned();
            self.0
                .read_until(None, move |s, stop| query::trace(s, &id, stop))
                .await
                .map_err(failure)
        })
    }

    fn get_until<'a>(
        &'a self,
        trace_id: &'a str,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Option<Trace>, SourceError>> {
        Box::pin(async move {
            let id = trace_id.to_owned();
            self.0
                .read_until(Some(deadline), move |s, stop| query::trace(s, &id, stop))
                .await
                .map_err(failure)
        })
    }

    fn services<'a>(
        &'a self,
        _start: f64,
        _end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            self.0
                .read(|_, table, _| Ok(lock(table).services()))
                .await
                .map_err(failure)
        })
    }

    fn operations<'a>(
        &'a self,
        service: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Operation>, SourceError>> {
        Box::pin(async move {
            let service = service.to_owned();
            self.0
                .read(move |_, table, _| {
                    Ok(lock(table)
                        .operations(&service)
                        .into_iter()
                        .map(|(name, span_kind)| Operation { name, span_kind })
                        .collect())
                })
                .await
                .map_err(failure)
        })
    }

    fn service_map<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<ServiceMap, SourceError>> {
        Box::pin(async move {
            self.0
                .read(move |_, _, agg| Ok(red::service_map(agg, start, end)))
                .await
                .map_err(failure)
        })
    }

    fn red<'a>(&'a self, q: &'a RedQuery) -> BoxFuture<'a, Result<Red, SourceError>> {
        Box::pin(async move {
            let q = q.clone();
            self.0
                .read(move |_, _, agg| red::red(agg, &q))
                .await
                .map_err(failure)
        })
    }

    fn attribute_names<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            self.0
                .read(move |s, _, _| query::attribute_names(s, range(start, end)))
                .await
                .map_err(failure)
        })
    }

    fn attribute_values<'a>(
        &'a self,
        name: &'a str,
        start: f64,
        end: f64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>> {
        Box::pin(async move {
            let name = name.to_owned();
            self.0
                .read(move |s, _, _| query::attribute_values(s, &name, range(start, end), limit))
                .await
                .map_err(failure)
        })
    }
}
