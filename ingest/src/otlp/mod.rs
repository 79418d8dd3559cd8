//! OTLP/HTTP metrics (`POST /v1/metrics`): protobuf or JSON, optionally gzip-compressed,
//! translated into Prometheus samples as Prometheus 3's OTLP receiver does by default
//! (`UnderscoreEscapingWithSuffixes`).
//!
//! What is refused, per metric or per data point, is counted in
//! [`OtlpDecoded::rejected_data_points`] and explained in [`OtlpDecoded::error_message`], which
//! is what the OTLP specification's partial success carries; the rest is kept. The server
//! answers `200 OK` with [`OtlpDecoded::response_body`] in either case, and `400` (or `413`,
//! `415`) with the [`DecodeError`] when the body cannot be read at all.
//!
//! Refused by default, with reasons: delta temporality (as Prometheus without its
//! `otlp-deltatocumulative`/`otlp-native-delta-ingestion` features; see
//! [`OtlpOptions::allow_delta_temporality`]), exponential histograms (they would need native
//! histograms), and data points whose labels break [`Limits`].

mod attributes;
pub mod logs;
mod names;
pub mod traces;
mod translate;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

use crate::decompress;
use crate::error::{clip, DecodeError};
use crate::limits::Limits;
use crate::{Metadata, Sample};

pub use translate::MAX_TARGET_INFO_FILL;

/// The encoding of an OTLP/HTTP body; the response must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpFormat {
    /// `application/x-protobuf`.
    #[default]
    Protobuf,
    /// `application/json` (OTLP/JSON).
    Json,
}

impl OtlpFormat {
    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Translation choices; the defaults are Prometheus 3's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpOptions {
    /// Accept delta sums and histograms, storing each point as it is (metadata type
    /// `unknown`), like Prometheus's experimental `otlp-native-delta-ingestion`. Off by
    /// default: such metrics are refused with a reason.
    pub allow_delta_temporality: bool,
    /// Write a `target_info` series per resource (Prometheus's default).
    pub target_info: bool,
}

impl Default for OtlpOptions {
    fn default() -> Self {
        Self {
            allow_delta_temporality: false,
            target_info: true,
        }
    }
}

/// A decoded and translated OTLP metrics request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OtlpDecoded {
    /// The samples to store.
    pub samples: Vec<Sample>,
    /// One entry per metric family seen (`target_info` included).
    pub metadata: Vec<Metadata>,
    /// Exemplars of sums, gauges and histogram buckets (trace and span ids in hex).
    pub exemplars: Vec<crate::ExemplarSample>,
    /// OTLP data points translated (a histogram point counts once, whatever its series).
    pub accepted_data_points: u64,
    /// OTLP data points refused, as the partial success reports them.
    pub rejected_data_points: i64,
    /// Why points were refused, or other warnings (first few); empty when none.
    pub error_message: String,
    /// The request's encoding, for the response.
    pub format: OtlpFormat,
}

impl OtlpDecoded {
    /// The `ExportMetricsServiceResponse`: empty when all was accepted, a partial success
    /// otherwise.
    pub fn response(&self) -> ExportMetricsServiceResponse {
        let partial = self.rejected_data_points > 0 || !self.error_message.is_empty();
        ExportMetricsServiceResponse {
            partial_success: partial.then(|| ExportMetricsPartialSuccess {
                rejected_data_points: self.rejected_data_points,
                error_message: self.error_message.clone(),
            }),
        }
    }

    /// The response body in the request's format (see [`OtlpFormat::content_type`]).
    pub fn response_body(&self) -> Vec<u8> {
        let response = self.response();
        match self.format {
            OtlpFormat::Protobuf => response.encode_to_vec(),
            OtlpFormat::Json if response.partial_success.is_none() => b"{}".to_vec(),
            // Serialising these plain structs cannot fail.
            OtlpFormat::Json => serde_json::to_vec(&response).unwrap_or_default(),
        }
    }
}

/// Decodes and translates an OTLP/HTTP metrics body with default options and [`Limits`].
///
/// `content_type`: `application/x-protobuf` (also assumed when absent) or `application/json`.
/// `content_encoding`: absent, `identity` or `gzip`.
pub fn decode_otlp_metrics(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<OtlpDecoded, DecodeError> {
    decode_otlp_metrics_with(
        body,
        content_type,
        content_encoding,
        &OtlpOptions::default(),
        &Limits::default(),
    )
}

/// [`decode_otlp_metrics`] with explicit options and limits.
pub fn decode_otlp_metrics_with(
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    options: &OtlpOptions,
    limits: &Limits,
) -> Result<OtlpDecoded, DecodeError> {
    let (format, raw) = unwrap_body(body, content_type, content_encoding, limits)?;
    let raw = &raw[..];
    let request = match format {
        OtlpFormat::Protobuf => ExportMetricsServiceRequest::decode(raw)
            .map_err(|e| DecodeError::Protobuf(clip(&e.to_string())))?,
        OtlpFormat::Json => parse_json(raw)?,
    };
    let mut decoded = translate_otlp(&request, options, limits)?;
    decoded.format = format;
    Ok(decoded)
}

/// The format a `Content-Type` names and the body with its `Content-Encoding` undone
/// (identity or gzip), bounded by [`Limits::max_decompressed_bytes`].
pub(crate) fn unwrap_body<'a>(
    body: &'a [u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    limits: &Limits,
) -> Result<(OtlpFormat, std::borrow::Cow<'a, [u8]>), DecodeError> {
    let format = match decompress::media(content_type).as_deref() {
        None | Some("application/x-protobuf") | Some("application/protobuf") => {
            OtlpFormat::Protobuf
        }
        Some("application/json") => OtlpFormat::Json,
        Some(other) => return Err(DecodeError::UnsupportedContentType(clip(other))),
    };
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
    Ok((format, raw))
}

/// Translates an already decoded request (e.g. one received over gRPC).
pub fn translate_otlp(
    request: &ExportMetricsServiceRequest,
    options: &OtlpOptions,
    limits: &Limits,
) -> Result<OtlpDecoded, DecodeError> {
    translate::translate(request, options, limits)
}

/// Parses OTLP/JSON. The generated serde code reads enums only as numbers, which the OTLP
/// specification requires of senders; names (`"AGGREGATION_TEMPORALITY_CUMULATIVE"`), which
/// the protobuf JSON mapping also allows, are accepted by rewriting them on a second pass.
fn parse_json(raw: &[u8]) -> Result<ExportMetricsServiceRequest, DecodeError> {
    let error = |e: serde_json::Error| DecodeError::Json(clip(&e.to_string()));
    if !has_quoted_temporality(raw) {
        return serde_json::from_slice(raw).map_err(error);
    }
    let mut value: serde_json::Value = serde_json::from_slice(raw).map_err(error)?;
    enum_names_to_numbers(&mut value);
    serde_json::from_value(value).map_err(error)
}

/// Whether some `"aggregationTemporality"` key has a string value. The generated code would
/// not fail on one: the metric's data is a flattened `Option`, which serde turns into `None`
/// on any error inside, so the metric would arrive without data.
fn has_quoted_temporality(raw: &[u8]) -> bool {
    const KEY: &[u8] = b"\"aggregationTemporality\"";
    let mut rest = raw;
    while let Some(at) = rest.windows(KEY.len()).position(|w| w == KEY) {
        rest = &rest[at + KEY.len()..];
        let after = rest
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b':');
        if after.is_some_and(|i| rest[i] == b'"') {
            return true;
        }
    }
    false
}

/// Rewrites enum names (and numbers in strings) of `aggregationTemporality` fields into
/// numbers; says whether anything changed.
fn enum_names_to_numbers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, v) in map.iter_mut() {
                if key == "aggregationTemporality" {
                    if let Value::String(s) = v {
                        let n = match s.as_str() {
                            "AGGREGATION_TEMPORALITY_UNSPECIFIED" => Some(0),
                            "AGGREGATION_TEMPORALITY_DELTA" => Some(1),
                            "AGGREGATION_TEMPORALITY_CUMULATIVE" => Some(2),
                            other => other.parse::<i32>().ok(),
                        };
                        if let Some(n) = n {
                            *v = Value::from(n);
                            changed = true;
                        }
                    }
                } else {
                    changed |= enum_names_to_numbers(v);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| enum_names_to_numbers(v) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const JSON: &str = r#"{"resourceMetrics":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"api"}},
        {"key":"service.instance.id","value":{"stringValue":"i-1"}},
        {"key":"cloud.region","value":{"stringValue":"eu"}}]},
      "scopeMetrics":[{"metrics":[
        {"name":"requests","unit":"1","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE",
          "isMonotonic":true,"dataPoints":[{"asInt":"42","timeUnixNano":"1700000000000000000",
          "attributes":[{"key":"code","value":{"intValue":"200"}}]}]}},
        {"name":"up","gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":1700000000000000000,"flags":1}]}}
      ]}]}]}"#;

    #[test]
    fn json_accepts_enum_names_and_int64_strings() {
        let d = decode_otlp_metrics(JSON.as_bytes(), Some("application/json"), None).unwrap();
        assert_eq!(d.error_message, "");
        let counter = d
            .samples
            .iter()
            .find(|s| s.name() == "requests_total")
            .unwrap();
        assert_eq!(counter.v, 42.0);
        assert_eq!(counter.t_ms, 1_700_000_000_000);
        assert_eq!(counter.label("code"), Some("200"));
        assert_eq!(counter.label("instance"), Some("i-1"));
        assert_eq!(counter.label("job"), Some("api"));
        let up = d.samples.iter().find(|s| s.name() == "up").unwrap();
        assert!(crate::is_stale_nan(up.v));
        let info = d
            .samples
            .iter()
            .find(|s| s.name() == "target_info")
            .unwrap();
        assert_eq!(info.label("cloud_region"), Some("eu"));
        assert!(d.response().partial_success.is_none());
        assert_eq!(d.response_body(), b"{}");
    }

    #[test]
    fn media_types_and_encodings() {
        let err = decode_otlp_metrics(b"{}", Some("text/plain"), None).unwrap_err();
        assert!(err.is_unsupported_media());
        let err = decode_otlp_metrics(b"{}", Some("application/json"), Some("br")).unwrap_err();
        assert!(err.is_unsupported_media());
        let d = decode_otlp_metrics(b"", None, None).unwrap();
        assert_eq!(d.format, OtlpFormat::Protobuf);
        assert!(d.samples.is_empty());
        assert_eq!(OtlpFormat::Json.content_type(), "application/json");
    }

    #[test]
    fn hostile_bodies_are_errors_not_panics() {
        let request: ExportMetricsServiceRequest = serde_json::from_str(JSON)
            .or_else(|_| parse_json(JSON.as_bytes()))
            .unwrap();
        let proto = request.encode_to_vec();
        for cut in 0..proto.len() {
            let _ = decode_otlp_metrics(&proto[..cut], None, None);
        }
        assert!(matches!(
            decode_otlp_metrics(&proto[..proto.len() - 2], None, None),
            Err(DecodeError::Protobuf(_))
        ));
        for cut in 0..JSON.len() {
            if JSON.is_char_boundary(cut) {
                let r =
                    decode_otlp_metrics(&JSON.as_bytes()[..cut], Some("application/json"), None);
                assert!(r.is_err() || cut == 0, "{cut}: {:?}", &JSON[..cut]);
            }
        }
        for bad in [&b"{\"resourceMetrics\":5}"[..], b"\xff\xfe", b"nul"] {
            assert!(matches!(
                decode_otlp_metrics(bad, Some("application/json"), None),
                Err(DecodeError::Json(_))
            ));
        }
        // An unreadable metric body loses only that metric (serde flattens the data `oneof`
        // into an `Option`, which swallows the error), and says so.
        let d = decode_otlp_metrics(
            br#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m",
                "sum":{"aggregationTemporality":"NOPE"}}]}]}]}"#,
            Some("application/json"),
            None,
        )
        .unwrap();
        assert!(
            d.error_message.contains("\"m\": no data"),
            "{}",
            d.error_message
        );
        // Deep nesting is refused by the JSON parser's recursion limit, not the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(decode_otlp_metrics(deep.as_bytes(), Some("application/json"), None).is_err());
    }

    #[test]
    fn gzip_bombs_and_oversized_bodies_are_refused() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b' '; 40 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 1 << 20);
        let err = decode_otlp_metrics(&bomb, Some("application/json"), Some("gzip")).unwrap_err();
        assert_eq!(err, DecodeError::BodyTooLarge { limit: 32 << 20 });
        assert!(err.is_too_large());

        let limits = Limits {
            max_decompressed_bytes: 10,
            ..Limits::default()
        };
        let err = decode_otlp_metrics_with(
            JSON.as_bytes(),
            Some("application/json"),
            None,
            &OtlpOptions::default(),
            &limits,
        )
        .unwrap_err();
        assert!(err.is_too_large());
    }
}
