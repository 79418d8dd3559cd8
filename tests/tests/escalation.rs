//! Escalation policies and acknowledgements through the real server: policies validated
//! with the field named (nothing saved), versioned and audited; a critical alert firing on
//! the embedded store escalates step by step to local webhook receivers until it is
//! acknowledged through the signed link of a step's notification (GET only confirms, POST
//! acknowledges once; forged, used and expired links are refused); the acknowledgement shows
//! in `/api/v1/alerts` and the audit log; a resolved alert stops escalating.

use std::time::{Duration, Instant};

use e2e::alerting::webhook;
use e2e::api::Client;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::receiver::Receiver;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn portal() -> Portal {
    Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PUBLIC_URL", "http://keiko.example"),
    ])
    .await
}

async fn escalation_policy(admin: &Client, body: Value) -> Value {
    let (s, saved) = admin.post("/api/v1/escalation-policies", body).await;
    assert_eq!(s, 201, "{saved}");
    saved
}

async fn rule_group(admin: &Client, name: &str, rules: Value) {
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": name, "interval": "1s", "rules": rules}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

/// The path of an acknowledgement link (the public URL points elsewhere).
fn ack_path(notification: &Value) -> String {
    let url = notification["alerts"][0]["annotations"]["ack_url"]
        .as_str()
        .unwrap_or_else(|| panic!("an ack_url annotation: {notification}"));
    let path = url
        .strip_prefix("http://keiko.example")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(path.starts_with("/ack/"), "{url}");
    path.to_owned()
}

async fn link(portal: &Portal, method: Method, path: &str, form: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .request(method, portal.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn alert(admin: &Client, name: &str) -> Option<Value> {
    let (_, body) = admin.get("/api/v1/alerts").await;
    body["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == name)
        .cloned()
}

#[tokio::test]
async fn escalation_policies_are_validated_naming_the_field_versioned_and_audited() {
    let portal = portal().await;
    let admin = portal.admin();
    webhook(&admin, "first", "http://127.0.0.1:9/first").await;
    webhook(&admin, "second", "http://127.0.0.1:9/second").await;
    let good = json!({"name": "on-call", "matchers": ["team=\"keiko\""], "steps": {
        "critical": [{"contact_point": "first", "after": "0s"}, {"contact_point": "second", "after": "10m"}],
        "warning": [{"contact_point": "second", "after": "30m"}]}});
    for (change, field) in [
        (
            json!({"critical": [{"contact_point": "first", "after": "0s"}, {"contact_point": "pager", "after": "10m"}]}),
            "steps.critical[1].contact_point",
        ),
        (
            json!({"critical": [{"contact_point": "first", "after": "-10m"}]}),
            "steps.critical[0].after",
        ),
        (
            json!({"critical": [{"contact_point": "first", "after": -600}]}),
            "steps.critical[0].after",
        ),
        (
            json!({"critical": [{"contact_point": "first", "after": "soon"}]}),
            "steps.critical[0].after",
        ),
        (
            json!({"urgent": [{"contact_point": "first", "after": "0s"}]}),
            "steps.urgent",
        ),
        (json!({}), "steps"),
    ] {
        let mut body = good.clone();
        body["steps"] = change;
        let (s, answer) = admin.post("/api/v1/escalation-policies", body).await;
        assert_eq!(s, 400, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let mut bad_matcher = good.clone();
    bad_matcher["matchers"] = json!(["team~keiko"]);
    let (s, answer) = admin.post("/api/v1/escalation-policies", bad_matcher).await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "matchers[0]", "{answer}");
    let (_, listed) = admin.get("/api/v1/escalation-policies").await;
    assert_eq!(listed, json!([]), "nothing saved");

    let saved = escalation_policy(&admin, good.clone()).await;
    let id = saved["id"].as_i64().unwrap();
    assert_eq!(saved["steps"]["critical"][1]["contact_point"], "second");
    assert_eq!(saved["steps"]["critical"][1]["after"], "10m");
    assert_eq!(saved["ack_link_ttl"], "24h");
    assert_eq!(saved["version"], 1);
    let (s, again) = admin
        .post("/api/v1/escalation-policies", good.clone())
        .await;
    assert_eq!(s, 409, "names are unique: {again}");

    // An update needs the version edited; a bad one changes nothing.
    let mut update = good.clone();
    update["version"] = json!(1);
    update["steps"]["critical"][0]["after"] = json!("1m");
    let (s, answer) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/escalation-policies/{id}"),
            Some(json!({"name": "on-call", "version": 1, "steps": {"critical": [{"contact_point": "gone", "after": "0s"}]}})),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    let (s, updated) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/escalation-policies/{id}"),
            Some(update.clone()),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["steps"]["critical"][0]["after"], "1m");
    let (s, stale) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/escalation-policies/{id}"),
            Some(update),
        )
        .await;
    assert_eq!(s, 409, "{stale}");
    let (_, got) = admin
        .get(&format!("/api/v1/escalation-policies/{id}"))
        .await;
    assert_eq!(got, updated);

    // A contact point a policy sends to cannot go away.
    let (_, points) = admin.get("/api/v1/contact-points").await;
    let second = points
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "second")
        .unwrap()["id"]
        .clone();
    let (s, answer) = admin
        .send(
            Method::DELETE,
            &format!("/api/v1/contact-points/{second}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{answer}");

    let viewer = portal.user_with_role("viewer", "Viewer").await;
    let (s, _) = viewer.post("/api/v1/escalation-policies", good).await;
    assert_eq!(s, 403, "admins write escalation policies");
    let (s, _) = admin
        .send(
            Method::DELETE,
            &format!("/api/v1/escalation-policies/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = admin
        .get(&format!("/api/v1/escalation-policies/{id}"))
        .await;
    assert_eq!(s, 404);
    let (_, audit) = admin
        .get("/api/v1/audit?object_type=escalation_policy")
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "escalation_policy.delete",
            "escalation_policy.update",
            "escalation_policy.create"
        ],
        "{audit}"
    );
}

#[tokio::test]
async fn a_critical_alert_escalates_step_by_step_until_acknowledged_through_its_link() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    for name in ["first", "second", "third"] {
        webhook(&admin, name, &hook.url(&format!("/{name}"))).await;
    }
    escalation_policy(
        &admin,
        json!({"name": "on-call", "steps": {"critical": [
            {"contact_point": "first", "after": "0s"},
            {"contact_point": "second", "after": "3s"},
            {"contact_point": "third", "after": "20s"}]}}),
    )
    .await;
    rule_group(
        &admin,
        "esc",
        json!([
            {"alert": "DiskFull", "expr": "vector(1)", "labels": {"severity": "critical"}, "annotations": {"summary": "Platte voll"}},
            {"alert": "Slow", "expr": "vector(1)", "labels": {"severity": "warning"}}
        ]),
    )
    .await;

    let first = eventually(Duration::from_secs(30), "the first step", || async {
        hook.at("/first").first().cloned()
    })
    .await;
    let first_seen = Instant::now();
    assert_eq!(
        first["alerts"][0]["labels"]["alertname"], "DiskFull",
        "{first}"
    );
    assert_eq!(first["alerts"][0]["annotations"]["summary"], "Platte voll");
    assert_eq!(
        first["alerts"][0]["annotations"]["escalation"],
        "on-call step 1"
    );
    let second = eventually(Duration::from_secs(30), "the second step", || async {
        hook.at("/second").first().cloned()
    })
    .await;
    assert!(
        first_seen.elapsed() >= Duration::from_secs(1),
        "the second step waits for its delay"
    );
    assert_eq!(second["alerts"][0]["labels"]["alertname"], "DiskFull");
    let fingerprint = second["alerts"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = ack_path(&second);

    // Forged and malformed links are refused and acknowledge nothing.
    let (head, sig) = path.rsplit_once('.').unwrap();
    let forged = format!(
        "{head}.{}",
        if sig.starts_with('A') { "B" } else { "A" }.to_owned() + &sig[1..]
    );
    let (s, page) = link(&portal, Method::POST, &forged, "name=Mallory").await;
    assert_eq!(s, 403, "{page}");
    assert!(page.contains("signature"), "{page}");
    let (s, _) = link(&portal, Method::POST, "/ack/not-a-link", "").await;
    assert_eq!(s, 400);

    // Opening the link only asks; posting acknowledges.
    for _ in 0..2 {
        let (s, page) = link(&portal, Method::GET, &path, "").await;
        assert_eq!(s, 200, "{page}");
        assert!(page.contains("<form method=\"post\""), "{page}");
        assert!(page.contains("DiskFull"), "{page}");
    }
    let before = alert(&admin, "DiskFull").await.unwrap();
    assert_eq!(before["fingerprint"], fingerprint.as_str(), "{before}");
    assert!(before.get("acknowledgedBy").is_none(), "{before}");
    let (s, page) = link(&portal, Method::POST, &path, "name=Alice+%3Cb%3E").await;
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains("Acknowledged by Alice &lt;b&gt; (link sent to second)"),
        "{page}"
    );
    let (s, page) = link(&portal, Method::POST, &path, "name=Bob").await;
    assert_eq!(s, 409, "single use: {page}");
    assert!(page.contains("already used"), "{page}");

    let acked = alert(&admin, "DiskFull").await.unwrap();
    assert_eq!(
        acked["acknowledgedBy"], "Alice <b> (link sent to second)",
        "{acked}"
    );
    assert_eq!(acked["acknowledgedVia"], "link");
    assert!(acked["acknowledgedAt"].as_str().unwrap().ends_with('Z'));
    let (_, audit) = admin.get("/api/v1/audit?action=alert.acknowledge").await;
    assert_eq!(audit[0]["object_id"], fingerprint.as_str(), "{audit}");
    assert_eq!(audit[0]["actor_login"], "Alice <b> (link sent to second)");
    assert_eq!(audit[0]["after"]["labels"]["alertname"], "DiskFull");

    // From the API: a warning alert (no step for warnings: never escalated).
    let slow = alert(&admin, "Slow").await.unwrap();
    let editor = portal.user_with_role("editor", "Editor").await;
    let viewer = portal.user_with_role("viewer", "Viewer").await;
    let slow_ack = format!(
        "/api/v1/alerts/{}/ack",
        slow["fingerprint"].as_str().unwrap()
    );
    let (s, _) = viewer.post(&slow_ack, json!({})).await;
    assert_eq!(s, 403);
    let (s, ack) = editor.post(&slow_ack, json!({})).await;
    assert_eq!(s, 200, "{ack}");
    assert_eq!(ack["acknowledgedBy"], "editor");
    assert_eq!(ack["acknowledgedVia"], "api");
    let (s, again) = admin.post(&slow_ack, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(
        again["acknowledgedBy"], "editor",
        "the first acknowledgement stays"
    );
    assert_eq!(
        alert(&admin, "Slow").await.unwrap()["acknowledgedBy"],
        "editor"
    );
    let (s, body) = admin
        .post("/api/v1/alerts/00000000000000ff/ack", json!({}))
        .await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = admin.post("/api/v1/alerts/xyz/ack", json!({})).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["field"], "fingerprint", "{body}");

    // The acknowledged alert does not reach its third step (due 20 s after it fired).
    tokio::time::sleep(Duration::from_secs(23).saturating_sub(first_seen.elapsed())).await;
    assert!(hook.at("/third").is_empty(), "acknowledged: no third step");
    assert_eq!(hook.at("/first").len(), 1, "each step once");
    assert_eq!(hook.at("/second").len(), 1, "each step once");
    assert!(
        hook.at("/first")
            .iter()
            .chain(hook.at("/second").iter())
            .all(|b| b["alerts"][0]["labels"]["alertname"] == "DiskFull"),
        "warnings have no steps"
    );
    let (_, log) = admin.get("/api/v1/notifications?receiver=second").await;
    assert!(
        log[0]["groupKey"]
            .as_str()
            .unwrap()
            .starts_with("escalation/on-call/2:"),
        "{log}"
    );
}

#[tokio::test]
async fn expired_links_are_refused_and_a_resolved_alert_stops_escalating() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    for name in ["first", "second"] {
        webhook(&admin, name, &hook.url(&format!("/{name}"))).await;
    }
    escalation_policy(
        &admin,
        json!({"name": "short", "ack_link_ttl": "2s", "matchers": ["alertname=\"Flappy\""], "steps": {"critical": [
            {"contact_point": "first", "after": "0s"},
            {"contact_point": "second", "after": "20s"}]}}),
    )
    .await;
    let rule =
        |expr: &str| json!([{"alert": "Flappy", "expr": expr, "labels": {"severity": "critical"}}]);
    rule_group(&admin, "flappy", rule("vector(1)")).await;
    let first = eventually(Duration::from_secs(30), "the first step", || async {
        hook.at("/first").first().cloned()
    })
    .await;
    let first_seen = Instant::now();
    let path = ack_path(&first);
    eventually(Duration::from_secs(10), "the link to expire", || async {
        let (s, _) = link(&portal, Method::GET, &path, "").await;
        (s == StatusCode::GONE).then_some(())
    })
    .await;
    let (s, page) = link(&portal, Method::POST, &path, "").await;
    assert_eq!(s, 410, "{page}");
    assert!(page.contains("expired"), "{page}");
    assert!(
        alert(&admin, "Flappy")
            .await
            .unwrap()
            .get("acknowledgedBy")
            .is_none(),
        "an expired link acknowledges nothing"
    );

    let (s, body) = admin
        .send(
            Method::PUT,
            "/api/v1/rule-groups/flappy",
            Some(json!({"name": "flappy", "interval": "1s", "version": 1, "rules": rule("vector(1) == 2")})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    eventually(Duration::from_secs(10), "the alert to resolve", || async {
        alert(&admin, "Flappy").await.is_none().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(23).saturating_sub(first_seen.elapsed())).await;
    assert!(
        hook.at("/second").is_empty(),
        "resolved before its second step: {:?}",
        hook.at("/second")
    );
}

#[tokio::test]
async fn a_restart_sends_no_step_again_and_keeps_the_acknowledgement() {
    let env = [
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PUBLIC_URL", "http://keiko.example"),
    ];
    let portal = Portal::start_with(&env).await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    for name in ["first", "second"] {
        webhook(&admin, name, &hook.url(&format!("/{name}"))).await;
    }
    escalation_policy(
        &admin,
        json!({"name": "on-call", "steps": {"critical": [
            {"contact_point": "first", "after": "0s"},
            {"contact_point": "second", "after": "1h"}]}}),
    )
    .await;
    rule_group(
        &admin,
        "restart",
        json!([
            {"alert": "Acked", "expr": "vector(1)", "labels": {"severity": "critical"}},
            {"alert": "Open", "expr": "vector(2)", "labels": {"severity": "critical"}}
        ]),
    )
    .await;
    eventually(Duration::from_secs(30), "both first steps", || async {
        (hook.at("/first").len() == 2).then_some(())
    })
    .await;
    let acked = alert(&admin, "Acked").await.unwrap();
    let (s, ack) = admin
        .post(
            &format!(
                "/api/v1/alerts/{}/ack",
                acked["fingerprint"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{ack}");

    let data = portal.stop();
    let portal = Portal::start_in(data, &env).await;
    let admin = portal.admin();
    let after = eventually(
        Duration::from_secs(30),
        "evaluation after the restart",
        || async {
            let a = alert(&admin, "Acked").await?;
            (a["state"] == "firing").then_some(a)
        },
    )
    .await;
    assert_eq!(after["acknowledgedBy"], "admin", "{after}");
    assert_eq!(after["acknowledgedAt"], ack["acknowledgedAt"]);
    // A few dispatcher passes after the restored alerts were handed on again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(hook.at("/first").len(), 2, "{:?}", hook.at("/first"));
    assert!(hook.at("/second").is_empty());
}
