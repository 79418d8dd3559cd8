//! Id indexes (version 3): for an `Id` column whose values repeat, its values in ascending
//! order with their rows, in frames of about [`ID_FRAME_BYTES`], the first value of each
//! frame in the directory; an exact lookup reads one frame. Also the directory's two
//! version 3 tails (row frames and id indexes).

use std::io::Write;

use super::read::{read_ref, Block};
use super::write::{put_ref, SectionWriter};
use super::{Directory, IdFrames, SectionRef, ID_FRAME_BYTES, ROW_FRAME_ROWS};
use crate::bitset::Bitset;
use crate::cache::SectionKey;
use crate::columns::StrColumn;
use crate::error::Error;
use crate::varint::{put_bytes, put_u, Reader};

/// Whether `col` gets an id index: its values repeat (at most half as many values as rows
/// that have one), so the index is small beside the column and a lookup's rows are many.
pub(super) fn indexed(col: &StrColumn) -> bool {
    !col.rows.is_empty() && col.values.len() * 2 <= col.rows.len()
}

/// Writes the id index of `col` (rows renumbered by `new_row`).
pub(super) fn write_id_index<W: Write>(
    w: &mut SectionWriter<W>,
    col: &StrColumn,
    new_row: &[u32],
) -> std::io::Result<IdFrames> {
    let mut pairs: Vec<(u32, u32)> = col
        .rows
        .iter()
        .zip(&col.ids)
        .map(|(&r, &id)| (id, new_row[r as usize]))
        .collect();
    pairs.sort_unstable();
    // Where each id's rows start in `pairs`.
    let mut starts = vec![0usize; col.values.len() + 1];
    for &(id, _) in &pairs {
        starts[id as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut by_value: Vec<u32> = (0..col.values.len() as u32).collect();
    by_value.sort_unstable_by(|&a, &b| col.values[a as usize].cmp(&col.values[b as usize]));
    let mut frames = Vec::new();
    let mut raw = Vec::new();
    let mut first: Option<&str> = None;
    for id in by_value {
        let rows = &pairs[starts[id as usize]..starts[id as usize + 1]];
        if rows.is_empty() {
            continue;
        }
        let value = &col.values[id as usize];
        first.get_or_insert(value);
        put_bytes(&mut raw, value.as_bytes());
        put_u(&mut raw, rows.len() as u64);
        let mut prev = 0;
        for &(_, r) in rows {
            put_u(&mut raw, u64::from(r - prev));
            prev = r;
        }
        if raw.len() >= ID_FRAME_BYTES {
            let first = first.take().unwrap_or_default().to_owned();
            frames.push((first, w.section(&raw)?));
            raw.clear();
        }
    }
    if let Some(first) = first {
        frames.push((first.to_owned(), w.section(&raw)?));
    }
    Ok(frames)
}

/// Appends the version 3 tails of `d`'s directory.
pub(super) fn encode_tails(out: &mut Vec<u8>, d: &Directory) {
    put_u(out, d.row_frames.len() as u64);
    for r in &d.row_frames {
        put_ref(out, r);
    }
    put_u(out, d.id_index.len() as u64);
    for (column, frames) in &d.id_index {
        put_u(out, *column as u64);
        put_u(out, frames.len() as u64);
        for (first, r) in frames {
            put_bytes(out, first.as_bytes());
            put_ref(out, r);
        }
    }
}

/// A directory's row frames and id indexes.
type Tails = (Vec<SectionRef>, Vec<(usize, IdFrames)>);

/// The version 3 tails of a directory of `rows` rows over columns `numeric`, checked: as
/// many row frames as the rows need, id indexes only of string columns, each once, with
/// frames whose first values ascend.
pub(super) fn decode_tails(r: &mut Reader<'_>, rows: usize, numeric: &[bool]) -> Option<Tails> {
    let nf = r.len()?;
    if nf != 0 && nf != rows.div_ceil(ROW_FRAME_ROWS) {
        return None;
    }
    let row_frames = (0..nf).map(|_| read_ref(r)).collect::<Option<Vec<_>>>()?;
    let ni = r.len()?;
    let mut id_index: Vec<(usize, IdFrames)> = Vec::with_capacity(ni.min(numeric.len()));
    for _ in 0..ni {
        let column = usize::try_from(r.u()?).ok()?;
        if numeric.get(column) != Some(&false) || id_index.iter().any(|(c, _)| *c == column) {
            return None;
        }
        let n = r.len()?;
        let frames = (0..n)
            .map(|_| Some((r.str()?.to_owned(), read_ref(r)?)))
            .collect::<Option<IdFrames>>()?;
        if frames.is_empty() || frames.windows(2).any(|w| w[0].0 >= w[1].0) {
            return None;
        }
        id_index.push((column, frames));
    }
    Some((row_frames, id_index))
}

/// Checks an id index frame whole: its values ascend from `first`, each value's rows ascend
/// below `rows`.
fn check_frame(raw: &[u8], first: &str, rows: usize) -> Option<()> {
    let mut rd = Reader::new(raw);
    let mut last: Option<&str> = None;
    while !rd.done() {
        let v = rd.str()?;
        match last {
            None if v != first => return None,
            Some(l) if l >= v => return None,
            _ => {}
        }
        last = Some(v);
        read_rows(&mut rd, rows, |_| {})?;
    }
    last.map(|_| ())
}

/// Reads one value's rows (count, then deltas), each below `rows` and ascending.
fn read_rows(rd: &mut Reader<'_>, rows: usize, mut f: impl FnMut(usize)) -> Option<()> {
    let n = rd.len()?;
    let mut prev: Option<usize> = None;
    for _ in 0..n {
        let d = usize::try_from(rd.u()?).ok()?;
        let row = match prev {
            None => d,
            Some(p) if d > 0 => p.checked_add(d)?,
            Some(_) => return None,
        };
        if row >= rows {
            return None;
        }
        f(row);
        prev = Some(row);
    }
    Some(())
}

impl Block {
    /// The rows whose `Id` column `column` is `value`, from its id index; `None` when the
    /// column has none.
    pub(super) fn indexed_rows(&self, column: usize, value: &str) -> Result<Option<Bitset>, Error> {
        let Some((_, frames)) = self.dir.id_index.iter().find(|(c, _)| *c == column) else {
            return Ok(None);
        };
        let n = self.dir.rows;
        let mut out = Bitset::empty(n);
        // The frame whose first value is the last one at most `value`.
        let f = frames.partition_point(|(first, _)| first.as_str() <= value);
        let Some((first, r)) = f.checked_sub(1).map(|f| &frames[f]) else {
            return Ok(Some(out));
        };
        let key = SectionKey::IdIndex {
            column: column as u32,
            frame: (f - 1) as u32,
        };
        let raw = self.load(key, r, |raw| {
            check_frame(raw, first, n).map(|()| (raw.to_vec(), raw.len()))
        })?;
        let bad = || Error::corrupt(&self.path, format!("id index of column {column}"));
        let mut rd = Reader::new(&raw);
        while !rd.done() {
            let v = rd.str().ok_or_else(bad)?;
            if v > value {
                break;
            }
            let hit = v == value;
            read_rows(&mut rd, n, |row| {
                if hit {
                    out.insert(row);
                }
            })
            .ok_or_else(bad)?;
            if hit {
                break;
            }
        }
        Ok(Some(out))
    }
}
