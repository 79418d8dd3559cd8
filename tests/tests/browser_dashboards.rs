//! Dashboards in headless Chromium against a real Prometheus: create one, add and place a
//! panel, save; change a variable; zoom by dragging; restore a version; a stale save is
//! refused with a message; import the seed's JSON and read the report.

use std::time::Duration;

use e2e::api::ADMIN_PASSWORD;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

async fn setup() -> (Prometheus, Portal, Browser) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 50 * 60) / 15 * 15;
    let mut om = String::from("# TYPE keiko_agent_tasks_active gauge\n");
    for i in 0..190 {
        let t = start + 15 * i;
        for (agent, f) in [("planner", 1), ("coder", 2)] {
            om.push_str(&format!(
                "keiko_agent_tasks_active{{agent_id=\"{agent}\",task_type=\"chat\"}} {} {t}\n",
                f * (i % 7)
            ));
        }
    }
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let (s, _) = portal
        .admin()
        .post(
            "/api/v1/datasources",
            json!({"name": "P", "type": "prometheus", "url": prom.url(), "default": true}),
        )
        .await;
    assert_eq!(s, 201);
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    (prom, portal, browser)
}

async fn lines(browser: &Browser, panel: &str) -> i64 {
    browser
        .execute(
            &format!("return [...document.querySelectorAll('[data-panel=\"{panel}\"] .chart-svg polyline')].filter(p => !p.getAttribute('stroke').includes('currentColor')).length;"),
            vec![],
        )
        .await
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn create_add_place_save_then_variable_zoom_restore_and_conflict() {
    let (_prom, portal, browser) = setup().await;
    browser.goto(&portal.url("/dashboards")).await;
    browser.wait_hydrated().await;
    browser
        .type_text(&browser.find("#new-title").await, "Agents")
        .await;
    browser
        .click(&browser.find("#new-dashboard button[type=submit]").await)
        .await;
    let url = eventually(Duration::from_secs(10), "the new dashboard", || async {
        let u = browser.current_url().await;
        u.contains("/d/").then_some(u)
    })
    .await;
    let uid = url
        .split("/d/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    browser.wait_hydrated().await;

    // Add a panel, write its query, move it right with the keyboard, make it wider.
    browser.click(&browser.find("#add-panel").await).await;
    let q = browser.find("#panel-query").await;
    browser.clear(&q).await;
    browser
        .type_text(&q, "keiko_agent_tasks_active{agent_id=~\"$agent\"}")
        .await;
    browser.click(&browser.find("#panel-legend").await).await; // change event on the query
    browser
        .type_text(&browser.find("#panel-legend").await, "{{agent_id}}")
        .await;
    browser.click(&browser.find("#panel-title").await).await;
    let grid = browser.find("#grid-controls").await;
    browser.click(&grid).await;
    browser.type_text(&grid, "\u{E014}").await; // ArrowRight
    browser.click(&browser.find("#wider").await).await;
    browser
        .wait_text("#grid-position", |t| {
            t.contains("x 1") && t.contains("w 13")
        })
        .await;
    // Preview the query before saving.
    browser.click(&browser.find("#preview-panel").await).await;
    browser.find("#panel-editor .chart-svg").await;
    browser
        .type_text(&browser.find("#save-message").await, "first panel")
        .await;
    browser.click(&browser.find("#save-dashboard").await).await;
    browser
        .wait_text("#save-status", |t| t.contains("version 2"))
        .await;
    let (_, stored) = portal
        .admin()
        .get(&format!("/api/v1/dashboards/{uid}"))
        .await;
    let panel = &stored["dashboard"]["panels"][0];
    assert_eq!(panel["grid"]["x"], 1);
    assert_eq!(panel["grid"]["w"], 13);
    assert_eq!(panel["targets"][0]["legend"], "{{agent_id}}");

    // Add a variable through the API (the editor has no variable form yet) and use it.
    let mut doc = stored["dashboard"].clone();
    doc["time"] = json!({"from": "now-1h", "to": "now"});
    doc["variables"] = json!([{"name": "agent", "type": "query", "query": "label_values(keiko_agent_tasks_active, agent_id)", "multi": true, "include_all": true, "current": ["$__all"]}]);
    let (s, _) = portal
        .admin()
        .send(
            Method::PUT,
            &format!("/api/v1/dashboards/{uid}"),
            Some(json!({"dashboard": doc, "version": 2, "message": "variable"})),
        )
        .await;
    assert_eq!(s, 200);
    browser.goto(&portal.url(&format!("/d/{uid}"))).await;
    browser.wait_hydrated().await;
    let id = panel["id"].to_string();
    assert_eq!(
        lines(&browser, &id).await,
        2,
        "All: both agents, drawn in the first HTML"
    );
    let select = browser.find("#var-agent").await;
    browser
        .execute(
            "const s = arguments[0]; for (const o of s.options) o.selected = o.value === 'planner'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!({"element-6066-11e4-a52e-4f735466cecf": select.0})],
        )
        .await;
    eventually(
        Duration::from_secs(10),
        "one line for the planner",
        || async {
            let url = browser.current_url().await;
            (url.contains("var-agent=planner") && lines(&browser, &id).await == 1).then_some(())
        },
    )
    .await;

    // Drag to zoom: the URL gets an absolute range; a reload keeps it.
    let overlay = browser
        .find(&format!(
            "[data-panel=\"{id}\"] [data-testid=chart-overlay]"
        ))
        .await;
    browser.drag(&overlay, -100, 100).await;
    let zoomed = eventually(Duration::from_secs(10), "a zoomed range", || async {
        let url = browser.current_url().await;
        (url.contains("from=1") && url.contains("to=1")).then_some(url)
    })
    .await;
    assert!(zoomed.contains("var-agent=planner"), "{zoomed}");
    browser.goto(&zoomed).await;
    browser.wait_hydrated().await;
    assert_eq!(lines(&browser, &id).await, 1);

    // Restore version 1 (no panels) from the editor's history.
    browser.goto(&portal.url(&format!("/d/{uid}?edit=1"))).await;
    browser.wait_hydrated().await;
    browser
        .execute("window.confirm = () => true;", vec![])
        .await;
    browser
        .click(&browser.find("#dashboard-versions summary").await)
        .await;
    browser
        .click(
            &browser
                .find("#dashboard-versions li[data-version='1'] .diff-version")
                .await,
        )
        .await;
    let diff = browser
        .wait_text("#version-diff", |t| t.contains("Panel 1"))
        .await;
    assert!(
        diff.contains("+ ") && diff.contains("keiko_agent_tasks_active"),
        "{diff}"
    );
    browser
        .click(
            &browser
                .find("#dashboard-versions li[data-version='1'] .restore-version")
                .await,
        )
        .await;
    browser
        .wait_text("#save-status", |t| t.contains("Restored version 1"))
        .await;
    let (_, now) = portal
        .admin()
        .get(&format!("/api/v1/dashboards/{uid}"))
        .await;
    assert_eq!(now["version"], 4);
    assert_eq!(now["dashboard"]["panels"], json!([]));

    // Variables are edited as JSON: a typo is named beside the field and not applied.
    let vars = browser.find("#dash-variables").await;
    browser.clear(&vars).await;
    browser.type_text(&vars, "[{\"name\": ").await;
    browser.click(&browser.find("#dash-title").await).await;
    let problem = browser
        .wait_text(".field-error[data-field=variables]", |t| !t.is_empty())
        .await;
    assert!(problem.contains("not JSON"), "{problem}");

    // Someone else saves meanwhile: this editor's save is refused and says why.
    let mut other = now["dashboard"].clone();
    other["title"] = json!("Changed elsewhere");
    let (s, _) = portal
        .admin()
        .send(
            Method::PUT,
            &format!("/api/v1/dashboards/{uid}"),
            Some(json!({"dashboard": other, "version": 4})),
        )
        .await;
    assert_eq!(s, 200);
    let title = browser.find("#dash-title").await;
    browser.type_text(&title, " (mine)").await;
    browser.click(&browser.find("#save-dashboard").await).await;
    let msg = browser
        .wait_text(".editor .field-error[data-field=version]", |t| {
            !t.is_empty()
        })
        .await;
    assert!(msg.contains("changed since you opened it"), "{msg}");
    let (_, after) = portal
        .admin()
        .get(&format!("/api/v1/dashboards/{uid}"))
        .await;
    assert_eq!(after["dashboard"]["title"], "Changed elsewhere");
    // The refused save is logged by the browser as a failed request; nothing else may be.
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !e.contains("status of 409"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    browser.close().await;
}

#[tokio::test]
async fn the_seed_imports_in_the_ui_with_its_report_and_the_shipped_boards_render() {
    let (_prom, portal, browser) = setup().await;
    browser.goto(&portal.url("/dashboards")).await;
    browser.wait_hydrated().await;
    // The shipped dashboards are listed.
    browser
        .wait_text("#dashboards-table", |t| {
            t.contains("Keiko Personal Assistant - Overview")
                && t.contains("Portal self-monitoring")
        })
        .await;
    // Search narrows the list; a star is kept for this user.
    browser
        .type_text(&browser.find("#dashboard-search").await, "self")
        .await;
    browser
        .wait_text("#dashboards-table", |t| {
            t.contains("Portal self-monitoring") && !t.contains("Keiko Personal Assistant")
        })
        .await;
    browser
        .click(&browser.find("tr[data-uid=portal-self] .star").await)
        .await;
    browser
        .wait_text("tr[data-uid=portal-self] .star", |t| t.contains('★'))
        .await;
    let (_, starred) = portal.admin().get("/api/v1/dashboards?starred=true").await;
    assert_eq!(starred[0]["uid"], "portal-self");
    browser
        .clear(&browser.find("#dashboard-search").await)
        .await;

    let seed =
        std::fs::read_to_string(e2e::workspace_root().join("dashboards/keiko-overview.json"))
            .unwrap();
    let area = browser.find("#import-json").await;
    browser
        .execute(
            "const t = arguments[0]; t.value = arguments[1]; t.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!({"element-6066-11e4-a52e-4f735466cecf": area.0}), Value::String(seed)],
        )
        .await;
    browser.click(&browser.find("#import-button").await).await;
    let report = browser
        .wait_text("#import-report", |t| t.contains("MCP Server Health"))
        .await;
    assert!(
        report.contains("graph") && report.contains("converted with changes"),
        "{report}"
    );
    assert!(
        report.contains("no gridPos; placed on the grid"),
        "{report}"
    );
    browser.click(&browser.find("#open-imported").await).await;
    browser
        .wait_text("#dashboard-title", |t| {
            t == "Keiko Personal Assistant - Overview"
        })
        .await;
    // "Explore this query" opens the panel's query in Explore.
    let href = browser
        .execute(
            "return document.querySelector('.panel .panel-explore').getAttribute('href');",
            vec![],
        )
        .await;
    assert_eq!(
        href,
        "/explore/metrics?q=rate%28keiko_requests_total%5B5m%5D%29"
    );
    // Four panels; with no keiko_* data in this Prometheus they say so instead of failing.
    let panels = browser
        .execute(
            "return document.querySelectorAll('.board-grid .panel').length;",
            vec![],
        )
        .await;
    assert_eq!(panels, json!(4));
    // Full-screen view of one panel, and back.
    browser
        .click(&browser.find(".panel .panel-full").await)
        .await;
    eventually(Duration::from_secs(10), "one panel", || async {
        let n = browser
            .execute(
                "return document.querySelectorAll('.board-grid .panel').length;",
                vec![],
            )
            .await;
        (n == json!(1) && browser.current_url().await.contains("panel=")).then_some(())
    })
    .await;
    browser.close().await;
}
