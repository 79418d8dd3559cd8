//! Writing a block from a frozen head.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use super::id_index::{encode_tails, indexed, write_id_index};
use super::rows::write_row_frames;
use super::{
    Directory, SectionRef, SummaryKey, ValueRange, FRAME_ROWS, MAGIC, POSTINGS_FRAME_BYTES,
    SUMMARY_BYTES, SUMMARY_VALUES, SUMMARY_VALUE_BYTES, VERSION,
};
use crate::bloom::{id_key, Bloom};
use crate::columns::StrColumn;
use crate::error::Error;
use crate::fsutil::sync_dir;
use crate::head::{ColumnBuilder, Head};
use crate::schema::ColumnKind;
use crate::varint::{put_bytes, put_i, put_u};

pub(super) struct SectionWriter<W: Write> {
    out: W,
    pos: u64,
    level: i32,
}

impl<W: Write> SectionWriter<W> {
    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    pub(super) fn section(&mut self, raw: &[u8]) -> std::io::Result<SectionRef> {
        let compressed = zstd::bulk::compress(raw, self.level)?;
        let r = SectionRef {
            offset: self.pos,
            len: compressed.len() as u64,
            raw_len: raw.len() as u64,
            crc: crc32fast::hash(&compressed),
        };
        self.raw(&compressed)?;
        Ok(r)
    }
}

pub(crate) fn put_ref(out: &mut Vec<u8>, r: &SectionRef) {
    put_u(out, r.offset);
    put_u(out, r.len);
    put_u(out, r.raw_len);
    out.extend_from_slice(&r.crc.to_le_bytes());
}

/// A string column with its rows renumbered by `new_row` and sorted again.
fn encode_strs(col: &StrColumn, new_row: &[u32]) -> Vec<u8> {
    let mut pairs: Vec<(u32, u32)> = col
        .rows
        .iter()
        .zip(&col.ids)
        .map(|(&r, &id)| (new_row[r as usize], id))
        .collect();
    pairs.sort_unstable();
    let mut out = Vec::new();
    put_u(&mut out, col.values.len() as u64);
    for v in &col.values {
        put_bytes(&mut out, v.as_bytes());
    }
    put_u(&mut out, pairs.len() as u64);
    let mut prev = 0u32;
    for &(r, _) in &pairs {
        put_u(&mut out, u64::from(r - prev));
        prev = r;
    }
    for &(_, id) in &pairs {
        put_u(&mut out, u64::from(id));
    }
    out
}

/// Each value of `col` with the time range of its rows, if it has few and short enough
/// values and their bytes fit what is left of the block's `budget` (then taken from it).
fn summarize(col: &StrColumn, times: &[i64], budget: &mut usize) -> Option<Vec<ValueRange>> {
    if col.values.len() > SUMMARY_VALUES || col.values.iter().any(|v| v.len() > SUMMARY_VALUE_BYTES)
    {
        return None;
    }
    // What the summary holds in memory: each value's bytes and its entry.
    let bytes: usize = col
        .values
        .iter()
        .map(|v| v.len() + std::mem::size_of::<ValueRange>())
        .sum();
    *budget = budget.checked_sub(bytes)?;
    let mut out: Vec<ValueRange> = col
        .values
        .iter()
        .map(|v| ValueRange {
            value: v.clone(),
            min_time: i64::MAX,
            max_time: i64::MIN,
        })
        .collect();
    for (&row, &id) in col.rows.iter().zip(&col.ids) {
        let t = times[row as usize];
        let r = &mut out[id as usize];
        r.min_time = r.min_time.min(t);
        r.max_time = r.max_time.max(t);
    }
    Some(out)
}

/// Writes `head` as block file `path` (via `<path>.tmp`, fsynced, renamed). Rows are sorted
/// by `(time, seq)`; `level` is the zstd level.
pub(crate) fn write_block(
    path: &Path,
    head: &Head,
    schema: &str,
    level: i32,
) -> Result<u64, Error> {
    let n = head.times.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| (head.times[i as usize], head.seqs[i as usize]));
    let mut new_row = vec![0u32; n];
    for (new, &old) in order.iter().enumerate() {
        new_row[old as usize] = new as u32;
    }
    let tmp = path.with_extension("tmp");
    let ctx = || format!("write block {}", path.display());
    let file = File::create(&tmp).map_err(Error::io(ctx()))?;
    let mut w = SectionWriter {
        out: BufWriter::with_capacity(1 << 20, file),
        pos: 0,
        level,
    };
    let dir = write_sections(&mut w, head, schema, &order, &new_row).map_err(Error::io(ctx()))?;
    let mut d = Vec::new();
    encode_directory(&mut d, &dir);
    let mut tail = Vec::with_capacity(12);
    tail.extend_from_slice(&(d.len() as u32).to_le_bytes());
    tail.extend_from_slice(&crc32fast::hash(&d).to_le_bytes());
    tail.extend_from_slice(MAGIC);
    w.raw(&d)
        .and_then(|_| w.raw(&tail))
        .map_err(Error::io(ctx()))?;
    let size = w.pos;
    let file = w
        .out
        .into_inner()
        .map_err(|e| Error::io(ctx())(e.into_error()))?;
    file.sync_all().map_err(Error::io(ctx()))?;
    drop(file);
    fs::rename(&tmp, path).map_err(Error::io(ctx()))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(size)
}

fn write_sections<W: Write>(
    w: &mut SectionWriter<W>,
    head: &Head,
    schema: &str,
    order: &[u32],
    new_row: &[u32],
) -> std::io::Result<Directory> {
    let n = order.len();
    w.raw(MAGIC)?;
    w.raw(&[VERSION])?;
    let mut raw = Vec::with_capacity(n * 2);
    let mut prev_t = None;
    for &o in order {
        let t = head.times[o as usize];
        match prev_t {
            None => put_i(&mut raw, t),
            Some(p) => put_u(&mut raw, (t - p) as u64),
        }
        prev_t = Some(t);
    }
    let times = w.section(&raw)?;
    raw.clear();
    let mut prev_s = 0i64;
    for &o in order {
        let s = head.seqs[o as usize] as i64;
        put_i(&mut raw, s.wrapping_sub(prev_s));
        prev_s = s;
    }
    let seqs = w.section(&raw)?;
    let mut columns = Vec::new();
    let mut id_values = Vec::new();
    let mut summaries = Vec::new();
    let mut summary_budget = SUMMARY_BYTES;
    let mut int_bounds = Vec::new();
    for (i, c) in head.columns.iter().enumerate() {
        raw.clear();
        match c {
            ColumnBuilder::Ints(v) => {
                for &o in order {
                    put_i(&mut raw, v[o as usize]);
                }
                let present = v.iter().copied().filter(|&n| n != i64::MIN);
                let (lo, hi) =
                    present.fold((i64::MAX, i64::MIN), |(lo, hi), n| (lo.min(n), hi.max(n)));
                if head.kinds[i] == ColumnKind::Int && lo <= hi {
                    int_bounds.push((i, lo, hi));
                }
            }
            ColumnBuilder::Strs(b) => {
                if let Some(s) = summarize(&b.column, &head.times, &mut summary_budget) {
                    summaries.push((SummaryKey::Column(i), s));
                }
                raw = encode_strs(&b.column, new_row);
                if head.kinds[i] == ColumnKind::Id {
                    id_values.extend(b.column.values.iter().map(|v| id_key(i, v)));
                }
            }
        }
        columns.push(w.section(&raw)?);
    }
    let mut attributes = Vec::new();
    for (p, (name, b)) in head.attributes.iter().enumerate() {
        attributes.push((name.clone(), w.section(&encode_strs(&b.column, new_row))?));
        if let Some(s) = summarize(&b.column, &head.times, &mut summary_budget) {
            summaries.push((SummaryKey::Attribute(p), s));
        }
    }
    let row_frames = write_row_frames(w, head, order, new_row)?;
    let mut id_index = Vec::new();
    for (i, c) in head.columns.iter().enumerate() {
        if let (ColumnKind::Id, ColumnBuilder::Strs(b)) = (head.kinds[i], c) {
            if indexed(&b.column) {
                id_index.push((i, write_id_index(w, &b.column, new_row)?));
            }
        }
    }
    let mut body_frames = Vec::new();
    for frame in order.chunks(FRAME_ROWS) {
        raw.clear();
        for &o in frame {
            let o = o as usize;
            let start = if o == 0 { 0 } else { head.body_ends[o - 1] };
            put_bytes(
                &mut raw,
                &head.body_text.as_bytes()[start..head.body_ends[o]],
            );
        }
        body_frames.push(w.section(&raw)?);
    }
    let mut tokens: Vec<(&String, &Vec<u32>)> = head.postings.iter().collect();
    tokens.sort_unstable_by_key(|(t, _)| t.as_str());
    let mut token_bloom = Bloom::with_capacity(tokens.len());
    let mut dict = Vec::new();
    put_u(&mut dict, tokens.len() as u64);
    let mut postings_frames = Vec::new();
    let mut frame = Vec::new();
    let mut rows = Vec::new();
    for (t, old_rows) in tokens {
        token_bloom.insert(t.as_bytes());
        rows.clear();
        rows.extend(old_rows.iter().map(|&r| new_row[r as usize]));
        rows.sort_unstable();
        let start = frame.len();
        let mut prev = 0u32;
        for &r in &rows {
            put_u(&mut frame, u64::from(r - prev));
            prev = r;
        }
        put_bytes(&mut dict, t.as_bytes());
        put_u(&mut dict, postings_frames.len() as u64);
        put_u(&mut dict, start as u64);
        put_u(&mut dict, (frame.len() - start) as u64);
        if frame.len() >= POSTINGS_FRAME_BYTES {
            postings_frames.push(w.section(&frame)?);
            frame.clear();
        }
    }
    if !frame.is_empty() {
        postings_frames.push(w.section(&frame)?);
    }
    let token_dict = w.section(&dict)?;
    let mut id_bloom = Bloom::with_capacity(id_values.len());
    for k in &id_values {
        id_bloom.insert(k);
    }
    Ok(Directory {
        rows: n,
        min_time: head.min_time,
        max_time: head.max_time,
        min_seq: head.seqs.iter().copied().min().unwrap_or(0),
        max_seq: head.seqs.iter().copied().max().unwrap_or(0),
        schema: schema.to_owned(),
        times,
        seqs,
        columns,
        attributes,
        body_frames,
        token_dict,
        postings_frames,
        token_bloom,
        id_bloom,
        summaries,
        int_bounds,
        row_frames,
        id_index,
    })
}

pub(crate) fn encode_directory(out: &mut Vec<u8>, d: &Directory) {
    put_u(out, d.rows as u64);
    put_i(out, d.min_time);
    put_i(out, d.max_time);
    put_u(out, d.min_seq);
    put_u(out, d.max_seq);
    put_bytes(out, d.schema.as_bytes());
    put_ref(out, &d.times);
    put_ref(out, &d.seqs);
    for c in &d.columns {
        put_ref(out, c);
    }
    put_u(out, d.attributes.len() as u64);
    for (name, r) in &d.attributes {
        put_bytes(out, name.as_bytes());
        put_ref(out, r);
    }
    put_u(out, d.body_frames.len() as u64);
    for r in &d.body_frames {
        put_ref(out, r);
    }
    put_ref(out, &d.token_dict);
    put_u(out, d.postings_frames.len() as u64);
    for r in &d.postings_frames {
        put_ref(out, r);
    }
    d.token_bloom.encode(out);
    d.id_bloom.encode(out);
    put_u(out, d.summaries.len() as u64);
    for (key, values) in &d.summaries {
        let (kind, index) = match key {
            SummaryKey::Column(i) => (0, *i),
            SummaryKey::Attribute(p) => (1, *p),
        };
        put_u(out, kind);
        put_u(out, index as u64);
        put_u(out, values.len() as u64);
        for v in values {
            put_bytes(out, v.value.as_bytes());
            put_i(out, v.min_time);
            put_i(out, v.max_time);
        }
    }
    put_u(out, d.int_bounds.len() as u64);
    for &(column, lo, hi) in &d.int_bounds {
        put_u(out, column as u64);
        put_i(out, lo);
        put_i(out, hi);
    }
    encode_tails(out, d);
}
