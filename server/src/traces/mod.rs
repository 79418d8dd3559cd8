//! The embedded span store: the `logstore` block engine opened under `<data dir>/traces`
//! with the spans schema ([`records`]), retention from the configuration, periodic
//! maintenance, bounded reads, ingest counters, the services-and-operations table
//! ([`catalog`]) and the portal's own spans fed in ([`selfspans`]).
//!
//! The store is synchronous; every call here runs it on a blocking thread. Only
//! `sources::embedded_traces` reads it for the query APIs, and only the ingest routes and
//! [`selfspans`] write to it.

pub mod aggregates;
pub mod catalog;
pub mod push;
pub mod records;
pub mod red;
pub mod selfspans;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ingest::spans::SpanLine;
use logstore::{Options, Record, Store};
use prometheus::{IntCounter, IntCounterVec, Opts};
use records::SpanFacts;
use tokio::sync::Semaphore;

use crate::logs::{now_ns, MAINTENANCE_EVERY};
use aggregates::Aggregates;
use catalog::Catalog;

/// How the store keeps and bounds its data, from the portal's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Blocks whose newest span is older than this are dropped.
    pub retention: Duration,
    /// Oldest blocks are dropped while the store is larger; `None`: no size limit.
    pub retention_bytes: Option<u64>,
    /// Reads running at the same time, at most; more wait (up to [`QUERY_WAIT`]).
    pub max_concurrent_queries: usize,
    /// One read may take this long.
    pub query_timeout: Duration,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            retention: Duration::from_secs(config.traces_retention_days * 86_400),
            retention_bytes: config.traces_retention_bytes,
            ..Default::default()
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retention: Duration::from_secs(7 * 86_400),
            retention_bytes: None,
            max_concurrent_queries: 4,
            query_timeout: Duration::from_secs(30),
        }
    }
}

/// The longest a read waits for a slot before it is refused as busy.
const QUERY_WAIT: Duration = Duration::from_secs(10);

/// Why a store call did not answer.
#[derive(Debug, thiserror::Error)]
pub enum TraceStoreError {
    /// The request itself is wrong (limits, a bad filter): a 4xx.
    #[error("{0}")]
    Refused(String),
    #[error("the span store is busy; retry in a second")]
    Busy,
    #[error("the trace query took longer than {0} ms")]
    Timeout(u64),
    /// A failure of the store itself (I/O, corruption); the detail is logged, not shown.
    #[error("the span store failed: {0}")]
    Failed(String),
    /// A read given a [`logstore::Stop`] stopped when it came due; [`TraceStore::read_until`]
    /// gives it back as [`TraceStoreError::Timeout`].
    #[error("the read stopped at its deadline")]
    Stopped,
}

impl From<logstore::Error> for TraceStoreError {
    fn from(e: logstore::Error) -> Self {
        match e {
            logstore::Error::Limit(_)
            | logstore::Error::InvalidRecord { .. }
            | logstore::Error::Parse(_)
            | logstore::Error::InvalidQuery(_) => TraceStoreError::Refused(e.to_string()),
            other => TraceStoreError::Failed(other.to_string()),
        }
    }
}

/// Spans of one append: stored, and refused (too large once stored) with the first reason.
#[derive(Debug, Default)]
pub struct Appended {
    pub stored: usize,
    pub refused: usize,
    pub reason: String,
}

/// The store with its read gate, its table of services and operations, and counters.
pub struct TraceStore {
    store: Arc<Store>,
    catalog: Arc<Mutex<Catalog>>,
    /// RED per minute and the service-to-service edges, kept at ingest.
    aggregates: Arc<Mutex<Aggregates>>,
    settings: Settings,
    queries: Semaphore,
    /// `keiko_spans_ingested_total{protocol}`: spans stored.
    accepted: IntCounterVec,
    /// `keiko_spans_refused_total{protocol,reason}`: spans not stored.
    refused: IntCounterVec,
    /// `keiko_trace_red_keys_refused_total`: new RED keys refused (the table was full).
    red_refused: IntCounter,
    /// `keiko_trace_catalog_names_refused_total`: new (service, operation) names the
    /// services table refused (it was full), each once per batch.
    catalog_refused: IntCounter,
    /// Services-table scans still running: each holds the store (and so its directory
    /// lock) until it ends, so dropping the `TraceStore` stops them and waits for them.
    scans: Mutex<Vec<std::thread::JoinHandle<ScanEnd>>>,
    /// Raised by [`TraceStore::stop_scans`]: a running scan stops before its next block.
    scans_stop: Arc<AtomicBool>,
}

/// How a services-table scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    /// The table was rebuilt.
    Done,
    /// Stopped at a block boundary by [`TraceStore::stop_scans`]; the table was kept.
    Cancelled,
    /// The store failed (logged); the table was kept.
    Failed,
}

impl TraceStore {
    /// Opens (or creates) the store in `dir`, replaying its WAL, and rebuilds the RED
    /// table from its `red` records; the services table is rebuilt from the stored spans
    /// on a thread of its own.
    pub fn open(dir: &Path, settings: Settings) -> Result<Arc<TraceStore>, logstore::Error> {
        let opts = Options {
            retention_ns: Some(settings.retention.as_nanos().min(i64::MAX as u128) as i64),
            retention_bytes: settings.retention_bytes,
            ..Options::default()
        };
        let store = Arc::new(Store::open(dir, records::schema(), opts)?);
        let accepted = IntCounterVec::new(
            Opts::new(
                "keiko_spans_ingested_total",
                "Spans stored in the embedded span store, by protocol",
            ),
            &["protocol"],
        )
        .expect("valid counter");
        let refused = IntCounterVec::new(
            Opts::new(
                "keiko_spans_refused_total",
                "Spans not stored, by protocol and reason",
            ),
            &["protocol", "reason"],
        )
        .expect("valid counter");
        let red_refused = IntCounter::new(
            "keiko_trace_red_keys_refused_total",
            "New service, operation or edge keys the RED table refused because it was full",
        )
        .expect("valid counter");
        let catalog_refused = IntCounter::new(
            "keiko_trace_catalog_names_refused_total",
            "New service and operation names the services table refused because it was full",
        )
        .expect("valid counter");
        let red = red::RedTable::rebuild(&store)?;
        let traces = Arc::new(TraceStore {
            store,
            catalog: Default::default(),
            aggregates: Arc::new(Mutex::new(Aggregates::with_table(red))),
            red_refused,
            catalog_refused,
            queries: Semaphore::new(settings.max_concurrent_queries.max(1)),
            settings,
            accepted,
            refused,
            scans: Mutex::new(Vec::new()),
            scans_stop: Arc::new(AtomicBool::new(false)),
        });
        traces.rebuild_catalog();
        Ok(traces)
    }

    /// Rebuilds the services table from the store, off the caller's thread.
    fn rebuild_catalog(&self) {
        let store = self.store.clone();
        let table = self.catalog.clone();
        let stop = logstore::Stop::on(self.scans_stop.clone());
        catalog::lock(&table).scan_started();
        let spawned = std::thread::Builder::new()
            .name("keiko-span-catalog".into())
            .spawn(move || match catalog::scan(&store, &stop) {
                Ok(found) => {
                    catalog::lock(&table).replace_with(found);
                    ScanEnd::Done
                }
                Err(logstore::Error::Stopped) => ScanEnd::Cancelled,
                Err(err) => {
                    tracing::warn!(error = %err, error_type = "SpanStoreCatalog", "Rebuilding the services table failed");
                    ScanEnd::Failed
                }
            });
        let mut scans = self.scans.lock().unwrap_or_else(|e| e.into_inner());
        scans.retain(|h| !h.is_finished());
        scans.extend(spawned.ok());
    }

    /// Drops the RED minutes older than the store's oldest block (retention dropped
    /// blocks); with no block left, those older than the age retention (the head may hold
    /// anything newer).
    fn trim_aggregates(&self) {
        let stats = self.store.stats();
        let oldest = stats.blocks.iter().map(|b| b.min_time).min();
        let retention = self.settings.retention.as_nanos().min(i64::MAX as u128) as i64;
        let cutoff = oldest.unwrap_or_else(|| now_ns().saturating_sub(retention));
        aggregates::lock(&self.aggregates).red.drop_before(cutoff);
    }

    /// The counters, for the portal's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.accepted.clone()),
            Box::new(self.refused.clone()),
            Box::new(self.red_refused.clone()),
            Box::new(self.catalog_refused.clone()),
            Box::new(selfspans::DROPPED.clone()),
        ]
    }

    /// Counts `n` spans of `protocol` refused for `reason`.
    pub fn count_refused(&self, protocol: &str, reason: &str, n: usize) {
        if n > 0 {
            self.refused
                .with_label_values(&[protocol, reason])
                .inc_by(n as u64);
        }
    }

    /// Stores `spans` as one all-or-nothing WAL record (spans and their partial trace
    /// summaries), on the calling (blocking) thread. A span too large once stored is left
    /// out and reported; `Ok` means every other span is durable.
    pub fn append_blocking(&self, spans: &[SpanLine]) -> Result<Appended, TraceStoreError> {
        self.append_owned(spans.to_vec())
    }

    /// [`TraceStore::append_blocking`] of spans the caller gives up: their strings move
    /// into the records (no copy per span); the summaries, RED and the services table read
    /// them there.
    pub fn append_owned(&self, spans: Vec<SpanLine>) -> Result<Appended, TraceStoreError> {
        let schema = self.store.schema();
        let max = self.store.options().limits.max_record_bytes;
        let mut out = Appended::default();
        let mut batch: Vec<Record> = Vec::with_capacity(spans.len() + spans.len() / 8 + 16);
        let mut kinds = Vec::with_capacity(spans.len());
        for s in spans {
            let kind = s.kind;
            match records::span_record_owned(schema, s, max) {
                Ok(r) => {
                    batch.push(r);
                    kinds.push(kind);
                }
                Err(reason) => {
                    out.refused += 1;
                    if out.reason.is_empty() {
                        out.reason = reason;
                    }
                }
            }
        }
        let stored = batch.len();
        if stored == 0 {
            return Ok(out);
        }
        let facts: Vec<SpanFacts<'_>> = batch
            .iter()
            .zip(&kinds)
            .map(|(r, &kind)| SpanFacts::of_record(r, kind))
            .collect();
        let mut summaries = records::summary_records(&facts);
        let new_names = self.in_catalog(|c| c.missing(&facts));
        let written = {
            // One lock over prepare, WAL write and commit: the table follows the WAL's
            // order. The fsync comes after, outside it, shared with concurrent appends.
            let mut agg = aggregates::lock(&self.aggregates);
            let refused_before = agg.red.keys_refused;
            let mut prepared = agg.prepare(&facts, schema.columns().len());
            self.red_refused
                .inc_by(agg.red.keys_refused - refused_before);
            drop(facts);
            batch.append(&mut summaries);
            batch.append(&mut prepared.records);
            let written = self.store.write(&batch)?;
            agg.commit(prepared);
            written
        };
        // The head copied what it keeps (values new to its dictionaries): a scratch
        // harness writing 1 M seed-shaped records found that faster than moving the
        // strings in and freeing the duplicates one by one.
        drop(batch);
        self.store.sync(written)?;
        if !new_names.is_empty() {
            self.in_catalog(|c| c.add_new(&new_names));
        }
        out.stored = stored;
        Ok(out)
    }

    /// `f` on the services table, its refusals counted.
    fn in_catalog<T>(&self, f: impl FnOnce(&mut Catalog) -> T) -> T {
        let mut table = catalog::lock(&self.catalog);
        let before = table.refused;
        let out = f(&mut table);
        self.catalog_refused.inc_by(table.refused - before);
        out
    }

    /// [`TraceStore::append_blocking`] on `cpu::INGEST`, counted under `protocol`.
    pub async fn append(
        self: &Arc<Self>,
        protocol: &'static str,
        spans: Vec<SpanLine>,
    ) -> Result<Appended, TraceStoreError> {
        let n = spans.len();
        if n == 0 {
            return Ok(Appended::default());
        }
        let me = self.clone();
        let done = crate::cpu::INGEST.run(move || me.append_owned(spans)).await;
        match done {
            Ok(Ok(a)) => {
                self.accepted
                    .with_label_values(&[protocol])
                    .inc_by(a.stored as u64);
                self.count_refused(protocol, "too_large", a.refused);
                Ok(a)
            }
            Ok(Err(e)) => {
                let reason = match e {
                    TraceStoreError::Refused(_) => "limit",
                    _ => "store_error",
                };
                self.count_refused(protocol, reason, n);
                Err(e)
            }
            Err(_) => {
                self.count_refused(protocol, "busy", n);
                Err(TraceStoreError::Busy)
            }
        }
    }

    /// The engine, for reads on the caller's (blocking) thread.
    pub fn engine(&self) -> &Store {
        &self.store
    }

    /// Runs one read on a blocking thread, gated by the concurrency limit and the timeout.
    pub(crate) async fn read<T, F>(&self, job: F) -> Result<T, TraceStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Mutex<Catalog>, &Mutex<Aggregates>) -> Result<T, TraceStoreError>
            + Send
            + 'static,
    {
        let _permit = tokio::time::timeout(QUERY_WAIT, self.queries.acquire())
            .await
            .map_err(|_| TraceStoreError::Busy)?
            .map_err(|_| TraceStoreError::Busy)?;
        let store = self.store.clone();
        let table = self.catalog.clone();
        let agg = self.aggregates.clone();
        let task = tokio::task::spawn_blocking(move || job(&store, &table, &agg));
        let timeout = self.settings.query_timeout;
        match tokio::time::timeout(timeout, task).await {
            Err(_) => Err(TraceStoreError::Timeout(timeout.as_millis() as u64)),
            Ok(Err(join)) => Err(TraceStoreError::Failed(join.to_string())),
            Ok(Ok(r)) => r,
        }
    }

    /// [`TraceStore::read`] of a job that reads until a [`logstore::Stop`]: due at
    /// `deadline` or at the read's timeout, whichever is sooner, and as soon as the caller
    /// stops waiting (the timeout answered the request, or the request was dropped), so
    /// the blocking thread stops at its next block rather than reading on for nobody. A job
    /// that stopped ([`TraceStoreError::Stopped`]) is answered as a timeout.
    pub(crate) async fn read_until<T, F>(
        &self,
        deadline: Option<Instant>,
        job: F,
    ) -> Result<T, TraceStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &logstore::Stop) -> Result<T, TraceStoreError> + Send + 'static,
    {
        let started = Instant::now();
        let mut due = started + self.settings.query_timeout;
        if let Some(d) = deadline {
            due = due.min(d);
        }
        let gone = Arc::new(AtomicBool::new(false));
        let _raise = RaiseOnDrop(gone.clone());
        let stop = logstore::Stop::at_or_on(due, gone);
        match self.read(move |s, _, _| job(s, &stop)).await {
            Err(TraceStoreError::Stopped) => Err(TraceStoreError::Timeout(
                started.elapsed().as_millis() as u64,
            )),
            other => other,
        }
    }

    /// Head cut (when due) and retention every [`MAINTENANCE_EVERY`], on a blocking thread,
    /// until the process ends;
    /// after blocks were dropped, the services table is rebuilt.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
            loop {
                tick.tick().await;
                let s = me.store.clone();
                let done = tokio::task::spawn_blocking(move || s.maintain(now_ns())).await;
                match done {
                    Ok(Ok(report)) if report.blocks_dropped > 0 => {
                        me.trim_aggregates();
                        me.rebuild_catalog()
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, error_type = "SpanStoreMaintenance", "Span store maintenance failed")
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, error_type = "SpanStoreMaintenance", "Span store maintenance stopped")
                    }
                }
            }
        });
    }
}

/// Raises its flag when dropped: a read's caller that stopped waiting tells the read.
struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl TraceStore {
    /// Stops the services-table scans before their next block and waits for them, with
    /// how each ended; scans started later stop at once. For [`Drop`].
    fn stop_scans(&self) -> Vec<ScanEnd> {
        self.scans_stop.store(true, Ordering::Relaxed);
        let scans = std::mem::take(&mut *self.scans.lock().unwrap_or_else(|e| e.into_inner()));
        scans
            .into_iter()
            .map(|h| h.join().unwrap_or(ScanEnd::Failed))
            .collect()
    }
}

impl Drop for TraceStore {
    /// Stops the services-table scans (at their next block) and waits for them, so that
    /// the store's directory lock is free once the `TraceStore` is gone (a reopen right
    /// after a drop otherwise races the scan) without waiting out a whole scan.
    fn drop(&mut self) {
        self.stop_scans();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn a_read_that_times_out_stops_its_blocking_thread() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            query_timeout: Duration::from_millis(50),
            ..Settings::default()
        };
        let store = TraceStore::open(dir.path(), settings).unwrap();
        let (tx, rx) = mpsc::channel();
        let answer = store
            .read_until(None, move |_, stop| {
                let started = Instant::now();
                while !stop.due() && started.elapsed() < Duration::from_secs(20) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                tx.send((stop.due(), started.elapsed())).unwrap();
                Err::<(), _>(TraceStoreError::Stopped)
            })
            .await;
        assert!(
            matches!(answer, Err(TraceStoreError::Timeout(_))),
            "{answer:?}"
        );
        let (due, ran) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(due && ran < Duration::from_secs(2), "{ran:?}");
        // A read that finishes in time answers, and one given an earlier deadline stops there.
        let ok = store.read_until(None, |_, _| Ok(7)).await.unwrap();
        assert_eq!(ok, 7);
        let early = store
            .read_until(Some(Instant::now()), |_, stop| {
                if stop.due() {
                    Err(TraceStoreError::Stopped)
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(
            matches!(early, Err(TraceStoreError::Timeout(_))),
            "{early:?}"
        );
    }
}
