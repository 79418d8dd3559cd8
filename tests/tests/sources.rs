//! Prometheus-API data sources through the real server, against a real Prometheus (loaded
//! with `promtool tsdb create-blocks-from openmetrics`) and a real VictoriaMetrics (loaded
//! with `/api/v1/import/prometheus`), so values are checked exactly; and against sources
//! that are down, slow, or answer garbage.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::victoria::VictoriaMetrics;
use reqwest::Method;
use serde_json::json;

/// 240 samples 15 s apart ending about 30 minutes ago; value i at step i.
fn series_start() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - 30 * 60 - 240 * 15) / 15 * 15
}

async fn add_source(admin: &Client, name: &str, url: &str) -> i64 {
    let (s, body) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": name, "type": "prometheus", "url": url, "timeout_ms": 2000}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn check_known_data(admin: &Client, id: i64, start: i64) {
    let t = start + 15 * 100;
    let (s, body) = admin.get(&format!("/api/v1/datasources/{id}/query?query=keiko_requests_total%7Bendpoint%3D%22%2Fapi%22%7D&time={t}")).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    assert_eq!(body["data"]["result"][0]["value"][1], "100");
    assert_eq!(body["data"]["result"][0]["metric"]["method"], "GET");

    let end = start + 15 * 239;
    let range = format!("/api/v1/datasources/{id}/query_range?query=keiko_requests_total%7Bendpoint%3D%22%2Fapi%22%7D&start={start}&end={end}&step=15");
    let (_, raw) = admin.get(&range).await;
    let values = raw["data"]["result"][0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 240);
    assert_eq!(values[0][1], "0");
    assert_eq!(values[239][1], "239");

    // M4: at most 4 points per pixel column, first/last/min/max kept.
    let (_, small) = admin.get(&format!("{range}&width=10")).await;
    let kept = small["data"]["result"][0]["values"].as_array().unwrap();
    assert!(kept.len() <= 40, "{} points", kept.len());
    assert_eq!(kept[0], values[0]);
    assert_eq!(kept[kept.len() - 1], values[239]);
    assert_eq!(small["downsampling"]["points_in"], 240);
    assert_eq!(small["downsampling"]["points_out"], kept.len());

    let (_, labels) = admin.get(&format!("/api/v1/datasources/{id}/labels")).await;
    assert!(labels["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "endpoint"));
    let (_, values) = admin
        .get(&format!("/api/v1/datasources/{id}/label/__name__/values"))
        .await;
    assert!(values["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "keiko_requests_total"));
    let (_, series) = admin
        .get(&format!(
            "/api/v1/datasources/{id}/series?match[]=keiko_requests_total&start={start}&end={end}"
        ))
        .await;
    assert_eq!(series["data"].as_array().unwrap().len(), 2);

    let (s, bad) = admin
        .get(&format!(
            "/api/v1/datasources/{id}/query?query=sum(keiko_requests_total"
        ))
        .await;
    assert_eq!(s, 400);
    assert_eq!(bad["status"], "error");
    assert_eq!(bad["errorType"], "bad_data");
}

#[tokio::test]
async fn a_real_prometheus_answers_exact_values_through_the_portal() {
    let start = series_start();
    let mut om = String::from("# TYPE keiko_requests counter\n");
    for i in 0..240 {
        om.push_str(&format!(
            "keiko_requests_total{{method=\"GET\",endpoint=\"/api\"}} {i} {}\n",
            start + 15 * i
        ));
        om.push_str(&format!(
            "keiko_requests_total{{method=\"POST\",endpoint=\"/agents\"}} {} {}\n",
            2 * i,
            start + 15 * i
        ));
    }
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = add_source(&admin, "Prometheus", &prom.url()).await;
    let (_, test) = admin
        .post(&format!("/api/v1/datasources/{id}/test"), json!(null))
        .await;
    assert_eq!(test["ok"], true, "{test}");
    check_known_data(&admin, id, start).await;
}

#[tokio::test]
async fn a_real_victoriametrics_answers_exact_values_through_the_portal() {
    let start = series_start();
    let mut lines = String::new();
    for i in 0..240 {
        lines.push_str(&format!(
            "keiko_requests_total{{method=\"GET\",endpoint=\"/api\"}} {i} {}\n",
            (start + 15 * i) * 1000
        ));
        lines.push_str(&format!(
            "keiko_requests_total{{method=\"POST\",endpoint=\"/agents\"}} {} {}\n",
            2 * i,
            (start + 15 * i) * 1000
        ));
    }
    let vm = VictoriaMetrics::start().await;
    vm.import(&lines).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = add_source(&admin, "VictoriaMetrics", &vm.url()).await;
    // VictoriaMetrics needs a moment after the flush before the new series are searchable.
    e2e::eventually(Duration::from_secs(20), "the imported series", || async {
        let (_, b) = admin
            .get(&format!(
                "/api/v1/datasources/{id}/query?query=count(keiko_requests_total)&time={}",
                start + 15 * 100
            ))
            .await;
        (b["data"]["result"][0]["value"][1] == "2").then_some(())
    })
    .await;
    check_known_data(&admin, id, start).await;
}

/// A local server that accepts connections and answers each with `answer` after `delay`;
/// the counter tells how many requests it has read.
fn fake_source(
    answer: &'static str,
    delay: Duration,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(delay);
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    (format!("http://{addr}"), received)
}

#[tokio::test]
async fn a_dead_slow_or_garbage_source_gives_a_clear_error_and_the_portal_stays_healthy() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let dead = add_source(
        &admin,
        "dead",
        &format!("http://127.0.0.1:{}", e2e::free_port()),
    )
    .await;
    let (slow_url, slow_received) = fake_source(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
        Duration::from_secs(10),
    );
    let slow = add_source(&admin, "slow", &slow_url).await;
    let (garbage_url, _) = fake_source("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 15\r\nconnection: close\r\n\r\n<html>hi</html>", Duration::ZERO);
    let garbage = add_source(&admin, "garbage", &garbage_url).await;

    let (s, body) = admin
        .get(&format!("/api/v1/datasources/{dead}/query?query=up"))
        .await;
    assert_eq!(s, 502);
    assert_eq!(body["errorType"], "unavailable");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{body}"
    );

    let started = std::time::Instant::now();
    let slow_path = format!("/api/v1/datasources/{slow}/query?query=up");
    let slow_call = admin.get(&slow_path);
    // While the slow source hangs (it has the portal's request), the portal answers other
    // requests at once.
    let health = async {
        let asked = slow_received.load(std::sync::atomic::Ordering::SeqCst);
        e2e::eventually(Duration::from_secs(5), "the slow source asked", || async {
            (slow_received.load(std::sync::atomic::Ordering::SeqCst) > asked).then_some(())
        })
        .await;
        let t = std::time::Instant::now();
        let s = reqwest::get(portal.url("/healthz")).await.unwrap().status();
        (s, t.elapsed())
    };
    let ((s, body), (health_status, health_time)) = tokio::join!(slow_call, health);
    assert_eq!(s, 504, "{body}");
    assert_eq!(body["errorType"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(health_status, 200);
    assert!(
        health_time < Duration::from_secs(1),
        "healthz took {health_time:?}"
    );

    let (s, body) = admin
        .get(&format!("/api/v1/datasources/{garbage}/query?query=up"))
        .await;
    assert_eq!(s, 502);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not the Prometheus API"),
        "{body}"
    );
    let (s, test) = admin
        .post(&format!("/api/v1/datasources/{garbage}/test"), json!(null))
        .await;
    assert_eq!(s, 200, "{test}");
    assert_eq!(test["ok"], false, "{test}");
    assert_eq!(
        reqwest::get(portal.url("/readyz")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn sources_are_validated_secrets_stay_secret_and_metadata_addresses_are_refused() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    for (body, field) in [
        (
            json!({"name": "m", "type": "prometheus", "url": "http://169.254.169.254/latest/meta-data"}),
            "url",
        ),
        (
            json!({"name": "m", "type": "prometheus", "url": "http://[fd00:ec2::254]/"}),
            "url",
        ),
        (
            json!({"name": "m", "type": "prometheus", "url": "ftp://example/"}),
            "url",
        ),
        (
            json!({"name": "m", "type": "graphite", "url": "http://127.0.0.1:1"}),
            "type",
        ),
        (
            json!({"name": "m", "type": "prometheus", "url": "http://127.0.0.1:1", "auth": {"type": "bearer"}}),
            "auth.token",
        ),
        (
            json!({"name": "m", "type": "prometheus", "url": "http://127.0.0.1:1", "timeout_ms": 5}),
            "timeout_ms",
        ),
    ] {
        let (s, err) = admin.post("/api/v1/datasources", body.clone()).await;
        assert_eq!(s, 400, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let (s, created) = admin
        .post("/api/v1/datasources", json!({"name": "mimir", "type": "prometheus", "url": "http://127.0.0.1:9009/prometheus", "auth": {"type": "bearer", "token": "super-secret-token-42"}, "default": true}))
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        created["auth"],
        json!({"type": "bearer", "has_secret": true})
    );
    assert_eq!(created["default"], true);
    let id = created["id"].as_i64().unwrap();
    // An update without a token keeps the stored one.
    let (s, updated) = admin
        .send(Method::PUT, &format!("/api/v1/datasources/{id}"), Some(json!({"name": "mimir", "type": "prometheus", "url": "http://127.0.0.1:9009/prometheus", "auth": {"type": "bearer"}, "version": 1})))
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(updated["auth"]["has_secret"], true);
    let (s, all) = admin.get("/api/v1/datasources").await;
    assert_eq!(s, 200, "{all}");
    let mimir = all
        .as_array()
        .and_then(|l| l.iter().find(|d| d["id"] == id))
        .unwrap_or_else(|| panic!("the source in the list: {all}"));
    assert_eq!(mimir["auth"], json!({"type": "bearer", "has_secret": true}));
    assert!(!all.to_string().contains("super-secret"));
    let (s, audit) = admin.get("/api/v1/audit?object_type=datasource").await;
    assert_eq!(s, 200, "{audit}");
    let entries = audit["entries"]
        .as_array()
        .or_else(|| audit.as_array())
        .unwrap_or_else(|| panic!("audit entries: {audit}"));
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e["object_id"].as_str() == Some(id.to_string().as_str()))
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect();
    for action in ["datasource.create", "datasource.update"] {
        assert!(actions.contains(&action), "{action} audited: {audit}");
    }
    assert!(!audit.to_string().contains("super-secret"));
    // Not in clear text on disk either: the database (and its write-ahead log, when there
    // is one) holds the source, but not its token.
    let mut disk = std::fs::read(portal.data_path().join("keiko.db")).expect("the database file");
    if let Ok(bytes) = std::fs::read(portal.data_path().join("keiko.db-wal")) {
        disk.extend(bytes);
    }
    let url = b"http://127.0.0.1:9009/prometheus";
    assert!(
        disk.windows(url.len()).any(|w| w == url),
        "the stored source is in the files read"
    );
    assert!(!disk.windows(21).any(|w| w == b"super-secret-token-42"));
    let viewer = portal.user_with_role("vi", "Viewer").await;
    assert_eq!(viewer.get("/api/v1/datasources").await.0, 200);
    assert_eq!(
        viewer
            .post(
                "/api/v1/datasources",
                json!({"name": "x", "type": "prometheus", "url": "http://127.0.0.1:1"})
            )
            .await
            .0,
        403
    );
    assert_eq!(
        admin
            .send(Method::DELETE, &format!("/api/v1/datasources/{id}"), None)
            .await
            .0,
        204
    );
}

#[tokio::test]
async fn store_types_to_come_are_refused_naming_the_type_and_settings_are_checked_by_type() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    for (kind, family) in [
        ("loki", "logs"),
        ("clickhouse", "logs"),
        ("tempo", "traces"),
    ] {
        let (s, body) = admin
            .post(
                "/api/v1/datasources",
                json!({"name": kind, "type": kind, "url": "http://127.0.0.1:9/"}),
            )
            .await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["error"]["field"], "type", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(kind) && message.contains(family),
            "{message}"
        );
    }
    let (s, body) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "P", "type": "prometheus", "url": "http://127.0.0.1:9/",
                   "settings": {"database": "logs"}}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["field"], "settings.database", "{body}");
    let (_, list) = admin.get("/api/v1/datasources").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "only the built-in stores (metrics, logs and traces): {list}"
    );

    // A new metrics default takes over from the built-in store: one default per family.
    let (s, body) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "P", "type": "prometheus", "url": "http://127.0.0.1:9/", "default": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, list) = admin.get("/api/v1/datasources").await;
    let defaults: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["default"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // The logs and traces families keep their defaults (the built-in stores).
    assert_eq!(
        defaults,
        ["Embedded logs", "Embedded traces", "P"],
        "{list}"
    );
}
