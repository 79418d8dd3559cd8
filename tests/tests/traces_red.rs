//! Traces (#17): RED per service and operation and the service map's edges are counted per
//! minute at ingest and served by `/api/v1/traces/red` and `/api/v1/services/map`; the
//! counts come back the same after kill -9 (rebuilt from the store); the table of keys is
//! bounded and what it refuses is counted; bad parameters are 400s naming the field.

use reqwest::Method;
use serde_json::{json, Value};

use e2e::api::Client;
use e2e::portal::Portal;

const ENV: &[(&str, &str)] = &[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];

fn now_ns() -> i64 {
    (e2e::now_seconds() * 1e9) as i64
}

/// An OTLP/JSON request of `service`'s spans: (trace, span, parent, name, start, ms, error).
fn otlp(service: &str, spans: &[(String, String, &str, &str, i64, i64, bool)]) -> String {
    let spans: Vec<Value> = spans
        .iter()
        .map(|(trace, span, parent, name, start, ms, error)| {
            json!({
                "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name,
                "kind": 2,
                "startTimeUnixNano": start.to_string(),
                "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
                "status": {"code": if *error { 2 } else { 1 }},
            })
        })
        .collect();
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]})
    .to_string()
}

async fn push(admin: &Client, body: String) {
    let r = admin
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains("rejected"), "{text}");
}

fn series<'a>(red: &'a Value, service: &str, operation: Option<&str>) -> &'a Value {
    red["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service && s["operation"].as_str() == operation)
        .unwrap_or_else(|| panic!("no series {service} {operation:?} in {red}"))
}

fn edge<'a>(map: &'a Value, parent: &str, child: &str) -> &'a Value {
    map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["parent"] == parent && e["child"] == child)
        .unwrap_or_else(|| panic!("no edge {parent} → {child} in {map}"))
}

fn node<'a>(map: &'a Value, service: &str) -> &'a Value {
    map["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["service"] == service)
        .unwrap_or_else(|| panic!("no node {service} in {map}"))
}

/// RED of `checkout` (ten `pay` spans of 10…100 ms, two failed, two minutes ago) and the
/// agent → MCP calls the Python SDK sends one span at a time (the MCP server's span before
/// its parent), read back; then the same after kill -9.
#[tokio::test]
async fn red_and_service_map_are_counted_at_ingest_and_survive_kill_9() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let token = admin.ingest_token("red").await;
    e2e::run_python(
        "otlp_traces.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/traces")),
            ("OTLP_TOKEN", token),
            ("RUN_ID", "red".into()),
        ],
    )
    .await;
    let t0 = now_ns() - 120_000_000_000;
    let spans: Vec<_> = (1..=10i64)
        .map(|i| {
            (
                format!("{i:032x}"),
                format!("{i:016x}"),
                "",
                "pay",
                t0,
                i * 10,
                i > 8,
            )
        })
        .collect();
    push(&admin, otlp("checkout", &spans)).await;
    // A call from checkout into the ledger service, in a later batch than its parent.
    let (trace, parent) = (format!("{:032x}", 1), format!("{:016x}", 1));
    let child = vec![(
        trace,
        "00000000000000c1".to_owned(),
        parent.as_str(),
        "post",
        t0,
        5,
        false,
    )];
    push(&admin, otlp("ledger", &child)).await;

    let read = |admin: Client| async move {
        let (s, red) = admin
            .get("/api/v1/traces/red?from=now-1h&to=now&step=5m")
            .await;
        assert_eq!(s, 200, "{red}");
        let (s, ops) = admin
            .get("/api/v1/traces/red?service=checkout&from=now-1h&to=now&step=1m")
            .await;
        assert_eq!(s, 200, "{ops}");
        let (s, map) = admin.get("/api/v1/services/map?from=now-1h&to=now").await;
        assert_eq!(s, 200, "{map}");
        (red, ops, map)
    };
    let (red, ops, map) = read(admin.clone()).await;
    let checkout = &series(&red, "checkout", None)["total"];
    assert_eq!(
        (checkout["requests"].as_u64(), checkout["errors"].as_u64()),
        (Some(10), Some(2))
    );
    assert_eq!(checkout["error_ratio"], 0.2);
    let p95 = checkout["p95_ms"].as_f64().unwrap();
    assert!((90.0..=100.0).contains(&p95), "p95 {p95}: {checkout}");
    assert_eq!(
        checkout["p50_ms"]
            .as_f64()
            .map(|v| (40.0..=60.0).contains(&v)),
        Some(true)
    );
    assert_eq!(checkout["mean_ms"], 55.0);
    let pay = series(&ops, "checkout", Some("pay"));
    let points = pay["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "one minute holds every pay span: {pay}");
    assert_eq!(points[0]["requests"], 10);
    assert_eq!(points[0]["rate"].as_f64(), Some(10.0 / 60.0));
    assert_eq!(
        points[0]["t"].as_f64(),
        Some((t0 / 60_000_000_000 * 60) as f64)
    );

    let calls = edge(&map, "keiko-agent", "mcp-filesystem");
    assert_eq!(
        (calls["calls"].as_u64(), calls["errors"].as_u64()),
        (Some(2), Some(1)),
        "{calls}"
    );
    let ledger = edge(&map, "checkout", "ledger");
    assert_eq!(
        (ledger["calls"].as_u64(), ledger["p95_ms"].as_f64()),
        (Some(1), Some(5.0))
    );
    let mcp = node(&map, "mcp-filesystem");
    assert_eq!(
        (mcp["requests"].as_u64(), mcp["errors"].as_u64()),
        (Some(2), Some(1)),
        "{mcp}"
    );
    assert_eq!(mcp["incoming_calls"], 2);
    assert_eq!(
        node(&map, "keiko-agent")["requests"],
        2,
        "the two tasks are roots"
    );
    assert_eq!(node(&map, "checkout")["requests"], 10);
    // The trace pages' map reads the same counts.
    let (s, graph) = admin.get("/api/v1/traces/graph?from=now-1h&to=now").await;
    assert_eq!(s, 200, "{graph}");
    assert_eq!(edge(&graph, "checkout", "ledger")["calls"], 1);
    assert_eq!(node(&graph, "checkout")["requests"], 10);

    portal.kill_9();
    let dir = portal.abandon();
    let portal = Portal::start_in(dir, ENV).await;
    let (red2, ops2, map2) = read(portal.admin()).await;
    let again = &series(&red2, "checkout", None)["total"];
    for f in [
        "requests", "errors", "rate", "mean_ms", "p50_ms", "p95_ms", "p99_ms",
    ] {
        assert_eq!(again[f], checkout[f], "{f} after the restart: {again}");
    }
    assert_eq!(
        series(&ops2, "checkout", Some("pay"))["points"],
        pay["points"]
    );
    assert_eq!(edge(&map2, "keiko-agent", "mcp-filesystem"), calls);
    assert_eq!(edge(&map2, "checkout", "ledger"), ledger);
    assert_eq!(node(&map2, "mcp-filesystem"), mcp);
}

#[tokio::test]
async fn red_keys_past_the_cap_are_refused_and_counted_and_bad_parameters_are_400() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let t0 = now_ns() - 60_000_000_000;
    // 5,100 operations of one service: more keys than the table's 5,000.
    let names: Vec<String> = (0..5_100).map(|i| format!("op-{i:05}")).collect();
    let spans: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                format!("{:032x}", i + 1),
                format!("{:016x}", i + 1),
                "",
                name.as_str(),
                t0,
                1,
                false,
            )
        })
        .collect();
    push(&admin, otlp("wide", &spans)).await;
    let metrics = admin.html("/metrics").await;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("keiko_trace_red_keys_refused_total "))
        .unwrap_or_else(|| panic!("no refused counter in /metrics"))
        .trim()
        .parse()
        .unwrap();
    assert!(refused >= 101, "{refused} keys refused");
    let (s, ops) = admin
        .get("/api/v1/traces/red?service=wide&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200, "{ops}");
    let kept = ops["series"].as_array().unwrap().len();
    assert!(kept <= 500, "{kept} series");
    assert_eq!(
        ops["truncated"], true,
        "more operations than one answer holds"
    );
    // The spans themselves are all stored: the table's cap is not an ingest limit.
    let (s, found) = admin
        .get("/api/v1/traces/search?service=wide&operation=op-05099&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["traces"].as_array().unwrap().len(), 1);

    for (query, field) in [
        ("step=90s", "step"),
        ("step=fast", "step"),
        ("operation=pay", "operation"),
        ("from=now&to=now-1h", "to"),
        ("from=now-30d&to=now&step=60s", "query"),
    ] {
        let (s, e) = admin.get(&format!("/api/v1/traces/red?{query}")).await;
        assert_eq!(s, 400, "{query}: {e}");
        assert_eq!(e["error"]["field"], field, "{query}: {e}");
    }
}
