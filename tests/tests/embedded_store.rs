//! The embedded metrics store through the real server: a fresh portal scrapes itself and
//! answers Prometheus's HTTP API (read by the real `promtool`); a real Prometheus 2.42
//! remote-writes into it and both answer the same; OTLP/JSON examples of opentelemetry-proto
//! are accepted; malformed pushes are refused and store nothing; ingest tokens push and do
//! nothing else; every acknowledged write survives kill -9.

use std::time::Duration;

use e2e::api::{Auth, Client};
use e2e::eventually;
use e2e::portal::Portal;
use e2e::prometheus::{NodeExporter, Prometheus};
use prost::Message;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A portal that scrapes itself every second.
async fn portal() -> Portal {
    Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1")]).await
}

/// `data` of a Prometheus API GET on the portal, asserting success.
async fn prom_get(client: &Client, path: &str) -> Value {
    let (s, body) = client.get(&format!("/prometheus/api/v1/{path}")).await;
    assert_eq!(s, 200, "{path}: {body}");
    assert_eq!(body["status"], "success", "{body}");
    body["data"].clone()
}

fn encode_query(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn a_fresh_portal_scrapes_itself_and_answers_as_prometheus_does() {
    let portal = portal().await;
    let admin = portal.admin();
    // The built-in sources (the metrics, log and span stores) are there and the
    // defaults, with no source added by hand.
    let (_, sources) = admin.get("/api/v1/datasources").await;
    assert_eq!(sources.as_array().unwrap().len(), 3, "{sources}");
    assert_eq!(
        (sources[2]["family"].clone(), sources[2]["default"].clone()),
        (json!("traces"), json!(true)),
        "{sources}"
    );
    assert_eq!(sources[0]["family"], "metrics", "{sources}");
    assert_eq!(
        (
            sources[1]["type"].clone(),
            sources[1]["family"].clone(),
            sources[1]["default"].clone()
        ),
        (json!("embedded"), json!("logs"), json!(true))
    );
    assert_eq!(
        (sources[0]["type"].clone(), sources[0]["default"].clone()),
        (json!("embedded"), json!(true))
    );

    let up = eventually(Duration::from_secs(20), "the self-scrape", || async {
        let data = prom_get(&admin, "query?query=up%7Bjob%3D%22keiko-portal%22%7D").await;
        (data["result"].as_array().is_some_and(|r| !r.is_empty())).then_some(data)
    })
    .await;
    assert_eq!(up["resultType"], "vector");
    assert_eq!(up["result"][0]["value"][1], "1");
    assert_eq!(
        up["result"][0]["metric"]["instance"],
        portal.addr.to_string()
    );
    let targets = prom_get(&admin, "targets").await;
    let target = &targets["activeTargets"][0];
    assert_eq!(
        (target["health"].clone(), target["scrapePool"].clone()),
        (json!("up"), json!("keiko-portal"))
    );
    assert_eq!(target["lastError"], "");

    // The seed's own metric names are there, with their metadata.
    let own = prom_get(
        &admin,
        &format!(
            "query?query={}",
            encode_query("count({__name__=~\"keiko_.+\"})")
        ),
    )
    .await;
    assert!(
        own["result"][0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0,
        "{own}"
    );
    let meta = prom_get(&admin, "metadata").await;
    assert_eq!(meta["keiko_requests_total"][0]["type"], "counter", "{meta}");
    assert_eq!(
        meta["keiko_requests_total"][0]["help"],
        "Gesamtanzahl der Requests"
    );

    // A range query, aligned to the step as Prometheus aligns it; and the same as a POST form.
    let now = e2e::now_seconds();
    let start = (now - 4.0).floor();
    let range = prom_get(
        &admin,
        &format!(
            "query_range?query=up&start={start}&end={}&step=2",
            start + 4.0
        ),
    )
    .await;
    assert_eq!(range["resultType"], "matrix");
    let times: Vec<f64> = range["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_f64().unwrap())
        .collect();
    assert!(
        !times.is_empty() && times.iter().all(|t| (t - start) % 2.0 == 0.0),
        "{times:?}"
    );
    let resp = admin
        .request(Method::POST, "/prometheus/api/v1/query")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=count(up)")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let posted: Value = resp.json().await.unwrap();
    assert_eq!(posted["data"]["result"][0]["value"][1], "1");

    // Series, labels and label values.
    let series = prom_get(&admin, "series?match[]=up").await;
    assert_eq!(series[0]["job"], "keiko-portal");
    let labels = prom_get(&admin, "labels").await;
    assert!(labels.as_array().unwrap().iter().any(|l| l == "job"));
    let jobs = prom_get(&admin, "label/job/values").await;
    assert_eq!(jobs, json!(["keiko-portal"]));

    // Errors in Prometheus's shape and status.
    let (s, err) = admin.get("/prometheus/api/v1/query?query=sum(").await;
    assert_eq!(s, 400);
    assert_eq!(
        (err["status"].clone(), err["errorType"].clone()),
        (json!("error"), json!("bad_data"))
    );
    let (s, err) = admin
        .get("/prometheus/api/v1/query_range?query=up&start=0&end=100000000&step=1")
        .await;
    assert_eq!(s, 400, "{err}");
    assert!(err["error"].as_str().unwrap().contains("11,000 points"));
    assert_eq!(
        portal
            .client(Auth::Anonymous)
            .get("/prometheus/api/v1/query?query=up")
            .await
            .0,
        401
    );

    // The real promtool reads the portal as a Prometheus server.
    let url = format!(
        "http://admin:{}@{}/prometheus",
        e2e::api::ADMIN_PASSWORD,
        portal.addr
    );
    let out = tokio::process::Command::new("promtool")
        .args(["query", "instant", &url, "count(up{job=\"keiko-portal\"})"])
        .output()
        .await
        .expect("promtool");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("=> 1 @"), "{text}");
}

#[tokio::test]
async fn a_real_prometheus_remote_writes_into_the_portal_and_both_answer_the_same() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    // An ingest-only token: it pushes, and can do nothing else.
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "prometheus", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    assert_eq!(token["scopes"], json!(["ingest"]));
    let secret = token["token"].as_str().unwrap().to_owned();
    let pusher = portal.client(Auth::Bearer(secret.clone()));
    let (s, refused) = pusher.get("/api/v1/dashboards").await;
    assert_eq!(s, 403, "{refused}");
    assert_eq!(pusher.get("/prometheus/api/v1/query?query=up").await.0, 403);
    let (s, bad) = admin
        .post("/api/v1/tokens", json!({"name": "x", "scopes": ["admin"]}))
        .await;
    assert_eq!(
        (s.as_u16(), bad["error"]["field"].clone()),
        (400, json!("scopes"))
    );

    let node = NodeExporter::start().await;
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{}']\n\
         \x20 - job_name: keiko\n    static_configs:\n      - targets: ['{}']\n\
         remote_write:\n  - url: 'http://{}/api/v1/write'\n    authorization:\n      credentials: '{secret}'\n    queue_config:\n      batch_send_deadline: 1s\n",
        node.target(),
        portal.addr,
        portal.addr
    );
    let prom = Prometheus::with_config(&config).await;
    eventually(
        Duration::from_secs(30),
        "remote-written samples in the portal",
        || async {
            let data = prom_get(&admin, "query?query=count(node_cpu_seconds_total)").await;
            data["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty())
                .then_some(())
        },
    )
    .await;
    // Let some scrapes through (windows below are up to 10 s), then ask both about a
    // moment both have.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let at = (e2e::now_seconds() - 3.0).floor();
    for query in [
        "count(node_cpu_seconds_total)",
        "sum by (mode) (node_cpu_seconds_total)",
        "sum(rate(node_cpu_seconds_total[5s]))",
        "sum by (cpu) (irate(node_cpu_seconds_total[5s]))",
        "sum(increase(node_cpu_seconds_total{mode=\"idle\"}[8s]))",
        "max(node_memory_MemAvailable_bytes)",
        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        "count by (job) (up)",
        "sum(scrape_samples_scraped)",
        "avg without (cpu) (node_cpu_seconds_total)",
        "stddev by (mode) (node_cpu_seconds_total)",
        "topk(3, node_cpu_seconds_total)",
        "bottomk(2, sum by (mode) (node_cpu_seconds_total))",
        "quantile(0.9, node_cpu_seconds_total)",
        "count_values(\"v\", up)",
        "group by (mode) (node_cpu_seconds_total)",
        "node_cpu_seconds_total{mode=\"idle\"} > bool 0",
        "up == 1",
        "up and on (job) scrape_duration_seconds",
        "scrape_duration_seconds unless on (job) up{job=\"node\"}",
        "up or vector(0)",
        "scrape_samples_scraped / on (instance, job) group_left scrape_duration_seconds",
        "sum by (job) (scrape_samples_scraped) * on (job) group_right count by (job) (up)",
        "node_memory_MemAvailable_bytes offset 3s",
        "avg_over_time(scrape_duration_seconds[6s])",
        "max_over_time(scrape_samples_scraped[6s])",
        "min_over_time(node_load1[8s])",
        "quantile_over_time(0.5, scrape_duration_seconds[8s])",
        "count_over_time(up[5s])",
        "last_over_time(node_load1[5s])",
        "present_over_time(up[5s])",
        "changes(node_load1[10s])",
        "resets(node_cpu_seconds_total{mode=\"idle\"}[10s])",
        "delta(node_memory_MemAvailable_bytes[8s])",
        "idelta(node_memory_MemAvailable_bytes[8s])",
        "deriv(node_memory_MemAvailable_bytes[8s])",
        "predict_linear(node_memory_MemAvailable_bytes[8s], 60)",
        "max_over_time(rate(node_cpu_seconds_total{mode=\"idle\"}[4s])[8s:2s])",
        "abs(-up)",
        "ceil(scrape_duration_seconds * 1000)",
        "clamp(node_load1, 0, 0.5)",
        "round(node_memory_MemAvailable_bytes / 1e6)",
        "label_replace(up, \"port\", \"$1\", \"instance\", \".*:(.*)\")",
        "label_join(up, \"both\", \"/\", \"job\", \"instance\")",
        "sort_desc(sum by (mode) (rate(node_cpu_seconds_total[5s])))",
        "timestamp(up) - timestamp(up)",
        "absent(nonexistent_metric)",
        "vector(scalar(count(up)) * 2)",
        "vector(1) + on () group_left count(up)",
        "histogram_quantile(0.9, sum by (le) (rate(keiko_request_duration_seconds_bucket[8s])))",
        "histogram_quantile(0.5, sum by (le, endpoint) (keiko_request_duration_seconds_bucket))",
        "sum(keiko_requests_total) by (status)",
        "rate(keiko_requests_total[8s]) > 0",
        "-node_load1 ^ 2",
        "sgn(node_load1 - 0.5) + exp(node_load1) - ln(node_load1 + 1) + log2(node_load1 + 1) + log10(node_load1 + 1)",
        "sqrt(node_memory_MemTotal_bytes) % 7",
        "node_load1 atan2 node_memory_MemAvailable_bytes / node_memory_MemAvailable_bytes",
    ] {
        let theirs = prom.query_at(query, at).await;
        let ours = prom_get(
            &admin,
            &format!("query?query={}&time={at}", encode_query(query)),
        )
        .await;
        let ours = ours["result"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{query}: {ours:?} vs {theirs:?}");
        for t in &theirs {
            let o = ours
                .iter()
                .find(|o| o["metric"] == t["metric"])
                .unwrap_or_else(|| panic!("{query}: no {} in {ours:?}", t["metric"]));
            let (a, b) = (
                t["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
                o["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            );
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                "{query} {}: Prometheus {a}, portal {b}",
                t["metric"]
            );
        }
    }
}

/// A remote-write body: one series `name{batch}` with `values` at `t0 + i` ms.
fn remote_write_body(name: &str, batch: usize, t0: i64, values: &[f64]) -> Vec<u8> {
    let request = ingest::prompb::WriteRequest {
        timeseries: vec![ingest::prompb::TimeSeries {
            labels: vec![
                ingest::prompb::Label {
                    name: "__name__".into(),
                    value: name.into(),
                },
                ingest::prompb::Label {
                    name: "batch".into(),
                    value: batch.to_string(),
                },
            ],
            samples: values
                .iter()
                .enumerate()
                .map(|(i, v)| ingest::prompb::Sample {
                    value: *v,
                    timestamp: t0 + i as i64 * 1000,
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

async fn push(client: &Client, body: Vec<u8>) -> (StatusCode, String) {
    let resp = client
        .request(Method::POST, "/api/v1/write")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap_or_default())
}

async fn total_series(admin: &Client) -> usize {
    prom_get(admin, "series?match[]=%7B__name__%3D~%22.%2B%22%7D")
        .await
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn malformed_pushes_are_refused_and_store_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let good = remote_write_body(
        "pushed_ok",
        0,
        e2e::now_seconds() as i64 * 1000 - 60_000,
        &[1.0, 2.0],
    );
    let mut bodies: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    for i in 0..40 {
        // Every prefix of a good body: truncated snappy or protobuf.
        bodies.push(("truncated", good[..good.len() * i / 40].to_vec(), "snappy"));
    }
    for i in 0..30u8 {
        bodies.push((
            "noise",
            (0..64).map(|j| j ^ i.wrapping_mul(37)).collect(),
            "snappy",
        ));
    }
    for i in 0..10 {
        // Valid snappy around invalid protobuf.
        let junk: Vec<u8> = (0..50).map(|j| (j * 7 + i) as u8).collect();
        bodies.push((
            "bad protobuf",
            snap::raw::Encoder::new().compress_vec(&junk).unwrap(),
            "snappy",
        ));
    }
    // Unsorted, duplicate and invalid label names.
    for (a, b) in [("zeta", "alpha"), ("job", "job"), ("__name__", "0bad")] {
        let request = ingest::prompb::WriteRequest {
            timeseries: vec![ingest::prompb::TimeSeries {
                labels: vec![
                    ingest::prompb::Label {
                        name: a.into(),
                        value: "x".into(),
                    },
                    ingest::prompb::Label {
                        name: b.into(),
                        value: "y".into(),
                    },
                ],
                samples: vec![ingest::prompb::Sample {
                    value: 1.0,
                    timestamp: 1,
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        bodies.push((
            "bad labels",
            snap::raw::Encoder::new()
                .compress_vec(&request.encode_to_vec())
                .unwrap(),
            "snappy",
        ));
    }
    for _ in 0..17 {
        bodies.push(("unknown encoding", good.clone(), "br"));
    }
    assert!(bodies.len() >= 100);
    for (what, body, encoding) in &bodies {
        let resp = admin
            .request(Method::POST, "/api/v1/write")
            .header("content-encoding", *encoding)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        // An empty body is an empty (valid) request; everything else is refused.
        if body.is_empty() {
            continue;
        }
        assert!(status.is_client_error(), "{what}: {status} {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
    }
    // OTLP: garbage JSON and protobuf.
    for (ct, body) in [
        ("application/json", b"{\"resourceMetrics\": [".to_vec()),
        ("application/json", b"[1,2,3]".to_vec()),
        ("application/x-protobuf", vec![0xff; 40]),
        ("text/plain", b"up 1".to_vec()),
    ] {
        let resp = admin
            .request(Method::POST, "/v1/metrics")
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error(), "{ct}: {}", resp.status());
    }
    assert_eq!(
        total_series(&admin).await,
        0,
        "nothing of a refused push is stored"
    );
    // The good one is stored.
    let (s, text) = push(&admin, good).await;
    assert_eq!(s, 204, "{text}");
    assert_eq!(total_series(&admin).await, 1);
}

#[tokio::test]
async fn the_otlp_json_examples_of_opentelemetry_proto_are_accepted_and_queryable() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let path = e2e::workspace_root().join("../shared/conformance/otlp-json/metrics.json");
    let example = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The example's timestamps lie in the past: send them as they are.
    let resp = admin
        .request(Method::POST, "/v1/metrics")
        .header("content-type", "application/json")
        .body(example)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let answer: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{answer}");
    // The exponential histogram is a native histogram: refused, and said so (partial success).
    let rejected = &answer["partialSuccess"]["rejectedDataPoints"];
    assert!(rejected == &json!(1) || rejected == &json!("1"), "{answer}");
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("exponential"),
        "{answer}"
    );
    // Everything else is found again, with its attributes as labels and its values.
    let at = 1_544_712_660.3;
    let value = |q: &'static str| {
        let admin = admin.clone();
        async move {
            let data = prom_get(
                &admin,
                &format!("query?query={}&time={at}", encode_query(q)),
            )
            .await;
            let r = data["result"].as_array().unwrap().clone();
            assert_eq!(r.len(), 1, "{q}: {data}");
            (
                r[0]["metric"].clone(),
                r[0]["value"][1].as_str().unwrap().to_owned(),
            )
        }
    };
    let (gauge, v) = value("my_gauge_ratio").await;
    assert_eq!(v, "10");
    assert_eq!(
        (gauge["job"].clone(), gauge["my_gauge_attr"].clone()),
        (json!("my.service"), json!("some value"))
    );
    assert_eq!(value("my_counter_total").await.1, "5");
    assert_eq!(value("my_histogram_bucket{le=\"1\"}").await.1, "1");
    assert_eq!(value("my_histogram_bucket{le=\"+Inf\"}").await.1, "2");
    assert_eq!(value("my_histogram_count").await.1, "2");
    assert_eq!(value("my_histogram_sum").await.1, "2");
}

#[tokio::test]
async fn every_acknowledged_remote_write_survives_kill_9() {
    let env = [("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];
    let portal = Portal::start_with(&env).await;
    let t0 = e2e::now_seconds() as i64 * 1000 - 120_000;
    let (acked, portal) = portal
        .kill_9_while_pushing(&env, move |pusher, batch| async move {
            let values: Vec<f64> = (0..10).map(|i| (batch * 10 + i) as f64).collect();
            let body = remote_write_body("durable_total", batch, t0, &values);
            let sent = pusher
                .request(Method::POST, "/api/v1/write")
                .header("content-encoding", "snappy")
                .body(body)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            matches!(sent, Ok(r) if r.status() == 204).then_some(batch)
        })
        .await;
    let admin = portal.admin();
    let at = e2e::now_seconds();
    let data = prom_get(
        &admin,
        &format!(
            "query?query={}&time={at}",
            encode_query("count_over_time(durable_total[10m])")
        ),
    )
    .await;
    let counts: std::collections::HashMap<String, f64> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["batch"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    for batch in &acked {
        assert_eq!(
            counts.get(&batch.to_string()),
            Some(&10.0),
            "acknowledged batch {batch} lost after kill -9"
        );
    }
}

#[tokio::test]
async fn scrape_configs_from_a_file_are_scraped_relabeled_and_reloaded() {
    let node = NodeExporter::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scrape.yml");
    let config = |extra: &str| {
        format!(
            "scrape_configs:\n  - job_name: node\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{}']\n        labels: {{team: platform}}\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: 'node_(cpu_seconds_total|memory_MemAvailable_bytes|scrape_collector_success)'\n        action: keep\n{extra}",
            node.target()
        )
    };
    std::fs::write(&file, config("")).unwrap();
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1"),
        ("KEIKO_SCRAPE_CONFIG_FILE", file.to_str().unwrap()),
    ])
    .await;
    let admin = portal.admin();
    let names = eventually(Duration::from_secs(20), "the node job scraped", || async {
        let names = prom_get(
            &admin,
            "label/__name__/values?match[]=%7Bjob%3D%22node%22%7D",
        )
        .await;
        names
            .as_array()
            .is_some_and(|n| n.iter().any(|x| x == "node_cpu_seconds_total"))
            .then_some(names)
    })
    .await;
    // metric_relabel_configs kept only the three families (plus the report series).
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!names.contains(&"node_load1"), "{names:?}");
    assert!(
        names.contains(&"up") && names.contains(&"scrape_duration_seconds"),
        "{names:?}"
    );
    let series = prom_get(&admin, "series?match[]=node_cpu_seconds_total").await;
    assert!(series
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["team"] == "platform" && s["job"] == "node"));
    let targets = prom_get(&admin, "targets").await;
    let jobs: Vec<&str> = targets["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scrapePool"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, ["keiko-portal", "node"]);

    // A broken file is refused on reload, naming the problem; the running targets stay.
    std::fs::write(&file, "scrape_configs:\n  - job_name: node\n    scrape_timeout: 5s\n    scrape_interval: 1s\n    static_configs: [{targets: ['x:1']}]\n").unwrap();
    let (s, err) = admin
        .post("/api/v1/scrape-config/reload", json!(null))
        .await;
    assert_eq!(s, 400, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scrape_timeout"),
        "{err}"
    );
    assert_eq!(
        prom_get(&admin, "targets").await["activeTargets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A target that is down is reported with its error; SIGHUP reloads like the API does.
    let dead = format!("127.0.0.1:{}", e2e::free_port());
    std::fs::write(&file, format!("scrape_configs:\n  - job_name: gone\n    scrape_interval: 1s\n    static_configs: [{{targets: ['{dead}']}}]\n")).unwrap();
    std::process::Command::new("kill")
        .args(["-HUP", &portal.pid().to_string()])
        .status()
        .unwrap();
    let down = eventually(
        Duration::from_secs(20),
        "the dead target reported",
        || async {
            let t = prom_get(&admin, "targets").await;
            t["activeTargets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["scrapePool"] == "gone" && t["health"] == "down")
                .cloned()
        },
    )
    .await;
    assert!(
        down["lastError"].as_str().unwrap().contains(&dead),
        "{down}"
    );
    let up = prom_get(
        &admin,
        &format!("query?query={}", encode_query("up{job=\"gone\"}")),
    )
    .await;
    assert_eq!(up["result"][0]["value"][1], "0");
}

#[tokio::test]
async fn concurrent_pushes_are_each_stored_whole_and_a_refused_batch_stores_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let t0 = e2e::now_seconds() as i64 * 1000 - 60_000;
    // Forty pushes in flight at once, each on its own task.
    let tasks: Vec<_> = (0..40usize)
        .map(|batch| {
            let admin = admin.clone();
            tokio::spawn(async move {
                let values: Vec<f64> = (0..20).map(|i| i as f64).collect();
                push(
                    &admin,
                    remote_write_body("concurrent_total", batch, t0, &values),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    for (i, (status, body)) in answers.iter().enumerate() {
        // Every push is acknowledged, or told to retry when the ingest pool is full.
        assert!(
            *status == 204 || *status == 503,
            "push {i}: {status} {body}"
        );
    }
    let acked: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| *s == 204)
        .map(|(i, _)| i)
        .collect();
    assert!(!acked.is_empty());
    let at = e2e::now_seconds();
    let data = prom_get(
        &admin,
        &format!(
            "query?query={}&time={at}",
            encode_query("count_over_time(concurrent_total[5m])")
        ),
    )
    .await;
    let stored: std::collections::HashMap<String, String> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"]["batch"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for i in &acked {
        assert_eq!(
            stored.get(&i.to_string()).map(String::as_str),
            Some("20"),
            "batch {i}"
        );
    }
    assert_eq!(
        stored.len(),
        acked.len(),
        "only acknowledged batches are stored"
    );

    // A batch with one sample older than what the series holds is refused whole.
    let mut values = vec![100.0; 3];
    values[1] = 101.0;
    let late = remote_write_body("concurrent_total", acked[0], t0 - 10_000, &values);
    let (s, body) = push(&admin, late).await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("out_of_order") || body.contains("too_old"),
        "{body}"
    );
    let again = prom_get(
        &admin,
        &format!(
            "query?query={}&time={at}",
            encode_query(&format!(
                "count_over_time(concurrent_total{{batch=\"{}\"}}[5m])",
                acked[0]
            ))
        ),
    )
    .await;
    assert_eq!(
        again["result"][0]["value"][1], "20",
        "nothing of the refused batch stored"
    );
}
