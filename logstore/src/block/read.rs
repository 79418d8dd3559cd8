//! Reading a block: the directory at open, sections on demand through the store's cache.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::id_index::decode_tails;
use super::{Directory, SectionRef, SummaryKey, ValueRange, FRAME_ROWS, MAGIC, VERSION};
use crate::bitset::Bitset;
use crate::bloom::{id_key, Bloom};
use crate::cache::{Cache, SectionKey};
use crate::columns::{keys_from_columns, Segment, Shared, StrColumn, StrKey};
use crate::error::Error;
use crate::schema::MAX_COLUMNS;
use crate::schema::{Record, Value};
use crate::varint::Reader;

/// One token's postings: frame, offset and length in it.
type TokenDict = Vec<(String, u32, u32, u32)>;

/// An open block file.
pub(crate) struct Block {
    pub(crate) id: u64,
    pub(crate) path: PathBuf,
    file: File,
    pub(crate) dir: Directory,
    /// Schema column is `Int`/`Severity` (true) or a string column.
    pub(super) numeric: Vec<bool>,
    cache: Arc<Cache>,
}

pub(super) fn read_ref(r: &mut Reader<'_>) -> Option<SectionRef> {
    Some(SectionRef {
        offset: r.u()?,
        len: r.u()?,
        raw_len: r.u()?,
        crc: u32::from_le_bytes(r.fixed::<4>()?),
    })
}

/// The value summaries and `Int` bounds of a version 2 directory.
type Summaries = (Vec<(SummaryKey, Vec<ValueRange>)>, Vec<(usize, i64, i64)>);

fn decode_summaries(r: &mut Reader<'_>, columns: usize, attributes: usize) -> Option<Summaries> {
    let ns = r.len()?;
    let mut summaries = Vec::with_capacity(ns.min(MAX_COLUMNS + attributes));
    for _ in 0..ns {
        let (kind, index) = (r.u()?, usize::try_from(r.u()?).ok()?);
        let key = match kind {
            0 if index < columns => SummaryKey::Column(index),
            1 if index < attributes => SummaryKey::Attribute(index),
            _ => return None,
        };
        let nv = r.len()?;
        let values = (0..nv)
            .map(|_| {
                Some(ValueRange {
                    value: r.str()?.to_owned(),
                    min_time: r.i()?,
                    max_time: r.i()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        summaries.push((key, values));
    }
    let nb = r.len()?;
    let bounds = (0..nb)
        .map(|_| {
            let c = usize::try_from(r.u()?).ok().filter(|&c| c < columns)?;
            Some((c, r.i()?, r.i()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((summaries, bounds))
}

fn decode_directory(bytes: &[u8], numeric: &[bool], version: u8) -> Option<Directory> {
    let columns = numeric.len();
    let mut r = Reader::new(bytes);
    let rows = usize::try_from(r.u()?).ok()?;
    let (min_time, max_time) = (r.i()?, r.i()?);
    let (min_seq, max_seq) = (r.u()?, r.u()?);
    let schema = r.str()?.to_owned();
    let times = read_ref(&mut r)?;
    let seqs = read_ref(&mut r)?;
    let cols = (0..columns)
        .map(|_| read_ref(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let na = r.len()?;
    let attributes = (0..na)
        .map(|_| Some((r.str()?.to_owned(), read_ref(&mut r)?)))
        .collect::<Option<Vec<_>>>()?;
    let nb = r.len()?;
    let body_frames = (0..nb)
        .map(|_| read_ref(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let token_dict = read_ref(&mut r)?;
    let np = r.len()?;
    let postings_frames = (0..np)
        .map(|_| read_ref(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let token_bloom = Bloom::decode(&mut r)?;
    let id_bloom = Bloom::decode(&mut r)?;
    let (summaries, int_bounds) = if version >= 2 {
        decode_summaries(&mut r, columns, attributes.len())?
    } else {
        (Vec::new(), Vec::new())
    };
    let (row_frames, id_index) = if version >= 3 {
        decode_tails(&mut r, rows, numeric)?
    } else {
        (Vec::new(), Vec::new())
    };
    r.done().then_some(Directory {
        rows,
        min_time,
        max_time,
        min_seq,
        max_seq,
        schema,
        times,
        seqs,
        columns: cols,
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

fn decode_strs(raw: &[u8]) -> Option<StrColumn> {
    let mut r = Reader::new(raw);
    let nv = r.len()?;
    let values = (0..nv)
        .map(|_| r.str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    let n = r.len()?;
    let mut rows = Vec::with_capacity(n);
    let mut prev = 0u32;
    for _ in 0..n {
        prev = prev.checked_add(u32::try_from(r.u()?).ok()?)?;
        rows.push(prev);
    }
    let ids = (0..n)
        .map(|_| {
            let id = u32::try_from(r.u()?).ok()?;
            ((id as usize) < nv).then_some(id)
        })
        .collect::<Option<Vec<_>>>()?;
    r.done().then_some(StrColumn::new(values, rows, ids))
}

impl Block {
    /// Opens block file `path`, checking its frame and directory against `schema`.
    pub(crate) fn open(
        id: u64,
        path: &Path,
        schema: &str,
        numeric: Vec<bool>,
        cache: Arc<Cache>,
    ) -> Result<Block, Error> {
        let file = File::open(path).map_err(Error::io(format!("open {}", path.display())))?;
        let size = file
            .metadata()
            .map_err(Error::io(format!("stat {}", path.display())))?
            .len();
        let corrupt = |d: &str| Error::corrupt(path, d);
        if size < 17 {
            return Err(corrupt("shorter than a header and footer"));
        }
        let mut tail = [0u8; 12];
        file.read_exact_at(&mut tail, size - 12)
            .map_err(Error::io(format!("read {}", path.display())))?;
        let [l0, l1, l2, l3, c0, c1, c2, c3, m0, m1, m2, m3] = tail;
        if [m0, m1, m2, m3] != *MAGIC {
            return Err(corrupt("no footer magic"));
        }
        let dlen = u64::from(u32::from_le_bytes([l0, l1, l2, l3]));
        if dlen + 17 > size {
            return Err(corrupt("directory length past the file"));
        }
        let mut d = vec![0u8; dlen as usize];
        file.read_exact_at(&mut d, size - 12 - dlen)
            .map_err(Error::io(format!("read {}", path.display())))?;
        if crc32fast::hash(&d) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Err(corrupt("directory checksum mismatch"));
        }
        let mut head = [0u8; 5];
        file.read_exact_at(&mut head, 0)
            .map_err(Error::io(format!("read {}", path.display())))?;
        if head[..4] != *MAGIC || !(1..=VERSION).contains(&head[4]) {
            return Err(corrupt("bad header or version"));
        }
        let dir =
            decode_directory(&d, &numeric, head[4]).ok_or_else(|| corrupt("bad directory"))?;
        if dir.schema != schema {
            return Err(Error::InvalidSchema(format!(
                "block {} was written with schema {:?}, the store has {schema:?}",
                path.display(),
                dir.schema
            )));
        }
        Ok(Block {
            id,
            path: path.to_owned(),
            file,
            dir,
            numeric,
            cache,
        })
    }

    fn raw(&self, r: &SectionRef) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; usize::try_from(r.len).unwrap_or(usize::MAX).min(1 << 31)];
        self.file
            .read_exact_at(&mut buf, r.offset)
            .map_err(Error::io(format!("read {}", self.path.display())))?;
        if crc32fast::hash(&buf) != r.crc {
            return Err(Error::corrupt(
                &self.path,
                format!("section at {} checksum mismatch", r.offset),
            ));
        }
        zstd::bulk::decompress(&buf, r.raw_len as usize)
            .map_err(Error::io(format!("decompress {}", self.path.display())))
    }

    /// A section decoded by `decode` (`None` = corrupt), through the cache.
    pub(super) fn load<T: Send + Sync + 'static>(
        &self,
        key: SectionKey,
        r: &SectionRef,
        decode: impl FnOnce(&[u8]) -> Option<(T, usize)>,
    ) -> Result<Arc<T>, Error> {
        self.cache.get_or_load(self.id, key, || {
            let raw = self.raw(r)?;
            decode(&raw).ok_or_else(|| {
                Error::corrupt(&self.path, format!("section {key:?} does not decode"))
            })
        })
    }

    fn token_dict(&self) -> Result<Arc<TokenDict>, Error> {
        self.load(SectionKey::TokenDict, &self.dir.token_dict, |raw| {
            let mut r = Reader::new(raw);
            let n = r.len()?;
            let mut out = Vec::with_capacity(n);
            let mut size = 0;
            for _ in 0..n {
                let t = r.str()?.to_owned();
                size += t.len() + 40;
                let frame = u32::try_from(r.u()?).ok()?;
                let (off, len) = (u32::try_from(r.u()?).ok()?, u32::try_from(r.u()?).ok()?);
                out.push((t, frame, off, len));
            }
            r.done().then_some((out, size))
        })
    }

    fn postings_at(&self, frame: u32, off: u32, len: u32) -> Result<Vec<u32>, Error> {
        let r = self
            .dir
            .postings_frames
            .get(frame as usize)
            .ok_or_else(|| Error::corrupt(&self.path, format!("postings frame {frame} missing")))?;
        let bytes = self.load(SectionKey::Postings(frame), r, |raw| {
            Some((raw.to_vec(), raw.len()))
        })?;
        let slice = bytes
            .get(off as usize..(off as usize + len as usize))
            .ok_or_else(|| Error::corrupt(&self.path, "postings past their frame"))?;
        let mut rd = Reader::new(slice);
        let mut out = Vec::new();
        let mut prev = 0u32;
        while !rd.done() {
            let d = rd.u().and_then(|d| u32::try_from(d).ok());
            prev = d
                .and_then(|d| prev.checked_add(d))
                .ok_or_else(|| Error::corrupt(&self.path, "bad postings"))?;
            out.push(prev);
        }
        Ok(out)
    }

    fn body_frame(&self, frame: usize) -> Result<Arc<Vec<String>>, Error> {
        let r = self
            .dir
            .body_frames
            .get(frame)
            .ok_or_else(|| Error::corrupt(&self.path, format!("body frame {frame} missing")))?;
        self.load(SectionKey::Body(frame as u32), r, |raw| {
            let mut rd = Reader::new(raw);
            let mut out = Vec::with_capacity(FRAME_ROWS);
            while !rd.done() {
                out.push(rd.str()?.to_owned());
            }
            Some((out, raw.len() + FRAME_ROWS * 24))
        })
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.cache.evict_block(self.id);
    }
}

impl Segment for Block {
    fn len(&self) -> usize {
        self.dir.rows
    }

    fn sorted(&self) -> bool {
        true
    }

    fn time_range(&self) -> (i64, i64) {
        (self.dir.min_time, self.dir.max_time)
    }

    fn times(&self) -> Result<Shared<'_, Vec<i64>>, Error> {
        let n = self.dir.rows;
        self.load(SectionKey::Times, &self.dir.times, |raw| {
            let mut r = Reader::new(raw);
            let mut out = Vec::with_capacity(n);
            if n > 0 {
                let mut t = r.i()?;
                out.push(t);
                for _ in 1..n {
                    t = t.checked_add(i64::try_from(r.u()?).ok()?)?;
                    out.push(t);
                }
            }
            r.done().then_some((out, n * 8))
        })
        .map(Shared::Owned)
    }

    fn seqs(&self) -> Result<Shared<'_, Vec<u64>>, Error> {
        let n = self.dir.rows;
        self.load(SectionKey::Seqs, &self.dir.seqs, |raw| {
            let mut r = Reader::new(raw);
            let mut s = 0i64;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                s = s.wrapping_add(r.i()?);
                out.push(s as u64);
            }
            r.done().then_some((out, n * 8))
        })
        .map(Shared::Owned)
    }

    fn ints(&self, column: usize) -> Result<Shared<'_, Vec<i64>>, Error> {
        let (true, Some(r)) = (
            self.numeric.get(column).copied().unwrap_or(false),
            self.dir.columns.get(column),
        ) else {
            return Err(Error::InvalidQuery(format!(
                "column {column} is not numeric"
            )));
        };
        let n = self.dir.rows;
        self.load(SectionKey::Column(column as u32), r, |raw| {
            let mut rd = Reader::new(raw);
            let out = (0..n).map(|_| rd.i()).collect::<Option<Vec<_>>>()?;
            rd.done().then_some((out, n * 8))
        })
        .map(Shared::Owned)
    }

    fn strs(&self, key: StrKey<'_>) -> Result<Option<Shared<'_, StrColumn>>, Error> {
        let (skey, r) = match key {
            StrKey::Column(i) => match (self.numeric.get(i), self.dir.columns.get(i)) {
                (Some(false), Some(r)) => (SectionKey::Column(i as u32), r),
                _ => return Ok(None),
            },
            StrKey::Attribute(name) => {
                match self.dir.attributes.iter().position(|(k, _)| k == name) {
                    Some(p) => (SectionKey::Attribute(p as u32), &self.dir.attributes[p].1),
                    None => return Ok(None),
                }
            }
        };
        let col = self.load(skey, r, |raw| {
            decode_strs(raw).map(|c| {
                let size = c.heap_bytes();
                (c, size)
            })
        })?;
        Ok(Some(Shared::Owned(col)))
    }

    fn attribute_names(&self) -> Vec<String> {
        self.dir.attributes.iter().map(|(k, _)| k.clone()).collect()
    }

    fn postings(&self, token: &str) -> Result<Vec<u32>, Error> {
        if !self.may_have_token(token) {
            return Ok(Vec::new());
        }
        let dict = self.token_dict()?;
        match dict.binary_search_by(|(t, ..)| t.as_str().cmp(token)) {
            Ok(i) => {
                let (_, frame, off, len) = dict[i];
                self.postings_at(frame, off, len)
            }
            Err(_) => Ok(Vec::new()),
        }
    }

    fn postings_where(&self, matches: &dyn Fn(&str) -> bool) -> Result<Bitset, Error> {
        let dict = self.token_dict()?;
        let mut out = Bitset::empty(self.dir.rows);
        for (t, frame, off, len) in dict.iter() {
            if matches(t) {
                for r in self.postings_at(*frame, *off, *len)? {
                    out.insert(r as usize);
                }
            }
        }
        Ok(out)
    }

    fn may_have_token(&self, token: &str) -> bool {
        self.dir.token_bloom.may_contain(token.as_bytes())
    }

    fn may_have_id(&self, column: usize, value: &str) -> bool {
        self.dir.id_bloom.may_contain(&id_key(column, value))
    }

    fn body(&self, row: usize) -> Result<String, Error> {
        let frame = self.body_frame(row / FRAME_ROWS)?;
        frame
            .get(row % FRAME_ROWS)
            .cloned()
            .ok_or_else(|| Error::corrupt(&self.path, format!("row {row} past its body frame")))
    }

    fn value_ranges(&self, key: StrKey<'_>) -> Option<&[ValueRange]> {
        let wanted = match key {
            StrKey::Column(i) => SummaryKey::Column(i),
            StrKey::Attribute(name) => {
                match self.dir.attributes.iter().position(|(k, _)| k == name) {
                    Some(p) => SummaryKey::Attribute(p),
                    // No row of the block has the attribute.
                    None => return Some(&[]),
                }
            }
        };
        self.dir
            .summaries
            .iter()
            .find(|(k, _)| *k == wanted)
            .map(|(_, v)| v.as_slice())
    }

    fn int_bounds(&self, column: usize) -> Option<(i64, i64)> {
        self.dir
            .int_bounds
            .iter()
            .find(|(c, ..)| *c == column)
            .map(|&(_, lo, hi)| (lo, hi))
    }

    fn record(&self, row: usize) -> Result<(u64, Record), Error> {
        if self.dir.row_frames.is_empty() {
            self.record_from_columns(row)
        } else {
            self.frame_record(row)
        }
    }

    fn id_rows(&self, column: usize, value: &str) -> Result<Option<Bitset>, Error> {
        self.indexed_rows(column, value)
    }

    /// From the row frames when the rows are few (a page of a narrow query), else from
    /// the whole `times` and `seqs` sections.
    fn keys(&self, rows: &[usize]) -> Result<Vec<(i64, u64)>, Error> {
        if !self.dir.row_frames.is_empty() && rows.len() * 64 <= self.dir.rows {
            self.frame_keys(rows)
        } else {
            keys_from_columns(self, rows)
        }
    }
}

impl Block {
    /// The record at `row` from the whole columns: the read of blocks before version 3.
    pub(crate) fn record_from_columns(&self, row: usize) -> Result<(u64, Record), Error> {
        let mut values = Vec::with_capacity(self.numeric.len());
        for (i, &numeric) in self.numeric.iter().enumerate() {
            values.push(if numeric {
                match self.ints(i)?.get(row) {
                    Some(&n) if n != i64::MIN => Value::Int(n),
                    _ => Value::Absent,
                }
            } else {
                match self.strs(StrKey::Column(i))? {
                    Some(c) => c
                        .get(row)
                        .map_or(Value::Absent, |s| Value::Str(s.to_owned())),
                    None => Value::Absent,
                }
            });
        }
        let mut attributes = Vec::new();
        for (name, _) in &self.dir.attributes {
            if let Some(c) = self.strs(StrKey::Attribute(name))? {
                if let Some(v) = c.get(row) {
                    attributes.push((name.clone(), v.to_owned()));
                }
            }
        }
        let time = *self
            .times()?
            .get(row)
            .ok_or_else(|| Error::corrupt(&self.path, format!("row {row} past the block")))?;
        let seq = self.seqs()?.get(row).copied().unwrap_or(0);
        let record = Record {
            time,
            values,
            attributes,
            body: self.body(row)?,
        };
        Ok((seq, record))
    }
}
