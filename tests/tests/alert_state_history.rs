//! Per-rule state history through the real server: evaluation on the embedded store writes
//! every state change of every alert (inactive → pending → firing → resolved) with labels,
//! value and time into SQLite; `GET /api/v1/rule-groups/{name}/state-history` reads it per
//! group or per rule; the count per rule is bounded (oldest out first); bad input is refused
//! naming the field.

use std::time::Duration;

use e2e::api::Client;
use e2e::eventually;
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

fn group(expr: &str, version: Option<i64>) -> Value {
    let mut g = json!({"name": "hist", "interval": "1s", "rules": [
        {"alert": "FlappingThing", "expr": expr, "for": "2s", "labels": {"severity": "warning"}},
        {"alert": "NeverFires", "expr": "vector(1) < 0"}
    ]});
    if let Some(v) = version {
        g["version"] = json!(v);
    }
    g
}

async fn set_expr(admin: &Client, expr: &str) {
    let (_, current) = admin.get("/api/v1/rule-groups/hist").await;
    let (s, body) = admin
        .send(
            Method::PUT,
            "/api/v1/rule-groups/hist",
            Some(group(expr, current["version"].as_i64())),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// The rule's transitions once there are `n` of them, ending in `last`.
async fn history_of(admin: &Client, rule: &str, n: usize, last: &str) -> Vec<Value> {
    let path = format!("/api/v1/rule-groups/hist/state-history?rule={rule}");
    eventually(
        Duration::from_secs(30),
        &format!("{n} transitions"),
        || async {
            let (s, v) = admin.get(&path).await;
            assert_eq!(s, 200, "{v}");
            let t = v["transitions"].as_array()?.clone();
            (t.len() == n && t[n - 1]["to"] == last).then_some(t)
        },
    )
    .await
}

fn at(t: &Value) -> i64 {
    e2e::rfc3339_millis(t["at"].as_str().unwrap())
}

#[tokio::test]
async fn every_state_change_of_an_alert_is_in_its_rule_s_history_and_the_count_is_bounded() {
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_ALERT_HISTORY_PER_RULE", "4"),
    ])
    .await;
    let admin = portal.admin();
    let (s, body) = admin
        .post("/api/v1/rule-groups", group("vector(7)", None))
        .await;
    assert_eq!(s, 201, "{body}");

    // Pending, then firing after `for: 2s`; then its series goes: resolved.
    let fired = history_of(&admin, "FlappingThing", 2, "firing").await;
    set_expr(&admin, "vector(7) < 0").await;
    let life = history_of(&admin, "FlappingThing", 3, "resolved").await;
    assert_eq!(life[..2], fired[..]);
    let moves: Vec<(&str, &str)> = life
        .iter()
        .map(|t| (t["from"].as_str().unwrap(), t["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        moves,
        [
            ("inactive", "pending"),
            ("pending", "firing"),
            ("firing", "resolved")
        ]
    );
    for t in &life {
        assert_eq!(t["rule"], "FlappingThing");
        assert_eq!(t["labels"]["alertname"], "FlappingThing", "{t}");
        assert_eq!(t["labels"]["severity"], "warning");
        assert_eq!(t["value"], "7e+00");
    }
    let (pending, firing, resolved) = (at(&life[0]), at(&life[1]), at(&life[2]));
    assert!(firing - pending >= 2000, "for: 2s held: {life:?}");
    assert!(resolved > firing);

    // Back again: a new episode. Five changes in all, four kept: the oldest went.
    set_expr(&admin, "vector(7)").await;
    let kept = history_of(&admin, "FlappingThing", 4, "firing").await;
    assert_eq!(
        kept[0]["to"], "firing",
        "the first pending is gone: {kept:?}"
    );
    assert_eq!(kept[0]["at"], life[1]["at"]);
    assert_eq!(kept[2]["from"], "inactive");

    // The group's history holds every rule's; a rule that never fired has none.
    let (_, whole) = admin
        .get("/api/v1/rule-groups/hist/state-history?namespace=default")
        .await;
    assert_eq!(whole["transitions"].as_array().unwrap().len(), 4, "{whole}");
    let (_, never) = admin
        .get("/api/v1/rule-groups/hist/state-history?rule=NeverFires")
        .await;
    assert_eq!(never["transitions"], json!([]));
    let (_, last) = admin
        .get("/api/v1/rule-groups/hist/state-history?rule=FlappingThing&limit=1")
        .await;
    assert_eq!(last["transitions"].as_array().unwrap().len(), 1);
    assert_eq!(last["transitions"][0]["at"], kept[3]["at"]);

    // Bad input names the field; an unknown group is 404.
    let (s, e) = admin
        .get("/api/v1/rule-groups/hist/state-history?limit=0")
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "limit", "{e}");
    let (s, e) = admin
        .get("/api/v1/rule-groups/hist/state-history?namespace=bad%20ns")
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "namespace", "{e}");
    let (s, _) = admin.get("/api/v1/rule-groups/nothing/state-history").await;
    assert_eq!(s, 404);
}
