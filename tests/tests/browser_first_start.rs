//! `make run` on a fresh machine, in headless Chromium: with no data source added by hand,
//! the shipped "Portal self-monitoring" dashboard shows the portal's own live data from the
//! embedded store, and the seed's overview draws its request rate.

use std::time::Duration;

use e2e::api::ADMIN_PASSWORD;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::webdriver::Browser;

#[tokio::test]
async fn a_fresh_portal_shows_its_own_data_on_the_shipped_dashboards() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1")]).await;
    // Two scrapes, so rates have two points.
    eventually(Duration::from_secs(20), "two self-scrapes", || async {
        let (_, v) = portal
            .admin()
            .get("/prometheus/api/v1/query?query=count_over_time(up%5B1m%5D)")
            .await;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n >= 3.0)
    })
    .await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser
        .goto(&portal.url("/d/portal-self?from=now-5m&to=now"))
        .await;
    browser.wait_hydrated().await;
    let memory = browser
        .wait_text("section[aria-label='Resident memory'] .stat-value", |t| {
            t.ends_with("MiB")
        })
        .await;
    let lines = browser
        .execute(
            "return document.querySelectorAll(\"section[aria-label='Requests by endpoint'] .chart-svg polyline\").length;",
            vec![],
        )
        .await;
    browser
        .goto(&portal.url("/d/keiko-overview?from=now-5m&to=now"))
        .await;
    browser.wait_hydrated().await;
    let overview = browser
        .wait_text("section[aria-label='Request Rate']", |t| !t.is_empty())
        .await;
    let overview_lines = browser
        .execute(
            "return document.querySelectorAll(\"section[aria-label='Request Rate'] .chart-svg polyline\").length;",
            vec![],
        )
        .await;
    // Settings → Scrape targets: the self-scrape, up, with its last scrape and no error.
    browser.goto(&portal.url("/settings/targets")).await;
    browser.wait_hydrated().await;
    let target = browser
        .wait_text("tr.target-row[data-job='keiko-portal']", |t| {
            t.contains("up")
        })
        .await;
    let target_error = browser
        .text(
            &browser
                .find("tr.target-row[data-job='keiko-portal'] .target-error")
                .await,
        )
        .await;
    browser.close().await;

    assert!(
        target.contains("/metrics") && target.contains("20"),
        "{target}"
    );
    assert_eq!(target_error, "");
    let mib: f64 = memory.trim_end_matches("MiB").trim().parse().unwrap();
    assert!(mib > 1.0, "{memory}");
    assert!(lines.as_u64().unwrap() >= 1, "{lines}");
    assert!(overview_lines.as_u64().unwrap() >= 1, "{overview}");
    // Panels whose series do not exist yet (no errors happened) say "No data"; none fails.
    let errors = portal
        .admin()
        .get("/api/v1/dashboards/portal-self/render?from=now-5m&to=now")
        .await
        .1;
    for p in errors["panels"].as_array().unwrap() {
        assert_ne!(p["body"]["kind"], "error", "{p}");
    }
}
