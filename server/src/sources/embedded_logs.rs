//! The embedded log store as a [`LogSource`]: called in-process. Ids are the store's
//! cursor text (`<time ns>.<seq>`), unique within the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use logstore::query::{FieldTest, Text};
use logstore::{severity, Cursor, Hit, LogColumn, Query, TimeRange, Value};

use super::logs::{
    FieldCount, LogContext, LogHistogram, LogQuery, LogRecord, LogSearch, LogSource,
};
use super::SourceError;
use crate::logs::{LogStore, LogStoreError};

pub struct EmbeddedLogs(pub Arc<LogStore>);

fn failure(e: LogStoreError) -> SourceError {
    match e {
        LogStoreError::Refused(m) => SourceError::BadQuery(m),
        LogStoreError::Limit(r) => SourceError::BadQuery(r.message),
        LogStoreError::Timeout(ms) => SourceError::Timeout(ms),
        other => SourceError::Upstream(other.to_string()),
    }
}

fn parse(q: &LogQuery) -> Result<Query, SourceError> {
    logstore::parse(&q.query).map_err(|e| SourceError::BadQuery(format!("invalid query: {e}")))
}

fn ns(seconds: f64) -> i64 {
    (seconds * 1e9).clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

fn range(q: &LogQuery) -> TimeRange {
    TimeRange {
        from: ns(q.start),
        to: ns(q.end),
    }
}

fn counts(v: Vec<logstore::FieldCount>) -> Vec<FieldCount> {
    v.into_iter()
        .map(|c| FieldCount {
            name: c.name,
            count: c.count,
        })
        .collect()
}

/// A record with its sequence number (a live tail's line) in the shape every source gives.
pub fn line(seq: u64, record: logstore::Record) -> LogRecord {
    self::record(Hit { seq, record })
}

/// A stored record in the shape every source gives.
fn record(hit: Hit) -> LogRecord {
    let id = Cursor {
        time: hit.record.time,
        seq: hit.seq,
    }
    .encode();
    let r = hit.record;
    let mut fields = BTreeMap::new();
    let mut severity_name = None;
    for (column, name) in [
        (LogColumn::Service, "service"),
        (LogColumn::TraceId, "trace_id"),
        (LogColumn::SpanId, "span_id"),
        (LogColumn::CorrelationId, "correlation_id"),
    ] {
        if let Some(Value::Str(v)) = r.values.get(column as usize) {
            fields.insert(name.to_owned(), v.clone());
        }
    }
    if let Some(Value::Int(n)) = r.values.get(LogColumn::Severity as usize) {
        severity_name = Some(severity::level_name(*n).to_owned());
    }
    for (k, v) in r.attributes {
        fields.insert(k, v);
    }
    LogRecord {
        id,
        time_ns: r.time,
        severity: severity_name,
        message: r.body,
        fields,
    }
}

/// Fields that name an instance of a service; the first a line has narrows its context.
const INSTANCE_FIELDS: [&str; 4] = ["service.instance.id", "instance", "host.name", "host"];
/// How far from the line its context is looked for.
const CONTEXT_WINDOW_NS: i64 = 86_400 * 1_000_000_000;

/// The stream of a line: its service and instance, as a query (built, not parsed, so no
/// value needs quoting) and as text.
fn stream_of(line: &LogRecord) -> (Query, String) {
    let mut parts = Vec::new();
    let mut text = Vec::new();
    let instance = INSTANCE_FIELDS
        .iter()
        .find_map(|k| line.fields.get(*k).map(|v| (*k, v)));
    for (field, value) in line
        .fields
        .get("service")
        .map(|v| ("service", v))
        .into_iter()
        .chain(instance)
    {
        parts.push(Query::Field {
            field: field.to_owned(),
            test: FieldTest::Equals(Text::Phrase(value.clone())),
        });
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        text.push(format!("{field}:\"{quoted}\""));
    }
    let query = match parts.len() {
        0 => Query::All,
        1 => parts.remove(0),
        _ => Query::And(parts),
    };
    (query, text.join(" AND "))
}

impl LogSource for EmbeddedLogs {
    fn search<'a>(&'a self, q: &'a LogQuery) -> BoxFuture<'a, Result<LogSearch, SourceError>> {
        Box::pin(async move {
            let query = parse(q)?;
            let cursor = q
                .cursor
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(Cursor::parse)
                .transpose()
                .map_err(|e| SourceError::BadQuery(e.to_string()))?;
            let page = self
                .0
                .search(query, range(q), q.limit, cursor)
                .await
                .map_err(failure)?;
            Ok(LogSearch {
                next: page.next.map(|c| c.encode()),
                records: page.hits.into_iter().map(record).collect(),
            })
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<LogRecord>, SourceError>> {
        Box::pin(async move {
            let at = Cursor::parse(id).map_err(|e| SourceError::BadQuery(e.to_string()))?;
            let all = logstore::parse("").map_err(|e| SourceError::BadQuery(e.to_string()))?;
            let window = TimeRange {
                from: at.time,
                to: at.time.saturating_add(1),
            };
            let page = self
                .0
                .search(all, window, self.0.max_limit(), None)
                .await
                .map_err(failure)?;
            Ok(page.hits.into_iter().find(|h| h.seq == at.seq).map(record))
        })
    }

    fn context<'a>(
        &'a self,
        id: &'a str,
        before: usize,
        after: usize,
    ) -> BoxFuture<'a, Result<Option<LogContext>, SourceError>> {
        Box::pin(async move {
            let Some(line) = self.get(id).await? else {
                return Ok(None);
            };
            let at = Cursor::parse(id).map_err(|e| SourceError::BadQuery(e.to_string()))?;
            let (stream, scope) = stream_of(&line);
            let older = TimeRange {
                from: at.time.saturating_sub(CONTEXT_WINDOW_NS),
                to: at.time.saturating_add(1),
            };
            let page = self
                .0
                .search(stream.clone(), older, before, Some(at))
                .await
                .map_err(failure)?;
            let newer = TimeRange {
                from: at.time,
                to: at.time.saturating_add(CONTEXT_WINDOW_NS),
            };
            let mut later = self
                .0
                .search_after(stream, newer, after, at)
                .await
                .map_err(failure)?;
            later.reverse();
            Ok(Some(LogContext {
                line,
                scope,
                before: page.hits.into_iter().map(record).collect(),
                after: later.into_iter().map(record).collect(),
            }))
        })
    }

    fn field_names<'a>(
        &'a self,
        q: &'a LogQuery,
    ) -> BoxFuture<'a, Result<Vec<FieldCount>, SourceError>> {
        Box::pin(async move {
            let query = parse(q)?;
            let names = self.0.fields(query, range(q)).await.map_err(failure)?;
            Ok(counts(names))
        })
    }

    fn field_values<'a>(
        &'a self,
        field: &'a str,
        q: &'a LogQuery,
    ) -> BoxFuture<'a, Result<Vec<FieldCount>, SourceError>> {
        Box::pin(async move {
            let query = parse(q)?;
            let values = self
                .0
                .field_values(query, range(q), field.to_owned(), q.limit)
                .await
                .map_err(failure)?;
            Ok(counts(values))
        })
    }

    fn histogram<'a>(
        &'a self,
        q: &'a LogQuery,
        step: f64,
    ) -> BoxFuture<'a, Result<LogHistogram, SourceError>> {
        Box::pin(async move {
            let query = parse(q)?;
            let h = self
                .0
                .histogram(query, range(q), ns(step))
                .await
                .map_err(failure)?;
            Ok(LogHistogram {
                start: h.from as f64 / 1e9,
                step: h.interval as f64 / 1e9,
                levels: h.levels.iter().map(|l| (*l).to_owned()).collect(),
                counts: h.counts,
            })
        })
    }
}
