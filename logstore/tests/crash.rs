//! Durability under SIGKILL: a child process appends batches and prints each one that
//! `append` acknowledged; it is killed mid-ingest (possibly mid-fsync or mid-cut); after
//! reopening, every acknowledged record must be there, once.
//!
//! The child is this test binary re-invoked with `LOGSTORE_CRASH_CHILD=<dir>` running
//! [`crash_child`], which does nothing in a normal test run.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use logstore::{parse, LogColumn, Options, Record, Schema, Store, TimeRange};

const BATCH: i64 = 20;

fn options() -> Options {
    Options {
        // Small blocks and segments so head cuts and segment removal happen during the run.
        max_block_rows: 300,
        wal_segment_bytes: 16 << 10,
        retention_ns: None,
        ..Options::default()
    }
}

fn record(n: i64) -> Record {
    Record::log(n, 9, "crash", &format!("line {n}"))
        .with(LogColumn::CorrelationId, &format!("c-{}", n / BATCH))
}

fn stored(store: &Store) -> BTreeMap<i64, usize> {
    let mut out = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = store
            .search(&parse("").unwrap(), TimeRange::all(), 10_000, cursor)
            .unwrap();
        for h in &page.hits {
            assert_eq!(h.record, record(h.record.time));
            *out.entry(h.record.time).or_insert(0) += 1;
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn crash_child() {
    let Ok(dir) = std::env::var("LOGSTORE_CRASH_CHILD") else {
        return;
    };
    let store = Store::open(&dir, Schema::logs(), options()).unwrap();
    let mut n = stored(&store).keys().next_back().map_or(0, |t| t + 1);
    let out = std::io::stdout();
    loop {
        let batch: Vec<Record> = (n..n + BATCH).map(record).collect();
        store.append(&batch).unwrap();
        writeln!(out.lock(), "ack {n}").unwrap();
        out.lock().flush().unwrap();
        store.maintain(n).unwrap();
        n += BATCH;
    }
}

/// Runs a child until it has acknowledged `min_acks` batches, kills it with SIGKILL, and
/// returns the first record number of every batch it acknowledged.
fn run_and_kill(dir: &std::path::Path, min_acks: usize) -> Vec<i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("LOGSTORE_CRASH_CHILD", dir)
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
        if let Some(n) = line.unwrap().strip_prefix("ack ") {
            acked.push(n.parse().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("ack ") {
            acked.push(n.parse().unwrap());
        }
    }
    acked
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all_acked = Vec::new();
    for round in 0..4 {
        all_acked.extend(run_and_kill(tmp.path(), 40 + round * 17));
        let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
        let got = stored(&store);
        for &first in &all_acked {
            for n in first..first + BATCH {
                assert_eq!(got.get(&n), Some(&1), "round {round}: record {n}");
            }
        }
        assert!(
            got.values().all(|&c| c == 1),
            "round {round}: a record twice"
        );
        let stats = store.stats();
        eprintln!(
            "round {round}: {} batches acked, {} blocks, replay {:?}",
            all_acked.len(),
            stats.blocks.len(),
            stats.replay
        );
    }
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert!(
        !store.stats().blocks.is_empty(),
        "head cuts ran during the test"
    );
}
