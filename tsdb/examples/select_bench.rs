//! Times `Db::select` in the shape of docs/BENCHMARKS.md's "Embedded metrics store" range
//! queries: 504 counter series, a sample every 30 s for 25 h (blocks cut, the last hours
//! in the head), selected over 24 h + 5 min.
//!
//! `cargo run --release -p tsdb --example select_bench [runs]`

use std::time::Instant;

use tsdb::{Db, Labels, MatchOp, Matcher, Options};

const SCRAPE_MS: i64 = 30_000;

fn main() {
    let runs = std::env::args()
        .nth(1)
        .map_or(5, |a| a.parse::<usize>().expect("runs: a number"));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let end = 1_700_000_000_000i64;
    let start = end - 25 * 3_600_000;
    let mut labels = Vec::new();
    for inst in 0..6 {
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for ep in ["/a", "/b", "/c", "/d", "/e", "/f", "/g"] {
                for status in ["200", "404", "500"] {
                    labels.push(
                        Labels::new([
                            ("__name__", "keiko_requests_total".to_string()),
                            ("instance", format!("host-{inst}:9100")),
                            ("method", method.to_string()),
                            ("endpoint", ep.to_string()),
                            ("status", status.to_string()),
                        ])
                        .expect("labels"),
                    );
                }
            }
        }
    }
    labels.truncate(504);
    let t0 = Instant::now();
    let mut t = start;
    let mut step = 0u64;
    while t <= end {
        // 20 scrapes per batch (10,080 samples), as the remote-write bodies of the benchmark.
        let mut app = db.appender();
        for _ in 0..20 {
            for (i, l) in labels.iter().enumerate() {
                let v = (step * (i as u64 % 7 + 1)) as f64;
                app.append(l.clone(), t + (i as i64 * 97) % SCRAPE_MS, v)
                    .expect("append");
            }
            t += SCRAPE_MS;
            step += 1;
        }
        app.commit().expect("commit");
    }
    db.maintain(end).expect("maintain");
    println!("loaded in {:.1} s", t0.elapsed().as_secs_f64());
    let queries: [(&str, Vec<Matcher>); 2] = [
        (
            "keiko_requests_total",
            vec![Matcher::new(MatchOp::Equal, "__name__", "keiko_requests_total").unwrap()],
        ),
        (
            "keiko_requests_total{instance=\"host-0:9100\",method=\"GET\",status=\"200\"}",
            vec![
                Matcher::new(MatchOp::Equal, "__name__", "keiko_requests_total").unwrap(),
                Matcher::new(MatchOp::Equal, "instance", "host-0:9100").unwrap(),
                Matcher::new(MatchOp::Equal, "method", "GET").unwrap(),
                Matcher::new(MatchOp::Equal, "status", "200").unwrap(),
            ],
        ),
    ];
    let (qs, qe) = (end - 24 * 3_600_000 - 300_000, end);
    for (name, m) in &queries {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            let got = db.select(m, qs, qe).expect("select");
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            n = got.iter().map(|s| s.samples.len()).sum();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{:>8.1} ms median {:>8.1} ms min ({n} samples)  select {name}",
            times[times.len() / 2],
            times[0]
        );
    }
}
