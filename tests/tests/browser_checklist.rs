//! The checklist page in headless Chromium: ticking items updates progress in place (no
//! reload), "not applicable" asks for a reason, and evidence badges show with their time.

use e2e::api::ADMIN_PASSWORD;
use e2e::portal::Portal;
use e2e::webdriver::Browser;
use serde_json::json;

#[tokio::test]
async fn ticking_items_updates_progress_without_reload_and_shows_evidence() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (_, team) = admin.post("/api/v1/teams", json!({"name": "SRE"})).await;
    let group = json!({"name": "keiko.rules", "rules": [{"alert": "MCPServerDown", "expr": "keiko_mcp_server_health == 0", "for": "30s", "labels": {"severity": "critical"}}]});
    assert_eq!(admin.post("/api/v1/rule-groups", group).await.0, 201);
    let (s, _) = admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/teams/{}/ownership", team["id"]),
            Some(json!({"rule_namespaces": ["default"]})),
        )
        .await;
    assert_eq!(s, 200);

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser
        .goto(&portal.url(&format!("/checklist?team={}", team["id"])))
        .await;
    browser.wait_hydrated().await;
    let before = browser
        .wait_text("#overall-progress", |t| t.contains("/ 19"))
        .await;
    browser
        .execute("window.__keikoMarker = 'same-page';", vec![])
        .await;

    // Click "Done" on the first item, then press Enter on "Done" of the second (keyboard).
    browser
        .click(&browser.find("li[data-item='1'] .state-done").await)
        .await;
    browser
        .wait_text("#overall-progress", |t| t.starts_with("1 / 19"))
        .await;
    browser
        .execute(
            "document.querySelector(\"li[data-item='2'] .state-done\").focus();",
            vec![],
        )
        .await;
    let focused = browser.find("li[data-item='2'] .state-done").await;
    browser.type_text(&focused, "\u{E007}").await;
    let after = browser
        .wait_text("#overall-progress", |t| t.starts_with("2 / 19"))
        .await;
    let section = browser
        .text(
            &browser
                .find("section[data-section='1'] .progress-text")
                .await,
        )
        .await;

    // Not applicable needs a reason: the field appears, and saving without one is refused.
    browser
        .click(
            &browser
                .find("li[data-item='8'] .state-not_applicable")
                .await,
        )
        .await;
    browser
        .click(&browser.find("li[data-item='8'] .reason-save").await)
        .await;
    let refused = browser
        .wait_text("li[data-item='8'] .field-error[data-field='reason']", |t| {
            !t.is_empty()
        })
        .await;
    browser
        .type_text(
            &browser.find("li[data-item='8'] .reason-input").await,
            "platform keeps logs",
        )
        .await;
    browser
        .click(&browser.find("li[data-item='8'] .reason-save").await)
        .await;
    let na = browser
        .wait_text("#overall-progress", |t| t.starts_with("2 / 18"))
        .await;

    let badge = browser
        .text(&browser.find("li[data-item='12'] .evidence-badge").await)
        .await;
    let unverifiable = browser
        .text(&browser.find("li[data-item='6'] .evidence-badge").await)
        .await;
    let marker = browser
        .execute("return window.__keikoMarker;", vec![])
        .await;
    let pressed = browser
        .execute("return document.querySelector(\"li[data-item='1'] .state-done\").getAttribute('aria-pressed');", vec![])
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(before.starts_with("0 / 19"), "{before}");
    assert!(after.starts_with("2 / 19 (10.5%)"), "{after}");
    assert!(section.starts_with("2 / 4"), "{section}");
    assert_eq!(refused, "\"not applicable\" needs a reason");
    assert!(na.starts_with("2 / 18"), "{na}");
    assert!(
        badge.starts_with("evidence verified · 20") && badge.ends_with('Z'),
        "{badge}"
    );
    // The log check runs on the schedule (once at start): before it, "not checked yet";
    // after it, this team names no services to look for.
    assert!(
        unverifiable.starts_with("not checked yet")
            || unverifiable.starts_with("cannot verify — the team names no services"),
        "{unverifiable}"
    );
    assert_eq!(marker, json!("same-page"), "the page reloaded");
    assert_eq!(pressed, json!("true"));
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}

#[tokio::test]
async fn a_fresh_portal_has_a_default_team_whose_checklist_follows_the_ui_language() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    // No team was made: the portal's own "Default" team, with admin in it, is there.
    browser.goto(&portal.url("/checklist")).await;
    browser.wait_hydrated().await;
    // The team list arrives after hydration: wait for the selected option.
    let team = browser
        .wait_text("#team-select option:checked", |t| !t.is_empty())
        .await;
    let english = browser
        .wait_text("li[data-item='1'] .item-title", |t| !t.is_empty())
        .await;

    // Choosing German on the profile renders the seed's own words.
    browser.goto(&portal.url("/profile")).await;
    browser.wait_hydrated().await;
    browser
        .execute(
            "const s = document.getElementById('language'); s.value = 'de'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    browser
        .wait_text("[role=status].form-ok", |t| t == "Saved.")
        .await;
    browser.goto(&portal.url("/checklist")).await;
    browser.wait_hydrated().await;
    let german = browser
        .wait_text("li[data-item='1'] .item-title", |t| !t.is_empty())
        .await;
    browser.close().await;

    assert_eq!(team, "Default");
    let (_, teams) = portal.admin().get("/api/v1/teams").await;
    assert_eq!(teams[0]["members"][0]["login"], "admin", "{teams}");
    assert_eq!(
        english,
        "System metrics (CPU, memory, disk, network) collected"
    );
    assert_eq!(
        german,
        "System-Metriken (CPU, Memory, Disk, Network) erfasst"
    );
}

#[tokio::test]
async fn what_a_team_owns_is_edited_on_its_page_and_scopes_its_evidence() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (_, team) = admin.post("/api/v1/teams", json!({"name": "SRE"})).await;
    let group = json!({"namespace": "sre", "name": "keiko.rules", "rules": [{"alert": "MCPServerDown", "expr": "keiko_mcp_server_health == 0", "for": "30s", "labels": {"severity": "critical"}}]});
    assert_eq!(admin.post("/api/v1/rule-groups", group).await.0, 201);

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser
        .goto(&portal.url(&format!("/checklist?team={}", team["id"])))
        .await;
    browser.wait_hydrated().await;
    let before = browser
        .wait_text("li[data-item='12'] .evidence-detail", |t| !t.is_empty())
        .await;
    browser
        .click(&browser.find("#team-ownership summary").await)
        .await;
    // A refused entry: the message stands beside the list it names; nothing is saved.
    browser
        .type_text(&browser.find("#own-services").await, "keiko|node")
        .await;
    browser.click(&browser.find("#own-save").await).await;
    let refused = browser
        .wait_text(
            "#team-ownership .field-error[data-field='services[0]']",
            |t| !t.is_empty(),
        )
        .await;
    browser
        .execute(
            "document.getElementById('own-services').value = '';",
            vec![],
        )
        .await;
    browser
        .type_text(&browser.find("#own-services").await, "keiko")
        .await;
    browser
        .type_text(&browser.find("#own-namespaces").await, "sre")
        .await;
    browser.click(&browser.find("#own-save").await).await;
    browser
        .wait_text("#own-status", |t| t == "Saved and checked")
        .await;
    let after = browser
        .wait_text("li[data-item='12'] .evidence-detail", |t| {
            t.starts_with("alerting rules")
        })
        .await;
    let badge = browser
        .text(&browser.find("li[data-item='12'] .evidence-badge").await)
        .await;
    browser.close().await;

    assert!(
        before.starts_with("the team owns no rule namespace"),
        "{before}"
    );
    assert!(refused.contains("is not allowed"), "{refused}");
    assert_eq!(after, "alerting rules: 1 in namespace sre");
    assert!(badge.starts_with("evidence verified"), "{badge}");
    let (_, owned) = admin
        .get(&format!("/api/v1/teams/{}/ownership", team["id"]))
        .await;
    assert_eq!(owned["services"], json!(["keiko"]));
    assert_eq!(owned["rule_namespaces"], json!(["sre"]));
}

#[tokio::test]
async fn the_overview_shows_every_team_and_the_filters_narrow_the_list() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (_, sre) = admin.post("/api/v1/teams", json!({"name": "SRE"})).await;
    admin.post("/api/v1/teams", json!({"name": "Agents"})).await;
    let sre = sre["id"].as_i64().unwrap();
    admin
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/teams/{sre}/checklist/items/1"),
            Some(json!({"state": "done", "owner_id": 1})),
        )
        .await;

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/checklist?view=overview")).await;
    browser.wait_hydrated().await;
    let sre_row = browser
        .wait_text("#team-matrix tr[data-team='SRE']", |t| !t.is_empty())
        .await;
    let agents_row = browser
        .wait_text("#team-matrix tr[data-team='Agents']", |t| !t.is_empty())
        .await;
    let attention = browser.wait_text("#attention", |t| !t.is_empty()).await;

    browser
        .goto(&portal.url(&format!("/checklist?team={sre}")))
        .await;
    browser.wait_hydrated().await;
    browser.find("li[data-item='1']").await;
    browser
        .execute(
            "const s = document.getElementById('state-filter'); s.value = 'done'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    let visible = browser
        .execute(
            "return [...document.querySelectorAll('li.checklist-item')].filter(li => !li.classList.contains('hidden')).map(li => li.dataset.item);",
            vec![],
        )
        .await;
    browser.close().await;

    assert!(sre_row.contains("1 / 19"), "{sre_row}");
    assert!(agents_row.contains("0 / 19"), "{agents_row}");
    assert!(attention.contains("no owner"), "{attention}");
    assert_eq!(visible, json!(["1"]));
}
