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
mod tests;
