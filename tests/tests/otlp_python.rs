//! OpenTelemetry's own Python SDK exports the seed's Keiko metrics over OTLP/HTTP (protobuf)
//! to the portal with an ingest token; the portal stores them under the names Prometheus's
//! OTLP receiver gives them, with `job`/`instance` from the resource and a `target_info`.

use e2e::api::{Auth, Client};
use e2e::portal::Portal;
use e2e::run_python;
use serde_json::{json, Value};

/// `metric labels → value` of an instant query on the portal.
async fn query(client: &Client, promql: &str) -> Vec<(Value, f64)> {
    let q: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
    let (s, body) = client
        .get(&format!("/prometheus/api/v1/query?query={q}"))
        .await;
    assert_eq!(s, 200, "{promql}: {body}");
    body["data"]["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{promql}: {body}"))
        .iter()
        .map(|r| {
            let v = r["value"][1].as_str().unwrap().parse::<f64>().unwrap();
            (r["metric"].clone(), v)
        })
        .collect()
}

#[tokio::test]
async fn the_opentelemetry_python_sdk_exports_metrics_into_the_portal() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "otel-python", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let secret = token["token"].as_str().unwrap().to_owned();

    // A wrong token is refused, and the exporter says so.
    let refused =
        tokio::process::Command::new(e2e::workspace_root().join(".tools/venv/bin/python"))
            .arg(e2e::workspace_root().join("tests/python/otlp_metrics.py"))
            .env("OTLP_ENDPOINT", portal.url("/v1/metrics"))
            .env("OTLP_TOKEN", "not-a-token")
            .output()
            .await
            .expect("running python");
    assert!(!refused.status.success(), "a wrong token must be refused");
    assert!(query(&admin, "keiko_requests_total").await.is_empty());

    let out = run_python(
        "otlp_metrics.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/metrics")),
            ("OTLP_TOKEN", secret.clone()),
        ],
    )
    .await;
    assert!(out.contains("exported"), "{out}");

    let job = "keiko/keiko-api";
    // A monotonic sum with an annotation unit: `_total`, the `{request}` unit dropped.
    let mut requests = query(&admin, "keiko_requests_total").await;
    requests.sort_by(|a, b| a.0["status"].as_str().cmp(&b.0["status"].as_str()));
    assert_eq!(requests.len(), 2, "{requests:?}");
    for ((metric, value), (status, want)) in requests.iter().zip([("200", 5.0), ("500", 2.0)]) {
        assert_eq!(metric["status"], status, "{metric}");
        assert_eq!(metric["endpoint"], "/api/agents", "{metric}");
        assert_eq!(metric["job"], job, "{metric}");
        assert_eq!(metric["instance"], "pod-1", "{metric}");
        assert_eq!(*value, want, "{metric}");
    }
    // The histogram: unit `s` → `_seconds`, classic buckets cumulated, `_sum`, `_count`.
    let buckets = query(
        &admin,
        "sort(keiko_request_duration_seconds_bucket{endpoint=\"/api/agents\"})",
    )
    .await;
    let by_le: Vec<(String, f64)> = buckets
        .iter()
        .map(|(m, v)| (m["le"].as_str().unwrap().to_owned(), *v))
        .collect();
    assert_eq!(
        by_le,
        [
            ("0.1".to_owned(), 1.0),
            ("0.5".to_owned(), 3.0),
            ("1".to_owned(), 4.0),
            ("+Inf".to_owned(), 5.0)
        ],
        "{buckets:?}"
    );
    let sum = query(&admin, "keiko_request_duration_seconds_sum").await;
    assert!((sum[0].1 - 3.25).abs() < 1e-9, "{sum:?}");
    assert_eq!(
        query(&admin, "keiko_request_duration_seconds_count").await[0].1,
        5.0
    );
    // The quantile a dashboard asks for works on what arrived.
    let p50 = query(
        &admin,
        "histogram_quantile(0.5, sum by (le) (keiko_request_duration_seconds_bucket))",
    )
    .await;
    assert!((p50[0].1 - 0.4).abs() < 1e-9, "{p50:?}");
    // An observable gauge and a non-monotonic sum are gauges.
    let agents = query(&admin, "keiko_active_agents").await;
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0].0["agent_type"], "researcher");
    assert_eq!(agents[0].1, 3.0);
    assert_eq!(query(&admin, "keiko_queue_length").await[0].1, 3.0);
    // The resource's other attributes are on `target_info`.
    let info = query(&admin, "target_info").await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].0["job"], job);
    assert_eq!(info[0].0["instance"], "pod-1");
    assert_eq!(info[0].0["deployment_environment"], "test");
    assert_eq!(info[0].1, 1.0);

    // The ingest token pushes and reads nothing.
    let pusher = portal.client(Auth::Bearer(secret));
    assert_eq!(
        pusher
            .get("/prometheus/api/v1/query?query=keiko_queue_length")
            .await
            .0,
        403
    );
}
