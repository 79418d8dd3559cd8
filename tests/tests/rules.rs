//! Alert rules through the real server: validation errors, lint, versions with optimistic
//! locking, import (dry run) and export checked by the real `promtool`.

use std::process::Command;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::workspace_root;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(workspace_root().join("tests/fixtures").join(name)).unwrap()
}

async fn import(client: &Client, yaml: &str, dry_run: bool) -> (StatusCode, Value) {
    import_into(client, "default", yaml, dry_run).await
}

async fn export(client: &Client, query: &str) -> String {
    let resp = client
        .request(Method::GET, &format!("/api/v1/rules/export{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/yaml"));
    resp.text().await.unwrap()
}

/// Runs Debian's `promtool check rules` on `yaml`; returns (success, output).
fn promtool_check(yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
        .expect("promtool (Debian prometheus package; make test installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn the_seed_rules_import_verbatim_and_export_passes_promtool() {
    let portal = Portal::start().await;
    let editor = portal.user_with_role("ed", "Editor").await;
    let seed = fixture("seed.rules.yml");
    assert!(promtool_check(&seed).0, "the fixture itself is valid");

    let (s, report) = import(&editor, &seed, false).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["groups"][0]["name"], "keiko.rules");
    assert_eq!(report["groups"][0]["status"], "added");
    let names: Vec<&str> = report["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "HighErrorRate",
            "AgentTaskFailures",
            "MCPServerDown",
            "HighMemoryUsage"
        ]
    );

    let exported = export(&editor, "").await;
    let (ok, out) = promtool_check(&exported);
    assert!(ok, "promtool refused the export:\n{out}\n{exported}");
    assert!(out.contains("4 rules found"), "{out}");

    // Import → export → import is the identity.
    let (s, again) = import(&editor, &exported, true).await;
    assert_eq!(s, 200);
    assert_eq!(again["groups"][0]["status"], "unchanged", "{again}");
    assert!(again["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "unchanged"));

    // Prometheus's API shape.
    let (_, prom) = editor.get("/api/v1/rules").await;
    assert_eq!(prom["status"], "success");
    let rule = &prom["data"]["groups"][0]["rules"][0];
    assert_eq!(rule["name"], "HighErrorRate");
    assert_eq!(rule["query"], "rate(keiko_errors_total[5m]) > 0.1");
    assert_eq!(rule["duration"], 120.0);
    assert_eq!(rule["type"], "alerting");
    assert_eq!(rule["health"], "unknown");
    assert_eq!(rule["labels"]["severity"], "warning");
    assert_eq!(
        rule["annotations"]["description"],
        "Fehlerrate von {{ $value }} in den letzten 5 Minuten"
    );
}

/// A portal that never held a rule group starts with the seed's rule file (as it starts with
/// the seed's dashboard and contact points), exported verbatim; a team's deletion of it is
/// kept across a restart.
#[tokio::test]
async fn the_seed_rules_are_provisioned_at_the_first_start_and_a_deletion_is_kept() {
    let env = [
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_PROVISION_SEED_RULES", "1"),
    ];
    let portal = Portal::start_with(&env).await;
    let admin = portal.admin();
    let (_, prom) = admin.get("/api/v1/rules").await;
    let groups = prom["data"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{prom}");
    assert_eq!(groups[0]["name"], "keiko.rules");
    let names: Vec<&str> = groups[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "HighErrorRate",
            "AgentTaskFailures",
            "MCPServerDown",
            "HighMemoryUsage"
        ]
    );
    // The file as the seed wrote it: importing the fixture changes nothing.
    let (s, report) = import(&admin, &fixture("seed.rules.yml"), true).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["groups"][0]["status"], "unchanged", "{report}");
    let (ok, out) = promtool_check(&export(&admin, "").await);
    assert!(ok && out.contains("4 rules found"), "{out}");
    let (_, history) = admin.get("/api/v1/rule-groups/keiko.rules/history").await;
    assert_eq!(history[0]["author"], "system:provisioning", "{history}");

    // Restarted, it is not written again; deleted, it stays deleted.
    let portal = Portal::start_in(portal.stop(), &env).await;
    let admin = portal.admin();
    let (_, history) = admin.get("/api/v1/rule-groups/keiko.rules/history").await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    let (s, _) = admin
        .send(
            Method::DELETE,
            "/api/v1/rule-groups/keiko.rules?version=1",
            None,
        )
        .await;
    assert_eq!(s, 204);
    let portal = Portal::start_in(portal.stop(), &env).await;
    let (_, prom) = portal.admin().get("/api/v1/rules").await;
    assert_eq!(prom["data"]["groups"], json!([]), "{prom}");
}

#[tokio::test]
async fn a_mixed_rule_file_promtool_accepts_imports_and_round_trips() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let mixed = fixture("mixed.rules.yml");
    let (ok, out) = promtool_check(&mixed);
    assert!(ok, "{out}");
    let (s, report) = import(&admin, &mixed, false).await;
    assert_eq!(s, 200, "{report}");
    let exported = export(&admin, "?group=keiko.recording").await;
    let (ok, out) = promtool_check(&exported);
    assert!(ok, "{out}\n{exported}");
    assert!(!exported.contains("keiko.agents"));
    let all = export(&admin, "").await;
    assert!(promtool_check(&all).0);
    let (_, again) = import(&admin, &all, true).await;
    assert!(
        again["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "unchanged"),
        "{again}"
    );
    let (_, group) = admin.get("/api/v1/rule-groups/keiko.agents").await;
    assert_eq!(group["limit"], 10);
    assert_eq!(group["rules"][0]["keep_firing_for"], "5m");
    assert_eq!(group["rules"][0]["labels"]["priority"], "2");
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let seed = fixture("seed.rules.yml");
    let (_, report) = import(&admin, &seed, true).await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["groups"][0]["status"], "added");
    assert_eq!(admin.get("/api/v1/rule-groups").await.1, json!([]));

    import(&admin, &seed, false).await;
    let changed = seed.replace("> 0.1", "> 0.2").replace("      # High Memory Usage", "      - record: keiko:errors:rate5m\n        expr: rate(keiko_errors_total[5m])\n      # High Memory Usage");
    let (_, report) = import(&admin, &changed, true).await;
    let rules = report["groups"][0]["rules"].as_array().unwrap();
    assert_eq!(report["groups"][0]["status"], "changed");
    let status = |name: &str| rules.iter().find(|r| r["name"] == name).unwrap()["status"].clone();
    assert_eq!(status("HighErrorRate"), "changed");
    assert_eq!(status("AgentTaskFailures"), "unchanged");
    assert_eq!(status("keiko:errors:rate5m"), "added");
    let (_, group) = admin.get("/api/v1/rule-groups/keiko.rules").await;
    assert_eq!(
        group["rules"][0]["expr"], "rate(keiko_errors_total[5m]) > 0.1",
        "the dry run wrote"
    );
    assert_eq!(group["version"], 1);
}

#[tokio::test]
async fn an_invalid_file_is_refused_whole_with_every_error_and_its_line() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let bad = "groups:\n  - name: good\n    rules:\n      - alert: Fine\n        expr: up == 0\n  - name: bad\n    rules:\n      - alert: Typo\n        expr: rate(keiko_errors_total[5m]) >> 0.1\n      - record: 9invalid\n        expr: up\n      - alert: BadTemplate\n        expr: up == 0\n        for: 5 minutes\n        annotations:\n          summary: \"{{ $value | humanise }}\"\n";
    let (s, err) = import(&admin, bad, false).await;
    assert_eq!(s, 400, "{err}");
    let errors = err["error"]["errors"].as_array().unwrap();
    let find = |field: &str| {
        errors
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("{field} in {errors:?}"))
            .clone()
    };
    assert_eq!(find("rules[0].expr")["line"], 9);
    assert_eq!(find("rules[0].expr")["expr_column"], 31);
    assert_eq!(find("rules[1].record")["line"], 10);
    assert_eq!(find("rules[2].for")["line"], 12);
    assert!(find("rules[2].annotations.summary")["message"]
        .as_str()
        .unwrap()
        .contains("humanise"));
    // Nothing was written, not even the good group.
    assert_eq!(admin.get("/api/v1/rule-groups").await.1, json!([]));
    let (s, err) = import(&admin, "groups:\n  - name: [oops\n", false).await;
    assert_eq!(s, 400);
    assert!(err["error"]["errors"][0]["line"].as_u64().is_some());
}

fn seed_group() -> Value {
    json!({
        "name": "keiko.rules",
        "rules": [{
            "alert": "HighErrorRate",
            "expr": "rate(keiko_errors_total[5m]) > 0.1",
            "for": "2m",
            "labels": {"severity": "warning"},
            "annotations": {"summary": "Hohe Fehlerrate erkannt", "description": "Fehlerrate von {{ $value }} in den letzten 5 Minuten"}
        }]
    })
}

#[tokio::test]
async fn each_validation_error_names_the_rule_and_field() {
    let portal = Portal::start().await;
    let editor = portal.user_with_role("ed", "Editor").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "g", "rules": [{"alert": "A", "expr": "rate(x[5m]) >> 1"}]}),
            "rules[0].expr",
        ),
        (
            json!({"name": "g", "interval": "1 minute", "rules": []}),
            "interval",
        ),
        (
            json!({"name": "g", "rules": [{"alert": "A", "expr": "up", "for": "soon"}]}),
            "rules[0].for",
        ),
        (
            json!({"name": "g", "rules": [{"record": "has space", "expr": "up"}]}),
            "rules[0].record",
        ),
        (
            json!({"name": "g", "rules": [{"expr": "up"}]}),
            "rules[0].alert",
        ),
        (
            json!({"name": "g", "rules": [{"alert": "A", "expr": "up", "labels": {"1bad": "x"}}]}),
            "rules[0].labels.1bad",
        ),
        (
            json!({"name": "g", "rules": [{"alert": "A", "expr": "up", "annotations": {"summary": "{{ $value "}}]}),
            "rules[0].annotations.summary",
        ),
        (json!({"name": "", "rules": []}), "name"),
    ];
    for (body, field) in cases {
        let (s, err) = editor.post("/api/v1/rule-groups", body.clone()).await;
        assert_eq!(s, 400, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
        assert!(err["error"]["errors"]
            .as_array()
            .is_some_and(|e| !e.is_empty()));
    }
    let (_, err) = editor
        .post(
            "/api/v1/rule-groups",
            json!({"name": "g", "rules": [{"alert": "A", "expr": "rate(x[5m]) >> 1"}]}),
        )
        .await;
    let issue = &err["error"]["errors"][0];
    assert_eq!(
        (issue["expr_line"].as_u64(), issue["expr_column"].as_u64()),
        (Some(1), Some(14))
    );
    assert_eq!(issue["rule"], "A");
    assert_eq!(
        editor.get("/api/v1/rule-groups").await.1,
        json!([]),
        "nothing was written"
    );

    // Live validation answers without writing.
    let (s, v) = editor
        .post(
            "/api/v1/rules/validate",
            json!({"expr": "sum(rate(x[5m]) by (job)"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["valid"], false);
    assert!(v["errors"][0]["expr_column"].as_u64().is_some());
    let (_, v) = editor
        .post("/api/v1/rules/validate", json!({"group": {"name": "g", "rules": [{"alert": "A", "expr": "keiko_mcp_server_health"}]}}))
        .await;
    assert_eq!(v["valid"], true);
    let checks: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"no-condition") && checks.contains(&"missing-severity"),
        "{checks:?}"
    );
}

#[tokio::test]
async fn a_stale_save_gets_409_with_the_current_version_and_history_restores() {
    let portal = Portal::start().await;
    let editor = portal.user_with_role("ed", "Editor").await;
    let (s, created) = editor.post("/api/v1/rule-groups", seed_group()).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(
        editor.post("/api/v1/rule-groups", seed_group()).await.0,
        409
    );

    let mut first = seed_group();
    first["version"] = json!(1);
    first["rules"][0]["for"] = json!("3m");
    first["message"] = json!("slower");
    let (s, v2) = editor
        .send(Method::PUT, "/api/v1/rule-groups/keiko.rules", Some(first))
        .await;
    assert_eq!(s, 200, "{v2}");
    assert_eq!(v2["version"], 2);

    let mut stale = seed_group();
    stale["version"] = json!(1);
    stale["rules"][0]["for"] = json!("10m");
    let (s, err) = editor
        .send(Method::PUT, "/api/v1/rule-groups/keiko.rules", Some(stale))
        .await;
    assert_eq!(s, 409);
    assert_eq!(err["error"]["code"], "version_conflict");
    assert_eq!(err["error"]["current"]["version"], 2);
    assert_eq!(err["error"]["current"]["rules"][0]["for"], "3m");

    let (_, history) = editor.get("/api/v1/rule-groups/keiko.rules/history").await;
    assert_eq!(history[0]["version"], 2);
    assert_eq!(history[0]["message"], "slower");
    assert_eq!(history[0]["author"], "ed");
    let (_, v1) = editor
        .get("/api/v1/rule-groups/keiko.rules/history/1")
        .await;
    assert_eq!(v1["group"]["rules"][0]["for"], "2m");
    assert!(v1["yaml"].as_str().unwrap().contains("for: 2m"));

    let (s, restored) = editor
        .post(
            "/api/v1/rule-groups/keiko.rules/restore/1",
            json!({"version": 2}),
        )
        .await;
    assert_eq!(s, 200, "{restored}");
    assert_eq!(restored["version"], 3);
    assert_eq!(restored["rules"][0]["for"], "2m");

    // Deleting needs the current version when given; the history stays.
    assert_eq!(
        editor
            .send(
                Method::DELETE,
                "/api/v1/rule-groups/keiko.rules?version=2",
                None
            )
            .await
            .0,
        409
    );
    assert_eq!(
        editor
            .send(
                Method::DELETE,
                "/api/v1/rule-groups/keiko.rules?version=3",
                None
            )
            .await
            .0,
        204
    );
    let (_, history) = editor.get("/api/v1/rule-groups/keiko.rules/history").await;
    assert_eq!(history[0]["deleted"], true);
    let (_, audit) = portal
        .admin()
        .get("/api/v1/audit?object_type=rule_group")
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
            "rule_group.delete",
            "rule_group.update",
            "rule_group.update",
            "rule_group.create"
        ]
    );
}

#[tokio::test]
async fn viewers_read_rules_but_cannot_change_them() {
    let portal = Portal::start().await;
    let viewer = portal.user_with_role("vi", "Viewer").await;
    assert_eq!(viewer.get("/api/v1/rules").await.0, 200);
    assert_eq!(
        viewer.post("/api/v1/rule-groups", seed_group()).await.0,
        403
    );
    let (s, _) = import(&viewer, &fixture("seed.rules.yml"), false).await;
    assert_eq!(s, 403);
}

async fn import_into(client: &Client, ns: &str, yaml: &str, dry_run: bool) -> (StatusCode, Value) {
    let resp = client
        .request(
            Method::POST,
            &format!("/api/v1/rules/import?dry_run={dry_run}&namespace={ns}"),
        )
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Two files of a public rule collection that both name their group `EmbeddedExporter`.
fn exporter_file(rules: &[(&str, &str)]) -> String {
    let mut yaml = String::from("groups:\n  - name: EmbeddedExporter\n    rules:\n");
    for (alert, expr) in rules {
        yaml.push_str(&format!(
            "      - alert: {alert}\n        expr: {expr}\n        for: 5m\n        labels:\n          severity: warning\n"
        ));
    }
    yaml
}

#[tokio::test]
async fn groups_of_the_same_name_from_two_files_live_in_their_own_namespaces() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let mysql = exporter_file(&[
        ("MysqlDown", "mysql_up == 0"),
        (
            "MysqlTooManyConnections",
            "mysql_global_status_threads_connected > 100",
        ),
    ]);
    let redis = exporter_file(&[("RedisDown", "redis_up == 0")]);
    let (s, first) = import_into(&admin, "mysql", &mysql, false).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["namespace"], "mysql");
    // The second file's preview adds its group to its own namespace: nothing is "changed".
    let (s, preview) = import_into(&admin, "redis", &redis, true).await;
    assert_eq!(s, 200, "{preview}");
    assert_eq!(preview["groups"][0]["status"], "added", "{preview}");
    assert_eq!(preview["rules"]["added"], 1);
    assert_eq!(preview["rules"]["removed"], 0);
    import_into(&admin, "redis", &redis, false).await;

    let (_, groups) = admin.get("/api/v1/rule-groups").await;
    let listed: Vec<(String, String, usize)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["namespace"].as_str().unwrap().to_owned(),
                g["name"].as_str().unwrap().to_owned(),
                g["rules"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("mysql".into(), "EmbeddedExporter".into(), 2),
            ("redis".into(), "EmbeddedExporter".into(), 1)
        ]
    );
    let (s, mysql_group) = admin
        .get("/api/v1/rule-groups/EmbeddedExporter?namespace=mysql")
        .await;
    assert_eq!(s, 200);
    assert_eq!(mysql_group["rules"][0]["alert"], "MysqlDown");
    // Prometheus's own rules API names the namespace as the group's file.
    let (_, prom) = admin.get("/api/v1/rules").await;
    let files: Vec<&str> = prom["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["mysql", "redis"]);

    // A changed file: the dry run names each rule it adds, changes and removes.
    let changed = exporter_file(&[
        ("MysqlDown", "mysql_up == 0 or absent(mysql_up)"),
        (
            "MysqlSlowQueries",
            "increase(mysql_global_status_slow_queries[1m]) > 0",
        ),
    ]);
    let (_, diff) = import_into(&admin, "mysql", &changed, true).await;
    let status = |name: &str| {
        diff["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {diff}"))["status"]
            .clone()
    };
    assert_eq!(status("MysqlDown"), "changed");
    assert_eq!(status("MysqlSlowQueries"), "added");
    assert_eq!(status("MysqlTooManyConnections"), "removed");
    assert_eq!(
        (
            diff["rules"]["added"].clone(),
            diff["rules"]["changed"].clone(),
            diff["rules"]["removed"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    let (_, redis_now) = admin
        .get("/api/v1/rule-groups/EmbeddedExporter?namespace=redis")
        .await;
    assert_eq!(
        redis_now["version"], 1,
        "the dry run touched another namespace"
    );

    // One rule file cannot hold both groups: export one namespace, each passes promtool.
    let resp = admin
        .request(Method::GET, "/api/v1/rules/export")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["field"], "namespace", "{err}");
    for ns in ["mysql", "redis"] {
        let yaml = export(&admin, &format!("?namespace={ns}")).await;
        let (ok, out) = promtool_check(&yaml);
        assert!(ok, "{out}\n{yaml}");
    }

    // Deleting one namespace's group leaves the other's alone; history is per namespace.
    let (s, _) = admin
        .send(
            Method::DELETE,
            "/api/v1/rule-groups/EmbeddedExporter?namespace=mysql&version=1",
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = admin
        .get("/api/v1/rule-groups/EmbeddedExporter?namespace=redis")
        .await;
    assert_eq!(s, 200);
    let (_, history) = admin
        .get("/api/v1/rule-groups/EmbeddedExporter/history?namespace=mysql")
        .await;
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");

    // A namespace that is not a file-like name is refused, naming the field, and writes nothing.
    let (s, err) = import_into(&admin, "a%2Fb", &redis, false).await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(err["error"]["field"], "namespace");
    assert_eq!(
        admin
            .get("/api/v1/rule-groups")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_export_of_a_group_with_portal_settings_is_still_a_file_promtool_accepts() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "portal.settings", "rules": [{
                "alert": "NoTraffic", "expr": "sum(rate(keiko_requests_total[5m])) == 0",
                "for": "5m", "no_data_state": "alerting", "error_state": "keep_state"
            }]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let exported = export(&admin, "?group=portal.settings").await;
    let (ok, out) = promtool_check(&exported);
    assert!(ok, "{out}\n{exported}");
    assert!(
        exported.contains("#   group portal.settings, rule NoTraffic: no_data_state: alerting"),
        "{exported}"
    );
    assert!(
        exported
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| !l.contains("no_data_state") && !l.contains("error_state")),
        "{exported}"
    );
}
