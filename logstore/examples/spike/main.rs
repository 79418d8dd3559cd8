//! The engine spike of issue #16: the same synthetic, seed-shaped log lines into this
//! crate's block store and (with `--features tantivy-spike`) into tantivy; ingest rate,
//! bytes on disk per line, and p50/p99 of `level:ERROR AND "timeout"` (newest 100, and the
//! full count) and `correlation_id:<id>` over the whole set.
//!
//! ```text
//! cargo run --release -p logstore --example spike --features tantivy-spike -- \
//!     --lines 10000000 --dir /tmp/spike
//! ```
//!
//! `--engine dump` writes the same lines as flat JSON (`lines.ndjson`) and the looked-up
//! correlation ids (`ids.txt`) for the peers of `scripts/bench_logs.sh`; `--results FILE`
//! appends the figures as one JSON line.

mod lines;
#[cfg(feature = "tantivy-spike")]
mod tantivy_side;

use std::path::{Path, PathBuf};
use std::time::Instant;

use logstore::{parse, Options, Record, Schema, Store, TimeRange};

pub(crate) const BATCH: usize = 10_000;
pub(crate) const RUNS: usize = 50;

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// p50 and p99 of durations in milliseconds.
pub(crate) fn percentiles(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

pub(crate) fn timed(mut f: impl FnMut(usize)) -> (f64, f64) {
    let ms = (0..RUNS)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentiles(ms)
}

/// The lines and the looked-up ids as files, for the peers.
fn dump(n: usize, dir: &Path, ids: &[String]) {
    use std::io::Write;
    let file = std::fs::File::create(dir.join("lines.ndjson")).expect("lines.ndjson");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut gen = lines::Generator::new(42);
    for _ in 0..n {
        writeln!(out, "{}", lines::to_json(&gen.next_record())).expect("write");
    }
    out.flush().expect("flush");
    std::fs::write(dir.join("ids.txt"), ids.join("\n") + "\n").expect("ids.txt");
    println!("dump: {n} lines to {}", dir.join("lines.ndjson").display());
}

fn own_store(n: usize, dir: &Path, ids: &[String], results: Option<&Path>) {
    let store = Store::open(
        dir,
        Schema::logs(),
        Options {
            retention_ns: None,
            ..Options::default()
        },
    )
    .expect("open");
    let mut gen = lines::Generator::new(42);
    let started = Instant::now();
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut done = 0;
    while done < n {
        batch.clear();
        for _ in 0..BATCH.min(n - done) {
            batch.push(gen.next_record());
        }
        store.append(&batch).expect("append");
        done += batch.len();
        store.maintain(gen.now()).expect("maintain");
    }
    store.flush().expect("flush");
    let secs = started.elapsed().as_secs_f64();
    let bytes = dir_size(dir);
    let mut figures = serde_json::json!({
        "engine": "own block store (logstore)",
        "lines": n,
        "ingest_lines_per_s": n as f64 / secs,
        "ingest_threads": 1,
        "bytes_per_line": bytes as f64 / n as f64,
    });
    println!(
        "own: {n} lines in {secs:.1} s = {:.0} lines/s (one writer thread); {bytes} bytes on disk = {:.1} bytes/line; {} blocks",
        n as f64 / secs,
        bytes as f64 / n as f64,
        store.stats().blocks.len()
    );
    let q = parse(r#"level:ERROR AND "timeout""#).expect("query");
    let all = TimeRange::all();
    let first = Instant::now();
    let page = store.search(&q, all, 100, None).expect("search");
    println!(
        "own: level:ERROR AND \"timeout\" newest 100, cold: {:.1} ms ({} hits)",
        first.elapsed().as_secs_f64() * 1000.0,
        page.hits.len()
    );
    let (p50, p99) = timed(|_| {
        store.search(&q, all, 100, None).expect("search");
    });
    println!("own: level:ERROR AND \"timeout\" newest 100: p50 {p50:.2} ms, p99 {p99:.2} ms");
    figures["term_newest100_ms"] = serde_json::json!([p50, p99]);
    let count = store.count(&q, all).expect("count");
    let (p50, p99) = timed(|_| {
        store.count(&q, all).expect("count");
    });
    println!("own: level:ERROR AND \"timeout\" count ({count}): p50 {p50:.2} ms, p99 {p99:.2} ms");
    figures["term_count_ms"] = serde_json::json!([p50, p99]);
    figures["term_count"] = serde_json::json!(count);
    let queries: Vec<_> = ids
        .iter()
        .map(|id| parse(&format!("correlation_id:{id}")).expect("query"))
        .collect();
    let mut hits = 0;
    let (p50, p99) = timed(|i| {
        hits += store
            .search(&queries[i % queries.len()], all, 100, None)
            .expect("search")
            .hits
            .len();
    });
    println!(
        "own: correlation_id:<id> ({:.1} lines each): p50 {p50:.2} ms, p99 {p99:.2} ms",
        hits as f64 / RUNS as f64
    );
    figures["id_ms"] = serde_json::json!([p50, p99]);
    figures["id_lines"] = serde_json::json!(hits as f64 / RUNS as f64);
    if let Some(path) = results {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("results file");
        writeln!(f, "{figures}").expect("write results");
    }
}

fn main() {
    let mut n = 10_000_000usize;
    let mut dir = PathBuf::from("/tmp/logstore-spike");
    let mut engines = vec!["own".to_string(), "tantivy".to_string()];
    let mut results: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--lines", Some(v)) => n = v.parse().expect("--lines N"),
            ("--dir", Some(v)) => dir = PathBuf::from(v),
            ("--engine", Some(v)) => engines = vec![v],
            ("--results", Some(v)) => results = Some(PathBuf::from(v)),
            _ => panic!(
                "usage: spike [--lines N] [--dir DIR] [--engine own|tantivy|dump] [--results FILE]"
            ),
        }
    }
    // Correlation ids to look up, spread over the whole set.
    let ids = lines::sample_ids(42, n, RUNS);
    for e in engines {
        let d = dir.join(&e);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create dir");
        match e.as_str() {
            "own" => own_store(n, &d, &ids, results.as_deref()),
            "dump" => dump(n, &d, &ids),
            #[cfg(feature = "tantivy-spike")]
            "tantivy" => tantivy_side::run(n, &d, &ids),
            other => println!("{other}: skipped (build with --features tantivy-spike)"),
        }
    }
}
