//! Durability under SIGKILL: a child process appends batches and prints each one that
//! `commit` acknowledged; it is killed mid-ingest (possibly mid-fsync or mid-maintenance);
//! after reopening, every acknowledged sample must be there.
//!
//! The child is this test binary re-invoked with `TSDB_CRASH_CHILD=<dir>` running
//! [`crash_child`], which does nothing in a normal test run.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tsdb::{Db, Labels, Options};

const SERIES: usize = 20;
const STEP: i64 = 1000;

fn options() -> Options {
    Options {
        // Small blocks so head cuts, WAL checkpoints and compactions happen during the run.
        block_range_ms: 60_000,
        max_block_range_ms: Some(540_000),
        retention_ms: None,
        wal_segment_bytes: 64 << 10,
        ..Options::default()
    }
}

fn labels(i: usize) -> Labels {
    Labels::new([
        ("__name__", "crash_test".to_string()),
        ("series", i.to_string()),
    ])
    .unwrap()
}

/// The latest timestamp stored, if any.
fn last_t(db: &Db) -> Option<i64> {
    db.select(&[], i64::MIN, i64::MAX)
        .unwrap()
        .iter()
        .filter_map(|s| s.samples.last().map(|s| s.t))
        .max()
}

#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("TSDB_CRASH_CHILD") else {
        return;
    };
    let db = Db::open(&dir, options()).unwrap();
    let mut t = last_t(&db).map_or(0, |t| t + STEP);
    let out = std::io::stdout();
    loop {
        let mut app = db.appender();
        for i in 0..SERIES {
            app.append(labels(i), t, t as f64 + i as f64).unwrap();
        }
        app.commit().unwrap();
        writeln!(out.lock(), "ack {t}").unwrap();
        out.lock().flush().unwrap();
        if t % (30 * STEP) == 0 {
            db.maintain(t).unwrap();
        }
        t += STEP;
    }
}

/// Runs a child until it has acknowledged at least `min_acks` batches, kills it with
/// SIGKILL, and returns every timestamp it acknowledged.
fn run_and_kill(dir: &std::path::Path, min_acks: usize) -> Vec<i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("TSDB_CRASH_CHILD", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < min_acks {
        assert!(Instant::now() < deadline, "child too slow");
        let Some(line) = lines.next() else {
            panic!("child exited early: {:?}", child.wait())
        };
        if let Some(t) = line.unwrap().strip_prefix("ack ") {
            acked.push(t.parse().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Acknowledgements printed before the kill and still in the pipe count too.
    for line in lines.map_while(Result::ok) {
        if let Some(t) = line.strip_prefix("ack ") {
            acked.push(t.parse().unwrap());
        }
    }
    acked
}

#[test]
fn acknowledged_samples_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all_acked = Vec::new();
    for round in 0..4 {
        // Rounds differ in length so the kill lands at different points.
        all_acked.extend(run_and_kill(tmp.path(), 150 + round * 37));
        let db = Db::open(tmp.path(), options()).unwrap();
        let got = db.select(&[], i64::MIN, i64::MAX).unwrap();
        assert_eq!(got.len(), SERIES, "round {round}");
        for s in &got {
            let i: f64 = s.labels.get("series").unwrap().parse().unwrap();
            let stored: BTreeSet<i64> = s.samples.iter().map(|s| s.t).collect();
            for &t in &all_acked {
                assert!(
                    stored.contains(&t),
                    "round {round}: {} lost acknowledged t={t}",
                    s.labels
                );
            }
            for smp in &s.samples {
                assert_eq!(smp.v, smp.t as f64 + i);
            }
        }
        let stats = db.stats();
        eprintln!(
            "round {round}: {} acked, {} blocks, replay {:?}",
            all_acked.len(),
            stats.blocks,
            stats.replay
        );
    }
    let db = Db::open(tmp.path(), options()).unwrap();
    assert!(db.stats().blocks > 0, "maintenance ran during the test");
}
