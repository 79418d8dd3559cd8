//! The write-ahead log: every acknowledged batch is fsynced before the append returns.
//!
//! # Layout
//!
//! `wal/` holds numbered segments (`00000000`, `00000001`, …), each a sequence of records:
//!
//! ```text
//! record  := len: u32 LE | crc32(payload): u32 LE | payload
//! payload := 0x01 | uvarint first_seq | uvarint #records | record*
//! record  := varint time | value* (one per schema column) | uvarint #attrs
//!            | (bytes name | bytes value)* | bytes body
//! value   := 0x00 (absent) | 0x01 varint | 0x02 bytes
//! ```
//!
//! One batch is one record, so a batch torn by a crash fails its checksum and is dropped
//! whole (it was never acknowledged). Records carry sequence numbers; replay skips those
//! already in a block (a crash between a block's catalog entry and the removal of its
//! segments), so nothing is stored twice.
//!
//! # Recovery
//!
//! Replay reads the segments in order. The first record that is incomplete or fails its
//! checksum ends the log: the segment is truncated there and later segments are deleted.
//! A head cut starts a new segment ([`Wal::cut`]); once the block is in the catalog the
//! older segments are deleted ([`Wal::remove_through`]).

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::fsutil::sync_dir;
use crate::schema::{Record, Value};
use crate::varint::{put_bytes, put_i, put_u, Reader};

const REC_BATCH: u8 = 1;
const HEADER_LEN: usize = 8;
/// Larger records are taken as corruption (a batch is bounded by `max_batch_bytes`).
const MAX_RECORD_LEN: usize = 1 << 30;

/// A write buffer larger than this is not kept for the next batch.
const KEEP_BUFFER_BYTES: usize = 8 << 20;

/// Appends the framed record of a batch numbered from `first_seq` to `out`: the header
/// (length and checksum, filled in once the payload is encoded) and the payload.
fn encode_framed(out: &mut Vec<u8>, first_seq: u64, records: &[Record]) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    encode(out, first_seq, records);
    let payload = &out[start + HEADER_LEN..];
    let (len, crc) = (payload.len() as u32, crc32fast::hash(payload));
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
}

/// Appends the payload of a batch of records numbered from `first_seq` to `out`.
fn encode(out: &mut Vec<u8>, first_seq: u64, records: &[Record]) {
    // Tags, lengths and varints: a few bytes per value and attribute beyond `size`.
    let overhead = |r: &Record| 2 * r.values.len() + 4 * r.attributes.len() + 16;
    out.reserve(
        64 + records
            .iter()
            .map(|r| r.size() + overhead(r))
            .sum::<usize>(),
    );
    out.push(REC_BATCH);
    put_u(out, first_seq);
    put_u(out, records.len() as u64);
    for r in records {
        put_i(out, r.time);
        for v in &r.values {
            match v {
                Value::Absent => out.push(0),
                Value::Int(n) => {
                    out.push(1);
                    put_i(out, *n);
                }
                Value::Str(s) => {
                    out.push(2);
                    put_bytes(out, s.as_bytes());
                }
            }
        }
        put_u(out, r.attributes.len() as u64);
        for (k, v) in &r.attributes {
            put_bytes(out, k.as_bytes());
            put_bytes(out, v.as_bytes());
        }
        put_bytes(out, r.body.as_bytes());
    }
}

fn decode(payload: &[u8], columns: usize) -> Option<(u64, Vec<Record>)> {
    let mut r = Reader::new(payload);
    if r.byte()? != REC_BATCH {
        return None;
    }
    let first_seq = r.u()?;
    let n = r.len()?;
    let mut records = Vec::with_capacity(n);
    for _ in 0..n {
        let time = r.i()?;
        let mut values = Vec::with_capacity(columns);
        for _ in 0..columns {
            values.push(match r.byte()? {
                0 => Value::Absent,
                1 => Value::Int(r.i()?),
                2 => Value::Str(r.str()?.to_owned()),
                _ => return None,
            });
        }
        let na = r.len()?;
        let mut attributes = Vec::with_capacity(na);
        for _ in 0..na {
            attributes.push((r.str()?.to_owned(), r.str()?.to_owned()));
        }
        let body = r.str()?.to_owned();
        records.push(Record {
            time,
            values,
            attributes,
            body,
        });
    }
    r.done().then_some((first_seq, records))
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

/// Segment numbers in `dir`, sorted.
fn segments(dir: &Path) -> Result<Vec<u64>, Error> {
    let ctx = || format!("list {}", dir.display());
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io(ctx()))? {
        let name = e.map_err(Error::io(ctx()))?.file_name();
        if let Some(n) = name.to_str().and_then(|s| s.parse().ok()) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads `path`'s records into `apply`; returns the offset of a torn record, if any.
fn read_segment(
    path: &Path,
    columns: usize,
    apply: &mut dyn FnMut(u64, Vec<Record>),
) -> Result<Option<u64>, Error> {
    let ctx = || format!("read WAL segment {}", path.display());
    let mut r = BufReader::with_capacity(1 << 16, File::open(path).map_err(Error::io(ctx()))?);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER_LEN];
        match read_up_to(&mut r, &mut header).map_err(Error::io(ctx()))? {
            0 => return Ok(None),
            HEADER_LEN => {}
            _ => return Ok(Some(offset)),
        }
        let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        if len == 0 || len > MAX_RECORD_LEN {
            return Ok(Some(offset));
        }
        payload.resize(len, 0);
        if read_up_to(&mut r, &mut payload).map_err(Error::io(ctx()))? != len
            || crc32fast::hash(&payload) != crc
        {
            return Ok(Some(offset));
        }
        let (seq, records) = decode(&payload, columns).ok_or_else(|| {
            Error::corrupt(
                path,
                format!("record at {offset} passes its checksum but does not decode"),
            )
        })?;
        apply(seq, records);
        offset += (HEADER_LEN + len) as u64;
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Batches read.
    pub batches: u64,
    /// Records put back into the head (those already in blocks are skipped).
    pub records: u64,
    /// Where a torn tail was cut: segment number and byte offset.
    pub truncated_at: Option<(u64, u64)>,
}

/// The open log; appends go to the last segment.
pub(crate) struct Wal {
    dir: PathBuf,
    segment_size: u64,
    segment: u64,
    /// Shared so a group commit can fsync it without holding the writer's lock.
    file: Arc<File>,
    len: u64,
    /// The framed batch being written, kept between batches (up to [`KEEP_BUFFER_BYTES`]).
    buf: Vec<u8>,
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`, replaying every intact batch into
    /// `apply(first_seq, records)`.
    pub(crate) fn open(
        dir: &Path,
        segment_size: u64,
        columns: usize,
        apply: &mut dyn FnMut(u64, Vec<Record>),
    ) -> Result<(Wal, ReplayReport), Error> {
        fs::create_dir_all(dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let all = segments(dir)?;
        let mut report = ReplayReport::default();
        let mut counted = |seq, records: Vec<Record>| {
            report.batches += 1;
            apply(seq, records);
        };
        for (i, &s) in all.iter().enumerate() {
            let p = segment_path(dir, s);
            if let Some(at) = read_segment(&p, columns, &mut counted)? {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(Error::io(format!("open {}", p.display())))?;
                f.set_len(at)
                    .and_then(|_| f.sync_all())
                    .map_err(Error::io(format!("truncate {}", p.display())))?;
                for &later in &all[i + 1..] {
                    fs::remove_file(segment_path(dir, later))
                        .map_err(Error::io("remove WAL segment after a torn record"))?;
                }
                report.truncated_at = Some((s, at));
                break;
            }
        }
        let segment = all.last().copied().unwrap_or(0);
        let (file, len) = open_segment(dir, segment)?;
        sync_dir(dir)?;
        let wal = Wal {
            dir: dir.to_owned(),
            segment_size,
            segment,
            file: Arc::new(file),
            len,
            buf: Vec::new(),
        };
        Ok((wal, report))
    }

    /// Appends one batch without syncing it (see [`Wal::sync_target`]); starts a new
    /// segment first when this one is full. On a failed write the segment is cut back to
    /// where the batch started.
    pub(crate) fn write(&mut self, first_seq: u64, records: &[Record]) -> Result<u64, Error> {
        if self.len >= self.segment_size {
            self.cut()?;
        }
        let mut rec = std::mem::take(&mut self.buf);
        rec.clear();
        encode_framed(&mut rec, first_seq, records);
        let written = (&*self.file).write_all(&rec);
        let n = rec.len() as u64;
        if rec.capacity() <= KEEP_BUFFER_BYTES {
            self.buf = rec;
        }
        if let Err(e) = written {
            // Drop whatever part reached the file so the next record starts clean.
            let _ = self.file.set_len(self.len);
            return Err(Error::io(format!("append to WAL segment {}", self.segment))(e));
        }
        self.len += n;
        Ok(n)
    }

    /// The file to fsync so that everything written so far is durable (earlier segments
    /// were synced when they were cut).
    pub(crate) fn sync_target(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Appends one batch and fsyncs it (for callers without a group commit).
    #[cfg(test)]
    pub(crate) fn log(&mut self, first_seq: u64, records: &[Record]) -> Result<u64, Error> {
        let n = self.write(first_seq, records)?;
        self.file
            .sync_data()
            .map_err(Error::io(format!("sync WAL segment {}", self.segment)))?;
        Ok(n)
    }

    /// Starts a new segment; returns the number of the last complete one. The finished
    /// segment is synced first, so batches written but not yet synced stay durable.
    pub(crate) fn cut(&mut self) -> Result<u64, Error> {
        let done = self.segment;
        self.file
            .sync_data()
            .map_err(Error::io(format!("sync WAL segment {done}")))?;
        let (file, len) = open_segment(&self.dir, done + 1)?;
        sync_dir(&self.dir)?;
        self.file = Arc::new(file);
        self.len = len;
        self.segment = done + 1;
        Ok(done)
    }

    /// Deletes the segments up to and including `upto` (their records are in blocks).
    pub(crate) fn remove_through(&self, upto: u64) -> Result<(), Error> {
        for s in segments(&self.dir)?.into_iter().filter(|&s| s <= upto) {
            fs::remove_file(segment_path(&self.dir, s))
                .map_err(Error::io("remove WAL segment after a head cut"))?;
        }
        sync_dir(&self.dir)
    }

    /// Bytes in the log's segments.
    pub(crate) fn size(&self) -> u64 {
        segments(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| fs::metadata(segment_path(&self.dir, s)).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn open_segment(dir: &Path, n: u64) -> Result<(File, u64), Error> {
    let p = segment_path(dir, n);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(Error::io(format!("open WAL segment {}", p.display())))?;
    let len = file
        .metadata()
        .map_err(Error::io(format!("stat {}", p.display())))?
        .len();
    Ok((file, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: i64) -> Record {
        Record::log(i, 9, "api", &format!("line {i}"))
            .attr("logger", "keiko.request")
            .with(crate::LogColumn::CorrelationId, "c-1")
    }

    fn replay(dir: &Path) -> (Vec<(u64, Vec<Record>)>, ReplayReport) {
        let mut got = Vec::new();
        let (_, report) = Wal::open(dir, 1 << 20, 5, &mut |s, r| got.push((s, r))).unwrap();
        (got, report)
    }

    #[test]
    fn batches_round_trip_through_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, 5, &mut |_, _| panic!("empty")).unwrap();
        wal.log(0, &[rec(1), rec(2)]).unwrap();
        wal.log(2, &[rec(3)]).unwrap();
        drop(wal);
        let (got, report) = replay(&dir);
        assert_eq!(report.batches, 2);
        assert_eq!(got, vec![(0, vec![rec(1), rec(2)]), (2, vec![rec(3)])]);
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_go_on() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, 5, &mut |_, _| {}).unwrap();
        let first = wal.log(0, &[rec(1)]).unwrap();
        wal.log(1, &[rec(2)]).unwrap();
        drop(wal);
        let seg = segment_path(&dir, 0);
        let bytes = fs::read(&seg).unwrap();
        fs::write(&seg, &bytes[..bytes.len() - 3]).unwrap();
        let (mut wal, report) = Wal::open(&dir, 1 << 20, 5, &mut |_, _| {}).unwrap();
        assert_eq!(report.truncated_at, Some((0, first)));
        assert_eq!(report.batches, 1);
        wal.log(1, &[rec(9)]).unwrap();
        drop(wal);
        let (got, _) = replay(&dir);
        assert_eq!(got, vec![(0, vec![rec(1)]), (1, vec![rec(9)])]);
    }

    #[test]
    fn cut_segments_are_removed_after_the_block_lands() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, 5, &mut |_, _| {}).unwrap();
        wal.log(0, &[rec(1)]).unwrap();
        let done = wal.cut().unwrap();
        wal.log(1, &[rec(2)]).unwrap();
        wal.remove_through(done).unwrap();
        drop(wal);
        assert_eq!(replay(&dir).0, vec![(1, vec![rec(2)])]);
    }
}
