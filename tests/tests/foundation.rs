//! The foundation, through the real binary: pages, /metrics, correlation ids, JSON logs,
//! health checks, error shapes, security headers and graceful shutdown.

use e2e::portal::Portal;
use serde_json::Value;

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.expect("request to the portal")
}

/// Pages need a signed-in user; the tests use the bootstrap admin over HTTP Basic.
async fn get_page(portal: &Portal, path: &str) -> reqwest::Response {
    portal
        .admin()
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .expect("request to the portal")
}

#[tokio::test]
async fn every_page_is_rendered_on_the_server_with_navigation() {
    let portal = Portal::start().await;
    let pages = [
        ("/", "Keiko Observability Portal"),
        ("/dashboards", "Dashboards"),
        ("/explore/metrics", "Explore metrics"),
        ("/explore/logs", "Explore logs"),
        ("/explore/traces", "Explore traces"),
        ("/alerting/rules", "Alert rules"),
        ("/alerting/alerts", "Alerts"),
        ("/alerting/silences", "Silences"),
        ("/alerting/contact-points", "Contact points"),
        ("/alerting/policies", "Notification policies"),
        ("/alerting/escalation", "Escalation policies"),
        ("/checklist", "Checklist"),
        ("/settings/datasources", "Data sources"),
        ("/settings/users", "Users"),
        ("/settings/teams", "Teams"),
        ("/settings/audit", "Audit log"),
        ("/profile", "Profile"),
    ];
    let built = [
        "/",
        "/dashboards",
        "/explore/metrics",
        "/explore/logs",
        "/explore/traces",
        "/settings/datasources",
        "/alerting/rules",
        "/alerting/alerts",
        "/alerting/silences",
        "/alerting/contact-points",
        "/alerting/policies",
        "/alerting/escalation",
        "/checklist",
        "/settings/users",
        "/settings/teams",
        "/settings/audit",
        "/profile",
    ];
    for (path, heading) in pages {
        let resp = get_page(&portal, path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let html = resp.text().await.unwrap();
        // A lazily loaded page's view ends with a hydration marker (`<!>`) where its module's
        // view closes; it is not text.
        let text = html.replace("<!>", "");
        assert!(
            text.contains(&format!("<h1>{heading}</h1>")),
            "{path}: no <h1>{heading}</h1>"
        );
        for (href, _) in [
            ("/dashboards", ""),
            ("/explore/metrics", ""),
            ("/settings/users", ""),
        ] {
            assert!(
                html.contains(&format!("href=\"{href}\"")),
                "{path}: nav link {href} missing"
            );
        }
        if !built.contains(&path) {
            assert!(
                html.contains("Coming in a later release."),
                "{path} must say it is not built yet"
            );
        }
        // The hydration script carries the nonce the CSP header allows.
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("CSP has a nonce");
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "{path}: script nonce differs from CSP"
        );
        assert!(html.contains("/pkg/keiko.js") && html.contains("/pkg/keiko.wasm"));
    }
}

#[tokio::test]
async fn unknown_pages_get_a_404_page_and_unknown_api_routes_a_json_404() {
    let portal = Portal::start().await;
    let page = get_page(&portal, "/no/such/page").await;
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("Page not found"));

    let api = get_page(&portal, "/api/v1/nothing-here").await;
    assert_eq!(api.status(), 404);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["status"], 404);
    assert_eq!(body["error"]["code"], "not_found");
}

/// The bundle is revalidated, not refetched: `no-cache` with `Last-Modified`, 304 while
/// unchanged.
#[tokio::test]
async fn bundle_files_carry_cache_headers_and_answer_304_when_unchanged() {
    let portal = Portal::start().await;
    let http = reqwest::Client::new();
    let first = http.get(portal.url("/pkg/keiko.css")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let modified = first.headers()["last-modified"].clone();
    let again = http
        .get(portal.url("/pkg/keiko.css"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

/// A section's own address lands on its first page (Grafana users type `/explore`).
#[tokio::test]
async fn section_addresses_land_on_their_first_page() {
    let portal = Portal::start().await;
    for (path, target) in [
        ("/settings", "/settings/datasources"),
        ("/explore", "/explore/metrics"),
        ("/alerting", "/alerting/rules"),
    ] {
        let resp = get_page(&portal, path).await;
        assert!(resp.status().is_redirection(), "{path}: {}", resp.status());
        assert_eq!(resp.headers()["location"], target, "{path}");
        let page = get_page(&portal, target).await;
        assert_eq!(page.status(), 200, "{target}");
    }
}

#[tokio::test]
async fn metrics_expose_the_seed_families_with_route_templates_and_buckets() {
    let portal = Portal::start().await;
    assert_eq!(get(&portal.url("/healthz")).await.status(), 200);
    assert_eq!(get_page(&portal, "/no/such/page/12345").await.status(), 404);
    let resp = get(&portal.url("/metrics")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = resp.text().await.unwrap();
    for family in [
        "# TYPE keiko_requests_total counter",
        "# TYPE keiko_request_duration_seconds histogram",
        "# TYPE keiko_errors_total counter",
        "# TYPE keiko_security_events_total counter",
        "# TYPE keiko_user_sessions_active gauge",
        "# TYPE keiko_user_actions_total counter",
        "# HELP keiko_requests_total Gesamtanzahl der Requests",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
    ] {
        assert!(text.contains(family), "missing `{family}` in\n{text}");
    }
    assert!(
        text.contains(r#"keiko_requests_total{endpoint="/healthz",method="GET",status="200"} 1"#)
    );
    for le in ["0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"] {
        assert!(
            text.contains(&format!(
                r#"keiko_request_duration_seconds_bucket{{endpoint="/healthz",method="GET",le="{le}"}} 1"#
            )),
            "bucket le={le} missing"
        );
    }
    // The raw path never becomes a label value: unmatched requests share one.
    assert!(!text.contains("12345"));
    assert!(
        text.contains(r#"keiko_requests_total{endpoint="unmatched",method="GET",status="404"} 1"#)
    );
}

#[tokio::test]
async fn a_given_correlation_id_is_echoed_and_logged_and_a_missing_one_is_generated() {
    let portal = Portal::start().await;
    let client = reqwest::Client::new();
    let resp = client
        .get(portal.url("/healthz"))
        .header("X-Correlation-ID", "test-corr-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-correlation-id"], "test-corr-42");
    let line = portal
        .wait_for_log("with the given correlation id", |v| {
            v["correlation_id"] == "test-corr-42"
        })
        .await;
    assert_eq!(line["message"], "Request completed");
    assert_eq!(line["endpoint"], "/healthz");

    let resp = client.get(portal.url("/healthz")).send().await.unwrap();
    let generated = resp.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert!(generated.chars().filter(|c| *c == '-').count() == 4);
    portal
        .wait_for_log("with the generated correlation id", |v| {
            v["correlation_id"] == generated.as_str()
        })
        .await;

    // A header that could forge log structure is replaced, not echoed.
    let resp = client
        .get(portal.url("/healthz"))
        .header("X-Correlation-ID", "bad id\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let replaced = resp.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(replaced, "bad id\"}");
    assert!(
        replaced.len() == 36 && replaced.chars().filter(|c| *c == '-').count() == 4,
        "a generated UUID replaces it: {replaced}"
    );
    portal
        .wait_for_log("with the replacing correlation id", |v| {
            v["correlation_id"] == replaced.as_str()
        })
        .await;
}

#[tokio::test]
async fn log_lines_are_json_with_the_structured_formatter_fields() {
    let portal = Portal::start().await;
    get(&portal.url("/healthz")).await;
    let line = portal
        .wait_for_log("for the request", |v| v["message"] == "Request completed")
        .await;
    for field in [
        "timestamp",
        "level",
        "logger",
        "message",
        "module",
        "function",
        "line",
        "correlation_id",
        "trace_id",
    ] {
        assert!(line.get(field).is_some(), "field {field} missing in {line}");
    }
    let ts = line["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.contains('T'), "RFC 3339 UTC: {ts}");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["logger"], "keiko.request");
    assert!(line["line"].as_u64().is_some());
    assert_eq!(
        line["trace_id"].as_str().unwrap().len(),
        32,
        "a W3C trace id"
    );
    // Every stdout line is one JSON object.
    for raw in portal.stdout_lines() {
        let parsed: Value =
            serde_json::from_str(&raw).unwrap_or_else(|e| panic!("not JSON ({e}): {raw}"));
        assert!(parsed.is_object());
    }
}

#[tokio::test]
async fn an_incoming_traceparent_continues_the_callers_trace() {
    let portal = Portal::start().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = reqwest::Client::new()
        .get(portal.url("/healthz"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .header("X-Correlation-ID", "traced-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let line = portal
        .wait_for_log("for the traced request", |v| {
            v["correlation_id"] == "traced-1"
        })
        .await;
    assert_eq!(line["trace_id"], trace_id);
}

#[tokio::test]
async fn readyz_is_ok_with_a_database_and_503_when_the_file_is_unusable() {
    let portal = Portal::start().await;
    let ok = get(&portal.url("/readyz")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(get(&portal.url("/healthz")).await.status(), 200);

    let db = portal.data_path().join("keiko.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::write(
        &db,
        b"this is not a SQLite database, just garbage bytes....",
    )
    .unwrap();
    let failed = get(&portal.url("/readyz")).await;
    assert_eq!(failed.status(), 503);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    // The process itself is still alive.
    assert_eq!(get(&portal.url("/healthz")).await.status(), 200);
    let metrics = get(&portal.url("/metrics")).await.text().await.unwrap();
    assert!(metrics.contains(
        r#"keiko_errors_total{component="database",error_type="database_unavailable",severity="critical"}"#
    ));
    // The failure is logged (ERROR) and lands in the audit log file (WARNING and above).
    let audit = std::fs::read_to_string(portal.data_path().join("audit.log")).unwrap();
    let entry: Value = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["message"] == "Readiness check failed")
        .expect("readiness failure in audit.log");
    assert_eq!(entry["level"], "ERROR");
    assert_eq!(entry["exception"]["type"], "DatabaseError");
    assert!(entry["correlation_id"].is_string());
}

#[tokio::test]
async fn responses_carry_security_headers_and_oversized_bodies_get_a_json_413() {
    let portal = Portal::start_with(&[("KEIKO_BODY_LIMIT_BYTES", "2048")]).await;
    // A plain endpoint, a page, a JSON answer and an error all carry them.
    for (path, status) in [
        ("/healthz", 200),
        ("/dashboards", 200),
        ("/api/v1/users/me", 200),
        ("/api/v1/nothing-here", 404),
    ] {
        let resp = get_page(&portal, path).await;
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(
            resp.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(resp.headers()["x-frame-options"], "DENY", "{path}");
        assert!(
            resp.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }

    let resp = portal
        .admin()
        .request(reqwest::Method::POST, "/api/v1/anything")
        .header("content-type", "application/json")
        .body(vec![b'x'; 10_000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_gzip() {
    let portal = Portal::start().await;
    // Metrics text, a page, a JSON answer and the bundle's stylesheet.
    for path in [
        "/metrics",
        "/dashboards",
        "/api/v1/meta/routes",
        "/pkg/keiko.css",
    ] {
        let resp = portal
            .admin()
            .request(reqwest::Method::GET, path)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-encoding"], "gzip", "{path}");
        // The body is gzip indeed (its magic number), not plain text under a gzip header.
        let body = resp.bytes().await.unwrap();
        assert!(body.starts_with(&[0x1f, 0x8b]), "{path}: not gzip");
    }
}

#[tokio::test]
async fn sigterm_stops_the_portal_gracefully() {
    let mut portal = Portal::start().await;
    assert_eq!(get(&portal.url("/healthz")).await.status(), 200);
    let status = portal.terminate();
    assert!(status.success(), "exit status {status:?}");
    let lines = portal.stdout_lines();
    assert!(
        lines.iter().any(|l| l.contains("\"Stopped\"")),
        "no Stopped line in {lines:?}"
    );
}

#[tokio::test]
async fn the_migrate_command_creates_the_database_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(e2e::portal::binary())
        .arg("migrate")
        .env("KEIKO_DATA_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("keiko.db").exists());
}

#[tokio::test]
async fn a_bad_configuration_is_refused_with_a_clear_message() {
    let out = std::process::Command::new(e2e::portal::binary())
        .arg("serve")
        .env("KEIKO_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEIKO_LISTEN"));
}

#[tokio::test]
async fn a_config_file_is_read_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file");
    let from_env = dir.path().join("from-env");
    let config = dir.path().join("keiko.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nlog_format = \"json\"\n",
            from_file.display().to_string()
        ),
    )
    .unwrap();
    let run = |env: Option<&std::path::Path>| {
        let mut cmd = std::process::Command::new(e2e::portal::binary());
        cmd.arg("--config")
            .arg(&config)
            .arg("migrate")
            .env_remove("KEIKO_DATA_DIR");
        if let Some(d) = env {
            cmd.env("KEIKO_DATA_DIR", d);
        }
        cmd.output().unwrap()
    };
    assert!(run(None).status.success());
    assert!(
        from_file.join("keiko.db").exists(),
        "data_dir from the file"
    );
    assert!(run(Some(&from_env)).status.success());
    assert!(
        from_env.join("keiko.db").exists(),
        "KEIKO_DATA_DIR overrides the file"
    );

    std::fs::write(&config, "lissen = \"127.0.0.1:1\"\n").unwrap();
    let out = run(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
}

#[tokio::test]
async fn pretty_logs_are_for_humans() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(e2e::portal::binary())
        .arg("migrate")
        .env("KEIKO_DATA_DIR", dir.path())
        .env("KEIKO_LOG_FORMAT", "pretty")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Database migrated"))
        .expect("the migrate line");
    assert!(
        serde_json::from_str::<serde_json::Value>(line).is_err(),
        "not JSON: {line}"
    );
    assert!(line.contains("INFO"), "{line}");
}
