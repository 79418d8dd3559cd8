//! Decoding pushed metrics into samples: Prometheus remote-write 1.0 and OTLP metrics.
//!
//! Pure library code, without I/O: the server hands over a request body and its headers and
//! gets back [`Sample`]s (full label sets, milliseconds, floats) and [`Metadata`] to store.
//!
//! - [`decode_remote_write`]: `POST /api/v1/write`, snappy-compressed `prometheus.WriteRequest`.
//! - [`decode_otlp_metrics`]: `POST /v1/metrics`, OTLP/HTTP in protobuf or JSON, optionally
//!   gzip-compressed, translated to Prometheus series as Prometheus 3's OTLP receiver does.
//!
//! Every decoder is bounded by [`Limits`]: decompressed size before allocation, label sizes,
//! number and memory of the decoded samples. Malformed input is an error, never a panic.
//!
//! ```
//! use prost::Message;
//! use ingest::{decode_remote_write, prompb};
//!
//! let request = prompb::WriteRequest {
//!     timeseries: vec![prompb::TimeSeries {
//!         labels: vec![prompb::Label { name: "__name__".into(), value: "up".into() }],
//!         samples: vec![prompb::Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let body = snap::raw::Encoder::new().compress_vec(&request.encode_to_vec()).unwrap();
//! let decoded = decode_remote_write(&body, Some("snappy")).unwrap();
//! assert_eq!(decoded.samples[0].name(), "up");
//! assert!(decoded.error.is_empty());
//! ```

mod decompress;
mod error;
pub mod fluent;
mod limits;
pub mod loki;
pub mod msgpack;
mod otlp;
pub mod prompb;
mod remote_write;
mod sample;
pub mod spans;
mod zipkin;

pub use error::DecodeError;
pub use limits::Limits;
pub use loki::{decode_loki_push, LokiEntry};
pub use otlp::logs::{decode_otlp_logs, LogLine, OtlpLogs};
pub use otlp::traces::{decode_otlp_traces, OtlpSpans};
pub use otlp::{
    decode_otlp_metrics, decode_otlp_metrics_with, translate_otlp, OtlpDecoded, OtlpFormat,
    OtlpOptions, MAX_TARGET_INFO_FILL,
};
pub use remote_write::{
    decode_remote_write, decode_remote_write_series, decode_remote_write_with,
    translate as translate_remote_write, Decoded, DecodedSeries, RemoteWriteStats, SeriesSamples,
};
pub use sample::{
    is_stale_nan, is_valid_label_name, is_valid_metric_name, stale_nan, ExemplarSample, Metadata,
    MetricType, Sample, METRIC_NAME_LABEL, STALE_NAN_BITS,
};
pub use spans::{DecodedSpans, SpanLimits, SpanLine};
pub use zipkin::decode_zipkin_v2;
