//! Times `query_range` over 24 h at a 60 s step through the engine over the embedded store
//! (`tsdb`, blocks cut, the last hours in the head), in the shape of docs/BENCHMARKS.md's
//! issue #14 load (`e2e::synthetic::bench_load`): half `keiko_requests_total` counters, half
//! `keiko_request_duration_seconds_bucket` (8 buckets a histogram), integer counters with
//! random increments, a sample every 30 s for 24 h + 5 min. Reports the store's `select`
//! and the whole query separately.
//!
//! `BENCH_SERIES=10000 cargo run --release -p promql --example store_range_bench [runs]`

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use promql::{Engine, EngineOptions, LabelMatcher, QueryError, Queryable, Series, Value};
use promql_parser::label::MatchOp;

const SCRAPE_MS: i64 = 30_000;
const DAY_MS: i64 = 24 * 3_600_000;
const BUCKETS: [(&str, u64); 8] = [
    ("0.005", 1),
    ("0.01", 2),
    ("0.05", 4),
    ("0.1", 6),
    ("0.5", 8),
    ("1", 9),
    ("5", 10),
    ("+Inf", 10),
];

/// The embedded store as the engine's storage (as `server/src/embedded/queryable.rs`).
struct Store<'a>(&'a tsdb::Db);

impl Queryable for Store<'_> {
    fn select(&self, m: &[LabelMatcher], s: i64, e: i64) -> Result<Vec<Series>, QueryError> {
        let matchers = m
            .iter()
            .map(|m| {
                let op = match &m.op {
                    MatchOp::Equal => tsdb::MatchOp::Equal,
                    MatchOp::NotEqual => tsdb::MatchOp::NotEqual,
                    MatchOp::Re(_) => tsdb::MatchOp::Regex,
                    MatchOp::NotRe(_) => tsdb::MatchOp::NotRegex,
                };
                tsdb::Matcher::new(op, m.name.clone(), m.value.clone()).expect("matcher")
            })
            .collect::<Vec<_>>();
        let found = self
            .0
            .select(&matchers, s, e)
            .map_err(|e| QueryError::execution(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|s| Series {
                labels: promql::Labels::new(s.labels.iter()),
                // Moved, not copied: the two sample types have one layout, so this collect
                // reuses the allocation.
                samples: s.samples.into_iter().map(|x| (x.t, x.v)).collect(),
            })
            .collect())
    }
}

/// This process's CPU time in ms (`/proc/self/schedstat`; the bench is single-threaded), so
/// that other work on a shared machine shows less than in wall time.
fn cpu_ms() -> f64 {
    let s = std::fs::read_to_string("/proc/self/schedstat").unwrap_or_default();
    let ns: f64 = s
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    ns / 1e6
}

fn mix(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xD1B5_4A32_D192_ED03);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn main() {
    let runs = std::env::args()
        .nth(1)
        .map_or(3, |a| a.parse::<usize>().expect("runs: a number"));
    let series: usize = std::env::var("BENCH_SERIES")
        .ok()
        .map_or(1000, |s| s.parse().expect("BENCH_SERIES: a number"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    // BENCH_DIR keeps the store between runs (loaded once, its end time in `bench_end`).
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var("BENCH_DIR").map_or(tmp.path().to_path_buf(), Into::into);
    let kept = std::fs::read_to_string(dir.join("bench_end")).ok();
    let end = kept
        .as_deref()
        .map_or(now - 120_000, |e| e.trim().parse().expect("end"));
    let first = end - DAY_MS - 300_000;
    let db = tsdb::Db::open(&dir, tsdb::Options::default()).expect("open");
    // (labels, per-step increment bound, offset)
    let mut specs: Vec<(tsdb::Labels, u64, i64)> = Vec::new();
    let (methods, statuses) = (["GET", "POST"], ["200", "404", "500"]);
    let endpoints = [
        "/api/chat",
        "/api/agents",
        "/api/tools",
        "/health",
        "/login",
    ];
    let histograms = series / 2 / BUCKETS.len();
    let counters = series - histograms * BUCKETS.len();
    let off = |n: usize| (mix(7, n as u64) % 15_000) as i64;
    for n in 0..counters {
        let (inst, rest) = (n / 30, n % 30);
        let (m, e, s) = (rest / 15, (rest / 3) % 5, rest % 3);
        let l = tsdb::Labels::new([
            ("__name__", "keiko_requests_total".to_string()),
            ("job", "keiko".to_string()),
            ("instance", format!("app-{inst}:8000")),
            ("method", methods[m].to_string()),
            ("endpoint", endpoints[e].to_string()),
            ("status", statuses[s].to_string()),
        ])
        .expect("labels");
        specs.push((l, [40, 3, 1][s], off(n)));
    }
    for h in 0..histograms {
        let (inst, rest) = (h / 10, h % 10);
        let (m, e) = (rest / 5, rest % 5);
        for (i, (le, share)) in BUCKETS.iter().enumerate() {
            let l = tsdb::Labels::new([
                (
                    "__name__",
                    "keiko_request_duration_seconds_bucket".to_string(),
                ),
                ("job", "keiko".to_string()),
                ("instance", format!("app-{inst}:8000")),
                ("method", methods[m].to_string()),
                ("endpoint", endpoints[e].to_string()),
                ("le", le.to_string()),
            ])
            .expect("labels");
            specs.push((l, 2 * share + (i as u64 == 7) as u64, off(counters + h)));
        }
    }
    let t0 = Instant::now();
    let steps = if kept.is_some() {
        0
    } else {
        (end - first) / SCRAPE_MS + 1
    };
    let mut values = vec![0u64; specs.len()];
    let mut step = 0i64;
    while step < steps {
        // 20 scrapes of every series per commit, as the benchmark's remote-write windows.
        let upto = (step + 20).min(steps);
        let mut app = db.appender();
        for (i, (l, inc, o)) in specs.iter().enumerate() {
            let v = &mut values[i];
            let samples = (step..upto).map(|k| {
                *v += mix(i as u64, k as u64) % (inc + 1);
                (first + k * SCRAPE_MS + o - 15_000, *v as f64)
            });
            let samples: Vec<_> = samples.collect();
            if app.len() + samples.len() > 90_000 {
                let full = std::mem::replace(&mut app, db.appender());
                full.commit().expect("commit");
            }
            app.append_series(l.clone(), samples).expect("append");
        }
        app.commit().expect("commit");
        step = upto;
    }
    if kept.is_none() {
        db.maintain(now).expect("maintain");
        std::fs::write(dir.join("bench_end"), end.to_string()).expect("bench_end");
    }
    println!(
        "{} series, {} samples loaded in {:.1} s; {} blocks",
        specs.len(),
        specs.len() as i64 * steps,
        t0.elapsed().as_secs_f64(),
        db.blocks().len()
    );
    let store = Store(&db);
    let engine = Engine::new(EngineOptions::default());
    let (start, stop) = (end - DAY_MS, end);
    let queries = [
        "sum by (endpoint) (rate(keiko_requests_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
        "rate(keiko_requests_total[5m])",
    ];
    for q in queries {
        let name = q.split('(').next_back().unwrap_or(q);
        let name = name.split('[').next().unwrap_or(name);
        let m = vec![tsdb::Matcher::new(tsdb::MatchOp::Equal, "__name__", name).expect("m")];
        let (mut sel, mut all, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
        let mut points = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let got = db.select(&m, start - 300_000, stop).expect("select");
            sel.push(t.elapsed().as_secs_f64() * 1000.0);
            drop(got);
            let (t, c) = (Instant::now(), cpu_ms());
            let r = engine
                .range_query(&store, q, start, stop, 60_000)
                .expect("query");
            all.push(t.elapsed().as_secs_f64() * 1000.0);
            cpu.push(cpu_ms() - c);
            points = match &r.value {
                Value::Matrix(m) => m.iter().map(|s| s.samples.len()).sum(),
                _ => 0,
            };
        }
        sel.sort_by(f64::total_cmp);
        all.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        println!(
            "query {:>7.1} ms median {:>7.1} ms min, CPU {:>7.1} ms median | select alone {:>6.1} ms median | {points} points  {q}",
            all[all.len() / 2],
            all[0],
            cpu[cpu.len() / 2],
            sel[sel.len() / 2],
        );
    }
}
