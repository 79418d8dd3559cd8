//! Traces on dashboards in headless Chromium (#17), spans pushed over OTLP/HTTP: the
//! editor makes a time-series panel of checkout's request rate ("Traces (RED)") and a
//! traces panel searching checkout's failed calls; saved, the dashboard draws the series and
//! the rows (in its first HTML too), a row opens its trace, and the panel's link opens the
//! same search in Explore → Traces.

use e2e::portal::Portal;
use e2e::spans::{push, TestSpan};
use e2e::ui::{click, count, panel_series, set_value, signed_in};
use serde_json::json;

const FAILED: &str = "0000000000000000000000000000f002";

#[tokio::test]
async fn red_series_and_a_trace_search_made_in_the_editor_are_drawn_and_a_row_opens_its_trace() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let spans: Vec<TestSpan> = (1..=3u64)
        .map(|i| TestSpan {
            trace_id: format!("{:032x}", 0xf000 + i),
            span_id: format!("{:016x}", 0xf000 + i),
            name: "pay".into(),
            kind: 2,
            start_ns: (base + i as i64) * 1_000_000_000,
            duration_ms: 10 * i as i64,
            error: i == 2,
            attributes: vec![(
                "http.status_code".into(),
                if i == 2 { "503" } else { "200" }.into(),
            )],
            ..TestSpan::default()
        })
        .collect();
    push(&admin, "checkout", &spans).await;
    let (s, created) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "traces-ui", "title": "Traces UI",
                "time": {"from": (base - 120).to_string(), "to": (base + 180).to_string()}, "panels": []}}),
        )
        .await;
    assert_eq!(s, 201, "{created}");

    let browser = signed_in(&portal, "/d/traces-ui?edit=1").await;
    // Panel 1: checkout's request rate.
    click(&browser, "#add-panel").await;
    set_value(&browser, "#panel-query-kind-0", "red").await;
    set_value(&browser, "#panel-service-0", "checkout").await;
    set_value(&browser, "#panel-measure-0", "rate").await;
    set_value(&browser, "#panel-legend-0", "checkout requests").await;
    // Panel 2: a traces panel with checkout's calls that answered 5xx.
    click(&browser, "#add-panel").await;
    set_value(&browser, "#panel-type", "traces").await;
    set_value(&browser, "#panel-service-0", "checkout").await;
    set_value(&browser, "#panel-trace-filters-0", "http.status_code>499").await;
    set_value(&browser, "#panel-trace-limit-0", "5").await;
    set_value(&browser, "#panel-title", "Failed calls").await;
    click(&browser, "#save-dashboard").await;
    browser
        .wait_text("#save-status", |t| t.contains("version 2"))
        .await;
    let (_, stored) = admin.get("/api/v1/dashboards/traces-ui").await;
    let panels = &stored["dashboard"]["panels"];
    assert_eq!(
        panels[0]["targets"][0],
        json!({"legend": "checkout requests", "kind": "red", "service": "checkout"}),
        "{stored}"
    );
    assert_eq!(panels[1]["type"], "traces", "{stored}");
    assert_eq!(
        panels[1]["targets"][0],
        json!({"legend": "", "kind": "trace_search", "service": "checkout",
               "filters": "http.status_code>499", "limit": 5}),
        "{stored}"
    );

    // The first HTML holds the row, linked to its trace.
    let html = admin.html("/d/traces-ui").await;
    assert!(
        html.contains(&format!("href=\"/explore/traces/{FAILED}\"")),
        "the row in the first HTML"
    );
    browser.goto(&portal.url("/d/traces-ui")).await;
    browser.wait_hydrated().await;
    let (legend, lines) = panel_series(&browser, 1, |names| !names.is_empty()).await;
    assert!(
        legend.len() == 1 && legend[0].contains("checkout requests"),
        "{legend:?}"
    );
    assert_eq!(lines, 1, "one line: checkout's request rate");
    assert_eq!(count(&browser, "[data-panel='2'] tr.trace-row").await, 1);
    let row = browser
        .text(&browser.find("[data-panel='2'] tr.trace-row").await)
        .await;
    assert!(row.contains("checkout: pay"), "{row}");
    let explore = browser
        .execute(
            "return document.querySelector(\"[data-panel='2'] a.panel-explore\").getAttribute('href');",
            vec![],
        )
        .await;
    let explore = explore.as_str().unwrap().to_owned();
    assert!(
        explore.starts_with("/explore/traces?") && explore.contains("service=checkout"),
        "{explore}"
    );

    // A click on the row opens the trace.
    click(&browser, "[data-panel='2'] tr.trace-row a").await;
    browser
        .wait_text("[data-testid='trace-id']", |t| t == FAILED)
        .await;
    assert!(browser
        .current_url()
        .await
        .ends_with(&format!("/explore/traces/{FAILED}")));

    // The panel's link: the same search in Explore → Traces, the same one trace.
    browser.goto(&portal.url(&explore)).await;
    browser.wait_hydrated().await;
    browser
        .find(&format!("tr.trace-row[data-trace-id='{FAILED}']"))
        .await;
    assert_eq!(count(&browser, "tr.trace-row").await, 1);
    browser.close().await;
}
