//! Logs (#16): lines pushed as JSON lines (the seed's StructuredFormatter shape), the
//! portal's own lines, and the query API over the embedded log store — search by
//! correlation id, facets, histogram by level, query errors with their position, refused
//! bodies storing nothing, and every acknowledged line surviving kill -9.

use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /api/v1/logs/query` over the last hour (or `range`), asserting 200.
async fn search(client: &Client, query: &str, extra: &str) -> Value {
    let (s, body) = client
        .get(&format!(
            "/api/v1/logs/query?query={}&from=now-1h&to=now{extra}",
            enc(query)
        ))
        .await;
    assert_eq!(s, 200, "{query}: {body}");
    body
}

fn lines(body: &Value) -> &Vec<Value> {
    body["lines"].as_array().unwrap()
}

/// POSTs raw JSON lines; returns status and body.
async fn push(client: &Client, path: &str, body: String) -> (u16, Value) {
    let r = client
        .request(Method::POST, path)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds, as the seed's formatter writes
/// `datetime.utcnow().isoformat()` plus `Z` (days to civil date: Howard Hinnant's algorithm).
fn rfc3339(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// A seed-shaped record (StructuredFormatter) `seconds_ago` old.
fn seed_line(seconds_ago: i64, level: &str, message: &str, correlation_id: &str) -> String {
    let t = (e2e::now_seconds() * 1000.0) as i64 - seconds_ago * 1000;
    json!({
        "timestamp": rfc3339(t),
        "level": level,
        "logger": "keiko.request",
        "message": message,
        "module": "middleware",
        "function": "dispatch",
        "line": 42,
        "correlation_id": correlation_id,
    })
    .to_string()
}

#[test]
fn rfc3339_writes_the_civil_date() {
    assert_eq!(rfc3339(1_764_583_200_123), "2025-12-01T10:00:00.123Z");
}

#[tokio::test]
async fn seed_shaped_json_lines_are_found_by_correlation_id_with_facets_and_histogram() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();

    // The built-in log store is the logs family's data source, next to the metrics one.
    let (s, sources) = admin.get("/api/v1/datasources").await;
    assert_eq!(s, 200);
    let embedded: Vec<&Value> = sources
        .as_array()
        .or_else(|| sources["datasources"].as_array())
        .unwrap()
        .iter()
        .filter(|d| d["type"] == "embedded")
        .collect();
    assert!(
        embedded
            .iter()
            .any(|d| d["family"] == "logs" && d["default"] == true),
        "{sources}"
    );

    let mut body = String::new();
    for i in 0..6 {
        body += &seed_line(60 + i, "INFO", &format!("Request {i} completed"), "req-a");
        body.push('\n');
    }
    body += &seed_line(30, "WARNING", "Slow call to payment-service", "req-b");
    body.push('\n');
    let mut error: Value = serde_json::from_str(&seed_line(
        20,
        "ERROR",
        "Timeout calling payment-service",
        "req-b",
    ))
    .unwrap();
    error["exception"] = json!({"type": "TimeoutError", "message": "read timed out"});
    error["service"] = json!("billing");
    body += &error.to_string();
    let (s, answer) = push(&admin, "/api/v1/logs?service=api", body).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["accepted"], 8);

    let found = search(&admin, "correlation_id:req-b", "").await;
    let found = lines(&found);
    assert_eq!(found.len(), 2, "{found:?}");
    // Newest first; the columns and attributes as the formatter wrote them.
    assert_eq!(found[0]["message"], "Timeout calling payment-service");
    assert_eq!(found[0]["severity"], "ERROR");
    assert_eq!(found[0]["fields"]["service"], "billing");
    assert_eq!(found[0]["fields"]["exception.type"], "TimeoutError");
    assert_eq!(found[0]["fields"]["logger"], "keiko.request");
    assert_eq!(found[0]["fields"]["line"], "42");
    assert_eq!(found[1]["fields"]["service"], "api");

    let warn = search(&admin, r#"level:>=WARNING AND "payment-service""#, "").await;
    assert_eq!(lines(&warn).len(), 2);

    // Paging: a cursor continues where the page ended, with no line twice.
    let first = search(&admin, "correlation_id:req-a", "&limit=4").await;
    assert_eq!(lines(&first).len(), 4);
    let cursor = first["next"].as_str().expect("a next cursor").to_owned();
    let rest = search(
        &admin,
        "correlation_id:req-a",
        &format!("&limit=4&cursor={}", enc(&cursor)),
    )
    .await;
    assert_eq!(lines(&rest).len(), 2, "{rest}");

    // Facets: the field names with counts, a field's values with counts.
    let (s, fields) = admin
        .get("/api/v1/logs/fields?query=logger%3A*&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200, "{fields}");
    let count_of = |name: &str| {
        fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["count"].as_u64().unwrap())
    };
    assert_eq!(count_of("correlation_id"), Some(8), "{fields}");
    assert_eq!(count_of("exception.type"), Some(1), "{fields}");
    let (s, values) = admin
        .get("/api/v1/logs/fields/correlation_id/values?query=logger%3A*&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200, "{values}");
    assert_eq!(values["values"][0], json!({"value": "req-a", "count": 6}));
    assert_eq!(values["values"][1], json!({"value": "req-b", "count": 2}));

    // The histogram: counts per interval by level add up to the lines.
    let (s, h) = admin
        .get("/api/v1/logs/histogram?query=logger%3A*&from=now-10m&to=now&step=60")
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["step"], 60.0);
    let levels: Vec<&str> = h["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let total = |level: &str| -> u64 {
        let i = levels.iter().position(|l| *l == level).unwrap();
        h["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b[i].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        (total("INFO"), total("WARNING"), total("ERROR")),
        (6, 1, 1),
        "{h}"
    );
}

#[tokio::test]
async fn a_malformed_line_refuses_the_request_naming_it_and_stores_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let body = format!(
        "{}\n{}\n{{\"message\": \"cut off\"\n{}\n",
        seed_line(5, "INFO", "first", "bad-batch"),
        seed_line(4, "INFO", "second", "bad-batch"),
        seed_line(3, "INFO", "fourth", "bad-batch"),
    );
    let (s, answer) = push(&admin, "/api/v1/logs", body).await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["line"], 3, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3:"),
        "{answer}"
    );
    let (s, answer) = push(
        &admin,
        "/api/v1/logs",
        r#"{"timestamp": "yesterday"}"#.into(),
    )
    .await;
    assert_eq!(s, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timestamp"),
        "{answer}"
    );
    let found = search(&admin, "correlation_id:bad-batch", "").await;
    assert!(lines(&found).is_empty(), "{found}");

    // Refused lines are counted by protocol and reason.
    let metrics = admin
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"keiko_log_lines_refused_total{protocol="jsonl",reason="malformed"} 5"#),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("keiko_log"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn query_errors_answer_400_with_the_position_and_limits_are_enforced() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, e) = admin
        .get(&format!(
            "/api/v1/logs/query?query={}",
            enc("level:>= AND x")
        ))
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "query");
    assert_eq!(e["error"]["position"], 9, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at byte 9"),
        "{e}"
    );
    let (s, e) = admin
        .get(&format!("/api/v1/logs/query?query={}", enc("(a OR b")))
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = admin.get("/api/v1/logs/query?limit=1000000").await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "limit");
    let (s, e) = admin.get("/api/v1/logs/query?from=now&to=now-1h").await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = admin.get("/api/v1/logs/query?cursor=nonsense").await;
    assert_eq!(s, 400, "{e}");
}

#[tokio::test]
async fn ingest_takes_an_ingest_token_and_refuses_viewers_while_viewers_read() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "shipper", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let secret = token["token"].as_str().unwrap();
    let shipper = portal.client(e2e::api::Auth::Bearer(secret.to_owned()));
    let (s, answer) = push(
        &shipper,
        "/api/v1/logs",
        seed_line(1, "INFO", "shipped", "tok-1"),
    )
    .await;
    assert_eq!(s, 200, "{answer}");
    // The ingest token reaches nothing else.
    let (s, _) = shipper.get("/api/v1/logs/query").await;
    assert_eq!(s, 403);
    let viewer = portal.user_with_role("vera", "Viewer").await;
    let (s, _) = push(
        &viewer,
        "/api/v1/logs",
        seed_line(1, "INFO", "nope", "tok-2"),
    )
    .await;
    assert_eq!(s, 403);
    let found = search(&viewer, "correlation_id:tok-*", "").await;
    assert_eq!(lines(&found).len(), 1, "{found}");
}

#[tokio::test]
async fn the_portals_own_log_lines_are_searchable_by_correlation_id() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let id = format!("selflog-{}", std::process::id());
    let r = admin
        .request(Method::GET, "/api/v1/datasources")
        .header("x-correlation-id", &id)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let found = e2e::eventually(
        Duration::from_secs(10),
        "the request's own log line",
        || {
            let admin = admin.clone();
            let id = id.clone();
            async move {
                let body = search(&admin, &format!("correlation_id:{id}"), "").await;
                (!lines(&body).is_empty()).then_some(body)
            }
        },
    )
    .await;
    let line = &lines(&found)[0];
    assert_eq!(line["fields"]["service"], "keiko-portal", "{line}");
    assert!(line["fields"]["logger"].as_str().is_some(), "{line}");
}

#[tokio::test]
async fn every_acknowledged_log_line_survives_kill_9() {
    let env = [("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];
    let portal = Portal::start_with(&env).await;
    let (acked, portal) = portal
        .kill_9_while_pushing(&env, |pusher, batch| async move {
            let body: Vec<String> = (0..20)
                .map(|i| {
                    seed_line(
                        10,
                        "INFO",
                        &format!("batch {batch} line {i}"),
                        &format!("kill-{batch}"),
                    )
                })
                .collect();
            let sent = pusher
                .request(Method::POST, "/api/v1/logs")
                .body(body.join("\n"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            matches!(sent, Ok(r) if r.status() == 200).then_some(batch)
        })
        .await;
    let admin = portal.admin();
    let (s, values) = admin
        .get("/api/v1/logs/fields/correlation_id/values?query=correlation_id%3Akill-*&from=now-1h&to=now&limit=1000")
        .await;
    assert_eq!(s, 200, "{values}");
    let counts: std::collections::HashMap<String, u64> = values["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        acked.len() <= 1000,
        "more batches than one facet page: {}",
        acked.len()
    );
    for batch in &acked {
        assert_eq!(
            counts.get(&format!("kill-{batch}")),
            Some(&20),
            "acknowledged batch {batch} lost after kill -9"
        );
    }
}

#[tokio::test]
async fn python_logging_through_the_opentelemetry_sdk_is_found_by_correlation_id() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            json!({"name": "otel-logs", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    let id = format!("otel-{}", std::process::id());
    let out = e2e::run_python(
        "otlp_logs.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/logs")),
            ("OTLP_TOKEN", token["token"].as_str().unwrap().to_owned()),
            ("CORRELATION_ID", id.clone()),
        ],
    )
    .await;
    let trace_id = out.trim().to_owned();
    assert_eq!(trace_id.len(), 32, "{out}");

    let found = search(&admin, &format!("correlation_id:{id}"), "").await;
    let found = lines(&found);
    assert_eq!(found.len(), 3, "{found:?}");
    // Newest first: the exception, the warning inside the span, the first line.
    let (failed, slow, started) = (&found[0], &found[1], &found[2]);
    assert_eq!(failed["severity"], "ERROR", "{failed}");
    assert_eq!(failed["message"], "Request failed");
    assert_eq!(
        failed["fields"]["exception.type"], "TimeoutError",
        "{failed}"
    );
    assert_eq!(failed["fields"]["service"], "keiko-api");
    assert_eq!(failed["fields"]["logger"], "keiko.request", "{failed}");
    assert_eq!(failed["fields"]["function"], "handle_request", "{failed}");
    assert_eq!(failed["fields"]["module"], "otlp_logs", "{failed}");
    assert!(
        failed["fields"]["line"]
            .as_str()
            .unwrap()
            .parse::<u32>()
            .is_ok(),
        "{failed}"
    );
    assert_eq!(failed["fields"]["service.instance.id"], "pod-1", "{failed}");
    assert_eq!(slow["severity"], "WARNING");
    assert_eq!(slow["fields"]["trace_id"], trace_id, "{slow}");
    assert_eq!(started["fields"]["user_id"], "u7", "{started}");
    let by_trace = search(&admin, &format!("trace_id:{trace_id}"), "").await;
    assert_eq!(lines(&by_trace).len(), 1, "{by_trace}");

    // A body that is not OTLP is refused whole; nothing is stored.
    let r = admin
        .request(Method::POST, "/v1/logs")
        .header("content-type", "application/x-protobuf")
        .body(vec![0xff, 0xff, 0xff])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn python_logging_loki_pushes_seed_lines_and_protobuf_pushes_are_read() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let id = format!("loki-{}", std::process::id());
    let out = e2e::run_python(
        "loki_push.py",
        &[
            ("LOKI_URL", portal.url("/loki/api/v1/push")),
            ("LOKI_USER", "admin".to_owned()),
            ("LOKI_PASSWORD", e2e::api::ADMIN_PASSWORD.to_owned()),
            ("CORRELATION_ID", id.clone()),
        ],
    )
    .await;
    assert!(out.contains("pushed"), "{out}");
    let found = search(&admin, &format!("correlation_id:{id}"), "").await;
    let found = lines(&found);
    assert_eq!(found.len(), 2, "{found:?}");
    let (failed, picked) = (&found[0], &found[1]);
    // The JSON line is read as the seed's record; the stream labels fill in the rest.
    assert_eq!(failed["message"], "Task failed", "{failed}");
    assert_eq!(failed["severity"], "ERROR");
    assert_eq!(
        failed["fields"]["exception.type"], "ConnectionError",
        "{failed}"
    );
    assert_eq!(failed["fields"]["service"], "keiko-worker", "{failed}");
    assert_eq!(failed["fields"]["env"], "test", "{failed}");
    assert_eq!(failed["fields"]["function"], "<module>", "{failed}");
    assert_eq!(picked["fields"]["task_id"], "t-9", "{picked}");

    // Promtail's and Alloy's way: logproto.PushRequest in snappy.
    use prost::Message as _;
    let now_ns = (e2e::now_seconds() * 1e9) as i64;
    let request = ingest::loki::PushRequest {
        streams: vec![ingest::loki::StreamAdapter {
            labels: r#"{job="promtail", level="warn", host="node-1"}"#.into(),
            entries: vec![ingest::loki::EntryAdapter {
                timestamp: Some(ingest::loki::Timestamp {
                    seconds: now_ns / 1_000_000_000,
                    nanos: (now_ns % 1_000_000_000) as i32,
                }),
                line: "disk almost full".into(),
                structured_metadata: vec![ingest::loki::LabelPairAdapter {
                    name: "correlation_id".into(),
                    value: format!("{id}-pb"),
                }],
            }],
            hash: 0,
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap();
    let r = admin
        .request(Method::POST, "/loki/api/v1/push")
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    let found = search(&admin, &format!("correlation_id:{id}-pb"), "").await;
    let line = &lines(&found)[0];
    assert_eq!(line["message"], "disk almost full");
    assert_eq!(line["severity"], "WARNING");
    assert_eq!(line["fields"]["service"], "promtail");
    assert_eq!(line["fields"]["host"], "node-1");

    // A malformed push is refused whole, naming where.
    let r = admin
        .request(Method::POST, "/loki/api/v1/push")
        .header("content-type", "application/json")
        .body(r#"{"streams":[{"stream":{"job":"x"},"values":[["1","ok"],[2,"bad"]]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("values[1][0]"),
        "{e}"
    );
}

#[tokio::test]
async fn a_hundred_malformed_bodies_per_protocol_are_refused_and_store_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let now_ns = format!("{}", (e2e::now_seconds() * 1e9) as i64);
    let jsonl = seed_line(1, "INFO", &"a long enough message ".repeat(8), "cut");
    let otlp = json!({"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "cut"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": now_ns,
            "body": {"stringValue": "a long enough message ".repeat(4)}}]}]}]})
    .to_string();
    let loki = json!({"streams": [{"stream": {"job": "cut"},
        "values": [[now_ns, "a long enough message ".repeat(4)]]}]})
    .to_string();
    for (path, content_type, whole) in [
        ("/api/v1/logs", "application/x-ndjson", &jsonl),
        ("/v1/logs", "application/json", &otlp),
        ("/loki/api/v1/push", "application/json", &loki),
    ] {
        assert!(
            whole.len() > 101,
            "{path}: the body is too short to cut 100 ways"
        );
        for cut in 1..=100 {
            let body = whole[..cut].to_owned();
            let r = admin
                .request(Method::POST, path)
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(status.is_client_error(), "{path} with {body:?}: {status}");
        }
    }
    let stored = search(&admin, "NOT service:keiko-portal", "").await;
    assert!(lines(&stored).is_empty(), "{stored}");
}
