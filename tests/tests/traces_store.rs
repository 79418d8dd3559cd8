//! The span store through the running portal (#17): Explore → Traces's `>`, `<`, `!=`
//! and exists filters find a match however many newer traces precede it. The portal's
//! own spans are sent elsewhere here (a closed OTLP port), so the store holds only what a
//! test pushed.

use e2e::api::Client;
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

fn now_ns() -> i64 {
    (e2e::now_seconds() * 1e9) as i64
}

/// One OTLP/JSON server span, the root of trace `trace`, with string attributes.
fn span(trace: u64, start: i64, attrs: &[(&str, String)]) -> Value {
    let attributes: Vec<Value> = attrs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
        .collect();
    json!({
        "traceId": format!("{trace:032x}"), "spanId": format!("{trace:016x}"),
        "name": "GET /api/tasks", "kind": 2,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + 5_000_000).to_string(),
        "attributes": attributes,
    })
}

async fn push(client: &Client, service: &str, spans: Vec<Value>) {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]});
    let r = client
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["partialSuccess"]["rejectedSpans"]
            .as_i64()
            .unwrap_or(0)
            == 0,
        "{answer}"
    );
}

fn portal_env(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        // The portal's own spans go to a closed port, not into the store under test.
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
    ];
    env.extend_from_slice(extra);
    env
}

#[tokio::test]
async fn comparison_filters_find_a_match_behind_more_than_500_newer_traces() {
    let portal = Portal::start_with(&portal_env(&[])).await;
    let admin = portal.admin();
    // 700 traces; the oldest alone failed and alone was retried.
    let t0 = now_ns() - 600 * 1_000_000_000;
    let spans = (1..=700u64)
        .map(|i| {
            let status = if i == 1 { "503" } else { "200" };
            let mut attrs = vec![("http.status_code", status.to_owned())];
            if i == 1 {
                attrs.push(("retry.count", "2".to_owned()));
            }
            span(i, t0 + i as i64 * 1_000_000, &attrs)
        })
        .collect();
    push(&admin, "busy-api", spans).await;
    let from = t0 / 1_000_000_000 - 60;
    for filters in [
        "http.status_code>499",
        "retry.count",
        "http.status_code!=200",
    ] {
        let q: String = url::form_urlencoded::byte_serialize(filters.as_bytes()).collect();
        let (s, v) = admin
            .get(&format!(
                "/api/v1/traces/explore?service=busy-api&filters={q}&from={from}&to=now"
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        let ids: Vec<&str> = v["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["trace_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![format!("{:032x}", 1)], "{filters}: {v}");
        assert_eq!(v["partial"], false, "{v}");
    }
    // `<` keeps the 699 successes; the first page holds the newest.
    let q: String = url::form_urlencoded::byte_serialize(b"http.status_code<300").collect();
    let (_, v) = admin
        .get(&format!(
            "/api/v1/traces/explore?service=busy-api&filters={q}&from={from}&to=now&limit=500"
        ))
        .await;
    assert_eq!(v["traces"].as_array().unwrap().len(), 500, "{v}");
    assert_eq!(v["traces"][0]["trace_id"], format!("{:032x}", 700));
}
