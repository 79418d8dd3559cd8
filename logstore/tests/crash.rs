//! Durability under SIGKILL: a child process appends batches and prints each one that
//! `append` acknowledged; it is killed mid-ingest (possibly mid-fsync or mid-cut); after
//! reopening, every acknowledged record must be there, once. And in a retention drop:
//! strace kills the child at the unlink of a dropped block's file (after the catalog
//! commit that forgot the block, before its file goes), and the store must open with no
//! orphan, nothing of the dropped block visible, and no acknowledged record lost.
//!
//! The child is this test binary re-invoked with `LOGSTORE_CRASH_CHILD=<dir>` running
//! [`crash_child`], which does nothing in a normal test run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
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
    let opts = match std::env::var("LOGSTORE_CRASH_RETENTION_BYTES") {
        Ok(bytes) => Options {
            retention_bytes: Some(bytes.parse().unwrap()),
            ..options()
        },
        Err(_) => options(),
    };
    let store = Store::open(&dir, Schema::logs(), opts).unwrap();
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

/// The child: this test binary running [`crash_child`] on `dir`, under `wrapper` (a
/// command line that runs the program after it) when one is given.
fn child(dir: &Path, wrapper: Option<Command>) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match wrapper {
        Some(mut w) => {
            w.arg(exe);
            w
        }
        None => Command::new(exe),
    };
    cmd.args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("LOGSTORE_CRASH_CHILD", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// Runs a child until it has acknowledged `min_acks` batches, kills it with SIGKILL, and
/// returns the first record number of every batch it acknowledged.
fn run_and_kill(dir: &Path, min_acks: usize) -> Vec<i64> {
    let mut child = child(dir, None).spawn().unwrap();
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

/// Store size that retention keeps: a few blocks and the WAL, so once the store has grown
/// every head cut is followed by a drop of the oldest block.
const RETENTION_BYTES: u64 = 40 << 10;

/// Runs a child with retention by size under strace, which kills it (SIGKILL) on entry to
/// the `when`-th unlink of a block file — block files are unlinked only by a retention
/// drop, after the catalog commit that removed their rows. Returns the first record number
/// of every batch the child acknowledged.
fn run_until_killed_in_a_drop(dir: &Path, when: usize) -> Vec<i64> {
    // Block ids are assigned in order; the child cuts far fewer than 4,096 in a run.
    let first = std::fs::read_dir(dir.join("blocks"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            u64::from_str_radix(name.strip_suffix(".blk")?, 16).ok()
        })
        .min()
        .unwrap_or(0);
    let mut strace = Command::new("strace");
    strace
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=unlink,unlinkat",
        ])
        .arg(format!("--inject=unlink,unlinkat:signal=KILL:when={when}"));
    for id in first..first + 4096 {
        strace
            .arg("-P")
            .arg(dir.join(format!("blocks/{id:016x}.blk")));
    }
    let mut child = child(dir, Some(strace))
        .env(
            "LOGSTORE_CRASH_RETENTION_BYTES",
            RETENTION_BYTES.to_string(),
        )
        .spawn()
        .expect("strace runs the child (scripts/setup.sh installs it)");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acked = Vec::new();
    for line in lines.map_while(Result::ok) {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("no retention drop within 120 s");
        }
        if let Some(n) = line.strip_prefix("ack ") {
            acked.push(n.parse().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child died by SIGKILL in a drop: {status:?}"
    );
    acked
}

/// The block files in `dir/blocks` (names), and every other file there.
fn files_in_blocks(dir: &Path) -> (BTreeSet<String>, Vec<String>) {
    let mut blocks = BTreeSet::new();
    let mut other = Vec::new();
    for e in std::fs::read_dir(dir.join("blocks")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".blk") {
            blocks.insert(format!("blocks/{name}"));
        } else {
            other.push(name);
        }
    }
    (blocks, other)
}

/// What the catalog names, read as the crash left it: each block's file and oldest time.
fn catalog_blocks(dir: &Path) -> BTreeMap<String, i64> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("catalog.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut q = db.prepare("SELECT file, min_time FROM blocks").unwrap();
    let rows = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows
}

#[test]
fn a_kill_during_a_retention_drop_leaves_no_orphan_and_loses_no_acknowledged_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let opts = Options {
        retention_bytes: Some(RETENTION_BYTES),
        ..options()
    };
    let mut all_acked: Vec<i64> = Vec::new();
    // The first unlink of a drop, then later ones (a drop of two blocks killed after the
    // first file went, or the next drop).
    for (round, when) in [1, 2, 3].into_iter().enumerate() {
        all_acked.extend(run_until_killed_in_a_drop(dir, when));
        assert!(!all_acked.is_empty(), "round {round}: nothing acknowledged");

        // As the kill left it: the catalog already forgot a block whose file is still
        // there, and names no file that is gone.
        let named = catalog_blocks(dir);
        let (on_disk, _) = files_in_blocks(dir);
        let orphans: Vec<&String> = on_disk.iter().filter(|f| !named.contains_key(*f)).collect();
        assert!(
            !orphans.is_empty(),
            "round {round}: killed mid-drop, an orphan left"
        );
        for f in named.keys() {
            assert!(
                on_disk.contains(f),
                "round {round}: the catalog names a missing {f}"
            );
        }

        let store = Store::open(dir, Schema::logs(), opts.clone()).unwrap();
        // No orphan and no temporary survive the open; the catalog's blocks are the files.
        let (on_disk, other) = files_in_blocks(dir);
        assert_eq!(on_disk, named.keys().cloned().collect(), "round {round}");
        assert!(
            other.is_empty(),
            "round {round}: left in blocks/: {other:?}"
        );
        assert_eq!(store.stats().blocks.len(), named.len(), "round {round}");

        // What is stored: each record once, with no hole, starting at the oldest block
        // the catalog kept (nothing of a dropped block shows); every acknowledged record
        // from there on, the newest batch included, is there.
        let got = stored(&store);
        assert!(
            got.values().all(|&c| c == 1),
            "round {round}: a record twice"
        );
        let (&lo, &hi) = (
            got.keys().next().expect("the head is never dropped"),
            got.keys().next_back().unwrap(),
        );
        assert_eq!(
            got.len() as i64,
            hi - lo + 1,
            "round {round}: a hole in {lo}..={hi}"
        );
        if let Some(&oldest) = named.values().min() {
            assert_eq!(
                lo, oldest,
                "round {round}: rows older than the oldest block"
            );
        }
        assert!(lo > 0, "round {round}: retention dropped the oldest blocks");
        let newest = *all_acked.iter().max().unwrap();
        assert!(
            hi >= newest + BATCH - 1,
            "round {round}: batch {newest} lost"
        );
        for &first in all_acked.iter().filter(|&&n| n >= lo) {
            for n in first..first + BATCH {
                assert_eq!(got.get(&n), Some(&1), "round {round}: record {n}");
            }
        }
        eprintln!(
            "round {round}: killed at unlink {when} of a drop, {} orphan(s) removed at open, \
             records {lo}..={hi} in {} blocks and the head",
            orphans.len(),
            named.len()
        );
    }
}
