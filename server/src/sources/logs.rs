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
    /// The store's own query language (LogQL, Lucene, KQL), passed on as written.
    pub query: String,
    /// Unix seconds, inclusive.
    pub start: f64,
    /// Unix seconds, exclusive.
    pub end: f64,
    /// At most this many records (searches and facet values).
    pub limit: usize,
    /// Where the previous page ended ([`LogSearch::next`]); `None` for the first page.
    pub cursor: Option<String>,
}

/// One log record as every store can give it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRecord {
    /// The store's id of the record, for [`LogSource::get`].
    pub id: String,
    /// Unix nanoseconds.
    pub time_ns: i64,
    /// `ERROR`, `WARNING`, `INFO`, `DEBUG` … where the store knows it.
    pub severity: Option<String>,
    pub message: String,
    /// Columns (service, trace and correlation ids), labels, resource and record
    /// attributes, flattened to text.
    pub fields: BTreeMap<String, String>,
}

impl LogRecord {
    /// The record as the pages show it (the same fields, the app's type).
    pub fn into_line(self) -> app::components::log_model::LogLine {
        app::components::log_model::LogLine {
            id: self.id,
            time_ns: self.time_ns,
            severity: self.severity,
            message: self.message,
            fields: self.fields,
        }
    }
}

/// The answer to a search: the records, and where the next page starts when there is one.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LogSearch {
    pub records: Vec<LogRecord>,
    /// Pass back as [`LogQuery::cursor`] for older records; `None` on the last page.
    pub next: Option<String>,
}

/// One line with the lines around it from the same stream (its service, and its instance
/// when it names one), in a search's newest-first order: `after`, the line, then `before`
/// read as one list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogContext {
    pub line: LogRecord,
    /// The query that selects the stream (`service:"…" AND host:"…"`), empty for all lines.
    pub scope: String,
    /// Up to the asked number of lines just before the line, newest first.
    pub before: Vec<LogRecord>,
    /// Up to the asked number of lines just after the line, newest first.
    pub after: Vec<LogRecord>,
}

/// A field name or value with the number of matching records that have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldCount {
    pub name: String,
    pub count: u64,
}

/// Counts of matching records per interval, by level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogHistogram {
    /// Unix seconds where the first bucket starts, and the bucket width in seconds.
    pub start: f64,
    pub step: f64,
    /// The level names, in the order of each bucket's counts.
    pub levels: Vec<String>,
    /// `counts[bucket][level]`.
    pub counts: Vec<Vec<u64>>,
}

/// A store of log records.
pub trait LogSource: Send + Sync {
    /// Records matching the query, newest first, a page at a time.
    fn search<'a>(&'a self, q: &'a LogQuery) -> BoxFuture<'a, Result<LogSearch, SourceError>>;
    /// One record by the id a search gave; `None` when the store no longer has it.
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<LogRecord>, SourceError>>;
    /// The line `id` with up to `before` and `after` lines around it from the same stream;
    /// `None` when the store no longer has the line.
    fn context<'a>(
        &'a self,
        id: &'a str,
        before: usize,
        after: usize,
    ) -> BoxFuture<'a, Result<Option<LogContext>, SourceError>>;
    /// The field names the matching records carry, with counts, most common first.
    fn field_names<'a>(
        &'a self,
        q: &'a LogQuery,
    ) -> BoxFuture<'a, Result<Vec<FieldCount>, SourceError>>;
    /// The `q.limit` most common values of `field` among the matching records.
    fn field_values<'a>(
        &'a self,
        field: &'a str,
        q: &'a LogQuery,
    ) -> BoxFuture<'a, Result<Vec<FieldCount>, SourceError>>;
    /// Counts of matching records per `step` seconds over the range, by level.
    fn histogram<'a>(
        &'a self,
        q: &'a LogQuery,
        step: f64,
    ) -> BoxFuture<'a, Result<LogHistogram, SourceError>>;
}
