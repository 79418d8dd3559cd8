//! Alerting → Alerts, Silences, Contact points and Notification policies in headless
//! Chromium against the real server: an alert firing on the embedded store is in the first
//! HTML and silenced from its button; a contact point made in the form sends a test to a
//! local receiver (and a failed one shows in the log); the routing tree is edited, saved,
//! read back, and a stale save is refused with 409; a mute timing is made, attached to a
//! route and saved, and a bad time of day is refused beside its field.

use std::time::Duration;

use e2e::alerting::webhook;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::receiver::Receiver;
use e2e::ui::{click, set_value, signed_in};
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

async fn portal() -> Portal {
    Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await
}

async fn value_of(browser: &Browser, css: &str) -> Value {
    browser
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? (e.type === 'checkbox' ? e.checked : e.value) : null;",
            vec![json!(css)],
        )
        .await
}

#[tokio::test]
async fn contact_points_made_and_edited_in_the_form_send_tests_to_the_receiver_and_the_log_shows_failures(
) {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    let browser = signed_in(&portal, "/alerting/contact-points").await;

    // The provisioned seed contact points are listed, disabled until filled in.
    let seed = browser
        .wait_text("tr.contact-point[data-name='keiko-slack']", |t| {
            t.contains("disabled")
        })
        .await;

    // A refused save: the server's reason stands beside the URL field, nothing is stored.
    set_value(&browser, "#cp-name", "hook").await;
    set_value(&browser, "#cp-webhook-url", "http://169.254.169.254/latest").await;
    browser
        .click(&browser.find("#save-contact-point").await)
        .await;
    let refused = browser
        .wait_text(".field-error[data-field='settings.url']", |t| !t.is_empty())
        .await;
    let (_, before) = admin.get("/api/v1/contact-points").await;

    set_value(&browser, "#cp-webhook-url", &hook.url("/hook")).await;
    browser
        .click(&browser.find("#save-contact-point").await)
        .await;
    browser
        .wait_text("#contact-point-saved", |t| t.contains("hook"))
        .await;
    let row = "tr.contact-point[data-name='hook']";
    browser
        .click(&browser.find(&format!("{row} .test-contact-point")).await)
        .await;
    let ok = browser
        .wait_text(&format!("{row} .test-result"), |t| t.starts_with('✓'))
        .await;
    let sent = browser
        .wait_text(
            "#notification-log tr.log-entry[data-receiver='hook'][data-outcome='sent']",
            |t| !t.is_empty(),
        )
        .await;

    // The receiver fails the next test: the outcome and the log entry say so.
    hook.fail_next.store(1, std::sync::atomic::Ordering::SeqCst);
    browser
        .click(&browser.find(&format!("{row} .test-contact-point")).await)
        .await;
    let failed = browser
        .wait_text(&format!("{row} .test-result"), |t| t.starts_with('✗'))
        .await;
    let failed_log = browser
        .wait_text(
            "#notification-log tr.log-failed[data-receiver='hook']",
            |t| !t.is_empty(),
        )
        .await;

    // The provisioned Slack contact point is filled in through "Edit": enabled, and a test
    // reaches the receiver with the seed's channel.
    let slack = "tr.contact-point[data-name='keiko-slack']";
    click(&browser, &format!("{slack} .edit-contact-point")).await;
    let channel = eventually(Duration::from_secs(10), "the form loaded", || async {
        let v = value_of(&browser, "#cp-channel").await;
        v.as_str().filter(|c| !c.is_empty()).map(str::to_owned)
    })
    .await;
    set_value(&browser, "#cp-slack-url", &hook.url("/slack")).await;
    click(&browser, "#save-contact-point").await;
    browser
        .wait_text("#contact-point-saved", |t| t.contains("keiko-slack"))
        .await;
    browser.wait_text(slack, |t| t.contains("enabled")).await;
    click(&browser, &format!("{slack} .test-contact-point")).await;
    browser
        .wait_text(&format!("{slack} .test-result"), |t| t.starts_with('✓'))
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert_eq!(channel, "#keiko-alerts");
    let posts = hook.at("/slack");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["channel"], "#keiko-alerts", "{}", posts[0]);
    assert!(seed.contains("Slack #keiko-alerts"), "{seed}");
    assert!(
        refused.contains("link-local") || refused.contains("metadata"),
        "{refused}"
    );
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "hook"),
        "nothing stored after the refusal: {before}"
    );
    assert!(ok.contains("200"), "{ok}");
    let bodies = hook.at("/hook");
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["version"], "4");
    assert_eq!(bodies[0]["alerts"][0]["labels"]["alertname"], "TestAlert");
    assert!(sent.contains("firing"), "{sent}");
    assert!(failed.contains("failed"), "{failed}");
    assert!(failed_log.contains("500"), "{failed_log}");
    assert!(
        errors
            .iter()
            .all(|e| e.contains("400") || e.contains("503") || e.contains("502")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_firing_alert_is_in_the_first_html_grouped_and_silenced_from_its_button() {
    let portal = portal().await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "ui", "interval": "1s", "rules": [
                {"alert": "HighErrorRate", "expr": "vector(1)", "labels": {"severity": "warning"},
                 "annotations": {"summary": "Hohe Fehlerrate erkannt", "dashboard": "keiko-overview"}},
                {"alert": "MCPServerDown", "expr": "vector(0)", "labels": {"severity": "critical"},
                 "annotations": {"summary": "MCP Server nicht erreichbar"}}
            ]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    eventually(Duration::from_secs(30), "both alerts firing", || async {
        let (_, v) = admin.get("/api/v1/alerts").await;
        let firing = v["data"]["alerts"]
            .as_array()?
            .iter()
            .filter(|a| a["state"] == "firing")
            .count();
        (firing == 2).then_some(())
    })
    .await;

    // Server-rendered: the alerts are in the HTML before any script runs.
    let html = admin.html("/alerting/alerts?group_by=severity").await;
    assert!(html.contains("Hohe Fehlerrate erkannt"), "{html}");
    assert!(html.contains("data-group=\"severity=critical\""), "{html}");
    assert!(
        html.contains("class=\"button small silence-alert\""),
        "{html}"
    );

    let browser = signed_in(&portal, "/alerting/alerts").await;
    let item = "article.alert-item[data-alertname='HighErrorRate']";
    browser.find(item).await;
    let href = |css: String| {
        let browser = &browser;
        async move {
            browser
                .execute(
                    "return document.querySelector(arguments[0]).getAttribute('href');",
                    vec![json!(css)],
                )
                .await
        }
    };
    let rule = href(format!("{item} .rule-link")).await;
    let explore = href(format!("{item} .explore-link")).await;
    let dashboard = href(format!("{item} .dashboard-link")).await;
    // Group by severity: the choice goes into the URL and the groups follow.
    browser
        .execute(
            "const s = document.querySelector('#alerts-group-by'); s.value = 'severity'; \
             s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await;
    let groups = eventually(Duration::from_secs(10), "groups by severity", || async {
        let v = browser
            .execute(
                "return [...document.querySelectorAll('section.alert-group')].map(s => s.dataset.group);",
                vec![],
            )
            .await;
        (v.as_array()?.len() == 2).then_some(v)
    })
    .await;

    browser
        .click(&browser.find(&format!("{item} .silence-alert")).await)
        .await;
    let matchers = eventually(Duration::from_secs(10), "the prefilled form", || async {
        let v = value_of(&browser, "#silence-matchers").await;
        v.as_str()
            .filter(|t| t.contains("HighErrorRate"))
            .map(str::to_owned)
    })
    .await;
    set_value(&browser, "#silence-comment", "deploying the fix").await;
    browser.click(&browser.find("#save-silence").await).await;
    browser
        .wait_text("#silence-saved", |t| t.contains("created"))
        .await;
    let active = browser
        .wait_text(
            "#active-silences tr.silence-row[data-state='active']",
            |t| t.contains("HighErrorRate"),
        )
        .await;
    let (_, silences) = admin.get("/api/v1/silences").await;
    browser
        .click(&browser.find("#active-silences .expire-silence").await)
        .await;
    let expired = browser
        .wait_text("#expired-silences tr.silence-row", |t| {
            t.contains("HighErrorRate")
        })
        .await;

    // The rule list shows what evaluation found; the home page what is firing.
    browser.goto(&portal.url("/alerting/rules")).await;
    browser.wait_hydrated().await;
    let state = browser
        .wait_text("tr.rule-row[data-rule='HighErrorRate'] .rule-state", |t| {
            t.contains("firing")
        })
        .await;
    let health = browser
        .wait_text("tr.rule-row[data-rule='HighErrorRate'] .rule-health", |t| {
            !t.is_empty()
        })
        .await;
    browser.goto(&portal.url("/")).await;
    browser.wait_hydrated().await;
    let home = browser
        .wait_text("#home-firing", |t| t.contains("MCPServerDown"))
        .await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert_eq!(
        rule,
        json!("/alerting/rules/edit?namespace=default&group=ui#rule-HighErrorRate")
    );
    let explore = explore.as_str().unwrap();
    assert!(
        explore.starts_with("/explore/metrics?q=vector%281%29&from=")
            && explore.ends_with("&to=now"),
        "{explore}"
    );
    assert_eq!(dashboard, json!("/d/keiko-overview"));
    assert_eq!(groups, json!(["severity=critical", "severity=warning"]));
    assert!(
        matchers.contains(r#"alertname="HighErrorRate""#),
        "{matchers}"
    );
    assert!(matchers.contains(r#"severity="warning""#), "{matchers}");
    assert!(active.contains("deploying the fix"), "{active}");
    let s = &silences[0];
    assert_eq!(s["createdBy"], "admin", "{silences}");
    assert_eq!(s["status"]["state"], "active");
    let mut names: Vec<&str> = s["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["alertname", "severity"], "{s}");
    assert!(expired.contains("expired"), "{expired}");
    let (_, after) = admin.get("/api/v1/silences").await;
    assert_eq!(after[0]["status"]["state"], "expired", "{after}");
    assert!(state.contains("firing"), "{state}");
    assert!(health.contains("ok"), "{health}");
    assert!(home.contains("critical"), "{home}");
    assert!(
        home.find("MCPServerDown") < home.find("HighErrorRate"),
        "critical first: {home}"
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn the_routing_tree_is_edited_saved_and_read_back_and_a_stale_save_gets_409() {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    webhook(&admin, "team-hook", &hook.url("/team")).await;
    webhook(&admin, "oncall", &hook.url("/oncall")).await;
    let browser = signed_in(&portal, "/alerting/policies").await;
    let root = ".route[data-path='route'] > .form-grid";
    browser.find(&format!("{root} .route-receiver")).await;
    set_value(&browser, &format!("{root} .route-receiver"), "team-hook").await;
    set_value(
        &browser,
        &format!("{root} .route-group-by"),
        "alertname, severity",
    )
    .await;
    set_value(&browser, &format!("{root} .route-group-wait"), "5s").await;
    // The provisioned tree is shown: critical to e-mail (and continue), the rest to Slack.
    let first = ".route[data-path='route.routes[0]'] > .form-grid";
    let seeded = json!([
        value_of(&browser, &format!("{first} .route-receiver")).await,
        value_of(&browser, &format!("{first} .route-continue")).await,
    ]);
    let existing = browser
        .execute(
            "return document.querySelectorAll(\".route[data-path='route'] > .route-children > .route\").length;",
            vec![],
        )
        .await
        .as_u64()
        .unwrap();
    click(&browser, ".route[data-path='route'] > .actions .add-route").await;
    let child = format!(".route[data-path='route.routes[{existing}]'] > .form-grid");
    let child = child.as_str();
    browser.find(&format!("{child} .route-matchers")).await;
    set_value(
        &browser,
        &format!("{child} .route-matchers"),
        r#"severity="critical""#,
    )
    .await;
    set_value(&browser, &format!("{child} .route-receiver"), "oncall").await;
    click(&browser, &format!("{child} .route-continue")).await;
    click(&browser, "#add-inhibit").await;
    let rule = ".inhibit-rule[data-index='0']";
    browser.find(&format!("{rule} .inhibit-source")).await;
    set_value(
        &browser,
        &format!("{rule} .inhibit-source"),
        r#"severity="critical""#,
    )
    .await;
    set_value(
        &browser,
        &format!("{rule} .inhibit-target"),
        r#"severity="warning""#,
    )
    .await;
    set_value(&browser, &format!("{rule} .inhibit-equal"), "alertname").await;
    click(&browser, "#save-policy").await;
    let saved = browser
        .wait_text("#policy-saved", |t| t.starts_with("Saved version"))
        .await;
    let (_, stored) = admin.get("/api/v1/notification-policies").await;

    // Read back after a reload.
    browser.goto(&portal.url("/alerting/policies")).await;
    browser.wait_hydrated().await;
    browser.find(&format!("{child} .route-receiver")).await;
    let back = json!([
        value_of(&browser, &format!("{root} .route-receiver")).await,
        value_of(&browser, &format!("{root} .route-group-by")).await,
        value_of(&browser, &format!("{child} .route-matchers")).await,
        value_of(&browser, &format!("{child} .route-receiver")).await,
        value_of(&browser, &format!("{child} .route-continue")).await,
        value_of(&browser, &format!("{rule} .inhibit-equal")).await,
    ]);

    // Someone else saves meanwhile: this page's save is refused with 409 and changes nothing.
    let mut theirs = stored.clone();
    theirs["route"]["group_interval"] = json!("1m");
    let (s, body) = admin
        .send(Method::PUT, "/api/v1/notification-policies", Some(theirs))
        .await;
    assert_eq!(s, 200, "{body}");
    set_value(&browser, &format!("{root} .route-group-wait"), "7s").await;
    click(&browser, "#save-policy").await;
    let conflict = browser
        .wait_text("#policy-error", |t| t.contains("someone else"))
        .await;
    let status = browser
        .execute(
            "return document.querySelector('#policy-error').dataset.status;",
            vec![],
        )
        .await;
    let (_, after) = admin.get("/api/v1/notification-policies").await;
    browser.close().await;

    assert!(saved.starts_with("Saved version"), "{saved}");
    let route = &stored["route"];
    assert_eq!(route["receiver"], "team-hook", "{stored}");
    assert_eq!(route["group_by"], json!(["alertname", "severity"]));
    assert_eq!(route["group_wait"], "5s");
    assert_eq!(seeded, json!(["keiko-email", true]));
    let n = existing as usize;
    assert_eq!(
        route["routes"][0]["receiver"], "keiko-email",
        "the seeded routes stay"
    );
    assert_eq!(
        route["routes"][n]["matchers"],
        json!([r#"severity="critical""#])
    );
    assert_eq!(route["routes"][n]["receiver"], "oncall");
    assert_eq!(route["routes"][n]["continue"], true);
    assert_eq!(
        stored["inhibit_rules"],
        json!([{"source_matchers": [r#"severity="critical""#], "target_matchers": [r#"severity="warning""#], "equal": ["alertname"]}])
    );
    assert_eq!(
        back,
        json!([
            "team-hook",
            "alertname, severity",
            r#"severity="critical""#,
            "oncall",
            true,
            "alertname"
        ])
    );
    assert_eq!(status, json!("409"));
    assert!(conflict.contains("Reload"), "{conflict}");
    assert_eq!(after["route"]["group_wait"], "5s", "{after}");
    assert_eq!(after["route"]["group_interval"], "1m");
}

#[tokio::test]
async fn an_escalation_policy_is_made_in_the_form_and_a_firing_alert_is_acknowledged_from_the_alerts_page(
) {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    webhook(&admin, "team-hook", &hook.url("/team")).await;
    webhook(&admin, "oncall", &hook.url("/oncall")).await;
    let browser = signed_in(&portal, "/alerting/escalation").await;
    set_value(&browser, "#escalation-name", "keiko-critical").await;
    let step = |i: usize, part: &str| format!(".escalation-step[data-index='{i}'] .{part}");
    set_value(&browser, &step(0, "step-contact-point"), "team-hook").await;
    click(&browser, "#add-step").await;
    set_value(&browser, &step(1, "step-contact-point"), "nobody").await;
    set_value(&browser, &step(1, "step-after"), "10m").await;
    click(&browser, "#save-escalation").await;
    let refused = browser
        .wait_text(".field-error[data-field='steps']", |t| !t.is_empty())
        .await;
    let (_, none) = admin.get("/api/v1/escalation-policies").await;
    set_value(&browser, &step(1, "step-contact-point"), "oncall").await;
    click(&browser, "#save-escalation").await;
    browser
        .wait_text("#escalation-saved", |t| t.contains("keiko-critical"))
        .await;
    let chain = browser
        .wait_text(
            ".escalation-policy[data-name='keiko-critical'] .escalation-chain[data-severity='critical']",
            |t| !t.is_empty(),
        )
        .await;
    let (_, stored) = admin.get("/api/v1/escalation-policies").await;

    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "esc", "interval": "1s", "rules": [
                {"alert": "MCPServerDown", "expr": "vector(1)", "labels": {"severity": "critical"},
                 "annotations": {"summary": "MCP Server nicht erreichbar"}}
            ]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    eventually(Duration::from_secs(30), "the alert firing", || async {
        let (_, v) = admin.get("/api/v1/alerts").await;
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| a["state"] == "firing" && a["fingerprint"].is_string())
            .cloned()
    })
    .await;
    browser.goto(&portal.url("/alerting/alerts")).await;
    browser.wait_hydrated().await;
    let item = "article.alert-item[data-alertname='MCPServerDown']";
    click(&browser, &format!("{item} .ack-alert")).await;
    let acked = browser
        .wait_text(&format!("{item} .alert-acked"), |t| {
            t.contains("Acknowledged by")
        })
        .await;
    let (_, alerts) = admin.get("/api/v1/alerts").await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(refused.contains("nobody"), "{refused}");
    assert_eq!(none, json!([]), "nothing saved after the refusal");
    assert_eq!(chain, "critical: team-hook now → oncall after 10m");
    assert_eq!(
        stored[0]["steps"]["critical"],
        json!([{"contact_point": "team-hook", "after": "0s"}, {"contact_point": "oncall", "after": "10m"}]),
        "{stored}"
    );
    assert!(acked.contains("admin"), "{acked}");
    let alert = &alerts["data"]["alerts"][0];
    assert_eq!(alert["acknowledgedBy"], "admin", "{alerts}");
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}

#[tokio::test]
async fn a_mute_timing_is_made_attached_to_a_route_saved_and_read_back_and_a_bad_time_is_refused_beside_its_field(
) {
    let portal = portal().await;
    let admin = portal.admin();
    let hook = Receiver::start().await;
    webhook(&admin, "team-hook", &hook.url("/team")).await;
    let (_, before) = admin.get("/api/v1/notification-policies").await;
    let browser = signed_in(&portal, "/alerting/policies").await;
    click(&browser, "#add-mute-timing").await;
    let interval = ".time-interval[data-index='0']";
    let spec = format!("{interval} .time-spec[data-index='0']");
    browser.find(&format!("{interval} .interval-name")).await;
    set_value(&browser, &format!("{interval} .interval-name"), "nights").await;
    set_value(
        &browser,
        &format!("{spec} .spec-times"),
        "22:00-24:00, 25:00-26:00",
    )
    .await;
    set_value(&browser, &format!("{spec} .spec-weekdays"), "monday:friday").await;
    set_value(&browser, &format!("{spec} .spec-days"), "1:7, -1").await;
    set_value(
        &browser,
        &format!("{spec} .spec-months"),
        "january:march, december",
    )
    .await;
    click(&browser, ".route[data-path='route'] > .actions .add-route").await;
    let existing = before["route"]["routes"].as_array().map_or(0, Vec::len);
    let child = format!(".route[data-path='route.routes[{existing}]'] > .form-grid");
    browser.find(&format!("{child} .route-matchers")).await;
    set_value(
        &browser,
        &format!("{child} .route-matchers"),
        r#"team="keiko""#,
    )
    .await;
    set_value(&browser, &format!("{child} .route-receiver"), "team-hook").await;
    set_value(&browser, &format!("{child} .route-mute-timings"), "nights").await;

    // 25:00 is no time of day: the message stands beside the times field, nothing is saved.
    click(&browser, "#save-policy").await;
    let times_field = "time_intervals[0].time_intervals[0].times";
    let beside = browser
        .wait_text(
            &format!("{spec} .field-error[data-field='{times_field}']"),
            |t| !t.is_empty(),
        )
        .await;
    let (_, unchanged) = admin.get("/api/v1/notification-policies").await;

    set_value(
        &browser,
        &format!("{spec} .spec-times"),
        "22:00-24:00, 00:00-06:00",
    )
    .await;
    click(&browser, "#save-policy").await;
    browser
        .wait_text("#policy-saved", |t| t.starts_with("Saved version"))
        .await;
    let stale_error = browser
        .try_find(&format!("{spec} .field-error"))
        .await
        .is_some();
    let (_, stored) = admin.get("/api/v1/notification-policies").await;

    // Read back after a reload.
    browser.goto(&portal.url("/alerting/policies")).await;
    browser.wait_hydrated().await;
    browser.find(&format!("{spec} .spec-times")).await;
    let mut back = Vec::new();
    for css in [
        format!("{interval} .interval-name"),
        format!("{spec} .spec-times"),
        format!("{spec} .spec-weekdays"),
        format!("{spec} .spec-days"),
        format!("{spec} .spec-months"),
        format!("{child} .route-mute-timings"),
    ] {
        back.push(value_of(&browser, &css).await);
    }
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(
        beside.contains("25:00") && beside.contains("HH:MM"),
        "{beside}"
    );
    assert_eq!(unchanged, before, "nothing saved after the refusal");
    assert!(!stale_error, "the message goes once the save succeeds");
    assert_eq!(
        stored["time_intervals"],
        json!([{"name": "nights", "time_intervals": [{
            "times": [{"start_time": "22:00", "end_time": "24:00"}, {"start_time": "00:00", "end_time": "06:00"}],
            "weekdays": ["monday:friday"],
            "days_of_month": ["1:7", "-1"],
            "months": ["january:march", "december"]
        }]}]),
        "{stored}"
    );
    let route = &stored["route"]["routes"][existing];
    assert_eq!(route["matchers"], json!([r#"team="keiko""#]), "{stored}");
    assert_eq!(route["mute_time_intervals"], json!(["nights"]));
    assert_eq!(
        back,
        [
            "nights",
            "22:00-24:00, 00:00-06:00",
            "monday:friday",
            "1:7, -1",
            "january:march, december",
            "nights"
        ]
    );
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}
