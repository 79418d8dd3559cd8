//! Row frames (version 3): every row of a block again, [`ROW_FRAME_ROWS`] to a frame, with
//! its time, seq, column values and attributes, so that a record (or the `(time, seq)` of a
//! few rows) is read from one small section instead of every whole column.
//!
//! On disk a frame is laid out by field (times, seqs, each column, each attribute that has
//! a value in the frame), which compresses about as well as the block's columns; loaded, it
//! is turned around once into rows (the cached form), so a record is one walk of one row.

use std::collections::BTreeMap;
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
/// the frames are written: the writer's memory stays bounded (8 bytes an entry, ~32 MiB,
/// and 4 bytes a row) whatever the block's size, at the cost of a pass over every column
/// per stripe. (Tests write blocks of several stripes.)
const STRIPE_ENTRIES: usize = if cfg!(test) { 4 << 10 } else { 4 << 20 };

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
    // String values per row (in the block's order), then where each stripe of frames ends.
    let mut counts = vec![0u32; n];
    for (_, col) in &fields {
        for &r in &col.rows {
            counts[new_row[r as usize] as usize] += 1;
        }
    }
    let mut stripes = Vec::new();
    let mut in_stripe = 0;
    for (f, frame) in counts.chunks(ROW_FRAME_ROWS).enumerate() {
        let here: usize = frame.iter().map(|&c| c as usize).sum();
        if in_stripe > 0 && in_stripe + here > STRIPE_ENTRIES {
            stripes.push(f * ROW_FRAME_ROWS);
            in_stripe = 0;
        }
        in_stripe += here;
    }
    stripes.push(n);
    let mut frames = Vec::with_capacity(n.div_ceil(ROW_FRAME_ROWS));
    let mut raw = Vec::new();
    // A stripe's values, (field, dictionary id), row after row and by field in a row: placed
    // by counting (the fields are walked in order), not sorted.
    let mut entries: Vec<(u32, u32)> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    let mut base = 0;
    for end in stripes {
        starts.clear();
        starts.push(0);
        for &c in &counts[base..end] {
            starts.push(starts[starts.len() - 1] + c as usize);
        }
        entries.clear();
        entries.resize(starts[end - base], (0, 0));
        let mut next = starts.clone();
        for &(f, col) in &fields {
            for (&r, &id) in col.rows.iter().zip(&col.ids) {
                let new = new_row[r as usize] as usize;
                if (base..end).contains(&new) {
                    let slot = &mut next[new - base];
                    entries[*slot] = (f, id);
                    *slot += 1;
                }
            }
        }
        for start in (base..end).step_by(ROW_FRAME_ROWS) {
            let stop = (start + ROW_FRAME_ROWS).min(end);
            let mut frame = FrameBuilder::new(head, stop - start);
            for (new, &old) in order.iter().enumerate().take(stop).skip(start) {
                let row = &entries[starts[new - base]..starts[new - base + 1]];
                frame.row(head, old as usize, row);
            }
            frame.finish(&mut raw);
            frames.push(w.section(&raw)?);
        }
        base = end;
    }
    Ok(frames)
}

/// A value of a string column or attribute in a frame: 0 (absent) or its length + 1, then
/// its bytes.
fn put_value(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => put_u(out, 0),
        Some(v) => {
            put_u(out, v.len() as u64 + 1);
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// One row frame being laid out by field.
struct FrameBuilder {
    rows: usize,
    /// Rows added so far.
    at: usize,
    times: Vec<u8>,
    seqs: Vec<u8>,
    last: Option<(i64, u64)>,
    columns: Vec<Vec<u8>>,
    /// Attribute position → its values, one per row up to the last that had one.
    attributes: BTreeMap<usize, (Vec<u8>, usize)>,
}

impl FrameBuilder {
    fn new(head: &Head, rows: usize) -> FrameBuilder {
        FrameBuilder {
            rows,
            at: 0,
            times: Vec::with_capacity(rows * 2),
            seqs: Vec::with_capacity(rows * 2),
            last: None,
            columns: vec![Vec::new(); head.columns.len()],
            attributes: BTreeMap::new(),
        }
    }

    /// Adds head row `old` with its string values `entries` (by field, ascending; a field
    /// given twice, which the schema checks rule out, keeps its first value).
    fn row(&mut self, head: &Head, old: usize, entries: &[(u32, u32)]) {
        let (t, s) = (head.times[old], head.seqs[old]);
        match self.last {
            None => put_i(&mut self.times, t),
            Some((lt, _)) => put_u(&mut self.times, t.wrapping_sub(lt) as u64),
        }
        let ls = self.last.map_or(0, |(_, ls)| ls);
        put_i(&mut self.seqs, s.wrapping_sub(ls) as i64);
        self.last = Some((t, s));
        let mut k = 0;
        for (i, (c, out)) in head.columns.iter().zip(&mut self.columns).enumerate() {
            match c {
                ColumnBuilder::Ints(v) => put_i(out, v[old]),
                ColumnBuilder::Strs(b) => match entries.get(k) {
                    Some(&(f, id)) if f as usize == i => {
                        put_value(out, Some(&b.column.values[id as usize]));
                        while entries.get(k).is_some_and(|e| e.0 == f) {
                            k += 1;
                        }
                    }
                    _ => put_value(out, None),
                },
            }
        }
        for &(f, id) in &entries[k..] {
            let p = f as usize - head.columns.len();
            let (out, filled) = self.attributes.entry(p).or_default();
            if *filled > self.at {
                continue;
            }
            for _ in *filled..self.at {
                put_value(out, None);
            }
            put_value(out, Some(&head.attributes[p].1.column.values[id as usize]));
            *filled = self.at + 1;
        }
        self.at += 1;
    }

    /// The frame's bytes, in `raw`.
    fn finish(self, raw: &mut Vec<u8>) {
        raw.clear();
        raw.extend_from_slice(&self.times);
        raw.extend_from_slice(&self.seqs);
        for c in &self.columns {
            raw.extend_from_slice(c);
        }
        put_u(raw, self.attributes.len() as u64);
        for (p, (mut out, filled)) in self.attributes {
            for _ in filled..self.rows {
                put_value(&mut out, None);
            }
            put_u(raw, p as u64);
            raw.extend_from_slice(&out);
        }
    }
}

/// A loaded row frame: its rows one after the other, each as
/// `varint time | uvarint seq | field* | uvarint #attrs | (uvarint position | bytes value)*`
/// (`field` as on disk), and where each row starts.
pub(crate) struct RowFrame {
    raw: Vec<u8>,
    starts: Vec<u32>,
}

/// One column's value in a frame being turned around.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Int(i64),
    Str(Option<&'a str>),
}

/// A string value as [`put_value`] writes it.
fn read_value<'a>(rd: &mut Reader<'a>) -> Option<Option<&'a str>> {
    match usize::try_from(rd.u()?).ok()? {
        0 => Some(None),
        n => std::str::from_utf8(rd.take(n - 1)?).ok().map(Some),
    }
}

/// A frame of `rows` rows as written (by field) turned into rows; `None` when malformed:
/// bad varints or UTF-8, more or fewer values than rows, attribute positions (of
/// `attributes` in all) out of range or not ascending, bytes left over.
fn rows_of(raw: &[u8], rows: usize, numeric: &[bool], attributes: usize) -> Option<RowFrame> {
    let mut rd = Reader::new(raw);
    let mut times = Vec::with_capacity(rows);
    let mut t = 0i64;
    for k in 0..rows {
        t = if k == 0 {
            rd.i()?
        } else {
            t.wrapping_add(rd.u()? as i64)
        };
        times.push(t);
    }
    let mut seqs = Vec::with_capacity(rows);
    let mut s = 0u64;
    for _ in 0..rows {
        s = s.wrapping_add(rd.i()? as u64);
        seqs.push(s);
    }
    let mut columns: Vec<Vec<Cell<'_>>> = Vec::with_capacity(numeric.len());
    for &is_int in numeric {
        let column = (0..rows)
            .map(|_| match is_int {
                true => rd.i().map(Cell::Int),
                false => read_value(&mut rd).map(Cell::Str),
            })
            .collect::<Option<Vec<_>>>()?;
        columns.push(column);
    }
    let na = rd.len()?;
    let mut attrs: Vec<(usize, Vec<Option<&str>>)> = Vec::with_capacity(na.min(attributes));
    for _ in 0..na {
        let p = usize::try_from(rd.u()?).ok()?;
        if p >= attributes || attrs.last().is_some_and(|(l, _)| *l >= p) {
            return None;
        }
        let values = (0..rows)
            .map(|_| read_value(&mut rd))
            .collect::<Option<Vec<_>>>()?;
        attrs.push((p, values));
    }
    if !rd.done() {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + rows * 8);
    let mut starts = Vec::with_capacity(rows);
    for r in 0..rows {
        starts.push(u32::try_from(out.len()).ok()?);
        put_i(&mut out, times[r]);
        put_u(&mut out, seqs[r]);
        for c in &columns {
            match c[r] {
                Cell::Int(n) => put_i(&mut out, n),
                Cell::Str(v) => put_value(&mut out, v),
            }
        }
        put_u(
            &mut out,
            attrs.iter().filter(|(_, v)| v[r].is_some()).count() as u64,
        );
        for (p, v) in &attrs {
            if let Some(v) = v[r] {
                put_u(&mut out, *p as u64);
                put_bytes(&mut out, v.as_bytes());
            }
        }
    }
    Some(RowFrame { raw: out, starts })
}

/// A row's values and attributes, filled by [`read_row`].
type Fields = (Vec<Value>, Vec<(String, String)>);

/// Reads one row of a loaded [`RowFrame`] into `out`; `None` when malformed.
fn read_row(
    rd: &mut Reader<'_>,
    numeric: &[bool],
    attributes: &[(String, SectionRef)],
    out: &mut Fields,
) -> Option<(i64, u64)> {
    let (time, seq) = (rd.i()?, rd.u()?);
    for &is_int in numeric {
        out.0.push(if is_int {
            match rd.i()? {
                i64::MIN => Value::Absent,
                n => Value::Int(n),
            }
        } else {
            read_value(rd)?.map_or(Value::Absent, |s| Value::Str(s.to_owned()))
        });
    }
    let na = rd.len()?;
    for _ in 0..na {
        let (name, _) = attributes.get(usize::try_from(rd.u()?).ok()?)?;
        out.1.push((name.clone(), rd.str()?.to_owned()));
    }
    Some((time, seq))
}

impl Block {
    /// Row frame `f`, checked whole and turned into rows when it is loaded.
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
        let (numeric, attributes) = (&self.numeric, self.dir.attributes.len());
        self.load(SectionKey::RowFrame(f as u32), r, |raw| {
            let frame = rows_of(raw, want, numeric, attributes)?;
            let size = frame.raw.len() + 4 * want;
            Some((frame, size))
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
        let (time, seq) = read_row(&mut rd, &self.numeric, &self.dir.attributes, &mut fields)
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
