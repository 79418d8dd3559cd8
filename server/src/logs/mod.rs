//! The embedded log store: the `logstore` crate opened under `<data dir>/logs`, with
//! retention from the configuration, periodic maintenance, bounded queries, ingest
//! counters and the portal's own log lines fed in (see [`selflog`]).
//!
//! The store is synchronous; every call here runs it on a blocking thread. Only
//! `sources::embedded_logs` reads it for the query API, and only the ingest routes and
//! [`selflog`] write to it.

pub mod elastic;
pub mod forward;
pub mod push;
pub mod records;
pub mod selflog;
pub mod tail;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logstore::{
    Cursor, FieldCount, Histogram, Options, Page, Query, Record, Stop, Store, TimeRange,
};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
use tokio::sync::Semaphore;

/// How often the head is checked for a cut (size, bytes or age) and retention applied.
/// Often enough that a fast ingest cuts blocks near `max_block_rows` and holds the head
/// near `max_head_bytes`, instead of growing for a minute past both (10 M spans at full
/// speed once made two 5 M-row span blocks whose id columns every read had to decode).
/// The span store (`crate::traces`) uses it too.
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);

/// How the store keeps and bounds its data, from the portal's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Blocks whose newest line is older than this are dropped.
    pub retention: Duration,
    /// Oldest blocks are dropped while the store is larger; `None`: no size limit.
    pub retention_bytes: Option<u64>,
    /// Queries running at the same time, at most; more wait (up to [`QUERY_WAIT`]).
    pub max_concurrent_queries: usize,
    /// One query may take this long.
    pub query_timeout: Duration,
    /// What one ingest request may carry (line size, lines, fields per line).
    pub limits: records::Limits,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            retention: Duration::from_secs(config.logs_retention_days * 86_400),
            retention_bytes: config.logs_retention_bytes,
            limits: records::Limits::from_config(config),
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
            limits: records::Limits::default(),
        }
    }
}

/// The longest a query waits for a slot before it is refused as busy.
const QUERY_WAIT: Duration = Duration::from_secs(10);

/// Why a store call did not answer.
#[derive(Debug, thiserror::Error)]
pub enum LogStoreError {
    /// The request itself is wrong (query syntax, cursor): a 4xx.
    #[error("{0}")]
    Refused(String),
    /// An append over one of the store's limits, named by its configuration key: a 4xx.
    #[error("{}", .0.message)]
    Limit(records::Refusal),
    /// Too many queries or writes at once: retry.
    #[error("the log store is busy; retry in a second")]
    Busy,
    #[error("the log query took longer than {0} ms")]
    Timeout(u64),
    /// A failure of the store itself (I/O, corruption); the detail is logged, not shown.
    #[error("the log store failed: {0}")]
    Failed(String),
}

impl From<logstore::Error> for LogStoreError {
    fn from(e: logstore::Error) -> Self {
        match e {
            logstore::Error::Limit(l) => LogStoreError::Limit(records::Limits::refusal(&l)),
            logstore::Error::InvalidRecord { .. }
            | logstore::Error::Parse(_)
            | logstore::Error::InvalidQuery(_) => LogStoreError::Refused(e.to_string()),
            other => LogStoreError::Failed(other.to_string()),
        }
    }
}

/// The store with its query gate and counters.
pub struct LogStore {
    store: Arc<Store>,
    settings: Settings,
    queries: Arc<Semaphore>,
    /// `keiko_log_lines_ingested_total{protocol}`: lines stored.
    accepted: IntCounterVec,
    /// `keiko_log_lines_refused_total{protocol,reason}`: lines not stored.
    refused: IntCounterVec,
    /// The open live tails, offered every acknowledged batch.
    tails: tail::Tails,
    /// `keiko_log_store_bytes` (blocks and WAL on disk), `keiko_log_store_blocks`, and
    /// `keiko_log_store_blocks_dropped_total` (by retention), as of the last maintenance.
    disk: DiskGauges,
}

#[derive(Clone)]
struct DiskGauges {
    bytes: IntGauge,
    blocks: IntGauge,
    dropped: IntCounter,
}

impl DiskGauges {
    fn new() -> DiskGauges {
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid gauge");
        DiskGauges {
            bytes: gauge(
                "keiko_log_store_bytes",
                "Bytes of the embedded log store on disk: blocks and WAL",
            ),
            blocks: gauge("keiko_log_store_blocks", "Blocks in the embedded log store"),
            dropped: IntCounter::new(
                "keiko_log_store_blocks_dropped_total",
                "Blocks of the embedded log store dropped by retention (age or size)",
            )
            .expect("valid counter"),
        }
    }

    fn update(&self, store: &Store, dropped: u64) {
        let stats = store.stats();
        let bytes = stats.block_bytes.saturating_add(stats.wal_bytes);
        self.bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        self.blocks
            .set(i64::try_from(stats.blocks.len()).unwrap_or(i64::MAX));
        self.dropped.inc_by(dropped);
    }
}

impl LogStore {
    /// Opens (or creates) the store in `dir`, replaying its WAL.
    pub fn open(dir: &Path, settings: Settings) -> Result<Arc<LogStore>, logstore::Error> {
        // The store's limits are the configured ones (`records::Limits::store`). Ingest
        // asks the store's own check of each record it reads, so an append refuses a batch
        // whole only for its total size (`logs_max_request_bytes`, the store's
        // `max_batch_bytes`, 64 MiB unless configured); that refusal names the key too.
        // The portal's own lines are written in batches within it (`selflog`).
        let opts = Options {
            retention_ns: Some(settings.retention.as_nanos().min(i64::MAX as u128) as i64),
            retention_bytes: settings.retention_bytes,
            limits: settings.limits.store(),
            ..Options::default()
        };
        let store = Store::open(dir, logstore::Schema::logs(), opts)?;
        let disk = DiskGauges::new();
        disk.update(&store, 0);
        let accepted = IntCounterVec::new(
            Opts::new(
                "keiko_log_lines_ingested_total",
                "Log lines stored in the embedded log store, by protocol",
            ),
            &["protocol"],
        )
        .expect("valid counter");
        let refused = IntCounterVec::new(
            Opts::new(
                "keiko_log_lines_refused_total",
                "Log lines not stored, by protocol and reason",
            ),
            &["protocol", "reason"],
        )
        .expect("valid counter");
        Ok(Arc::new(LogStore {
            store: Arc::new(store),
            queries: Arc::new(Semaphore::new(settings.max_concurrent_queries.max(1))),
            settings,
            accepted,
            refused,
            tails: tail::Tails::default(),
            disk,
        }))
    }

    /// What one ingest request may carry.
    pub fn limits(&self) -> &records::Limits {
        &self.settings.limits
    }

    /// The counters, for the portal's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.accepted.clone()),
            Box::new(self.refused.clone()),
            Box::new(selflog::DROPPED.clone()),
            Box::new(self.disk.bytes.clone()),
            Box::new(self.disk.blocks.clone()),
            Box::new(self.disk.dropped.clone()),
        ]
    }

    /// Counts `n` lines of `protocol` stored.
    pub fn count_accepted(&self, protocol: &str, n: usize) {
        self.accepted
            .with_label_values(&[protocol])
            .inc_by(n as u64);
    }

    /// Appends on the calling (blocking) thread, without counting.
    pub(crate) fn append_blocking(&self, records: &[Record]) -> Result<u64, logstore::Error> {
        let first_seq = self.store.append(records)?;
        if self.tails.watched() {
            self.tails.publish(&Arc::new(tail::Batch {
                first_seq,
                records: records.to_vec(),
            }));
        }
        Ok(first_seq)
    }

    /// Opens a live tail of the lines matching `query` stored from now on, sending at most
    /// `rate` lines per second; busy when [`tail::MAX_TAILS`] are open.
    pub fn tail(&self, query: Query, rate: u32) -> Result<tail::Tail, LogStoreError> {
        self.tails.open(query, rate).ok_or(LogStoreError::Busy)
    }

    /// Counts `n` lines of `protocol` refused for `reason`.
    pub fn count_refused(&self, protocol: &str, reason: &str, n: usize) {
        if n == 0 {
            return;
        }
        self.refused
            .with_label_values(&[protocol, reason])
            .inc_by(n as u64);
    }

    /// Stores `records` as one all-or-nothing batch; `Ok` once durable (WAL fsynced).
    pub async fn append(
        &self,
        protocol: &str,
        records: Vec<Record>,
    ) -> Result<usize, LogStoreError> {
        let n = records.len();
        self.append_at(protocol, records).await.map(|_| n)
    }

    /// [`LogStore::append`], answering the sequence number of the first record (the
    /// others follow it in order): a line's id is `<time ns>.<seq>`.
    pub async fn append_at(
        &self,
        protocol: &str,
        records: Vec<Record>,
    ) -> Result<u64, LogStoreError> {
        let n = records.len();
        if n == 0 {
            return Ok(0);
        }
        let store = self.store.clone();
        let done = crate::cpu::INGEST
            .run(move || store.append(&records).map(|first| (first, records)))
            .await;
        match done {
            Ok(Ok((first_seq, records))) => {
                self.accepted
                    .with_label_values(&[protocol])
                    .inc_by(n as u64);
                self.tails
                    .publish(&Arc::new(tail::Batch { first_seq, records }));
                Ok(first_seq)
            }
            Ok(Err(e)) => {
                let e = LogStoreError::from(e);
                let reason = match e {
                    LogStoreError::Limit(_) => "limit",
                    LogStoreError::Refused(_) => "invalid_record",
                    _ => "store_error",
                };
                self.count_refused(protocol, reason, n);
                Err(e)
            }
            Err(_) => {
                self.count_refused(protocol, "busy", n);
                Err(LogStoreError::Busy)
            }
        }
    }

    /// Runs one read on a blocking thread, gated by the concurrency limit and the timeout.
    /// The job holds its permit until it ends, so a read the caller gave up on still
    /// counts against the limit; reads that can stop early get the deadline as a [`Stop`]
    /// and end within one segment of it.
    async fn read<T, F>(&self, job: F) -> Result<T, LogStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Stop) -> Result<T, logstore::Error> + Send + 'static,
    {
        let permit = tokio::time::timeout(QUERY_WAIT, self.queries.clone().acquire_owned())
            .await
            .map_err(|_| LogStoreError::Busy)?
            .map_err(|_| LogStoreError::Busy)?;
        let store = self.store.clone();
        let timeout = self.settings.query_timeout;
        let stop = Stop::at(Instant::now() + timeout);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job(&store, &stop)
        });
        let timed_out = LogStoreError::Timeout(timeout.as_millis() as u64);
        match tokio::time::timeout(timeout, task).await {
            Err(_) | Ok(Ok(Err(logstore::Error::Stopped))) => Err(timed_out),
            Ok(Err(join)) => Err(LogStoreError::Failed(join.to_string())),
            Ok(Ok(r)) => r.map_err(LogStoreError::from),
        }
    }

    pub async fn search(
        &self,
        query: Query,
        range: TimeRange,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> Result<Page, LogStoreError> {
        self.read(move |s, stop| {
            let page = s.search_until(&query, range, limit, cursor, stop)?;
            // A page cut by the deadline is not an answer: the caller gets the timeout.
            if page.stopped {
                return Err(logstore::Error::Stopped);
            }
            Ok(page)
        })
        .await
    }

    /// The oldest `limit` lines matching `query` in `range` after `after`, oldest first.
    pub async fn search_after(
        &self,
        query: Query,
        range: TimeRange,
        limit: usize,
        after: Cursor,
    ) -> Result<Vec<logstore::Hit>, LogStoreError> {
        self.read(move |s, _| s.search_after(&query, range, limit, after))
            .await
    }

    pub async fn histogram(
        &self,
        query: Query,
        range: TimeRange,
        interval_ns: i64,
    ) -> Result<Histogram, LogStoreError> {
        self.read(move |s, _| s.histogram(&query, range, interval_ns))
            .await
    }

    pub async fn fields(
        &self,
        query: Query,
        range: TimeRange,
    ) -> Result<Vec<FieldCount>, LogStoreError> {
        self.read(move |s, _| s.fields(&query, range)).await
    }

    pub async fn field_values(
        &self,
        query: Query,
        range: TimeRange,
        field: String,
        limit: usize,
    ) -> Result<Vec<FieldCount>, LogStoreError> {
        self.read(move |s, stop| s.field_values_until(&query, range, &field, limit, stop))
            .await
    }

    /// Most lines one search returns.
    pub fn max_limit(&self) -> usize {
        self.store.options().limits.max_query_limit
    }

    /// Most histogram buckets one request may ask for.
    pub fn max_buckets(&self) -> usize {
        self.store.options().limits.max_histogram_buckets
    }

    /// Head cut (when due) and retention every [`MAINTENANCE_EVERY`], on a blocking thread,
    /// until the process ends; the disk gauges follow each run.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let store = self.store.clone();
        let disk = self.disk.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
            loop {
                tick.tick().await;
                let (s, disk) = (store.clone(), disk.clone());
                let done = tokio::task::spawn_blocking(move || {
                    let report = s.maintain(now_ns());
                    disk.update(&s, report.as_ref().map_or(0, |r| r.blocks_dropped));
                    report
                })
                .await;
                match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, error_type = "LogStoreMaintenance", "Log store maintenance failed")
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, error_type = "LogStoreMaintenance", "Log store maintenance stopped")
                    }
                }
            }
        });
    }
}

/// The query language's page (docs/LOG_QUERY.md) as HTML, rendered once.
pub fn syntax_html() -> &'static str {
    static HTML: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        crate::markdown::render_page(include_str!("../../../docs/LOG_QUERY.md"))
    });
    &HTML
}

/// Now, in Unix nanoseconds.
pub fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_push_over_the_request_bytes_is_refused_at_append_naming_the_key_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            limits: records::Limits {
                line_bytes: 1000,
                request_bytes: 2500,
                ..records::Limits::default()
            },
            ..Settings::default()
        };
        let store = LogStore::open(dir.path(), settings).unwrap();
        let line = |body: &str| Record::log(1, 9, "api", body);
        // Each record within logs_max_line_bytes, together over logs_max_request_bytes.
        let batch = vec![line(&"x".repeat(900)); 3];
        let limits = *store.limits();
        for r in &batch {
            assert!(limits.store().check_record(r).is_ok());
        }
        match store.append("jsonl", batch).await {
            Err(LogStoreError::Limit(r)) => {
                assert_eq!(r.limit, Some(records::Limits::REQUEST_BYTES));
                assert!(
                    r.message
                        .ends_with("over the limit logs_max_request_bytes = 2500"),
                    "{r}"
                );
            }
            other => panic!("expected a limit, got {other:?}"),
        }
        let refused = store.refused.with_label_values(&["jsonl", "limit"]).get();
        assert_eq!(refused, 3);
        assert_eq!(store.append("jsonl", vec![line("fits")]).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_read_past_its_deadline_answers_timeout_and_holds_its_permit_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            query_timeout: Duration::ZERO,
            max_concurrent_queries: 1,
            ..Settings::default()
        };
        let store = LogStore::open(dir.path(), settings).unwrap();
        store
            .append("jsonl", vec![Record::log(1, 9, "api", "hello")])
            .await
            .unwrap();
        let all = || logstore::parse("hello").unwrap();
        // The deadline is due before the first segment: no partial page, a timeout.
        let found = store.search(all(), TimeRange::all(), 10, None).await;
        assert!(matches!(found, Err(LogStoreError::Timeout(0))), "{found:?}");
        let values = store
            .field_values(all(), TimeRange::all(), "service".into(), 10)
            .await;
        assert!(
            matches!(values, Err(LogStoreError::Timeout(0))),
            "{values:?}"
        );
        // The permit comes back once the blocking job has ended.
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.queries.available_permits() == 0 {
            assert!(Instant::now() < deadline, "the permit was never given back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
