//! The home page in headless Chromium: on a fresh portal it lists the built-in "Embedded"
//! metrics, logs and traces sources with their health and offers the next steps as links (a
//! source that cannot be reached is listed unhealthy with the reason); once a team, a rule group
//! and starred and viewed dashboards exist, it shows them and the user's checklist progress.

use e2e::api::ADMIN_PASSWORD;
use e2e::portal::Portal;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

/// `href` of the element `css`, or `null`.
async fn href(browser: &Browser, css: &str) -> Value {
    browser
        .execute(
            "return document.querySelector(arguments[0])?.getAttribute('href') ?? null;",
            vec![json!(css)],
        )
        .await
}

/// A browser signed in as `admin`, on the hydrated home page.
async fn open_home_as_admin(portal: &Portal) -> Browser {
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/")).await;
    browser.wait_hydrated().await;
    browser
}

#[tokio::test]
async fn a_fresh_portal_shows_the_embedded_source_healthy_and_the_next_steps() {
    let portal = Portal::start().await;
    let browser = open_home_as_admin(&portal).await;
    let embedded = browser
        .wait_text("#home-sources li[data-source='Embedded']", |t| {
            t.contains("healthy")
        })
        .await;
    let counts = browser.wait_text("#home-counts", |t| !t.is_empty()).await;
    let mut links = Vec::new();
    for id in ["add-source", "import-dashboard", "add-rules", "add-team"] {
        links.push((id, href(&browser, &format!("#next-steps a#{id}")).await));
    }
    let teams = browser.wait_text("#my-teams", |t| !t.is_empty()).await;
    let alerts = browser.wait_text("#firing-alerts", |t| !t.is_empty()).await;
    let starred = browser
        .wait_text("#starred-dashboards", |t| !t.is_empty())
        .await;
    // The built-in log and span stores are sources too, each checked by a real call.
    let logs = browser
        .wait_text("#home-sources li[data-source='Embedded logs']", |t| {
            t.contains("healthy")
        })
        .await;
    let traces = browser
        .wait_text("#home-sources li[data-source='Embedded traces']", |t| {
            t.contains("healthy")
        })
        .await;
    let families = browser
        .execute(
            "return [...document.querySelectorAll('#home-sources li')]\
               .map(li => [li.dataset.source, li.dataset.family, li.dataset.healthy]);",
            vec![],
        )
        .await;
    let logs_link = href(&browser, "#home-sources li[data-source='Embedded logs'] a").await;
    let traces_link = href(
        &browser,
        "#home-sources li[data-source='Embedded traces'] a",
    )
    .await;
    let errors = browser.console_errors().await;

    // A Prometheus source on a port nobody listens on shows as unhealthy, with the reason.
    let closed = format!("http://127.0.0.1:{}", e2e::free_port());
    let (s, body) = portal
        .admin()
        .post(
            "/api/v1/datasources",
            json!({"name": "down", "type": "prometheus", "url": closed}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    browser.goto(&portal.url("/")).await;
    browser.wait_hydrated().await;
    let down = browser
        .wait_text("#home-sources li[data-source='down']", |t| t.contains('✗'))
        .await;
    let down_healthy = browser
        .execute(
            "return document.querySelector(\"#home-sources li[data-source='down']\").dataset.healthy;",
            vec![],
        )
        .await;
    browser.close().await;

    assert!(embedded.contains("Embedded"), "{embedded}");
    assert!(embedded.contains("built in"), "{embedded}");
    assert!(embedded.contains("metrics"), "{embedded}");
    assert!(embedded.contains("✓ healthy"), "{embedded}");
    for (text, family) in [(&logs, "logs"), (&traces, "traces")] {
        assert!(text.contains("built in"), "{text}");
        assert!(text.contains(family), "{text}");
        assert!(text.contains("✓ healthy"), "{text}");
    }
    assert_eq!(
        families,
        json!([
            ["Embedded", "metrics", "true"],
            ["Embedded logs", "logs", "true"],
            ["Embedded traces", "traces", "true"],
        ])
    );
    assert_eq!(logs_link, json!("/explore/logs"));
    assert_eq!(traces_link, json!("/explore/traces"));
    assert!(down.contains("prometheus"), "{down}");
    assert!(down.contains("the source could not be reached"), "{down}");
    assert_eq!(down_healthy, json!("false"));
    assert!(counts.contains("0 rule groups with 0 rules"), "{counts}");
    assert!(counts.contains("1 team"), "{counts}");
    assert_eq!(
        links,
        vec![
            ("add-source", json!("/settings/datasources")),
            ("import-dashboard", json!("/dashboards")),
            ("add-rules", json!("/alerting/rules/edit")),
            ("add-team", json!("/settings/teams")),
        ]
    );
    // The admin is in the team `Default` that the first start creates.
    assert!(teams.contains("Default"), "{teams}");
    assert!(teams.contains("/ 19"), "{teams}");
    assert!(alerts.contains("Firing alerts"), "{alerts}");
    assert!(starred.contains("No starred dashboards yet"), "{starred}");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test]
async fn what_is_set_up_starred_and_viewed_dashboards_and_team_progress_are_shown() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (_, me) = admin.get("/api/v1/users/me").await;
    let (_, team) = admin
        .post("/api/v1/teams", json!({"name": "SRE <ops>"}))
        .await;
    let team_id = team["id"].as_i64().expect("team id");
    let (s, _) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/teams/{team_id}/members/{}", me["id"]),
            None,
        )
        .await;
    assert!(s.is_success(), "{s}");
    let (s, _) = admin
        .send(
            Method::PATCH,
            &format!("/api/v1/teams/{team_id}/checklist/items/1"),
            Some(json!({"state": "done"})),
        )
        .await;
    assert_eq!(s, 200);
    let group = json!({"name": "keiko.rules", "rules": [
        {"alert": "MCPServerDown", "expr": "keiko_mcp_server_health == 0", "for": "30s"},
        {"record": "keiko:errors:rate5m", "expr": "rate(keiko_errors_total[5m])"},
    ]});
    assert_eq!(admin.post("/api/v1/rule-groups", group).await.0, 201);
    let (s, _) = admin
        .post("/api/v1/dashboards/keiko-overview/star", json!({}))
        .await;
    assert!(s.is_success(), "{s}");
    let (s, _) = admin.get("/api/v1/dashboards/portal-self/render").await;
    assert_eq!(s, 200);
    let title = |uid: &'static str| {
        let admin = admin.clone();
        async move {
            let (_, d) = admin.get(&format!("/api/v1/dashboards/{uid}")).await;
            d["dashboard"]["title"].as_str().expect("title").to_owned()
        }
    };
    let (overview, self_dashboard) = (title("keiko-overview").await, title("portal-self").await);

    // A Viewer gets the same summary, health included (the test endpoint is for admins).
    let viewer = portal.user_with_role("viewer", "Viewer").await;
    let (s, summary) = viewer.get("/api/v1/home").await;
    assert_eq!(s, 200, "{summary}");
    assert_eq!(summary["sources"][0]["name"], "Embedded");
    assert_eq!(summary["sources"][0]["health"]["ok"], true, "{summary}");
    assert_eq!(summary["my_teams"], json!([]));

    let browser = open_home_as_admin(&portal).await;
    let counts = browser
        .wait_text("#home-counts", |t| t.contains("rule group"))
        .await;
    let progress = browser
        .wait_text("#my-teams [data-team='SRE <ops>']", |t| !t.is_empty())
        .await;
    let team_link = href(&browser, "#my-teams [data-team='SRE <ops>'] a").await;
    let starred = browser
        .wait_text("#starred-dashboards", |t| !t.is_empty())
        .await;
    let starred_link = href(&browser, "#starred-dashboards a").await;
    let recent = browser
        .wait_text("#recent-dashboards", |t| !t.is_empty())
        .await;
    let steps = browser
        .execute(
            "return [...document.querySelectorAll('#next-steps a')].map(a => a.id);",
            vec![],
        )
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(counts.contains("1 rule group with 2 rules"), "{counts}");
    assert!(counts.contains("2 teams"), "{counts}");
    assert!(
        progress.contains("SRE <ops>"),
        "escaped, shown as text: {progress}"
    );
    assert!(progress.contains("1 / 19"), "{progress}");
    assert_eq!(team_link, json!(format!("/checklist?team={team_id}")));
    assert!(starred.contains(&overview), "{starred}");
    assert_eq!(starred_link, json!("/d/keiko-overview"));
    assert!(recent.contains(&self_dashboard), "{recent}");
    // Rules and teams exist now: only the steps still open are offered.
    assert_eq!(steps, json!(["add-source", "import-dashboard"]));
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
