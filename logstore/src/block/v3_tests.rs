//! Version 3: row frames and id indexes, their directory checks, and what older blocks
//! still read.

use std::path::Path;
use std::sync::Arc;

use super::id_index::encode_tails;
use super::*;
use crate::cache::{Cache, SectionKey};
use crate::columns::{Segment, StrKey};
use crate::head::Head;
use crate::schema::{Column, ColumnKind, Record, Schema, Value};

/// A span-like schema: `rec`, two ids (one repeating, one unique), an `Int`, a severity.
fn schema() -> Schema {
    Schema::new(vec![
        Column::new("rec", ColumnKind::Keyword, &[]),
        Column::new("trace_id", ColumnKind::Id, &[]),
        Column::new("span_id", ColumnKind::Id, &[]),
        Column::new("duration", ColumnKind::Int, &[]),
        Column::new("severity", ColumnKind::Severity, &[]),
    ])
    .unwrap()
}

const NUMERIC: [bool; 5] = [false, false, false, true, true];

fn trace_id(t: u64) -> String {
    format!("{t:032x}")
}

/// Record `i` of `n`: out of time order, absent values, empty strings (distinct from
/// absent), sparse attributes and rows without any; three rows per trace id.
fn record(i: u64, n: u64) -> Record {
    let rec = match i % 11 {
        0 => Value::Absent,
        7 => Value::Str(String::new()),
        _ => Value::Str("span".into()),
    };
    let span = if i.is_multiple_of(13) {
        Value::Absent
    } else {
        Value::Str(format!("{i:016x}"))
    };
    let mut r = Record {
        time: ((i * 7919) % n) as i64 - 5,
        values: vec![
            rec,
            Value::Str(trace_id(i / 3)),
            span,
            if i.is_multiple_of(5) {
                Value::Absent
            } else {
                Value::Int(i as i64 * 3 - 500)
            },
            Value::Int(1 + (i % 24) as i64),
        ],
        attributes: Vec::new(),
        body: format!("span {i}"),
    };
    if !i.is_multiple_of(4) {
        r = r.attr("http.method", "GET");
    }
    if i.is_multiple_of(3) {
        r = r.attr("peer", "");
    }
    if i.is_multiple_of(17) {
        r = r.attr("rare", &format!("r{i}"));
    }
    r
}

/// Writes records `0..n` as a block at `dir/1.blk`; returns the records in block order.
fn write(dir: &Path, n: u64) -> Vec<(u64, Record)> {
    let mut head = Head::new(&schema());
    let mut want = Vec::new();
    for i in 0..n {
        let r = record(i, n);
        head.push(i, &r);
        want.push((i, r));
    }
    write_block(&dir.join("1.blk"), &head, &schema().describe(), 3).unwrap();
    want.sort_by_key(|(s, r)| (r.time, *s));
    want
}

fn open(dir: &Path, cache: Arc<Cache>) -> Result<Block, crate::Error> {
    let path = dir.join("1.blk");
    Block::open(1, &path, &schema().describe(), NUMERIC.to_vec(), cache)
}

fn small_cache() -> Arc<Cache> {
    Arc::new(Cache::new(64 << 20))
}

/// Rewrites the block's directory as `dir` with `tail` bytes dropped from its end, and
/// version byte `version`, after sections `extra` appended to the file's sections.
fn rewrite(path: &Path, dir: &Directory, drop: usize, version: u8, extra: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = bytes.len();
    let dlen = u32::from_le_bytes(bytes[n - 12..n - 8].try_into().unwrap()) as usize;
    bytes.truncate(n - 12 - dlen);
    bytes.extend_from_slice(extra);
    bytes[4] = version;
    let mut d = Vec::new();
    write::encode_directory(&mut d, dir);
    d.truncate(d.len() - drop);
    bytes.extend_from_slice(&d);
    bytes.extend_from_slice(&(d.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&d).to_le_bytes());
    bytes.extend_from_slice(MAGIC);
    std::fs::write(path, &bytes).unwrap();
}

/// Where the sections of the block at `path` end (and its directory starts).
fn sections_end(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let n = bytes.len();
    (n - 12 - u32::from_le_bytes(bytes[n - 12..n - 8].try_into().unwrap()) as usize) as u64
}

#[test]
fn row_frames_give_back_whole_records() {
    let tmp = tempfile::tempdir().unwrap();
    // Three frames, the last one partial.
    let want = write(tmp.path(), 2_500);
    let block = open(tmp.path(), small_cache()).unwrap();
    assert_eq!(block.dir.row_frames.len(), 3);
    let all: Vec<usize> = (0..2_500).collect();
    let keys = block.frame_keys(&all).unwrap();
    // Attributes come back in the block's order of attribute names.
    let pos = |k: &str| block.dir.attributes.iter().position(|(a, _)| a == k);
    for (row, w) in want.iter().enumerate() {
        let got = block.record(row).unwrap();
        let mut w = w.clone();
        w.1.attributes.sort_by_key(|(k, _)| pos(k));
        assert_eq!(got, w, "row {row}");
        assert_eq!(got, block.record_from_columns(row).unwrap(), "row {row}");
        assert_eq!(keys[row], (w.1.time, w.0));
    }
    // Empty strings stay distinct from absent values.
    assert!(want
        .iter()
        .any(|(_, r)| r.values[0] == Value::Str(String::new())));
    assert!(want.iter().any(|(_, r)| r.values[0] == Value::Absent));
    assert!(want.iter().any(|(_, r)| r.attributes.is_empty()));
    assert!(block.record(2_500).is_err());
    // Few rows' keys come from the frames, many from the whole columns: the same.
    let some = [3, 1_500, 2_499];
    let picked: Vec<_> = some.iter().map(|&r| keys[r]).collect();
    assert_eq!(block.keys(&some).unwrap(), picked);
    assert_eq!(block.keys(&all).unwrap(), keys);
}

#[test]
fn older_blocks_still_read_and_a_newer_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("1.blk");
    write(tmp.path(), 2_000);
    let block = open(tmp.path(), small_cache()).unwrap();
    let want: Vec<_> = (0..2_000).map(|r| block.record(r).unwrap()).collect();
    assert!(block.id_rows(1, &trace_id(5)).unwrap().is_some());
    let v3 = block.dir.clone();
    drop(block);
    // The two empty version 3 counts, then the two empty version 2 counts.
    let mut v2 = v3.clone();
    v2.row_frames.clear();
    v2.id_index.clear();
    let mut v1 = v2.clone();
    v1.summaries.clear();
    v1.int_bounds.clear();
    let mut tails = Vec::new();
    encode_tails(&mut tails, &v2);
    assert_eq!(tails, [0, 0]);
    for (dir, drop, version) in [(&v2, 2, 2), (&v1, 4, 1)] {
        rewrite(&path, dir, drop, version, &[]);
        let old = open(tmp.path(), small_cache()).unwrap();
        assert!(old.dir.row_frames.is_empty() && old.dir.id_index.is_empty());
        assert_eq!(old.id_rows(1, &trace_id(5)).unwrap(), None);
        let got: Vec<_> = (0..2_000).map(|r| old.record(r).unwrap()).collect();
        assert_eq!(got, want, "version {version}");
        assert_eq!(old.value_ranges(StrKey::Column(0)).is_some(), version == 2);
    }
    rewrite(&path, &v3, 0, VERSION + 1, &[]);
    assert!(matches!(
        open(tmp.path(), small_cache()),
        Err(crate::Error::Corrupt { .. })
    ));
    rewrite(&path, &v3, 0, VERSION, &[]);
    assert!(open(tmp.path(), small_cache()).is_ok());
}

#[test]
fn id_index_finds_the_rows_of_every_value() {
    let tmp = tempfile::tempdir().unwrap();
    // 3,000 trace ids of three rows each: several id index frames.
    write(tmp.path(), 9_000);
    let block = open(tmp.path(), small_cache()).unwrap();
    let (column, frames) = &block.dir.id_index[0];
    assert_eq!(
        (*column, block.dir.id_index.len()),
        (1, 1),
        "span_id is unique"
    );
    assert!(frames.len() >= 3, "{} frames", frames.len());
    assert_eq!(block.id_rows(2, "0000000000000001").unwrap(), None);
    let col = block.strs(StrKey::Column(1)).unwrap().unwrap();
    for t in 0..3_000 {
        let v = trace_id(t);
        let want = col.rows_with_id(col.id_of(&v).unwrap(), 9_000);
        assert_eq!(want.count(), 3);
        assert_eq!(block.id_rows(1, &v).unwrap(), Some(want), "{v}");
        // Between two values, past one.
        let between = block.id_rows(1, &format!("{v}0")).unwrap().unwrap();
        assert!(between.is_empty(), "{v}0");
    }
    for first in frames.iter().map(|(f, _)| f) {
        assert_eq!(block.id_rows(1, first).unwrap().unwrap().count(), 3);
    }
    for outside in ["", "0", &"f".repeat(33), "zz"] {
        assert!(block.id_rows(1, outside).unwrap().unwrap().is_empty());
    }
}

#[test]
fn a_bad_directory_tail_or_frame_is_reported_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("1.blk");
    write(tmp.path(), 9_000);
    let dir = open(tmp.path(), small_cache()).unwrap().dir.clone();
    let corrupt = |block: Result<Block, crate::Error>| {
        assert!(
            matches!(block, Err(crate::Error::Corrupt { .. })),
            "{:?}",
            block.err()
        )
    };
    // Too few row frames, an index of a numeric column, twice the same column, frames
    // whose first values do not ascend, an index without frames.
    let mut few = dir.clone();
    few.row_frames.pop();
    let mut numeric = dir.clone();
    numeric.id_index[0].0 = 3;
    let mut twice = dir.clone();
    twice.id_index.push(twice.id_index[0].clone());
    let mut unsorted = dir.clone();
    unsorted.id_index[0].1.swap(0, 1);
    let mut empty = dir.clone();
    empty.id_index[0].1.clear();
    for bad in [few, numeric, twice, unsorted, empty] {
        rewrite(&path, &bad, 0, VERSION, &[]);
        corrupt(open(tmp.path(), small_cache()));
    }
    // Frames whose bytes pass their checksum but do not decode: garbage, a frame cut
    // short, another frame's bytes.
    let garbage = vec![0xff; 64];
    let frame0 = dir.row_frames[0];
    let mut real = vec![0u8; frame0.len as usize];
    let bytes = std::fs::read(&path).unwrap();
    real.copy_from_slice(&bytes[frame0.offset as usize..][..frame0.len as usize]);
    let raw0 = zstd::bulk::decompress(&real, frame0.raw_len as usize).unwrap();
    for raw in [garbage, raw0[..raw0.len() / 2].to_vec()] {
        let compressed = zstd::bulk::compress(&raw, 3).unwrap();
        let at = SectionRef {
            offset: sections_end(&path),
            len: compressed.len() as u64,
            raw_len: raw.len() as u64,
            crc: crc32fast::hash(&compressed),
        };
        let mut d = dir.clone();
        d.row_frames[1] = at;
        d.id_index[0].1[1].1 = at;
        rewrite(&path, &d, 0, VERSION, &compressed);
        let block = open(tmp.path(), small_cache()).unwrap();
        assert!(block.record(0).is_ok());
        assert!(matches!(
            block.record(ROW_FRAME_ROWS + 1),
            Err(crate::Error::Corrupt { .. })
        ));
        let second = &d.id_index[0].1[1].0;
        assert!(matches!(
            block.id_rows(1, second),
            Err(crate::Error::Corrupt { .. })
        ));
        assert!(block.id_rows(1, &trace_id(0)).unwrap().unwrap().count() == 3);
        rewrite(&path, &dir, 0, VERSION, &[]);
    }
    // Frame 0's bytes as frame 1: the id index frame's first value is not its directory's.
    let mut d = dir.clone();
    d.id_index[0].1[1].1 = d.id_index[0].1[0].1;
    rewrite(&path, &d, 0, VERSION, &[]);
    let block = open(tmp.path(), small_cache()).unwrap();
    assert!(block.id_rows(1, &d.id_index[0].1[1].0).is_err());
}

#[test]
fn a_row_read_decodes_no_whole_column() {
    let tmp = tempfile::tempdir().unwrap();
    let want = write(tmp.path(), 100_000);
    let cache = Arc::new(Cache::new(256 << 20));
    let block = open(tmp.path(), cache.clone()).unwrap();
    let rows = block.id_rows(1, &trace_id(20_000)).unwrap().unwrap();
    let rows: Vec<usize> = rows.iter().collect();
    assert_eq!(rows.len(), 3);
    let keys = block.keys(&rows).unwrap();
    for (&r, k) in rows.iter().zip(keys) {
        let got = block.record(r).unwrap();
        assert_eq!(got.0, want[r].0);
        assert_eq!(got.1.values, want[r].1.values);
        assert_eq!(k, (got.1.time, got.0));
    }
    assert!(cache.bytes() < 1 << 20, "{} bytes cached", cache.bytes());
    let whole: Vec<_> = cache
        .keys()
        .into_iter()
        .filter(|(_, k)| {
            matches!(
                k,
                SectionKey::Column(_)
                    | SectionKey::Attribute(_)
                    | SectionKey::Times
                    | SectionKey::Seqs
            )
        })
        .collect();
    assert!(whole.is_empty(), "{whole:?}");
}
