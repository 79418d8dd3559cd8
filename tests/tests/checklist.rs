//! Team checklists through the real server: the seed's template, state changes with history,
//! "not applicable" needing a reason, evidence that follows the alert rules, progress,
//! templates edited without losing history, and the Markdown and CSV exports.

use e2e::api::Client;
use e2e::portal::Portal;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn team(admin: &Client, name: &str) -> i64 {
    let (s, t) = admin.post("/api/v1/teams", json!({"name": name})).await;
    assert_eq!(s, 201, "{t}");
    t["id"].as_i64().unwrap()
}

fn item<'a>(list: &'a Value, title: &str) -> &'a Value {
    list["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no item {title}"))
}

async fn patch(client: &Client, team: i64, item: i64, body: Value) -> (StatusCode, Value) {
    client
        .send(
            Method::PATCH,
            &format!("/api/v1/teams/{team}/checklist/items/{item}"),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn the_default_template_is_the_seeds_checklist_in_german_and_english() {
    let portal = Portal::start().await;
    let (s, templates) = portal.admin().get("/api/v1/checklist-templates").await;
    assert_eq!(s, 200);
    let t = &templates[0];
    assert_eq!(t["name"], "Monitoring-Checkliste");
    let sections: Vec<&str> = t["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title_de"].as_str().unwrap())
        .collect();
    assert_eq!(
        sections,
        ["Metriken", "Logging", "Tracing", "Alerting", "Dashboards"]
    );
    let items: Vec<String> = t["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .map(|i| {
            format!(
                "**{}** {}",
                i["title_de"].as_str().unwrap(),
                i["detail_de"].as_str().unwrap()
            )
        })
        .collect();
    // The seed's lines, verbatim: 4 + 4 + 3 + 4 + 4 items.
    assert_eq!(items.len(), 19);
    assert_eq!(
        items[0],
        "**System-Metriken** (CPU, Memory, Disk, Network) erfasst"
    );
    assert_eq!(
        items[3],
        "**Custom-Metriken** für spezifische Use Cases erstellt"
    );
    assert_eq!(
        items[5],
        "**Correlation-IDs** für Request-Tracking aktiviert"
    );
    assert_eq!(items[11], "**Alert-Regeln** definiert");
    assert_eq!(items[18], "**Security-Monitoring** Dashboard aktiviert");
    assert_eq!(t["sections"][0]["items"][0]["title_en"], "System metrics");

    let admin = portal.admin();
    let id = team(&admin, "SRE").await;
    let (_, en) = admin
        .get(&format!("/api/v1/teams/{id}/checklist?lang=en"))
        .await;
    assert_eq!(en["sections"][3]["title"], "Alerting");
    assert_eq!(en["sections"][3]["items"][0]["title"], "Alert rules");
    // The user's language setting picks the default.
    let (_, me) = admin.get("/api/v1/users/me").await;
    admin
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{}", me["id"]),
            Some(json!({"language": "en"})),
        )
        .await;
    let (_, mine) = admin.get(&format!("/api/v1/teams/{id}/checklist")).await;
    assert_eq!(mine["language"], "en");
    assert_eq!(mine["sections"][0]["items"][0]["title"], "System metrics");
}

#[tokio::test]
async fn state_changes_are_kept_with_history_and_not_applicable_needs_a_reason() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = team(&admin, "Agents").await;
    let editor = portal.user_with_role("ed", "Editor").await;
    let (_, me) = editor.get("/api/v1/users/me").await;

    let (s, err) = patch(&editor, id, 8, json!({"state": "not_applicable"})).await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "reason");
    let (s, err) = patch(&editor, id, 8, json!({"state": "finished"})).await;
    assert_eq!(
        (s.as_u16(), err["error"]["field"].as_str()),
        (400, Some("state"))
    );
    let (s, err) = patch(&editor, id, 8, json!({"due_date": "next week"})).await;
    assert_eq!(
        (s.as_u16(), err["error"]["field"].as_str()),
        (400, Some("due_date"))
    );
    let (s, err) = patch(
        &editor,
        id,
        8,
        json!({"evidence_links": ["javascript:alert(1)"]}),
    )
    .await;
    assert_eq!(
        (s.as_u16(), err["error"]["field"].as_str()),
        (400, Some("evidence_links"))
    );
    let (s, err) = patch(&editor, id, 8, json!({"owner_id": 999})).await;
    assert_eq!(
        (s.as_u16(), err["error"]["field"].as_str()),
        (400, Some("owner_id"))
    );

    let (s, _) = patch(
        &editor,
        id,
        8,
        json!({"state": "not_applicable", "reason": "Logs are kept by the platform team"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, changed) = patch(
        &editor,
        id,
        5,
        json!({"state": "in_progress", "owner_id": me["id"], "due_date": "2001-01-31",
               "note": "See **runbook** <script>x</script>", "evidence_links": ["https://wiki.example/logging"]}),
    )
    .await;
    assert_eq!(s, 200, "{changed}");
    patch(&editor, id, 5, json!({"state": "done"})).await;

    let (_, list) = editor
        .get(&format!("/api/v1/teams/{id}/checklist?lang=de"))
        .await;
    let logging = item(&list, "Strukturiertes Logging");
    assert_eq!(logging["state"], "done");
    assert_eq!(logging["owner"]["login"], "ed");
    assert!(logging["note_html"]
        .as_str()
        .unwrap()
        .contains("<strong>runbook</strong>"));
    assert!(!logging["note_html"].as_str().unwrap().contains("<script>"));
    assert_eq!(logging["evidence_links"][0], "https://wiki.example/logging");
    let retention = item(&list, "Log-Retention");
    assert_eq!(retention["state"], "not_applicable");
    assert_eq!(retention["reason"], "Logs are kept by the platform team");
    // 1 done of 18 applicable (one is n/a); per section: Logging 1 of 3.
    assert_eq!(
        list["progress"],
        json!({"done": 1, "applicable": 18, "percent": 5.6})
    );
    assert_eq!(list["sections"][1]["progress"]["applicable"], 3);

    let (s, history) = editor
        .get(&format!("/api/v1/teams/{id}/checklist/items/5/history"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["actor"], "ed");
    assert_eq!(history[0]["before"]["state"], "in_progress");
    assert_eq!(history[0]["after"]["state"], "done");
    assert_eq!(history[0]["changed"], json!(["state"]));

    // Viewers read but cannot change.
    let viewer = portal.user_with_role("vi", "Viewer").await;
    assert_eq!(
        viewer.get(&format!("/api/v1/teams/{id}/checklist")).await.0,
        200
    );
    assert_eq!(patch(&viewer, id, 5, json!({"state": "open"})).await.0, 403);
}

#[tokio::test]
async fn the_alert_rule_evidence_follows_the_teams_own_rules_and_flags_a_done_item() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = team(&admin, "Platform").await;
    let other = team(&admin, "SRE").await;
    let url = format!("/api/v1/teams/{id}/checklist?lang=de");

    let (_, list) = admin.get(&url).await;
    let alerting = item(&list, "Alert-Regeln");
    assert_eq!(alerting["evidence"]["check"], "alert_rules_defined");
    assert_eq!(alerting["evidence"]["status"], "failing");
    assert!(
        alerting["evidence"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("the team owns no rule namespace"),
        "{alerting}"
    );
    // Checks without data say so, and never pretend: the log check asks the log store on
    // the schedule only, and this team names no services for it to look for.
    let logs = item(&list, "Correlation-IDs");
    assert_eq!(logs["evidence"]["status"], "unverifiable");
    let detail = logs["evidence"]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("not checked yet")
            || detail.starts_with("cannot verify — the team names no services"),
        "{detail}"
    );

    // The team owns namespace `platform`; a rule elsewhere is not its evidence.
    let (s, owned) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/teams/{id}/ownership"),
            Some(json!({"rule_namespaces": ["platform"]})),
        )
        .await;
    assert_eq!(s, 200, "{owned}");
    let rule = |ns: &str| json!({"namespace": ns, "name": "keiko.rules", "rules": [{"alert": "MCPServerDown", "expr": "keiko_mcp_server_health == 0", "for": "30s", "labels": {"severity": "critical"}}]});
    assert_eq!(
        admin.post("/api/v1/rule-groups", rule("default")).await.0,
        201
    );
    let (_, list) = admin.get(&url).await;
    assert_eq!(item(&list, "Alert-Regeln")["evidence"]["status"], "failing");
    assert_eq!(
        admin.post("/api/v1/rule-groups", rule("platform")).await.0,
        201
    );
    let (_, list) = admin.get(&url).await;
    let alerting = item(&list, "Alert-Regeln");
    assert_eq!(alerting["evidence"]["status"], "verified");
    assert_eq!(
        alerting["evidence"]["detail"],
        "alerting rules: 1 in namespace platform"
    );
    assert!(alerting["evidence"]["checked_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // Another team that owns nothing gets no badge from Platform's rules.
    let (_, theirs) = admin
        .get(&format!("/api/v1/teams/{other}/checklist?lang=de"))
        .await;
    assert_eq!(
        item(&theirs, "Alert-Regeln")["evidence"]["status"],
        "failing"
    );

    patch(&admin, id, 12, json!({"state": "done"})).await;
    assert_eq!(
        admin
            .send(
                Method::DELETE,
                "/api/v1/rule-groups/keiko.rules?namespace=platform&version=1",
                None
            )
            .await
            .0,
        204
    );
    let (_, list) = admin.get(&url).await;
    let alerting = item(&list, "Alert-Regeln");
    assert_eq!(alerting["evidence"]["status"], "failing");
    assert_eq!(
        alerting["evidence"]["detail"],
        "no alerting rule: 0 in namespace platform"
    );
    let warning = alerting["warning"].as_str().unwrap();
    assert!(
        warning.starts_with("done, but evidence fails since 20"),
        "{warning}"
    );
    let (s, results) = admin.post("/api/v1/checklist/evidence", json!(null)).await;
    assert_eq!(s, 200);
    assert!(results
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["check"] == "alert_rules_defined"
            && r["team_id"] == id
            && r["status"] == "failing"));
}

#[tokio::test]
async fn ownership_is_validated_whole_and_viewers_cannot_change_it() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = team(&admin, "Platform").await;
    let url = format!("/api/v1/teams/{id}/ownership");
    let put = |body: Value| {
        let admin = admin.clone();
        let url = url.clone();
        async move { admin.send(Method::PUT, &url, Some(body)).await }
    };
    for (body, field) in [
        (json!({"dashboards": ["no-such-board"]}), "dashboards[0]"),
        (
            json!({"rule_namespaces": ["ok", "a/b"]}),
            "rule_namespaces[1]",
        ),
        (json!({"services": ["api", "a|b"]}), "services[1]"),
        (json!({"services": ["api", "api"]}), "services[1]"),
        (json!({"owners": []}), "owners"),
    ] {
        let (s, err) = put(body.clone()).await;
        assert!(s == 400 || s == 422, "{body} → {s} {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    assert_eq!(
        admin.get(&url).await.1,
        json!({"dashboards": [], "rule_namespaces": [], "services": []})
    );
    let (s, _) = put(json!({"dashboards": ["keiko-overview"], "services": ["keiko"]})).await;
    assert_eq!(s, 200);
    let viewer = portal.user_with_role("vi", "Viewer").await;
    let (s, _) = viewer
        .send(Method::PUT, &url, Some(json!({"services": []})))
        .await;
    assert_eq!(s, 403, "a viewer");
    assert_eq!(admin.get(&url).await.1["services"], json!(["keiko"]));
}

#[tokio::test]
async fn exports_overview_and_template_edits() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let sre = team(&admin, "SRE").await;
    let agents = team(&admin, "Agents, Tools").await;
    patch(&admin, sre, 1, json!({"state": "done", "owner_id": 1})).await;
    patch(
        &admin,
        sre,
        8,
        json!({"state": "not_applicable", "reason": "=cmd|' /C calc'!A0"}),
    )
    .await;
    patch(
        &admin,
        agents,
        2,
        json!({"state": "in_progress", "due_date": "2001-01-01"}),
    )
    .await;

    let resp = admin
        .request(
            Method::GET,
            &format!("/api/v1/teams/{sre}/checklist?format=md&lang=de"),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/markdown"));
    let md = resp.text().await.unwrap();
    assert!(md.starts_with("# Monitoring-Checkliste — SRE"), "{md}");
    assert!(md.contains("### Metriken"));
    assert!(md
        .contains("- [x] **System-Metriken** (CPU, Memory, Disk, Network) erfasst — owner: admin"));
    assert!(md.contains("- [ ] **Application-Metriken** (Requests, Errors, Latency) implementiert"));
    assert!(md.contains("- [-] **Log-Retention** definiert (n/a: "));

    let resp = admin
        .request(
            Method::GET,
            &format!("/api/v1/teams/{sre}/checklist?format=csv&lang=en"),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,item,detail,state,reason,owner,due_date,evidence,evidence_links"
    );
    assert_eq!(lines.len(), 20);
    assert!(
        lines[1].starts_with(
            "Metrics,System metrics,\"(CPU, memory, disk, network) collected\",done,,admin,"
        ),
        "{}",
        lines[1]
    );
    assert!(
        csv.contains(",'=cmd|' /C calc'!A0,"),
        "formula cells are defused: {csv}"
    );
    let (s, err) = admin
        .get(&format!("/api/v1/teams/{sre}/checklist?format=pdf"))
        .await;
    assert_eq!(
        (s.as_u16(), err["error"]["field"].as_str()),
        (400, Some("format"))
    );

    let (_, overview) = admin.get("/api/v1/checklist/overview?lang=de").await;
    let teams = overview["teams"].as_array().unwrap();
    // The two made here and the one a fresh portal starts with.
    let names: Vec<&str> = teams
        .iter()
        .map(|t| t["team"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Agents, Tools", "Default", "SRE"]);
    let sre_row = teams.iter().find(|t| t["team"]["name"] == "SRE").unwrap();
    assert_eq!(sre_row["sections"][0]["progress"]["done"], 1);
    assert!(overview["attention"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["team"] == "Agents, Tools" && a["overdue"] == true));

    // Edit the template: rename a section, drop an item; the team's history of it stays.
    let (_, templates) = admin.get("/api/v1/checklist-templates").await;
    let mut body = json!({"name": "Monitoring-Checkliste", "version": templates[0]["version"], "sections": []});
    for (si, s) in templates[0]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let items: Vec<Value> = s["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"] != 8)
            .cloned()
            .collect();
        body["sections"].as_array_mut().unwrap().push(json!({
            "id": s["id"], "title_de": if si == 0 { "Metriken (System und App)" } else { s["title_de"].as_str().unwrap() },
            "title_en": s["title_en"], "items": items.iter().map(|i| json!({
                "id": i["id"], "title_de": i["title_de"], "detail_de": i["detail_de"], "title_en": i["title_en"],
                "detail_en": i["detail_en"], "evidence_check": i["evidence_check"]})).collect::<Vec<_>>()
        }));
    }
    let (s, t) = admin
        .send(
            Method::PUT,
            "/api/v1/checklist-templates/1",
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["version"], 2);
    assert_eq!(t["sections"][0]["title_de"], "Metriken (System und App)");
    let (_, list) = admin
        .get(&format!("/api/v1/teams/{sre}/checklist?lang=de"))
        .await;
    assert_eq!(
        list["sections"][1]["items"].as_array().unwrap().len(),
        3,
        "Log-Retention is removed"
    );
    let (_, history) = admin
        .get(&format!("/api/v1/teams/{sre}/checklist/items/8/history"))
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1, "its history stays");
    // A stale template save is refused.
    assert_eq!(
        admin
            .send(Method::PUT, "/api/v1/checklist-templates/1", Some(body))
            .await
            .0,
        409
    );
    let (s, created) = admin
        .post("/api/v1/checklist-templates", json!({"name": "Production readiness", "sections": [{"title_de": "Betrieb", "title_en": "Operations", "items": [{"title_de": "Runbook", "title_en": "Runbook", "evidence_check": "no_such_check"}]}]}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        created["error"]["field"],
        "sections[0].items[0].evidence_check"
    );
}

/// Runs the evidence checks now (checks that ask data sources never run on a page read).
async fn check_now(admin: &Client) {
    let (s, _) = admin.post("/api/v1/checklist/evidence", json!(null)).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn metrics_evidence_checks_the_teams_services_in_a_real_prometheus() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = team(&admin, "Platform").await;
    let url = format!("/api/v1/teams/{id}/checklist?lang=en");
    let evidence = |list: &Value, title: &str| item(list, title)["evidence"].clone();

    // A team that names no services cannot be checked: it says so.
    check_now(&admin).await;
    let (_, list) = admin.get(&url).await;
    let custom = evidence(&list, "Custom metrics");
    assert_eq!(custom["check"], "custom_metrics");
    assert_eq!(custom["status"], "unverifiable");
    assert!(
        custom["detail"]
            .as_str()
            .unwrap()
            .contains("names no services"),
        "{custom}"
    );
    let own = |services: Value| {
        let admin = admin.clone();
        async move {
            let (s, body) = admin
                .send(
                    Method::PUT,
                    &format!("/api/v1/teams/{id}/ownership"),
                    Some(json!({ "services": services })),
                )
                .await;
            assert_eq!(s, 200, "{body}");
        }
    };
    own(json!(["keiko"])).await;
    check_now(&admin).await;
    let (_, list) = admin.get(&url).await;
    let custom = evidence(&list, "Custom metrics");
    // The built-in store is asked too: it holds no series of job keiko.
    assert_eq!(custom["status"], "failing", "{custom}");
    assert_eq!(
        custom["detail"],
        "Embedded: no keiko_* series from jobs keiko"
    );

    // A source nobody answers at: failing, with the reason.
    let dead = format!("http://127.0.0.1:{}", e2e::free_port());
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "dead", "type": "prometheus", "url": dead, "timeout_ms": 500}),
        )
        .await;
    assert_eq!(s, 201);
    check_now(&admin).await;
    let (_, list) = admin.get(&url).await;
    let custom = evidence(&list, "Custom metrics");
    assert_eq!(custom["status"], "failing");
    assert!(
        custom["detail"]
            .as_str()
            .unwrap()
            .contains("dead: the source could not be reached"),
        "{custom}"
    );
    let gone = format!("/api/v1/datasources/{}", src["id"]);
    assert_eq!(admin.send(Method::DELETE, &gone, None).await.0, 204);

    // Prometheus scraping the portal (job keiko) and a real node exporter (job node).
    let node = e2e::prometheus::NodeExporter::start().await;
    let portal_target = portal.url("").replace("http://", "");
    let node_target = node.target();
    let prom = e2e::prometheus::Prometheus::scraping_jobs(&[
        ("keiko", &portal_target),
        ("node", &node_target),
    ])
    .await;
    e2e::eventually(
        std::time::Duration::from_secs(20),
        "a scrape of the portal and the node exporter",
        || async {
            (!prom.query("keiko_requests_total").await.is_empty()
                && !prom.query("node_cpu_seconds_total").await.is_empty())
            .then_some(())
        },
    )
    .await;
    let (s, _) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "Prometheus", "type": "prometheus", "url": prom.url(), "default": true}),
        )
        .await;
    assert_eq!(s, 201);
    check_now(&admin).await;
    let (_, list) = admin.get(&url).await;
    let custom = evidence(&list, "Custom metrics");
    assert_eq!(custom["status"], "verified", "{custom}");
    let detail = custom["detail"].as_str().unwrap();
    assert!(
        detail.contains("in data source “Prometheus”") && detail.contains("from job keiko"),
        "{detail}"
    );
    // The portal's own process_* series are not host metrics: the item fails and says
    // exactly which of the four kinds are missing.
    let system = evidence(&list, "System metrics");
    assert_eq!(system["status"], "failing", "{system}");
    assert_eq!(
        system["detail"],
        "no CPU, memory, disk or network series from jobs keiko"
    );
    // Once the team owns the node exporter's job, all four kinds are found.
    own(json!(["keiko", "node"])).await;
    check_now(&admin).await;
    let (_, list) = admin.get(&url).await;
    let system = evidence(&list, "System metrics");
    assert_eq!(system["status"], "verified", "{system}");
    let detail = system["detail"].as_str().unwrap();
    for kind in ["CPU: ", "memory: ", "disk: ", "network: "] {
        assert!(detail.contains(kind), "{kind} missing in {detail}");
    }
    assert!(
        detail.contains("from job node") && !detail.contains("missing"),
        "{detail}"
    );

    // The shipped "Portal self-monitoring" dashboard shows the portal from the same data:
    // no panel fails, and the memory gauge holds the process's resident memory.
    let (s, board) = admin.get("/api/v1/dashboards/portal-self/render").await;
    assert_eq!(s, 200, "{board}");
    for p in board["panels"].as_array().unwrap() {
        assert_ne!(p["body"]["kind"], "error", "{p}");
    }
    let gauge = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Resident memory")
        .unwrap();
    assert_eq!(gauge["body"]["kind"], "gauge", "{gauge}");
    assert!(
        gauge["body"]["values"][0]["raw"].as_f64().unwrap() > 1e6,
        "{gauge}"
    );
}

#[tokio::test]
async fn log_contact_point_and_escalation_evidence_come_from_the_stores_and_the_configuration() {
    let receiver = e2e::receiver::Receiver::start().await;
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let id = team(&admin, "Platform").await;
    let (s, owned) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/teams/{id}/ownership"),
            Some(json!({"services": ["keiko-api"]})),
        )
        .await;
    assert_eq!(s, 200, "{owned}");
    let evidence = |results: &Value, check: &str| {
        results
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["team_id"] == id && r["check"] == check)
            .cloned()
            .unwrap()
    };

    // Nothing logged and nothing sent yet: both fail, saying what is missing.
    let (s, results) = admin.post("/api/v1/checklist/evidence", json!(null)).await;
    assert_eq!(s, 200, "{results}");
    let logs = evidence(&results, "correlation_id_logs");
    assert_eq!(logs["status"], "failing", "{logs}");
    assert_eq!(
        logs["detail"],
        "no log line with a correlation_id from services keiko-api in the last 24 h"
    );
    let channel = evidence(&results, "notification_channel_tested");
    assert_eq!(channel["status"], "failing", "{channel}");
    assert!(
        channel["detail"].as_str().unwrap().contains("never sent"),
        "{channel}"
    );
    let spans = evidence(&results, "recent_spans");
    assert_eq!(spans["status"], "failing", "{spans}");
    assert_eq!(
        spans["detail"],
        "no span from services keiko-api in the last 24 h"
    );
    let escalation = evidence(&results, "escalation_policy_defined");
    assert_eq!(escalation["status"], "failing", "{escalation}");
    assert_eq!(
        escalation["detail"],
        "no escalation policy exists; add one under Alerting → Escalation"
    );
    // The seed's "Escalation-Policies implementiert" carries this check.
    let (_, list) = admin
        .get(&format!("/api/v1/teams/{id}/checklist?lang=de"))
        .await;
    assert_eq!(
        item(&list, "Escalation-Policies")["evidence"]["check"],
        "escalation_policy_defined"
    );

    // Lines of another service, or without a correlation_id, are not the team's evidence.
    let lines = [
        json!({"level": "INFO", "message": "other", "service": "billing", "correlation_id": "c-0"}),
        json!({"level": "INFO", "message": "no id", "service": "keiko-api"}),
        json!({"level": "INFO", "message": "Request completed", "service": "keiko-api", "correlation_id": "c-1"}),
        json!({"level": "ERROR", "message": "Request failed", "service": "keiko-api", "correlation_id": "c-2"}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let r = admin
        .request(Method::POST, "/api/v1/logs")
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // A contact point whose test reaches the receiver.
    let (s, cp) = admin
        .post(
            "/api/v1/contact-points",
            json!({"name": "ops-hook", "type": "webhook", "settings": {"url": receiver.url("/hook")}}),
        )
        .await;
    assert_eq!(s, 201, "{cp}");
    let (s, sent) = admin
        .post(
            &format!("/api/v1/contact-points/{}/test", cp["id"]),
            json!(null),
        )
        .await;
    assert_eq!(s, 200, "{sent}");

    // An escalation policy over it: critical to the hook now and again after ten minutes.
    let (s, policy) = admin
        .post(
            "/api/v1/escalation-policies",
            json!({"name": "on-call", "matchers": [], "steps": {"critical": [
                {"contact_point": "ops-hook", "after": "0s"},
                {"contact_point": "ops-hook", "after": "10m"}
            ]}}),
        )
        .await;
    assert_eq!(s, 201, "{policy}");

    let (_, results) = admin.post("/api/v1/checklist/evidence", json!(null)).await;
    let escalation = evidence(&results, "escalation_policy_defined");
    assert_eq!(escalation["status"], "verified", "{escalation}");
    assert_eq!(
        escalation["detail"],
        "“on-call” — critical: ops-hook now, ops-hook after 10m"
    );
    let logs = evidence(&results, "correlation_id_logs");
    assert_eq!(logs["status"], "verified", "{logs}");
    assert_eq!(
        logs["detail"],
        "log lines with a correlation_id in the last 24 h: 2 from service keiko-api"
    );
    let channel = evidence(&results, "notification_channel_tested");
    assert_eq!(channel["status"], "verified", "{channel}");
    assert!(
        channel["detail"]
            .as_str()
            .unwrap()
            .starts_with("“ops-hook” (webhook): test sent at 20"),
        "{channel}"
    );
    // The page shows the stored result of the log check.
    let (_, list) = admin
        .get(&format!("/api/v1/teams/{id}/checklist?lang=de"))
        .await;
    assert_eq!(
        item(&list, "Correlation-IDs")["evidence"]["status"],
        "verified"
    );
}
