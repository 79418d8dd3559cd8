use std::sync::Arc;

use super::*;
use crate::cache::Cache;
use crate::columns::{Segment, StrKey};
use crate::head::Head;
use crate::schema::{Record, Schema};
use crate::LogColumn;

fn open(path: &std::path::Path) -> Block {
    let numeric = vec![true, false, false, false, false];
    let schema = Schema::logs().describe();
    Block::open(1, path, &schema, numeric, Arc::new(Cache::new(1 << 20))).unwrap()
}

#[test]
fn a_block_reads_back_every_record_sorted_by_time() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = Schema::logs();
    let mut head = Head::new(&schema);
    let mut want = Vec::new();
    for i in 0..10_000u64 {
        // Out of order in time, to check the sort.
        let t = ((i * 7919) % 10_000) as i64;
        let mut r = Record::log(
            t,
            9 + (i % 3) as u8 * 4,
            "api",
            &format!("request {i} done"),
        )
        .with(LogColumn::CorrelationId, &format!("c-{}", i / 4));
        if i % 10 == 0 {
            r = r.attr("exception.type", "TimeoutError");
        }
        head.push(i, &r);
        want.push((i, r));
    }
    let path = tmp.path().join("1.blk");
    let size = write_block(&path, &head, &schema.describe(), 3).unwrap();
    let block = open(&path);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    assert_eq!(block.len(), 10_000);
    assert_eq!(block.time_range(), (0, 9999));
    want.sort_by_key(|(s, r)| (r.time, *s));
    for (row, w) in want.iter().enumerate().step_by(97) {
        assert_eq!(&block.record(row).unwrap(), w);
    }
    let times = block.times().unwrap();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(block.postings("request").unwrap().len(), 10_000);
    let rows = block.postings("4711").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(block.body(rows[0] as usize).unwrap(), "request 4711 done");
    assert!(block.may_have_id(4, "c-17"));
    let exc = block
        .strs(StrKey::Attribute("exception.type"))
        .unwrap()
        .unwrap();
    assert_eq!(exc.rows.len(), 1000);
    let misses = (0..1000)
        .filter(|i| block.may_have_id(4, &format!("x-{i}")))
        .count();
    assert!(misses < 50, "{misses}");
}

#[test]
fn a_damaged_block_is_reported_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = Schema::logs();
    let mut head = Head::new(&schema);
    head.push(0, &Record::log(1, 9, "api", "hello"));
    let path = tmp.path().join("1.blk");
    write_block(&path, &head, &schema.describe(), 3).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let numeric = vec![true, false, false, false, false];
    let e = Block::open(
        1,
        &path,
        &schema.describe(),
        numeric,
        Arc::new(Cache::new(1 << 20)),
    );
    assert!(
        matches!(e, Err(crate::Error::Corrupt { .. })),
        "{:?}",
        e.err()
    );
}
