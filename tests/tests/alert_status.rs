//! Whether an alert is muted, as Alertmanager's API shows it, through the real server:
//! `GET /api/v1/alerts` gives each alert a `status` with `state` `active` or `suppressed`,
//! `silencedBy` (the active silences that mute it) and `inhibitedBy` (the firing alerts that
//! inhibit it under the policy's inhibition rules); expiring the silence makes it active again.

use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

fn by_name<'a>(alerts: &'a Value, name: &str) -> &'a Value {
    alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == name)
        .unwrap_or_else(|| panic!("{name} in {alerts}"))
}

#[tokio::test]
async fn a_silenced_alert_is_suppressed_with_the_silence_s_id_and_an_inhibited_one_names_its_source(
) {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "mute", "interval": "1s", "rules": [
                {"alert": "HighErrorRate", "expr": "vector(1)", "labels": {"severity": "warning", "team": "keiko"}},
                {"alert": "MCPServerDown", "expr": "vector(1)", "labels": {"severity": "critical", "team": "keiko"}},
                {"alert": "HighMemoryUsage", "expr": "vector(1)", "labels": {"severity": "info", "team": "other"}}
            ]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let before = e2e::alerting::firing(&admin, 3).await;

    // A silence on HighMemoryUsage; critical alerts inhibit warnings of the same team.
    let id =
        e2e::alerting::silence_alertname(&admin, "HighMemoryUsage", "known, being fixed").await;
    let (_, current) = admin.get("/api/v1/notification-policies").await;
    let doc = json!({"route": current["route"], "version": current["version"],
        "inhibit_rules": [{"source_matchers": ["severity=\"critical\""],
                           "target_matchers": ["severity=\"warning\""], "equal": ["team"]}]});
    let (s, saved) = admin
        .send(Method::PUT, "/api/v1/notification-policies", Some(doc))
        .await;
    assert_eq!(s, 200, "{saved}");
    let (_, muted) = admin.get("/api/v1/alerts").await;

    let (s, _) = admin
        .send(Method::DELETE, &format!("/api/v1/silences/{id}"), None)
        .await;
    assert_eq!(s, 200);
    let (_, after) = admin.get("/api/v1/alerts").await;

    for name in ["HighErrorRate", "MCPServerDown", "HighMemoryUsage"] {
        assert_eq!(
            by_name(&before, name)["status"],
            json!({"state": "active", "silencedBy": [], "inhibitedBy": []}),
            "{before}"
        );
    }
    let memory = by_name(&muted, "HighMemoryUsage");
    assert_eq!(memory["status"]["state"], "suppressed", "{muted}");
    assert_eq!(memory["status"]["silencedBy"], json!([id]));
    assert_eq!(memory["status"]["inhibitedBy"], json!([]));
    let errors = by_name(&muted, "HighErrorRate");
    assert_eq!(errors["status"]["state"], "suppressed", "{muted}");
    assert_eq!(errors["status"]["silencedBy"], json!([]));
    assert_eq!(
        errors["status"]["inhibitedBy"],
        json!([by_name(&muted, "MCPServerDown")["fingerprint"]])
    );
    assert_eq!(
        by_name(&muted, "MCPServerDown")["status"]["state"],
        "active"
    );
    let memory = by_name(&after, "HighMemoryUsage");
    assert_eq!(memory["status"]["state"], "active", "expired: {after}");
    assert_eq!(memory["status"]["silencedBy"], json!([]));
}
