//! Dashboards as a user meets them, in headless Chromium against the release portal and a
//! real Prometheus holding a day of the seed's metrics: the seed dashboard and a
//! twenty-panel one. Per dashboard: the server render (API, queries included), Largest
//! Contentful Paint and the moment the page is interactive (the `keiko-hydrated` mark) from
//! the Performance API, and the work one hover over a chart costs the main thread; plus the
//! page weight (JS + WASM + CSS, gzip -9). Page loads are measured warm (the bundle in the
//! browser's cache) and cold (the cache emptied before each load). Run: `make bench`.

use std::time::Instant;

use e2e::api::ADMIN_PASSWORD;
use e2e::prometheus::Prometheus;
use e2e::webdriver::Browser;
use serde_json::{json, Value};

const LOADS: usize = 15;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn gzip_len(path: &std::path::Path) -> (u64, u64) {
    let raw = std::fs::metadata(path).expect("built site file").len();
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .expect("gzip");
    (raw, out.stdout.len() as u64)
}

/// The twenty-panel dashboard: ten-series time series, stats and tables over the same data.
fn twenty_panels() -> Value {
    let panels: Vec<Value> = (0..20u32)
        .map(|i| {
            let (kind, expr) = match i % 4 {
                0 | 1 => ("timeseries", "keiko_agent_task_duration_seconds"),
                2 => ("stat", "sum(rate(keiko_requests_total[5m]))"),
                _ => ("table", "keiko_agent_tasks_active"),
            };
            json!({"id": i + 1, "type": kind, "title": format!("Panel {}", i + 1),
                "grid": {"x": (i % 2) * 12, "y": (i / 2) * 8, "w": 12, "h": 8},
                "targets": [{"expr": expr, "legend": "{{agent_type}}{{agent_id}}"}]})
        })
        .collect();
    json!({"dashboard": {"format": "keiko-dashboard/1", "uid": "twenty", "title": "Twenty panels",
        "time": {"from": "now-24h", "to": "now"}, "panels": panels}})
}

/// Loads the page cold (new tab state: no cache) and reads LCP and the hydration mark.
async fn load(browser: &Browser, url: &str) -> (f64, f64) {
    browser.goto("about:blank").await;
    browser.goto(url).await;
    browser.wait_hydrated().await;
    let v = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const hydrated = performance.getEntriesByName('keiko-hydrated')[0].startTime;
             new PerformanceObserver(l => {
               const e = l.getEntries();
               done([e[e.length - 1].startTime, hydrated]);
             }).observe({type: 'largest-contentful-paint', buffered: true});
             setTimeout(() => done([null, hydrated]), 3000);",
            vec![],
        )
        .await;
    (
        v[0].as_f64().expect("an LCP entry"),
        v[1].as_f64().expect("the hydration mark"),
    )
}

/// Main-thread time of one hover (mouse move over a chart: the handler, the reactive
/// update of tooltip and guide line — Leptos runs it in a microtask — and the layout it
/// causes), the mean over 200 moves, each awaited through a message-channel task.
/// Panics if the moves drew no tooltip.
async fn hover_cost(browser: &Browser) -> f64 {
    let v = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const o = document.querySelector('[data-testid=chart-overlay]');
             const r = o.getBoundingClientRect();
             const tick = () => new Promise(res => { const c = new MessageChannel(); c.port1.onmessage = res; c.port2.postMessage(0); });
             const move = x => o.dispatchEvent(new MouseEvent('mousemove', {clientX: x, clientY: r.top + r.height / 2, bubbles: true}));
             (async () => {
               const n = 200, left = r.left + r.width * 0.2, span = r.width * 0.6;
               const t0 = performance.now();
               for (let i = 0; i < n; i++) {
                 move(left + span * i / n);
                 await tick();
                 o.parentElement.getBoundingClientRect();
               }
               const per = (performance.now() - t0) / n;
               done([per, o.parentElement.querySelectorAll('.tooltip-row').length]);
             })();",
            vec![],
        )
        .await;
    assert!(
        v[1].as_u64().unwrap_or(0) > 0,
        "the hover drew no tooltip: {v}"
    );
    v[0].as_f64().expect("a time")
}

#[tokio::main]
async fn main() {
    let root = e2e::workspace_root().join("target/site/pkg");
    println!("page weight (gzip -9), {}:", root.display());
    let mut total = (0, 0);
    for f in ["keiko.wasm", "keiko.js", "keiko.css"] {
        let (raw, gz) = gzip_len(&root.join(f));
        println!("  {f:<11} {raw:>9} B raw {gz:>9} B gzip");
        total = (total.0 + raw, total.1 + gz);
    }
    println!("  total       {:>9} B raw {:>9} B gzip", total.0, total.1);

    println!("loading a day of the seed's metrics and 10 duration series into Prometheus…");
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60
        - 600;
    let mut om = e2e::seed_data::durations(end - 86_400, end, 10);
    om.push_str(&e2e::seed_data::seed_day(end));
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let (portal, admin, _) = e2e::portal::with_prometheus(&prom.url()).await;
    let (s, made) = admin.post("/api/v1/dashboards", twenty_panels()).await;
    assert_eq!(s, 201, "{made}");

    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    for (uid, label) in [
        ("keiko-overview", "seed dashboard (4 panels)"),
        ("twenty", "twenty panels"),
    ] {
        let render = admin.request(
            reqwest::Method::GET,
            &format!("/api/v1/dashboards/{uid}/render?from=now-24h&to=now&width=1200"),
        );
        let mut server = Vec::new();
        for i in 0..35 {
            let started = Instant::now();
            let resp = render.try_clone().unwrap().send().await.expect("render");
            assert!(resp.status().is_success());
            resp.bytes().await.expect("body");
            if i >= 5 {
                server.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let url = portal.url(&format!("/d/{uid}?from=now-24h&to=now"));
        load(&browser, &url).await; // warm-up
        let (mut lcp, mut ready, mut hover) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..LOADS {
            let (l, h) = load(&browser, &url).await;
            lcp.push(l);
            ready.push(h);
            hover.push(hover_cost(&browser).await);
        }
        // Cold: the browser's cache emptied before each load (the bundle fetched again).
        let (mut cold_lcp, mut cold_ready) = (Vec::new(), Vec::new());
        for _ in 0..LOADS {
            browser.goto("about:blank").await;
            browser.clear_cache().await;
            let (l, h) = load(&browser, &url).await;
            cold_lcp.push(l);
            cold_ready.push(h);
        }
        println!("{label}, 24 h of data, median of {LOADS} loads on loopback:");
        println!(
            "  server render (API)  : {:.2} ms (median of 30)",
            median(server)
        );
        println!("  LCP, warm cache      : {:.1} ms", median(lcp));
        println!("  interactive, warm    : {:.1} ms", median(ready));
        println!("  LCP, cold cache      : {:.1} ms", median(cold_lcp));
        println!("  interactive, cold    : {:.1} ms", median(cold_ready));
        println!("  one hover, main thread: {:.3} ms", median(hover));
    }
    browser.close().await;
}
