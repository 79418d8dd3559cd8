//! Times `query_range` over 24 h at a 60 s step on the in-memory store, in the shape of
//! docs/BENCHMARKS.md's "Embedded metrics store" queries: 504 counter series and 63
//! histograms × 8 buckets, a sample every 30 s (2,880 per series).
//!
//! `cargo run --release -p promql --example range_bench [runs]`

use std::time::Instant;

use promql::{Engine, EngineOptions, Labels, MemStorage, Value};

const DAY_MS: i64 = 24 * 3600 * 1000;
const SCRAPE_MS: i64 = 30_000;

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let end = 1_700_000_000_000i64;
    let start = end - DAY_MS;
    let mut store = MemStorage::new();
    let mut n = 0u64;
    let next = |n: &mut u64| {
        *n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*n >> 60) as f64
    };
    let endpoints = [
        "/api/a", "/api/b", "/api/c", "/api/d", "/api/e", "/api/f", "/api/g",
    ];
    let mut series = 0;
    'outer: for inst in 0..6 {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for ep in endpoints {
                for status in ["200", "404", "500"] {
                    if series == 504 {
                        break 'outer;
                    }
                    series += 1;
                    let l = Labels::new([
                        ("__name__", "keiko_requests_total"),
                        ("instance", &format!("host-{inst}:9100")),
                        ("method", method),
                        ("endpoint", ep),
                        ("status", status),
                    ]);
                    let mut v = 0.0;
                    let off = (series as i64 * 97) % SCRAPE_MS;
                    let mut t = start - 3_600_000 + off;
                    while t <= end {
                        v += next(&mut n);
                        store.add_sample(&l, t, v);
                        t += SCRAPE_MS;
                    }
                }
            }
        }
    }
    for h in 0..63 {
        let mut vs = [0.0; 8];
        let off = (h as i64 * 131) % SCRAPE_MS;
        let les = ["0.01", "0.05", "0.1", "0.5", "1", "5", "10", "+Inf"];
        let labels: Vec<Labels> = les
            .iter()
            .map(|le| {
                Labels::new([
                    ("__name__", "keiko_request_duration_seconds_bucket"),
                    ("instance", &format!("host-{}:9100", h % 6)),
                    ("endpoint", &format!("/api/{h}")),
                    ("le", le),
                ])
            })
            .collect();
        let mut t = start - 3_600_000 + off;
        while t <= end {
            let mut acc = 0.0;
            for (i, l) in labels.iter().enumerate() {
                acc += next(&mut n);
                vs[i] += acc;
                store.add_sample(l, t, vs[i]);
            }
            t += SCRAPE_MS;
        }
    }
    let engine = Engine::new(EngineOptions::default());
    let queries = [
        "rate(keiko_requests_total[5m])",
        "sum by (endpoint) (rate(keiko_requests_total[5m]))",
        "histogram_quantile(0.99, sum by (le) (rate(keiko_request_duration_seconds_bucket[5m])))",
        "keiko_requests_total{instance=\"host-0:9100\",method=\"GET\",status=\"200\"}",
    ];
    for q in queries {
        let mut times = Vec::new();
        let mut points = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            let r = engine
                .range_query(&store, q, start, end, 60_000)
                .expect("query");
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            points = match &r.value {
                Value::Matrix(m) => m.iter().map(|s| s.samples.len()).sum(),
                _ => 0,
            };
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{:>9.1} ms median  {:>9.1} ms min  ({} points)  {q}",
            times[times.len() / 2],
            times[0],
            points
        );
    }
}
