//! Zipkin v2 spans (`POST /api/v2/spans`, JSON, optionally gzip) into [`SpanLine`]s, mapped
//! as the OpenTelemetry Collector's Zipkin receiver maps them: 64-bit trace ids padded to
//! 128 bits, microseconds to nanoseconds, annotations to events, tags to attributes, an
//! `error` tag to an error status, the remote endpoint to `peer.service` and
//! `net.peer.ip`/`net.peer.port`. A span that breaks a rule is refused with its position;
//! Zipkin's own server refuses the whole request then, and so does the portal.

use serde_json::{Map, Value};

use crate::decompress;
use crate::error::{clip, DecodeError};
use crate::limits::Limits;
use crate::spans::{Attr, DecodedSpans, SpanEvent, SpanKind, SpanLimits, SpanLine, SpanStatus};

/// Decodes a Zipkin v2 JSON list of spans; more than `max_spans` refuse the request.
pub fn decode_zipkin_v2(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &Limits,
    span_limits: &SpanLimits,
    max_spans: usize,
) -> Result<DecodedSpans, DecodeError> {
    match decompress::media(content_type).as_deref() {
        None | Some("application/json") => {}
        Some(other) => return Err(DecodeError::UnsupportedContentType(clip(other))),
    }
    let raw = match decompress::media(content_encoding).as_deref() {
        None | Some("identity") => {
            if body.len() > limits.max_decompressed_bytes {
                return Err(DecodeError::BodyTooLarge {
                    limit: limits.max_decompressed_bytes,
                });
            }
            std::borrow::Cow::Borrowed(body)
        }
        Some("gzip") | Some("x-gzip") => {
            std::borrow::Cow::Owned(decompress::gzip(body, limits.max_decompressed_bytes)?)
        }
        Some(other) => return Err(DecodeError::UnsupportedContentEncoding(clip(other))),
    };
    let json_error = |m: String| DecodeError::Json(clip(&m));
    let value: Value = serde_json::from_slice(&raw).map_err(|e| json_error(e.to_string()))?;
    let Value::Array(items) = value else {
        return Err(json_error("expected a JSON array of spans".into()));
    };
    if items.len() > max_spans {
        return Err(DecodeError::TooManySamples {
            limit: format!("{max_spans} spans"),
        });
    }
    let mut out = DecodedSpans::default();
    for (i, item) in items.iter().enumerate() {
        match span(item) {
            Ok(s) => out.offer(i, s, span_limits),
            Err(reason) => out.refuse(i, &reason),
        }
    }
    Ok(out)
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn micros(o: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a non-negative number of microseconds")),
    }
}

fn id(o: &Map<String, Value>, key: &str) -> Result<String, String> {
    Ok(text(o, key)?.unwrap_or_default().to_ascii_lowercase())
}

fn span(item: &Value) -> Result<SpanLine, String> {
    let o = item.as_object().ok_or("a span must be a JSON object")?;
    let mut trace_id = id(o, "traceId")?;
    if trace_id.len() == 16 {
        trace_id = format!("{:0>32}", trace_id);
    }
    let kind = match text(o, "kind")? {
        None => SpanKind::Unspecified,
        Some(k) => match SpanKind::parse(k) {
            Some(SpanKind::Server | SpanKind::Client | SpanKind::Producer | SpanKind::Consumer) => {
                SpanKind::parse(k).unwrap_or_default()
            }
            _ => return Err(format!("unknown span kind {:?}", clip(k))),
        },
    };
    let start_us = micros(o, "timestamp")?.ok_or("`timestamp` is missing")?;
    let duration_us = micros(o, "duration")?.unwrap_or(0);
    let endpoint = |key: &str| o.get(key).and_then(Value::as_object);
    let service = endpoint("localEndpoint")
        .and_then(|e| e.get("serviceName"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown_service")
        .to_owned();
    let mut attributes = Vec::new();
    let mut status = SpanStatus::Unset;
    let mut status_message = String::new();
    match o.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Object(tags)) => {
            for (k, v) in tags {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("tag `{}` must be a string", clip(k)))?;
                match k.as_str() {
                    "error" => {
                        status = SpanStatus::Error;
                        status_message = v.to_owned();
                    }
                    "otel.status_code" if v.eq_ignore_ascii_case("error") => {
                        status = SpanStatus::Error
                    }
                    "otel.status_code" if v.eq_ignore_ascii_case("ok") => status = SpanStatus::Ok,
                    "otel.status_description" => status_message = v.to_owned(),
                    _ => attributes.push(Attr::text(k, v)),
                }
            }
        }
        Some(_) => return Err("`tags` must be an object of strings".into()),
    }
    if let Some(remote) = endpoint("remoteEndpoint") {
        for (from, to) in [
            ("serviceName", "peer.service"),
            ("ipv4", "net.peer.ip"),
            ("ipv6", "net.peer.ip"),
        ] {
            if let Some(v) = remote.get(from).and_then(Value::as_str) {
                if !attributes.iter().any(|a: &Attr| a.key == to) {
                    attributes.push(Attr::text(to, v));
                }
            }
        }
        if let Some(port) = remote.get("port").and_then(Value::as_i64) {
            attributes.push(Attr {
                key: "net.peer.port".into(),
                value: port.to_string(),
                kind: crate::spans::AttrType::Int,
            });
        }
    }
    let mut events = Vec::new();
    match o.get("annotations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for a in list {
                let a = a.as_object().ok_or("an annotation must be an object")?;
                events.push(SpanEvent {
                    time_ns: micros(a, "timestamp")?.unwrap_or(start_us) * 1000,
                    name: text(a, "value")?.unwrap_or_default().to_owned(),
                    attributes: Vec::new(),
                });
            }
        }
        Some(_) => return Err("`annotations` must be a list".into()),
    }
    let start_ns = start_us
        .checked_mul(1000)
        .ok_or("`timestamp` is out of range")?;
    Ok(SpanLine {
        trace_id,
        span_id: id(o, "id")?,
        parent_span_id: id(o, "parentId")?,
        name: text(o, "name")?
            .filter(|n| !n.is_empty())
            .unwrap_or("unknown")
            .to_owned(),
        kind,
        start_ns,
        end_ns: start_ns.saturating_add(duration_us.saturating_mul(1000)),
        status,
        status_message,
        service,
        resource: Vec::new(),
        attributes,
        scope: String::new(),
        events,
        links: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<DecodedSpans, DecodeError> {
        decode_zipkin_v2(
            body.as_bytes(),
            Some("application/json"),
            None,
            &Limits::default(),
            &SpanLimits::default(),
            100,
        )
    }

    #[test]
    fn zipkin_spans_map_to_span_lines() {
        let d = decode(
            r#"[{"traceId":"a1b2c3d4e5f60718","id":"1122334455667788","name":"get /tasks",
                "kind":"SERVER","timestamp":1700000000000000,"duration":1500,
                "localEndpoint":{"serviceName":"keiko-api"},
                "remoteEndpoint":{"serviceName":"agent","ipv4":"10.0.0.1","port":8080},
                "annotations":[{"timestamp":1700000000000100,"value":"wr"}],
                "tags":{"http.method":"GET","error":"timeout"}}]"#,
        )
        .unwrap();
        assert_eq!(d.rejected, 0, "{}", d.error_message);
        let s = &d.spans[0];
        assert_eq!(s.trace_id, "0000000000000000a1b2c3d4e5f60718");
        assert_eq!(s.duration_ns(), 1_500_000);
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(
            (s.status, s.status_message.as_str()),
            (SpanStatus::Error, "timeout")
        );
        assert_eq!(s.service, "keiko-api");
        assert!(s.attributes.contains(&Attr::text("peer.service", "agent")));
        assert_eq!(s.events[0].time_ns, 1_700_000_000_000_100_000);
    }

    #[test]
    fn bad_zipkin_spans_are_named() {
        let d = decode(
            r#"[{"traceId":"a1b2","id":"1122334455667788","timestamp":1},
                {"traceId":"a1b2c3d4e5f60718","id":"1122334455667788","kind":"SIDEWAYS","timestamp":1}]"#,
        )
        .unwrap();
        assert_eq!(d.rejected, 2);
        assert!(
            d.error_message.contains("span 0: trace id"),
            "{}",
            d.error_message
        );
        assert!(
            d.error_message.contains("span 1: unknown span kind"),
            "{}",
            d.error_message
        );
        assert!(decode(r#"{"traceId":1}"#).is_err());
        assert!(decode("[").is_err());
    }
}
