//! The portal under hostile input: every route that takes a body, a path or a query string
//! gets inputs that are deep, long, huge, malformed, of the wrong type, with NUL bytes and
//! control characters. Each must be answered 4xx with the field named, change nothing, and
//! leave the process alive with `/healthz` answering.

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::api::{Auth, Client};
use e2e::portal::Portal;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Routes that take no body: a body sent to them is ignored, so they are probed by path only.
const BODYLESS: &[&str] = &[
    "DELETE",
    "/api/v1/datasources/{id}/test",
    "/api/v1/contact-points/{id}/test",
    "/api/v1/checklist/evidence",
    "/api/v1/dashboards/{uid}/star",
    "/api/v1/dashboards/{uid}/unlink",
    "/api/v1/dashboards/{uid}/duplicate",
    "/api/v1/teams/{id}/members/{user_id}",
    "/api/v1/scrape-config/reload",
    "/api/v1/alerts/{fingerprint}/ack",
];

fn deep_parens(depth: usize) -> String {
    format!("{}1{}", "(".repeat(depth), ")".repeat(depth))
}

/// What an observer can read of the portal's state: any accepted change shows here.
async fn snapshot(admin: &Client) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    for (key, path) in [
        ("users", "/api/v1/users"),
        ("teams", "/api/v1/teams"),
        ("groups", "/api/v1/rule-groups"),
        ("dashboards", "/api/v1/dashboards"),
        ("sources", "/api/v1/datasources"),
        ("templates", "/api/v1/checklist-templates"),
        ("tokens", "/api/v1/tokens"),
        ("audit", "/api/v1/audit?limit=1000"),
        ("checklist", "/api/v1/teams/1/checklist"),
    ] {
        let (s, mut v) = admin.get(path).await;
        assert_eq!(s, 200, "{path}: {v}");
        // Reading a dashboard list records nothing, but evidence timestamps move.
        strip(&mut v, &["checked_at", "last_used_at"]);
        out.insert(key, v);
    }
    out
}

fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(m) => {
            for k in keys {
                m.remove(*k);
            }
            m.values_mut().for_each(|x| strip(x, keys));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
        _ => {}
    }
}

async fn assert_alive(portal: &Portal) {
    let resp = reqwest::Client::new()
        .get(portal.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the portal still answers /healthz");
    assert_eq!(resp.status(), 200);
}

/// A value for a failure message, cut short (answers may echo a huge input).
fn short(v: &Value) -> String {
    v.to_string().chars().take(400).collect()
}

/// A refusal as the API promises it: 4xx, JSON, and a field for 400/413/415/422.
fn assert_refused(what: &str, status: StatusCode, body: &Value) {
    let what: String = what.chars().take(120).collect();
    assert!(
        status.is_client_error(),
        "{what}: expected a 4xx, got {status}: {}",
        short(body)
    );
    // Prometheus's API keeps Prometheus's error shape; its message names the parameter.
    // (Limits in front of every route, such as the body size, answer in the portal's.)
    if what.contains(" /prometheus/api/v1/") && !matches!(status.as_u16(), 401 | 413) {
        assert_eq!(body["status"], "error", "{what}: {}", short(body));
        assert!(
            body["errorType"].as_str().is_some_and(|t| !t.is_empty())
                && body["error"]
                    .as_str()
                    .is_some_and(|m| m.contains("parameter")),
            "{what}: not Prometheus's error shape naming the parameter: {}",
            short(body)
        );
        return;
    }
    let error = &body["error"];
    assert!(
        error.is_object(),
        "{what}: not the error shape: {}",
        short(body)
    );
    if matches!(status.as_u16(), 400 | 413 | 415 | 422) {
        let field = error["field"].as_str().unwrap_or("");
        assert!(
            !field.is_empty(),
            "{what}: {status} without a field: {}",
            short(body)
        );
        assert!(
            field.len() < 200,
            "{what}: the field echoes the value: {}",
            short(body)
        );
    }
}

struct World {
    team: i64,
    group: String,
    board: String,
    source: i64,
}

async fn world(admin: &Client) -> World {
    let (s, team) = admin.post("/api/v1/teams", json!({"name": "SRE"})).await;
    assert_eq!(s, 201, "{team}");
    let group = "keiko.rules".to_owned();
    let (s, g) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": group, "rules": [{"alert": "Down", "expr": "up == 0"}]}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let (s, d) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "board", "title": "Board"}}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "Prom", "type": "prometheus", "url": "http://127.0.0.1:9"}),
        )
        .await;
    assert_eq!(s, 201, "{src}");
    World {
        team: team["id"].as_i64().unwrap(),
        group,
        board: "board".into(),
        source: src["id"].as_i64().unwrap(),
    }
}

fn fill(path: &str, w: &World) -> String {
    path.replace("{id}", &w.team.to_string())
        .replace("{name}", &w.group)
        .replace("{uid}", &w.board)
        .replace("{version}", "1")
        .replace("{item}", "1")
        .replace("{user_id}", "1")
        .replace("/datasources/1", &format!("/datasources/{}", w.source))
}

async fn routes(admin: &Client) -> Vec<(String, String)> {
    let (s, routes) = admin.get("/api/v1/meta/routes").await;
    assert_eq!(s, 200);
    routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn raw(
    client: &Client,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let oversized = body.len() > 2 * 1024 * 1024;
    // An oversized body goes on a connection of its own: the server answers 413 and closes
    // it, and a pooled connection closed that way would fail the next request.
    let own;
    let client = if oversized {
        own = Client::new(&client.base, client.auth.clone());
        &own
    } else {
        client
    };
    let resp = match client
        .request(method, path)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
    {
        Ok(resp) => resp,
        // Over the limit, the server may answer 413 and close before the client has sent
        // all of it; the client then sees the connection end instead of the answer.
        Err(e) if oversized && e.is_request() => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": {"field": "body", "closed_early": true}}),
            )
        }
        Err(e) => panic!("{path}: {e}"),
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_body_route_refuses_hostile_bodies_and_changes_nothing() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let w = world(&admin).await;
    let before = snapshot(&admin).await;
    let huge = format!("{{\"name\":\"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("not JSON", "application/json", b"{\"name\": ".to_vec()),
        ("trailing garbage", "application/json", b"{} x".to_vec()),
        (
            "deep JSON",
            "application/json",
            format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)).into_bytes(),
        ),
        (
            "deep objects",
            "application/json",
            format!("{}1{}", "{\"a\":".repeat(20_000), "}".repeat(20_000)).into_bytes(),
        ),
        ("a number", "application/json", b"42".to_vec()),
        ("a string", "application/json", b"\"\\u0000\"".to_vec()),
        (
            "NUL and control characters",
            "application/json",
            b"{\"\\u0000\x01\": \"\\u0000\\u001b[31m\"}".to_vec(),
        ),
        (
            "wrong member types",
            "application/json",
            br#"{"name": 42, "login": [], "password": {}, "rules": "x", "dashboard": 7, "sections": 1, "note": 5}"#.to_vec(),
        ),
        ("invalid UTF-8", "application/json", vec![b'"', 0xff, 0xfe, b'"']),
        ("not JSON at all", "text/plain", b"name=x".to_vec()),
        ("over the body limit", "application/json", huge.into_bytes()),
    ];
    let mut probed = 0;
    for (method, path) in routes(&admin).await {
        if method == "GET"
            || BODYLESS.contains(&method.as_str())
            || BODYLESS.contains(&path.as_str())
        {
            continue;
        }
        // The rule importer takes YAML and the restore routes an optional body.
        let url = fill(&path, &w);
        for (what, content_type, body) in &bodies {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, answer) = raw(&admin, m, &url, content_type, body.clone()).await;
            let label = format!("{method} {path} with {what}");
            if path.ends_with("/import") && path.contains("/rules/") {
                // YAML: every body above is text the importer must refuse as a rule file.
                assert_refused(&label, status, &answer);
            } else if path.contains("/restore/") && status.is_success() {
                panic!("{label}: a hostile body was accepted: {answer}");
            } else if (path.starts_with("/_template/")
                || path.starts_with("/_index_template/")
                || path.starts_with("/_ilm/"))
                && status.is_success()
            {
                // Elasticsearch probes: any JSON object is acknowledged (and not kept).
                assert_eq!(*what, "wrong member types", "{label}: {answer}");
            } else if path == "/api/v1/logs" && status.is_success() {
                // JSON lines: any JSON object is one log record; nothing else is accepted.
                assert_eq!(*what, "wrong member types", "{label}: {answer}");
            } else if (path == "/v1/logs" || path == "/v1/traces") && status.is_success() {
                // As for metrics: an object of unknown fields is an empty OTLP request.
                assert_eq!(answer, json!({}), "{label}");
            } else if path == "/v1/metrics" && status.is_success() {
                // OTLP/JSON receivers must ignore unknown fields: a JSON object of them is
                // an empty request, answered as "all accepted" with nothing stored.
                assert_eq!(answer, json!({}), "{label}");
                let (_, stored) = admin
                    .get("/prometheus/api/v1/series?match[]=%7B__name__%3D~%22.%2B%22%2Cjob%21%3D%22keiko-portal%22%7D")
                    .await;
                assert_eq!(stored["data"], json!([]), "{label}: something was stored");
            } else {
                assert_refused(&label, status, &answer);
            }
            probed += 1;
        }
        assert_alive(&portal).await;
    }
    assert!(probed > 100, "only {probed} probes ran");
    assert_eq!(
        snapshot(&admin).await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn hostile_paths_and_query_strings_are_refused_with_a_field() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let w = world(&admin).await;
    let before = snapshot(&admin).await;
    let long = "x".repeat(20_000);
    let values = [
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "%E2%80%AE%0A%0D",
        "-1",
        "99999999999999999999999",
        long.as_str(),
    ];
    let deep = deep_parens(5_000).replace('(', "%28").replace(')', "%29");
    let queries = [
        format!("?query={}", "%28".repeat(10_000)),
        format!("?query={deep}"),
        "?version=abc&limit=-5&before_id=x&since=%00".to_owned(),
        format!("?from={long}&to=now&width=99999999&height=-1"),
        "?query=up&start=NaN&end=Inf&step=0".to_owned(),
        "?match[]=%00&lang=%00&dry_run=maybe".to_owned(),
        format!("?match[]={deep}"),
        "?match[]=up&".repeat(30),
    ];
    for (method, path) in routes(&admin).await {
        if method != "GET" {
            continue;
        }
        for v in values {
            let url = path
                .replace("{id}", v)
                .replace("{name}", v)
                .replace("{uid}", v)
                .replace("{version}", v)
                .replace("{item}", v)
                .replace("{user_id}", v);
            if url == path {
                continue;
            }
            let (status, body) = admin.get(&url).await;
            assert_refused(&format!("GET {path} with {v:.40}"), status, &body);
        }
        let filled = fill(&path, &w);
        // The live tail is a stream that stays open while its query is valid: only the
        // unparsable queries are sent to it (refused before the stream starts).
        let streams = path == "/api/v1/logs/tail";
        for q in queries.iter().take(if streams { 2 } else { queries.len() }) {
            let (status, body) = admin.get(&format!("{filled}{q}")).await;
            let label = format!("GET {path}{:.60}", q);
            assert!(
                !status.is_server_error() || status == 502 || status == 504,
                "{label}: {status} {}",
                short(&body)
            );
            if status.is_client_error() {
                assert_refused(&label, status, &body);
            }
        }
        assert_alive(&portal).await;
    }
    assert_eq!(
        snapshot(&admin).await,
        before,
        "a refused request changed something"
    );
}

#[tokio::test]
async fn nested_promql_is_refused_everywhere_it_can_be_written() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let viewer = portal.user_with_role("vera", "Viewer").await;
    let w = world(&admin).await;
    let before = snapshot(&admin).await;
    let deep = deep_parens(50_000);

    // A viewer's live validation: an answer with the limit, not a dead process.
    let (s, v) = viewer
        .post("/api/v1/rules/validate", json!({ "expr": deep }))
        .await;
    assert_eq!(s, 200, "{}", short(&v));
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["field"], "expr");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("limit"), "{message}");
    let nested = deep_parens(5_000);
    let (s, v) = viewer
        .post("/api/v1/rules/validate", json!({ "expr": nested }))
        .await;
    assert_eq!(s, 200, "{}", short(&v));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("nest deeper than 64"));
    let encoded = nested.replace('(', "%28").replace(')', "%29");
    let (s, v) = viewer
        .get(&format!("/api/v1/promql/validate?query={encoded}"))
        .await;
    assert_eq!(s, 200, "{}", short(&v));
    assert_eq!(v["valid"], false);
    assert_alive(&portal).await;

    // Every way to store it is refused and names the field.
    let group = json!({"name": "deep", "rules": [{"alert": "Deep", "expr": nested}]});
    let (s, e) = admin.post("/api/v1/rule-groups", group).await;
    assert_eq!(s, 400, "{}", short(&e));
    assert_eq!(e["error"]["field"], "rules[0].expr", "{}", short(&e));
    let yaml = format!(
        "groups:\n  - name: deep\n    rules:\n      - alert: Deep\n        expr: '{nested}'\n"
    );
    let resp = admin
        .request(Method::POST, "/api/v1/rules/import")
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let board = json!({"dashboard": {"uid": "deep", "title": "Deep", "panels": [
        {"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": nested}]}
    ]}});
    let (s, e) = admin.post("/api/v1/dashboards", board).await;
    assert_eq!(s, 400, "{}", short(&e));
    assert_eq!(e["error"]["field"], "panels[0].targets[0].expr");
    let grafana = json!({"title": "Deep", "uid": "deep-g", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "timeseries", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": nested, "refId": "A"}]}
    ]});
    let (s, e) = admin.post("/api/v1/dashboards/import", grafana).await;
    assert_eq!(s, 400, "{}", short(&e));
    // Asking a source with it is refused before any source is asked.
    let (s, e) = viewer
        .get(&format!(
            "/api/v1/datasources/{}/chart?query={encoded}&from=now-1h&to=now",
            w.source
        ))
        .await;
    assert_eq!(s, 400, "{}", short(&e));
    assert_eq!(e["error"]["field"], "query");
    for route in ["labels", "series"] {
        let (s, e) = viewer
            .get(&format!(
                "/api/v1/datasources/{}/{route}?match[]={encoded}",
                w.source
            ))
            .await;
        assert_eq!(s, 400, "{route}: {}", short(&e));
        assert_eq!(e["error"]["field"], "match[]", "{route}");
    }

    // A long wrong expression gets its error's place (once cost minutes of one core).
    let long = format!(
        "{} >> 1",
        vec!["rate(keiko_errors_total{job=\"api\"}[5m])"; 300].join(" or ")
    );
    let (s, v) = viewer
        .post("/api/v1/rules/validate", json!({ "expr": long }))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["offset"].as_u64().unwrap() as usize,
        long.len() - 3
    );
    assert_alive(&portal).await;
    assert_eq!(snapshot(&admin).await, before);
}

/// A database written by an older version may hold what the portal now refuses; the
/// portal must still start, serve everything else, and say what is wrong with that one.
#[tokio::test]
async fn stored_documents_the_parser_cannot_survive_do_not_stop_the_portal() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, _) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "old", "rules": [{"alert": "Old", "expr": "up == 0"}]}),
        )
        .await;
    assert_eq!(s, 201);
    let board = json!({"dashboard": {"uid": "old", "title": "Old", "panels": [
        {"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": "up"}]}
    ]}});
    let (s, _) = admin.post("/api/v1/dashboards", board).await;
    assert_eq!(s, 201);
    // A source, so rendering gets as far as reading the panel's query.
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "Prom", "type": "prometheus", "url": "http://127.0.0.1:9", "default": true}),
        )
        .await;
    assert_eq!(s, 201, "{src}");
    let dir = portal.stop();

    // What an older version let through: 5,000 nested brackets in both.
    let deep = deep_parens(5_000);
    let db = dir.path().join("keiko.db");
    let script = r#"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
deep = sys.argv[2]
spec = json.loads(db.execute("SELECT spec FROM rule_groups WHERE name='old'").fetchone()[0])
spec["rules"][0]["expr"] = deep
db.execute("UPDATE rule_groups SET spec=? WHERE name='old'", (json.dumps(spec),))
doc = json.loads(db.execute("SELECT doc FROM dashboards WHERE uid='old'").fetchone()[0])
doc["panels"][0]["targets"][0]["expr"] = deep
db.execute("UPDATE dashboards SET doc=? WHERE uid='old'", (json.dumps(doc),))
db.commit()
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&db)
        .arg(&deep)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let portal = Portal::start_in(dir, &[]).await;
    let admin = portal.admin();
    let (s, groups) = admin.get("/api/v1/rule-groups").await;
    assert_eq!(s, 200, "{}", short(&groups));
    assert_eq!(groups[0]["name"], "old");
    let (s, rules) = admin.get("/api/v1/rules").await;
    assert_eq!(s, 200, "{}", short(&rules));
    let (s, view) = admin.get("/api/v1/dashboards/old/render").await;
    assert_eq!(s, 200, "{}", short(&view));
    let message = view["panels"][0]["body"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("nest deeper than 64"),
        "{}",
        short(&view["panels"][0]["body"])
    );
    let page = admin.html("/d/old").await;
    assert!(
        page.contains("nest deeper than 64"),
        "the page says what is wrong"
    );
    let page = admin.html("/alerting/rules").await;
    assert!(page.contains("<html"), "the rules page is served");
    let (s, _) = admin.get("/api/v1/users").await;
    assert_eq!(s, 200);
    assert_alive(&portal).await;
}

/// Locks are per login and address: the admin locked out from one address is not locked
/// out everywhere, and an unknown login is locked exactly like a known one.
#[tokio::test]
async fn lockout_counts_unknown_logins_and_holds_per_address() {
    let portal = Portal::start_with(&[("KEIKO_LOCKOUT_THRESHOLD", "3")]).await;
    let base = portal.url("");
    for login in ["admin", "nobody-here"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let (s, _) = Client::new(&base, Auth::Basic(login.into(), "wrong-password".into()))
                .get("/api/v1/users/me")
                .await;
            statuses.push(s.as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 429], "{login}");
    }
    // From another address (127.0.0.2, also this machine) admin is not locked.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let resp = other
        .get(portal.url("/api/v1/users/me"))
        .basic_auth("admin", Some(e2e::api::ADMIN_PASSWORD))
        .send()
        .await
        .expect("a request from 127.0.0.2");
    assert_eq!(resp.status(), 200);
    // From the locked address, still locked, even with the right password.
    let (s, _) = portal.admin().get("/api/v1/users/me").await;
    assert_eq!(s, 429);
}

/// Values that reach HTML are escaped: a dashboard title in `<title>`, Explore's query in
/// its editor box, a Markdown link to another host.
#[tokio::test]
async fn markup_in_titles_and_queries_stays_text() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let title = "</title><meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">";
    let (s, d) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "markup", "title": title, "panels": [
                {"id": 1, "type": "text", "title": "</h3><b id=\"injected\">x</b>", "grid": {"x": 0, "y": 0, "w": 12, "h": 4},
                 "text": "[elsewhere](//evil.example/x) <script>alert(1)</script>"}
            ]}}),
        )
        .await;
    assert_eq!(s, 201, "{}", short(&d));
    let page = admin.html("/d/markup").await;
    assert!(
        !page.contains("<meta http-equiv"),
        "the title broke out of <title>"
    );
    assert!(
        page.contains("&lt;/title&gt;&lt;meta http-equiv"),
        "the title is shown as text"
    );
    assert!(
        !page.contains("<b id=\"injected\">"),
        "a panel title broke out"
    );
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("href=\"https://evil.example/x\""),
        "//host is an external link"
    );

    let q = "%3C%2Ftextarea%3E%3Cb%20id%3Dboom%3Ex%3C%2Fb%3E";
    let page = admin.html(&format!("/explore/metrics?q={q}")).await;
    assert!(
        !page.contains("<b id=boom>"),
        "the query broke out of the editor"
    );
    assert!(
        page.contains("&lt;/textarea&gt;&lt;b id=boom&gt;"),
        "the query is shown as text"
    );
}
