//! PyPI py-zipkin (#17), a real Zipkin client, sends its Zipkin v2 JSON through a
//! transport of its own to the portal's `POST /api/v2/spans`; the spans are read back
//! through the Jaeger API (`/jaeger/api/traces/{id}`, Grafana's shapes) and the portal's
//! `/api/v1/traces/{id}`, field by field.

use e2e::portal::Portal;
use e2e::spans::tag;
use serde_json::{json, Value};

fn named<'a>(spans: &'a Value, field: &str, name: &str) -> &'a Value {
    spans
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s[field] == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans}"))
}

#[tokio::test]
async fn py_zipkin_spans_are_read_back_through_the_jaeger_and_portal_apis() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "py-zipkin", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let token = token["token"].as_str().unwrap().to_owned();
    let before = e2e::now_seconds();
    let out = e2e::run_python(
        "py_zipkin_traces.py",
        &[
            ("ZIPKIN_ENDPOINT", portal.url("/api/v2/spans")),
            ("ZIPKIN_TOKEN", token),
        ],
    )
    .await;
    let after = e2e::now_seconds();
    let id = out.trim();
    assert_eq!(id.len(), 32, "a 128-bit trace id: {out}");

    // The portal's own API.
    let (s, t) = admin.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["trace_id"], id);
    let spans = &t["spans"];
    assert_eq!(spans.as_array().unwrap().len(), 2, "{t}");
    let root = named(spans, "operation", "POST /api/agents/run");
    let call = named(spans, "operation", "mcp.call");
    assert_eq!(root["service"], "keiko-py-api");
    assert_eq!(root["kind"], "server");
    assert_eq!(root["parent_span_id"], Value::Null, "{root}");
    assert_eq!(root["error"], false);
    assert_eq!(root["attributes"]["http.method"], "POST");
    assert_eq!(root["attributes"]["correlation_id"], "py-zipkin-corr-1");
    let start_s = root["start_ns"].as_i64().unwrap() as f64 / 1e9;
    assert!(
        start_s >= before - 1.0 && start_s <= after + 1.0,
        "{start_s} not in [{before}, {after}]"
    );
    assert_eq!(call["service"], "keiko-py-api");
    assert_eq!(call["kind"], "client");
    assert_eq!(call["parent_span_id"], root["span_id"], "{call}");
    assert_eq!(call["attributes"]["mcp.tool"], "search_docs");
    assert_eq!(call["attributes"]["peer.service"], "mcp-server");
    assert_eq!(call["attributes"]["net.peer.ip"], "10.0.0.9");
    assert_eq!(call["attributes"]["net.peer.port"], "9000");
    assert_eq!(
        call["error"], true,
        "the `error` tag is an error status: {call}"
    );
    assert_eq!(call["status_message"], "tool timed out");
    assert!(
        call["duration_ms"].as_f64().unwrap() >= 20.0,
        "the client span slept 20 ms: {call}"
    );
    assert!(
        root["duration_ns"].as_i64().unwrap() >= call["duration_ns"].as_i64().unwrap(),
        "the server span holds the client span"
    );
    let events = call["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["name"] == "retry"), "{call}");

    // Jaeger's shape, as Grafana's Jaeger data source reads it.
    let (s, j) = admin.get(&format!("/jaeger/api/traces/{id}")).await;
    assert_eq!(s, 200, "{j}");
    let trace = &j["data"][0];
    assert_eq!(trace["traceID"], id);
    let jspans = &trace["spans"];
    let jroot = named(jspans, "operationName", "POST /api/agents/run");
    let jcall = named(jspans, "operationName", "mcp.call");
    assert_eq!(jroot["spanID"], root["span_id"]);
    assert_eq!(
        jcall["references"],
        json!([{"refType": "CHILD_OF", "traceID": id, "spanID": root["span_id"]}]),
        "{jcall}"
    );
    assert_eq!(tag(jroot, "span.kind")["value"], "server");
    assert_eq!(tag(jcall, "span.kind")["value"], "client");
    assert_eq!(tag(jcall, "error")["value"], true, "{jcall}");
    assert_eq!(tag(jcall, "mcp.tool")["value"], "search_docs");
    assert_eq!(tag(jroot, "correlation_id")["value"], "py-zipkin-corr-1");
    assert_eq!(
        jroot["startTime"].as_i64().unwrap(),
        root["start_ns"].as_i64().unwrap() / 1_000,
        "startTime in µs"
    );
    assert!(jcall["duration"].as_i64().unwrap() >= 20_000, "{jcall}");
    let logs = jcall["logs"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["value"] == "retry"))),
        "{jcall}"
    );
    let process = &trace["processes"][jroot["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], "keiko-py-api", "{trace}");
    // The Jaeger search finds it by service and tag.
    let tags: String =
        url::form_urlencoded::byte_serialize(br#"{"mcp.tool":"search_docs"}"#).collect();
    let (s, found) = admin
        .get(&format!(
            "/jaeger/api/traces?service=keiko-py-api&tags={tags}&lookback=1h"
        ))
        .await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["data"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["data"][0]["traceID"], id);
}
