//! The portal's own spans into its span store, when no outside OTLP endpoint is set: the
//! tracer provider's batch processor hands finished spans to [`SelfSpanExporter`], which
//! offers them to a bounded channel; one writer thread appends them (service
//! `keiko-portal`). When the channel is full a batch is dropped and counted
//! (`keiko_span_self_dropped_total`); nothing here logs or opens spans, so storing spans
//! never produces more.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::UNIX_EPOCH;

use ingest::spans::{hex, Attr, AttrType, SpanEvent, SpanKind, SpanLine, SpanLink, SpanStatus};
use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use prometheus::IntCounter;

use super::TraceStore;

/// The service name of the portal's own spans.
pub const SERVICE: &str = "keiko-portal";
/// Batches waiting for the writer, at most (the batch processor sends up to 512 spans each).
const CAPACITY: usize = 64;

static SENDER: OnceLock<SyncSender<Vec<SpanLine>>> = OnceLock::new();

/// Spans dropped because the writer was behind (or the store refused them).
pub static DROPPED: LazyLock<IntCounter> = LazyLock::new(|| {
    IntCounter::new(
        "keiko_span_self_dropped_total",
        "The portal's own spans not stored because the span store writer was behind",
    )
    .expect("valid counter")
});

/// Hands the portal's finished spans to the span store (see the module docs).
#[derive(Debug, Default)]
pub struct SelfSpanExporter;

impl SpanExporter for SelfSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let Some(tx) = SENDER.get() else {
            return Ok(());
        };
        let n = batch.len();
        let spans: Vec<SpanLine> = batch.into_iter().map(span_line).collect();
        match tx.try_send(spans) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                DROPPED.inc_by(n as u64)
            }
        }
        Ok(())
    }
}

/// Starts the writer thread for `store` (once per process; later calls do nothing).
pub fn start(store: Arc<TraceStore>) {
    static STARTED: AtomicBool = AtomicBool::new(false);
    if STARTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let (tx, rx) = sync_channel(CAPACITY);
    if SENDER.set(tx).is_err() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("keiko-selfspans".into())
        .spawn(move || write_loop(&store, &rx));
    if spawned.is_err() {
        DROPPED.inc();
    }
}

fn write_loop(store: &TraceStore, rx: &Receiver<Vec<SpanLine>>) {
    let limits = ingest::SpanLimits::default();
    while let Ok(batch) = rx.recv() {
        let n = batch.len();
        let kept: Vec<SpanLine> = batch
            .into_iter()
            .filter(|s| limits.check(s).is_ok())
            .collect();
        let tried = kept.len();
        DROPPED.inc_by((n - tried) as u64);
        match store.append_owned(kept) {
            Ok(a) => {
                store
                    .accepted
                    .with_label_values(&["self"])
                    .inc_by(a.stored as u64);
                DROPPED.inc_by(a.refused as u64);
            }
            Err(_) => DROPPED.inc_by(tried as u64),
        }
    }
}

fn nanos(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .unwrap_or(0)
}

fn attr(kv: &KeyValue) -> Attr {
    let kind = match &kv.value {
        Value::Bool(_) => AttrType::Bool,
        Value::I64(_) => AttrType::Int,
        Value::F64(_) => AttrType::Float,
        Value::String(_) => AttrType::Str,
        _ => AttrType::Other,
    };
    Attr {
        key: kv.key.as_str().to_owned(),
        value: kv.value.to_string(),
        kind,
    }
}

/// One finished span of the portal as a [`SpanLine`].
pub fn span_line(s: SpanData) -> SpanLine {
    use opentelemetry::trace::SpanKind as K;
    let (status, status_message) = match &s.status {
        Status::Unset => (SpanStatus::Unset, String::new()),
        Status::Ok => (SpanStatus::Ok, String::new()),
        Status::Error { description } => (SpanStatus::Error, description.to_string()),
    };
    let parent = s.parent_span_id.to_bytes();
    SpanLine {
        trace_id: hex(&s.span_context.trace_id().to_bytes()),
        span_id: hex(&s.span_context.span_id().to_bytes()),
        parent_span_id: if parent.iter().all(|b| *b == 0) {
            String::new()
        } else {
            hex(&parent)
        },
        name: s.name.to_string(),
        kind: match s.span_kind {
            K::Client => SpanKind::Client,
            K::Server => SpanKind::Server,
            K::Producer => SpanKind::Producer,
            K::Consumer => SpanKind::Consumer,
            K::Internal => SpanKind::Internal,
        },
        start_ns: nanos(s.start_time),
        end_ns: nanos(s.end_time),
        status,
        status_message,
        service: SERVICE.to_owned(),
        resource: Vec::new(),
        attributes: s.attributes.iter().map(attr).collect(),
        scope: s.instrumentation_scope.name().to_owned(),
        events: s
            .events
            .events
            .iter()
            .map(|e| SpanEvent {
                time_ns: nanos(e.timestamp),
                name: e.name.to_string(),
                attributes: e.attributes.iter().map(attr).collect(),
            })
            .collect(),
        links: s
            .links
            .links
            .iter()
            .map(|l| SpanLink {
                trace_id: hex(&l.span_context.trace_id().to_bytes()),
                span_id: hex(&l.span_context.span_id().to_bytes()),
                attributes: l.attributes.iter().map(attr).collect(),
            })
            .collect(),
    }
}
