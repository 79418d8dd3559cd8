//! Dashboards through the real server: the seed's Grafana JSON imported verbatim and four
//! Grafana exports written from Grafana's documented schema (schema 14 to 39, rows, nested
//! rows, `__inputs`, variables), each with its report; rendering against a real Prometheus
//! with known values; versions, conflicts, restore, duplicate, stars, search, provisioning
//! and the shipped dashboards.

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::svg::{series_polylines, Plot};
use reqwest::Method;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = e2e::workspace_root().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The panel with `id` in a list of panels (a stored document's or a rendered view's).
fn panel_by_id(panels: &Value, id: u64) -> Value {
    panels
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no panel {id} in {panels}"))
        .clone()
}

async fn import(admin: &Client, body: Value) -> Value {
    let (s, answer) = admin.post("/api/v1/dashboards/import", body).await;
    assert_eq!(s, 201, "{answer}");
    answer
}

/// The report entry for `title` (panel or variable).
fn entry<'a>(report: &'a Value, kind: &str, title: &str) -> &'a Value {
    report
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["title"] == title)
        .unwrap_or_else(|| panic!("no {kind} `{title}` in {report:#}"))
}

/// Every panel of a Grafana export (rows, panels nested in rows, old `rows[]` layouts) and
/// every variable has its own entry in the import report.
fn assert_every_panel_and_variable_reported(grafana: &Value, report: &Value) {
    fn walk<'a>(panels: &'a Value, titles: &mut Vec<&'a str>) {
        for p in panels.as_array().into_iter().flatten() {
            titles.push(p["title"].as_str().unwrap_or_default());
            walk(&p["panels"], titles);
        }
    }
    let d = if grafana["dashboard"].is_object() {
        &grafana["dashboard"]
    } else {
        grafana
    };
    let mut panels = Vec::new();
    walk(&d["panels"], &mut panels);
    for row in d["rows"].as_array().into_iter().flatten() {
        if let Some(title) = row["title"].as_str().filter(|t| !t.is_empty()) {
            panels.push(title);
        }
        walk(&row["panels"], &mut panels);
    }
    assert!(!panels.is_empty(), "the fixture has panels");
    for title in panels {
        entry(report, "panel", title);
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        entry(report, "variable", v["name"].as_str().unwrap());
    }
}

fn notes(e: &Value) -> String {
    e["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn the_seed_dashboard_imports_verbatim_with_a_report() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    // `dashboards/keiko-overview.json` is the seed's JSON, byte for byte.
    let seed = fixture("dashboards/keiko-overview.json");
    let answer = import(&admin, seed).await;
    let report = &answer["report"];
    for title in ["Request Rate", "Error Rate", "Agent Tasks"] {
        let e = entry(report, "panel", title);
        assert_eq!(e["source_type"], "graph");
        assert_eq!(e["outcome"], "converted_with_changes");
        let n = notes(e);
        assert!(
            n.contains("`graph` shown as a time series") && n.contains("no gridPos"),
            "{n}"
        );
    }
    let stat = entry(report, "panel", "MCP Server Health");
    assert_eq!(stat["source_type"], "stat");
    assert_eq!(notes(stat), "no gridPos; placed on the grid");

    let uid = answer["uid"].as_str().unwrap();
    let (s, stored) = admin.get(&format!("/api/v1/dashboards/{uid}")).await;
    assert_eq!(s, 200);
    let d = &stored["dashboard"];
    assert_eq!(d["title"], "Keiko Personal Assistant - Overview");
    assert_eq!(d["format"], "keiko-dashboard/1");
    let panels = d["panels"].as_array().unwrap();
    assert_eq!(panels.len(), 4);
    assert_eq!(
        panels[0]["targets"][0]["expr"],
        "rate(keiko_requests_total[5m])"
    );
    assert_eq!(panels[0]["targets"][0]["legend"], "{{method}} {{endpoint}}");
    assert_eq!(panels[3]["type"], "stat");
    let grids: Vec<(u64, u64)> = panels
        .iter()
        .map(|p| {
            (
                p["grid"]["x"].as_u64().unwrap(),
                p["grid"]["y"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        grids,
        [(0, 0), (12, 0), (0, 8), (12, 8)],
        "two per line, no overlap"
    );

    // Export gives the native JSON back, and importing that is lossless.
    let resp = admin
        .request(Method::GET, &format!("/api/v1/dashboards/{uid}/export"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let mut exported: Value = resp.json().await.unwrap();
    assert_eq!(&exported, d);
    exported["uid"] = json!("copy-of-seed");
    let again = import(&admin, exported).await;
    assert!(again["report"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["outcome"] == "converted"));
}

#[tokio::test]
async fn grafana_exports_of_four_schema_versions_report_every_panel() {
    let portal = Portal::start().await;
    let admin = portal.admin();

    // Schema 14: `rows`, singlestat, a graph with stacking, an HTML text panel.
    let a = import(
        &admin,
        fixture("tests/fixtures/grafana/v14-rows-singlestat.json"),
    )
    .await;
    let r = &a["report"];
    assert_every_panel_and_variable_reported(
        &fixture("tests/fixtures/grafana/v14-rows-singlestat.json"),
        r,
    );
    let dash = &r[0];
    assert_eq!(dash["kind"], "dashboard");
    assert!(
        notes(dash).contains("schemaVersion 14 is older than 16"),
        "{dash}"
    );
    assert!(notes(dash).contains("`rows` layout converted"));
    let graph = entry(r, "panel", "Request latency");
    assert!(notes(graph).contains("stacking not supported"), "{graph}");
    let single = entry(r, "panel", "Error budget");
    assert_eq!(single["outcome"], "converted_with_changes");
    assert!(notes(single).contains("`singlestat` shown as a stat panel"));
    assert!(notes(entry(r, "panel", "Runbook")).contains("HTML content"));
    assert_eq!(entry(r, "panel", "Traffic")["outcome"], "converted");
    assert_eq!(entry(r, "variable", "env")["outcome"], "converted");
    let (_, stored) = admin.get("/api/v1/dashboards/legacy-rows").await;
    let panels = stored["dashboard"]["panels"].as_array().unwrap();
    let latency = panels
        .iter()
        .find(|p| p["title"] == "Request latency")
        .unwrap();
    assert_eq!(latency["grid"], json!({"x": 0, "y": 1, "w": 16, "h": 10}));
    assert_eq!(latency["unit"], "s");
    let budget = panels
        .iter()
        .find(|p| p["title"] == "Error budget")
        .unwrap();
    assert_eq!(budget["reducer"], "mean");
    assert_eq!(
        budget["thresholds"],
        json!([{"value": null, "color": "green"}, {"value": 80.0, "color": "orange"}, {"value": 90.0, "color": "red"}])
    );

    // Schema 27: `__inputs`, timeseries, stat, gauge, bargauge, table, a query variable.
    let b = import(
        &admin,
        fixture("tests/fixtures/grafana/v27-inputs-stat-gauge.json"),
    )
    .await;
    let r = &b["report"];
    assert_every_panel_and_variable_reported(
        &fixture("tests/fixtures/grafana/v27-inputs-stat-gauge.json"),
        r,
    );
    assert!(notes(&r[0]).contains("${DS_PROMETHEUS}"), "{}", r[0]);
    for title in ["Tasks", "Active tasks", "Memory", "Servers"] {
        assert_eq!(entry(r, "panel", title)["outcome"], "converted", "{title}");
    }
    assert!(notes(entry(r, "panel", "Queue depth")).contains("`bargauge` shown as a gauge"));
    assert_eq!(entry(r, "variable", "endpoint")["outcome"], "converted");
    let (_, stored) = admin.get("/api/v1/dashboards/agents-27").await;
    let d = &stored["dashboard"];
    assert_eq!(d["refresh"], "30s");
    assert_eq!(
        d["variables"][0]["query"],
        "label_values(keiko_requests_total, endpoint)"
    );
    assert_eq!(d["variables"][0]["include_all"], true);
    assert_eq!(d["variables"][0]["current"], json!(["$__all"]));
    let stat = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Active tasks")
        .unwrap();
    assert_eq!(stat["reducer"], "max");
    assert_eq!(
        stat["thresholds"][1],
        json!({"value": 10.0, "color": "red"})
    );

    // Schema 36 (wrapped, with a folder): rows holding panels, unsupported panel types and
    // variable types.
    let c = import(
        &admin,
        fixture("tests/fixtures/grafana/v36-rows-unsupported.json"),
    )
    .await;
    let r = &c["report"];
    assert_every_panel_and_variable_reported(
        &fixture("tests/fixtures/grafana/v36-rows-unsupported.json"),
        r,
    );
    for (title, kind) in [
        ("Latency heatmap", "heatmap"),
        ("Calls by tool", "piechart"),
    ] {
        let e = entry(r, "panel", title);
        assert_eq!(e["outcome"], "not_supported");
        assert!(notes(e).contains(&format!("panel type `{kind}` is not supported")));
    }
    assert_eq!(
        entry(r, "panel", "Calls")["outcome"],
        "converted",
        "nested in a collapsed row"
    );
    assert_eq!(entry(r, "panel", "Help")["outcome"], "converted");
    assert_eq!(entry(r, "variable", "resolution")["outcome"], "converted");
    assert!(notes(entry(r, "variable", "ds")).contains("data-source variables"));
    assert!(notes(entry(r, "variable", "Filters")).contains("ad-hoc"));
    let (_, stored) = admin.get("/api/v1/dashboards/mcp-36").await;
    assert_eq!(stored["dashboard"]["folder"], "MCP");
    let kinds: Vec<&str> = stored["dashboard"]["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "row",
            "unsupported",
            "unsupported",
            "row",
            "timeseries",
            "text"
        ]
    );

    // Schema 39: what is dropped is said (transformations, a hidden query, an unknown
    // unit); the value mapping is kept; a Loki logs panel becomes a logs panel; other
    // non-PromQL panels are not supported.
    let d = import(&admin, fixture("tests/fixtures/grafana/v39-changes.json")).await;
    let r = &d["report"];
    assert_every_panel_and_variable_reported(
        &fixture("tests/fixtures/grafana/v39-changes.json"),
        r,
    );
    let req = notes(entry(r, "panel", "Requests"));
    for said in ["transformations dropped", "hidden query B left out"] {
        assert!(req.contains(said), "{said}: {req}");
    }
    assert!(!req.contains("mapping"), "the mapping is kept: {req}");
    let (_, stored) = admin
        .get(&format!(
            "/api/v1/dashboards/{}",
            d["uid"].as_str().unwrap()
        ))
        .await;
    let requests = stored["dashboard"]["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Requests")
        .unwrap();
    assert_eq!(
        requests["mappings"],
        json!([{"value": 0.0, "text": "idle"}])
    );
    // A Loki logs panel becomes a logs panel with its query in the log store's language.
    assert_eq!(entry(r, "panel", "Chat logs")["outcome"], "converted");
    let chat_logs = stored["dashboard"]["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Chat logs")
        .unwrap();
    assert_eq!(chat_logs["type"], "logs");
    assert_eq!(chat_logs["targets"][0]["expr"], "app:keiko AND \"chat\"");
    let sessions = entry(r, "panel", "Sessions");
    assert_eq!(sessions["outcome"], "not_supported");
    assert!(notes(sessions).contains("not PromQL") && notes(sessions).contains("furlongs"));
    assert!(notes(entry(r, "variable", "region")).contains("constant"));

    // A dry run reports without storing; bad JSON is refused with the field.
    let mut dry = fixture("tests/fixtures/grafana/v39-changes.json");
    dry["uid"] = json!("dry-run-only");
    let (s, ans) = admin
        .post("/api/v1/dashboards/import?dry_run=true", dry)
        .await;
    assert_eq!(s, 200, "{ans}");
    assert_eq!(admin.get("/api/v1/dashboards/dry-run-only").await.0, 404);
    let (s, bad) = admin
        .post(
            "/api/v1/dashboards/import",
            json!({"format": "keiko-dashboard/1", "title": "", "panels": []}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(bad["error"]["field"], "title");
}

#[tokio::test]
async fn a_dashboard_renders_known_values_and_a_failing_panel_keeps_its_error() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 50 * 60) / 15 * 15;
    let om = e2e::seed_data::agent_tasks(start, 160, 10);
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, _) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "P", "type": "prometheus", "url": prom.url(), "default": true}),
        )
        .await;
    assert_eq!(s, 201);
    let end = start + 15 * 159;
    let doc = json!({"dashboard": {
    "uid": "render-test", "title": "Render test", "tags": ["test"],
    "time": {"from": start.to_string(), "to": end.to_string()},
    "variables": [{"name": "agent", "type": "query", "query": "label_values(keiko_agent_tasks_active, agent_id)", "multi": true, "include_all": true, "current": ["$__all"]}],
    "panels": [
        {"id": 1, "type": "timeseries", "title": "Tasks", "grid": {"x": 0, "y": 0, "w": 24, "h": 10},
         "targets": [{"expr": "keiko_agent_tasks_active{agent_id=~\"$agent\"}", "legend": "{{agent_id}} - {{task_type}}"}]},
        {"id": 2, "type": "stat", "title": "Max planner", "grid": {"x": 0, "y": 10, "w": 8, "h": 4}, "reducer": "max",
         "targets": [{"expr": "keiko_agent_tasks_active{agent_id=\"planner\"}"}],
         "thresholds": [{"value": null, "color": "green"}, {"value": 5, "color": "red"}]},
        {"id": 3, "type": "table", "title": "Now", "grid": {"x": 8, "y": 10, "w": 8, "h": 4},
         "targets": [{"expr": "sum(keiko_agent_tasks_active)", "legend": "all"}]},
        {"id": 4, "type": "text", "title": "Notes", "grid": {"x": 16, "y": 10, "w": 8, "h": 4}, "text": "**bold** <script>alert(1)</script>"},
        {"id": 5, "type": "timeseries", "title": "Broken", "grid": {"x": 0, "y": 14, "w": 24, "h": 6},
         "targets": [{"expr": "rate(keiko_agent_tasks_active[5m]"}]}
    ]}});
    // PromQL is checked when a panel runs, not on save (variables may complete it).
    let (s, created) = admin.post("/api/v1/dashboards", doc).await;
    assert_eq!(s, 201, "{created}");
    let (s, view) = admin
        .get("/api/v1/dashboards/render-test/render?width=1200")
        .await;
    assert_eq!(s, 200, "{view}");
    let var = &view["variables"][0];
    assert_eq!(var["options"], json!(["coder", "planner"]));
    assert_eq!(var["current"], json!(["$__all"]));
    let panel = |id: u64| panel_by_id(&view["panels"], id);

    // The time series: one line per agent, each point where its value puts it.
    let ts = panel(1);
    assert_eq!(ts["body"]["kind"], "chart", "{ts}");
    let chart = &ts["body"]["chart"];
    let names = e2e::svg::series_names(chart);
    assert_eq!(names, ["coder - chat", "planner - chat"]);
    assert_eq!(
        ts["query"],
        "keiko_agent_tasks_active{agent_id=~\"(coder|planner)\"}"
    );
    let plot = Plot::of(chart);
    let lines = series_polylines(chart["svg"].as_str().unwrap());
    assert_eq!(lines.len(), 2);
    for (line, s) in lines.iter().zip(chart["series"].as_array().unwrap()) {
        let drawn = s["points"].as_array().unwrap();
        assert_eq!(line.len(), drawn.len());
        for (&(x, y), p) in line.iter().zip(drawn) {
            let (t, v) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            let factor = if s["name"] == "coder - chat" {
                2.0
            } else {
                1.0
            };
            // The value at t is the last sample at or before t.
            let i = ((t - start as f64) / 15.0).floor() as i64;
            assert_eq!(v, factor * (i % 10) as f64, "the value at {t}");
            let (want_x, want_y) = plot.pixel(t, v);
            assert!((x as f64 - want_x).abs() < 1.0 && (y as f64 - want_y).abs() < 1.0);
        }
    }

    // The stat: the planner's maximum is 9, over the red threshold.
    let stat = panel(2);
    assert_eq!(stat["body"]["kind"], "stat", "{stat}");
    let v = &stat["body"]["values"][0];
    assert_eq!(v["raw"], 9.0);
    assert_eq!(v["value"], "9");
    assert_eq!(v["color"], "#E02F44");
    assert!(!v["sparkline"].as_str().unwrap().is_empty());

    // The table: the sum at the end of the range (159 % 10 = 9; 9 + 18).
    let table = panel(3);
    assert_eq!(table["body"]["table"]["rows"][0]["raw"], 27.0, "{table}");
    assert_eq!(table["body"]["table"]["rows"][0]["series"], "all");

    // The text: Markdown, with the script shown as text.
    let text = panel(4);
    let html = text["body"]["html"].as_str().unwrap();
    assert!(
        html.contains("<strong>bold</strong>") && html.contains("&lt;script&gt;"),
        "{html}"
    );

    // The page itself, as the server sends it (no script runs): the charts, the text
    // panel and the broken panel's error are all in the first HTML.
    let page = admin
        .html(&format!("/d/render-test?from={start}&to={end}"))
        .await;
    assert!(page.contains("class=\"chart-svg\""), "{page}");
    assert!(page.contains("<strong>bold</strong>") && page.contains("panel-error"));

    // The broken panel carries its own error; the others rendered.
    let broken = panel(5);
    assert_eq!(broken["body"]["kind"], "error");
    assert!(
        broken["body"]["message"]
            .as_str()
            .unwrap()
            .contains("query"),
        "{broken}"
    );

    // One variable value narrows the query; a zoomed range is honoured.
    let (_, one) = admin
        .get(&format!(
            "/api/v1/dashboards/render-test/render?var-agent=planner&from={}&to={end}",
            start + 600
        ))
        .await;
    let ts = one["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == 1)
        .unwrap();
    assert_eq!(ts["body"]["chart"]["series"].as_array().unwrap().len(), 1);
    assert_eq!(ts["body"]["chart"]["plot"]["x_min"], (start + 600) as f64);
    assert_eq!(one["variables"][0]["current"], json!(["planner"]));

    // Viewing put it in the recently viewed list.
    let (_, recent) = admin.get("/api/v1/dashboards/recent").await;
    assert_eq!(recent[0]["uid"], "render-test");
}

#[tokio::test]
async fn versions_conflicts_restore_duplicate_stars_search_and_delete() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let editor = portal.user_with_role("ed", "Editor").await;
    let viewer = portal.user_with_role("vi", "Viewer").await;
    let doc = |title: &str| {
        json!({"uid": "ops", "title": title, "tags": ["ops"], "folder": "Team", "panels": [
            {"id": 1, "type": "text", "title": "Hello", "grid": {"x": 0, "y": 0, "w": 12, "h": 4}, "text": "v1"}
        ]})
    };
    let (s, _) = editor
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": doc("Ops"), "message": "first"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = viewer
        .post("/api/v1/dashboards", json!({"dashboard": doc("X")}))
        .await;
    assert_eq!(s, 403);
    let (s, dup) = editor
        .post("/api/v1/dashboards", json!({"dashboard": doc("Again")}))
        .await;
    assert_eq!(s, 409);
    assert_eq!(dup["error"]["field"], "uid");

    // Two editors start from version 1; the second save is refused with the current version.
    let (s, saved) = editor
        .send(
            Method::PUT,
            "/api/v1/dashboards/ops",
            Some(json!({"dashboard": doc("Ops v2"), "version": 1, "message": "rename"})),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["version"], 2);
    let (s, stale) = admin
        .send(
            Method::PUT,
            "/api/v1/dashboards/ops",
            Some(json!({"dashboard": doc("Mine"), "version": 1})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(stale["error"]["current"], 2);
    let (_, now) = admin.get("/api/v1/dashboards/ops").await;
    assert_eq!(
        now["dashboard"]["title"], "Ops v2",
        "the stale save changed nothing"
    );

    // Bad documents name the field and change nothing.
    let mut bad = doc("Ops");
    bad["panels"][0]["grid"]["w"] = json!(30);
    let (s, err) = editor
        .send(
            Method::PUT,
            "/api/v1/dashboards/ops",
            Some(json!({"dashboard": bad, "version": 2})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "panels[0].grid.w");

    // History and restore.
    let (_, versions) = admin.get("/api/v1/dashboards/ops/versions").await;
    let list: Vec<(i64, &str)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(list, [(2, "rename"), (1, "first")]);
    let (_, v1) = admin.get("/api/v1/dashboards/ops/versions/1").await;
    assert_eq!(v1["title"], "Ops");
    let (s, restored) = editor
        .post("/api/v1/dashboards/ops/restore/1", json!({"version": 2}))
        .await;
    assert_eq!(s, 200, "{restored}");
    assert_eq!(restored["version"], 3);
    assert_eq!(restored["dashboard"]["title"], "Ops");

    // Duplicate, star, search by title, tag and folder.
    let (s, copy) = editor
        .post(
            "/api/v1/dashboards/ops/duplicate",
            json!({"title": "Ops copy"}),
        )
        .await;
    assert_eq!(s, 201, "{copy}");
    let copy_uid = copy["uid"].as_str().unwrap_or_default();
    assert!(
        !copy_uid.is_empty() && copy_uid != "ops",
        "a new uid: {copy}"
    );
    let (s, stored_copy) = admin.get(&format!("/api/v1/dashboards/{copy_uid}")).await;
    assert_eq!(s, 200, "{stored_copy}");
    assert_eq!(stored_copy["dashboard"]["title"], "Ops copy");
    assert_eq!(
        stored_copy["dashboard"]["panels"], restored["dashboard"]["panels"],
        "the copy holds the original's panels"
    );
    assert_eq!(
        viewer
            .post("/api/v1/dashboards/ops/star", json!(null))
            .await
            .0,
        200
    );
    let (_, starred) = viewer.get("/api/v1/dashboards?starred=true").await;
    assert_eq!(starred.as_array().unwrap().len(), 1);
    assert_eq!(starred[0]["uid"], "ops");
    let (s, theirs) = admin.get("/api/v1/dashboards?starred=true").await;
    assert_eq!(s, 200, "{theirs}");
    assert_eq!(theirs, json!([]), "stars are per user");
    let (_, found) = viewer.get("/api/v1/dashboards?query=copy").await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, tagged) = viewer.get("/api/v1/dashboards?tag=ops&folder=Team").await;
    assert_eq!(tagged.as_array().unwrap().len(), 2);

    // Every change is in the audit log.
    let (_, audit) = admin
        .get("/api/v1/audit?object_type=dashboard&limit=50")
        .await;
    let entries = audit["entries"]
        .as_array()
        .or_else(|| audit.as_array())
        .unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["dashboard.create", "dashboard.update", "dashboard.restore"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    // Delete.
    let (s, _) = viewer
        .send(Method::DELETE, "/api/v1/dashboards/ops", None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = editor
        .send(Method::DELETE, "/api/v1/dashboards/ops", None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(admin.get("/api/v1/dashboards/ops").await.0, 404);
}

#[tokio::test]
async fn provisioned_and_shipped_dashboards_load_at_start_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let boards = dir.path().join("dashboards");
    std::fs::create_dir_all(&boards).unwrap();
    std::fs::copy(
        e2e::workspace_root().join("tests/fixtures/grafana/v27-inputs-stat-gauge.json"),
        boards.join("agents.json"),
    )
    .unwrap();
    std::fs::write(
        boards.join("native.json"),
        json!({"format": "keiko-dashboard/1", "title": "From a file", "panels": []}).to_string(),
    )
    .unwrap();
    std::fs::write(boards.join("broken.json"), "{ not json").unwrap();
    let portal =
        Portal::start_with(&[("KEIKO_PROVISIONING_DIR", dir.path().to_str().unwrap())]).await;
    let admin = portal.admin();
    let (_, list) = admin.get("/api/v1/dashboards").await;
    let by_uid = |uid: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|d| d["uid"] == uid)
            .unwrap_or_else(|| panic!("{uid} in {list:#}"))
            .clone()
    };
    assert!(by_uid("agents-27")["provisioned_from"]
        .as_str()
        .unwrap()
        .ends_with("agents.json"));
    assert!(by_uid("native")["provisioned_from"]
        .as_str()
        .unwrap()
        .ends_with("native.json"));
    assert_eq!(
        by_uid("keiko-overview")["title"],
        "Keiko Personal Assistant - Overview"
    );
    assert_eq!(
        by_uid("keiko-overview")["provisioned_from"],
        "builtin:keiko-overview.json"
    );
    assert_eq!(by_uid("portal-self")["title"], "Portal self-monitoring");
    assert_eq!(
        list.as_array().unwrap().len(),
        4,
        "the broken file is skipped"
    );
    portal
        .wait_for_log("the refused file", |l| {
            l["message"] == "Dashboard file refused"
                && l["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("broken.json"))
        })
        .await;

    // Editing a provisioned dashboard works and warns; unlinking keeps the edit.
    let (_, stored) = admin.get("/api/v1/dashboards/native").await;
    let mut d = stored["dashboard"].clone();
    d["title"] = json!("Edited in the UI");
    let (s, saved) = admin
        .send(
            Method::PUT,
            "/api/v1/dashboards/native",
            Some(json!({"dashboard": d, "version": 1})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(saved["warning"]
        .as_str()
        .unwrap()
        .contains("replaces it on the next start"));
    let (s, _) = admin
        .post("/api/v1/dashboards/native/unlink", json!(null))
        .await;
    assert_eq!(s, 200);
    let (_, after) = admin.get("/api/v1/dashboards/native").await;
    assert_eq!(after["provisioned_from"], Value::Null);

    // The shipped overview is not evidence by its file name: the seed's JSON has no
    // `overview` tag, so a team owning it is told exactly that; tagged, it verifies.
    let (s, team) = admin
        .post("/api/v1/teams", json!({"name": "Platform"}))
        .await;
    assert_eq!(s, 201);
    let (_, shipped) = admin.get("/api/v1/dashboards/keiko-overview").await;
    assert_eq!(shipped["dashboard"]["tags"], json!([]), "{shipped}");
    let overview_evidence = || async {
        let (_, checklist) = admin
            .get(&format!("/api/v1/teams/{}/checklist?lang=en", team["id"]))
            .await;
        checklist["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["items"].as_array().unwrap())
            .find(|i| i["evidence"]["check"] == "overview_dashboard")
            .map(|i| i["evidence"].clone())
            .unwrap()
    };
    let e = overview_evidence().await;
    assert_eq!(e["status"], "failing", "{e}");
    let (s, _) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/teams/{}/ownership", team["id"]),
            Some(json!({"dashboards": ["keiko-overview"]})),
        )
        .await;
    assert_eq!(s, 200);
    let e = overview_evidence().await;
    assert_eq!(e["status"], "failing", "{e}");
    assert_eq!(
        e["detail"],
        "“Keiko Personal Assistant - Overview” is not tagged `overview`"
    );
    let mut doc = shipped["dashboard"].clone();
    doc["tags"] = json!(["overview"]);
    let (s, saved) = admin
        .send(
            Method::PUT,
            "/api/v1/dashboards/keiko-overview",
            Some(json!({"dashboard": doc, "version": shipped["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    let e = overview_evidence().await;
    assert_eq!(e["status"], "verified", "{e}");
    assert!(
        e["detail"]
            .as_str()
            .unwrap()
            .starts_with("“Keiko Personal Assistant - Overview” is tagged `overview` and has"),
        "{e}"
    );
}

/// A Grafana 10 export with the units, value mappings and overrides Grafana users rely on.
fn grafana_fields_export(start: i64, end: i64) -> Value {
    let stat = |id: u32,
                title: &str,
                expr: &str,
                legend: &str,
                defaults: Value,
                overrides: Value| {
        json!({"id": id, "type": "stat", "title": title, "gridPos": {"x": (id % 4) * 6, "y": 0, "w": 6, "h": 4},
               "targets": [{"expr": expr, "legendFormat": legend, "refId": "A"}],
               "fieldConfig": {"defaults": defaults, "overrides": overrides}})
    };
    json!({"uid": "fields", "title": "Fields", "schemaVersion": 39,
    "time": {"from": start.to_string(), "to": end.to_string()},
    "panels": [
        stat(1, "Up", "vector(0)", "", json!({"mappings": [
            {"type": "value", "options": {"0": {"text": "Down", "color": "red", "index": 0}, "1": {"text": "Up", "color": "green", "index": 1}}}
        ]}), json!([])),
        stat(2, "Load", "vector(7)", "", json!({"mappings": [
            {"type": "range", "options": {"from": 5, "to": 10, "result": {"text": "Busy", "color": "orange"}}}
        ]}), json!([])),
        stat(3, "Traffic", "vector(2048)", "", json!({"unit": "Bps"}), json!([])),
        stat(4, "Link", "vector(1500000)", "", json!({"unit": "bps"}), json!([])),
        stat(5, "Healthy", "vector(1)", "", json!({"unit": "bool_yes_no"}), json!([])),
        stat(6, "Service", "label_replace(vector(42), \"service\", \"api\", \"\", \"\")", "{{service}}", json!({"unit": "short"}),
            json!([{"matcher": {"id": "byName", "options": "api"}, "properties": [
                {"id": "displayName", "value": "Public API"}, {"id": "unit", "value": "percent"},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "purple"}}]}])),
        {"id": 7, "type": "timeseries", "title": "Agents", "gridPos": {"x": 0, "y": 4, "w": 24, "h": 8},
         "targets": [{"expr": "keiko_agent_tasks_active", "legendFormat": "{{agent_id}}", "refId": "A"}],
         "fieldConfig": {"defaults": {}, "overrides": [
            {"matcher": {"id": "byRegexp", "options": "plan.*"}, "properties": [
                {"id": "displayName", "value": "Planner"},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "#00FF00"}}]}]}}
    ]})
}

#[tokio::test]
async fn imported_units_value_mappings_and_overrides_show_as_grafana_shows_them() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = (now - 50 * 60) / 15 * 15;
    let end = start + 15 * 159;
    let prom = Prometheus::with_data(&e2e::seed_data::agent_tasks(start, 160, 10)).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, _) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "P", "type": "prometheus", "url": prom.url(), "default": true}),
        )
        .await;
    assert_eq!(s, 201);
    let answer = import(
        &admin,
        json!({"dashboard": grafana_fields_export(start, end)}),
    )
    .await;
    let report = &answer["report"];
    for title in [
        "Up", "Load", "Traffic", "Link", "Healthy", "Service", "Agents",
    ] {
        let e = entry(report, "panel", title);
        assert_eq!(e["outcome"], "converted", "{e}");
        assert!(!notes(e).contains("dropped"), "{title}: {}", notes(e));
    }
    // The stored document holds them in the native model.
    let (_, stored) = admin.get("/api/v1/dashboards/fields").await;
    let panel = |id: u64| panel_by_id(&stored["dashboard"]["panels"], id);
    assert_eq!(
        panel(1)["mappings"][0],
        json!({"value": 0.0, "text": "Down", "color": "red"})
    );
    assert_eq!(panel(6)["overrides"][0]["matcher"], json!({"name": "api"}));

    let (s, view) = admin
        .get("/api/v1/dashboards/fields/render?width=1200")
        .await;
    assert_eq!(s, 200, "{view}");
    let value = |id: u64| panel_by_id(&view["panels"], id)["body"]["values"][0].clone();
    assert_eq!(
        (value(1)["value"].clone(), value(1)["color"].clone()),
        (json!("Down"), json!("#E02F44"))
    );
    assert_eq!(
        (value(2)["value"].clone(), value(2)["color"].clone()),
        (json!("Busy"), json!("#FF9830"))
    );
    assert_eq!(value(3)["value"], "2.05 kB/s");
    assert_eq!(value(4)["value"], "1.5 Mbps");
    assert_eq!(value(5)["value"], "Yes");
    let service = value(6);
    assert_eq!(
        (
            service["name"].clone(),
            service["value"].clone(),
            service["color"].clone()
        ),
        (json!("Public API"), json!("42%"), json!("#A352CC"))
    );
    // The time series: the planner renamed and drawn in its override's colour.
    let chart = &view["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == 7)
        .unwrap()["body"]["chart"];
    let series = chart["series"].as_array().unwrap();
    let planner = series
        .iter()
        .find(|s| s["name"] == "Planner")
        .unwrap_or_else(|| panic!("{series:?}"));
    assert_eq!(planner["color"], "#00FF00");
    assert!(series
        .iter()
        .any(|s| s["name"] == "coder" && s["color"] != "#00FF00"));
    assert!(
        chart["svg"]
            .as_str()
            .unwrap()
            .to_ascii_uppercase()
            .contains("#00FF00"),
        "the line is drawn in it"
    );

    // A mapping or override the model cannot hold is refused on save, naming its field.
    let mut doc = stored["dashboard"].clone();
    let first = doc["panels"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["id"] == 1)
        .unwrap();
    doc["panels"][first]["mappings"][0]["special"] = json!("nan");
    let (s, err) = admin
        .send(
            Method::PUT,
            "/api/v1/dashboards/fields",
            Some(json!({"dashboard": doc, "version": stored["version"]})),
        )
        .await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(
        err["error"]["field"],
        format!("panels[{first}].mappings[0]")
    );
}
