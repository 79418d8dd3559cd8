//! The portal's embedded store against Prometheus 2.42 and VictoriaMetrics 1.79 on the same
//! samples in one run: remote-write ingest (samples/s, the same bodies from the same client),
//! bytes per sample on disk after compaction, memory per active series, and `query_range`
//! latency over the whole range for the seed dashboard's queries and two aggregations.
//!
//! Run: `scripts/bench_store.sh` (builds the release portal and points `KEIKO_BIN` at it).
//! Environment: `BENCH_SERIES` (default `1000,10000`), `BENCH_HOURS` (24), `BENCH_STEP_SECS`
//! (30: the scrape interval of the data), `BENCH_RUNS` (10 timed runs per query and store,
//! after one warm-up; the stores take turns), `BENCH_HOLD_SECS` (0: after the queries, keep
//! the loaded stores running this long, e.g. to profile the portal; its pid and URL are
//! printed at the start).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::remote_write::{encode_in_parts, sample_count, send};
use e2e::synthetic::{bench_load, window};
use e2e::victoria::VictoriaMetrics;
use serde_json::{json, Value};

/// Samples per remote-write request, and requests in flight at once.
const BATCH: usize = 10_000;
const IN_FLIGHT: usize = 4;
/// Steps of data generated (and sent) at a time, in time order.
const WINDOW_STEPS: usize = 20;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One store under test.
struct Store {
    name: &'static str,
    write_url: String,
    bearer: Option<String>,
    query_url: String,
    basic: Option<(String, String)>,
    pid: u32,
    /// Where its samples live on disk (the portal: `<data>/tsdb`).
    data: PathBuf,
}

impl Store {
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    /// One `query_range`: the time it took and the number of series answered, or the
    /// store's refusal (e.g. its timeout).
    async fn range(
        &self,
        http: &reqwest::Client,
        query: &str,
        range: (i64, i64),
    ) -> Result<(f64, usize), String> {
        let mut req = http.get(&self.query_url).query(&[
            ("query", query.to_owned()),
            ("start", range.0.to_string()),
            ("end", range.1.to_string()),
            ("step", "60".to_owned()),
        ]);
        if let Some((user, pw)) = &self.basic {
            req = req.basic_auth(user, Some(pw));
        }
        let started = Instant::now();
        let resp = req.send().await.expect("query_range");
        let status = resp.status();
        let body = resp.bytes().await.expect("answer");
        let took = started.elapsed().as_secs_f64() * 1000.0;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if !status.is_success() || v["status"] != "success" {
            return Err(format!(
                "{status} after {:.1} s: {}",
                took / 1000.0,
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
        Ok((took, v["data"]["result"].as_array().map_or(0, Vec::len)))
    }
}

/// Total bytes of the files under `dir` (`skip`: top-level names left out).
fn dir_bytes(dir: &Path, skip: &[&str]) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if skip.iter().any(|s| entry.file_name() == *s) {
            continue;
        }
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_bytes(&entry.path(), &[])
        } else {
            meta.len()
        };
    }
    total
}

/// Blocks under `dir` (directories with a Prometheus-style `meta.json`): (bytes, samples,
/// newest max time in ms).
fn blocks(dir: &Path) -> (u64, u64, i64) {
    let (mut bytes, mut samples, mut max_t) = (0, 0, i64::MIN);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(text) = std::fs::read_to_string(d.join("meta.json")) {
            let meta: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if let Some(n) = meta["stats"]["numSamples"].as_u64() {
                bytes += dir_bytes(&d, &[]);
                samples += n;
                max_t = max_t.max(meta["maxTime"].as_i64().unwrap_or(i64::MIN));
                continue;
            }
        }
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.metadata().is_ok_and(|m| m.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    (bytes, samples, max_t)
}

/// The median back out of a "median / p90" cell.
fn median_of(cell: &str) -> f64 {
    cell.split(" / ")
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(f64::NAN)
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[(v.len() * 9 / 10).min(v.len() - 1)])
}

/// Sends every window of the data to `store` in time order; returns the seconds spent
/// sending (generation and encoding are not counted) and the samples sent.
async fn ingest(
    http: &reqwest::Client,
    store: &Store,
    specs: &[e2e::synthetic::Spec],
    t0_ms: i64,
    step_ms: i64,
    steps: usize,
) -> (f64, usize) {
    let (mut sending, mut samples) = (Duration::ZERO, 0);
    for from in (0..steps).step_by(WINDOW_STEPS) {
        let part = window(
            specs,
            t0_ms,
            step_ms,
            from..(from + WINDOW_STEPS).min(steps),
        );
        samples += sample_count(&part);
        let bodies = encode_in_parts(&part, BATCH);
        let started = Instant::now();
        for group in bodies.chunks(IN_FLIGHT) {
            let mut tasks = tokio::task::JoinSet::new();
            for body in group {
                let (http, url, bearer, body) = (
                    http.clone(),
                    store.write_url.clone(),
                    store.bearer.clone(),
                    body.clone(),
                );
                tasks.spawn(async move { send(&http, &url, bearer.as_deref(), body).await });
            }
            while let Some(r) = tasks.join_next().await {
                r.unwrap()
                    .unwrap_or_else(|e| panic!("{} refused a batch: {e}", store.name));
            }
        }
        sending += started.elapsed();
    }
    (sending.as_secs_f64(), samples)
}

/// Waits until the blocks under `dir` reach `until_ms` (the store has cut its head into
/// blocks), or `timeout` passes.
async fn await_blocks(dir: &Path, until_ms: i64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if blocks(dir).2 >= until_ms {
            return true;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    false
}

async fn run(series: usize, hours: i64, step_secs: i64, runs: usize) {
    let http = reqwest::Client::new();
    let specs = bench_load(series);
    let step_ms = step_secs * 1000;
    let steps = (hours * 3600 / step_secs) as usize;
    let end_ms = ((e2e::now_seconds() as i64) / 60 * 60 - 120) * 1000;
    let t0_ms = end_ms - steps as i64 * step_ms;
    println!(
        "\n## {} series ({series} + the seed dashboard's 20), {hours} h at {step_secs} s: {} samples\n",
        specs.len(),
        specs.len() * steps
    );

    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let (s, token) = portal
        .admin()
        .post(
            "/api/v1/tokens",
            json!({"name": "bench", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");
    println!(
        "portal pid {} at {} (admin basic auth)",
        portal.pid(),
        portal.url("/")
    );
    let prom = Prometheus::receiving().await;
    let vm = VictoriaMetrics::start_with(e2e::free_port(), &["-search.disableCache"]).await;
    let stores = [
        Store {
            name: "portal",
            write_url: portal.url("/api/v1/write"),
            bearer: token["token"].as_str().map(str::to_owned),
            query_url: portal.url("/prometheus/api/v1/query_range"),
            basic: Some(("admin".into(), e2e::api::ADMIN_PASSWORD.into())),
            pid: portal.pid(),
            data: portal.data_path().join("tsdb"),
        },
        Store {
            name: "Prometheus 2.42",
            write_url: format!("{}/api/v1/write", prom.url()),
            bearer: None,
            query_url: format!("{}/api/v1/query_range", prom.url()),
            basic: None,
            pid: prom.pid(),
            data: prom.tsdb_path(),
        },
        Store {
            name: "VictoriaMetrics 1.79",
            write_url: format!("{}/api/v1/write", vm.url()),
            bearer: None,
            query_url: format!("{}/api/v1/query_range", vm.url()),
            basic: None,
            pid: vm.pid(),
            data: vm.data_path().to_path_buf(),
        },
    ];
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_before: Vec<u64> = stores.iter().map(Store::rss_bytes).collect();

    // Ingest: one store at a time, the same bodies in the same order.
    let mut ingest_rows = Vec::new();
    for store in &stores {
        let (secs, samples) = ingest(&http, store, &specs, t0_ms, step_ms, steps).await;
        ingest_rows.push((store.name, samples, secs));
        println!(
            "ingested into {}: {samples} samples in {secs:.1} s",
            store.name
        );
    }

    // Let each store settle: the portal cuts its head into blocks at its minute maintenance,
    // Prometheus compacts its head in the background, VictoriaMetrics flushes and merges.
    let cut_until = end_ms - 4 * 3_600_000;
    let portal_cut = await_blocks(&stores[0].data, cut_until, Duration::from_secs(180)).await;
    let prom_cut = await_blocks(&stores[1].data, cut_until, Duration::from_secs(180)).await;
    for path in ["/internal/force_flush", "/internal/force_merge"] {
        let _ = http.get(format!("{}{path}", vm.url())).send().await;
    }
    tokio::time::sleep(Duration::from_secs(15)).await;

    println!("\n| store | ingest samples/s | disk bytes/sample (all) | bytes/sample in blocks | RSS growth / active series |");
    println!("|---|---:|---:|---:|---:|");
    for (i, store) in stores.iter().enumerate() {
        let (name, samples, secs) = ingest_rows[i];
        let all = dir_bytes(&store.data, &["cache", "flock.lock"]) as f64 / samples as f64;
        let (bb, bs, _) = blocks(&store.data);
        let in_blocks = if bs > 0 {
            format!(
                "{:.2} ({:.0} % of samples)",
                bb as f64 / bs as f64,
                100.0 * bs as f64 / samples as f64
            )
        } else {
            "—".into()
        };
        let rss = store.rss_bytes().saturating_sub(rss_before[i]) as f64 / specs.len() as f64;
        println!(
            "| {name} | {:.0} | {all:.2} | {in_blocks} | {:.0} bytes |",
            samples as f64 / secs,
            rss
        );
    }
    if !portal_cut || !prom_cut {
        println!("(blocks not cut within 180 s: portal {portal_cut}, Prometheus {prom_cut})");
    }

    // query_range over the whole range at 60 s steps.
    let range = (t0_ms / 1000, end_ms / 1000);
    let queries = [
        "rate(keiko_requests_total[5m])",
        "rate(keiko_errors_total[5m])",
        "keiko_agent_tasks_active",
        "keiko_mcp_server_health",
        "sum by (endpoint) (rate(keiko_requests_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
    ];
    println!("\n| query_range over {hours} h, step 60 s | series | portal median / p90 ms | Prometheus median / p90 ms | VictoriaMetrics median / p90 ms | portal ÷ Prometheus (median) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for query in queries {
        // A warm-up each; a store that refuses it (e.g. times out) is not timed further.
        let mut counts = Vec::new();
        let mut failed: Vec<Option<String>> = Vec::new();
        for store in &stores {
            let r = store.range(&http, query, range).await;
            counts.push(r.as_ref().map_or(0, |r| r.1));
            failed.push(r.err());
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
        for _ in 0..runs {
            for (i, store) in stores.iter().enumerate() {
                if failed[i].is_none() {
                    match store.range(&http, query, range).await {
                        Ok((took, _)) => times[i].push(took),
                        Err(e) => failed[i] = Some(e),
                    }
                }
            }
        }
        let cells: Vec<String> = times
            .into_iter()
            .zip(&failed)
            .map(|(t, f)| match f {
                Some(e) => format!("refused: {e}"),
                None => {
                    let (median, p90) = stats(t);
                    format!("{median:.1} / {p90:.1}")
                }
            })
            .collect();
        let ratio = match (&failed[0], &failed[1]) {
            (None, None) => format!("{:.2}×", median_of(&cells[0]) / median_of(&cells[1])),
            _ => "—".into(),
        };
        let counts = if counts.iter().all(|&c| c == counts[0]) {
            counts[0].to_string()
        } else {
            format!("{counts:?}")
        };
        println!(
            "| `{query}` | {counts} | {} | {} | {} | {ratio} |",
            cells[0], cells[1], cells[2]
        );
    }
    let hold = env_or("BENCH_HOLD_SECS", 0u64);
    if hold > 0 {
        println!("\nholding the loaded stores for {hold} s");
        tokio::time::sleep(Duration::from_secs(hold)).await;
    }
}

#[tokio::main]
async fn main() {
    let series: Vec<usize> = std::env::var("BENCH_SERIES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SERIES: numbers"))
        .collect();
    let hours = env_or("BENCH_HOURS", 24);
    let step = env_or("BENCH_STEP_SECS", 30);
    let runs = env_or("BENCH_RUNS", 10);
    println!(
        "remote-write batches of {BATCH} samples, {IN_FLIGHT} in flight; {runs} timed runs per query"
    );
    for n in series {
        run(n, hours, step, runs).await;
    }
}
