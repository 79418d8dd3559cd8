//! Headless Chromium against the real portal: the page hydrates, every navigation link
//! renders its page, the theme toggle works without a reload and is remembered, and the
//! console stays free of errors.

use e2e::portal::Portal;
use e2e::webdriver::Browser;
use serde_json::{json, Value};

const NAV: &[(&str, &str)] = &[
    ("/dashboards", "Dashboards"),
    ("/explore/metrics", "Explore metrics"),
    ("/explore/logs", "Explore logs"),
    ("/explore/traces", "Explore traces"),
    ("/alerting/rules", "Alert rules"),
    ("/alerting/alerts", "Alerts"),
    ("/alerting/silences", "Silences"),
    ("/alerting/contact-points", "Contact points"),
    ("/alerting/policies", "Notification policies"),
    ("/alerting/escalation", "Escalation policies"),
    ("/checklist", "Checklist"),
    ("/settings/datasources", "Data sources"),
    ("/settings/users", "Users"),
    ("/settings/teams", "Teams"),
    ("/settings/audit", "Audit log"),
];

#[tokio::test]
async fn every_nav_link_renders_its_page_after_hydration_without_console_errors() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", e2e::api::ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/")).await;
    browser.wait_hydrated().await;
    // A marker that a full page load would wipe: navigation must stay client-side.
    browser
        .execute("window.__keikoMarker = 'kept';", vec![])
        .await;

    let mut seen = Vec::new();
    for (path, heading) in NAV {
        let link = browser.find(&format!(".sidebar a[href='{path}']")).await;
        browser.click(&link).await;
        let h1 = e2e::eventually(
            std::time::Duration::from_secs(5),
            "the page heading",
            || async {
                // Read in one step: a page whose module is still loading swaps its heading.
                let text = browser
                    .execute(
                        "return document.querySelector('main h1')?.textContent ?? null;",
                        vec![],
                    )
                    .await;
                let text = text.as_str()?.to_owned();
                (text == *heading).then_some(text)
            },
        )
        .await;
        let url = browser.current_url().await;
        let current = browser
            .execute("return document.querySelector('.sidebar a[aria-current=\"page\"]')?.getAttribute('href');", vec![])
            .await;
        seen.push((url, h1, current));
    }
    let marker = browser
        .execute("return window.__keikoMarker;", vec![])
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    for ((path, heading), (url, h1, current)) in NAV.iter().zip(&seen) {
        assert!(url.ends_with(path), "{url} should end with {path}");
        assert_eq!(h1, heading);
        assert_eq!(current, &json!(path), "the active link marks {path}");
    }
    assert_eq!(marker, json!("kept"), "navigation reloaded the page");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test]
async fn the_theme_toggle_works_without_reload_and_is_remembered() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", e2e::api::ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/checklist")).await;
    browser.wait_hydrated().await;
    browser
        .execute("window.__keikoMarker = 'same-page';", vec![])
        .await;
    let before = browser
        .execute("return document.documentElement.dataset.theme;", vec![])
        .await;

    let toggle = browser.find("#theme-toggle").await;
    browser.click(&toggle).await;
    let after = browser
        .execute("return document.documentElement.dataset.theme;", vec![])
        .await;
    let label = browser.text(&toggle).await;
    let marker = browser
        .execute("return window.__keikoMarker;", vec![])
        .await;

    // A reload is rendered by the server with the remembered theme.
    browser.goto(&portal.url("/dashboards")).await;
    let after_reload = browser
        .execute("return document.documentElement.dataset.theme;", vec![])
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert_eq!(before, Value::from("light"));
    assert_eq!(after, Value::from("dark"));
    assert_eq!(label, "Light mode");
    assert_eq!(
        marker,
        Value::from("same-page"),
        "the toggle reloaded the page"
    );
    assert_eq!(
        after_reload,
        Value::from("dark"),
        "the choice was not remembered"
    );
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
