//! `make run` on a fresh machine, in headless Chromium: with no data source added by hand,
//! the shipped "Portal self-monitoring" dashboard shows the portal's own live data from the
//! embedded store, and the seed's overview draws its request rate; an ingest-only token is
//! made on the profile page; the built-in store is made the default again from its page.

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

#[tokio::test]
async fn an_ingest_token_made_on_the_profile_page_pushes_and_does_nothing_else() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/profile")).await;
    browser.wait_hydrated().await;
    browser
        .type_text(&browser.find("#token-name").await, "shipper")
        .await;
    browser.click(&browser.find("#token-ingest").await).await;
    browser
        .click(&browser.find("#create-token button[type=submit]").await)
        .await;
    let secret = browser
        .wait_text("#new-token", |t| t.starts_with("keiko_"))
        .await;
    let row = browser
        .wait_text("#tokens tbody", |t| t.contains("shipper"))
        .await;
    browser.close().await;

    assert!(row.contains("ingest only"), "{row}");
    let pusher = portal.client(e2e::api::Auth::Bearer(secret));
    // An empty remote-write request (snappy of nothing) is accepted; reading is refused.
    let resp = pusher
        .request(reqwest::Method::POST, "/api/v1/write")
        .header("content-encoding", "snappy")
        .body(vec![0u8])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(pusher.get("/api/v1/dashboards").await.0, 403);
}

#[tokio::test]
async fn the_built_in_store_is_made_the_default_again_from_the_data_sources_page() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, _) = admin
        .post(
            "/api/v1/datasources",
            serde_json::json!({"name": "Other", "type": "prometheus", "url": "http://127.0.0.1:9", "default": true}),
        )
        .await;
    assert_eq!(s, 201);
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/settings/datasources")).await;
    browser.wait_hydrated().await;
    browser
        .click(&browser.find("tr[data-kind=embedded] .default-source").await)
        .await;
    let row = browser
        // "Make default" goes away once the change is saved (its own text says "default").
        .wait_text("tr[data-kind=embedded]", |t| {
            t.contains("default") && !t.contains("Make default")
        })
        .await;
    browser.close().await;

    assert!(row.contains("built in"), "{row}");
    let (_, list) = admin.get("/api/v1/datasources").await;
    let default: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["default"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // The metrics default is the built-in store again; the logs and traces defaults stayed
    // the built-in log and span stores.
    assert_eq!(default, ["Embedded", "Embedded logs", "Embedded traces"]);
}
