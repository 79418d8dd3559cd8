//! What the log suites share: a search through `GET /api/v1/logs/query`, a number read
//! from the portal's `/metrics`, and OTLP/HTTP logs requests written as an exporter
//! writes them (protobuf from `opentelemetry-proto`'s messages, or OTLP JSON).

use reqwest::Method;
use serde_json::{json, Value};

use crate::api::Client;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The lines matching `query` from `from` (e.g. `now-1h`) to now, newest first; asserts 200.
pub async fn search(client: &Client, query: &str, from: &str) -> Vec<Value> {
    let (s, body) = client
        .get(&format!(
            "/api/v1/logs/query?query={}&from={}&to=now&limit=1000",
            enc(query),
            enc(from)
        ))
        .await;
    assert_eq!(s, 200, "{query}: {body}");
    body["lines"].as_array().cloned().unwrap_or_default()
}

/// The value of one series of the portal's `/metrics` (e.g.
/// `keiko_log_lines_refused_total{protocol="otlp",reason="limit"}`); 0 when absent.
pub async fn metric(client: &Client, series: &str) -> f64 {
    let text = client
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("the portal's /metrics")
        .text()
        .await
        .expect("the /metrics body");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

/// One OTLP log record: its body, severity text, time and attributes (string values).
#[derive(Clone, Debug)]
pub struct OtlpRecord {
    pub body: String,
    pub severity: &'static str,
    pub time_ns: u64,
    pub attributes: Vec<(String, String)>,
}

impl OtlpRecord {
    /// An INFO record now with a `correlation_id` attribute.
    pub fn now(body: &str, correlation_id: &str) -> OtlpRecord {
        OtlpRecord {
            body: body.into(),
            severity: "INFO",
            time_ns: (crate::now_seconds() * 1e9) as u64,
            attributes: vec![("correlation_id".into(), correlation_id.into())],
        }
    }

    /// Adds `n` attributes `extra.0` … `extra.<n-1>`.
    pub fn with_fields(mut self, n: usize) -> OtlpRecord {
        self.attributes
            .extend((0..n).map(|i| (format!("extra.{i}"), i.to_string())));
        self
    }
}

/// An `ExportLogsServiceRequest` in OTLP JSON for `service`.
pub fn otlp_json(service: &str, records: &[OtlpRecord]) -> Value {
    let kv = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "timeUnixNano": r.time_ns.to_string(),
                "severityText": r.severity,
                "body": {"stringValue": r.body},
                "attributes": r.attributes.iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"resourceLogs": [{
        "resource": {"attributes": [kv("service.name", service)]},
        "scopeLogs": [{"scope": {"name": "e2e"}, "logRecords": records}],
    }]})
}

/// The same request in protobuf, built from `opentelemetry-proto`'s generated messages (the
/// types the portal's own OTLP receiver decodes).
pub fn otlp_protobuf(service: &str, records: &[OtlpRecord]) -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message as _;
    let text = |v: &str| AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    };
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(text(v)),
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records
                    .iter()
                    .map(|r| LogRecord {
                        time_unix_nano: r.time_ns,
                        severity_text: r.severity.into(),
                        body: Some(text(&r.body)),
                        attributes: r.attributes.iter().map(|(k, v)| kv(k, v)).collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// An `ExportLogsServiceResponse` in protobuf: rejected records and the error message of
/// its partial success (`(0, "")` when there is none).
pub fn otlp_protobuf_partial_success(body: &[u8]) -> (i64, String) {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
    use prost::Message as _;
    let r = ExportLogsServiceResponse::decode(body).expect("an ExportLogsServiceResponse");
    r.partial_success
        .map(|p| (p.rejected_log_records, p.error_message))
        .unwrap_or_default()
}
