//! Log counts as a dashboard time series (#16): lines pushed to the embedded log store, a
//! panel whose targets are log queries counted per minute (split by level, by service, and
//! unsplit), read back from the render API bucket by bucket; a log query the store cannot
//! parse is refused on save naming the target.

use std::collections::BTreeMap;

use e2e::api::Client;
use e2e::portal::Portal;
use serde_json::{json, Value};

/// A seed-shaped line at Unix second `t`.
fn line(t: i64, level: &str, message: &str, service: &str) -> String {
    json!({
        "timestamp": e2e::rfc3339(t),
        "level": level,
        "logger": "keiko.request",
        "message": message,
        "module": "middleware",
        "function": "dispatch",
        "line": 42,
        "correlation_id": format!("req-{t}"),
        "service": service,
    })
    .to_string()
}

async fn push(client: &Client, body: String) {
    let (status, answer) = client.post_ndjson("/api/v1/logs", body).await;
    assert_eq!(status, 200, "{answer}");
}

/// A chart's series as name → (bucket start → count), zero buckets left out.
fn counts(chart: &Value) -> BTreeMap<String, BTreeMap<i64, f64>> {
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let points = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_f64().unwrap() as i64, p[1].as_f64().unwrap()))
                .filter(|(_, v)| *v != 0.0)
                .collect();
            (s["name"].as_str().unwrap().to_owned(), points)
        })
        .collect()
}

fn panel(view: &Value, id: u64) -> &Value {
    view["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_panel_of_log_counts_draws_lines_per_bucket_split_by_level_and_by_service() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    // Minute buckets starting ten minutes ago: lines in the first and the third, none in
    // the second.
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let mut body = String::new();
    for (t, level, message, service) in [
        (base + 1, "INFO", "Request 1 completed", "checkout"),
        (base + 5, "INFO", "Request 2 completed", "checkout"),
        (base + 30, "INFO", "Request 3 completed", "checkout"),
        (
            base + 59,
            "ERROR",
            "Timeout calling payment-service",
            "checkout",
        ),
        (
            base + 120,
            "ERROR",
            "Timeout calling payment-service",
            "checkout",
        ),
        (
            base + 150,
            "ERROR",
            "Timeout calling the database",
            "billing",
        ),
        (
            base + 170,
            "WARNING",
            "Slow call to payment-service",
            "checkout",
        ),
        (base + 179, "ERROR", "Refused: card declined", "checkout"),
    ] {
        body += &line(t, level, message, service);
        body.push('\n');
    }
    push(&admin, body).await;

    let doc = json!({"dashboard": {
    "uid": "log-counts", "title": "Log counts",
    "time": {"from": (base - 120).to_string(), "to": (base + 300).to_string()},
    "panels": [
        {"id": 1, "type": "timeseries", "title": "Checkout by level", "grid": {"x": 0, "y": 0, "w": 24, "h": 8},
         "targets": [{"expr": "service:checkout", "kind": "log_count", "split_by": "level", "interval": "1m", "legend": "{{level}}"}]},
        {"id": 2, "type": "timeseries", "title": "Timeouts by service", "grid": {"x": 0, "y": 8, "w": 12, "h": 8},
         "targets": [{"expr": "\"timeout\"", "kind": "log_count", "split_by": "service", "interval": "1m"}]},
        {"id": 3, "type": "stat", "title": "Errors", "grid": {"x": 12, "y": 8, "w": 12, "h": 8}, "reducer": "max",
         "targets": [{"expr": "level:ERROR AND logger:keiko.request", "kind": "log_count", "interval": "1m", "legend": "errors"}]}
    ]}});
    let (s, created) = admin.post("/api/v1/dashboards", doc).await;
    assert_eq!(s, 201, "{created}");
    let (s, view) = admin
        .get("/api/v1/dashboards/log-counts/render?width=1200")
        .await;
    assert_eq!(s, 200, "{view}");

    let by_level = panel(&view, 1);
    assert_eq!(by_level["body"]["kind"], "chart", "{by_level}");
    let chart = &by_level["body"]["chart"];
    assert!(chart["svg"].as_str().unwrap().contains("<svg"));
    let expected: BTreeMap<String, BTreeMap<i64, f64>> = [
        ("INFO", vec![(base, 3.0)]),
        ("ERROR", vec![(base, 1.0), (base + 120, 2.0)]),
        ("WARNING", vec![(base + 120, 1.0)]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().collect()))
    .collect();
    assert_eq!(counts(chart), expected, "{chart}");
    // Every bucket of the range is a point, empty ones at 0: 7 minutes.
    let info = &chart["series"][0];
    assert_eq!(info["points"].as_array().unwrap().len(), 7, "{info}");
    assert_eq!(chart["inspector"]["query"], "service:checkout");
    // Its "Explore" link opens the log query in Explore → Logs, not as PromQL.
    assert_eq!(by_level["query"], "service:checkout", "{by_level}");
    assert_eq!(by_level["query_is_logs"], true, "{by_level}");
    let html = admin.html("/d/log-counts").await;
    let at = html
        .find("class=\"panel-explore\"")
        .expect("an Explore link");
    let start = html[..at].rfind("<a ").unwrap();
    let tag = &html[start..at + html[at..].find('>').unwrap()];
    assert!(
        tag.contains("href=\"/explore/logs?query=service%3Acheckout&amp;"),
        "the log-count panel's Explore link in the first HTML: {tag}"
    );

    let by_service = &panel(&view, 2)["body"]["chart"];
    let expected: BTreeMap<String, BTreeMap<i64, f64>> = [
        (
            "{service=\"checkout\"}",
            vec![(base, 1.0), (base + 120, 1.0)],
        ),
        ("{service=\"billing\"}", vec![(base + 120, 1.0)]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().collect()))
    .collect();
    assert_eq!(counts(by_service), expected, "{by_service}");

    // A stat reduces the counts as it reduces PromQL series: the busiest minute.
    let stat = &panel(&view, 3)["body"];
    assert_eq!(stat["values"][0]["name"], "errors", "{stat}");
    assert_eq!(stat["values"][0]["raw"], 3.0, "{stat}");

    // Zoomed out to the day the buckets widen (at most 1,000 points per series) and
    // still hold every line.
    let (s, day) = admin
        .get("/api/v1/dashboards/log-counts/render?width=1200&from=now-24h&to=now")
        .await;
    assert_eq!(s, 200, "{day}");
    let chart = &panel(&day, 1)["body"]["chart"];
    let total: f64 = counts(chart).values().flat_map(|p| p.values()).sum();
    assert_eq!(total, 7.0, "{chart}");
    for s in chart["series"].as_array().unwrap() {
        assert!(s["points"].as_array().unwrap().len() <= 1000);
    }

    // A log query the store cannot parse is refused on save, naming the target; a PromQL
    // target may not carry a log count's fields.
    let (s, bad) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "bad-counts", "title": "Bad", "panels": [
                {"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8},
                 "targets": [{"expr": "level:ERROR AND (", "kind": "log_count"}]}]}}),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "panels[0].targets[0].expr", "{bad}");
    let (s, bad) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "bad-counts", "title": "Bad", "panels": [
                {"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8},
                 "targets": [{"expr": "up", "split_by": "level"}]}]}}),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "panels[0].targets[0].split_by");
    assert_eq!(admin.get("/api/v1/dashboards/bad-counts").await.0, 404);
}

#[tokio::test]
async fn grafana_loki_and_elasticsearch_count_panels_import_as_log_counts_and_render() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let mut body = String::new();
    for i in 0..4 {
        body += &line(
            base + i,
            "ERROR",
            "Timeout calling payment-service",
            "checkout",
        );
        body.push('\n');
    }
    push(&admin, body).await;
    let grafana = json!({
        "title": "Shipped logs", "uid": "grafana-counts", "schemaVersion": 39,
        "time": {"from": (base - 60).to_string(), "to": (base + 120).to_string()},
        "panels": [
            {"id": 1, "type": "timeseries", "title": "Loki errors", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
             "datasource": {"type": "loki", "uid": "loki"},
             "targets": [{"refId": "A", "expr": "sum by (level) (count_over_time({service=\"checkout\"} |= \"Timeout\" [1m]))", "legendFormat": "{{level}}"}]},
            {"id": 2, "type": "graph", "title": "ES errors", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
             "datasource": "Elasticsearch",
             "targets": [{"refId": "A", "query": "level:ERROR", "metrics": [{"id": "1", "type": "count"}],
                          "bucketAggs": [{"id": "2", "type": "date_histogram", "field": "@timestamp", "settings": {"interval": "1m"}}]}]},
            {"id": 3, "type": "timeseries", "title": "Loki rate", "gridPos": {"x": 0, "y": 8, "w": 12, "h": 8},
             "datasource": {"type": "loki", "uid": "loki"},
             "targets": [{"refId": "A", "expr": "sum(rate({service=\"checkout\"}[1m]))"}]}
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
    assert_eq!(entry("Loki errors")["outcome"], "converted", "{imported}");
    let rate = entry("Loki rate");
    assert_eq!(rate["outcome"], "not_supported", "{rate}");
    assert!(
        rate["notes"].to_string().contains("count_over_time"),
        "{rate}"
    );

    let (_, stored) = admin.get("/api/v1/dashboards/grafana-counts").await;
    let target = &stored["dashboard"]["panels"][0]["targets"][0];
    assert_eq!(target["kind"], "log_count", "{stored}");
    assert_eq!(target["expr"], "service:checkout AND \"Timeout\"");
    assert_eq!(target["split_by"], "level");
    assert_eq!(target["interval"], "1m");

    let (s, view) = admin
        .get("/api/v1/dashboards/grafana-counts/render?width=1200")
        .await;
    assert_eq!(s, 200, "{view}");
    let loki = counts(&panel(&view, 1)["body"]["chart"]);
    assert_eq!(loki["ERROR"], [(base, 4.0)].into_iter().collect(), "{view}");
    let es = counts(&panel(&view, 2)["body"]["chart"]);
    assert_eq!(
        es.values().flat_map(|p| p.values()).sum::<f64>(),
        4.0,
        "{view}"
    );
}
