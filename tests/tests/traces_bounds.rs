//! Traces (#17), the read path's bounds, through the running portal: a trace cut at the
//! store's most spans per trace says so in the portal's and Jaeger's answers, a Jaeger
//! search stays within its span and time budget and says when it was cut, and Jaeger's
//! search and dependencies filters exclude what they should.

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::spans::{push, TestSpan};
use serde_json::Value;

const ENV: &[(&str, &str)] = &[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];

/// Spans one push carries (within the portal's request body limit).
const PER_PUSH: usize = 3_000;

fn now_ns() -> i64 {
    (e2e::now_seconds() * 1e9) as i64
}

fn trace_id(n: u64) -> String {
    format!("{n:032x}")
}

/// A trace of `n` spans of `service` starting at `t0`: a root and `n - 1` children, 1 ms
/// each, pushed `PER_PUSH` at a time.
async fn push_trace(admin: &Client, service: &str, trace: u64, n: usize, t0: i64, ms: i64) {
    let spans: Vec<TestSpan> = (0..n)
        .map(|i| TestSpan {
            trace_id: trace_id(trace),
            span_id: format!("{:08x}{:08x}", trace, i + 1),
            parent: if i == 0 {
                String::new()
            } else {
                format!("{:08x}{:08x}", trace, 1)
            },
            name: if i == 0 { "root" } else { "step" }.into(),
            kind: 2,
            start_ns: t0 + i as i64 * 1_000,
            duration_ms: if i == 0 { ms } else { 1 },
            ..Default::default()
        })
        .collect();
    for part in spans.chunks(PER_PUSH) {
        push(admin, service, part).await;
    }
}

fn ids(data: &Value) -> Vec<String> {
    data.as_array()
        .unwrap_or_else(|| panic!("not a list: {data}"))
        .iter()
        .map(|t| t["traceID"].as_str().unwrap().to_owned())
        .collect()
}

fn messages(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["msg"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_trace_cut_at_the_span_limit_says_so_in_the_portal_and_jaeger_answers() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let t0 = now_ns() - 600_000_000_000;
    // 54,000 spans and a summary record per push: more than the 50,000 one read gives.
    push_trace(&admin, "bulk", 1, 18 * PER_PUSH, t0, 5).await;
    push_trace(&admin, "bulk", 2, 2, t0, 5).await;

    let (s, big) = admin.get(&format!("/api/v1/traces/{}", trace_id(1))).await;
    assert_eq!(s, 200, "{}", &big.to_string()[..200]);
    assert_eq!(big["truncated"], true);
    let n = big["spans"].as_array().unwrap().len();
    assert!((40_000..=50_000).contains(&n), "{n} spans given");
    let (s, small) = admin.get(&format!("/api/v1/traces/{}", trace_id(2))).await;
    assert_eq!(s, 200, "{small}");
    assert_eq!(small["truncated"], false, "{small}");
    assert_eq!(small["spans"].as_array().unwrap().len(), 2);

    let (s, big) = admin
        .get(&format!("/jaeger/api/traces/{}", trace_id(1)))
        .await;
    assert_eq!(s, 200);
    let said = messages(&big);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains(&trace_id(1)) && said[0].contains("truncated"),
        "{said:?}"
    );
    assert_eq!(big["errors"][0]["code"], 206);
    assert_eq!(big["data"][0]["spans"].as_array().unwrap().len(), n);
    let (s, small) = admin
        .get(&format!("/jaeger/api/traces/{}", trace_id(2)))
        .await;
    assert_eq!(s, 200, "{small}");
    assert!(small["errors"].is_null(), "{small}");
}

#[tokio::test]
async fn a_jaeger_search_stays_within_its_span_budget_and_says_why_it_was_cut() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let now = now_ns();
    let minute = 60_000_000_000;
    // Two traces of 54,000 spans, then three small ones, newest last.
    push_trace(&admin, "bulk", 1, 18 * PER_PUSH, now - 20 * minute, 5).await;
    push_trace(&admin, "bulk", 2, 18 * PER_PUSH, now - 15 * minute, 5).await;
    for t in 3..=5 {
        push_trace(&admin, "bulk", t, 2, now - 5 * minute + t as i64, 5).await;
    }

    // The search reads its 100,000-span budget before it is done (partial), and the
    // answer stops before the first big trace: 50,000 spans at most.
    let (s, found) = admin
        .get("/jaeger/api/traces?service=bulk&lookback=1h&limit=20")
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        ids(&found["data"]),
        [trace_id(5), trace_id(4), trace_id(3)],
        "{:?}",
        messages(&found)
    );
    assert_eq!(found["total"], 3);
    let said = messages(&found);
    assert!(
        said.iter().any(|m| m.starts_with("search truncated")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("after 3 traces") && m.contains("at most 50000 spans")),
        "{said:?}"
    );
    assert!(found["errors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["code"] == 206));

    // A big trace first is given, cut at the store's most spans per trace, and said so.
    let us = |ns: i64| ns / 1_000;
    let (s, one) = admin
        .get(&format!(
            "/jaeger/api/traces?service=bulk&start={}&end={}&limit=20",
            us(now - 16 * minute),
            us(now - 10 * minute)
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(ids(&one["data"]), [trace_id(2)]);
    let spans = one["data"][0]["spans"].as_array().unwrap().len();
    assert!(spans <= 50_000, "{spans}");
    let said = messages(&one);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].contains(&format!("trace {} truncated", trace_id(2))));

    // A search that fits says nothing.
    let (s, small) = admin
        .get("/jaeger/api/traces?service=bulk&lookback=1h&limit=2&operation=root&minDuration=1ms")
        .await;
    assert_eq!(s, 200);
    assert_eq!(ids(&small["data"]), [trace_id(5), trace_id(4)]);
    assert!(small["errors"].is_null(), "{small}");
}

#[tokio::test]
async fn a_push_with_a_span_over_the_record_limit_is_refused_before_anything_is_written() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let us = now_ns() / 1_000 - 60_000_000;
    // 44,000 control characters: 44 kB of text, over 256 KiB once its event is JSON.
    let huge = "\u{1}".repeat(44_000);
    let zipkin = serde_json::json!([
        {"traceId": trace_id(7), "id": "0000000700000001", "name": "fits", "timestamp": us,
         "duration": 1_000, "localEndpoint": {"serviceName": "zip"}},
        {"traceId": trace_id(8), "id": "0000000800000001", "name": "too-large", "timestamp": us,
         "duration": 1_000, "localEndpoint": {"serviceName": "zip"},
         "annotations": [{"timestamp": us, "value": huge}]},
    ]);
    let (s, refused) = admin
        .post_body("/api/v2/spans", "application/json", zipkin.to_string())
        .await;
    assert_eq!(s, 400, "{refused}");
    let msg = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("span 1") && msg.contains("bytes stored"),
        "{refused}"
    );
    for t in [7, 8] {
        let (s, _) = admin.get(&format!("/api/v1/traces/{}", trace_id(t))).await;
        assert_eq!(s, 404, "trace {t} was stored from a refused push");
    }

    // OTLP refuses the span alone in its partial success, before the batch is written.
    let ns = us * 1_000;
    let otlp = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "otel"}}]},
        "scopeSpans": [{"spans": [
            {"traceId": trace_id(9), "spanId": "0000000900000001", "name": "fits", "kind": 2,
             "startTimeUnixNano": ns.to_string(), "endTimeUnixNano": (ns + 1_000_000).to_string()},
            {"traceId": trace_id(10), "spanId": "0000000a00000001", "name": "too-large",
             "kind": 2, "startTimeUnixNano": ns.to_string(),
             "endTimeUnixNano": (ns + 1_000_000).to_string(),
             "events": [{"timeUnixNano": ns.to_string(), "name": huge}]},
        ]}],
    }]});
    let (s, partial) = admin
        .post_body("/v1/traces", "application/json", otlp.to_string())
        .await;
    assert_eq!(s, 200, "{partial}");
    let rejected = &partial["partialSuccess"];
    assert_eq!(rejected["rejectedSpans"].as_i64(), Some(1), "{partial}");
    let msg = rejected["errorMessage"].as_str().unwrap_or_default();
    assert!(
        msg.contains("span 1") && msg.contains("bytes stored"),
        "{partial}"
    );
    let (s, kept) = admin.get(&format!("/api/v1/traces/{}", trace_id(9))).await;
    assert_eq!(
        (s.as_u16(), kept["spans"][0]["operation"].as_str()),
        (200, Some("fits"))
    );
    let (s, _) = admin.get(&format!("/api/v1/traces/{}", trace_id(10))).await;
    assert_eq!(s, 404);
}

/// The trace ids of a Jaeger search, sorted.
async fn found(admin: &Client, params: &str) -> Vec<String> {
    let (s, answer) = admin
        .get(&format!(
            "/jaeger/api/traces?service=dur&lookback=1h{params}"
        ))
        .await;
    assert_eq!(s, 200, "{answer}");
    assert!(answer["errors"].is_null(), "{answer}");
    let mut ids = ids(&answer["data"]);
    ids.sort();
    ids
}

#[tokio::test]
async fn jaeger_search_keeps_to_min_duration_max_duration_and_limit() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let t0 = now_ns() - 300_000_000_000;
    // Traces 21..24 of one span each, 10, 50, 200 and 800 ms long, newest last.
    for (i, ms) in [10, 50, 200, 800].into_iter().enumerate() {
        push_trace(
            &admin,
            "dur",
            21 + i as u64,
            1,
            t0 + i as i64 * 1_000_000,
            ms,
        )
        .await;
    }
    let t = |ns: &[u64]| ns.iter().map(|&n| trace_id(n)).collect::<Vec<_>>();
    assert_eq!(found(&admin, "").await, t(&[21, 22, 23, 24]));
    assert_eq!(found(&admin, "&minDuration=100ms").await, t(&[23, 24]));
    assert_eq!(found(&admin, "&maxDuration=100ms").await, t(&[21, 22]));
    assert_eq!(
        found(&admin, "&minDuration=20ms&maxDuration=0.5s").await,
        t(&[22, 23])
    );
    assert_eq!(found(&admin, "&minDuration=1s").await, t(&[]));
    // The newest first, as many as asked for.
    assert_eq!(found(&admin, "&limit=2").await, t(&[23, 24]));
    assert_eq!(found(&admin, "&limit=1&maxDuration=60ms").await, t(&[22]));
    let (s, bad) = admin
        .get("/jaeger/api/traces?service=dur&minDuration=soon")
        .await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "minDuration", "{bad}");
}

/// A call from `parent` into `child`: a root span of `parent` and its child span of
/// `child`, in trace `trace`, at `start`.
async fn call(admin: &Client, parent: &str, child: &str, trace: u64, start: i64) {
    push_trace(admin, parent, trace, 1, start, 20).await;
    let span = TestSpan {
        trace_id: trace_id(trace),
        span_id: format!("{:08x}{:08x}", trace, 2),
        parent: format!("{:08x}{:08x}", trace, 1),
        name: "handle".into(),
        kind: 2,
        start_ns: start + 1_000_000,
        duration_ms: 10,
        ..Default::default()
    };
    push(admin, child, &[span]).await;
}

/// The (parent, child) edges of a Jaeger dependencies answer, sorted.
async fn edges(admin: &Client, params: &str) -> Vec<(String, String)> {
    let (s, deps) = admin
        .get(&format!("/jaeger/api/dependencies?{params}"))
        .await;
    assert_eq!(s, 200, "{deps}");
    let mut out: Vec<(String, String)> = deps["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{deps}"))
        .iter()
        .map(|d| {
            assert_eq!(d["callCount"], 1, "{deps}");
            (
                d["parent"].as_str().unwrap().to_owned(),
                d["child"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn jaeger_dependencies_keep_to_end_ts_and_lookback() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let now_ms = now_ns() / 1_000_000;
    let hour_ms = 3_600_000;
    let ns = |ms: i64| ms * 1_000_000;
    call(
        &admin,
        "front-old",
        "back-old",
        31,
        ns(now_ms - 3 * hour_ms),
    )
    .await;
    call(
        &admin,
        "front-new",
        "back-new",
        32,
        ns(now_ms - 10 * 60_000),
    )
    .await;
    let old = ("front-old".to_owned(), "back-old".to_owned());
    let new = ("front-new".to_owned(), "back-new".to_owned());

    // The default window (a day up to now) holds both.
    assert_eq!(edges(&admin, "").await, [new.clone(), old.clone()]);
    // The last hour: only the new call.
    let last_hour = format!("endTs={now_ms}&lookback={hour_ms}");
    assert_eq!(edges(&admin, &last_hour).await, [new]);
    // Two hours ending two hours ago: only the old one.
    let earlier = format!("endTs={}&lookback={}", now_ms - 2 * hour_ms, 2 * hour_ms);
    assert_eq!(edges(&admin, &earlier).await, [old]);
    // Ending before either call: none.
    let before = format!("endTs={}&lookback={hour_ms}", now_ms - 4 * hour_ms);
    assert!(edges(&admin, &before).await.is_empty());
    let (s, bad) = admin.get("/jaeger/api/dependencies?lookback=0").await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "lookback", "{bad}");
}

/// The value of counter `name` on `/metrics`.
async fn counter(admin: &Client, name: &str) -> u64 {
    let metrics = admin.html("/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_services_table_caps_its_pairs_and_jaeger_listings_say_when_they_are_cut() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let t0 = now_ns() - 60_000_000_000;
    // 1,001 services of one span each, in one request.
    let resources: Vec<Value> = (0..1_001)
        .map(|i| {
            serde_json::json!({
                "resource": {"attributes": [{"key": "service.name",
                    "value": {"stringValue": format!("svc-{i:04}")}}]},
                "scopeSpans": [{"spans": [{
                    "traceId": trace_id(100 + i), "spanId": format!("{:016x}", 100 + i),
                    "name": "op", "kind": 2, "startTimeUnixNano": t0.to_string(),
                    "endTimeUnixNano": (t0 + 1_000_000).to_string()}]}],
            })
        })
        .collect();
    let body = serde_json::json!({ "resourceSpans": resources }).to_string();
    let (s, answer) = admin
        .post_body("/v1/traces", "application/json", body)
        .await;
    assert_eq!(s, 200, "{answer}");
    assert!(
        answer["partialSuccess"]["rejectedSpans"]
            .as_i64()
            .unwrap_or(0)
            == 0
    );

    let (s, services) = admin.get("/jaeger/api/services").await;
    assert_eq!(s, 200);
    assert_eq!(services["data"].as_array().unwrap().len(), 1_000);
    assert_eq!(services["total"], 1_000);
    let said = messages(&services);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("services truncated: 1000 of 10"),
        "{said:?}"
    );

    // Six services of 9,000 operations each: 55,001 names for a table of 50,000 pairs.
    for w in 0..6u64 {
        let spans: Vec<TestSpan> = (0..9_000u64)
            .map(|o| TestSpan {
                trace_id: trace_id(10_000 + w * 10_000 + o),
                span_id: format!("{:016x}", 10_000 + w * 10_000 + o),
                name: format!("op-{o:05}"),
                kind: 2,
                start_ns: t0,
                duration_ms: 1,
                ..Default::default()
            })
            .collect();
        for part in spans.chunks(PER_PUSH) {
            push(&admin, &format!("wide-{w}"), part).await;
        }
    }
    let refused = counter(&admin, "keiko_trace_catalog_names_refused_total").await;
    assert!(
        (5_000..=5_001).contains(&refused),
        "{refused} names refused"
    );
    // The last service got what room was left; its listing is cut and says so.
    let (s, ops) = admin.get("/jaeger/api/services/wide-5/operations").await;
    assert_eq!(s, 200);
    assert_eq!(ops["data"].as_array().unwrap().len(), 1_000);
    let said = messages(&ops);
    let kept: usize = said[0]
        .strip_prefix("operations truncated: 1000 of ")
        .and_then(|r| r.strip_suffix(" listed"))
        .unwrap_or_else(|| panic!("{said:?}"))
        .parse()
        .unwrap();
    assert!((3_998..=3_999).contains(&kept), "{kept} operations kept");
    let (s, ops) = admin
        .get("/jaeger/api/operations?service=wide-0&spanKind=server")
        .await;
    assert_eq!(s, 200);
    assert_eq!(ops["data"].as_array().unwrap().len(), 1_000);
    assert_eq!(
        messages(&ops),
        ["operations truncated: 1000 of 9000 listed"]
    );
    let (_, few) = admin.get("/jaeger/api/services/svc-0001/operations").await;
    assert_eq!(few["data"], serde_json::json!(["op"]));
    assert!(few["errors"].is_null(), "{few}");
}
