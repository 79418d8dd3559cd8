//! The notification template editor (on the contact points page) and editing silences, in
//! headless Chromium against the real server: a template that does not parse is refused
//! beside its field; an unsaved edit is previewed as the e-mail the alert firing now would
//! give; saved and saved again it is versioned. A silence is extended by an hour and edited
//! (matchers and comment) under its own id; a bad matcher is refused beside the field.

use std::time::Duration;

use e2e::eventually;
use e2e::portal::Portal;
use e2e::rfc3339_millis;
use e2e::ui::{click, set_value, signed_in};
use serde_json::json;

#[tokio::test]
async fn a_template_is_refused_at_its_field_previewed_unsaved_on_the_firing_alert_then_saved_and_versioned(
) {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "tpl", "interval": "1s", "rules": [
                {"alert": "HighErrorRate", "expr": "vector(1)", "labels": {"severity": "warning"}}]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    e2e::alerting::firing(&admin, 1).await;

    let browser = signed_in(&portal, "/alerting/contact-points").await;
    browser
        .wait_text("#templates", |t| t.contains("No templates"))
        .await;
    set_value(&browser, "#tpl-name", "keiko").await;
    set_value(&browser, "#tpl-body", "{{ define \"x\" }}{{ .Status ").await;
    click(&browser, "#save-template").await;
    let refused = browser
        .wait_text("#template-editor .field-error[data-field='body']", |t| {
            !t.is_empty()
        })
        .await;
    let (_, after_refusal) = admin.get("/api/v1/notification-templates").await;

    let subject = "{{ define \"email.default.subject\" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} via template{{ end }}";
    set_value(&browser, "#tpl-body", subject).await;
    set_value(&browser, "#tpl-preview-type", "email").await;
    click(&browser, "#preview-template").await;
    let previewed = browser
        .wait_text("#template-preview pre[data-part='subject']", |t| {
            !t.is_empty()
        })
        .await;
    let (_, before_save) = admin.get("/api/v1/notification-templates").await;

    click(&browser, "#save-template").await;
    browser
        .wait_text("#template-saved", |t| t.contains("version 1"))
        .await;
    let row = browser
        .wait_text("tr.template-row[data-name='keiko']", |t| {
            t.contains("email.default.subject")
        })
        .await;
    set_value(
        &browser,
        "#tpl-body",
        &subject.replace("via template", "(edited)"),
    )
    .await;
    click(&browser, "#save-template").await;
    browser
        .wait_text("#template-saved", |t| t.contains("version 2"))
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;
    let (_, stored) = admin.get("/api/v1/notification-templates").await;

    assert!(refused.to_lowercase().contains("unclosed"), "{refused}");
    assert_eq!(after_refusal, json!([]), "nothing saved");
    assert_eq!(previewed, "[FIRING] HighErrorRate via template");
    assert_eq!(before_save, json!([]), "the preview saved nothing");
    assert!(row.contains("keiko"), "{row}");
    assert_eq!(stored[0]["version"], 2, "{stored}");
    assert!(stored[0]["body"].as_str().unwrap().contains("(edited)"));
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}

#[tokio::test]
async fn a_silence_is_extended_and_edited_in_place_and_a_bad_matcher_is_refused_at_its_field() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let id = e2e::alerting::silence_alertname(&admin, "HighErrorRate", "first").await;
    let (_, before) = admin.get("/api/v1/silences").await;

    let browser = signed_in(&portal, "/alerting/silences").await;
    let row = format!("#active-silences tr.silence-row[data-id='{id}']");
    browser.wait_text(&row, |t| t.contains("first")).await;
    click(&browser, &format!("{row} .extend-silence")).await;
    let extended = eventually(Duration::from_secs(10), "the silence extended", || async {
        let (_, v) = admin.get("/api/v1/silences").await;
        (v[0]["endsAt"] != before[0]["endsAt"]).then_some(v)
    })
    .await;

    // Edit: the form is filled with the silence; a bad matcher is refused beside the field.
    // (Wait for the list to show the new end first: it re-renders after the extension.)
    let new_end = extended[0]["endsAt"].as_str().unwrap().to_owned();
    browser.wait_text(&row, |t| t.contains(&new_end)).await;
    click(&browser, &format!("{row} .edit-silence")).await;
    let filled = eventually(Duration::from_secs(10), "the form filled", || async {
        let v = browser
            .execute(
                "return document.querySelector('#silence-matchers').value;",
                vec![],
            )
            .await;
        v.as_str()
            .filter(|t| t.contains("HighErrorRate"))
            .map(str::to_owned)
    })
    .await;
    let heading = browser.text(&browser.find("#silence-form h2").await).await;
    set_value(
        &browser,
        "#silence-matchers",
        "alertname=\"HighErrorRate\"\nseverity",
    )
    .await;
    click(&browser, "#save-silence").await;
    let refused = browser
        .wait_text("#silence-form .field-error[data-field='matchers']", |t| {
            !t.is_empty()
        })
        .await;
    set_value(
        &browser,
        "#silence-matchers",
        "alertname=\"HighErrorRate\"\nseverity=\"critical\"",
    )
    .await;
    set_value(&browser, "#silence-comment", "edited").await;
    click(&browser, "#save-silence").await;
    let saved = browser
        .wait_text("#silence-saved", |t| t.contains("updated"))
        .await;
    browser.wait_text(&row, |t| t.contains("edited")).await;
    let errors = browser.console_errors().await;
    browser.close().await;
    let (_, after) = admin.get("/api/v1/silences").await;

    let grown = rfc3339_millis(extended[0]["endsAt"].as_str().unwrap())
        - rfc3339_millis(before[0]["endsAt"].as_str().unwrap());
    assert!(
        (3_599_000..=3_600_000).contains(&grown),
        "one hour longer: {grown} ms"
    );
    assert_eq!(extended[0]["id"], json!(id));
    assert!(filled.contains(r#"alertname="HighErrorRate""#), "{filled}");
    assert_eq!(heading, "Edit silence");
    assert!(refused.contains("line 2"), "{refused}");
    assert!(saved.contains(&id), "{saved}");
    assert_eq!(
        after.as_array().unwrap().len(),
        1,
        "updated in place: {after}"
    );
    assert_eq!(after[0]["id"], json!(id));
    assert_eq!(after[0]["comment"], "edited");
    assert_eq!(after[0]["status"]["state"], "active");
    let names: Vec<&str> = after[0]["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alertname", "severity"]);
    assert!(errors.is_empty(), "{errors:?}");
}
