//! Scale-out by remote-write: every sample the embedded store accepts is sent on to one or
//! more Prometheus remote-write 1.0 receivers (VictoriaMetrics, Mimir, Prometheus with
//! `--web.enable-remote-write-receiver`).
//!
//! The append path calls [`Forwarder::enqueue`] after a successful commit; it never blocks
//! and never fails. Each target has its own bounded queue (samples, shared between targets
//! by reference) and its own task, which sends batches of at most `max_batch` samples (or
//! what arrived within `batch_wait`) as a snappy-compressed `prometheus.WriteRequest`.
//!
//! - 2xx: the batch is done (`keiko_remote_write_samples_sent_total`).
//! - 429, 5xx, network errors and timeouts: the same batch again after an exponential
//!   backoff with jitter (`keiko_remote_write_retries_total`), for as long as it takes.
//! - other statuses: the batch is dropped (`…_dropped_total{reason="rejected"}`), logged
//!   with the status and the start of the answer.
//! - a full queue drops its oldest samples (`…_dropped_total{reason="queue_full"}`), the
//!   batch being retried first: ingest never waits for a receiver, memory never grows.
//!
//! A sample is counted once: as sent, or as dropped. Dropping the [`Forwarder`] ends its tasks
//! (what is still queued is lost; a clean shutdown is not attempted).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingest::prompb;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};
use prost::Message;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use tokio::sync::{watch, Notify};

use super::LabelPairs;
use crate::outbound;

/// How much of a refusing receiver's answer is logged.
const LOGGED_ANSWER_BYTES: usize = 200;
/// How much of an accepting receiver's answer is read (so the connection can be reused).
const READ_SUCCESS_BYTES: usize = 64 * 1024;
/// Repeated failures of one target are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// One receiver: `url` is its write endpoint, e.g. `http://vm:8428/api/v1/write`.
#[derive(Clone)]
pub struct ForwardTarget {
    pub url: String,
    /// `(username, password)` for HTTP Basic.
    pub basic_auth: Option<(String, String)>,
    /// `Authorization: Bearer <this>`.
    pub bearer: Option<String>,
    /// Per request, connecting included.
    pub timeout: Duration,
}

impl ForwardTarget {
    /// A target without credentials and a 30 s timeout.
    pub fn new(url: impl Into<String>) -> ForwardTarget {
        ForwardTarget {
            url: url.into(),
            basic_auth: None,
            bearer: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// Targets from a comma-separated list of URLs (`KEIKO_REMOTE_WRITE_URLS`); blanks are
    /// skipped. The URLs are checked by [`Forwarder::start`].
    pub fn from_list(urls: &str) -> Vec<ForwardTarget> {
        urls.split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(ForwardTarget::new)
            .collect()
    }
}

impl fmt::Debug for ForwardTarget {
    /// Secrets never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardTarget")
            .field("url", &self.url)
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(user, _)| (user, "<secret>")),
            )
            .field("bearer", &self.bearer.as_ref().map(|_| "<secret>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Tuning shared by every target.
#[derive(Clone, Debug)]
pub struct ForwardOptions {
    /// Samples a target's queue holds before the oldest are dropped.
    pub queue_capacity: usize,
    /// Samples per request at most.
    pub max_batch: usize,
    /// A smaller batch is sent once its first sample has waited this long.
    pub batch_wait: Duration,
    /// First retry delay; doubled per failed attempt…
    pub min_backoff: Duration,
    /// …up to this.
    pub max_backoff: Duration,
    /// Allow receivers on link-local and cloud-metadata addresses (as for data sources).
    pub allow_link_local: bool,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            queue_capacity: 500_000,
            max_batch: 2_000,
            batch_wait: Duration::from_secs(1),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            allow_link_local: false,
        }
    }
}

/// Why the forwarder did not start.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("remote-write URL `{url}` is refused: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("remote-write target `{url}` has both basic auth and a bearer token; pick one")]
    TwoAuths { url: String },
    #[error("remote-write URL `{url}` is listed twice")]
    Duplicate { url: String },
    #[error("remote-write {field} must be at least 1")]
    Zero { field: &'static str },
}

/// The forwarder's own metric families, one series per target URL (`url` is the URL
/// without its query string, so tokens passed as parameters stay out of labels).
#[derive(Clone)]
struct ForwardMetrics {
    samples_sent: IntCounterVec,
    samples_dropped: IntCounterVec,
    retries: IntCounterVec,
    queue_samples: IntGaugeVec,
    last_send: GaugeVec,
}

impl ForwardMetrics {
    fn new() -> ForwardMetrics {
        let counter = |name, help, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter")
        };
        ForwardMetrics {
            samples_sent: counter(
                "keiko_remote_write_samples_sent_total",
                "Samples a remote-write receiver accepted.",
                &["url"],
            ),
            samples_dropped: counter(
                "keiko_remote_write_samples_dropped_total",
                "Samples not forwarded: queue_full (oldest dropped) or rejected (4xx answer).",
                &["url", "reason"],
            ),
            retries: counter(
                "keiko_remote_write_retries_total",
                "Remote-write requests retried after a 5xx, 429 or network error.",
                &["url"],
            ),
            queue_samples: IntGaugeVec::new(
                Opts::new(
                    "keiko_remote_write_queue_samples",
                    "Samples waiting to be forwarded, the batch in flight included.",
                ),
                &["url"],
            )
            .expect("valid gauge"),
            last_send: GaugeVec::new(
                Opts::new(
                    "keiko_remote_write_last_send_timestamp_seconds",
                    "When a remote-write receiver last accepted a batch (Unix seconds).",
                ),
                &["url"],
            )
            .expect("valid gauge"),
        }
    }

    /// Every series of a target exists from the start, at 0, so `rate()` sees the first event.
    fn announce(&self, url: &str) {
        self.samples_sent.with_label_values(&[url]);
        for reason in [Dropped::QueueFull, Dropped::Rejected] {
            self.samples_dropped
                .with_label_values(&[url, reason.as_str()]);
        }
        self.retries.with_label_values(&[url]);
        self.queue_samples.with_label_values(&[url]);
        self.last_send.with_label_values(&[url]);
    }

    fn dropped(&self, url: &str, reason: Dropped, n: usize) {
        if n > 0 {
            self.samples_dropped
                .with_label_values(&[url, reason.as_str()])
                .inc_by(n as u64);
        }
    }
}

#[derive(Clone, Copy)]
enum Dropped {
    QueueFull,
    Rejected,
}

impl Dropped {
    fn as_str(self) -> &'static str {
        match self {
            Dropped::QueueFull => "queue_full",
            Dropped::Rejected => "rejected",
        }
    }
}

/// Sends what the store accepts on to remote-write receivers; see the module docs.
pub struct Forwarder {
    targets: Vec<Arc<TargetQueue>>,
    metrics: ForwardMetrics,
    /// Never sent on: its drop (with the forwarder's) ends the tasks.
    _stop: watch::Sender<()>,
}

impl Forwarder {
    /// Checks the targets and spawns one task per target on the current tokio runtime.
    pub fn start(
        targets: Vec<ForwardTarget>,
        options: ForwardOptions,
    ) -> Result<Arc<Forwarder>, ForwardError> {
        for (field, value) in [
            ("queue_capacity", options.queue_capacity),
            ("max_batch", options.max_batch),
        ] {
            if value == 0 {
                return Err(ForwardError::Zero { field });
            }
        }
        let metrics = ForwardMetrics::new();
        let (stop, _) = watch::channel(());
        let mut queues = Vec::with_capacity(targets.len());
        for target in targets {
            let url =
                outbound::check_url(&target.url, options.allow_link_local).map_err(|reason| {
                    ForwardError::BadUrl {
                        url: target.url.clone(),
                        reason,
                    }
                })?;
            if target.basic_auth.is_some() && target.bearer.is_some() {
                return Err(ForwardError::TwoAuths { url: target.url });
            }
            let label = url_label(&url);
            if queues.iter().any(|q: &Arc<TargetQueue>| q.label == label) {
                return Err(ForwardError::Duplicate { url: target.url });
            }
            metrics.announce(&label);
            let queue = Arc::new(TargetQueue {
                label,
                state: Mutex::new(Queue::new(options.queue_capacity)),
                wake: Notify::new(),
            });
            let sender = Sender {
                http: reqwest::Client::builder()
                    .timeout(target.timeout)
                    .connect_timeout(target.timeout.min(Duration::from_secs(5)))
                    .redirect(reqwest::redirect::Policy::none())
                    .dns_resolver(outbound::resolver(options.allow_link_local))
                    .user_agent(concat!("keiko-portal/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .expect("a reqwest client with these options builds"),
                url,
                basic_auth: target.basic_auth,
                bearer: target.bearer,
            };
            tokio::spawn(run(
                queue.clone(),
                sender,
                options.clone(),
                metrics.clone(),
                stop.subscribe(),
            ));
            queues.push(queue);
        }
        Ok(Arc::new(Forwarder {
            targets: queues,
            metrics,
            _stop: stop,
        }))
    }

    /// Queues samples the store has just accepted, for every target. Never blocks on a
    /// receiver: a full queue drops its oldest samples instead.
    pub fn enqueue(&self, samples: &[(LabelPairs, i64, f64)]) {
        if samples.is_empty() || self.targets.is_empty() {
            return;
        }
        self.enqueue_owned(samples.to_vec());
    }

    /// [`Forwarder::enqueue`] for samples the caller no longer needs (saves copying labels).
    pub fn enqueue_owned(&self, samples: Vec<(LabelPairs, i64, f64)>) {
        if samples.is_empty() || self.targets.is_empty() {
            return;
        }
        let chunk: Arc<[Entry]> = samples
            .into_iter()
            .map(|(mut labels, t, v)| {
                labels.sort_unstable();
                Entry { labels, t, v }
            })
            .collect();
        for target in &self.targets {
            let (dropped, len) = {
                let mut q = target.lock();
                let dropped = q.push(chunk.clone());
                (dropped, q.len)
            };
            self.metrics
                .dropped(&target.label, Dropped::QueueFull, dropped);
            self.metrics
                .queue_samples
                .with_label_values(&[&target.label])
                .set(len as i64);
            // A stored permit at most: cheap, and the sender rechecks the queue itself.
            target.wake.notify_one();
        }
    }

    /// The forwarder's metric families, for the portal's registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        let m = &self.metrics;
        vec![
            Box::new(m.samples_sent.clone()),
            Box::new(m.samples_dropped.clone()),
            Box::new(m.retries.clone()),
            Box::new(m.queue_samples.clone()),
            Box::new(m.last_send.clone()),
        ]
    }
}

/// The metric label for a target: its URL without query and fragment.
fn url_label(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// One accepted sample, labels sorted by name.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    labels: LabelPairs,
    t: i64,
    v: f64,
}

struct TargetQueue {
    /// The target's `url` label value.
    label: String,
    state: Mutex<Queue>,
    /// Enqueues wake the sender.
    wake: Notify,
}

impl TargetQueue {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A FIFO of samples, bounded by count. Samples are numbered in arrival order: `head` is the
/// number of the oldest one still queued, so a sender can tell whether the batch it holds
/// was dropped under it.
struct Queue {
    /// Enqueued chunks with the offset of their first sample still queued.
    chunks: VecDeque<(Arc<[Entry]>, usize)>,
    len: usize,
    head: u64,
    capacity: usize,
}

/// Samples taken from the head of a queue for one request (still queued until done).
struct Batch {
    first: u64,
    len: usize,
    parts: Vec<(Arc<[Entry]>, Range<usize>)>,
}

impl Batch {
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.parts.iter().flat_map(|(chunk, r)| &chunk[r.clone()])
    }
}

impl Queue {
    fn new(capacity: usize) -> Queue {
        Queue {
            chunks: VecDeque::new(),
            len: 0,
            head: 0,
            capacity,
        }
    }

    /// Appends `chunk`; returns how many of the oldest samples were dropped to make room.
    fn push(&mut self, chunk: Arc<[Entry]>) -> usize {
        if chunk.is_empty() {
            return 0;
        }
        self.len += chunk.len();
        self.chunks.push_back((chunk, 0));
        let excess = self.len.saturating_sub(self.capacity);
        self.pop_front(excess);
        excess
    }

    /// Removes the `n` oldest samples.
    fn pop_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        self.head += n as u64;
        while n > 0 {
            let Some((chunk, start)) = self.chunks.front_mut() else {
                break;
            };
            let left = chunk.len() - *start;
            if left <= n {
                n -= left;
                self.chunks.pop_front();
            } else {
                *start += n;
                n = 0;
            }
        }
    }

    /// The oldest samples, up to `max`, left in place.
    fn peek(&self, max: usize) -> Batch {
        let mut parts = Vec::new();
        let mut want = max;
        for (chunk, start) in &self.chunks {
            if want == 0 {
                break;
            }
            let end = chunk.len().min(start + want);
            want -= end - start;
            parts.push((chunk.clone(), *start..end));
        }
        Batch {
            first: self.head,
            len: max - want,
            parts,
        }
    }

    /// Whether samples of the batch starting at `first` were dropped since it was taken.
    fn overtaken(&self, first: u64) -> bool {
        self.head > first
    }

    /// Removes a finished batch; returns how many of its samples were still queued (the
    /// others were dropped, and counted, meanwhile).
    fn finish(&mut self, batch: &Batch) -> usize {
        let end = batch.first + batch.len as u64;
        let left = end.saturating_sub(self.head) as usize;
        self.pop_front(left);
        left
    }
}

/// Groups a batch into series (labels as given, sorted) in order of first appearance, the
/// samples of each in time order.
fn write_request<'a>(entries: impl Iterator<Item = &'a Entry>) -> prompb::WriteRequest {
    let mut index: HashMap<&[(String, String)], usize> = HashMap::new();
    let mut timeseries: Vec<prompb::TimeSeries> = Vec::new();
    for e in entries {
        let i = *index.entry(&e.labels).or_insert_with(|| {
            timeseries.push(prompb::TimeSeries {
                labels: e
                    .labels
                    .iter()
                    .map(|(name, value)| prompb::Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                ..Default::default()
            });
            timeseries.len() - 1
        });
        timeseries[i].samples.push(prompb::Sample {
            value: e.v,
            timestamp: e.t,
        });
    }
    for ts in &mut timeseries {
        ts.samples.sort_by_key(|s| s.timestamp);
    }
    prompb::WriteRequest {
        timeseries,
        ..Default::default()
    }
}

/// The snappy-compressed protobuf body of a batch.
fn encode(batch: &Batch) -> Bytes {
    let raw = write_request(batch.entries()).encode_to_vec();
    let compressed = snap::raw::Encoder::new()
        .compress_vec(&raw)
        .expect("snappy compresses any buffer under 4 GiB");
    Bytes::from(compressed)
}

/// The delay before retry number `attempt` (0-based): `min · 2^attempt` capped at `max`,
/// then scaled by a factor in [0.5, 1) from `jitter` (in [0, 1)), never below `min`.
fn backoff(attempt: u32, min: Duration, max: Duration, jitter: f64) -> Duration {
    let base = min
        .checked_mul(1u32 << attempt.min(20))
        .unwrap_or(max)
        .min(max);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
        .max(min)
        .min(max)
}

/// A number in [0, 1), different on every call.
fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// What a receiver made of a request.
#[derive(Debug, PartialEq)]
enum Outcome {
    Sent,
    Retry(String),
    Rejected { status: StatusCode, answer: String },
}

struct Sender {
    http: reqwest::Client,
    url: Url,
    basic_auth: Option<(String, String)>,
    bearer: Option<String>,
}

impl Sender {
    async fn post(&self, body: Bytes) -> Outcome {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_ENCODING, HeaderValue::from_static("snappy"))
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-protobuf"),
            )
            .header(
                "X-Prometheus-Remote-Write-Version",
                HeaderValue::from_static("0.1.0"),
            )
            .body(body);
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(error_chain(&e)),
        };
        let status = response.status();
        if status.is_success() {
            let _ = read_start(&mut response, READ_SUCCESS_BYTES).await;
            return Outcome::Sent;
        }
        let answer = read_start(&mut response, LOGGED_ANSWER_BYTES).await;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Outcome::Retry(format!("{status}: {answer}"))
        } else {
            Outcome::Rejected { status, answer }
        }
    }
}

/// At most `limit` bytes of an answer's body, as text.
async fn read_start(response: &mut reqwest::Response, limit: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(limit);
    String::from_utf8_lossy(&buf).into_owned()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One target's loop: wait for a batch, send it until it is done or dropped under it.
async fn run(
    queue: Arc<TargetQueue>,
    sender: Sender,
    options: ForwardOptions,
    metrics: ForwardMetrics,
    mut stop: watch::Receiver<()>,
) {
    let url = queue.label.clone();
    let mut attempt: u32 = 0;
    let mut failing_since: Option<Instant> = None;
    let mut last_log: Option<Instant> = None;
    let mut suppressed: u64 = 0;
    loop {
        let Some(batch) = next_batch(&queue, &options, &mut stop).await else {
            return;
        };
        let body = encode(&batch);
        loop {
            let outcome = tokio::select! {
                outcome = sender.post(body.clone()) => outcome,
                _ = stop.changed() => return,
            };
            match outcome {
                Outcome::Sent => {
                    let (sent, len) = {
                        let mut q = queue.lock();
                        (q.finish(&batch), q.len)
                    };
                    metrics
                        .samples_sent
                        .with_label_values(&[&url])
                        .inc_by(sent as u64);
                    metrics
                        .queue_samples
                        .with_label_values(&[&url])
                        .set(len as i64);
                    metrics
                        .last_send
                        .with_label_values(&[&url])
                        .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
                    if let Some(since) = failing_since.take() {
                        tracing::info!(
                            url = %url,
                            attempts = attempt + 1,
                            failing_secs = since.elapsed().as_secs(),
                            "Remote write recovered"
                        );
                    }
                    attempt = 0;
                    break;
                }
                Outcome::Rejected { status, answer } => {
                    let (rejected, len) = {
                        let mut q = queue.lock();
                        (q.finish(&batch), q.len)
                    };
                    metrics.dropped(&url, Dropped::Rejected, rejected);
                    metrics
                        .queue_samples
                        .with_label_values(&[&url])
                        .set(len as i64);
                    if last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                        tracing::warn!(
                            url = %url,
                            status = status.as_u16(),
                            answer = %answer,
                            samples = rejected,
                            earlier_rejections_not_logged = suppressed,
                            error_type = "RemoteWriteRejected",
                            "Remote-write receiver rejected a batch; it is dropped"
                        );
                        last_log = Some(Instant::now());
                        suppressed = 0;
                    } else {
                        suppressed += 1;
                    }
                    attempt = 0;
                    failing_since = None;
                    break;
                }
                Outcome::Retry(reason) => {
                    metrics.retries.with_label_values(&[&url]).inc();
                    if failing_since.is_none() {
                        failing_since = Some(Instant::now());
                        tracing::warn!(
                            url = %url,
                            error = %reason,
                            error_type = "RemoteWriteFailed",
                            "Remote write failed; retrying with backoff"
                        );
                    }
                    let delay =
                        backoff(attempt, options.min_backoff, options.max_backoff, jitter());
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => return,
                    }
                    if queue.lock().overtaken(batch.first) {
                        // The queue overflowed while we waited: take a fresh batch from
                        // what is left (the backoff goes on where it was).
                        break;
                    }
                }
            }
        }
    }
}

/// Waits until the queue holds a full batch, or a partial one has waited `batch_wait`.
/// `None` when the forwarder is gone.
async fn next_batch(
    queue: &TargetQueue,
    options: &ForwardOptions,
    stop: &mut watch::Receiver<()>,
) -> Option<Batch> {
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        {
            let q = queue.lock();
            let now = tokio::time::Instant::now();
            if q.len >= options.max_batch || (q.len > 0 && deadline.is_some_and(|d| now >= d)) {
                return Some(q.peek(options.max_batch));
            }
            if q.len > 0 && deadline.is_none() {
                deadline = Some(now + options.batch_wait);
            }
        }
        tokio::select! {
            _ = queue.wake.notified() => {}
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> LabelPairs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn chunk(range: Range<i64>) -> Arc<[Entry]> {
        range
            .map(|t| Entry {
                labels: labels(&[("__name__", "x")]),
                t,
                v: t as f64,
            })
            .collect()
    }

    fn times(batch: &Batch) -> Vec<i64> {
        batch.entries().map(|e| e.t).collect()
    }

    #[test]
    fn a_batch_is_grouped_into_series_with_sorted_labels_and_ordered_samples() {
        let entries: Vec<Entry> = [
            (&[("job", "a"), ("__name__", "up")][..], 2000, 1.0),
            (&[("__name__", "up"), ("job", "b")][..], 1000, 0.0),
            (&[("__name__", "up"), ("job", "a")][..], 1000, 1.0),
            (&[("job", "a"), ("__name__", "up")][..], 3000, 1.0),
        ]
        .into_iter()
        .map(|(l, t, v)| {
            let mut labels = labels(l);
            labels.sort_unstable();
            Entry { labels, t, v }
        })
        .collect();
        let request = write_request(entries.iter());
        assert_eq!(request.timeseries.len(), 2);
        let a = &request.timeseries[0];
        let names: Vec<_> = a.labels.iter().map(|l| (&*l.name, &*l.value)).collect();
        assert_eq!(names, [("__name__", "up"), ("job", "a")]);
        let ts: Vec<_> = a.samples.iter().map(|s| s.timestamp).collect();
        assert_eq!(ts, [1000, 2000, 3000]);
        assert_eq!(request.timeseries[1].labels[1].value, "b");
        assert_eq!(request.timeseries[1].samples.len(), 1);
    }

    #[test]
    fn an_encoded_batch_decodes_as_the_same_samples() {
        let mut q = Queue::new(100);
        q.push(chunk(0..3));
        let body = encode(&q.peek(10));
        let decoded = ingest::decode_remote_write(&body, Some("snappy")).unwrap();
        let got: Vec<_> = decoded
            .samples
            .iter()
            .map(|s| (s.name().to_owned(), s.t_ms, s.v))
            .collect();
        assert_eq!(
            got,
            [
                ("x".to_owned(), 0, 0.0),
                ("x".to_owned(), 1, 1.0),
                ("x".to_owned(), 2, 2.0)
            ]
        );
    }

    #[test]
    fn batches_take_at_most_max_samples_across_chunks_in_order() {
        let mut q = Queue::new(100);
        q.push(chunk(0..3));
        q.push(chunk(3..5));
        q.push(chunk(5..9));
        let batch = q.peek(4);
        assert_eq!((batch.first, batch.len), (0, 4));
        assert_eq!(times(&batch), [0, 1, 2, 3]);
        assert_eq!(q.finish(&batch), 4);
        let batch = q.peek(100);
        assert_eq!((batch.first, batch.len), (4, 5));
        assert_eq!(times(&batch), [4, 5, 6, 7, 8]);
        assert_eq!(q.finish(&batch), 5);
        assert_eq!(q.len, 0);
        assert!(q.peek(10).parts.is_empty());
    }

    #[test]
    fn a_full_queue_drops_the_oldest_samples_and_counts_them() {
        let mut q = Queue::new(5);
        assert_eq!(q.push(chunk(0..3)), 0);
        let in_flight = q.peek(2);
        assert_eq!(q.push(chunk(3..6)), 1);
        assert_eq!(q.len, 5);
        assert_eq!(times(&q.peek(10)), [1, 2, 3, 4, 5]);
        // The batch in flight lost its first sample: the sender sees it, and finishing it
        // counts only what was still queued.
        assert!(q.overtaken(in_flight.first));
        assert_eq!(q.finish(&in_flight), 1);
        assert_eq!(times(&q.peek(10)), [2, 3, 4, 5]);
        // A chunk bigger than the whole queue keeps only its newest samples.
        assert_eq!(q.push(chunk(100..110)), 9);
        assert_eq!(times(&q.peek(10)), [105, 106, 107, 108, 109]);
        assert_eq!(q.len, 5);
    }

    #[test]
    fn a_batch_dropped_whole_while_in_flight_finishes_with_nothing_sent() {
        let mut q = Queue::new(3);
        q.push(chunk(0..3));
        let in_flight = q.peek(2);
        q.push(chunk(3..6));
        assert_eq!(q.finish(&in_flight), 0);
        assert_eq!(times(&q.peek(10)), [3, 4, 5]);
    }

    #[test]
    fn enqueue_counts_overflow_per_target_and_shares_the_samples() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let options = ForwardOptions {
                queue_capacity: 3,
                ..Default::default()
            };
            // Nothing listens on port 9: every send fails and is retried.
            let forwarder = Forwarder::start(
                vec![
                    ForwardTarget::new("http://127.0.0.1:9/api/v1/write"),
                    ForwardTarget::new("http://127.0.0.1:9/other?token=x"),
                ],
                options,
            )
            .unwrap();
            let samples: Vec<_> = (0..5)
                .map(|t| (labels(&[("__name__", "x")]), t, 1.0))
                .collect();
            forwarder.enqueue(&samples);
            let m = &forwarder.metrics;
            for url in [
                "http://127.0.0.1:9/api/v1/write",
                "http://127.0.0.1:9/other",
            ] {
                assert_eq!(
                    m.samples_dropped
                        .with_label_values(&[url, "queue_full"])
                        .get(),
                    2
                );
                assert_eq!(m.queue_samples.with_label_values(&[url]).get(), 3);
            }
            let a = forwarder.targets[0].lock().chunks[0].0.clone();
            let b = forwarder.targets[1].lock().chunks[0].0.clone();
            assert!(
                Arc::ptr_eq(&a, &b),
                "one copy of the samples for all targets"
            );
        });
    }

    #[test]
    fn every_series_of_a_target_is_exposed_at_zero_once_registered() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let forwarder = Forwarder::start(
            vec![ForwardTarget::new("http://127.0.0.1:9/api/v1/write")],
            Default::default(),
        )
        .unwrap();
        let registry = prometheus::Registry::new();
        for c in forwarder.collectors() {
            registry.register(c).unwrap();
        }
        let mut text = Vec::new();
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &registry.gather(),
            &mut text,
        )
        .unwrap();
        let text = String::from_utf8(text).unwrap();
        let url = "url=\"http://127.0.0.1:9/api/v1/write\"";
        for line in [
            format!("keiko_remote_write_samples_sent_total{{{url}}} 0"),
            format!("keiko_remote_write_samples_dropped_total{{reason=\"queue_full\",{url}}} 0"),
            format!("keiko_remote_write_samples_dropped_total{{reason=\"rejected\",{url}}} 0"),
            format!("keiko_remote_write_retries_total{{{url}}} 0"),
            format!("keiko_remote_write_queue_samples{{{url}}} 0"),
            format!("keiko_remote_write_last_send_timestamp_seconds{{{url}}} 0"),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn the_backoff_doubles_from_the_minimum_and_stays_under_the_cap() {
        let (min, max) = (Duration::from_millis(30), Duration::from_secs(5));
        let top: Vec<_> = (0..10)
            .map(|a| (backoff(a, min, max, 0.999_999).as_secs_f64() * 1e3).round() as u64)
            .collect();
        assert_eq!(top, [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000]);
        for attempt in 0..200 {
            for j in [0.0, 0.3, 0.999_999, 7.0, -1.0] {
                let d = backoff(attempt, min, max, j);
                assert!(d >= min && d <= max, "attempt {attempt}, jitter {j}: {d:?}");
            }
        }
        assert_eq!(backoff(6, min, max, 0.0), Duration::from_millis(960));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn targets_with_bad_urls_or_two_kinds_of_auth_do_not_start() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for bad in [
                "http://169.254.169.254/api/v1/write",
                "ftp://vm/api/v1/write",
                "http://user:pw@vm/api/v1/write",
            ] {
                let err = Forwarder::start(vec![ForwardTarget::new(bad)], Default::default())
                    .err()
                    .unwrap();
                assert!(matches!(err, ForwardError::BadUrl { .. }), "{bad}: {err}");
            }
            let mut both = ForwardTarget::new("http://vm:8428/api/v1/write");
            both.basic_auth = Some(("u".into(), "p".into()));
            both.bearer = Some("t".into());
            let twice = vec![
                ForwardTarget::new("http://vm:8428/api/v1/write"),
                ForwardTarget::new("http://vm:8428/api/v1/write?x=1"),
            ];
            assert!(matches!(
                Forwarder::start(twice, Default::default()).err(),
                Some(ForwardError::Duplicate { .. })
            ));
            assert!(format!("{both:?}").contains("<secret>"));
            assert!(!format!("{both:?}").contains("\"p\""));
            assert!(matches!(
                Forwarder::start(vec![both], Default::default()).err(),
                Some(ForwardError::TwoAuths { .. })
            ));
        });
        assert_eq!(
            ForwardTarget::from_list(" http://a/w, ,http://b/w ")
                .iter()
                .map(|t| t.url.as_str())
                .collect::<Vec<_>>(),
            ["http://a/w", "http://b/w"]
        );
    }

    /// A receiver on port 0 answering with `statuses` in turn (then 204), recording the
    /// decoded samples and headers of every request.
    struct Receiver {
        url: String,
        seen: Seen,
    }

    /// Each request's headers and samples, in arrival order.
    type Seen = Arc<Mutex<Vec<(http::HeaderMap, Vec<ingest::Sample>)>>>;

    async fn receiver(statuses: Vec<u16>) -> Receiver {
        use axum::routing::post;
        let seen: Seen = Default::default();
        let answers = Arc::new(Mutex::new(VecDeque::from(statuses)));
        let recorded = seen.clone();
        let app = axum::Router::new().route(
            "/api/v1/write",
            post(move |headers: http::HeaderMap, body: Bytes| {
                let recorded = recorded.clone();
                let answers = answers.clone();
                async move {
                    let status = answers.lock().unwrap().pop_front().unwrap_or(204);
                    let decoded = ingest::decode_remote_write(&body, Some("snappy")).unwrap();
                    recorded.lock().unwrap().push((headers, decoded.samples));
                    (
                        http::StatusCode::from_u16(status).unwrap(),
                        "x".repeat(1000),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/api/v1/write"),
            seen,
        }
    }

    fn fast() -> ForwardOptions {
        ForwardOptions {
            batch_wait: Duration::from_millis(20),
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_batch: 3,
            ..Default::default()
        }
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn batches_are_retried_after_5xx_and_429_until_the_receiver_takes_them() {
        let rx = receiver(vec![500, 429, 503]).await;
        let mut target = ForwardTarget::new(&rx.url);
        target.bearer = Some("secret-token".into());
        let forwarder = Forwarder::start(vec![target], fast()).unwrap();
        let samples: Vec<_> = (0..5)
            .map(|t| (labels(&[("job", "j"), ("__name__", "up")]), t, t as f64))
            .collect();
        forwarder.enqueue(&samples);
        let m = forwarder.metrics.clone();
        let url = rx.url.clone();
        until("all samples sent", || {
            m.samples_sent.with_label_values(&[&url]).get() == 5
        })
        .await;
        assert_eq!(m.retries.with_label_values(&[&url]).get(), 3);
        assert_eq!(m.queue_samples.with_label_values(&[&url]).get(), 0);
        assert!(m.last_send.with_label_values(&[&url]).get() > 1.6e9);
        let seen = rx.seen.lock().unwrap();
        // Three failed attempts of the first batch, then the two batches.
        assert_eq!(seen.len(), 5);
        let delivered: Vec<i64> = seen[3..]
            .iter()
            .flat_map(|(_, s)| s.iter().map(|s| s.t_ms))
            .collect();
        assert_eq!(delivered, [0, 1, 2, 3, 4]);
        let (headers, first) = &seen[0];
        assert_eq!(first[0].labels, labels(&[("__name__", "up"), ("job", "j")]));
        for (name, value) in [
            ("content-encoding", "snappy"),
            ("content-type", "application/x-protobuf"),
            ("x-prometheus-remote-write-version", "0.1.0"),
            ("authorization", "Bearer secret-token"),
        ] {
            assert_eq!(headers[name], value, "{name}");
        }
        assert!(headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("keiko-portal"));
    }

    #[tokio::test]
    async fn a_4xx_answer_drops_the_batch_without_retrying() {
        let rx = receiver(vec![400]).await;
        let forwarder = Forwarder::start(vec![ForwardTarget::new(&rx.url)], fast()).unwrap();
        let samples: Vec<_> = (0..4)
            .map(|t| (labels(&[("__name__", "up")]), t, 1.0))
            .collect();
        forwarder.enqueue(&samples);
        let m = forwarder.metrics.clone();
        let url = rx.url.clone();
        until("the second batch sent", || {
            m.samples_sent.with_label_values(&[&url]).get() == 1
        })
        .await;
        assert_eq!(
            m.samples_dropped
                .with_label_values(&[&url, "rejected"])
                .get(),
            3
        );
        assert_eq!(m.retries.with_label_values(&[&url]).get(), 0);
        assert_eq!(rx.seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_queue_that_overflows_during_retries_sends_only_the_newest_samples() {
        let down = format!("http://127.0.0.1:{}/api/v1/write", {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        });
        let options = ForwardOptions {
            queue_capacity: 4,
            ..fast()
        };
        let forwarder = Forwarder::start(vec![ForwardTarget::new(&down)], options).unwrap();
        let m = forwarder.metrics.clone();
        let one = |t: i64| [(labels(&[("__name__", "up")]), t, 1.0)];
        for t in 0..10 {
            forwarder.enqueue(&one(t));
        }
        until("a retry", || {
            m.retries.with_label_values(&[&down]).get() > 0
        })
        .await;
        assert_eq!(
            m.samples_dropped
                .with_label_values(&[&down, "queue_full"])
                .get(),
            6
        );
        assert_eq!(m.queue_samples.with_label_values(&[&down]).get(), 4);
        let queued: Vec<i64> = forwarder.targets[0]
            .lock()
            .peek(10)
            .entries()
            .map(|e| e.t)
            .collect();
        assert_eq!(queued, [6, 7, 8, 9]);
    }

    #[tokio::test]
    async fn dropping_the_forwarder_ends_its_tasks() {
        let rx = receiver(vec![]).await;
        let forwarder = Forwarder::start(vec![ForwardTarget::new(&rx.url)], fast()).unwrap();
        let queue = Arc::downgrade(&forwarder.targets[0]);
        drop(forwarder);
        until("the task to end", || queue.upgrade().is_none()).await;
    }
}
