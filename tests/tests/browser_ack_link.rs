//! The acknowledgement link of an escalation notification, followed in headless Chromium
//! as its recipient would: a critical alert firing on the embedded store notifies a local
//! webhook receiver; the link in the received payload points at the portal (no public URL
//! configured), asks before acknowledging, confirms who and when, stops the escalation, is
//! in the audit log and on Alerting → Alerts, and says it was used when opened again.

use std::time::{Duration, Instant};

use e2e::alerting::webhook;
use e2e::api::ADMIN_PASSWORD;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::receiver::Receiver;
use e2e::ui::{click, set_value};
use e2e::webdriver::Browser;
use serde_json::json;

#[tokio::test]
async fn the_link_in_a_notification_acknowledges_in_the_browser_once_and_stops_the_escalation() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    for name in ["first", "second"] {
        webhook(&admin, name, &hook.url(&format!("/{name}"))).await;
    }
    let (s, body) = admin
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "on-call", "steps": {"critical": [
                {"contact_point": "first", "after": "0s"},
                {"contact_point": "second", "after": "20s"}]}}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "esc", "interval": "1s", "rules": [
                {"alert": "DiskFull", "expr": "vector(1)", "labels": {"severity": "critical"},
                 "annotations": {"summary": "Platte voll"}}]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let first = eventually(Duration::from_secs(30), "the first step", || async {
        hook.at("/first").first().cloned()
    })
    .await;
    let first_seen = Instant::now();
    let link = first["alerts"][0]["annotations"]["ack_url"]
        .as_str()
        .unwrap_or_else(|| panic!("an ack_url annotation: {first}"))
        .to_owned();
    let fingerprint = first["alerts"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();

    // The recipient opens the link in a browser that is not signed in.
    let browser = Browser::start().await;
    browser.goto(&link).await;
    let asked = browser.wait_text("h1", |t| !t.is_empty()).await;
    let asked_body = browser.wait_text("main", |t| !t.is_empty()).await;
    let (_, before) = admin.get("/api/v1/alerts").await;
    set_value(&browser, "input[name='name']", "Olga Ops").await;
    click(&browser, "button[type='submit']").await;
    let confirmed = browser.wait_text("h1", |t| t == "Alert acknowledged").await;
    let who_when = browser.wait_text("#ack-confirmed", |t| !t.is_empty()).await;

    // Opened a second time: used.
    browser.goto(&link).await;
    let again = browser.wait_text("main", |t| !t.is_empty()).await;
    browser.close().await;

    // The alert shows as acknowledged on Alerting → Alerts.
    let signed_in = Browser::start().await;
    signed_in
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    signed_in.goto(&portal.url("/alerting/alerts")).await;
    signed_in.wait_hydrated().await;
    let acked_on_page = signed_in
        .wait_text(
            "article.alert-item[data-alertname='DiskFull'] .alert-acked",
            |t| t.contains("Acknowledged by"),
        )
        .await;
    signed_in.close().await;
    let (_, alerts) = admin.get("/api/v1/alerts").await;
    let (_, audit) = admin.get("/api/v1/audit?action=alert.acknowledge").await;

    // The second step (due 20 s after the first) never comes.
    tokio::time::sleep(Duration::from_secs(24).saturating_sub(first_seen.elapsed())).await;

    assert!(
        link.starts_with(&portal.url("/ack/")),
        "the link points at this portal: {link}"
    );
    assert_eq!(asked, "Acknowledge this alert?");
    assert!(asked_body.contains("DiskFull"), "{asked_body}");
    assert!(
        before["data"]["alerts"][0].get("acknowledgedBy").is_none(),
        "opening the link acknowledges nothing: {before}"
    );
    assert_eq!(confirmed, "Alert acknowledged");
    let by = "Olga Ops (link sent to first)";
    let alert = &alerts["data"]["alerts"][0];
    assert_eq!(alert["acknowledgedBy"], by, "{alerts}");
    assert_eq!(alert["acknowledgedVia"], "link");
    let at = alert["acknowledgedAt"].as_str().unwrap();
    assert_eq!(who_when, format!("Acknowledged by {by} at {at}."));
    assert!(again.contains("already used"), "{again}");
    assert!(acked_on_page.contains("Olga Ops"), "{acked_on_page}");
    assert_eq!(audit[0]["object_id"], fingerprint.as_str(), "{audit}");
    assert_eq!(audit[0]["actor_login"], by);
    assert_eq!(audit[0]["after"]["labels"]["alertname"], "DiskFull");
    assert!(
        hook.at("/second").is_empty(),
        "acknowledged: no second step"
    );
    assert_eq!(hook.at("/first").len(), 1, "the first step once");
}
