//! Notification templates through the real server: validated with the field named (nothing
//! saved), versioned; a `slack.default.title` and a contact point's own `text` replace the
//! built-in Slack parts of a real delivery (the test send, received by a local HTTP
//! receiver); the preview renders unsaved edits with the alerts firing now on the embedded
//! store, and says so when none fires.

use std::time::Duration;

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

#[tokio::test]
async fn templates_are_validated_naming_the_field_and_versioned() {
    let portal = portal().await;
    let admin = portal.admin();
    for (body, field, says) in [
        (
            json!({"name": "t", "body": "{{ define \"x\" }}{{ .Status "}),
            "body",
            "unclosed",
        ),
        (
            json!({"name": "t", "body": "just text"}),
            "body",
            "defines no template",
        ),
        (
            json!({"name": "", "body": "{{ define \"x\" }}{{ end }}"}),
            "name",
            "between 1 and 200",
        ),
    ] {
        let (s, answer) = admin.post("/api/v1/notification-templates", body).await;
        assert_eq!(s, 400, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(says), "{answer}");
    }
    let (_, listed) = admin.get("/api/v1/notification-templates").await;
    assert_eq!(listed, json!([]), "nothing saved");

    let (s, saved) = admin
        .post(
            "/api/v1/notification-templates",
            json!({"name": "keiko", "body": "{{ define \"slack.default.title\" }}{{ .Status }}{{ end }}{{ define \"keiko.footer\" }}Keiko{{ end }}"}),
        )
        .await;
    assert_eq!(s, 201, "{saved}");
    assert_eq!(
        saved["defines"],
        json!(["keiko.footer", "slack.default.title"])
    );
    assert_eq!(saved["version"], 1);
    // Another template may not define the same name again.
    let (s, answer) = admin
        .post(
            "/api/v1/notification-templates",
            json!({"name": "other", "body": "{{ define \"keiko.footer\" }}x{{ end }}"}),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "body");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already defined in keiko"),
        "{answer}"
    );
    // Updates need the version edited; a stale one is a conflict.
    let id = saved["id"].as_i64().unwrap();
    let url = format!("/api/v1/notification-templates/{id}");
    let change = |version: i64| json!({"name": "keiko", "body": "{{ define \"slack.default.title\" }}{{ .Status | toUpper }}{{ end }}", "version": version});
    let (s, updated) = admin.send(Method::PUT, &url, Some(change(1))).await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["version"], 2);
    let (s, stale) = admin.send(Method::PUT, &url, Some(change(1))).await;
    assert_eq!(s, 409, "{stale}");
    let viewer = portal.user_with_role("vi", "Viewer").await;
    assert_eq!(viewer.get(&url).await.0, 200);
    assert_eq!(viewer.send(Method::DELETE, &url, None).await.0, 403);
    assert_eq!(admin.send(Method::DELETE, &url, None).await.0, 204);
    assert_eq!(admin.get(&url).await.0, 404);
}

#[tokio::test]
async fn stored_templates_replace_the_slack_title_and_text_of_a_delivery() {
    let hook = Receiver::start().await;
    let portal = portal().await;
    let admin = portal.admin();
    let (s, cp) = admin
        .post(
            "/api/v1/contact-points",
            json!({"name": "ops-slack", "type": "slack", "settings": {"url": hook.url("/slack"), "channel": "#keiko-alerts"}}),
        )
        .await;
    assert_eq!(s, 201, "{cp}");
    let body = r#"
{{ define "slack.default.title" }}{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ len .Alerts.Firing }} firing){{ end }}
{{ define "slack.ops-slack.text" }}{{ range .Alerts }}{{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}| {{ .Annotations.summary }}{{ end }}{{ end }}
{{ define "slack.default.text" }}not this one: the contact point's own wins{{ end }}"#;
    let (s, saved) = admin
        .post(
            "/api/v1/notification-templates",
            json!({"name": "keiko", "body": body}),
        )
        .await;
    assert_eq!(s, 201, "{saved}");
    let (s, sent) = admin
        .post(
            &format!("/api/v1/contact-points/{}/test", cp["id"]),
            json!(null),
        )
        .await;
    assert_eq!(s, 200, "{sent}");
    let got = eventually(Duration::from_secs(20), "the Slack post", || async {
        hook.at("/slack").first().cloned()
    })
    .await;
    let attachment = &got["attachments"][0];
    assert_eq!(attachment["title"], "FIRING: TestAlert (1 firing)", "{got}");
    assert_eq!(
        attachment["text"], "alertname=TestAlert instance=keiko-portal | Notification test",
        "{got}"
    );
    assert_eq!(
        attachment["fallback"],
        "FIRING: TestAlert (1 firing) | http://keiko.example/#/alerts?receiver=ops-slack"
    );
    // The rest of the body is still Alertmanager's.
    assert_eq!(attachment["color"], "danger");
    assert_eq!(got["channel"], "#keiko-alerts");

    // The next delivery after an edit uses the edit, and after a delete the built-in text
    // (the sender keeps the parsed templates only while none changes).
    let url = format!("/api/v1/notification-templates/{}", saved["id"]);
    let edited = body.replace("firing)", "firing, edited)");
    let (s, answer) = admin
        .send(
            Method::PUT,
            &url,
            Some(json!({"name": "keiko", "body": edited, "version": 1})),
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    let title_of_post = |n: usize| {
        let hook = &hook;
        async move {
            eventually(Duration::from_secs(20), "the next Slack post", || async {
                hook.at("/slack").get(n).cloned()
            })
            .await["attachments"][0]["title"]
                .clone()
        }
    };
    let test_url = format!("/api/v1/contact-points/{}/test", cp["id"]);
    assert_eq!(admin.post(&test_url, json!(null)).await.0, 200);
    assert_eq!(
        title_of_post(1).await,
        "FIRING: TestAlert (1 firing, edited)"
    );
    assert_eq!(admin.send(Method::DELETE, &url, None).await.0, 204);
    assert_eq!(admin.post(&test_url, json!(null)).await.0, 200);
    let built_in = title_of_post(2).await;
    assert!(
        built_in.as_str().is_some_and(|t| !t.contains("edited")),
        "{built_in}"
    );
}

#[tokio::test]
async fn the_preview_renders_unsaved_edits_with_the_alerts_firing_now() {
    let portal = portal().await;
    let admin = portal.admin();
    let preview = |templates: Value| json!({"type": "email", "receiver": "keiko-email", "templates": templates});
    let subject = json!([{"name": "draft", "body": "{{ define \"email.default.subject\" }}[{{ .Status }}] {{ range .Alerts.Firing }}{{ .Labels.alertname }}/{{ .Labels.severity }} {{ end }}{{ end }}"}]);

    // Nothing fires yet: the preview says so instead of inventing an alert.
    let (s, answer) = admin
        .post(
            "/api/v1/notification-templates/preview",
            preview(subject.clone()),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "fingerprint");

    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "preview", "interval": "1s", "rules": [
                {"alert": "HighErrorRate", "expr": "vector(1)", "labels": {"severity": "warning"}, "annotations": {"summary": "Hohe Fehlerrate"}}
            ]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let fingerprint = eventually(Duration::from_secs(30), "the alert firing", || async {
        let (_, alerts) = admin.get("/api/v1/alerts").await;
        alerts["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "HighErrorRate" && a["state"] == "firing")
            .and_then(|a| a["fingerprint"].as_str().map(str::to_owned))
    })
    .await;

    let (s, answer) = admin
        .post("/api/v1/notification-templates/preview", preview(subject))
        .await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["alerts"], 1);
    assert_eq!(
        answer["message"]["subject"],
        "[firing] HighErrorRate/warning "
    );
    // The parts no template replaces stay the built-in ones.
    assert!(
        answer["message"]["text"]
            .as_str()
            .unwrap()
            .contains("summary = Hohe Fehlerrate"),
        "{answer}"
    );

    // One alert by fingerprint; a template that fails names itself; other types are refused.
    let (s, answer) = admin
        .post(
            "/api/v1/notification-templates/preview",
            json!({"type": "slack", "fingerprint": fingerprint, "templates": [
                {"name": "draft", "body": "{{ define \"slack.default.title\" }}{{ index .Alerts 5 }}{{ end }}"}
            ]}),
        )
        .await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "templates");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("slack.default.title"),
        "{answer}"
    );
    let (s, answer) = admin
        .post(
            "/api/v1/notification-templates/preview",
            json!({"type": "webhook"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST.as_u16(), "{answer}");
    assert_eq!(answer["error"]["field"], "type");
}
