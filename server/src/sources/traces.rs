//! The traces family: stores that hold spans (Jaeger, Zipkin, Tempo to come). Each store
//! type implements [`TraceSource`] in a folder of its own; the portal asks them through this
//! trait only.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use logstore::Stop;
use serde::{Deserialize, Serialize};

use super::SourceError;
pub use app::traces::model::AttrFilter;

/// A trace search: traces in `[start, end)` with a span that matches every condition given.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TraceQuery {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Span attributes (tags) that must match exactly.
    pub attributes: BTreeMap<String, String>,
    /// Further attribute conditions on the same span (`key!=v`, `key>n`, `key<n`, a bare
    /// `key`), each on the span's attribute, else its resource's.
    #[serde(skip)]
    pub conditions: Vec<AttrFilter>,
    /// Only traces with a matching span that lasts at least this long …
    pub min_duration_ms: Option<f64>,
    /// … and at most this long.
    pub max_duration_ms: Option<f64>,
    /// Only traces with a matching span whose status is error.
    #[serde(default)]
    pub errors_only: bool,
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    /// At most this many traces.
    pub limit: usize,
}

/// A search's traces, and whether the store stopped at its read budget before it had
/// `limit` of them (then older matches may be missing: never silently).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TraceMatches {
    pub traces: Vec<TraceSummary>,
    pub partial: bool,
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
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    /// `server`, `client`, `producer`, `consumer`, `internal` or `unspecified`.
    pub kind: String,
    /// Unix nanoseconds.
    pub start_ns: i64,
    pub duration_ms: f64,
    pub duration_ns: i64,
    pub error: bool,
    /// The status's description, when the span has one.
    pub status_message: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// Resource attributes (Jaeger's process tags), `service.name` left out.
    pub resource: BTreeMap<String, String>,
    /// Types other than string of attributes (`int64`, `float64`, `bool`); resource
    /// attributes under `@r.<name>`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attribute_types: BTreeMap<String, String>,
    pub events: Vec<SpanEventView>,
    pub links: Vec<SpanLinkView>,
}

/// An event at a point in a span (a Zipkin annotation, an exception).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanEventView {
    pub time_ns: i64,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attribute_types: BTreeMap<String, String>,
}

/// A link from a span to another span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpanLinkView {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// An operation of a service, with the kind of its spans.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Operation {
    pub name: String,
    /// Empty when the store does not know it.
    pub span_kind: String,
}

/// Calls from one service to another in a time range: a span of `child` whose parent
/// span belongs to `parent`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceEdge {
    pub parent: String,
    pub child: String,
    pub calls: u64,
    /// Calls whose child span has an error status.
    pub errors: u64,
    /// 95th percentile of the child spans' durations.
    pub p95_ms: f64,
}

/// Requests entering one service in a time range (its server and consumer spans, and
/// its root spans).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceNode {
    pub service: String,
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: f64,
}

/// The service map of a time range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceMap {
    pub nodes: Vec<ServiceNode>,
    pub edges: Vec<ServiceEdge>,
    /// Set when the store no longer holds every minute of the range's counts (or a
    /// remote store answered for part of it).
    pub truncated: bool,
}

/// RED over time: per service (the requests entering it) when `service` is not given,
/// else per operation of `service` (only `operation` when given).
#[derive(Clone, Debug, Default)]
pub struct RedQuery {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    /// Seconds per point, a whole number of minutes.
    pub step: u64,
}

/// Rate, errors and duration of one step (or of the whole range).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedPoint {
    /// Unix seconds of the step's start.
    pub t: f64,
    pub requests: u64,
    pub errors: u64,
    /// Requests per second over the step.
    pub rate: f64,
    /// Errors per request (0 with no requests).
    pub error_ratio: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// One service's (or operation's) RED: a point per step with requests, and the totals.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedSeries {
    pub service: String,
    /// Set for the series of an operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub total: RedPoint,
    pub points: Vec<RedPoint>,
}

/// The answer to a [`RedQuery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Red {
    pub start: f64,
    pub end: f64,
    pub step: u64,
    pub series: Vec<RedSeries>,
    /// Set when the store no longer holds every minute of the range, or when more series
    /// matched than one answer holds.
    pub truncated: bool,
}

/// A whole trace: every span the store has for the id, unless `truncated`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    pub trace_id: String,
    pub spans: Vec<Span>,
    /// Set when the store holds more of the trace than one answer gives (it was cut at
    /// the store's most spans per trace): spans may be missing, never silently.
    pub truncated: bool,
}

/// What one [`TraceSource::find`] may read before it answers with the traces it has,
/// saying why it stopped.
#[derive(Clone, Copy, Debug)]
pub struct FindBudget {
    /// Spans across the answer, at most (the first trace is always given; it holds at
    /// most the store's most spans per trace).
    pub spans: usize,
    /// Time for the search and the traces, from the start of the find.
    pub time: Duration,
}

/// An answer of at most 50,000 spans (a whole trace at the embedded store's cut), within
/// 10 s (the search's own budget, well inside the store's 30 s read timeout).
pub const FIND_BUDGET: FindBudget = FindBudget {
    spans: 50_000,
    time: Duration::from_secs(10),
};

/// Whole traces of a search, newest first, and why the answer is not all of them (empty
/// when it is): the search was partial, the span or time budget ran out, or a trace was
/// cut at the store's most spans per trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FoundTraces {
    pub traces: Vec<Trace>,
    pub cut: Vec<String>,
}

/// Why trace `id` is not whole, in the words of an answer's errors.
pub fn truncated_trace(id: &str) -> String {
    format!("trace {id} truncated: it holds more spans than one answer gives")
}

/// A store of spans.
pub trait TraceSource: Send + Sync {
    /// Traces matching the query (`conditions` included), newest first, with whether the
    /// answer was cut. A store that cannot apply `conditions` refuses the query
    /// ([`SourceError::BadQuery`]) rather than ignore them.
    fn search<'a>(&'a self, q: &'a TraceQuery) -> BoxFuture<'a, Result<TraceMatches, SourceError>>;
    /// One trace by id; `None` when the store does not have it.
    fn get<'a>(&'a self, trace_id: &'a str) -> BoxFuture<'a, Result<Option<Trace>, SourceError>>;
    /// The services that reported spans in `[start, end)`.
    fn services<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
    /// The operations of `service` (span names with their kind).
    fn operations<'a>(
        &'a self,
        service: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Operation>, SourceError>>;
    /// Calls between services in `[start, end)`.
    fn service_map<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<ServiceMap, SourceError>>;
    /// Rate, errors and duration per step, per service or operation (see [`RedQuery`]).
    fn red<'a>(&'a self, q: &'a RedQuery) -> BoxFuture<'a, Result<Red, SourceError>>;
    /// [`TraceSource::get`] that gives up at `deadline` ([`SourceError::Timeout`]); a
    /// store that cannot stop a read early waits for it.
    fn get_until<'a>(
        &'a self,
        trace_id: &'a str,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<Option<Trace>, SourceError>> {
        self.get(trace_id)
    }
    /// Whole traces matching the query, newest first: the search, then each trace by id,
    /// within [`FIND_BUDGET`] (see [`FoundTraces`]).
    fn find<'a>(&'a self, q: &'a TraceQuery) -> BoxFuture<'a, Result<FoundTraces, SourceError>> {
        Box::pin(async move {
            let deadline = Instant::now() + FIND_BUDGET.time;
            let stop = Stop::at(deadline);
            let matches = self.search(q).await?;
            let mut out = FoundTraces::default();
            if matches.partial {
                out.cut.push(
                    "search truncated: the store stopped at its read budget or at its most \
                     traces per search; older matches may be missing"
                        .into(),
                );
            }
            let mut spans = 0;
            for summary in matches.traces {
                let left = FIND_BUDGET.spans.saturating_sub(spans);
                if !out.traces.is_empty() && summary.span_count > left {
                    out.cut.push(format!(
                        "result truncated after {} traces: an answer holds at most {} spans",
                        out.traces.len(),
                        FIND_BUDGET.spans
                    ));
                    break;
                }
                let timed_out = || {
                    format!(
                        "result truncated after {} traces: the search's time budget of {} s ran out",
                        out.traces.len(),
                        FIND_BUDGET.time.as_secs()
                    )
                };
                if stop.due() {
                    out.cut.push(timed_out());
                    break;
                }
                match self.get_until(&summary.trace_id, deadline).await {
                    Ok(Some(t)) => {
                        if t.truncated {
                            out.cut.push(truncated_trace(&t.trace_id));
                        }
                        spans += t.spans.len();
                        out.traces.push(t);
                    }
                    Ok(None) => {}
                    Err(SourceError::Timeout(_)) if stop.due() => {
                        out.cut.push(timed_out());
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }
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
