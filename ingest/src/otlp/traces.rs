//! OTLP/HTTP traces (`POST /v1/traces`): protobuf or JSON, optionally gzip-compressed, into
//! [`SpanLine`]s. Spans that break [`SpanLimits`] are refused one by one and reported in
//! the partial success ([`OtlpSpans::response_body`]); a body that cannot be read at all is
//! a [`DecodeError`].

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

use super::attributes::value_string;
use super::{unwrap_body, OtlpFormat};
use crate::error::{clip, DecodeError};
use crate::limits::Limits;
use crate::spans::{
    hex, Attr, AttrType, DecodedSpans, SpanEvent, SpanKind, SpanLimits, SpanLine, SpanLink,
    SpanStatus,
};

/// A decoded OTLP traces request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OtlpSpans {
    pub decoded: DecodedSpans,
    pub format: OtlpFormat,
}

/// Decodes an OTLP/HTTP traces body (`content_type` protobuf, the default, or JSON;
/// `content_encoding` identity or gzip); more than `max_spans` spans refuse the request.
pub fn decode_otlp_traces(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &Limits,
    span_limits: &SpanLimits,
    max_spans: usize,
) -> Result<OtlpSpans, DecodeError> {
    let (format, raw) = unwrap_body(body, content_type, content_encoding, limits)?;
    let request = match format {
        OtlpFormat::Protobuf => ExportTraceServiceRequest::decode(&raw[..])
            .map_err(|e| DecodeError::Protobuf(clip(&e.to_string())))?,
        OtlpFormat::Json => parse_json(&raw)?,
    };
    let total: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    if total > max_spans {
        return Err(DecodeError::TooManySamples {
            limit: format!("{max_spans} spans"),
        });
    }
    let mut out = DecodedSpans::default();
    let mut index = 0;
    // The request is consumed: names, keys and string values move into the spans.
    for rs in request.resource_spans {
        let resource: &[KeyValue] = rs
            .resource
            .as_ref()
            .map(|r| &r.attributes[..])
            .unwrap_or(&[]);
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .map(|kv| value_string(kv.value.as_ref()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let resource_attrs: Vec<Attr> = resource
            .iter()
            .filter(|kv| kv.key != "service.name")
            .cloned()
            .map(attr)
            .collect();
        for ss in rs.scope_spans {
            let scope = ss.scope.map(|s| s.name).unwrap_or_default();
            for s in ss.spans {
                match span(s, &service, &resource_attrs, &scope) {
                    Ok(line) => out.offer(index, line, span_limits),
                    // An unknown kind or status: refused like any other bad span.
                    Err(reason) => out.refuse(index, &reason),
                }
                index += 1;
            }
        }
    }
    Ok(OtlpSpans {
        decoded: out,
        format,
    })
}

fn attr(kv: KeyValue) -> Attr {
    let kind = attr_type(kv.value.as_ref());
    let value = match kv.value {
        Some(AnyValue {
            value: Some(Value::StringValue(s)),
        }) => s,
        other => value_string(other.as_ref()),
    };
    Attr {
        key: kv.key,
        value,
        kind,
    }
}

fn attr_type(v: Option<&AnyValue>) -> AttrType {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValue(_)) => AttrType::Str,
        Some(Value::IntValue(_)) => AttrType::Int,
        Some(Value::DoubleValue(_)) => AttrType::Float,
        Some(Value::BoolValue(_)) => AttrType::Bool,
        Some(_) => AttrType::Other,
    }
}

fn time(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

fn span(
    s: opentelemetry_proto::tonic::trace::v1::Span,
    service: &str,
    resource: &[Attr],
    scope: &str,
) -> Result<SpanLine, String> {
    let kind =
        SpanKind::from_otlp(s.kind).ok_or_else(|| format!("unknown span kind {}", s.kind))?;
    let (status, status_message) = match s.status {
        None => (SpanStatus::Unset, String::new()),
        Some(st) => {
            let code = match StatusCode::try_from(st.code) {
                Ok(StatusCode::Unset) => SpanStatus::Unset,
                Ok(StatusCode::Ok) => SpanStatus::Ok,
                Ok(StatusCode::Error) => SpanStatus::Error,
                Err(_) => return Err(format!("unknown status code {}", st.code)),
            };
            (code, st.message)
        }
    };
    Ok(SpanLine {
        trace_id: hex(&s.trace_id),
        span_id: hex(&s.span_id),
        parent_span_id: if s.parent_span_id.iter().all(|b| *b == 0) {
            String::new()
        } else {
            hex(&s.parent_span_id)
        },
        name: s.name,
        kind,
        start_ns: time(s.start_time_unix_nano),
        end_ns: time(s.end_time_unix_nano),
        status,
        status_message,
        service: service.to_owned(),
        resource: resource.to_vec(),
        attributes: s.attributes.into_iter().map(attr).collect(),
        scope: scope.to_owned(),
        events: s
            .events
            .into_iter()
            .map(|e| SpanEvent {
                time_ns: time(e.time_unix_nano),
                name: e.name,
                attributes: e.attributes.into_iter().map(attr).collect(),
            })
            .collect(),
        links: s
            .links
            .into_iter()
            .map(|l| SpanLink {
                trace_id: hex(&l.trace_id),
                span_id: hex(&l.span_id),
                attributes: l.attributes.into_iter().map(attr).collect(),
            })
            .collect(),
    })
}

/// Deepest nesting of a valid OTLP/JSON trace request is well under this (values nest
/// through `kvlistValue`/`arrayValue`).
const MAX_JSON_DEPTH: usize = 64;

/// The deepest nesting of objects and arrays in `raw` (strings skipped).
fn json_depth(raw: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in raw {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses OTLP/JSON. Enums must be numbers for the generated code; names
/// (`"SPAN_KIND_SERVER"`, `"STATUS_CODE_ERROR"`), which the protobuf JSON mapping also
/// allows, are rewritten to numbers first.
fn parse_json(raw: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    let error = |e: serde_json::Error| DecodeError::Json(clip(&e.to_string()));
    if json_depth(raw) > MAX_JSON_DEPTH {
        // Unknown fields are skipped, not parsed: without this a deeply nested one would be
        // accepted as an empty request.
        return Err(DecodeError::Json(format!(
            "nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let named = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    if !named(b"\"SPAN_KIND_") && !named(b"\"STATUS_CODE_") {
        return serde_json::from_slice(raw).map_err(error);
    }
    let mut value: serde_json::Value = serde_json::from_slice(raw).map_err(error)?;
    enum_names_to_numbers(&mut value);
    serde_json::from_value(value).map_err(error)
}

fn enum_names_to_numbers(value: &mut serde_json::Value) {
    use serde_json::Value as J;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            J::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if let (true, J::String(s)) = (key == "kind" || key == "code", &*v) {
                        let n = match s.as_str() {
                            "SPAN_KIND_UNSPECIFIED" | "STATUS_CODE_UNSET" => Some(0),
                            "SPAN_KIND_INTERNAL" | "STATUS_CODE_OK" => Some(1),
                            "SPAN_KIND_SERVER" | "STATUS_CODE_ERROR" => Some(2),
                            "SPAN_KIND_CLIENT" => Some(3),
                            "SPAN_KIND_PRODUCER" => Some(4),
                            "SPAN_KIND_CONSUMER" => Some(5),
                            _ => None,
                        };
                        if let Some(n) = n {
                            *v = J::from(n);
                        }
                    } else {
                        stack.push(v);
                    }
                }
            }
            J::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

impl OtlpSpans {
    /// The `ExportTraceServiceResponse` in the request's format: empty when every span was
    /// kept, a partial success with the count and reasons otherwise.
    pub fn response_body(&self) -> Vec<u8> {
        let d = &self.decoded;
        let response = ExportTraceServiceResponse {
            partial_success: (d.rejected > 0).then(|| ExportTracePartialSuccess {
                rejected_spans: d.rejected,
                error_message: d.error_message.clone(),
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

    const BODY: &str = r#"{"resourceSpans":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"keiko-agent"}},
        {"key":"host.name","value":{"stringValue":"pod-1"}}]},
      "scopeSpans":[{"scope":{"name":"keiko"},"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
         "name":"agent_task_execution","kind":"SPAN_KIND_SERVER",
         "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000",
         "attributes":[{"key":"agent.id","value":{"stringValue":"a-1"}},
                       {"key":"task.result_size","value":{"intValue":"42"}}],
         "events":[{"timeUnixNano":"1700000000100000000","name":"exception",
                    "attributes":[{"key":"exception.type","value":{"stringValue":"TimeoutError"}}]}],
         "status":{"code":"STATUS_CODE_ERROR","message":"boom"}},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175",
         "parentSpanId":"eee19b7ec3c1b174","name":"mcp.call","kind":3,
         "startTimeUnixNano":"1700000000200000000","endTimeUnixNano":"1700000000100000000"},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176",
         "name":"odd","kind":9,
         "startTimeUnixNano":"1700000000200000000","endTimeUnixNano":"1700000000300000000"}
      ]}]}]}"#;

    #[test]
    fn otlp_json_spans_flatten_and_bad_ones_are_counted() {
        let d = decode_otlp_traces(
            BODY.as_bytes(),
            Some("application/json"),
            None,
            &Limits::default(),
            &SpanLimits::default(),
            100,
        )
        .unwrap();
        let spans = &d.decoded.spans;
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.service, "keiko-agent");
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.status, SpanStatus::Error);
        assert_eq!(s.duration_ns(), 250_000_000);
        assert_eq!(s.attributes[1].kind, AttrType::Int);
        assert_eq!(s.events[0].attributes[0].value, "TimeoutError");
        assert_eq!(s.resource[0].key, "host.name");
        assert_eq!(d.decoded.rejected, 2);
        let msg = &d.decoded.error_message;
        assert!(msg.contains("span 1: end time"), "{msg}");
        assert!(msg.contains("span 2: unknown span kind 9"), "{msg}");
        let answer = String::from_utf8(d.response_body()).unwrap();
        assert!(answer.contains("\"rejectedSpans\":2"), "{answer}");
        let err = decode_otlp_traces(
            BODY.as_bytes(),
            Some("application/json"),
            None,
            &Limits::default(),
            &SpanLimits::default(),
            2,
        )
        .unwrap_err();
        assert!(err.is_too_large());
    }

    #[test]
    fn truncated_protobuf_is_an_error_not_a_panic() {
        let request: ExportTraceServiceRequest = parse_json(BODY.as_bytes()).unwrap();
        let deep = format!("{}1{}", "{\"a\":".repeat(100), "}".repeat(100));
        assert!(parse_json(deep.as_bytes()).is_err());
        assert_eq!(json_depth(br#"{"a":"{{[[","b":[{}]}"#), 3);
        let proto = request.encode_to_vec();
        for cut in 0..proto.len() {
            let _ = decode_otlp_traces(
                &proto[..cut],
                None,
                None,
                &Limits::default(),
                &SpanLimits::default(),
                100,
            );
        }
        let whole = decode_otlp_traces(
            &proto,
            None,
            None,
            &Limits::default(),
            &SpanLimits::default(),
            100,
        )
        .unwrap();
        assert_eq!(whole.decoded.spans.len(), 1);
    }
}
