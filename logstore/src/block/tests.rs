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

#[test]
fn blocks_keep_value_summaries_and_version_1_blocks_still_read() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = Schema::logs();
    let mut head = Head::new(&schema);
    for i in 0..200u64 {
        let service = if i < 150 { "api" } else { "web" };
        let mut r = Record::log(i as i64, 9, service, "hello")
            .with(LogColumn::CorrelationId, &format!("c-{i}"));
        if i % 2 == 0 {
            r = r.attr("kind", if i < 100 { "a" } else { "b" });
        }
        head.push(i, &r);
    }
    let path = tmp.path().join("1.blk");
    write_block(&path, &head, &schema.describe(), 3).unwrap();
    let block = open(&path);
    let ranges = |key| -> Vec<(String, i64, i64)> {
        block
            .value_ranges(key)
            .unwrap()
            .iter()
            .map(|v| (v.value.clone(), v.min_time, v.max_time))
            .collect()
    };
    let services = ranges(StrKey::Column(1));
    assert_eq!(services, [("api".into(), 0, 149), ("web".into(), 150, 199)]);
    assert_eq!(
        ranges(StrKey::Attribute("kind")),
        [("a".into(), 0, 98), ("b".into(), 100, 198)]
    );
    assert!(ranges(StrKey::Attribute("absent")).is_empty());
    // 200 distinct correlation ids: too many for a summary.
    assert!(block.value_ranges(StrKey::Column(4)).is_none());
    let want: Vec<_> = (0..200).map(|r| block.record(r).unwrap()).collect();

    // The same block as version 1 wrote it: no summaries, no row frames, no id index.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    let dlen = u32::from_le_bytes(bytes[n - 12..n - 8].try_into().unwrap()) as usize;
    let mut dir = block.dir.clone();
    dir.summaries.clear();
    dir.int_bounds.clear();
    dir.row_frames.clear();
    dir.id_index.clear();
    let mut d = Vec::new();
    write::encode_directory(&mut d, &dir);
    d.truncate(d.len() - 4); // the four empty counts version 1 lacks (v2's, then v3's)
    bytes.truncate(n - 12 - dlen);
    bytes[4] = 1;
    bytes.extend_from_slice(&d);
    bytes.extend_from_slice(&(d.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&d).to_le_bytes());
    bytes.extend_from_slice(MAGIC);
    drop(block);
    std::fs::write(&path, &bytes).unwrap();
    let old = open(&path);
    assert!(old.value_ranges(StrKey::Column(1)).is_none());
    assert_eq!(old.int_bounds(0), None);
    let got: Vec<_> = (0..200).map(|r| old.record(r).unwrap()).collect();
    assert_eq!(got, want);
}

#[test]
fn value_summaries_are_bounded_in_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = Schema::logs();
    let mut head = Head::new(&schema);
    let long = "x".repeat(super::SUMMARY_VALUE_BYTES + 1);
    // 600 attributes of 64 values of 100 bytes: 3.8 MB of values, over the block's budget.
    let wide = |a: usize, v: u64| format!("{a:03}{v:02}{}", "y".repeat(95));
    for i in 0..64u64 {
        let mut r = Record::log(i as i64, 9, "api", "hello").attr("long", &long);
        for a in 0..600 {
            r = r.attr(&format!("wide{a:03}"), &wide(a, i));
        }
        head.push(i, &r);
    }
    let path = tmp.path().join("1.blk");
    write_block(&path, &head, &schema.describe(), 3).unwrap();
    let block = open(&path);
    // A value longer than the limit: no summary for that attribute.
    assert!(block.value_ranges(StrKey::Attribute("long")).is_none());
    // The short service column is summarised first; the wide attributes only while the
    // budget lasts, so their summaries hold at most SUMMARY_BYTES.
    assert!(block.value_ranges(StrKey::Column(1)).is_some());
    let kept: usize = (0..600)
        .filter_map(|a| block.value_ranges(StrKey::Attribute(&format!("wide{a:03}"))))
        .map(|v| v.iter().map(|r| r.value.len()).sum::<usize>())
        .sum();
    assert!(kept > 0 && kept <= super::SUMMARY_BYTES, "{kept}");
    assert!(block.value_ranges(StrKey::Attribute("wide599")).is_none());
}
