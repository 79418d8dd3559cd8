//! Per-request observation, as the seed's `CorrelationMiddleware` prescribes and more: the
//! correlation id (taken from `X-Correlation-ID` or generated), a tracing/OTel span carrying
//! it, `keiko_requests_total` and `keiko_request_duration_seconds` by matched route, and one
//! "Request completed" log line.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt as _;
use tracing::field::Empty;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics::{Metrics, UNMATCHED_ENDPOINT};

pub static CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The request's correlation id, for handlers that need it (e.g. the audit log).
#[derive(Clone, Debug)]
pub struct CorrelationId(pub String);

/// A caller's id is kept when it is short printable ASCII; anything else is replaced, so a
/// hostile header cannot forge log structure or grow without bound.
fn accept_correlation_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_owned())
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

pub async fn observe(State(metrics): State<Metrics>, mut req: Request, next: Next) -> Response {
    let correlation_id = req
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(accept_correlation_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let endpoint = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED_ENDPOINT.to_owned());
    let method = req.method().clone();

    let span = tracing::info_span!(
        target: "keiko.request",
        "http_request",
        otel.name = format!("{method} {endpoint}"),
        http.request.method = %method,
        http.route = %endpoint,
        http.response.status_code = Empty,
        correlation_id = %correlation_id,
        trace_id = Empty,
        user_id = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(req.headers()))
    });
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));

    req.extensions_mut()
        .insert(CorrelationId(correlation_id.clone()));
    let started = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();

    let status = response.status();
    metrics.observe_request(
        method.as_str(),
        &endpoint,
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    if status.is_server_error() {
        metrics.error("http_5xx", "http", "error");
    }
    span.record("http.response.status_code", status.as_u16());
    span.in_scope(|| {
        tracing::info!(
            target: "keiko.request",
            method = %method,
            endpoint = %endpoint,
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "Request completed"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response
            .headers_mut()
            .insert(CORRELATION_HEADER.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_kept_only_when_harmless() {
        let ok = HeaderValue::from_static("req-1234_abc.def:9");
        assert_eq!(
            accept_correlation_id(&ok).as_deref(),
            Some("req-1234_abc.def:9")
        );
        for bad in ["", "has space", "quote\"inside", &"x".repeat(129)] {
            let value = HeaderValue::from_str(bad).unwrap();
            assert_eq!(accept_correlation_id(&value), None, "{bad:?}");
        }
    }
}
