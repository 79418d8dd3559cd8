//! The rule editor's State history, Backtest and Tests tabs and the silenced marker on the
//! Alerts page, in headless Chromium against the real server: an alert's life (pending,
//! firing, resolved) drawn as a timeline with its changes listed; an unsaved edit of a rule
//! backtested and unit-tested beside the editor (the stored rule never fires, so the results
//! prove the edit ran), refusals beside their fields; a silenced alert marked as such.

use std::time::Duration;

use e2e::api::Client;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::ui::{click, count, set_value, signed_in};
use reqwest::Method;
use serde_json::{json, Value};

async fn put_expr(admin: &Client, name: &str, rule: Value) {
    let (_, current) = admin.get(&format!("/api/v1/rule-groups/{name}")).await;
    let (s, body) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/rule-groups/{name}"),
            Some(json!({"name": name, "interval": "1s", "rules": [rule], "version": current["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

#[tokio::test]
async fn a_rule_s_state_history_is_a_timeline_in_its_editor_and_a_silenced_alert_is_marked() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let rule = json!({"alert": "HighErrorRate", "expr": "vector(1)", "for": "1s",
                      "labels": {"severity": "warning"}});
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "ui", "interval": "1s", "rules": [rule]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    e2e::alerting::firing(&admin, 1).await;
    e2e::alerting::silence_alertname(&admin, "HighErrorRate", "deploying the fix").await;
    // Server-rendered: the marker is in the first HTML.
    let html = admin.html("/alerting/alerts").await;

    let browser = signed_in(&portal, "/alerting/alerts").await;
    let marker = browser
        .wait_text(
            "article.alert-item[data-alertname='HighErrorRate'][data-silenced='true'] .alert-silenced",
            |t| !t.is_empty(),
        )
        .await;

    // Its "State history" link opens the rule's editor on that tab.
    click(
        &browser,
        "article.alert-item[data-alertname='HighErrorRate'] .history-link",
    )
    .await;
    let opened = eventually(Duration::from_secs(10), "the editor", || async {
        let url = browser.current_url().await;
        url.contains("/alerting/rules/edit").then_some(url)
    })
    .await;
    let section = ".state-history-rule[data-rule='HighErrorRate']";
    let firing = browser
        .wait_text(&format!("{section} tr.transition[data-to='firing']"), |t| {
            t.contains("pending")
        })
        .await;
    // The alert goes away: the open tab follows (it refreshes itself) and shows it resolved.
    put_expr(
        &admin,
        "ui",
        json!({"alert": "HighErrorRate", "expr": "vector(1) < 0", "for": "1s", "labels": {"severity": "warning"}}),
    )
    .await;
    let resolved = browser
        .wait_text(
            &format!("{section} tr.transition[data-to='resolved']"),
            |t| t.contains("firing"),
        )
        .await;
    let bars = eventually(
        Duration::from_secs(10),
        "pending and firing bars",
        || async {
            let pending = count(
                &browser,
                &format!("{section} span.timeline-bar[data-state='pending']"),
            )
            .await;
            let firing = count(
                &browser,
                &format!("{section} span.timeline-bar[data-state='firing']"),
            )
            .await;
            (pending >= 1 && firing >= 1).then_some((pending, firing))
        },
    )
    .await;
    let rows = count(&browser, &format!("{section} tr.transition")).await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(html.contains("alert-silenced"), "{html}");
    assert!(
        opened.ends_with("/alerting/rules/edit?namespace=default&group=ui&tab=state-history#state-history-HighErrorRate"),
        "{opened}"
    );
    assert!(marker.contains("silenced"), "{marker}");
    assert!(firing.contains("alertname=\"HighErrorRate\""), "{firing}");
    assert!(firing.contains("1e+00"), "{firing}");
    assert!(resolved.contains("resolved"), "{resolved}");
    assert_eq!(bars, (1, 1));
    assert_eq!(rows, 3, "pending, firing, resolved");
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn an_unsaved_edit_is_backtested_and_unit_tested_beside_the_editor_with_refusals_at_their_fields(
) {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    // Stored, the rule never fires; the edit makes it active five minutes in every ten.
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "bt", "interval": "1m", "rules": [{"alert": "HalfTime", "expr": "vector(1) < 0"}]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let browser = signed_in(&portal, "/alerting/rules/edit?namespace=default&group=bt").await;
    eventually(Duration::from_secs(10), "the group loaded", || async {
        let v = browser
            .execute(
                "return document.querySelector('.rule-card .rule-expr')?.value;",
                vec![],
            )
            .await;
        (v == json!("vector(1) < 0")).then_some(())
    })
    .await;
    set_value(
        &browser,
        ".rule-card .rule-expr",
        "vector(time() % 600) < 300",
    )
    .await;
    set_value(&browser, ".rule-card .rule-for", "2m").await;

    // Backtest: a bad interval is refused beside its field, then the past hour runs.
    click(&browser, "#tab-backtest").await;
    set_value(&browser, "#backtest-start", "now-1h").await;
    set_value(&browser, "#backtest-step", "0s").await;
    click(&browser, "#run-backtest").await;
    let refused = browser
        .wait_text("#backtest .field-error[data-field='step']", |t| {
            !t.is_empty()
        })
        .await;
    set_value(&browser, "#backtest-step", "1m").await;
    click(&browser, "#run-backtest").await;
    let summary = browser
        .wait_text("#backtest-summary", |t| t.contains("notifications"))
        .await;
    let firing_bars = count(
        &browser,
        "#backtest-result span.timeline-bar[data-state='firing']",
    )
    .await;
    let step_error_gone = count(&browser, "#backtest .field-error").await;

    // Tests: a YAML error names its line; a passing and a failing test of the edited rule.
    click(&browser, "#tab-tests").await;
    set_value(
        &browser,
        "#tests-text",
        "tests:\n  - interval: 1m\n    input_series: [\n",
    )
    .await;
    click(&browser, "#run-tests").await;
    let yaml_error = browser
        .wait_text("#rule-tests .field-error", |t| !t.is_empty())
        .await;
    let yaml_field = browser
        .execute(
            "return document.querySelector('#rule-tests .field-error').dataset.field;",
            vec![],
        )
        .await;
    let file = |eval_time: &str| {
        format!(
            "tests:\n  - name: fires after for\n    interval: 1m\n    alert_rule_test:\n      - eval_time: {eval_time}\n        alertname: HalfTime\n        exp_alerts:\n          - exp_labels: {{}}\n"
        )
    };
    set_value(&browser, "#tests-text", &file("3m")).await;
    click(&browser, "#run-tests").await;
    let passed = browser
        .wait_text("#tests-result[data-result='pass'] li.test-result", |t| {
            t.contains("fires after for")
        })
        .await;
    set_value(&browser, "#tests-text", &file("1m")).await;
    click(&browser, "#run-tests").await;
    let failed = browser
        .wait_text(
            "#tests-result[data-result='fail'] li.test-result[data-result='fail']",
            |t| !t.is_empty(),
        )
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;
    let (_, stored) = admin.get("/api/v1/rule-groups/bt").await;

    assert!(refused.contains("1s"), "the step named: {refused}");
    assert!(summary.starts_with("1 alerts"), "{summary}");
    assert!(
        firing_bars >= 5,
        "one firing span per ten minutes: {firing_bars}"
    );
    assert_eq!(step_error_gone, 0);
    assert!(
        yaml_field.as_str().unwrap().starts_with("line"),
        "{yaml_field}"
    );
    assert!(!yaml_error.is_empty());
    assert!(passed.contains("pass"), "{passed}");
    assert!(failed.contains("HalfTime"), "{failed}");
    assert_eq!(
        stored["rules"][0]["expr"], "vector(1) < 0",
        "nothing was saved"
    );
    assert!(
        errors.iter().all(|e| e.contains("400")),
        "only the refusals: {errors:?}"
    );
}
