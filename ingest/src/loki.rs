//! The Loki push API (`POST /loki/api/v1/push`): `logproto.PushRequest` as protobuf in
//! snappy (what Promtail, Grafana Alloy and Fluent Bit send), or JSON (optionally gzip),
//! into plain entries with their stream's labels. The protobuf messages are written here
//! by hand (the few fields the push path carries), as `prompb` does for remote-write.

use prost::Message;

use crate::decompress;
use crate::error::{clip, DecodeError};
use crate::limits::Limits;

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: labels in Prometheus's selector text (`{job="api"}`).
#[derive(Clone, PartialEq, Message)]
pub struct StreamAdapter {
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// One pushed line with its stream's labels and its structured metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LokiEntry {
    pub labels: Vec<(String, String)>,
    /// Unix ns.
    pub time_ns: i64,
    pub line: String,
    pub metadata: Vec<(String, String)>,
}

/// Decodes a push body: `application/x-protobuf` (snappy block format, Loki's default)
/// or `application/json` (with `Content-Encoding: gzip` allowed); at most `max_entries`.
pub fn decode_loki_push(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &Limits,
    max_entries: usize,
) -> Result<Vec<LokiEntry>, DecodeError> {
    let json = match decompress::media(content_type).as_deref() {
        None | Some("application/x-protobuf") | Some("application/protobuf") => false,
        Some("application/json") => true,
        Some(other) => return Err(DecodeError::UnsupportedContentType(clip(other))),
    };
    let inflated;
    let raw: &[u8] = match (decompress::media(content_encoding).as_deref(), json) {
        (None | Some("identity"), true) => {
            if body.len() > limits.max_decompressed_bytes {
                return Err(DecodeError::BodyTooLarge {
                    limit: limits.max_decompressed_bytes,
                });
            }
            body
        }
        // Protobuf pushes are snappy-compressed by the protocol, whatever the header says.
        (None | Some("identity") | Some("snappy"), false) => {
            inflated = decompress::snappy(body, limits.max_decompressed_bytes)?;
            &inflated
        }
        (Some("gzip") | Some("x-gzip"), _) => {
            inflated = decompress::gzip(body, limits.max_decompressed_bytes)?;
            &inflated
        }
        (Some(other), _) => return Err(DecodeError::UnsupportedContentEncoding(clip(other))),
    };
    let mut out = Vec::new();
    let mut push = |entry: LokiEntry| {
        if out.len() >= max_entries {
            return Err(DecodeError::TooManySamples {
                limit: format!("{max_entries} log entries"),
            });
        }
        out.push(entry);
        Ok(())
    };
    if json {
        let request: serde_json::Value =
            serde_json::from_slice(raw).map_err(|e| DecodeError::Json(clip(&e.to_string())))?;
        let bad = |m: String| DecodeError::Json(clip(&m));
        let streams = request["streams"]
            .as_array()
            .ok_or_else(|| bad("`streams` must be an array".into()))?;
        for (s, stream) in streams.iter().enumerate() {
            let labels = string_map(&stream["stream"])
                .ok_or_else(|| bad(format!("streams[{s}].stream must be an object of strings")))?;
            let values = stream["values"]
                .as_array()
                .ok_or_else(|| bad(format!("streams[{s}].values must be an array")))?;
            for (v, value) in values.iter().enumerate() {
                let at = || format!("streams[{s}].values[{v}]");
                let time_ns = value[0]
                    .as_str()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| {
                        bad(format!("{}[0] must be Unix nanoseconds as a string", at()))
                    })?;
                let line = value[1]
                    .as_str()
                    .ok_or_else(|| bad(format!("{}[1] must be the line as a string", at())))?;
                let metadata = match value.get(2) {
                    None => Vec::new(),
                    Some(m) => string_map(m)
                        .ok_or_else(|| bad(format!("{}[2] must be an object of strings", at())))?,
                };
                push(LokiEntry {
                    labels: labels.clone(),
                    time_ns,
                    line: line.to_owned(),
                    metadata,
                })?;
            }
        }
    } else {
        let request =
            PushRequest::decode(raw).map_err(|e| DecodeError::Protobuf(clip(&e.to_string())))?;
        for stream in request.streams {
            let labels = parse_labels(&stream.labels).map_err(|m| {
                DecodeError::Protobuf(clip(&format!("labels {:?}: {m}", stream.labels)))
            })?;
            for e in stream.entries {
                let t = e.timestamp.unwrap_or_default();
                push(LokiEntry {
                    labels: labels.clone(),
                    time_ns: t
                        .seconds
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(t.nanos)),
                    line: e.line,
                    metadata: e
                        .structured_metadata
                        .into_iter()
                        .map(|p| (p.name, p.value))
                        .collect(),
                })?;
            }
        }
    }
    Ok(out)
}

fn string_map(v: &serde_json::Value) -> Option<Vec<(String, String)>> {
    v.as_object()?
        .iter()
        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// Parses Prometheus's selector text of a stream's labels: `{a="x", b="y\"z"}`.
pub fn parse_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("not in braces")?;
    let mut out = Vec::new();
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("a label without `=`")?;
        let name = rest[..eq].trim();
        if name.is_empty() {
            return Err("an empty label name".into());
        }
        let mut chars = rest[eq + 1..].trim_start().char_indices();
        let after_eq = rest[eq + 1..].trim_start();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!("label {name}: value not quoted"));
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in chars {
            match (escaped, c) {
                (true, 'n') => value.push('\n'),
                (true, c) => value.push(c),
                (false, '\\') => {
                    escaped = true;
                    continue;
                }
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                (false, c) => value.push(c),
            }
            escaped = false;
        }
        let end = end.ok_or_else(|| format!("label {name}: unterminated value"))?;
        out.push((name.to_owned(), value));
        rest = after_eq[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_with_escapes() {
        assert_eq!(
            parse_labels(r#"{job="api", msg="a \"b\"", x="1"}"#).unwrap(),
            vec![
                ("job".into(), "api".into()),
                ("msg".into(), "a \"b\"".into()),
                ("x".into(), "1".into())
            ]
        );
        assert!(parse_labels("job=api").is_err());
        assert!(parse_labels(r#"{job="api}"#).is_err());
    }

    #[test]
    fn protobuf_in_snappy_and_json_pushes_decode() {
        let request = PushRequest {
            streams: vec![StreamAdapter {
                labels: r#"{service_name="api", level="error"}"#.into(),
                entries: vec![EntryAdapter {
                    timestamp: Some(Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 5,
                    }),
                    line: "Timeout".into(),
                    structured_metadata: vec![LabelPairAdapter {
                        name: "trace_id".into(),
                        value: "abc".into(),
                    }],
                }],
                hash: 0,
            }],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&request.encode_to_vec())
            .unwrap();
        let e = decode_loki_push(
            &body,
            Some("application/x-protobuf"),
            None,
            &Limits::default(),
            10,
        )
        .unwrap();
        assert_eq!(e[0].time_ns, 1_700_000_000_000_000_005);
        assert_eq!(e[0].labels[1], ("level".into(), "error".into()));
        assert_eq!(e[0].metadata[0].1, "abc");
        let json = br#"{"streams":[{"stream":{"job":"x"},"values":[["1700000000000000000","hi",{"user":"u"}]]}]}"#;
        let e =
            decode_loki_push(json, Some("application/json"), None, &Limits::default(), 10).unwrap();
        assert_eq!(
            (e[0].line.as_str(), e[0].metadata[0].1.as_str()),
            ("hi", "u")
        );
        let bad = br#"{"streams":[{"stream":{"job":"x"},"values":[[17, "hi"]]}]}"#;
        let err = decode_loki_push(bad, Some("application/json"), None, &Limits::default(), 10)
            .unwrap_err();
        assert!(err.to_string().contains("streams[0].values[0][0]"), "{err}");
    }
}
