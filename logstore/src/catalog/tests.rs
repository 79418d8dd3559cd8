use super::*;

fn block(id: u64, min_time: i64, max_time: i64, seqs: (u64, u64)) -> BlockInfo {
    BlockInfo {
        id,
        min_time,
        max_time,
        rows: seqs.1 - seqs.0 + 1,
        bytes: 1000 + id,
        min_seq: seqs.0,
        max_seq: seqs.1,
    }
}

fn listed(c: &Catalog) -> (u64, u64, Vec<BlockInfo>) {
    (c.next_seq, c.next_block, c.blocks.clone())
}

/// `catalog.json` as the store wrote it before the SQLite catalog.
pub(crate) fn write_json(
    dir: &Path,
    schema: &str,
    next_seq: u64,
    next_block: u64,
    blocks: &[BlockInfo],
) {
    let blocks: Vec<Value> = blocks
        .iter()
        .map(|b| {
            serde_json::json!({"id": b.id, "min_time": b.min_time, "max_time": b.max_time,
                               "rows": b.rows, "bytes": b.bytes, "min_seq": b.min_seq,
                               "max_seq": b.max_seq})
        })
        .collect();
    let v = serde_json::json!({"version": 1, "schema": schema, "next_seq": next_seq,
                               "next_block": next_block, "blocks": blocks});
    std::fs::write(dir.join("catalog.json"), v.to_string()).unwrap();
}

#[test]
fn blocks_added_and_removed_are_listed_after_a_reopen_in_wal_mode_with_full_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    assert_eq!(listed(&c), (0, 0, vec![]));
    let journal: String = c
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = c
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (journal.as_str(), sync),
        ("wal", 2),
        "WAL journal, synchronous=FULL"
    );
    c.add_block(block(0, -5, 9, (0, 1))).unwrap();
    c.add_block(block(1, 10, 20, (2, 6))).unwrap();
    c.add_block(block(2, 21, 30, (7, 7))).unwrap();
    c.remove_blocks(&[0, 2]).unwrap();
    let expect = (8, 3, vec![block(1, 10, 20, (2, 6))]);
    assert_eq!(listed(&c), expect);
    drop(c);
    let c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    assert_eq!(listed(&c), expect);
    // The time index is there and is what a range lookup uses.
    let plan: String = c
        .conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM blocks WHERE max_time >= ?1",
            [15],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("blocks_by_time"), "{plan}");
    drop(c);
    assert!(matches!(
        Catalog::open(tmp.path(), "b:Id"),
        Err(Error::InvalidSchema(_))
    ));
}

#[test]
fn a_transaction_that_fails_midway_leaves_neither_the_row_nor_the_counters() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    c.add_block(block(0, 0, 1, (0, 9))).unwrap();
    // The row inserts (max_seq fits in SQLite's integer) but next_seq, one past it, does
    // not: the transaction is rolled back after its first statement.
    let top = i64::MAX as u64;
    let e = c.add_block(block(1, 2, 3, (top, top))).unwrap_err();
    assert!(e.to_string().contains("next_seq"), "{e}");
    // A duplicate id fails on the insert itself.
    let e = c.add_block(block(0, 5, 6, (10, 11))).unwrap_err();
    assert!(matches!(e, Error::Catalog { .. }), "{e}");
    assert!(e.to_string().contains("UNIQUE"), "{e}");
    let expect = (10, 1, vec![block(0, 0, 1, (0, 9))]);
    assert_eq!(listed(&c), expect);
    drop(c);
    assert_eq!(
        listed(&Catalog::open(tmp.path(), "a:Keyword").unwrap()),
        expect
    );
}

#[test]
fn a_json_catalog_is_imported_once_then_renamed() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = [block(4, -5, 9, (0, 99)), block(6, 10, 20, (100, 149))];
    write_json(tmp.path(), "a:Keyword", 150, 7, &blocks);
    let c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    let expect = (150, 7, blocks.to_vec());
    assert_eq!(listed(&c), expect);
    assert!(!tmp.path().join("catalog.json").exists());
    assert!(tmp.path().join("catalog.json.imported").exists());
    drop(c);
    // A crash after the import's commit and before the rename: the JSON is back (here
    // with other contents, to tell them apart). The database wins and the JSON is moved.
    write_json(tmp.path(), "a:Keyword", 0, 0, &[]);
    let c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    assert_eq!(listed(&c), expect);
    assert!(!tmp.path().join("catalog.json").exists());
}

#[test]
fn a_json_catalog_of_another_schema_or_unreadable_is_refused_and_not_imported() {
    let tmp = tempfile::tempdir().unwrap();
    write_json(tmp.path(), "b:Id", 3, 1, &[block(0, 0, 1, (0, 2))]);
    assert!(matches!(
        Catalog::open(tmp.path(), "a:Keyword"),
        Err(Error::InvalidSchema(_))
    ));
    assert!(
        tmp.path().join("catalog.json").exists(),
        "kept for the right schema"
    );
    let c = Catalog::open(tmp.path(), "b:Id").unwrap();
    assert_eq!(listed(&c), (3, 1, vec![block(0, 0, 1, (0, 2))]));
    drop(c);

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("catalog.json"), b"{\"version\": 1, \"sch").unwrap();
    let e = Catalog::open(other.path(), "a:Keyword").err().unwrap();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(other.path().join("catalog.json").exists());
    std::fs::write(other.path().join("catalog.json"), b"{\"version\": 1}").unwrap();
    let e = Catalog::open(other.path(), "a:Keyword").err().unwrap();
    assert!(e.to_string().contains("bad fields"), "{e}");
}

#[test]
fn after_a_failed_commit_every_change_is_refused_until_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    c.add_block(block(0, 0, 1, (0, 9))).unwrap();
    // A deferred foreign key makes COMMIT itself fail when block 1 is inserted.
    c.conn
        .execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TRIGGER fail_commit AFTER INSERT ON blocks WHEN NEW.id = 1
             BEGIN INSERT INTO child VALUES (42); END;",
        )
        .unwrap();
    let e = c.add_block(block(1, 2, 3, (10, 19))).unwrap_err();
    assert!(e.to_string().contains("commit in"), "{e}");
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
    let e = c.add_block(block(2, 4, 5, (20, 29))).unwrap_err();
    assert!(e.to_string().contains("reopen the store"), "{e}");
    assert!(c.remove_blocks(&[0]).is_err());
    let expect = (10, 1, vec![block(0, 0, 1, (0, 9))]);
    assert_eq!(listed(&c), expect);
    drop(c);
    let mut c = Catalog::open(tmp.path(), "a:Keyword").unwrap();
    assert_eq!(listed(&c), expect, "the failed commit left nothing");
    c.add_block(block(2, 4, 5, (20, 29))).unwrap();
    assert_eq!(c.blocks.len(), 2);
}
