//! The OTLP/JSON examples of open-telemetry/opentelemetry-proto (read from
//! `KEIKO_OTLP_JSON_DIR`, default `../shared/conformance/otlp-json` beside the project, never
//! copied here) decoded and translated to the Prometheus series Prometheus 3 would store.

use std::io::Write;
use std::path::PathBuf;

use ingest::{
    decode_otlp_metrics, decode_otlp_metrics_with, Limits, MetricType, OtlpDecoded, OtlpFormat,
    OtlpOptions, Sample,
};
use prost::Message;

fn example(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("KEIKO_OTLP_JSON_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/conformance/otlp-json"
        )),
    };
    let path = dir.join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The samples as `name{a="b",…} value @t`, sorted, for readable comparisons.
fn series(decoded: &OtlpDecoded) -> Vec<String> {
    let mut out: Vec<String> = decoded.samples.iter().map(render).collect();
    out.sort();
    out
}

fn render(s: &Sample) -> String {
    let labels: Vec<String> = s
        .labels
        .iter()
        .filter(|(n, _)| n != "__name__")
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    format!("{}{{{}}} {} @{}", s.name(), labels.join(","), s.v, s.t_ms)
}

const T: i64 = 1_544_712_660_300;

#[test]
fn metrics_json_with_prometheus_defaults_keeps_the_gauge_and_refuses_delta() {
    let decoded =
        decode_otlp_metrics(&example("metrics.json"), Some("application/json"), None).unwrap();
    assert_eq!(decoded.format, OtlpFormat::Json);
    // The counter and both histograms of the example are delta (aggregationTemporality 1),
    // which Prometheus refuses by default.
    assert_eq!(
        series(&decoded),
        vec![format!(
            "my_gauge_ratio{{job=\"my.service\",my_gauge_attr=\"some value\"}} 10 @{T}"
        )]
    );
    assert_eq!(decoded.accepted_data_points, 1);
    assert_eq!(decoded.rejected_data_points, 3);
    for name in ["my.counter", "my.histogram", "my.exponential.histogram"] {
        assert!(
            decoded.error_message.contains(&format!(
                "metric {name:?}: delta temporality is not supported"
            )),
            "{}",
            decoded.error_message
        );
    }
    let response = decoded.response();
    let partial = response.partial_success.unwrap();
    assert_eq!(partial.rejected_data_points, 3);
    let body: serde_json::Value = serde_json::from_slice(&decoded.response_body()).unwrap();
    assert!(body["partialSuccess"]["errorMessage"]
        .as_str()
        .unwrap()
        .contains("delta"));
    assert_eq!(decoded.metadata.len(), 1);
    assert_eq!(decoded.metadata[0].family, "my_gauge_ratio");
    assert_eq!(decoded.metadata[0].metric_type, MetricType::Gauge);
    assert_eq!(decoded.metadata[0].help, "I am a Gauge");
}

#[test]
fn metrics_json_with_delta_allowed_translates_every_point_kind() {
    let options = OtlpOptions {
        allow_delta_temporality: true,
        ..OtlpOptions::default()
    };
    let decoded = decode_otlp_metrics_with(
        &example("metrics.json"),
        Some("application/json; charset=utf-8"),
        Some("identity"),
        &options,
        &Limits::default(),
    )
    .unwrap();
    let job = "job=\"my.service\"";
    let h = "my_histogram_attr=\"some value\"";
    assert_eq!(
        series(&decoded),
        vec![
            format!("my_counter_total{{{job},my_counter_attr=\"some value\"}} 5 @{T}"),
            format!("my_gauge_ratio{{{job},my_gauge_attr=\"some value\"}} 10 @{T}"),
            format!("my_histogram_bucket{{{job},le=\"+Inf\",{h}}} 2 @{T}"),
            format!("my_histogram_bucket{{{job},le=\"1\",{h}}} 1 @{T}"),
            format!("my_histogram_count{{{job},{h}}} 2 @{T}"),
            format!("my_histogram_sum{{{job},{h}}} 2 @{T}"),
        ]
    );
    assert_eq!(decoded.accepted_data_points, 3);
    assert_eq!(decoded.rejected_data_points, 1);
    assert!(decoded
        .error_message
        .contains("\"my.exponential.histogram\": exponential histograms need native histograms"));
    let types: Vec<(&str, MetricType)> = decoded
        .metadata
        .iter()
        .map(|m| (m.family.as_str(), m.metric_type))
        .collect();
    // Delta metrics are typed unknown, as Prometheus does.
    assert_eq!(
        types,
        vec![
            ("my_counter_total", MetricType::Unknown),
            ("my_gauge_ratio", MetricType::Gauge),
            ("my_histogram", MetricType::Unknown),
        ]
    );
    // Every label set is sorted and unique.
    for s in &decoded.samples {
        assert!(s.labels.windows(2).all(|w| w[0].0 < w[1].0), "{s:?}");
    }
}

#[test]
fn metrics_json_as_protobuf_and_gzip_decodes_the_same() {
    let json =
        decode_otlp_metrics(&example("metrics.json"), Some("application/json"), None).unwrap();
    let request: opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest =
        serde_json::from_slice(&example("metrics.json")).unwrap();
    let proto = request.encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&proto).unwrap();
    let gz = gz.finish().unwrap();
    let decoded = decode_otlp_metrics(&gz, Some("application/x-protobuf"), Some("gzip")).unwrap();
    assert_eq!(decoded.format, OtlpFormat::Protobuf);
    assert_eq!(decoded.samples, json.samples);
    assert_eq!(decoded.rejected_data_points, json.rejected_data_points);
    let response =
        opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse::decode(
            decoded.response_body().as_slice(),
        )
        .unwrap();
    assert_eq!(response.partial_success.unwrap().rejected_data_points, 3);
}

#[test]
fn other_signals_posted_to_metrics_hold_no_metrics() {
    for name in ["trace.json", "logs.json", "events.json"] {
        let decoded = decode_otlp_metrics(&example(name), Some("application/json"), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(decoded.samples.is_empty(), "{name}");
        assert_eq!(decoded.rejected_data_points, 0, "{name}");
        assert!(decoded.response().partial_success.is_none(), "{name}");
    }
}
