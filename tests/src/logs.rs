//! What the log suites share: a search through `GET /api/v1/logs/query`, a number read
//! from the portal's `/metrics`, and OTLP/HTTP logs requests written as an exporter
//! writes them (protobuf with prost, or OTLP JSON).

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

/// The same request in protobuf (the wire format of `opentelemetry-proto`'s messages, the
/// fields these tests use).
pub fn otlp_protobuf(service: &str, records: &[OtlpRecord]) -> Vec<u8> {
    use prost::Message as _;
    let kv = |k: &str, v: &str| pb::KeyValue {
        key: k.into(),
        value: Some(pb::AnyValue {
            string_value: v.into(),
        }),
    };
    pb::ExportLogsServiceRequest {
        resource_logs: vec![pb::ResourceLogs {
            resource: Some(pb::Resource {
                attributes: vec![kv("service.name", service)],
            }),
            scope_logs: vec![pb::ScopeLogs {
                log_records: records
                    .iter()
                    .map(|r| pb::LogRecord {
                        time_unix_nano: r.time_ns,
                        severity_text: r.severity.into(),
                        body: Some(pb::AnyValue {
                            string_value: r.body.clone(),
                        }),
                        attributes: r.attributes.iter().map(|(k, v)| kv(k, v)).collect(),
                    })
                    .collect(),
            }],
        }],
    }
    .encode_to_vec()
}

/// An `ExportLogsServiceResponse` in protobuf: rejected records and the error message of
/// its partial success (`(0, "")` when there is none).
pub fn otlp_protobuf_partial_success(body: &[u8]) -> (i64, String) {
    use prost::Message as _;
    let r = pb::ExportLogsServiceResponse::decode(body).expect("an ExportLogsServiceResponse");
    r.partial_success
        .map(|p| (p.rejected_log_records, p.error_message))
        .unwrap_or_default()
}

/// OTLP's logs messages, the fields used here, with their numbers from
/// `opentelemetry/proto/{collector/logs,logs,common,resource}/v1/*.proto`.
mod pb {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportLogsServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_logs: Vec<ResourceLogs>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceLogs {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_logs: Vec<ScopeLogs>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeLogs {
        #[prost(message, repeated, tag = "2")]
        pub log_records: Vec<LogRecord>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LogRecord {
        #[prost(fixed64, tag = "1")]
        pub time_unix_nano: u64,
        #[prost(string, tag = "3")]
        pub severity_text: String,
        #[prost(message, optional, tag = "5")]
        pub body: Option<AnyValue>,
        #[prost(message, repeated, tag = "6")]
        pub attributes: Vec<KeyValue>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }
    /// `AnyValue`'s `string_value` (field 1 of its `oneof`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(string, tag = "1")]
        pub string_value: String,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportLogsServiceResponse {
        #[prost(message, optional, tag = "1")]
        pub partial_success: Option<ExportLogsPartialSuccess>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportLogsPartialSuccess {
        #[prost(int64, tag = "1")]
        pub rejected_log_records: i64,
        #[prost(string, tag = "2")]
        pub error_message: String,
    }
}
