//! Backing stores. Each family sits behind one trait — [`MetricsSource`] for stores that
//! speak the Prometheus HTTP API (Prometheus, VictoriaMetrics, Thanos, Mimir),
//! [`logs::LogSource`], [`traces::TraceSource`] — with one implementation per store type
//! ([`kind::SourceKind`]). [`registry::SourceRegistry`] hands out the clients and knows each
//! family's default. Only this module speaks to external stores.

pub mod checks;
pub mod embedded;
pub mod embedded_logs;
pub mod embedded_traces;
pub mod kind;
pub mod logs;
pub mod m4;
pub mod prometheus;
pub mod registry;
pub mod secrets;
pub mod store;
pub mod traces;

use futures::future::BoxFuture;
use serde_json::Value;

/// Why a source could not answer, mapped to the HTTP status the portal returns.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store refused the query (bad PromQL, bad parameters): its message is passed on.
    #[error("{0}")]
    BadQuery(String),
    #[error("the source did not answer within {0} ms")]
    Timeout(u64),
    #[error("the source could not be reached: {0}")]
    Unreachable(String),
    #[error("the source answered with an error: {0}")]
    Upstream(String),
    #[error("the source answered something that is not the Prometheus API: {0}")]
    Garbage(String),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// A source failure in the domain's words: a refused query names the field `query`, a
/// timeout and every other failure say so (the HTTP layer answers 504 and 502).
impl From<SourceError> for crate::error::Error {
    fn from(err: SourceError) -> crate::error::Error {
        use crate::error::Error;
        match err {
            SourceError::BadQuery(_) => Error::BadQuery(err.to_string()),
            SourceError::Timeout(_) => Error::SourceTimeout(err.to_string()),
            _ => Error::SourceUnavailable(err.to_string()),
        }
    }
}

/// A response body passed through from a store, chunk by chunk.
pub type RawBody =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send>>;

/// `data` in Prometheus's success envelope, as a one-chunk body.
pub fn envelope_stream(data: Value) -> RawBody {
    let bytes = serde_json::to_vec(&serde_json::json!({ "status": "success", "data": data }))
        .unwrap_or_default();
    Box::pin(futures::stream::once(async move {
        Ok(bytes::Bytes::from(bytes))
    }))
}

/// Parameters of an instant query, as Prometheus takes them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct InstantQuery {
    pub query: String,
    pub time: Option<String>,
    pub timeout: Option<String>,
}

/// Parameters of a range query, as Prometheus takes them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RangeQuery {
    pub query: String,
    pub start: String,
    pub end: String,
    pub step: String,
    pub timeout: Option<String>,
}

/// A store that speaks the Prometheus HTTP API. Every method answers the `data` member of
/// Prometheus's JSON envelope.
pub trait MetricsSource: Send + Sync {
    fn query<'a>(&'a self, q: &'a InstantQuery) -> BoxFuture<'a, Result<Value, SourceError>>;
    fn query_range<'a>(&'a self, q: &'a RangeQuery) -> BoxFuture<'a, Result<Value, SourceError>>;
    /// The success envelope of a range query as the store sends it, streamed on as it
    /// arrives (a proxy adds no store-and-forward delay); errors are classified first.
    fn query_range_raw<'a>(
        &'a self,
        q: &'a RangeQuery,
    ) -> BoxFuture<'a, Result<RawBody, SourceError>> {
        Box::pin(async move { Ok(envelope_stream(self.query_range(q).await?)) })
    }
    fn series<'a>(
        &'a self,
        matchers: &'a [String],
        start: Option<&'a str>,
        end: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Value, SourceError>>;
    /// Label names; with `matchers`, only those of the series they select.
    fn label_names<'a>(
        &'a self,
        matchers: &'a [String],
    ) -> BoxFuture<'a, Result<Value, SourceError>>;
    fn label_values<'a>(&'a self, label: &'a str) -> BoxFuture<'a, Result<Value, SourceError>>;
    fn metadata<'a>(&'a self) -> BoxFuture<'a, Result<Value, SourceError>>;
    /// `/api/v1/query_exemplars`' `data` for `query` over `[start, end]` (Unix seconds); a
    /// store that keeps none answers an empty list.
    fn query_exemplars<'a>(
        &'a self,
        _query: &'a str,
        _start: f64,
        _end: f64,
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async { Ok(Value::Array(Vec::new())) })
    }
}
