//! The rule editor in headless Chromium: live PromQL validation with the error's place,
//! saving, conflicts between two tabs, and restoring an older version.

use std::time::Duration;

use e2e::api::ADMIN_PASSWORD;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

fn group(for_: &str) -> Value {
    json!({"name": "keiko.rules", "rules": [{
        "alert": "HighErrorRate", "expr": "rate(keiko_errors_total[5m]) > 0.1", "for": for_,
        "labels": {"severity": "warning"},
        "annotations": {"summary": "Hohe Fehlerrate erkannt", "description": "Fehlerrate von {{ $value }} in den letzten 5 Minuten"}
    }]})
}

#[tokio::test]
async fn a_promql_typo_is_marked_in_place_then_fixed_saved_and_listed() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/alerting/rules/edit")).await;
    browser.wait_hydrated().await;

    browser
        .type_text(&browser.find("#group-name").await, "ui.rules")
        .await;
    browser
        .type_text(
            &browser.find(".rule-card .rule-name").await,
            "HighErrorRate",
        )
        .await;
    let expr = browser.find(".rule-card .rule-expr").await;
    browser
        .type_text(&expr, "rate(keiko_errors_total[5m]) >> 0.1")
        .await;
    // Validation runs as you type: wait for the answer about the whole expression.
    let column = eventually(
        Duration::from_secs(10),
        "the error marker at the typo",
        || async {
            let v = browser
                .execute(
                    "return document.querySelector('.rule-card .expr-error')?.dataset.column;",
                    vec![],
                )
                .await;
            (v == json!("31")).then_some(v)
        },
    )
    .await;
    let marker = browser.find(".rule-card .expr-error").await;
    let marked = browser
        .text(&browser.find(".rule-card .expr-error mark").await)
        .await;
    let message = browser.text(&marker).await;

    browser.clear(&expr).await;
    browser
        .type_text(&expr, "rate(keiko_errors_total[5m]) > 0.1")
        .await;
    eventually(Duration::from_secs(10), "the error to go", || async {
        browser
            .try_find(".rule-card .expr-error")
            .await
            .is_none()
            .then_some(())
    })
    .await;
    // Lint speaks up (no severity, no annotations), without blocking the save.
    let lint = browser
        .wait_text(".rule-card .lint-warnings", |t| t.contains("severity"))
        .await;
    browser.click(&browser.find("#save-group").await).await;
    let status = browser
        .wait_text("#save-status", |t| t.starts_with("Saved"))
        .await;

    browser.goto(&portal.url("/alerting/rules")).await;
    browser.wait_hydrated().await;
    let row = browser.find("tr.rule-row[data-rule='HighErrorRate']").await;
    let row_text = browser.text(&row).await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert_eq!(column, json!("31"));
    assert_eq!(marked, ">");
    assert!(message.contains("unexpected"), "{message}");
    assert!(lint.contains("no `severity` label"), "{lint}");
    assert_eq!(status, "Saved version 1");
    assert!(
        row_text.contains("rate(keiko_errors_total[5m]) > 0.1"),
        "{row_text}"
    );
    let (_, stored) = portal.admin().get("/api/v1/rule-groups/ui.rules").await;
    assert_eq!(stored["rules"][0]["alert"], "HighErrorRate");
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}

/// A save the server refuses says why, beside the field it names, and changes nothing; a
/// change note goes into the group's history.
#[tokio::test]
async fn a_refused_save_shows_the_reason_beside_the_field_and_a_note_is_kept() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/alerting/rules/edit")).await;
    browser.wait_hydrated().await;
    let name = browser.find("#group-name").await;
    browser.type_text(&name, "team/rules").await;
    browser
        .type_text(&browser.find(".rule-card .rule-name").await, "Down")
        .await;
    browser
        .type_text(&browser.find(".rule-card .rule-expr").await, "up == 0")
        .await;
    browser.click(&browser.find("#save-group").await).await;
    let said = browser
        .wait_text("#save-error", |t| t.starts_with("Not saved"))
        .await;
    assert!(said.contains("must not contain"), "{said}");
    let beside = browser
        .wait_text(".field-error[data-field='name']", |t| !t.is_empty())
        .await;
    assert!(beside.contains("must not contain `/`"), "{beside}");
    let (_, groups) = portal.admin().get("/api/v1/rule-groups").await;
    assert_eq!(groups, json!([]), "nothing was stored");

    browser.clear(&name).await;
    browser.type_text(&name, "team.rules").await;
    browser
        .type_text(
            &browser.find("#save-message").await,
            "first cut of the team's alerts",
        )
        .await;
    browser.click(&browser.find("#save-group").await).await;
    browser
        .wait_text("#save-status", |t| t.starts_with("Saved"))
        .await;
    let (_, history) = portal
        .admin()
        .get("/api/v1/rule-groups/team.rules/history")
        .await;
    assert_eq!(history[0]["message"], "first cut of the team's alerts");
}

#[tokio::test]
async fn saving_a_group_edited_in_two_tabs_shows_the_conflict() {
    let portal = Portal::start().await;
    let (s, _) = portal
        .admin()
        .post("/api/v1/rule-groups", group("2m"))
        .await;
    assert_eq!(s, 201);
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    let edit_url = portal.url("/alerting/rules/edit?group=keiko.rules");

    let first = browser.current_tab().await;
    browser.goto(&edit_url).await;
    browser.wait_hydrated().await;
    let second = browser.new_tab().await;
    browser.switch_to(&second).await;
    browser.goto(&edit_url).await;
    browser.wait_hydrated().await;

    for (tab, value) in [(&first, "3m"), (&second, "10m")] {
        browser.switch_to(tab).await;
        let field = browser.find(".rule-card .rule-for").await;
        browser.wait_text("#group-name", |_| true).await;
        eventually(Duration::from_secs(10), "the group to load", || async {
            let v = browser
                .execute(
                    "return document.querySelector('.rule-card .rule-for').value;",
                    vec![],
                )
                .await;
            (v == json!("2m")).then_some(())
        })
        .await;
        browser.clear(&field).await;
        browser.type_text(&field, value).await;
    }
    browser.switch_to(&first).await;
    browser.click(&browser.find("#save-group").await).await;
    let saved = browser
        .wait_text("#save-status", |t| t.starts_with("Saved"))
        .await;

    browser.switch_to(&second).await;
    // Ctrl+S in the field saves too.
    let field = browser.find(".rule-card .rule-for").await;
    browser.type_text(&field, "\u{E009}s\u{E009}").await;
    browser.find("#conflict").await;
    let theirs = browser.text(&browser.find("#conflict-theirs").await).await;
    let yours = browser.text(&browser.find("#conflict-yours").await).await;
    browser.close().await;

    assert_eq!(saved, "Saved version 2");
    assert!(theirs.contains("for: 3m"), "{theirs}");
    assert!(yours.contains("for: 10m"), "{yours}");
    let (_, stored) = portal.admin().get("/api/v1/rule-groups/keiko.rules").await;
    assert_eq!(
        stored["rules"][0]["for"], "3m",
        "the stale save must not overwrite"
    );
}

#[tokio::test]
async fn an_older_version_is_compared_and_restored() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    admin.post("/api/v1/rule-groups", group("2m")).await;
    let mut v2 = group("7m");
    v2["version"] = json!(1);
    v2["message"] = json!("longer for");
    let (s, _) = admin
        .send(Method::PUT, "/api/v1/rule-groups/keiko.rules", Some(v2))
        .await;
    assert_eq!(s, 200);

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser
        .goto(&portal.url("/alerting/rules/edit?group=keiko.rules"))
        .await;
    browser.wait_hydrated().await;
    eventually(Duration::from_secs(10), "the group to load", || async {
        let v = browser
            .execute(
                "return document.querySelector('.rule-card .rule-for')?.value;",
                vec![],
            )
            .await;
        (v == json!("7m")).then_some(())
    })
    .await;
    browser.click(&browser.find("#tab-history").await).await;
    browser
        .click(
            &browser
                .find("tr.history-row[data-version='1'] .show-version")
                .await,
        )
        .await;
    let diff = browser.text(&browser.find("#version-diff").await).await;
    browser.click(&browser.find("#restore-version").await).await;
    eventually(Duration::from_secs(10), "the restored group", || async {
        let v = browser
            .execute(
                "return document.querySelector('.rule-card .rule-for')?.value;",
                vec![],
            )
            .await;
        (v == json!("2m")).then_some(())
    })
    .await;
    browser.close().await;

    assert!(
        diff.contains("- ") && diff.contains("for: 2m") && diff.contains("for: 7m"),
        "{diff}"
    );
    let (_, stored) = admin.get("/api/v1/rule-groups/keiko.rules").await;
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["rules"][0]["for"], "2m");
}

/// A group file of a public rule collection: every file names its group `EmbeddedExporter`.
fn exporter_file(alerts: &[(&str, &str)]) -> String {
    let mut yaml = String::from("groups:\n  - name: EmbeddedExporter\n    rules:\n");
    for (alert, expr) in alerts {
        yaml.push_str(&format!("      - alert: {alert}\n        expr: {expr}\n"));
    }
    yaml
}

#[tokio::test]
async fn two_uploaded_files_with_one_group_name_land_in_their_own_namespaces() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let dir = tempfile::tempdir().unwrap();
    let mysql = dir.path().join("mysql-exporter.yml");
    std::fs::write(&mysql, exporter_file(&[("MysqlDown", "mysql_up == 0")])).unwrap();
    let redis = dir.path().join("redis-exporter.yml");
    std::fs::write(&redis, exporter_file(&[("RedisDown", "redis_up == 0")])).unwrap();
    let mysql_v2 = dir.path().join("v2").join("mysql-exporter.yml");
    std::fs::create_dir_all(mysql_v2.parent().unwrap()).unwrap();
    std::fs::write(
        &mysql_v2,
        exporter_file(&[("MysqlRestarted", "mysql_global_status_uptime < 60")]),
    )
    .unwrap();

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    let upload = |path: std::path::PathBuf| {
        let (browser, portal) = (&browser, &portal);
        async move {
            browser.goto(&portal.url("/alerting/rules")).await;
            browser.wait_hydrated().await;
            let input = browser.find("#rule-file").await;
            browser.type_text(&input, &path.to_string_lossy()).await;
            let preview = browser
                .wait_text("#rule-import-report", |t| t.contains("Import preview"))
                .await;
            let namespace = browser
                .execute(
                    "return document.getElementById('import-namespace').value;",
                    vec![],
                )
                .await;
            let summary = browser
                .text(&browser.find("#rule-import-summary").await)
                .await;
            browser
                .click(&browser.find("#rule-import-confirm").await)
                .await;
            eventually(Duration::from_secs(10), "the import to land", || async {
                let (_, groups) = portal.admin().get("/api/v1/rule-groups").await;
                groups
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| Some(g["namespace"].as_str().unwrap()) == namespace.as_str())
                    .then_some(())
            })
            .await;
            (preview, namespace, summary)
        }
    };
    let (_, ns1, sum1) = upload(mysql).await;
    let (preview2, ns2, sum2) = upload(redis).await;
    // The list shows each namespace with its own group of the same name.
    browser.goto(&portal.url("/alerting/rules")).await;
    browser.wait_hydrated().await;
    let sections = browser
        .wait_text("#rule-groups", |t| t.contains("redis-exporter"))
        .await;
    let listed = browser
        .execute(
            "return [...document.querySelectorAll('.rule-group')].map(g => g.dataset.namespace + '/' + g.dataset.group);",
            vec![],
        )
        .await;
    // A new version of the first file: the preview names the rule it adds and the one it removes.
    browser.goto(&portal.url("/alerting/rules")).await;
    browser.wait_hydrated().await;
    browser
        .type_text(
            &browser.find("#rule-file").await,
            &mysql_v2.to_string_lossy(),
        )
        .await;
    let preview3 = browser
        .wait_text("#rule-import-report", |t| t.contains("Import preview"))
        .await;
    let added = browser
        .text(&browser.find(".import-rule.rule-added").await)
        .await;
    let removed = browser
        .text(&browser.find(".import-rule.rule-removed").await)
        .await;
    browser.close().await;

    assert_eq!(ns1, json!("mysql-exporter"));
    assert_eq!(ns2, json!("redis-exporter"));
    assert_eq!(sum1, "1 rules added, 0 changed, 0 removed, 0 unchanged");
    assert_eq!(sum2, "1 rules added, 0 changed, 0 removed, 0 unchanged");
    assert!(preview2.contains("EmbeddedExporter: added"), "{preview2}");
    assert!(sections.contains("mysql-exporter"), "{sections}");
    assert_eq!(
        listed,
        json!([
            "mysql-exporter/EmbeddedExporter",
            "redis-exporter/EmbeddedExporter"
        ])
    );
    assert!(preview3.contains("EmbeddedExporter: changed"), "{preview3}");
    assert_eq!(added, "added MysqlRestarted (alerting)");
    assert_eq!(removed, "removed MysqlDown (alerting)");
    let (_, redis_group) = admin
        .get("/api/v1/rule-groups/EmbeddedExporter?namespace=redis-exporter")
        .await;
    assert_eq!(redis_group["rules"][0]["alert"], "RedisDown");
}
