//! `POST /api/v1/rules/backtest` through the real server: an unsaved alerting rule run over
//! the past hour of the embedded store, with its real `for` and `keep_firing_for`, gives the
//! timeline of pending and firing intervals and the notifications the current policy would
//! have sent; bad input is refused naming the field.

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::rfc3339;
use reqwest::Method;
use serde_json::{json, Value};

async fn set_policy(admin: &Client, route: Value) {
    let (_, current) = admin.get("/api/v1/notification-policies").await;
    let (s, saved) = admin
        .send(
            Method::PUT,
            "/api/v1/notification-policies",
            Some(json!({"route": route, "inhibit_rules": [], "version": current["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
}

#[tokio::test]
async fn a_rule_backtested_over_the_past_hour_shows_its_timeline_and_notifications() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/contact-points",
            json!({"name": "hook", "type": "webhook", "settings": {"url": "http://127.0.0.1:9/hook"}, "send_resolved": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    set_policy(
        &admin,
        json!({"receiver": "hook", "group_by": ["alertname"], "repeat_interval": "2m"}),
    )
    .await;

    // Active in the first five minutes of every ten: pending at 0 and 1, firing from 2
    // (`for: 2m`), kept firing at 5 (`keep_firing_for: 1m`), resolved at 6.
    let now = e2e::now_seconds() as i64;
    let start = now / 600 * 600 - 3600;
    let end = start + 3540;
    let rule = json!({"alert": "HalfTime", "expr": "vector(time() % 600) < 300", "for": "2m",
                      "keep_firing_for": "1m", "labels": {"severity": "warning"}});
    let (s, answer) = admin
        .post(
            "/api/v1/rules/backtest",
            json!({"rule": rule, "start": rfc3339(start), "end": end.to_string(), "step": "1m"}),
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["rule"], "HalfTime");
    assert_eq!(answer["steps"], 60);
    let alerts = answer["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{answer}");
    assert_eq!(alerts[0]["labels"]["alertname"], "HalfTime");
    assert_eq!(alerts[0]["labels"]["severity"], "warning");
    let intervals = alerts[0]["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 12, "{answer}");
    for (w, pair) in intervals.chunks(2).enumerate() {
        let base = start + w as i64 * 600;
        assert_eq!(pair[0]["state"], "pending");
        assert_eq!(pair[0]["from"], rfc3339(base), "{pair:?}");
        assert_eq!(pair[0]["to"], rfc3339(base + 120));
        assert_eq!(pair[1]["state"], "firing");
        assert_eq!(pair[1]["from"], rfc3339(base + 120));
        assert_eq!(
            pair[1]["to"],
            rfc3339(base + 360),
            "kept firing one minute: {pair:?}"
        );
    }
    assert_eq!(alerts[0]["resolvedAt"].as_array().unwrap().len(), 6);
    assert_eq!(alerts[0]["receiver"], "hook");
    // As Alertmanager sends them (group_wait 30s, group_interval 5m by default): each of
    // six episodes is sent 30 s after it fires and resolved at the next flush, 5 minutes
    // on, when it no longer fires; repeat_interval (2m) would only count at a flush where
    // it still fired, and there is none.
    assert_eq!(
        answer["notifications"],
        json!({"total": 12, "firing": 6, "repeats": 0, "resolved": 6}),
        "{answer}"
    );
    assert_eq!(alerts[0]["notifications"], 12, "{answer}");

    // Nothing is saved: the rule is only an edit.
    let (_, groups) = admin.get("/api/v1/rule-groups").await;
    assert_eq!(groups, json!([]), "{groups}");
}

#[tokio::test]
async fn bad_backtests_are_refused_naming_the_field() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let viewer = portal.user_with_role("viewer", "Viewer").await;
    let alert = json!({"alert": "A", "expr": "vector(1)"});
    for (body, field) in [
        (
            json!({"rule": {"record": "r", "expr": "vector(1)"}, "start": "now-1h", "end": "now"}),
            "rule.alert",
        ),
        (
            json!({"rule": {"alert": "A", "expr": "sum("}, "start": "now-1h", "end": "now"}),
            "rule.expr",
        ),
        (
            json!({"rule": {"alert": "A", "expr": "vector(1)", "for": "soon"}, "start": "now-1h", "end": "now"}),
            "rule.for",
        ),
        (
            json!({"rule": alert, "start": "yesterday", "end": "now"}),
            "start",
        ),
        (
            json!({"rule": alert, "start": "now", "end": "now-1h"}),
            "end",
        ),
        (
            json!({"rule": alert, "start": "now-30d", "end": "now", "step": "1s"}),
            "step",
        ),
        (
            json!({"rule": alert, "start": "now-1h", "end": "now", "source": "nowhere"}),
            "source",
        ),
    ] {
        let (s, answer) = viewer.post("/api/v1/rules/backtest", body.clone()).await;
        assert_eq!(s, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
}
