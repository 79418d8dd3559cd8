//! The store and its SQLite catalog across crashes: a cut or a drop stopped between its
//! file and its catalog commit, and a store written with the JSON catalog.

use std::path::{Path, PathBuf};

use super::tests::{options, S};
use super::*;
use crate::catalog::tests::write_json;
use crate::severity::INFO;
use crate::{LogColumn, Query};

fn records(from: i64, to: i64) -> Vec<Record> {
    (from..to)
        .map(|i| {
            Record::log(i * S, INFO, "api", &format!("Request {i} completed"))
                .with(LogColumn::CorrelationId, &format!("req-{i}"))
        })
        .collect()
}

fn count(store: &Store) -> u64 {
    store.count(&Query::All, TimeRange::all()).unwrap()
}

fn block_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The files of the WAL and of the catalog (database and its SQLite WAL), as they are now.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let wal = fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path());
    let catalog = ["catalog.db", "catalog.db-wal"]
        .map(|f| dir.join(f))
        .into_iter()
        .filter(|p| p.exists());
    wal.chain(catalog)
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect()
}

fn restore(dir: &Path, files: Vec<(PathBuf, Vec<u8>)>) {
    for f in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = fs::remove_file(dir.join(f));
    }
    for (p, bytes) in files {
        fs::write(p, bytes).unwrap();
    }
}

#[test]
fn a_cut_that_crashed_before_its_catalog_commit_leaves_no_half_block() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    store.append(&records(0, 60)).unwrap();
    // The disk as a crash right after the block file's fsync and rename would leave it:
    // the block in place, the catalog and the WAL as they were before the cut.
    let before = snapshot(tmp.path());
    store.flush().unwrap();
    assert_eq!(block_files(tmp.path()), vec![format!("{:016x}.blk", 0)]);
    drop(store);
    restore(tmp.path(), before);
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert!(
        block_files(tmp.path()).is_empty(),
        "the unrecorded block is deleted"
    );
    assert!(store.stats().blocks.is_empty());
    assert_eq!(
        store.stats().head_records,
        60,
        "its records come back from the WAL"
    );
    assert_eq!(count(&store), 60);
    // The next cut records a block of its own, and every record is found once.
    store.append(&records(60, 80)).unwrap();
    store.flush().unwrap();
    drop(store);
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert_eq!(store.stats().blocks.len(), 1);
    assert_eq!(store.stats().blocks[0].rows, 80);
    assert_eq!(count(&store), 80);
    let q = crate::parse("correlation_id:req-7").unwrap();
    assert_eq!(store.count(&q, TimeRange::all()).unwrap(), 1);
}

#[test]
fn a_drop_that_crashed_after_its_catalog_commit_leaves_an_orphan_removed_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        retention_ns: Some(100 * S),
        ..options()
    };
    let store = Store::open(tmp.path(), Schema::logs(), opts.clone()).unwrap();
    for chunk in records(0, 250).chunks(100) {
        store.append(chunk).unwrap();
        store.flush().unwrap();
    }
    let oldest = block_path(tmp.path(), store.stats().blocks[0].id);
    let kept = fs::read(&oldest).unwrap();
    assert_eq!(store.maintain(260 * S).unwrap().blocks_dropped, 1);
    assert!(!oldest.exists());
    drop(store);
    // As if the process died after the row's delete committed, before the unlink.
    fs::write(&oldest, kept).unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), opts).unwrap();
    assert!(!oldest.exists(), "a file no row names is deleted at open");
    assert_eq!(block_files(tmp.path()).len(), 2);
    assert_eq!(count(&store), 150);
    assert_eq!(
        store.stats().blocks.iter().map(|b| b.rows).sum::<u64>(),
        150
    );
}

#[test]
fn a_store_written_with_the_json_catalog_opens_with_its_blocks_and_its_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    for chunk in records(0, 200).chunks(100) {
        store.append(chunk).unwrap();
        store.flush().unwrap();
    }
    // Still in the WAL: replay must keep these and skip what the blocks hold.
    store.append(&records(200, 230)).unwrap();
    let blocks = store.stats().blocks;
    drop(store);
    // The catalog as the JSON-catalog store wrote it, and no database.
    restore(tmp.path(), vec![]);
    // (`next_block` past the last id, as after a cut that failed: ids are not reused.)
    write_json(tmp.path(), &Schema::logs().describe(), 200, 5, &blocks);

    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert_eq!(store.stats().blocks, blocks);
    assert_eq!(store.stats().head_records, 30);
    assert_eq!(count(&store), 230);
    assert!(!tmp.path().join("catalog.json").exists());
    assert!(tmp.path().join("catalog.db").exists());
    // Block ids go on from the imported `next_block`.
    store.flush().unwrap();
    assert_eq!(store.stats().blocks.last().unwrap().id, 5);
    drop(store);
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert_eq!(store.stats().blocks.len(), 3);
    assert_eq!(count(&store), 230);
}
