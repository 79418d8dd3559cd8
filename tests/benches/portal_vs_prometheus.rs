//! A range query through the portal against the same query sent straight to Prometheus,
//! on the same data in the same run; payload bytes with and without M4; and the chart
//! endpoint (query + SVG). Run: `make bench` (builds the release portal and points
//! `KEIKO_BIN` at it). Plain timing loop: medians of 50 alternating runs after 5 warm-ups.

use std::time::Instant;

use e2e::prometheus::Prometheus;

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
    let mut om = e2e::seed_data::durations(start, end, SERIES);
    // The seed dashboard's metrics over the last 24 h (for its render time).
    om.push_str(&e2e::seed_data::seed_day(end));
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let (_portal, admin, id) = e2e::portal::with_prometheus(&prom.url()).await;

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
    // A panel that failed renders fast and would flatter the figure: every panel must draw.
    let view: serde_json::Value = render
        .try_clone()
        .unwrap()
        .send()
        .await
        .expect("render")
        .json()
        .await
        .expect("render JSON");
    let failed: Vec<String> = view["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter(|p| p["body"]["kind"] == "error" || p["body"]["kind"] == "unsupported")
        .map(|p| format!("{}: {}", p["title"], p["body"]))
        .collect();
    assert!(failed.is_empty(), "panels failed: {failed:?}");
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
