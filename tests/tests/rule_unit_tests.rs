//! `POST /api/v1/rules/test` against the real `promtool test rules` (Prometheus 2.42): the
//! unit-test files in `tests/fixtures/promtool/` (passing and failing; the seed's alerts,
//! `for`, `keep_firing_for`, recording rules, `ALERTS`, the expanding notation) get the same
//! verdict from both, and failing files the same messages. The rule file is imported into
//! the portal under the namespace its file name gives, so the same `rule_files` line names
//! it for both.

use std::path::PathBuf;

use e2e::portal::Portal;
use e2e::workspace_root;
use serde_json::Value;

fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/promtool")
}

async fn post_yaml(portal: &Portal, path: &str, yaml: &str) -> (reqwest::StatusCode, Value) {
    let resp = portal
        .admin()
        .request(reqwest::Method::POST, path)
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// promtool's verdict and its error text (stderr after `  FAILED:`).
async fn promtool(file: &str) -> (bool, String) {
    let out = tokio::process::Command::new("promtool")
        .args(["test", "rules", file])
        .current_dir(fixtures())
        .output()
        .await
        .expect("promtool (scripts/setup.sh test installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let errors = stderr
        .strip_prefix("  FAILED:\n")
        .unwrap_or(&stderr)
        .to_owned();
    (out.status.success(), errors)
}

#[tokio::test]
async fn unit_test_files_get_the_same_verdicts_and_messages_as_promtool() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let rules = std::fs::read_to_string(fixtures().join("keiko.rules.yml")).unwrap();
    let (s, report) = post_yaml(
        &portal,
        "/api/v1/rules/import?namespace=keiko.rules.yml",
        &rules,
    )
    .await;
    assert_eq!(s, 200, "{report}");

    let mut files: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("pass_") || n.starts_with("fail_"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
        let (promtool_ok, promtool_errors) = promtool(file).await;
        assert_eq!(
            promtool_ok,
            file.starts_with("pass_"),
            "promtool's verdict on {file}: {promtool_errors}"
        );
        let (s, answer) = post_yaml(&portal, "/api/v1/rules/test", &text).await;
        assert_eq!(s, 200, "{file}: {answer}");
        assert_eq!(
            answer["result"] == "pass",
            promtool_ok,
            "{file}: the portal says {answer}, promtool {promtool_errors}"
        );
        let errors: String = answer["tests"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["errors"].as_array().unwrap().iter())
            .map(|e| format!("{}\n", e.as_str().unwrap()))
            .collect();
        assert_eq!(errors, promtool_errors, "{file}: the messages");
    }

    // One test group fails, the other passes: verdicts per test group.
    let text = std::fs::read_to_string(fixtures().join("fail_too_early.yml")).unwrap();
    let (_, answer) = post_yaml(&portal, "/api/v1/rules/test", &text).await;
    assert_eq!(answer["tests"][0]["result"], "fail", "{answer}");
    assert_eq!(answer["tests"][1]["result"], "pass", "{answer}");
    assert_eq!(answer["tests"][1]["name"], "passes");
}

#[tokio::test]
async fn inline_groups_run_and_bad_files_are_refused_naming_the_field() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let inline = r#"
groups:
  - name: inline
    rules:
      - alert: Down
        expr: up == 0
        for: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="api"}'
        values: '0x5'
    alert_rule_test:
      - eval_time: 2m
        alertname: Down
        exp_alerts:
          - exp_labels: {job: api}
"#;
    let (s, answer) = post_yaml(&portal, "/api/v1/rules/test", inline).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["result"], "pass", "{answer}");
    assert_eq!(answer["output"], "  SUCCESS\n");

    for (yaml, field) in [
        ("rule_files: [nowhere]\ntests: []\n", "rule_files[0]"),
        ("rule_files: ['../etc']\ntests: []\n", "rule_files[0]"),
        (
            "tests:\n  - interval: soon\n    input_series: []\n",
            "tests[0].interval",
        ),
        (
            "tests:\n  - input_series:\n      - series: 'up'\n        values: '1 x y'\n",
            "tests[0].input_series[0].values",
        ),
        (
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'sum('\ntests: []\n",
            "rules[0].expr",
        ),
    ] {
        let (s, answer) = post_yaml(&portal, "/api/v1/rules/test", yaml).await;
        assert_eq!(s, 400, "{yaml}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{yaml}: {answer}");
    }
    let (s, answer) = post_yaml(&portal, "/api/v1/rules/test", "tests: [: :").await;
    assert_eq!(s, 400, "{answer}");
    // Too much work is refused before it starts.
    let huge = "evaluation_interval: 1s\ngroups:\n  - name: g\n    rules:\n      - record: r\n        expr: vector(1)\n      - record: s\n        expr: vector(2)\ntests:\n  - promql_expr_test:\n      - expr: r\n        eval_time: 30d\n";
    let (s, answer) = post_yaml(&portal, "/api/v1/rules/test", huge).await;
    assert_eq!(s, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "tests[0]", "{answer}");
}
