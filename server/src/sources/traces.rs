//! The traces family: stores that hold spans (Jaeger, Zipkin, Tempo to come). Each store
//! type implements [`TraceSource`] in a folder of its own; the portal asks them through this
//! trait only.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::SourceError;

/// A trace search: traces in `[start, end)` with a span that matches every condition given.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TraceQuery {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Span attributes (tags) that must match exactly.
    pub attributes: BTreeMap<String, String>,
    /// Only traces whose root lasts at least this long.
    pub min_duration_ms: Option<f64>,
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    /// At most this many traces.
    pub limit: usize,
}

/// One trace in a search result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceSummary {
    /// Hex, as the store spells it.
    pub trace_id: String,
    pub root_service: String,
    pub root_operation: String,
    /// Unix nanoseconds of the first span.
    pub start_ns: i64,
    pub duration_ms: f64,
    pub span_count: usize,
    pub error_count: usize,
}

/// One span of a trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Span {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    /// Unix nanoseconds.
    pub start_ns: i64,
    pub duration_ms: f64,
    pub error: bool,
    pub attributes: BTreeMap<String, String>,
}

/// A whole trace: every span the store has for the id.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
}

/// A store of spans.
pub trait TraceSource: Send + Sync {
    /// Traces matching the query, newest first.
    fn search<'a>(
        &'a self,
        q: &'a TraceQuery,
    ) -> BoxFuture<'a, Result<Vec<TraceSummary>, SourceError>>;
    /// One trace by id; `None` when the store does not have it.
    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, Result<Option<Trace>, SourceError>>;
    /// The services that reported spans in `[start, end)`.
    fn services<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
    /// The span attribute names seen in `[start, end)`.
    fn attribute_names<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
    /// The values span attribute `name` takes in `[start, end)`, at most `limit`.
    fn attribute_values<'a>(
        &'a self,
        name: &'a str,
        start: f64,
        end: f64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
}
