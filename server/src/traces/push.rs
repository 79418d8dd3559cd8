//! Pushed spans into the embedded span store, one entry point per protocol (OTLP/HTTP
//! traces, Zipkin v2 JSON): the body decoded on `cpu::INGEST` by the `ingest` crate,
//! refusals counted by protocol and reason, the spans appended as one batch. The routes
//! (`http/api/traces.rs`) read the request and shape these answers.

use std::sync::Arc;

use bytes::Bytes;

use super::{TraceStore, TraceStoreError};
use crate::error::{Error, Refusal};

/// Spans one push may hold, at most.
pub const MAX_SPANS: usize = 10_000;
/// Largest push body once decompressed.
const MAX_BODY: usize = 16 << 20;

fn limits() -> ingest::Limits {
    ingest::Limits {
        max_decompressed_bytes: MAX_BODY,
        ..ingest::Limits::default()
    }
}

/// A refused or failed append in the domain's words.
fn append_failure(e: TraceStoreError) -> Error {
    match e {
        TraceStoreError::Refused(m) => Error::refused(Refusal::Refused, m, None),
        TraceStoreError::Busy => Error::StoreBusy(e.to_string()),
        other => Error::internal(anyhow::anyhow!(other.to_string())),
    }
}

/// A span decoder of the ingest crate (OTLP traces, Zipkin v2).
type Decoder<T> = fn(
    &[u8],
    Option<&str>,
    Option<&str>,
    &ingest::Limits,
    &ingest::SpanLimits,
    usize,
) -> Result<T, ingest::DecodeError>;

/// Decodes a push body on `cpu::INGEST`; a body that cannot be read is counted under
/// `protocol` as malformed.
async fn decode<T: Send + 'static>(
    store: &TraceStore,
    protocol: &str,
    body: Bytes,
    content_type: Option<String>,
    encoding: Option<String>,
    decoder: Decoder<T>,
) -> Result<T, Error> {
    let decoded = crate::cpu::INGEST
        .run(move || {
            decoder(
                &body,
                content_type.as_deref(),
                encoding.as_deref(),
                &limits(),
                &ingest::SpanLimits::default(),
                MAX_SPANS,
            )
        })
        .await?;
    decoded.map_err(|error| {
        store.count_refused(protocol, "malformed", 1);
        Error::Undecodable { error, limit: None }
    })
}

/// OTLP/HTTP traces: spans that break a rule are refused one by one in the partial
/// success; the rest are stored as one batch. Answers the response's content type and
/// body.
pub async fn otlp(
    store: &Arc<TraceStore>,
    body: Bytes,
    content_type: Option<String>,
    encoding: Option<String>,
) -> Result<(&'static str, Vec<u8>), Error> {
    let mut decoded = decode(
        store,
        "otlp",
        body,
        content_type,
        encoding,
        ingest::decode_otlp_traces,
    )
    .await?;
    store.count_refused("otlp", "invalid_span", decoded.decoded.rejected as usize);
    let spans = std::mem::take(&mut decoded.decoded.spans);
    let appended = store.append("otlp", spans).await.map_err(append_failure)?;
    if appended.refused > 0 {
        let d = &mut decoded.decoded;
        d.rejected += appended.refused as i64;
        if !d.error_message.is_empty() {
            d.error_message.push_str("; ");
        }
        d.error_message.push_str(&appended.reason);
    }
    Ok((decoded.format.content_type(), decoded.response_body()))
}

/// Zipkin v2: the whole request is stored or refused (the span named); spans too large
/// once stored are refused after the others are stored, and the sender is told.
pub async fn zipkin(
    store: &Arc<TraceStore>,
    body: Bytes,
    content_type: Option<String>,
    encoding: Option<String>,
) -> Result<(), Error> {
    let decoded = decode(
        store,
        "zipkin",
        body,
        content_type,
        encoding,
        ingest::decode_zipkin_v2,
    )
    .await?;
    if decoded.rejected > 0 {
        let n = decoded.rejected as usize + decoded.spans.len();
        store.count_refused("zipkin", "invalid_span", n);
        return Err(Error::invalid("body", decoded.error_message));
    }
    let appended = store
        .append("zipkin", decoded.spans)
        .await
        .map_err(append_failure)?;
    if appended.refused > 0 {
        return Err(Error::invalid(
            "body",
            format!(
                "{} spans stored, {} refused: {}",
                appended.stored, appended.refused, appended.reason
            ),
        ));
    }
    Ok(())
}
