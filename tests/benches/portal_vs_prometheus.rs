//! A range query through the portal against the same query sent straight to Prometheus,
//! on the same data in the same run; payload bytes with and without M4; and the chart
//! endpoint (query + SVG). Run: `make bench` (builds the release portal and points
//! `KEIKO_BIN` at it). Plain timing loop: medians of 50 alternating runs after 5 warm-ups.

use std::time::Instant;

use e2e::api::{Client, ADMIN_PASSWORD};
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use serde_json::json;

const SERIES: usize = 10;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() * 9 / 10])
}

async fn timed(http: &reqwest::RequestBuilder) -> (f64, usize) {
    let started = Instant::now();
    let resp = http.try_clone().unwrap().send().await.expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    let body = resp.bytes().await.expect("body");
    (started.elapsed().as_secs_f64() * 1000.0, body.len())
}

#[tokio::main]
async fn main() {
    println!("loading 7 days x {SERIES} series at 60 s into Prometheus (promtool)…");
    let end = (now() - 600) / 60 * 60;
    let start = end - 7 * 86_400 + 60;
    let mut om = String::from("# TYPE keiko_agent_task_duration_seconds gauge\n");
    let mut x: u64 = 3;
    for t in (start..=end).step_by(60) {
        for k in 0..SERIES {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 33) % 10_000) as f64 / 1000.0;
            om.push_str(&format!(
                "keiko_agent_task_duration_seconds{{agent_type=\"agent-{k}\"}} {v} {t}\n"
            ));
        }
    }
    // The seed dashboard's metrics over the last 24 h (for its render time).
    om.push_str("# TYPE keiko_requests counter\n# TYPE keiko_errors counter\n# TYPE keiko_agent_tasks_active gauge\n# TYPE keiko_mcp_server_health gauge\n");
    let mut seed_lines = Vec::new();
    for (i, t) in (end - 86_400..=end).step_by(60).enumerate() {
        let i = i as u64;
        for (m, e) in [
            ("GET", "/api/chat"),
            ("POST", "/api/chat"),
            ("POST", "/api/agents"),
            ("GET", "/health"),
        ] {
            seed_lines.push((
                t,
                format!(
                    "keiko_requests_total{{method=\"{m}\",endpoint=\"{e}\"}} {} {t}",
                    i * 7
                ),
            ));
        }
        for e in ["ValidationError", "TimeoutError"] {
            seed_lines.push((
                t,
                format!("keiko_errors_total{{error_type=\"{e}\"}} {} {t}", i / 3),
            ));
        }
        for a in ["planner", "coder", "reviewer"] {
            seed_lines.push((
                t,
                format!(
                    "keiko_agent_tasks_active{{agent_id=\"{a}\",task_type=\"chat\"}} {} {t}",
                    i % 5
                ),
            ));
        }
        for s in ["filesystem", "search"] {
            seed_lines.push((
                t,
                format!("keiko_mcp_server_health{{server_name=\"{s}\"}} 1 {t}"),
            ));
        }
    }
    // OpenMetrics wants each family's samples together.
    for family in [
        "keiko_requests_total",
        "keiko_errors_total",
        "keiko_agent_tasks_active",
        "keiko_mcp_server_health",
    ] {
        for (_, line) in seed_lines.iter().filter(|(_, l)| l.starts_with(family)) {
            om.push_str(line);
            om.push('\n');
        }
    }
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let admin = Client::sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await
        .expect("sign in");
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "Prometheus", "type": "prometheus", "url": prom.url()}),
        )
        .await;
    assert_eq!(s, 201, "{src}");
    let id = src["id"].as_i64().unwrap();

    let http = reqwest::Client::new();
    let day = format!(
        "query=keiko_agent_task_duration_seconds&start={}&end={end}&step=60",
        end - 86_400
    );
    let direct = http.get(format!("{}/api/v1/query_range?{day}", prom.url()));
    let through = admin.request(
        reqwest::Method::GET,
        &format!("/api/v1/datasources/{id}/query_range?{day}"),
    );
    let chart = admin.request(
        reqwest::Method::GET,
        &format!(
            "/api/v1/datasources/{id}/chart?query=keiko_agent_task_duration_seconds&from={}&to={end}&step=60&width=1000&height=320",
            end - 86_400
        ),
    );
    for _ in 0..5 {
        timed(&direct).await;
        timed(&through).await;
        timed(&chart).await;
    }
    let (mut d, mut p, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..50 {
        d.push(timed(&direct).await.0);
        p.push(timed(&through).await.0);
        c.push(timed(&chart).await.0);
    }
    let (dm, d90) = stats(d);
    let (pm, p90) = stats(p);
    let (cm, c90) = stats(c);
    println!("range query, 24 h at 60 s, {SERIES} series (14,410 points):");
    println!("  Prometheus directly : median {dm:.2} ms, p90 {d90:.2} ms");
    println!(
        "  through the portal  : median {pm:.2} ms, p90 {p90:.2} ms  ({:.2}x)",
        pm / dm
    );
    println!("  portal chart (SVG)  : median {cm:.2} ms, p90 {c90:.2} ms");

    // The shipped "Keiko Overview" (the seed's JSON) over 24 h, drawn by the server.
    let render = admin.request(
        reqwest::Method::GET,
        "/api/v1/dashboards/keiko-overview/render?from=now-24h&to=now&width=1200",
    );
    let (_, bytes) = timed(&render).await;
    for _ in 0..5 {
        timed(&render).await;
    }
    let mut r = Vec::new();
    for _ in 0..50 {
        r.push(timed(&render).await.0);
    }
    let (rm, r90) = stats(r);
    println!("seed dashboard (4 panels) over 24 h, server render incl. queries:");
    println!("  median {rm:.2} ms, p90 {r90:.2} ms, answer {bytes} bytes");

    let week = format!("query=keiko_agent_task_duration_seconds&start={start}&end={end}&step=60");
    let full = admin.request(
        reqwest::Method::GET,
        &format!("/api/v1/datasources/{id}/query_range?{week}"),
    );
    let m4 = admin.request(
        reqwest::Method::GET,
        &format!("/api/v1/datasources/{id}/query_range?{week}&width=1000"),
    );
    let (_, full_bytes) = timed(&full).await;
    let (_, m4_bytes) = timed(&m4).await;
    println!("payload, 7 days at 60 s, {SERIES} series (100,800 points):");
    println!("  without M4          : {full_bytes} bytes");
    println!(
        "  with M4, width=1000 : {m4_bytes} bytes ({:.1}x smaller)",
        full_bytes as f64 / m4_bytes as f64
    );
}
