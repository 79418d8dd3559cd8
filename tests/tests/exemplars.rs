//! Exemplars (#17): the embedded metrics store keeps the exemplars of OTLP pushes
//! (OpenTelemetry's Python SDK attaches the current span's trace to a histogram
//! observation) and of remote-write, and serves them as Prometheus's
//! `/prometheus/api/v1/query_exemplars` does; an exemplar's trace opens in the span store.
//! Scrapes keep them too: an application exposing OpenMetrics with the official Prometheus
//! client (PyPI prometheus-client) is scraped and its exemplars are found, by the portal and
//! by a real Prometheus 2.42 (exemplar storage on) that remote-writes them with
//! `send_exemplars: true`.

use prost::Message;
use reqwest::Method;
use serde_json::{json, Value};

use e2e::api::Client;
use e2e::portal::Portal;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn exemplars(admin: &Client, query: &str, start: f64, end: f64) -> (u16, Value) {
    let (s, body) = admin
        .get(&format!(
            "/prometheus/api/v1/query_exemplars?query={}&start={start}&end={end}",
            enc(query)
        ))
        .await;
    (s.as_u16(), body)
}

#[tokio::test]
async fn otlp_histogram_exemplars_point_at_their_trace() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let token = admin.ingest_token("otel").await;
    let before = e2e::now_seconds() - 60.0;
    let out = e2e::run_python(
        "otlp_exemplars.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/metrics")),
            ("OTLP_TRACES_ENDPOINT", portal.url("/v1/traces")),
            ("OTLP_TOKEN", token),
        ],
    )
    .await;
    let trace_id = out.trim();
    assert_eq!(trace_id.len(), 32, "{out}");
    let after = e2e::now_seconds() + 60.0;

    // Any query naming the series finds them, as Grafana asks beside a range query.
    let q =
        "histogram_quantile(0.9, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))";
    let (s, body) = exemplars(&admin, q, before, after).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "success");
    let data = body["data"].as_array().unwrap();
    assert_eq!(
        data.len(),
        1,
        "one bucket holds the one observation: {body}"
    );
    let series = &data[0]["seriesLabels"];
    assert_eq!(series["__name__"], "keiko_request_duration_seconds_bucket");
    assert_eq!(
        series["le"], "0.5",
        "0.3 s falls in the 0.5 bucket: {series}"
    );
    assert_eq!(series["endpoint"], "/api/agents");
    let e = &data[0]["exemplars"][0];
    assert_eq!(e["labels"]["trace_id"], trace_id, "{e}");
    assert_eq!(
        e["labels"]["span_id"].as_str().map(str::len),
        Some(16),
        "{e}"
    );
    assert_eq!(e["value"], "0.3");
    let t = e["timestamp"].as_f64().unwrap();
    assert!(t >= before && t <= after, "{e}");

    // The exemplar's trace is in the span store.
    let (s, trace) = admin.get(&format!("/api/v1/traces/{trace_id}")).await;
    assert_eq!(s, 200, "{trace}");
    assert_eq!(trace["spans"][0]["operation"], "GET /api/agents");

    // Outside the range, or for other series, nothing.
    let (_, none) = exemplars(&admin, q, before - 3600.0, before - 1800.0).await;
    assert_eq!(none["data"], json!([]));
    let (_, other) = exemplars(&admin, "up", before, after).await;
    assert_eq!(other["data"], json!([]));
}

fn label(name: &str, value: &str) -> ingest::prompb::Label {
    ingest::prompb::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// A remote-write body: `rw_latency_bucket{le="1"}` with one sample and one exemplar.
fn remote_write(t_ms: i64, trace: &str) -> Vec<u8> {
    let request = ingest::prompb::WriteRequest {
        timeseries: vec![ingest::prompb::TimeSeries {
            labels: vec![
                label("__name__", "rw_latency_bucket"),
                label("job", "api"),
                label("le", "1"),
            ],
            samples: vec![ingest::prompb::Sample {
                value: 7.0,
                timestamp: t_ms,
            }],
            exemplars: vec![ingest::prompb::Exemplar {
                labels: vec![label("trace_id", trace)],
                value: 0.42,
                timestamp: t_ms,
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

#[tokio::test]
async fn remote_write_exemplars_are_kept_once_and_bad_queries_are_400() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let now_ms = (e2e::now_seconds() * 1e3) as i64;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    // The same exemplar twice (a retried request), then a later one.
    for (t, id) in [
        (now_ms - 2_000, trace),
        (now_ms - 2_000, trace),
        (now_ms, "00f067aa0ba902b7"),
    ] {
        let r = admin
            .request(Method::POST, "/api/v1/write")
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", "0.1.0")
            .body(remote_write(t, id))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    }
    let now = e2e::now_seconds();
    let (s, body) = exemplars(
        &admin,
        r#"rw_latency_bucket{job="api"}"#,
        now - 60.0,
        now + 60.0,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let list = body["data"][0]["exemplars"].as_array().unwrap();
    let ids: Vec<&str> = list
        .iter()
        .map(|e| e["labels"]["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [trace, "00f067aa0ba902b7"],
        "the duplicate is kept once: {body}"
    );
    assert_eq!(list[0]["value"], "0.42");
    assert_eq!(
        list[0]["timestamp"].as_f64(),
        Some((now_ms - 2_000) as f64 / 1e3)
    );

    for (query, what) in [
        ("query=rate(", "a broken query"),
        ("start=0", "no query"),
        ("query=up&start=10&end=5", "end before start"),
    ] {
        let (s, e) = admin
            .get(&format!(
                "/prometheus/api/v1/query_exemplars?{}",
                query.replace('(', "%28")
            ))
            .await;
        assert_eq!(
            (s.as_u16(), e["errorType"].as_str()),
            (400, Some("bad_data")),
            "{what}: {e}"
        );
    }
}

/// The OpenMetrics target (PyPI prometheus-client) on a free port, its exemplars carrying
/// `trace_id`: the process (killed when dropped) and the port.
async fn openmetrics_target(trace_id: &str) -> (tokio::process::Child, u16) {
    let port = e2e::free_port();
    let root = e2e::workspace_root();
    let mut app = tokio::process::Command::new(root.join(".tools/venv/bin/python"))
        .arg(root.join("tests/python/openmetrics_exemplars.py"))
        .env("PORT", port.to_string())
        .env("TRACE_ID", trace_id)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the Python exporter starts (scripts/setup.sh test installs it)");
    let mut out = tokio::io::BufReader::new(app.stdout.take().unwrap());
    let mut ready = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut out, &mut ready)
        .await
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    (app, port)
}

#[tokio::test]
async fn openmetrics_exemplars_of_a_scraped_target_are_kept() {
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (_app, port) = openmetrics_target(trace_id).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scrape.yml");
    std::fs::write(
        &file,
        format!(
            "scrape_configs:\n  - job_name: keiko-api\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_SCRAPE_CONFIG_FILE", file.to_str().unwrap()),
    ])
    .await;
    let admin = portal.admin();
    let (start, end) = (e2e::now_seconds() - 600.0, e2e::now_seconds() + 600.0);
    let q = "keiko_requests_total or keiko_request_duration_seconds_bucket";
    let data = e2e::eventually(
        std::time::Duration::from_secs(30),
        "the scraped exemplars",
        || async {
            let (s, body) = exemplars(&admin, q, start, end).await;
            assert_eq!(s, 200, "{body}");
            let data = body["data"].as_array().unwrap().clone();
            (data.len() == 2).then_some(data)
        },
    )
    .await;
    let by_name = |name: &str| {
        data.iter()
            .find(|d| d["seriesLabels"]["__name__"] == name)
            .unwrap_or_else(|| panic!("{name} in {data:?}"))
            .clone()
    };
    let counter = by_name("keiko_requests_total");
    assert_eq!(counter["seriesLabels"]["job"], "keiko-api", "{counter}");
    assert_eq!(
        counter["seriesLabels"]["instance"],
        format!("127.0.0.1:{port}"),
        "{counter}"
    );
    let e = &counter["exemplars"][0];
    assert_eq!(e["labels"], json!({"trace_id": trace_id}), "{e}");
    assert_eq!(e["value"], "3");
    let bucket = by_name("keiko_request_duration_seconds_bucket");
    assert_eq!(bucket["seriesLabels"]["le"], "0.5", "{bucket}");
    let e = &bucket["exemplars"][0];
    assert_eq!(
        e["labels"],
        json!({"trace_id": trace_id, "span_id": "00f067aa0ba902b7"}),
        "{e}"
    );
    assert_eq!(e["value"], "0.3");
    // Scraped again and again, the same exemplar is kept once.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (_, body) = exemplars(&admin, q, start, end).await;
    for series in body["data"].as_array().unwrap() {
        assert_eq!(series["exemplars"].as_array().unwrap().len(), 1, "{series}");
    }
}

#[tokio::test]
async fn a_real_prometheus_remote_writes_the_exemplars_it_scraped() {
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let (_app, port) = openmetrics_target(trace_id).await;
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let token = admin.ingest_token("prometheus").await;
    let config = format!(
        r#"global:
  scrape_interval: 1s
scrape_configs:
  - job_name: keiko-api
    static_configs:
      - targets: ['127.0.0.1:{port}']
remote_write:
  - url: {url}
    send_exemplars: true
    authorization:
      credentials: {token}
    queue_config:
      batch_send_deadline: 1s
"#,
        url = portal.url("/api/v1/write"),
    );
    let prometheus = e2e::prometheus::Prometheus::with_config_and_flags(
        &config,
        &["--enable-feature=exemplar-storage"],
    )
    .await;
    let (start, end) = (e2e::now_seconds() - 600.0, e2e::now_seconds() + 600.0);
    // Prometheus itself has them first (its scrape negotiated OpenMetrics).
    let q = "keiko_requests_total";
    let own = e2e::eventually(
        std::time::Duration::from_secs(30),
        "Prometheus's own exemplars",
        || async {
            let data = prometheus
                .api(&format!(
                    "query_exemplars?query={q}&start={start}&end={end}"
                ))
                .await;
            (!data.as_array().unwrap().is_empty()).then_some(data)
        },
    )
    .await;
    assert_eq!(
        own[0]["exemplars"][0]["labels"]["trace_id"], trace_id,
        "{own}"
    );
    // Then the portal, from Prometheus's remote-write.
    let data = e2e::eventually(
        std::time::Duration::from_secs(30),
        "the remote-written exemplars",
        || async {
            let (s, body) = exemplars(&admin, q, start, end).await;
            assert_eq!(s, 200, "{body}");
            let data = body["data"].as_array().unwrap().clone();
            (!data.is_empty()).then_some(data)
        },
    )
    .await;
    assert_eq!(data.len(), 1, "{data:?}");
    let series = &data[0];
    assert_eq!(series["seriesLabels"]["job"], "keiko-api", "{series}");
    assert_eq!(
        series["seriesLabels"]["instance"],
        format!("127.0.0.1:{port}"),
        "{series}"
    );
    // Scraped every second, the exemplar is stored, sent and kept once.
    assert_eq!(series["exemplars"].as_array().unwrap().len(), 1, "{series}");
    let e = &series["exemplars"][0];
    assert_eq!(e["labels"], json!({"trace_id": trace_id}), "{e}");
    assert_eq!(e["value"], "3");
    assert_eq!(
        e["timestamp"], own[0]["exemplars"][0]["timestamp"],
        "the exemplar's own time, as Prometheus stored it: {e}"
    );
}
