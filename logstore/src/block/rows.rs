//! Row frames (version 3): every row of a block again, [`ROW_FRAME_ROWS`] to a frame, with
//! its time, seq, column values and attributes, so that a record (or the `(time, seq)` of a
//! few rows) is read from one small section instead of every whole column.

use std::io::Write;
use std::sync::Arc;

use super::read::Block;
use super::write::SectionWriter;
use super::{SectionRef, ROW_FRAME_ROWS};
use crate::cache::SectionKey;
use crate::columns::{Segment, StrColumn};
use crate::error::Error;
use crate::head::{ColumnBuilder, Head};
use crate::schema::{Record, Value};
use crate::varint::{put_bytes, put_i, put_u, Reader};

/// String values (of columns and attributes) gathered at most for one stripe of rows while
/// the frames are written: the writer's memory stays bounded (12 bytes an entry, ~48 MiB)
/// whatever the block's size, at the cost of a pass over every column per stripe.
const STRIPE_ENTRIES: usize = 4 << 20;

/// Writes the row frames of `head` in the block's row order (`order[new] = old`,
/// `new_row[old] = new`).
pub(super) fn write_row_frames<W: Write>(
    w: &mut SectionWriter<W>,
    head: &Head,
    order: &[u32],
    new_row: &[u32],
) -> std::io::Result<Vec<SectionRef>> {
    let n = order.len();
    let ncols = head.columns.len();
    // Every string column and attribute as a field: columns by position, attributes after.
    let fields: Vec<(u32, &StrColumn)> = head
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            ColumnBuilder::Strs(b) => Some((i as u32, &b.column)),
            ColumnBuilder::Ints(_) => None,
        })
        .chain(
            head.attributes
                .iter()
                .enumerate()
                .map(|(p, (_, b))| ((ncols + p) as u32, &b.column)),
        )
        .collect();
    let total: usize = fields.iter().map(|(_, c)| c.rows.len()).sum();
    let stripes = total.div_ceil(STRIPE_ENTRIES).max(1);
    let stripe_rows = n.div_ceil(stripes).div_ceil(ROW_FRAME_ROWS).max(1) * ROW_FRAME_ROWS;
    // (new row << 32 | field, dictionary id), sorted.
    let mut entries: Vec<(u64, u32)> = Vec::new();
    let mut frames = Vec::with_capacity(n.div_ceil(ROW_FRAME_ROWS));
    let mut raw = Vec::new();
    for base in (0..n).step_by(stripe_rows) {
        let end = (base + stripe_rows).min(n);
        entries.clear();
        for &(f, col) in &fields {
            for (&r, &id) in col.rows.iter().zip(&col.ids) {
                let new = new_row[r as usize] as usize;
                if (base..end).contains(&new) {
                    entries.push(((new as u64) << 32 | u64::from(f), id));
                }
            }
        }
        entries.sort_unstable_by_key(|e| e.0);
        entries.dedup_by_key(|e| e.0);
        let mut next = 0;
        for start in (base..end).step_by(ROW_FRAME_ROWS) {
            raw.clear();
            let stop = (start + ROW_FRAME_ROWS).min(end);
            for (new, &old) in order.iter().enumerate().take(stop).skip(start) {
                let here = entries[next..]
                    .iter()
                    .take_while(|e| (e.0 >> 32) as usize == new)
                    .count();
                put_row(&mut raw, head, old as usize, &entries[next..next + here]);
                next += here;
            }
            frames.push(w.section(&raw)?);
        }
    }
    Ok(frames)
}

/// One row (head row `old`) with its string values `entries` (by field, ascending).
fn put_row(raw: &mut Vec<u8>, head: &Head, old: usize, entries: &[(u64, u32)]) {
    put_i(raw, head.times[old]);
    put_u(raw, head.seqs[old]);
    let mut k = 0;
    for (i, c) in head.columns.iter().enumerate() {
        match c {
            ColumnBuilder::Ints(v) => put_i(raw, v[old]),
            ColumnBuilder::Strs(b) => match entries.get(k) {
                Some(&(key, id)) if key as u32 as usize == i => {
                    let v = b.column.values[id as usize].as_bytes();
                    put_u(raw, v.len() as u64 + 1);
                    raw.extend_from_slice(v);
                    k += 1;
                }
                _ => put_u(raw, 0),
            },
        }
    }
    let attrs = &entries[k..];
    put_u(raw, attrs.len() as u64);
    for &(key, id) in attrs {
        let p = key as u32 as usize - head.columns.len();
        put_u(raw, p as u64);
        put_bytes(
            raw,
            head.attributes[p].1.column.values[id as usize].as_bytes(),
        );
    }
}

/// A decoded row frame: its bytes (checked whole when loaded) and where each row starts.
pub(crate) struct RowFrame {
    raw: Vec<u8>,
    starts: Vec<u32>,
}

/// A row's values and attributes, filled by [`read_row`].
type Fields = (Vec<Value>, Vec<(String, String)>);

/// Reads one row; fills `out` when given, else only checks it. `None` when malformed:
/// bad varints or UTF-8, an attribute position out of range or not ascending.
fn read_row(
    rd: &mut Reader<'_>,
    numeric: &[bool],
    attributes: &[(String, SectionRef)],
    mut out: Option<&mut Fields>,
) -> Option<(i64, u64)> {
    let (time, seq) = (rd.i()?, rd.u()?);
    for &is_int in numeric {
        let v = if is_int {
            match rd.i()? {
                i64::MIN => Value::Absent,
                n => Value::Int(n),
            }
        } else {
            match usize::try_from(rd.u()?).ok()? {
                0 => Value::Absent,
                len => {
                    let s = std::str::from_utf8(rd.take(len - 1)?).ok()?;
                    match out {
                        Some(_) => Value::Str(s.to_owned()),
                        None => Value::Absent,
                    }
                }
            }
        };
        if let Some(o) = out.as_deref_mut() {
            o.0.push(v);
        }
    }
    let na = rd.len()?;
    let mut last = None;
    for _ in 0..na {
        let p = usize::try_from(rd.u()?).ok()?;
        let (name, _) = attributes.get(p)?;
        if last.is_some_and(|l| l >= p) {
            return None;
        }
        last = Some(p);
        let v = rd.str()?;
        if let Some(o) = out.as_deref_mut() {
            o.1.push((name.clone(), v.to_owned()));
        }
    }
    Some((time, seq))
}

impl Block {
    /// Row frame `f`, every row checked when it is loaded.
    fn row_frame(&self, f: usize) -> Result<Arc<RowFrame>, Error> {
        let r =
            self.dir.row_frames.get(f).ok_or_else(|| {
                Error::corrupt(&self.path, format!("row frame {f} past the block"))
            })?;
        let want = self
            .dir
            .rows
            .saturating_sub(f * ROW_FRAME_ROWS)
            .min(ROW_FRAME_ROWS);
        let (numeric, attributes) = (&self.numeric, &self.dir.attributes);
        self.load(SectionKey::RowFrame(f as u32), r, |raw| {
            let mut rd = Reader::new(raw);
            let mut starts = Vec::with_capacity(want);
            while !rd.done() {
                starts.push(u32::try_from(raw.len() - rd.remaining()).ok()?);
                read_row(&mut rd, numeric, attributes, None)?;
            }
            (starts.len() == want).then(|| {
                let size = raw.len() + 4 * want;
                (
                    RowFrame {
                        raw: raw.to_vec(),
                        starts,
                    },
                    size,
                )
            })
        })
    }

    /// A reader at `row` in `frame` (its row frame).
    fn row_reader<'f>(&self, frame: &'f RowFrame, row: usize) -> Result<Reader<'f>, Error> {
        frame
            .starts
            .get(row % ROW_FRAME_ROWS)
            .and_then(|&s| frame.raw.get(s as usize..))
            .map(Reader::new)
            .ok_or_else(|| self.bad_row(row))
    }

    fn bad_row(&self, row: usize) -> Error {
        Error::corrupt(&self.path, format!("row {row} in its row frame"))
    }

    /// The whole record at `row`, from its row frame and its body frame.
    pub(super) fn frame_record(&self, row: usize) -> Result<(u64, Record), Error> {
        let frame = self.row_frame(row / ROW_FRAME_ROWS)?;
        let mut rd = self.row_reader(&frame, row)?;
        let mut fields = (Vec::with_capacity(self.numeric.len()), Vec::new());
        let (time, seq) = read_row(
            &mut rd,
            &self.numeric,
            &self.dir.attributes,
            Some(&mut fields),
        )
        .ok_or_else(|| self.bad_row(row))?;
        let record = Record {
            time,
            values: fields.0,
            attributes: fields.1,
            body: self.body(row)?,
        };
        Ok((seq, record))
    }

    /// `(time, seq)` of each of `rows`, from their row frames.
    pub(super) fn frame_keys(&self, rows: &[usize]) -> Result<Vec<(i64, u64)>, Error> {
        let mut out = Vec::with_capacity(rows.len());
        let mut frame: Option<(usize, Arc<RowFrame>)> = None;
        for &row in rows {
            let f = row / ROW_FRAME_ROWS;
            let fr = match &frame {
                Some((at, fr)) if *at == f => Arc::clone(fr),
                _ => {
                    let fr = self.row_frame(f)?;
                    frame = Some((f, Arc::clone(&fr)));
                    fr
                }
            };
            let mut rd = self.row_reader(&fr, row)?;
            let key = rd.i().zip(rd.u()).ok_or_else(|| self.bad_row(row))?;
            out.push(key);
        }
        Ok(out)
    }
}
