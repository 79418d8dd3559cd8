//! Traces on dashboards (#17): spans pushed over OTLP/HTTP, then a dashboard whose `red`
//! targets draw a service's request rate, error rate and ratio and an operation's duration
//! percentiles (checked minute by minute against the pushed spans), and whose traces panels
//! list a trace search's result (the same traces Explore → Traces finds from the panel's
//! link); a Grafana `traces` panel with a Jaeger or Tempo target imports into one; a bad
//! target is refused naming the field and nothing is saved.

use std::collections::BTreeMap;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::spans::{push, TestSpan};
use reqwest::Method;
use serde_json::{json, Value};

const ENV: &[(&str, &str)] = &[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")];

fn id(n: u64, width: usize) -> String {
    format!("{n:0width$x}")
}

/// The spans: in the minute `base`, six `pay` calls of checkout of 10…60 ms (the last two
/// failed with status 503) and two `cart` calls of 5 ms; two minutes later three `pay` calls
/// of 100 ms (the second failed); one call from the first payment into `ledger`. Every
/// checkout call is the root of its own trace (trace id = its number). Answers the ids of
/// the traces a search for failed payments of at least 25 ms finds, newest first.
async fn push_spans(client: &Client, base: i64) -> Vec<String> {
    let ns = |s: i64| s * 1_000_000_000;
    let mut spans = Vec::new();
    let pay = |n: u64, start: i64, ms: i64, error: bool| TestSpan {
        trace_id: id(n, 32),
        span_id: id(n, 16),
        name: "pay".into(),
        kind: 2,
        start_ns: start,
        duration_ms: ms,
        error,
        attributes: vec![(
            "http.status_code".into(),
            if error { "503" } else { "200" }.into(),
        )],
        ..TestSpan::default()
    };
    for i in 1..=6u64 {
        spans.push(pay(i, ns(base + i as i64), 10 * i as i64, i > 4));
    }
    for i in 7..=8u64 {
        spans.push(TestSpan {
            name: "cart".into(),
            duration_ms: 5,
            ..pay(i, ns(base + 10 + i as i64), 5, false)
        });
    }
    for j in 1..=3u64 {
        spans.push(pay(10 + j, ns(base + 120 + j as i64), 100, j == 2));
    }
    push(client, "checkout", &spans).await;
    let ledger = TestSpan {
        trace_id: id(1, 32),
        span_id: id(0xc1, 16),
        parent: id(1, 16),
        name: "post".into(),
        kind: 2,
        start_ns: ns(base + 1) + 1_000_000,
        duration_ms: 5,
        ..TestSpan::default()
    };
    push(client, "ledger", &[ledger]).await;
    vec![id(12, 32), id(6, 32), id(5, 32)]
}

fn panel(view: &Value, id: u64) -> &Value {
    view["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no panel {id} in {view}"))
}

/// A chart's series as name → (Unix second → value).
fn series(chart: &Value) -> BTreeMap<String, BTreeMap<i64, f64>> {
    chart["series"]
        .as_array()
        .unwrap_or_else(|| panic!("no series in {chart}"))
        .iter()
        .map(|s| {
            let points = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap() as i64, p[1].as_f64().unwrap()))
                .collect();
            (s["name"].as_str().unwrap().to_owned(), points)
        })
        .collect()
}

/// Every minute of `[from, to)` at 0 but those given.
fn minutes(from: i64, to: i64, given: &[(i64, f64)]) -> BTreeMap<i64, f64> {
    let mut m: BTreeMap<i64, f64> = (from..to).step_by(60).map(|t| (t, 0.0)).collect();
    m.extend(given.iter().copied());
    m
}

fn close(a: &BTreeMap<i64, f64>, b: &BTreeMap<i64, f64>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ta, va), (tb, vb))| ta == tb && (va - vb).abs() < 1e-9)
}

fn trace_ids(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("no rows in {rows}"))
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn red_series_and_traces_panels_show_what_was_pushed() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let failed_slow = push_spans(&admin, base).await;
    let (from, to) = (base - 120, base + 300);
    let doc = json!({"dashboard": {
    "uid": "red", "title": "Checkout RED",
    "time": {"from": from.to_string(), "to": to.to_string()},
    "variables": [{"name": "svc", "type": "custom", "query": "checkout,ledger", "current": ["checkout"]}],
    "panels": [
        {"id": 1, "type": "timeseries", "title": "Rates", "grid": {"x": 0, "y": 0, "w": 24, "h": 8},
         "targets": [{"kind": "red", "service": "checkout"},
                     {"kind": "red", "service": "checkout", "operation": "pay", "measure": "error_ratio", "legend": "pay errors"},
                     {"kind": "red", "service": "$svc", "measure": "error_rate"}]},
        {"id": 2, "type": "timeseries", "title": "Pay latency", "grid": {"x": 0, "y": 8, "w": 12, "h": 8},
         "targets": [{"kind": "red", "service": "checkout", "operation": "pay", "measure": "p95"},
                     {"kind": "red", "service": "checkout", "operation": "pay", "measure": "p50"}]},
        {"id": 3, "type": "stat", "title": "Worst p99", "grid": {"x": 12, "y": 8, "w": 12, "h": 8}, "reducer": "max",
         "targets": [{"kind": "red", "service": "checkout", "operation": "pay", "measure": "p99", "legend": "p99"}]},
        {"id": 4, "type": "traces", "title": "Slow failed payments", "grid": {"x": 0, "y": 16, "w": 12, "h": 8},
         "targets": [{"kind": "trace_search", "service": "checkout", "operation": "pay",
                      "filters": "http.status_code>499", "min_duration": "25ms", "errors_only": true, "limit": 10}]},
        {"id": 5, "type": "traces", "title": "Newest", "grid": {"x": 12, "y": 16, "w": 12, "h": 8},
         "targets": [{"kind": "trace_search", "service": "$svc", "limit": 1}]}
    ]}});
    let (s, created) = admin.post("/api/v1/dashboards", doc).await;
    assert_eq!(s, 201, "{created}");
    let (_, stored) = admin.get("/api/v1/dashboards/red").await;
    assert_eq!(
        stored["dashboard"]["panels"][0]["targets"][0],
        json!({"legend": "", "kind": "red", "service": "checkout"}),
        "defaults are left out of the stored document"
    );
    let (s, view) = admin.get("/api/v1/dashboards/red/render?width=1200").await;
    assert_eq!(s, 200, "{view}");

    // Rates per minute step: requests entering checkout (8, then 3), pay's error ratio
    // (2 of 6, then 1 of 3), checkout's errors per second through the variable.
    let rates = &panel(&view, 1)["body"];
    assert_eq!(rates["kind"], "chart", "{rates}");
    assert!(rates["chart"]["svg"].as_str().unwrap().contains("<svg"));
    let got = series(&rates["chart"]);
    let want = [
        (
            "checkout · Request rate",
            minutes(from, to, &[(base, 8.0 / 60.0), (base + 120, 3.0 / 60.0)]),
        ),
        (
            "pay errors",
            minutes(from, to, &[(base, 2.0 / 6.0), (base + 120, 1.0 / 3.0)]),
        ),
        (
            "checkout · Error rate",
            minutes(from, to, &[(base, 2.0 / 60.0), (base + 120, 1.0 / 60.0)]),
        ),
    ];
    assert_eq!(got.len(), 3, "{got:?}");
    for (name, points) in &want {
        let drawn = got
            .get(*name)
            .unwrap_or_else(|| panic!("{name} in {got:?}"));
        assert!(close(drawn, points), "{name}: {drawn:?} != {points:?}");
    }
    assert!(
        rates["chart"]["inspector"]["query"]
            .as_str()
            .unwrap()
            .contains("red{service=\"checkout\", operation=\"pay\"} error_ratio"),
        "{rates}"
    );

    // Durations only in the minutes with calls: p95 of 10…60 ms is the slowest, 60 ms; of
    // three 100 ms calls 100 ms; p50 of the first minute is in the bucket above 30 ms.
    let latency = &panel(&view, 2)["body"]["chart"];
    let got = series(latency);
    let p95 = &got["checkout pay · Duration p95"];
    assert_eq!(
        p95,
        &[(base, 60.0), (base + 120, 100.0)].into_iter().collect(),
        "{latency}"
    );
    let p50 = &got["checkout pay · Duration p50"];
    assert_eq!(p50.len(), 2, "{p50:?}");
    assert!((30.0..36.0).contains(&p50[&base]), "{p50:?}");
    assert_eq!(p50[&(base + 120)], 100.0);
    assert_eq!(latency["plot"]["unit"], "milliseconds", "{latency}");
    let stat = &panel(&view, 3)["body"];
    assert_eq!(stat["values"][0]["raw"], 100.0, "{stat}");

    // The traces panel: the failed payments of at least 25 ms with a status above 499.
    let slow = &panel(&view, 4)["body"];
    assert_eq!(slow["kind"], "traces", "{slow}");
    assert_eq!(trace_ids(&slow["traces"]), failed_slow, "{slow}");
    let first = &slow["traces"][0];
    assert_eq!(first["root_service"], "checkout");
    assert_eq!(first["root_operation"], "pay");
    assert_eq!(first["duration_ms"], 100.0);
    assert_eq!(first["error_count"], 1);
    // Its link is the same search in Explore → Traces, which finds the same traces.
    let explore = slow["explore"].as_str().unwrap();
    let query = explore
        .strip_prefix("/explore/traces?")
        .unwrap_or_else(|| panic!("{explore}"));
    for part in [
        "service=checkout",
        "operation=pay",
        "min=25ms",
        "errors=1",
        "limit=10",
    ] {
        assert!(query.split('&').any(|p| p == part), "{part} in {explore}");
    }
    let (s, found) = admin.get(&format!("/api/v1/traces/explore?{query}")).await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(trace_ids(&found["traces"]), failed_slow, "{found}");
    let page = admin.html(explore).await;
    assert!(page.contains(&failed_slow[0]), "the first HTML of the link");

    // `$svc` and a limit of one: the newest checkout trace.
    let newest = &panel(&view, 5)["body"];
    assert_eq!(trace_ids(&newest["traces"]), vec![id(13, 32)], "{newest}");

    // The dashboard page draws the rows in its first HTML, each linking to its trace.
    let html = admin.html("/d/red").await;
    for t in &failed_slow {
        assert!(
            html.contains(&format!("href=\"/explore/traces/{t}\"")),
            "{t} linked in the first HTML"
        );
    }
}

#[tokio::test]
async fn a_bad_red_or_trace_search_target_is_refused_naming_the_field_and_nothing_is_saved() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let grid = json!({"x": 0, "y": 0, "w": 12, "h": 8});
    let cases = [
        (
            json!({"id": 1, "type": "timeseries", "grid": grid, "targets": [{"kind": "red", "operation": "pay"}]}),
            "panels[0].targets[0].service",
        ),
        (
            json!({"id": 1, "type": "timeseries", "grid": grid,
                "targets": [{"kind": "red", "service": "checkout", "measure": "p90"}]}),
            // Not a series the document knows: refused as the body is read.
            "dashboard.panels[0].targets[0].measure",
        ),
        (
            json!({"id": 1, "type": "table", "grid": grid, "targets": [{"kind": "red", "service": "checkout"}]}),
            "panels[0].targets[0].kind",
        ),
        (
            json!({"id": 1, "type": "traces", "grid": grid,
                "targets": [{"kind": "trace_search", "filters": "http.status_code>high"}]}),
            "panels[0].targets[0].filters",
        ),
        (
            json!({"id": 1, "type": "traces", "grid": grid,
                "targets": [{"kind": "trace_search", "min_duration": "2s", "max_duration": "1s"}]}),
            "panels[0].targets[0].max_duration",
        ),
        (
            json!({"id": 1, "type": "traces", "grid": grid, "targets": [{"expr": "up"}]}),
            "panels[0].targets",
        ),
    ];
    for (panel, field) in &cases {
        let (s, bad) = admin
            .post(
                "/api/v1/dashboards",
                json!({"dashboard": {"uid": "bad-red", "title": "Bad", "panels": [panel]}}),
            )
            .await;
        assert_eq!(s, 400, "{panel}: {bad}");
        assert_eq!(bad["error"]["field"], *field, "{panel}: {bad}");
        assert_eq!(admin.get("/api/v1/dashboards/bad-red").await.0, 404);
    }
    // An update with a bad target changes nothing either.
    let good = json!({"uid": "red-ok", "title": "Good", "panels": [
        {"id": 1, "type": "timeseries", "grid": grid, "targets": [{"kind": "red", "service": "checkout"}]}]});
    let (s, created) = admin
        .post("/api/v1/dashboards", json!({"dashboard": good}))
        .await;
    assert_eq!(s, 201, "{created}");
    let mut bad = good.clone();
    bad["panels"][0]["targets"][0]["service"] = json!("");
    let (s, err) = admin
        .send(
            Method::PUT,
            "/api/v1/dashboards/red-ok",
            Some(json!({"dashboard": bad, "version": 1})),
        )
        .await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(err["error"]["field"], "panels[0].targets[0].service");
    let (_, now) = admin.get("/api/v1/dashboards/red-ok").await;
    assert_eq!(now["version"], 1, "{now}");
    assert_eq!(
        now["dashboard"]["panels"][0]["targets"][0]["service"],
        "checkout"
    );
}

#[tokio::test]
async fn grafana_traces_panels_import_their_jaeger_or_tempo_search_and_render() {
    let portal = Portal::start_with(ENV).await;
    let admin = portal.admin();
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let failed_slow = push_spans(&admin, base).await;
    let grafana = json!({
        "title": "Grafana traces", "uid": "grafana-traces", "schemaVersion": 39,
        "time": {"from": (base - 60).to_string(), "to": (base + 300).to_string()},
        "panels": [
            {"id": 1, "type": "traces", "title": "Jaeger search", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
             "datasource": {"type": "jaeger", "uid": "jaeger"},
             "targets": [{"refId": "A", "queryType": "search", "service": "checkout", "operation": "pay",
                          "tags": "http.status_code=503 error=true", "minDuration": "25ms", "limit": 5}]},
            {"id": 2, "type": "traces", "title": "Tempo TraceQL", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
             "datasource": {"type": "tempo", "uid": "tempo"},
             "targets": [{"refId": "A", "queryType": "traceql",
                          "query": "{ resource.service.name = \"checkout\" && name = \"cart\" && span.http.route =~ \"/api/.*\" }"}]},
            {"id": 3, "type": "traces", "title": "One trace", "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
             "datasource": {"type": "jaeger", "uid": "jaeger"},
             "targets": [{"refId": "A", "queryType": "traceId", "query": "0000000000000001"}]}
        ]
    });
    let (s, imported) = admin.post("/api/v1/dashboards/import", grafana).await;
    assert_eq!(s, 201, "{imported}");
    let report = imported["report"].as_array().unwrap();
    let entry = |title: &str| {
        report
            .iter()
            .find(|e| e["title"] == title)
            .unwrap_or_else(|| panic!("{title} in {imported}"))
            .clone()
    };
    assert_eq!(entry("Jaeger search")["outcome"], "converted", "{imported}");
    let tempo = entry("Tempo TraceQL");
    assert_eq!(tempo["outcome"], "converted_with_changes", "{tempo}");
    assert!(tempo["notes"].to_string().contains("=~"), "{tempo}");
    let by_id = entry("One trace");
    assert_eq!(by_id["outcome"], "not_supported", "{by_id}");
    assert!(by_id["notes"].to_string().contains("traceId"), "{by_id}");

    let (_, stored) = admin.get("/api/v1/dashboards/grafana-traces").await;
    assert_eq!(
        stored["dashboard"]["panels"][0]["targets"][0],
        json!({"legend": "", "kind": "trace_search", "service": "checkout", "operation": "pay",
               "filters": "http.status_code=503", "min_duration": "25ms", "errors_only": true, "limit": 5}),
        "{stored}"
    );
    let (s, view) = admin
        .get("/api/v1/dashboards/grafana-traces/render?width=1200")
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        trace_ids(&panel(&view, 1)["body"]["traces"]),
        failed_slow,
        "{view}"
    );
    // The TraceQL's service and span name carried over: the two cart calls.
    assert_eq!(
        trace_ids(&panel(&view, 2)["body"]["traces"]),
        vec![id(8, 32), id(7, 32)],
        "{view}"
    );
    assert_eq!(panel(&view, 3)["body"]["kind"], "unsupported", "{view}");
}
