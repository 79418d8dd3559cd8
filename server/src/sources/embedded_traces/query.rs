//! Reads over the span store, on the caller's (blocking) thread: trace search (spans that
//! match, then their traces' merged summaries), a trace by id (bloom-filtered on the trace
//! id), attribute names and values. Every read is bounded: a search reads at most
//! [`BUDGET`] (matching spans, time checked before each block, time for the summaries) and
//! says when it stopped there or was cut at [`MAX_TRACES`], a trace holds at most
//! [`MAX_TRACE_SPANS`] spans.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use logstore::query::{Compare, FieldTest};
use logstore::{Cursor, Query, Record, Stop, Store, TimeRange, Value};

use super::view::{merge_summaries, span_view};
use crate::sources::traces::{AttrFilter, Trace, TraceMatches, TraceQuery, TraceSummary};
use crate::traces::catalog::{equals, spans_only};
use crate::traces::records::{
    self, stored_name, REC, RESOURCE_PREFIX, SPAN_ID, SPAN_REC, TRACE_REC,
};
use crate::traces::TraceStoreError;

pub const MAX_SEARCH_SPANS: usize = 100_000;
pub const MAX_TRACE_SPANS: usize = 50_000;
/// Most traces one search returns.
pub const MAX_TRACES: usize = 1_000;
const PAGE: usize = 5_000;

fn ns(seconds: f64) -> i64 {
    (seconds * 1e9).clamp(i64::MIN as f64, i64::MAX as f64) as i64
}

pub fn range(start: f64, end: f64) -> TimeRange {
    TimeRange {
        from: ns(start),
        to: ns(end),
    }
}

/// A trace id as stored: 32 lowercase hex digits (a 16-digit id is padded, as Zipkin's
/// 64-bit ids are at ingest).
pub fn normalize_trace_id(id: &str) -> Result<String, TraceStoreError> {
    let id = id.to_ascii_lowercase();
    let id = if id.len() == 16 {
        format!("{id:0>32}")
    } else {
        id
    };
    if ingest::spans::is_hex_id(&id, 32) {
        Ok(id)
    } else {
        Err(TraceStoreError::Refused(
            "a trace id is 32 hex digits (or 16 for a 64-bit id)".into(),
        ))
    }
}

/// An attribute condition checked exactly on each span the engine found: the stored
/// names to look at, the span's own attribute first, then its resource's.
struct Check {
    names: Vec<String>,
    test: Test,
}

enum Test {
    /// One of the names holds exactly this value (the engine's attribute match also takes
    /// a value holding the words).
    Exact(String),
    /// The first name present passes the filter.
    Filter(AttrFilter),
}

impl Check {
    fn passes(&self, r: &Record) -> bool {
        match &self.test {
            Test::Exact(v) => self.names.iter().any(|n| r.attribute(n) == Some(v)),
            Test::Filter(f) => f.accepts(self.names.iter().find_map(|n| r.attribute(n))),
        }
    }
}

/// The stored names of attribute `key`: the span's, then the resource's (`resource.k`
/// names the resource's only).
fn attr_names(schema: &logstore::Schema, key: &str) -> Vec<String> {
    let mut names = vec![stored_name(schema, key), format!("{RESOURCE_PREFIX}{key}")];
    if let Some(r) = key.strip_prefix("resource.") {
        names.push(format!("{RESOURCE_PREFIX}{r}"));
    }
    names
}

/// `test` on any of `names`, for the engine (a superset of what [`Check`] then keeps).
fn any_of(names: &[String], test: FieldTest) -> Query {
    Query::Or(
        names
            .iter()
            .map(|n| Query::Field {
                field: n.clone(),
                test: test.clone(),
            })
            .collect(),
    )
}

/// The span query of a search, and the attribute conditions checked exactly afterwards.
/// `>`, `<` and exists narrow the engine's scan too, so a search reads only spans that
/// may pass them.
fn span_query(store: &Store, q: &TraceQuery) -> Result<(Query, Vec<Check>), TraceStoreError> {
    let schema = store.schema();
    let mut all = vec![spans_only()];
    if let Some(s) = q.service.as_deref().filter(|s| !s.is_empty()) {
        all.push(equals("service", s));
    }
    if let Some(op) = q.operation.as_deref().filter(|s| !s.is_empty()) {
        all.push(equals("operation", op));
    }
    if q.errors_only {
        all.push(equals("status", "error"));
    }
    for (op, bound) in [
        (Compare::Ge, q.min_duration_ms),
        (Compare::Le, q.max_duration_ms),
    ] {
        if let Some(ms) = bound {
            if !ms.is_finite() || ms < 0.0 {
                return Err(TraceStoreError::Refused(
                    "durations are non-negative numbers".into(),
                ));
            }
            all.push(Query::Field {
                field: "duration".into(),
                test: FieldTest::Range(op, ((ms * 1e6) as i64).to_string()),
            });
        }
    }
    let mut checks = Vec::new();
    let equalities = q.attributes.iter().map(|(k, v)| (k.clone(), v.clone()));
    let more_equalities = q.conditions.iter().filter_map(|c| match c {
        AttrFilter::Equals(k, v) => Some((k.clone(), v.clone())),
        _ => None,
    });
    for (k, v) in equalities.chain(more_equalities) {
        let is_column = schema
            .columns()
            .iter()
            .any(|c| c.name == k || c.aliases.contains(&k));
        match k.as_str() {
            "error" if v == "true" => all.push(equals("status", "error")),
            "otel.status_code" => all.push(equals("status", &v.to_ascii_lowercase())),
            _ if is_column => all.push(equals(&k, &v)),
            _ => {
                let names = attr_names(schema, &k);
                all.push(Query::Or(names.iter().map(|n| equals(n, &v)).collect()));
                checks.push(Check {
                    names,
                    test: Test::Exact(v),
                });
            }
        }
    }
    for c in &q.conditions {
        let names = attr_names(schema, c.key());
        let narrow = match c {
            AttrFilter::Equals(..) => continue,
            AttrFilter::Greater(_, n) => FieldTest::Range(Compare::Gt, n.to_string()),
            AttrFilter::Less(_, n) => FieldTest::Range(Compare::Lt, n.to_string()),
            AttrFilter::NotEquals(..) | AttrFilter::Exists(_) => FieldTest::Exists,
        };
        all.push(any_of(&names, narrow));
        checks.push(Check {
            names,
            test: Test::Filter(c.clone()),
        });
    }
    Ok((Query::And(all), checks))
}

fn trace_id_of(r: &Record) -> &str {
    r.values
        .get(records::TRACE_ID)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// What one search may read before it answers with what it found, marked partial.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Spans the engine matched, at most.
    pub spans: usize,
    /// Time for finding the matching traces, checked before each block the scan reads.
    pub time: Duration,
    /// Time for reading the found traces' summaries after that, checked the same way.
    pub summaries: Duration,
}

/// Well inside the store's query timeout (30 s), the summaries' time included.
pub const BUDGET: Budget = Budget {
    spans: MAX_SEARCH_SPANS,
    time: Duration::from_secs(10),
    summaries: Duration::from_secs(5),
};

/// The ids of the newest traces with a span matching `q`, newest match first, and whether
/// the answer was cut: the budget ran out (`stop` came due, or `budget_spans` spans were
/// read) before `q.limit` were found and the scan was done, or more than [`MAX_TRACES`]
/// matched a larger `q.limit`.
pub fn trace_ids(
    store: &Store,
    q: &TraceQuery,
    budget_spans: usize,
    stop: &Stop,
) -> Result<(Vec<String>, bool), TraceStoreError> {
    let (query, checks) = span_query(store, q)?;
    let limit = q.limit.clamp(1, MAX_TRACES);
    // Past the clamp, one more trace tells whether the clamp cut the answer.
    let wanted = if q.limit > MAX_TRACES {
        limit + 1
    } else {
        limit
    };
    let window = range(q.start, q.end);
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut read = 0;
    // Pages grow from about what the limit needs (a record is built for every hit) to
    // `PAGE`, for filters that many spans of one trace match.
    let mut page_size = (wanted * 2).clamp(20, PAGE);
    loop {
        let size = page_size.min(budget_spans.saturating_sub(read)).max(1);
        let page = store.search_until(&query, window, size, cursor, stop)?;
        page_size = (page_size * 4).min(PAGE);
        read += page.hits.len();
        for hit in &page.hits {
            let id = trace_id_of(&hit.record);
            if !id.is_empty()
                && checks.iter().all(|c| c.passes(&hit.record))
                && seen.insert(id.to_owned())
            {
                ids.push(id.to_owned());
                if ids.len() >= wanted {
                    let clamped = ids.len() > limit;
                    ids.truncate(limit);
                    return Ok((ids, clamped));
                }
            }
        }
        match page.next {
            _ if page.stopped => return Ok((ids, true)),
            None => return Ok((ids, false)),
            Some(_) if read >= budget_spans => return Ok((ids, true)),
            Some(next) => cursor = Some(next),
        }
    }
}

/// All records of `query` over all time, a page at a time, about `max` at most, with
/// whether they are all of them (false when cut at `max`); `None` when `stop` came due
/// first.
fn collect(
    store: &Store,
    query: &Query,
    max: usize,
    stop: &Stop,
) -> Result<Option<(Vec<Record>, bool)>, TraceStoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.search_until(query, TimeRange::all(), PAGE.min(max), cursor, stop)?;
        if page.stopped {
            return Ok(None);
        }
        out.extend(page.hits.into_iter().map(|h| h.record));
        match page.next {
            Some(next) if out.len() < max => cursor = Some(next),
            Some(_) => return Ok(Some((out, false))),
            None => return Ok(Some((out, true))),
        }
    }
}

/// The merged summaries of `ids`, in their order (ids the store has no summary for are
/// left out), and whether `stop` came due first or a chunk's records were cut at
/// [`MAX_TRACE_SPANS`]: then only the summaries read whole are given (a summary merged from
/// part of its records would miscount).
pub fn summaries(
    store: &Store,
    ids: &[String],
    stop: &Stop,
) -> Result<(Vec<TraceSummary>, bool), TraceStoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let query = Query::And(vec![
            equals("rec", TRACE_REC),
            Query::Or(chunk.iter().map(|id| equals("trace_id", id)).collect()),
        ]);
        let Some((records, true)) = collect(store, &query, MAX_TRACE_SPANS, stop)? else {
            return Ok((out, true));
        };
        let mut merged = merge_summaries(&records);
        out.extend(chunk.iter().filter_map(|id| merged.remove(id)));
    }
    Ok((out, false))
}

/// The traces matching `q` with their summaries, newest match first; partial when the
/// budget ran out first or the answer was cut at [`MAX_TRACES`].
pub fn search(
    store: &Store,
    q: &TraceQuery,
    budget: Budget,
) -> Result<TraceMatches, TraceStoreError> {
    let (ids, cut) = trace_ids(
        store,
        q,
        budget.spans,
        &Stop::at(Instant::now() + budget.time),
    )?;
    let stop = Stop::at(Instant::now() + budget.summaries);
    let (traces, late) = summaries(store, &ids, &stop)?;
    Ok(TraceMatches {
        traces,
        partial: cut || late,
    })
}

/// Every span of trace `id` (a span sent twice counts once), by start time; marked
/// truncated when the trace's records were cut at [`MAX_TRACE_SPANS`], and
/// [`TraceStoreError::Stopped`] when `stop` came due first.
///
/// The store is asked for the trace id alone (answered from the blocks' id index and row
/// frames, without a whole column); the trace's summary records (`rec=trace`, one per
/// ingest batch) are dropped here.
pub fn trace(store: &Store, id: &str, stop: &Stop) -> Result<Option<Trace>, TraceStoreError> {
    let id = normalize_trace_id(id)?;
    let query = equals("trace_id", &id);
    let (found, whole) =
        collect(store, &query, MAX_TRACE_SPANS, stop)?.ok_or(TraceStoreError::Stopped)?;
    let mut seen = HashSet::new();
    let mut spans: Vec<_> = found
        .into_iter()
        .filter(|r| r.values.get(REC).and_then(Value::as_str) == Some(SPAN_REC))
        .filter(|r| {
            let span_id = r.values.get(SPAN_ID).and_then(Value::as_str);
            seen.insert(span_id.unwrap_or_default().to_owned())
        })
        .map(span_view)
        .collect();
    if spans.is_empty() {
        return Ok(None);
    }
    spans.sort_by(|a, b| (a.start_ns, &a.span_id).cmp(&(b.start_ns, &b.span_id)));
    Ok(Some(Trace {
        trace_id: id,
        spans,
        truncated: !whole,
    }))
}

/// Names of span attributes in `window` (resource attributes as `resource.<name>`), most
/// common first.
pub fn attribute_names(store: &Store, window: TimeRange) -> Result<Vec<String>, TraceStoreError> {
    let columns: HashSet<String> = store
        .schema()
        .columns()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    Ok(store
        .fields(&spans_only(), window)?
        .into_iter()
        .map(|f| f.name)
        .filter(|n| n != "body" && !columns.contains(n) && !n.starts_with("@types"))
        .filter(|n| n != "@events" && n != "@links")
        .map(|n| match n.strip_prefix(RESOURCE_PREFIX) {
            Some(r) => format!("resource.{r}"),
            None => n
                .strip_prefix(records::ESCAPED_PREFIX)
                .map(str::to_owned)
                .unwrap_or(n),
        })
        .collect())
}

/// The most common values of attribute `name` in `window` (`resource.<name>` for a
/// resource attribute).
pub fn attribute_values(
    store: &Store,
    name: &str,
    window: TimeRange,
    limit: usize,
) -> Result<Vec<String>, TraceStoreError> {
    let stored = match name.strip_prefix("resource.") {
        Some(r) => format!("{RESOURCE_PREFIX}{r}"),
        None => stored_name(store.schema(), name),
    };
    Ok(store
        .field_values(&spans_only(), window, &stored, limit)?
        .into_iter()
        .map(|f| f.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ingest::spans::{Attr, SpanKind, SpanLine, SpanStatus};

    use super::*;
    use crate::traces::{Settings, TraceStore};

    const TRACE: &str = "5b8efff798038103d269b633813fc60c";

    fn span(id: &str, parent: &str, service: &str, name: &str, start: i64, ms: i64) -> SpanLine {
        SpanLine {
            trace_id: TRACE.into(),
            span_id: id.into(),
            parent_span_id: parent.into(),
            name: name.into(),
            kind: if parent.is_empty() {
                SpanKind::Server
            } else {
                SpanKind::Client
            },
            start_ns: start,
            end_ns: start + ms * 1_000_000,
            service: service.into(),
            ..Default::default()
        }
    }

    #[test]
    fn late_spans_join_their_trace_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = 1_700_000_000_000_000_000;
        let mut mcp = span(
            "00000000000000b2",
            "00000000000000b1",
            "mcp-server",
            "mcp.call",
            t0 + 1_000_000,
            40,
        );
        mcp.status = SpanStatus::Error;
        mcp.attributes = vec![Attr::text("mcp.tool", "search_docs")];
        {
            let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
            store.append_blocking(&[mcp.clone()]).unwrap();
            // The root arrives later, in a batch of its own.
            let mut root = span(
                "00000000000000b1",
                "",
                "keiko-agent",
                "agent_task_execution",
                t0,
                100,
            );
            root.attributes = vec![Attr::text("agent.id", "agent-7")];
            store.append_blocking(&[root]).unwrap();
        }
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let s = store.engine();
        let t = trace(s, TRACE, &Stop::never()).unwrap().unwrap();
        assert_eq!(t.spans.len(), 2);
        assert_eq!(t.spans[0].operation, "agent_task_execution");
        assert_eq!(t.spans[1].attributes["mcp.tool"], "search_docs");
        let q = TraceQuery {
            service: Some("mcp-server".into()),
            attributes: BTreeMap::from([("mcp.tool".into(), "search_docs".into())]),
            min_duration_ms: Some(30.0),
            start: 0.0,
            end: 2e9,
            limit: 10,
            ..Default::default()
        };
        let found = search(s, &q, BUDGET).unwrap().traces;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].root_service, "keiko-agent");
        assert_eq!((found[0].span_count, found[0].error_count), (2, 1));
        assert_eq!(found[0].duration_ms, 100.0);
        // An attribute holding the word but not equal to the value is no match.
        let loose = TraceQuery {
            attributes: BTreeMap::from([("mcp.tool".into(), "search".into())]),
            ..q.clone()
        };
        assert!(search(s, &loose, BUDGET).unwrap().traces.is_empty());
        let slow = TraceQuery {
            min_duration_ms: Some(50.0),
            ..q
        };
        assert!(search(s, &slow, BUDGET).unwrap().traces.is_empty());
        assert!(normalize_trace_id("xyz").is_err());
        assert_eq!(
            trace(s, "00000000000000000000000000000001", &Stop::never()).unwrap(),
            None
        );
    }

    #[test]
    fn a_trace_by_id_gives_its_spans_only_from_the_head_and_from_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let t0 = 1_700_000_000_000_000_000;
        // Two batches: each writes the trace's spans and a summary record (`rec=trace`).
        store
            .append_blocking(&[span("00000000000000c1", "", "api", "GET /", t0, 9)])
            .unwrap();
        store
            .append_blocking(&[span(
                "00000000000000c2",
                "00000000000000c1",
                "db",
                "SELECT",
                t0 + 1_000,
                3,
            )])
            .unwrap();
        let s = store.engine();
        let all = |s: &Store| {
            s.search(&equals("trace_id", TRACE), TimeRange::all(), 100, None)
                .unwrap()
                .hits
        };
        let ids = |t: Trace| -> Vec<String> { t.spans.into_iter().map(|s| s.span_id).collect() };
        let records = all(s);
        assert!(
            records
                .iter()
                .any(|h| h.record.values[REC].as_str() == Some(TRACE_REC)),
            "the store holds the trace's summaries too"
        );
        let want = ["00000000000000c1", "00000000000000c2"];
        assert_eq!(ids(trace(s, TRACE, &Stop::never()).unwrap().unwrap()), want);
        assert!(s.flush().unwrap(), "the head is cut into a block");
        assert_eq!(all(s).len(), records.len());
        assert_eq!(ids(trace(s, TRACE, &Stop::never()).unwrap().unwrap()), want);
    }

    #[test]
    fn a_search_that_runs_out_of_its_budget_says_it_is_partial() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let t0 = 1_700_000_000_000_000_000;
        let spans: Vec<SpanLine> = (0..50)
            .map(|i| {
                let mut s = span(&format!("{:016x}", i + 1), "", "api", "GET /", t0 + i, 5);
                s.trace_id = format!("{:032x}", i + 1);
                s.attributes = vec![Attr::text("http.status_code", "200")];
                s
            })
            .collect();
        store.append_blocking(&spans).unwrap();
        let q = TraceQuery {
            conditions: vec![AttrFilter::Greater("http.status_code".into(), 100.0)],
            start: 0.0,
            end: 2e9,
            limit: 100,
            ..Default::default()
        };
        let small = Budget {
            spans: 10,
            ..BUDGET
        };
        let cut = search(store.engine(), &q, small).unwrap();
        assert!(cut.partial);
        assert_eq!(cut.traces.len(), 10);
        assert_eq!(
            cut.traces[0].trace_id,
            format!("{:032x}", 50),
            "newest first"
        );
        let whole = search(store.engine(), &q, BUDGET).unwrap();
        assert!(!whole.partial);
        assert_eq!(whole.traces.len(), 50);
        // Reaching the limit inside the budget is a whole answer.
        let few = TraceQuery { limit: 5, ..q };
        let five = search(store.engine(), &few, small).unwrap();
        assert!(!five.partial && five.traces.len() == 5);
    }

    /// `n` traces of one span each, a second apart, service `api`.
    fn traces(n: usize) -> Vec<SpanLine> {
        let t0 = 1_700_000_000_000_000_000;
        (0..n)
            .map(|i| {
                let mut s = span(&format!("{:016x}", i + 1), "", "api", "GET /", t0, 5);
                s.start_ns = t0 + i as i64 * 1_000_000_000;
                s.end_ns = s.start_ns + 5_000_000;
                s.trace_id = format!("{:032x}", i + 1);
                s
            })
            .collect()
    }

    fn all_of(limit: usize) -> TraceQuery {
        TraceQuery {
            start: 0.0,
            end: 2e9,
            limit,
            ..Default::default()
        }
    }

    #[test]
    fn a_search_whose_time_runs_out_inside_its_one_page_says_it_is_partial() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        // Three blocks and the head: one page of the scan covers them all.
        for part in traces(40).chunks(10) {
            store.append_blocking(part).unwrap();
            store.engine().flush().unwrap();
        }
        let whole = search(store.engine(), &all_of(100), BUDGET).unwrap();
        assert!(!whole.partial);
        assert_eq!(whole.traces.len(), 40);
        let no_time = Budget {
            time: Duration::ZERO,
            ..BUDGET
        };
        let cut = search(store.engine(), &all_of(100), no_time).unwrap();
        assert!(cut.partial, "the scan stops before its first block");
        assert!(cut.traces.is_empty());
    }

    #[test]
    fn a_search_whose_summaries_run_out_of_time_says_it_is_partial() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        store.append_blocking(&traces(5)).unwrap();
        let stop = Stop::at(Instant::now() + BUDGET.time);
        let (ids, cut) = trace_ids(store.engine(), &all_of(10), BUDGET.spans, &stop).unwrap();
        assert_eq!((ids.len(), cut), (5, false));
        let no_time = Budget {
            summaries: Duration::ZERO,
            ..BUDGET
        };
        let late = search(store.engine(), &all_of(10), no_time).unwrap();
        assert!(late.partial);
        assert!(late.traces.is_empty(), "no summary read in part");
    }

    #[test]
    fn a_search_cut_at_max_traces_says_it_is_partial_and_one_that_fits_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let mut spans = traces(MAX_TRACES + 1);
        spans[0].service = "worker".into();
        store.append_blocking(&spans).unwrap();
        let more = search(store.engine(), &all_of(MAX_TRACES * 5), BUDGET).unwrap();
        assert!(
            more.partial,
            "{} matched, {MAX_TRACES} given",
            MAX_TRACES + 1
        );
        assert_eq!(more.traces.len(), MAX_TRACES);
        assert_eq!(more.traces[0].trace_id, format!("{:032x}", MAX_TRACES + 1));
        let api = TraceQuery {
            service: Some("api".into()),
            ..all_of(MAX_TRACES * 5)
        };
        let exact = search(store.engine(), &api, BUDGET).unwrap();
        assert!(!exact.partial, "all {MAX_TRACES} matches given");
        assert_eq!(exact.traces.len(), MAX_TRACES);
        // A limit at the clamp that stops there is a whole answer, as any limit is.
        let at = search(store.engine(), &all_of(MAX_TRACES), BUDGET).unwrap();
        assert!(!at.partial && at.traces.len() == MAX_TRACES);
    }
}
