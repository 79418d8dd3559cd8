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

/// The series of writer `w` in the concurrent run.
fn writer_labels(w: usize, i: usize) -> Labels {
    Labels::new([
        ("__name__", "crash_test".to_string()),
        ("series", i.to_string()),
        ("writer", w.to_string()),
    ])
    .unwrap()
}

const WRITERS: usize = 4;

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

/// Like [`crash_child`] with [`WRITERS`] threads committing at once (so commits share
/// fsyncs); each prints `ack <writer> <t>`.
#[test]
fn crash_child_concurrent() {
    let Ok(dir) = std::env::var("TSDB_CRASH_CHILD_CONCURRENT") else {
        return;
    };
    let db = Db::open(&dir, options()).unwrap();
    // One clock for all writers, so none falls behind what maintenance cuts off.
    let clock = std::sync::atomic::AtomicI64::new(last_t(&db).map_or(0, |t| t + STEP));
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (db, clock) = (&db, &clock);
            scope.spawn(move || {
                let out = std::io::stdout();
                loop {
                    let t = clock.fetch_add(STEP, std::sync::atomic::Ordering::SeqCst);
                    let mut app = db.appender();
                    for i in 0..SERIES / WRITERS {
                        app.append(writer_labels(w, i), t, t as f64 + i as f64)
                            .unwrap();
                    }
                    app.commit().unwrap();
                    writeln!(out.lock(), "ack {w} {t}").unwrap();
                    if t % (30 * STEP) == 0 {
                        db.maintain(t - 10 * STEP).unwrap();
                    }
                }
            });
        }
    });
}

/// Runs a child until it has acknowledged at least `min_acks` batches, kills it with
/// SIGKILL, and returns every timestamp it acknowledged.
fn run_and_kill(dir: &std::path::Path, min_acks: usize) -> Vec<i64> {
    run_child(dir, min_acks, "crash_child", "TSDB_CRASH_CHILD")
        .into_iter()
        .map(|line| line.parse().unwrap())
        .collect()
}

/// Runs test `name` as a child with `env` = `dir` until it printed `min_acks` lines
/// `ack <rest>`, kills it with SIGKILL, and returns every acknowledged `<rest>`.
fn run_child(dir: &std::path::Path, min_acks: usize, name: &str, env: &str) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(env, dir)
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
        if let Some(rest) = line.unwrap().strip_prefix("ack ") {
            acked.push(rest.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Acknowledgements printed before the kill and still in the pipe count too.
    for line in lines.map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("ack ") {
            acked.push(rest.to_owned());
        }
    }
    acked
}

#[test]
fn concurrent_committers_lose_no_acknowledged_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let mut acked: Vec<(String, i64)> = Vec::new();
    for round in 0..3 {
        for line in run_child(
            tmp.path(),
            300 + round * 53,
            "crash_child_concurrent",
            "TSDB_CRASH_CHILD_CONCURRENT",
        ) {
            let (w, t) = line.split_once(' ').unwrap();
            acked.push((w.to_owned(), t.parse().unwrap()));
        }
        let db = Db::open(tmp.path(), options()).unwrap();
        let got = db.select(&[], i64::MIN, i64::MAX).unwrap();
        assert_eq!(got.len(), SERIES / WRITERS * WRITERS, "round {round}");
        for s in &got {
            let w = s.labels.get("writer").unwrap();
            let stored: BTreeSet<i64> = s.samples.iter().map(|s| s.t).collect();
            for (_, t) in acked.iter().filter(|(aw, _)| aw == w) {
                assert!(
                    stored.contains(t),
                    "round {round}: {} lost acknowledged t={t}",
                    s.labels
                );
            }
        }
    }
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
