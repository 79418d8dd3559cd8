//! Notifications through the real server: a rule firing on the embedded store is routed by
//! the policy to a webhook (one notification after group_wait, a resolved one, nothing while
//! silenced, each in the log); Slack and webhook bodies compared field by field with the real
//! Alertmanager 0.25's for the seed's alerts; forwarding to the real Alertmanager; e-mail to a
//! real SMTP server (aiosmtpd); refused inputs.

use std::time::Duration;

use e2e::alertmanager::Alertmanager;
use e2e::api::Client;
use e2e::portal::Portal;
use e2e::receiver::Receiver;
use e2e::{eventually, free_port, rfc3339, workspace_root};
use reqwest::Method;
use serde_json::{json, Value};

async fn portal() -> Portal {
    Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PUBLIC_URL", "http://keiko.example"),
    ])
    .await
}

async fn contact_point(admin: &Client, body: Value) -> i64 {
    let (s, saved) = admin.post("/api/v1/contact-points", body).await;
    assert_eq!(s, 201, "{saved}");
    saved["id"].as_i64().unwrap()
}

/// Fills in a provisioned contact point by name.
async fn fill_in(admin: &Client, name: &str, kind: &str, settings: Value) {
    let (_, all) = admin.get("/api/v1/contact-points").await;
    let cp = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is provisioned: {all}"))
        .clone();
    assert_eq!(cp["disabled"], true, "{cp}");
    let (s, saved) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/contact-points/{}", cp["id"]),
            Some(json!({"name": name, "type": kind, "settings": settings, "send_resolved": true, "version": cp["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["disabled"], false, "{saved}");
}

async fn set_policy(admin: &Client, route: Value, inhibit: Value) -> Value {
    put_policy(admin, json!({"route": route, "inhibit_rules": inhibit})).await
}

/// Saves a whole policy document over the current version.
async fn put_policy(admin: &Client, mut doc: Value) -> Value {
    let (_, current) = admin.get("/api/v1/notification-policies").await;
    doc["version"] = current["version"].clone();
    let (s, saved) = admin
        .send(Method::PUT, "/api/v1/notification-policies", Some(doc))
        .await;
    assert_eq!(s, 200, "{saved}");
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

async fn log(admin: &Client) -> Vec<Value> {
    admin
        .get("/api/v1/notifications")
        .await
        .1
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_firing_rule_is_notified_once_resolved_once_and_not_at_all_while_silenced() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    // The first attempt fails: delivery retries.
    hook.fail_next.store(1, std::sync::atomic::Ordering::SeqCst);
    contact_point(&admin, json!({"name": "hook", "type": "webhook", "settings": {"url": hook.url("/hook")}, "send_resolved": true})).await;
    set_policy(
        &admin,
        json!({"receiver": "hook", "group_by": ["alertname"], "group_wait": "2s", "group_interval": "2s", "repeat_interval": "1h"}),
        json!([]),
    )
    .await;
    let (s, silence) = admin
        .post(
            "/api/v1/silences",
            json!({"matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false, "isEqual": true}],
                   "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z",
                   "createdBy": "e2e", "comment": "maintenance"}),
        )
        .await;
    assert_eq!(s, 200, "{silence}");
    let started = std::time::Instant::now();
    rule_group(
        &admin,
        "notify",
        json!([
            {"alert": "HighErrorRate", "expr": "vector(1)", "labels": {"severity": "warning"}, "annotations": {"summary": "Hohe Fehlerrate erkannt"}},
            {"alert": "Quiet", "expr": "vector(1)", "labels": {"severity": "warning"}}
        ]),
    )
    .await;
    let firing = eventually(
        Duration::from_secs(30),
        "the firing notification",
        || async { hook.at("/hook").first().cloned() },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "not before group_wait"
    );
    assert_eq!(firing["status"], "firing", "{firing}");
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["receiver"], "hook");
    assert_eq!(firing["groupKey"], "{}:{alertname=\"HighErrorRate\"}");
    assert_eq!(firing["alerts"][0]["labels"]["alertname"], "HighErrorRate");
    assert_eq!(firing["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert!(firing["alerts"][0]["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with("http://keiko.example/graph?g0.expr=vector%281%29"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let bodies = hook.at("/hook");
    assert_eq!(bodies.len(), 1, "one notification, no repeats: {bodies:?}");
    assert!(
        bodies
            .iter()
            .all(|b| b["groupLabels"]["alertname"] != "Quiet"),
        "silenced"
    );

    // The rule stops matching: the alert resolves and send_resolved tells the receiver.
    let (s, body) = admin
        .send(
            Method::PUT,
            "/api/v1/rule-groups/notify",
            Some(json!({"name": "notify", "interval": "1s", "version": 1, "rules": [
                {"alert": "HighErrorRate", "expr": "vector(1) == 2", "labels": {"severity": "warning"}, "annotations": {"summary": "Hohe Fehlerrate erkannt"}},
                {"alert": "Quiet", "expr": "vector(1)", "labels": {"severity": "warning"}}
            ]})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let resolved = eventually(
        Duration::from_secs(30),
        "the resolved notification",
        || async { hook.at("/hook").get(1).cloned() },
    )
    .await;
    assert_eq!(resolved["status"], "resolved", "{resolved}");
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        resolved["alerts"][0]["fingerprint"],
        firing["alerts"][0]["fingerprint"]
    );

    let entries = log(&admin).await;
    let sent: Vec<&Value> = entries.iter().filter(|e| e["receiver"] == "hook").collect();
    assert_eq!(sent.len(), 2, "{entries:?}");
    assert_eq!(sent[0]["status"], "resolved");
    assert_eq!(sent[1]["status"], "firing");
    assert_eq!(
        sent[1]["attempts"], 2,
        "the failed first attempt was retried: {entries:?}"
    );
    assert!(sent
        .iter()
        .all(|e| e["outcome"] == "sent" && e["answer"].as_str().unwrap().starts_with("200")));
    assert!(entries
        .iter()
        .all(|e| !e["groupKey"].as_str().unwrap().contains("Quiet")));

    // Expiring the silence lets the silenced alert through.
    let id = silence["silenceID"].as_str().unwrap();
    let (s, _) = admin
        .send(Method::DELETE, &format!("/api/v1/silences/{id}"), None)
        .await;
    assert_eq!(s, 200);
    let (_, silences) = admin.get("/api/v1/silences").await;
    assert_eq!(silences[0]["status"]["state"], "expired", "{silences}");
    let quiet = eventually(
        Duration::from_secs(30),
        "the no longer silenced alert",
        || async {
            hook.at("/hook")
                .into_iter()
                .find(|b| b["groupLabels"]["alertname"] == "Quiet")
        },
    )
    .await;
    assert_eq!(quiet["status"], "firing");
    let metrics = reqwest::get(portal.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("keiko_notification_attempts_failed_total{type=\"webhook\"} 1"),
        "{metrics}"
    );
}

/// The seed's four alerts as the portal's rules (fixed annotations, firing at once).
fn seed_alerts() -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
    vec![
        (
            "HighErrorRate",
            "warning",
            "Hohe Fehlerrate erkannt",
            "Fehlerrate von 0.5 in den letzten 5 Minuten",
        ),
        (
            "AgentTaskFailures",
            "critical",
            "Agent-Task-Fehler erkannt",
            "Agent planner hat Fehlerrate von 0.1",
        ),
        (
            "MCPServerDown",
            "critical",
            "MCP-Server nicht erreichbar",
            "MCP-Server files ist nicht erreichbar",
        ),
        (
            "HighMemoryUsage",
            "warning",
            "Hoher Speicherverbrauch",
            "Speicherverbrauch: 1200MB",
        ),
    ]
}

fn golden_route() -> Value {
    json!({"receiver": "keiko-slack", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
           "routes": [{"receiver": "keiko-slack", "continue": true}, {"receiver": "keiko-webhook"}]})
}

/// Drops what may differ: timestamps (`startsAt`, a resolved alert's `endsAt`) and URLs
/// (each side's external URL and generator URL).
fn comparable_webhook(mut body: Value) -> Value {
    body["externalURL"] = Value::Null;
    for a in body["alerts"].as_array_mut().unwrap() {
        a["startsAt"] = Value::Null;
        if a["status"] == "resolved" {
            a["endsAt"] = Value::Null;
        }
        a["generatorURL"] = Value::Null;
    }
    body
}

fn comparable_slack(mut body: Value) -> Value {
    let a = &mut body["attachments"][0];
    let title = a["title"].as_str().unwrap().to_owned();
    assert!(
        a["fallback"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{title} | http")),
        "{a}"
    );
    assert!(
        a["title_link"]
            .as_str()
            .unwrap()
            .ends_with("/#/alerts?receiver=keiko-slack"),
        "{a}"
    );
    a["fallback"] = Value::Null;
    a["title_link"] = Value::Null;
    body
}

#[tokio::test]
async fn slack_and_webhook_bodies_match_alertmanager_0_25_field_by_field() {
    let receiver = Receiver::start().await;
    let am = Alertmanager::start(&format!(
        "route:\n  receiver: keiko-slack\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n  routes:\n    - receiver: keiko-slack\n      continue: true\n    - receiver: keiko-webhook\n\
         receivers:\n  - name: keiko-slack\n    slack_configs:\n      - api_url: {}\n        channel: '#keiko-alerts'\n        send_resolved: true\n  - name: keiko-webhook\n    webhook_configs:\n      - url: {}\n        send_resolved: true\n",
        receiver.url("/am/slack"),
        receiver.url("/am/webhook")
    ))
    .await;
    am.post(&Value::Array(
        seed_alerts()
            .iter()
            .map(|(name, sev, summary, description)| {
                json!({
                "labels": {"alertname": name, "severity": sev},
                "annotations": {"summary": summary, "description": description},
                "generatorURL": "http://prometheus.example/graph"})
            })
            .collect(),
    ))
    .await;

    let portal = portal().await;
    let admin = portal.admin();
    fill_in(
        &admin,
        "keiko-slack",
        "slack",
        json!({"url": receiver.url("/portal/slack"), "channel": "#keiko-alerts"}),
    )
    .await;
    contact_point(&admin, json!({"name": "keiko-webhook", "type": "webhook", "settings": {"url": receiver.url("/portal/webhook")}})).await;
    set_policy(&admin, golden_route(), json!([])).await;
    rule_group(
        &admin,
        "keiko.rules",
        Value::Array(
            seed_alerts()
                .iter()
                .map(|(name, sev, summary, description)| json!({"alert": name, "expr": "vector(1)",
                    "labels": {"severity": sev}, "annotations": {"summary": summary, "description": description}}))
                .collect(),
        ),
    )
    .await;

    compare_with_alertmanager(&receiver, 4).await;

    // Both resolve: Alertmanager is told so, the portal's rules stop matching.
    am.post(&Value::Array(
        seed_alerts()
            .iter()
            .map(|(name, sev, summary, description)| {
                json!({
                "labels": {"alertname": name, "severity": sev},
                "annotations": {"summary": summary, "description": description},
                "endsAt": rfc3339(e2e::now_seconds() as i64),
                "generatorURL": "http://prometheus.example/graph"})
            })
            .collect(),
    ))
    .await;
    let (s, body) = admin
        .send(
            Method::PUT,
            "/api/v1/rule-groups/keiko.rules",
            Some(json!({"name": "keiko.rules", "interval": "1s", "version": 1, "rules":
                seed_alerts()
                    .iter()
                    .map(|(name, sev, summary, description)| json!({"alert": name, "expr": "vector(1) == 2",
                        "labels": {"severity": sev}, "annotations": {"summary": summary, "description": description}}))
                    .collect::<Vec<_>>()})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    compare_with_alertmanager(&receiver, 8).await;
}

/// Unix seconds as RFC 3339 UTC (days to civil date after Howard Hinnant).
/// Waits for `n` Slack and `n` webhook bodies from each side, then compares them pairwise
/// (by Slack title, by alert name and status).
async fn compare_with_alertmanager(receiver: &Receiver, n: usize) {
    for path in [
        "/am/slack",
        "/am/webhook",
        "/portal/slack",
        "/portal/webhook",
    ] {
        eventually(Duration::from_secs(30), path, || async {
            (receiver.at(path).len() >= n).then_some(())
        })
        .await;
    }
    let by_name = |bodies: Vec<Value>, slack: bool| -> std::collections::BTreeMap<String, Value> {
        bodies
            .into_iter()
            .map(|b| {
                let key = if slack {
                    b["attachments"][0]["title"].as_str().unwrap().to_owned()
                } else {
                    format!(
                        "{} {}",
                        b["groupLabels"]["alertname"].as_str().unwrap(),
                        b["status"].as_str().unwrap()
                    )
                };
                (key, b)
            })
            .collect()
    };
    let am_hooks = by_name(receiver.at("/am/webhook"), false);
    let portal_hooks = by_name(receiver.at("/portal/webhook"), false);
    assert_eq!(am_hooks.len(), n, "{am_hooks:?}");
    assert_eq!(portal_hooks.len(), n, "{portal_hooks:?}");
    for (name, am_body) in &am_hooks {
        let ours = portal_hooks
            .get(name)
            .unwrap_or_else(|| panic!("no portal webhook for {name}"));
        // Field by field: the same keys, the same values, but for timestamps and URLs;
        // fingerprints are Prometheus's label hash and agree.
        assert_eq!(
            comparable_webhook(ours.clone()),
            comparable_webhook(am_body.clone()),
            "webhook {name}"
        );
    }
    let am_slack = by_name(receiver.at("/am/slack"), true);
    let portal_slack = by_name(receiver.at("/portal/slack"), true);
    assert_eq!(am_slack.len(), n, "{am_slack:?}");
    assert!(
        am_slack.contains_key("[FIRING:1] MCPServerDown (critical)"),
        "{am_slack:?}"
    );
    for (title, am_body) in &am_slack {
        let ours = portal_slack
            .get(title)
            .unwrap_or_else(|| panic!("no portal Slack post titled {title}: {portal_slack:?}"));
        assert_eq!(
            comparable_slack(ours.clone()),
            comparable_slack(am_body.clone()),
            "slack {title}"
        );
    }
}

#[tokio::test]
async fn forwarded_alerts_are_listed_by_the_real_alertmanager() {
    let am =
        Alertmanager::start("route:\n  receiver: devnull\nreceivers:\n  - name: devnull\n").await;
    // Prometheus adds its external labels to the alerts it sends; so does the portal.
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PUBLIC_URL", "http://keiko.example"),
        ("KEIKO_EXTERNAL_LABELS", "cluster=keiko-prod"),
    ])
    .await;
    let admin = portal.admin();
    contact_point(
        &admin,
        json!({"name": "am", "type": "alertmanager", "settings": {"urls": [am.url("")]}}),
    )
    .await;
    set_policy(&admin, json!({"receiver": "am", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s"}), json!([])).await;
    rule_group(&admin, "fwd", json!([{"alert": "MCPServerDown", "expr": "vector(1)", "labels": {"severity": "critical"}, "annotations": {"summary": "MCP-Server nicht erreichbar", "cluster": "{{ $externalLabels.cluster }}"}}])).await;
    let alert = eventually(
        Duration::from_secs(30),
        "the alert in Alertmanager",
        || async {
            am.alerts()
                .await
                .into_iter()
                .find(|a| a["labels"]["alertname"] == "MCPServerDown")
        },
    )
    .await;
    assert_eq!(alert["labels"]["severity"], "critical", "{alert}");
    assert_eq!(alert["labels"]["cluster"], "keiko-prod", "{alert}");
    assert_eq!(
        alert["annotations"]["summary"],
        "MCP-Server nicht erreichbar"
    );
    assert_eq!(
        alert["annotations"]["cluster"], "keiko-prod",
        "$externalLabels in a template"
    );
    assert_eq!(alert["status"]["state"], "active");
    assert!(alert["generatorURL"]
        .as_str()
        .unwrap()
        .starts_with("http://keiko.example/graph"));
    // As Prometheus does, a firing alert is sent again while it fires (every group_interval,
    // at most a minute apart), so Alertmanager never times it out.
    let sends = eventually(Duration::from_secs(30), "the alert sent again", || async {
        let sent: Vec<Value> = log(&admin)
            .await
            .into_iter()
            .filter(|e| e["receiver"] == "am" && e["outcome"] == "sent")
            .collect();
        (sent.len() >= 3).then_some(sent)
    })
    .await;
    assert!(sends.len() >= 3, "{sends:?}");
}

struct SmtpSink {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        SmtpSink::start_mode(&[]).await
    }

    /// `args`: the mode (`starttls`, `tls`) and the certificate and key files.
    async fn start_mode(args: &[&std::path::Path]) -> SmtpSink {
        let root = workspace_root();
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = std::process::Command::new(root.join(".tools/venv/bin/python"))
            .arg(root.join("tests/python/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .args(args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect(".tools/venv: run `scripts/setup.sh test`");
        eventually(Duration::from_secs(20), "aiosmtpd listening", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        SmtpSink { child, port, dir }
    }

    fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_with_auth_and_text_and_html_parts_and_secrets_stay_sealed(
) {
    let smtp = SmtpSink::start().await;
    let portal = portal().await;
    let admin = portal.admin();
    let settings = |password: &str| {
        json!({"to": ["keiko-team@company.com"], "from": "keiko-portal@company.com",
        "smarthost": format!("127.0.0.1:{}", smtp.port), "username": "keiko", "password": password, "tls": "none"})
    };
    fill_in(&admin, "keiko-email", "email", settings("s3cret-pw")).await;
    let (_, all) = admin.get("/api/v1/contact-points").await;
    let email = all
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "keiko-email")
        .unwrap()
        .clone();
    assert!(!all.to_string().contains("s3cret-pw"), "{all}");
    assert_eq!(email["secure_fields"], json!(["password"]));
    let id = email["id"].as_i64().unwrap();
    let (s, answer) = admin
        .post(&format!("/api/v1/contact-points/{id}/test"), json!(null))
        .await;
    assert_eq!(s, 200, "{answer}");
    let message = eventually(Duration::from_secs(20), "the e-mail", || async {
        smtp.messages().into_iter().next()
    })
    .await;
    assert!(
        message.contains("Subject: [FIRING:1] TestAlert"),
        "{message}"
    );
    assert!(message.contains("To: keiko-team@company.com"), "{message}");
    assert!(message.contains("multipart/alternative"), "{message}");
    assert!(message.contains("Content-Type: text/plain"), "{message}");
    assert!(message.contains("Content-Type: text/html"), "{message}");

    // A wrong password: the server refuses, the test answers so, the log records it.
    let (s, body) = admin
        .send(Method::PUT, &format!("/api/v1/contact-points/{id}"), Some(json!({"name": "keiko-email", "type": "email", "settings": settings("wrong"), "version": email["version"]})))
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, answer) = admin
        .post(&format!("/api/v1/contact-points/{id}/test"), json!(null))
        .await;
    assert!(s.is_server_error(), "{s} {answer}");
    let entries = log(&admin).await;
    assert_eq!(entries[0]["outcome"], "failed", "{entries:?}");
    assert_eq!(entries[1]["outcome"], "sent", "{entries:?}");
    // Encrypted at rest: the database file never holds the password in clear.
    let db = std::fs::read(portal.data_path().join("keiko.db")).unwrap_or_default();
    let wal = std::fs::read(portal.data_path().join("keiko.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(9).any(|w| w == b"s3cret-pw"),
            "the password is sealed"
        );
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_saved() {
    let portal = portal().await;
    let admin = portal.admin();
    let (_, before_points) = admin.get("/api/v1/contact-points").await;
    let (_, before_policy) = admin.get("/api/v1/notification-policies").await;
    assert_eq!(
        before_points.as_array().unwrap().len(),
        2,
        "the seed's two: {before_points}"
    );
    assert!(before_points
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["disabled"] == true && c["provisioned"] == true));
    assert_eq!(before_policy["route"]["receiver"], "keiko-slack");
    let refused = |s: reqwest::StatusCode, body: &Value, field: &str| {
        assert!(s.is_client_error(), "{s} {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    };
    for (body, field) in [
        (
            json!({"name": "h", "type": "webhook", "settings": {"url": "http://169.254.169.254/latest"}}),
            "settings.url",
        ),
        (
            json!({"name": "h", "type": "webhook", "settings": {"url": "file:///etc/passwd"}}),
            "settings.url",
        ),
        (
            json!({"name": "m", "type": "email", "settings": {"to": "a@b.example", "from": "c@d.example", "smarthost": "mail.example"}}),
            "settings.smarthost",
        ),
        (
            json!({"name": "m", "type": "email", "settings": {"to": "a@b.example", "from": "c@d.example", "smarthost": "mail.example:25", "tls": "ssl"}}),
            "settings.tls",
        ),
        (
            json!({"name": "a", "type": "alertmanager", "settings": {"urls": ["http://[fe80::1]:9093"]}}),
            "settings.urls[0]",
        ),
        (
            json!({"name": "p", "type": "pagerduty", "settings": {}}),
            "type",
        ),
    ] {
        let (s, answer) = admin.post("/api/v1/contact-points", body).await;
        refused(s, &answer, field);
    }
    let version = before_policy["version"].clone();
    for (doc, field) in [
        (json!({"route": {"receiver": "nobody"}}), "route.receiver"),
        (
            json!({"route": {"receiver": "keiko-slack", "routes": [{"matchers": ["severity~\"critical\""]}]}}),
            "route.routes[0].matchers[0]",
        ),
        (
            json!({"route": {"receiver": "keiko-slack", "routes": [{"receiver": "ghost"}]}}),
            "route.routes[0].receiver",
        ),
        (
            json!({"route": {"receiver": "keiko-slack"}, "inhibit_rules": [{"source_matchers": ["alertname=~\"(\""]}]}),
            "inhibit_rules[0].source_matchers[0]",
        ),
    ] {
        let mut doc = doc;
        doc["version"] = version.clone();
        let (s, answer) = admin
            .send(Method::PUT, "/api/v1/notification-policies", Some(doc))
            .await;
        refused(s, &answer, field);
    }
    // A stale version is a conflict.
    let mut stale = before_policy.clone();
    stale["version"] = json!(version.as_i64().unwrap() + 5);
    let (s, answer) = admin
        .send(Method::PUT, "/api/v1/notification-policies", Some(stale))
        .await;
    assert_eq!(s, 409, "{answer}");
    let (s, answer) = admin
        .post("/api/v1/silences", json!({"matchers": [{"name": "alertname", "value": ".*", "isRegex": true, "isEqual": true}],
            "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "e2e", "comment": "all"}))
        .await;
    refused(s, &answer, "matchers");
    // A contact point the policy routes to is not deleted.
    let id = before_points[0]["id"].as_i64().unwrap();
    let (s, answer) = admin
        .send(
            Method::DELETE,
            &format!("/api/v1/contact-points/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{answer}");
    assert_eq!(admin.get("/api/v1/contact-points").await.1, before_points);
    assert_eq!(
        admin.get("/api/v1/notification-policies").await.1,
        before_policy
    );
    assert_eq!(admin.get("/api/v1/silences").await.1, json!([]));
}

#[tokio::test]
async fn a_restart_does_not_notify_again_what_was_already_sent() {
    let env = [
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PUBLIC_URL", "http://keiko.example"),
    ];
    let portal = Portal::start_with(&env).await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    contact_point(
        &admin,
        json!({"name": "hook", "type": "webhook", "settings": {"url": hook.url("/hook")}}),
    )
    .await;
    set_policy(
        &admin,
        json!({"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s"}),
        json!([]),
    )
    .await;
    rule_group(
        &admin,
        "restart",
        json!([{"alert": "MCPServerDown", "expr": "vector(1)", "labels": {"severity": "critical"}}]),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the firing notification",
        || async { (!hook.at("/hook").is_empty()).then_some(()) },
    )
    .await;
    let data = portal.stop();
    let portal = Portal::start_in(data, &env).await;
    // The restored alert is evaluated and handed on again; the log says it was sent.
    let admin = portal.admin();
    eventually(
        Duration::from_secs(30),
        "evaluation after the restart",
        || async {
            let (_, alerts) = admin.get("/api/v1/alerts").await;
            (alerts["data"]["alerts"][0]["state"] == "firing").then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(hook.at("/hook").len(), 1, "{:?}", hook.at("/hook"));
}

#[tokio::test]
async fn email_goes_over_starttls_and_implicit_tls_with_the_certificate_verified() {
    let certs = tempfile::tempdir().unwrap();
    e2e::certs::make_certificates(certs.path());
    let (cert, key) = (
        certs.path().join("server.crt"),
        certs.path().join("server.key"),
    );
    let starttls =
        SmtpSink::start_mode(&["starttls".as_ref(), cert.as_path(), key.as_path()]).await;
    let implicit = SmtpSink::start_mode(&["tls".as_ref(), cert.as_path(), key.as_path()]).await;
    let plain = SmtpSink::start().await;
    // The scratch CA is the only one the portal trusts (rustls's native roots read it).
    let ca = certs.path().join("ca.pem");
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("SSL_CERT_FILE", ca.to_str().unwrap()),
    ])
    .await;
    let admin = portal.admin();
    for (name, sink, tls, works) in [
        ("over-starttls", &starttls, "starttls", true),
        ("over-tls", &implicit, "tls", true),
        // STARTTLS required, but the server does not offer it: nothing goes in clear.
        ("plain-refused", &plain, "starttls", false),
    ] {
        let id = contact_point(
            &admin,
            json!({"name": name, "type": "email", "settings": {"to": "keiko-team@company.com",
                "from": "keiko-portal@company.com", "smarthost": format!("127.0.0.1:{}", sink.port),
                "username": "keiko", "password": "s3cret-pw", "tls": tls}}),
        )
        .await;
        let (s, answer) = admin
            .post(&format!("/api/v1/contact-points/{id}/test"), json!(null))
            .await;
        if works {
            assert_eq!(s, 200, "{name}: {answer}");
            let message = eventually(Duration::from_secs(20), name, || async {
                sink.messages().into_iter().next()
            })
            .await;
            assert!(
                message.contains("Subject: [FIRING:1] TestAlert"),
                "{message}"
            );
        } else {
            assert!(s.is_server_error(), "{name}: {s} {answer}");
            assert!(sink.messages().is_empty(), "{name}");
        }
    }
}

/// A route's mute timing holds its notifications back while the time is in it; taken off
/// the route, the held alert is sent.
#[tokio::test]
async fn a_route_under_a_mute_timing_sends_nothing_until_the_timing_is_taken_off() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    contact_point(
        &admin,
        json!({"name": "hook", "type": "webhook", "settings": {"url": hook.url("/hook")}}),
    )
    .await;
    let policy = |mute: Value| {
        json!({
            "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                      "routes": [{"matchers": ["severity=\"warning\""], "mute_time_intervals": mute}]},
            "time_intervals": [{"name": "all-day", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}]}]
        })
    };
    put_policy(&admin, policy(json!(["all-day"]))).await;
    rule_group(
        &admin,
        "both",
        json!([
            {"alert": "Paged", "expr": "vector(1)", "labels": {"severity": "critical"}},
            {"alert": "Muted", "expr": "vector(1)", "labels": {"severity": "warning"}}
        ]),
    )
    .await;
    let names = |bodies: &[Value]| -> Vec<String> {
        bodies
            .iter()
            .map(|b| {
                b["groupLabels"]["alertname"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    eventually(
        Duration::from_secs(30),
        "the critical alert notified",
        || async {
            names(&hook.at("/hook"))
                .contains(&"Paged".to_owned())
                .then_some(())
        },
    )
    .await;
    // Both fire; three group intervals later the muted one has still not been sent.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !names(&hook.at("/hook")).contains(&"Muted".to_owned()),
        "{:?}",
        hook.at("/hook")
    );
    put_policy(&admin, policy(json!([]))).await;
    eventually(Duration::from_secs(30), "the held alert sent", || async {
        names(&hook.at("/hook"))
            .contains(&"Muted".to_owned())
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_inhibited_alert_is_left_out_while_its_source_fires() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    contact_point(
        &admin,
        json!({"name": "hook", "type": "webhook", "settings": {"url": hook.url("/hook")}}),
    )
    .await;
    set_policy(
        &admin,
        json!({"receiver": "hook", "group_by": ["alertname"], "group_wait": "2s", "group_interval": "1s"}),
        json!([{"source_matchers": ["severity=\"critical\""], "target_matchers": ["severity=\"warning\""], "equal": ["alertname"]}]),
    )
    .await;
    rule_group(
        &admin,
        "critical",
        json!([{"alert": "DiskFull", "expr": "vector(1)", "labels": {"severity": "critical"}}]),
    )
    .await;
    rule_group(
        &admin,
        "warning",
        json!([
            {"alert": "DiskFull", "expr": "vector(1)", "labels": {"severity": "warning"}},
            {"alert": "HighMemoryUsage", "expr": "vector(1)", "labels": {"severity": "warning"}}
        ]),
    )
    .await;
    eventually(Duration::from_secs(30), "both groups notified", || async {
        (hook.at("/hook").len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let bodies = hook.at("/hook");
    let disk: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["groupLabels"]["alertname"] == "DiskFull")
        .collect();
    assert_eq!(disk.len(), 1, "{bodies:?}");
    let alerts = disk[0]["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "the warning is inhibited: {alerts:?}");
    assert_eq!(alerts[0]["labels"]["severity"], "critical");
    let memory: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["groupLabels"]["alertname"] == "HighMemoryUsage")
        .collect();
    assert_eq!(
        memory.len(),
        1,
        "no critical HighMemoryUsage inhibits it: {bodies:?}"
    );
}
