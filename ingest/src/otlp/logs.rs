//! OTLP/HTTP logs (`POST /v1/logs`): protobuf or JSON, optionally gzip-compressed, into
//! plain lines (time, severity, body, service, trace and span ids, attributes as text).
//! Storing them is the caller's; what it refuses per record goes into the partial success
//! ([`OtlpLogs::response_body`]) as the OTLP specification defines it.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use prost::Message;

use super::attributes::value_string;
use super::{unwrap_body, OtlpFormat};
use crate::error::{clip, DecodeError};
use crate::limits::Limits;

/// One log record, flattened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogLine {
    /// Unix ns: the record's time, else its observed time; 0 when it has neither.
    pub time_ns: u64,
    /// OTel severity number (1–24); 0 when unset.
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    /// The resource's `service.name`; empty when it has none.
    pub service: String,
    /// Lowercase hex; empty when unset.
    pub trace_id: String,
    pub span_id: String,
    /// Resource attributes (but `service.name`), then the record's; later names win.
    pub attributes: Vec<(String, String)>,
}

/// A decoded OTLP logs request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OtlpLogs {
    pub lines: Vec<LogLine>,
    pub format: OtlpFormat,
}

/// Decodes an OTLP/HTTP logs body (`content_type` protobuf, the default, or JSON;
/// `content_encoding` identity or gzip); at most `max_lines` records.
pub fn decode_otlp_logs(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &Limits,
    max_lines: usize,
) -> Result<OtlpLogs, DecodeError> {
    let (format, raw) = unwrap_body(body, content_type, content_encoding, limits)?;
    let request = match format {
        OtlpFormat::Protobuf => ExportLogsServiceRequest::decode(&raw[..])
            .map_err(|e| DecodeError::Protobuf(clip(&e.to_string())))?,
        OtlpFormat::Json => {
            serde_json::from_slice(&raw).map_err(|e| DecodeError::Json(clip(&e.to_string())))?
        }
    };
    let mut lines = Vec::new();
    for rl in &request.resource_logs {
        let resource: &[KeyValue] = rl
            .resource
            .as_ref()
            .map(|r| &r.attributes[..])
            .unwrap_or(&[]);
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .map(|kv| value_string(kv.value.as_ref()))
            .unwrap_or_default();
        for sl in &rl.scope_logs {
            for r in &sl.log_records {
                if lines.len() >= max_lines {
                    return Err(DecodeError::TooManySamples {
                        limit: format!("{max_lines} log records"),
                    });
                }
                let mut attributes: Vec<(String, String)> = Vec::new();
                let mut put = |k: &str, v: String| {
                    if let Some(slot) = attributes.iter_mut().find(|(n, _)| n == k) {
                        slot.1 = v;
                    } else {
                        attributes.push((k.to_owned(), v));
                    }
                };
                for kv in resource.iter().filter(|kv| kv.key != "service.name") {
                    put(&kv.key, value_string(kv.value.as_ref()));
                }
                if let Some(scope) = sl.scope.as_ref().filter(|s| !s.name.is_empty()) {
                    put("otel.scope.name", scope.name.clone());
                }
                for kv in &r.attributes {
                    put(&kv.key, value_string(kv.value.as_ref()));
                }
                lines.push(LogLine {
                    time_ns: if r.time_unix_nano > 0 {
                        r.time_unix_nano
                    } else {
                        r.observed_time_unix_nano
                    },
                    severity_number: r.severity_number,
                    severity_text: r.severity_text.clone(),
                    body: value_string(r.body.as_ref()),
                    service: service.clone(),
                    trace_id: hex(&r.trace_id),
                    span_id: hex(&r.span_id),
                    attributes,
                });
            }
        }
    }
    Ok(OtlpLogs { lines, format })
}

fn hex(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| *b == 0) {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl OtlpLogs {
    /// The `ExportLogsServiceResponse` in the request's format: empty when all was kept, a
    /// partial success naming how many records were refused and why otherwise.
    pub fn response_body(&self, rejected: i64, error_message: &str) -> Vec<u8> {
        let response = ExportLogsServiceResponse {
            partial_success: (rejected > 0 || !error_message.is_empty()).then(|| {
                ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message: error_message.to_owned(),
                }
            }),
        };
        match self.format {
            OtlpFormat::Protobuf => response.encode_to_vec(),
            OtlpFormat::Json if response.partial_success.is_none() => b"{}".to_vec(),
            OtlpFormat::Json => serde_json::to_vec(&response).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_json_logs_flatten_to_lines() {
        let body = br#"{"resourceLogs":[{"resource":{"attributes":[
            {"key":"service.name","value":{"stringValue":"api"}},
            {"key":"host.name","value":{"stringValue":"pod-1"}}]},
          "scopeLogs":[{"scope":{"name":"keiko"},"logRecords":[{
            "timeUnixNano":"1700000000000000000","severityNumber":17,"severityText":"ERROR",
            "body":{"stringValue":"Timeout"},
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "attributes":[{"key":"correlation_id","value":{"stringValue":"c-1"}},
                          {"key":"code.lineno","value":{"intValue":"42"}}]}]}]}]}"#;
        let d =
            decode_otlp_logs(body, Some("application/json"), None, &Limits::default(), 10).unwrap();
        let l = &d.lines[0];
        assert_eq!(l.time_ns, 1_700_000_000_000_000_000);
        assert_eq!((l.severity_number, l.body.as_str()), (17, "Timeout"));
        assert_eq!(l.service, "api");
        assert_eq!(l.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(l.span_id, "eee19b7ec3c1b174");
        assert!(l.attributes.contains(&("host.name".into(), "pod-1".into())));
        assert!(l.attributes.contains(&("code.lineno".into(), "42".into())));
        assert_eq!(d.response_body(0, ""), b"{}");
        let partial = String::from_utf8(d.response_body(1, "too many fields")).unwrap();
        assert!(partial.contains("rejectedLogRecords"), "{partial}");
    }
}
