//! Traces (#17), server side: spans pushed by real clients (OpenTelemetry's Python SDK with
//! its OTLP/HTTP exporter and with its Zipkin JSON exporter) are read back through the
//! Jaeger query API in the shapes Grafana's Jaeger data source reads and through the
//! portal's own trace API; bad spans are refused with reasons and store nothing; the
//! portal's own spans land in its store; every acknowledged span survives kill -9.

use std::collections::HashSet;
use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::spans::tag;
use reqwest::Method;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// POSTs a raw body with a content type; returns status and the body as JSON (or null).
async fn push(client: &Client, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client
        .request(Method::POST, path)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `body` gzip-compressed by Debian's gzip.
fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// POSTs a gzip-compressed OTLP/JSON body.
async fn push_gzip(client: &Client, body: &[u8]) -> (u16, Value) {
    let r = client
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gzip(body))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn now_ns() -> i64 {
    (e2e::now_seconds() * 1e9) as i64
}

/// One OTLP/JSON span of `service`.
fn otlp_span(trace: &str, span: &str, parent: &str, name: &str, start: i64, ms: i64) -> Value {
    json!({
        "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name, "kind": 2,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
        "attributes": [{"key": "agent.id", "value": {"stringValue": "agent-json"}}],
    })
}

fn otlp_request(service: &str, spans: Vec<Value>) -> Vec<u8> {
    json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "e2e"}, "spans": spans}],
    }]})
    .to_string()
    .into_bytes()
}

/// A JSON list of strings.
fn strings(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn otlp_python_spans_are_read_back_through_the_jaeger_api_in_grafanas_shape() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let token = admin.ingest_token("otel-traces").await;
    let run = format!("run-{}", std::process::id());
    let before_us = (e2e::now_seconds() * 1e6) as i64;
    let out = e2e::run_python(
        "otlp_traces.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/traces")),
            ("OTLP_TOKEN", token),
            ("RUN_ID", run.clone()),
        ],
    )
    .await;
    let ids: Vec<&str> = out.lines().collect();
    let (ok_id, failed_id) = (ids[0], ids[1]);
    assert_eq!(ok_id.len(), 32, "{out}");

    // Services and operations, as Grafana's query editor lists them.
    let (s, services) = admin.get("/jaeger/api/services").await;
    assert_eq!(s, 200, "{services}");
    let names = strings(&services["data"]);
    assert!(
        names.contains(&"keiko-agent") && names.contains(&"mcp-filesystem"),
        "{services}"
    );
    let (_, ops) = admin
        .get("/jaeger/api/services/keiko-agent/operations")
        .await;
    let ops = strings(&ops["data"]);
    assert!(
        ops.contains(&"agent_task_execution") && ops.contains(&"mcp.call"),
        "{ops:?}"
    );
    let (_, kinds) = admin
        .get("/jaeger/api/operations?service=keiko-agent&spanKind=client")
        .await;
    assert_eq!(
        kinds["data"],
        json!([{"name": "mcp.call", "spanKind": "client"}])
    );

    // A search by service, operation, tags and duration, the way Grafana asks.
    let end_us = (e2e::now_seconds() * 1e6) as i64 + 1_000_000;
    let tags = enc(&json!({"agent.id": "agent-7", "task.status": "completed"}).to_string());
    let (s, found) = admin
        .get(&format!(
            "/jaeger/api/traces?service=keiko-agent&operation=agent_task_execution&tags={tags}\
             &minDuration=0ms&maxDuration=10s&start={}&end={end_us}&limit=20",
            before_us - 1_000_000
        ))
        .await;
    assert_eq!(s, 200, "{found}");
    let data = found["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "only the completed task: {found}");
    let t = &data[0];
    assert_eq!(t["traceID"], ok_id);
    let spans = t["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 3, "task, MCP client and MCP server spans: {t}");
    let root = spans
        .iter()
        .find(|s| s["operationName"] == "agent_task_execution")
        .unwrap();
    assert_eq!(root["references"], json!([]));
    let start = root["startTime"].as_i64().unwrap();
    assert!(start >= before_us - 1_000_000 && start <= end_us, "{root}");
    assert!(root["duration"].as_i64().unwrap() >= 0, "{root}");
    assert_eq!(tag(root, "agent.id")["value"], "agent-7");
    assert_eq!(tag(root, "task.priority")["value"], "high");
    let size = tag(root, "task.result_size");
    assert_eq!(
        (size["type"].as_str(), size["value"].is_i64()),
        (Some("int64"), true),
        "{size}"
    );
    assert_eq!(tag(root, "span.kind")["value"], "server");
    let process = &t["processes"][root["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], "keiko-agent", "{t}");
    assert!(
        process["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["key"] == "deployment.environment"),
        "{process}"
    );
    let client = spans
        .iter()
        .find(|s| s["operationName"] == "mcp.call")
        .unwrap();
    let server = spans
        .iter()
        .find(|s| s["operationName"] == "tools/call read_file")
        .unwrap();
    assert_eq!(
        client["references"],
        json!([{"refType": "CHILD_OF", "traceID": ok_id, "spanID": root["spanID"]}])
    );
    assert_eq!(server["references"][0]["spanID"], client["spanID"]);
    assert_eq!(
        t["processes"][server["processID"].as_str().unwrap()]["serviceName"],
        "mcp-filesystem"
    );

    // The failed task: error tags, the exception as a log, by id.
    let (s, failed) = admin.get(&format!("/jaeger/api/traces/{failed_id}")).await;
    assert_eq!(s, 200, "{failed}");
    let fspans = failed["data"][0]["spans"].as_array().unwrap();
    let froot = fspans
        .iter()
        .find(|s| s["operationName"] == "agent_task_execution")
        .unwrap();
    assert_eq!(tag(froot, "error")["value"], json!(true));
    assert_eq!(tag(froot, "error.type")["value"], "TimeoutError");
    let log = &froot["logs"][0];
    assert!(log["timestamp"].as_i64().unwrap() >= start, "{froot}");
    let fields = log["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["key"] == "event" && f["value"] == "exception"),
        "{log}"
    );
    assert!(
        fields
            .iter()
            .any(|f| f["key"] == "exception.type" && f["value"] == "TimeoutError"),
        "{log}"
    );
    let (s, missing) = admin
        .get("/jaeger/api/traces/00000000000000000000000000abcdef")
        .await;
    assert_eq!(s, 404, "{missing}");
    assert_eq!(missing["errors"][0]["code"], 404);

    // Dependencies and the service map: the agent calls the MCP server, one call failed.
    let (_, deps) = admin.get("/jaeger/api/dependencies").await;
    assert!(
        deps["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["parent"] == "keiko-agent"
                && d["child"] == "mcp-filesystem"
                && d["callCount"] == 2),
        "{deps}"
    );
    let (s, map) = admin.get("/api/v1/services/map?from=now-1h&to=now").await;
    assert_eq!(s, 200, "{map}");
    let edge = map["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["parent"] == "keiko-agent" && e["child"] == "mcp-filesystem")
        .unwrap_or_else(|| panic!("{map}"));
    assert_eq!(
        (edge["calls"].as_u64(), edge["errors"].as_u64()),
        (Some(2), Some(1)),
        "{edge}"
    );
    assert!(edge["p95_ms"].as_f64().unwrap() >= 0.0);

    // The portal's own search: summaries, errors only.
    let (s, summaries) = admin
        .get("/api/v1/traces/search?service=keiko-agent&errors=true&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200, "{summaries}");
    let list = summaries["traces"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{summaries}");
    let sum = &list[0];
    assert_eq!(sum["trace_id"], failed_id);
    assert_eq!(sum["root_service"], "keiko-agent");
    assert_eq!(sum["root_operation"], "agent_task_execution");
    assert_eq!(sum["span_count"], 3);
    assert!(sum["error_count"].as_u64().unwrap() >= 1, "{sum}");
    let (s, whole) = admin.get(&format!("/api/v1/traces/{ok_id}")).await;
    assert_eq!(s, 200, "{whole}");
    assert_eq!(whole["spans"].as_array().unwrap().len(), 3);
    let (s, bad) = admin.get("/api/v1/traces/not-a-trace-id").await;
    assert_eq!(s, 400, "{bad}");
}

#[tokio::test]
async fn zipkin_json_exporter_spans_are_accepted_and_found_by_trace_id() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let token = admin.ingest_token("zipkin").await;
    let out = e2e::run_python(
        "zipkin_traces.py",
        &[
            ("ZIPKIN_ENDPOINT", portal.url("/api/v2/spans")),
            ("ZIPKIN_TOKEN", token.clone()),
        ],
    )
    .await;
    let id = out.trim();
    let (s, t) = admin.get(&format!("/api/v1/traces/{id}")).await;
    assert_eq!(s, 200, "{t}");
    let spans = t["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{t}");
    let root = spans
        .iter()
        .find(|s| s["operation"] == "GET /api/tasks")
        .unwrap();
    let db = spans
        .iter()
        .find(|s| s["operation"] == "SELECT tasks")
        .unwrap();
    assert_eq!(root["service"], "keiko-zipkin-api");
    assert_eq!(root["kind"], "server");
    assert_eq!(root["attributes"]["agent.id"], "agent-z");
    assert_eq!(db["parent_span_id"], root["span_id"]);
    assert_eq!(db["kind"], "client");
    assert_eq!(db["error"], true, "{db}");
    assert_eq!(db["status_message"], "deadlock detected", "{db}");

    // Zipkin's answer to a push is 202; a bad span refuses the whole push, naming it.
    let shipper = portal.client(e2e::api::Auth::Bearer(token));
    let t0 = (e2e::now_seconds() * 1e6) as i64;
    let good = json!({"traceId": "aaaaaaaaaaaaaaaa", "id": "000000000000000a", "name": "ok",
                      "timestamp": t0, "duration": 10, "localEndpoint": {"serviceName": "z"}});
    let (s, _) = push(
        &shipper,
        "/api/v2/spans",
        "application/json",
        json!([good]).to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 202);
    let second = json!({"traceId": "bbbbbbbbbbbbbbbb", "id": "000000000000000b", "name": "ok",
                        "timestamp": t0, "duration": 10});
    for (bad, reason) in [
        (
            json!({"traceId": "abc", "id": "000000000000000c", "timestamp": t0}),
            "trace id",
        ),
        (
            json!({"traceId": "cccccccccccccccc", "id": "000000000000000c", "timestamp": t0, "kind": "SIDEWAYS"}),
            "unknown span kind",
        ),
        (
            json!({"traceId": "cccccccccccccccc", "id": "000000000000000c", "timestamp": t0, "duration": -5}),
            "duration",
        ),
        (
            json!({"traceId": "cccccccccccccccc", "id": "000000000000000c", "timestamp": t0,
                "tags": {"blob": "x".repeat(20_000)}}),
            "\"blob\" is 20000 bytes",
        ),
    ] {
        let body = json!([second, bad]).to_string().into_bytes();
        let (s, e) = push(&shipper, "/api/v2/spans", "application/json", body).await;
        assert_eq!(s, 400, "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("span 1") && message.contains(reason),
            "{message}"
        );
    }
    let (s, _) = admin.get("/api/v1/traces/bbbbbbbbbbbbbbbb").await;
    assert_eq!(s, 404, "the good span of a refused push was not stored");
    let (s, _) = admin.get("/api/v1/traces/aaaaaaaaaaaaaaaa").await;
    assert_eq!(s, 200, "a 64-bit trace id reads as its padded 128-bit form");
}

#[tokio::test]
async fn bad_otlp_spans_are_refused_in_the_partial_success_and_bad_bodies_store_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let t0 = now_ns();
    let good_trace = "11111111111111111111111111111111";
    let mut unknown_kind = otlp_span(good_trace, "00000000000000d4", "", "odd", t0, 1);
    unknown_kind["kind"] = json!(9);
    let mut huge = otlp_span(good_trace, "00000000000000d5", "", "huge", t0, 1);
    huge["attributes"] = json!([{"key": "prompt", "value": {"stringValue": "x".repeat(20_000)}}]);
    let body = otlp_request(
        "partial",
        vec![
            otlp_span(good_trace, "00000000000000d1", "", "kept", t0, 5),
            otlp_span("abcd", "00000000000000d2", "", "short id", t0, 5),
            otlp_span(good_trace, "00000000000000d3", "", "backwards", t0, -5),
            unknown_kind,
            huge,
        ],
    );
    let (s, answer) = push(&admin, "/v1/traces", "application/json", body).await;
    assert_eq!(s, 200, "{answer}");
    let partial = &answer["partialSuccess"];
    assert_eq!(partial["rejectedSpans"], 4, "{answer}");
    let message = partial["errorMessage"].as_str().unwrap();
    assert!(message.contains("span 1: trace id"), "{message}");
    assert!(message.contains("span 2: end time"), "{message}");
    assert!(message.contains("span 3: unknown span kind 9"), "{message}");
    let (s, t) = admin.get(&format!("/api/v1/traces/{good_trace}")).await;
    assert_eq!(s, 200, "{t}");
    let names: Vec<&str> = t["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kept"], "only the good span is stored");

    // Bodies that cannot be read are refused whole: garbage, truncated JSON, wrong types.
    let whole = otlp_request(
        "truncated",
        vec![otlp_span(
            "22222222222222222222222222222222",
            "00000000000000e1",
            "",
            "t",
            t0,
            1,
        )],
    );
    for (ct, body) in [
        ("application/x-protobuf", vec![0xff, 0xff, 0xff]),
        ("application/json", whole[..whole.len() / 2].to_vec()),
        ("application/json", b"{\"resourceSpans\": 5}".to_vec()),
        ("text/plain", b"hello".to_vec()),
    ] {
        let (s, e) = push(&admin, "/v1/traces", ct, body).await;
        assert!(s == 400 || s == 415, "{ct}: {s} {e}");
        assert!(e["error"]["message"].as_str().is_some(), "{e}");
    }
    let (s, _) = admin
        .get("/api/v1/traces/22222222222222222222222222222222")
        .await;
    assert_eq!(s, 404);
    // More spans than one push may hold (sent gzip'd, under the body limit): 413, nothing
    // stored.
    let many: Vec<Value> = (0..10_001)
        .map(|i| {
            otlp_span(
                "33333333333333333333333333333333",
                &format!("{:016x}", i + 1),
                "",
                "m",
                t0,
                1,
            )
        })
        .collect();
    let (s, e) = push_gzip(&admin, &otlp_request("many", many)).await;
    assert_eq!(s, 413, "{e}");
    let (s, _) = admin
        .get("/api/v1/traces/33333333333333333333333333333333")
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_late_root_span_joins_its_trace_summary() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let t0 = now_ns() - 5_000_000_000;
    let id = "44444444444444444444444444444444";
    let child = otlp_span(
        id,
        "00000000000000f2",
        "00000000000000f1",
        "mcp.call",
        t0 + 1_000_000,
        30,
    );
    let (s, a) = push_gzip(&admin, &otlp_request("late-agent", vec![child])).await;
    assert_eq!(s, 200, "{a}");
    let root = otlp_span(id, "00000000000000f1", "", "agent_task_execution", t0, 100);
    let (s, a) = push(
        &admin,
        "/v1/traces",
        "application/json",
        otlp_request("late-agent", vec![root]),
    )
    .await;
    assert_eq!(s, 200, "{a}");
    let (_, found) = admin
        .get("/api/v1/traces/search?service=late-agent&operation=mcp.call&from=now-1h&to=now")
        .await;
    let sum = &found["traces"][0];
    assert_eq!(sum["trace_id"], id, "{found}");
    assert_eq!(sum["root_operation"], "agent_task_execution", "{sum}");
    assert_eq!(sum["span_count"], 2);
    assert_eq!(sum["duration_ms"], 100.0);
}

#[tokio::test]
async fn span_ingest_takes_an_ingest_token_and_refuses_viewers() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let shipper = portal.client(e2e::api::Auth::Bearer(admin.ingest_token("spans").await));
    let body = otlp_request(
        "tok",
        vec![otlp_span(
            "55555555555555555555555555555555",
            "0000000000000001",
            "",
            "op",
            now_ns(),
            1,
        )],
    );
    let (s, a) = push(&shipper, "/v1/traces", "application/json", body.clone()).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a, json!({}), "a full success answers an empty response");
    let (s, _) = push(
        &shipper,
        "/api/v2/spans",
        "application/json",
        b"[]".to_vec(),
    )
    .await;
    assert_eq!(s, 202);
    // The ingest token reads nothing; a viewer reads but cannot push.
    assert_eq!(shipper.get("/jaeger/api/services").await.0, 403);
    let viewer = portal.user_with_role("vic", "Viewer").await;
    assert_eq!(
        push(&viewer, "/v1/traces", "application/json", body)
            .await
            .0,
        403
    );
    let (s, services) = viewer.get("/jaeger/api/services").await;
    assert_eq!(s, 200);
    assert!(
        services["data"].as_array().unwrap().contains(&json!("tok")),
        "{services}"
    );
    // Without credentials: 401, in JSON, also under /jaeger.
    let anonymous = portal.client(e2e::api::Auth::Anonymous);
    let (s, e) = anonymous.get("/jaeger/api/services").await;
    assert_eq!(s, 401, "{e}");
}

#[tokio::test]
async fn the_portals_own_request_spans_are_stored_and_found_by_correlation_id() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let id = format!("selfspan-{}", std::process::id());
    let r = admin
        .request(Method::GET, "/api/v1/datasources")
        .header("x-correlation-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tags = enc(&json!({"correlation_id": id}).to_string());
    let found = e2e::eventually(Duration::from_secs(20), "the request's own span", || {
        let admin = admin.clone();
        let tags = tags.clone();
        async move {
            let (_, body) = admin
                .get(&format!(
                    "/jaeger/api/traces?service=keiko-portal&tags={tags}"
                ))
                .await;
            body["data"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
                .then_some(body)
        }
    })
    .await;
    let span = &found["data"][0]["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["operationName"] == "GET /api/v1/datasources")
        .unwrap_or_else(|| panic!("{found}"))
        .clone();
    assert_eq!(tag(span, "correlation_id")["value"], id.as_str());
    assert_eq!(tag(span, "span.kind")["value"], "internal", "{span}");
}

#[tokio::test]
async fn every_acknowledged_span_survives_kill_9() {
    let env = [("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];
    let portal = Portal::start_with(&env).await;
    let (acked, portal) = portal
        .kill_9_while_pushing(&env, |pusher, batch| async move {
            // Fewer batches than one search page holds.
            if batch >= 900 {
                return None;
            }
            let id = format!("{:032x}", batch + 1);
            let t0 = now_ns() - 10_000_000_000;
            let spans = (1..=20u64)
                .map(|i| {
                    let parent = if i == 1 {
                        String::new()
                    } else {
                        format!("{:016x}", 1)
                    };
                    otlp_span(&id, &format!("{i:016x}"), &parent, "kill9.op", t0, 1)
                })
                .collect();
            let sent = pusher
                .request(Method::POST, "/v1/traces")
                .header("content-type", "application/json")
                .body(otlp_request("kill9", spans))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            matches!(sent, Ok(r) if r.status() == 200).then_some(id)
        })
        .await;
    let admin = portal.admin();
    let (s, found) = admin
        .get("/api/v1/traces/search?service=kill9&from=now-1h&to=now&limit=1000")
        .await;
    assert_eq!(s, 200, "{found}");
    let stored: HashSet<&str> = found["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["span_count"], 20, "{t}");
            t["trace_id"].as_str().unwrap()
        })
        .collect();
    for id in &acked {
        assert!(
            stored.contains(id.as_str()),
            "acknowledged trace {id} lost after kill -9"
        );
    }
    let (s, t) = admin.get(&format!("/api/v1/traces/{}", acked[0])).await;
    assert_eq!(s, 200);
    assert_eq!(t["spans"].as_array().unwrap().len(), 20);
}
