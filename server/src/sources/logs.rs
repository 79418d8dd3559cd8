//! The logs family: stores that hold log records (ClickHouse, Loki, Elasticsearch to come).
//! Each store type implements [`LogSource`] in a folder of its own; the portal asks them
//! through this trait only.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::SourceError;

/// A log search: records in `[start, end)` that match `query`, newest first.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LogQuery {
    /// The store's own query language (LogQL, Lucene, SQL filter), passed on as written.
    pub query: String,
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    /// At most this many records.
    pub limit: usize,
}

/// One log record as every store can give it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRecord {
    /// The store's id of the record, for [`LogSource::get`].
    pub id: String,
    /// Unix nanoseconds.
    pub time_ns: i64,
    /// `error`, `warn`, `info`, `debug` … where the store knows it.
    pub severity: Option<String>,
    pub message: String,
    /// Labels, resource and record attributes, flattened to text.
    pub fields: BTreeMap<String, String>,
}

/// The answer to a search: the records, and whether the store had more than `limit`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogSearch {
    pub records: Vec<LogRecord>,
    pub truncated: bool,
}

/// A store of log records.
pub trait LogSource: Send + Sync {
    /// Records matching the query, newest first.
    fn search<'a>(&'a self, q: &'a LogQuery) -> BoxFuture<'a, Result<LogSearch, SourceError>>;
    /// One record by the id a search gave; `None` when the store no longer has it.
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<LogRecord>, SourceError>>;
    /// The field (label) names records in `[start, end)` carry.
    fn field_names<'a>(
        &'a self,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
    /// The values `field` takes in `[start, end)`, at most `limit` of them.
    fn field_values<'a>(
        &'a self,
        field: &'a str,
        start: f64,
        end: f64,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, SourceError>>;
}
