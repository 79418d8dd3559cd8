//! Spans pushed as OTLP/HTTP JSON (`POST /v1/traces`), the way an OpenTelemetry exporter
//! sends them: one resource (its `service.name`) per request.

use reqwest::Method;
use serde_json::{json, Value};

use crate::api::Client;

/// One span of [`otlp_body`]: ids in hex, start in Unix nanoseconds, string attributes.
#[derive(Clone, Debug, Default)]
pub struct TestSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent: String,
    pub name: String,
    /// OTLP's span kind (2 server, 3 client).
    pub kind: u8,
    pub start_ns: i64,
    pub duration_ms: i64,
    pub error: bool,
    pub attributes: Vec<(String, String)>,
}

/// An OTLP/JSON `ExportTraceServiceRequest` of `service`'s spans.
pub fn otlp_body(service: &str, spans: &[TestSpan]) -> String {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let attributes: Vec<Value> = s
                .attributes
                .iter()
                .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
                .collect();
            json!({
                "traceId": s.trace_id, "spanId": s.span_id, "parentSpanId": s.parent,
                "name": s.name, "kind": s.kind,
                "startTimeUnixNano": s.start_ns.to_string(),
                "endTimeUnixNano": (s.start_ns + s.duration_ms * 1_000_000).to_string(),
                "status": {"code": if s.error { 2 } else { 1 }},
                "attributes": attributes,
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]})
    .to_string()
}

/// Pushes `service`'s spans through `POST /v1/traces` and checks that all were stored.
pub async fn push(client: &Client, service: &str, spans: &[TestSpan]) {
    let r = client
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .body(otlp_body(service, spans))
        .send()
        .await
        .expect("OTLP push");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("rejected"), "{text}");
}

/// The tag `key` of a span as the Jaeger API answers it (`tags: [{key, type, value}]`);
/// panics naming the span when it has none.
pub fn tag<'a>(span: &'a Value, key: &str) -> &'a Value {
    span["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no tags in {span}"))
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("no tag {key} in {span}"))
}
