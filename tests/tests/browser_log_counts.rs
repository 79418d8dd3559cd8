//! Log counts in the dashboard editor (#16), in headless Chromium: a panel's query set to
//! "Logs (count)" with a log query, a split field and a minimum interval is saved, and the
//! dashboard draws its lines as a chart with one series per level.

use e2e::api::ADMIN_PASSWORD;
use e2e::portal::Portal;
use e2e::ui::panel_series;
use e2e::webdriver::Browser;
use serde_json::json;

#[tokio::test]
async fn a_logs_count_query_made_in_the_editor_is_drawn_as_a_chart() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let base = (e2e::now_seconds() as i64 - 600) / 60 * 60;
    let mut body = String::new();
    for (t, level) in [(base + 1, "INFO"), (base + 2, "INFO"), (base + 70, "ERROR")] {
        body += &json!({"timestamp": e2e::rfc3339(t), "level": level, "logger": "keiko.request",
            "message": "Timeout calling payment-service", "service": "checkout"})
        .to_string();
        body.push('\n');
    }
    let (s, answer) = admin.post_ndjson("/api/v1/logs", body).await;
    assert_eq!(s, 200, "{answer}");
    let (s, created) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "counts-ui", "title": "Counts UI",
                "time": {"from": (base - 60).to_string(), "to": (base + 180).to_string()}, "panels": []}}),
        )
        .await;
    assert_eq!(s, 201, "{created}");

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/d/counts-ui?edit=1")).await;
    browser.wait_hydrated().await;
    browser.click(&browser.find("#add-panel").await).await;
    // The new panel's query becomes a log count: the PromQL editor gives way to the log
    // query, split and interval fields.
    let kind = browser.find("#panel-query-kind-0").await;
    browser
        .execute(
            "const s = arguments[0]; s.value = 'log_count'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!({"element-6066-11e4-a52e-4f735466cecf": kind.0})],
        )
        .await;
    let query = browser.find("#panel-log-query-0").await;
    browser.clear(&query).await;
    browser
        .type_text(&query, "service:checkout AND \"timeout\"")
        .await;
    let split = browser.find("#panel-split-by-0").await;
    browser.click(&split).await;
    browser.type_text(&split, "level").await;
    let interval = browser.find("#panel-interval-0").await;
    browser.click(&interval).await;
    browser.type_text(&interval, "1m").await;
    browser.click(&browser.find("#panel-legend-0").await).await; // change event on the interval
    browser
        .type_text(&browser.find("#panel-legend-0").await, "{{level}}")
        .await;
    browser.click(&browser.find("#panel-title").await).await;
    browser.click(&browser.find("#save-dashboard").await).await;
    browser
        .wait_text("#save-status", |t| t.contains("version 2"))
        .await;
    let (_, stored) = admin.get("/api/v1/dashboards/counts-ui").await;
    let target = &stored["dashboard"]["panels"][0]["targets"][0];
    assert_eq!(
        target,
        &json!({"expr": "service:checkout AND \"timeout\"", "legend": "{{level}}",
                "kind": "log_count", "split_by": "level", "interval": "1m"}),
        "{stored}"
    );

    // The saved panel is drawn on the dashboard: a chart with a line per level.
    browser.goto(&portal.url("/d/counts-ui")).await;
    browser.wait_hydrated().await;
    let (legend, lines) = panel_series(&browser, 1, |names| {
        names.iter().any(|n| n.contains("INFO")) && names.iter().any(|n| n.contains("ERROR"))
    })
    .await;
    assert!(!legend.iter().any(|n| n.contains("WARNING")), "{legend:?}");
    assert_eq!(lines, 2, "a line per level");
    browser.close().await;
}
