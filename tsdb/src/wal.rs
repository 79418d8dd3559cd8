//! The write-ahead log: every committed batch, durable before the commit returns.
//!
//! # Layout
//!
//! `wal/` holds numbered segments (`00000000`, `00000001`, …) and at most one checkpoint
//! (`checkpoint.NNNNNNNN`). Both are sequences of records:
//!
//! ```text
//! record := len: u32 LE | crc32(payload): u32 LE | payload (len bytes)
//! payload := 0x01 (batch)
//!            | uvarint #series | (uvarint ref | uvarint #labels | (bytes name | bytes value)*)*
//!            | uvarint #samples | [varint base_t] | (uvarint ref | varint t-base_t | u64 LE bits)*
//! ```
//!
//! One commit is one record, so a batch torn by a crash fails its checksum and is dropped
//! whole: replay never applies half a batch. Series are logged (ref and labels) in the
//! record of the first batch that uses them; refs are never reused.
//!
//! # Recovery
//!
//! Replay reads the checkpoint, then every later segment in order. The first record that is
//! incomplete or fails its checksum ends the log: the segment is truncated there and later
//! segments are deleted (a crash can only tear the tail; anything after a bad record in the
//! middle could not be ordered safely anyway).
//!
//! # Checkpoints
//!
//! After the head drops everything older than `mint` (now in a block), [`Wal::cut`] starts a
//! new segment and [`checkpoint`] rewrites the older segments into one file that keeps only
//! the series still in the head and the samples at or after `mint`, then deletes them.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::encoding::{Dec, Enc};
use crate::error::Error;
use crate::fsutil::sync_dir;
use crate::labels::Labels;

const REC_BATCH: u8 = 1;
const HEADER_LEN: usize = 8;
/// Larger records are taken as corruption (a batch is bounded by the batch-size limit).
const MAX_RECORD_LEN: usize = 1 << 30;
/// Series or samples per record when a checkpoint rewrites the log.
const CHECKPOINT_BATCH: usize = 10_000;

/// One sample as logged: the series ref, time and value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct WalSample {
    pub(crate) series: u64,
    pub(crate) t: i64,
    pub(crate) v: f64,
}

/// One committed batch: series first used by it, and its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct WalBatch {
    pub(crate) series: Vec<(u64, Labels)>,
    pub(crate) samples: Vec<WalSample>,
}

impl WalBatch {
    fn encode(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u8(REC_BATCH);
        e.uvarint(self.series.len() as u64);
        for (id, labels) in &self.series {
            e.uvarint(*id);
            e.uvarint(labels.len() as u64);
            for (n, v) in labels.iter() {
                e.bytes(n.as_bytes());
                e.bytes(v.as_bytes());
            }
        }
        e.uvarint(self.samples.len() as u64);
        if let Some(first) = self.samples.first() {
            e.varint(first.t);
            for s in &self.samples {
                e.uvarint(s.series);
                e.varint(s.t.wrapping_sub(first.t));
                e.u64(s.v.to_bits());
            }
        }
        e.buf
    }

    fn decode(payload: &[u8]) -> Option<WalBatch> {
        let mut d = Dec::new(payload);
        if d.u8()? != REC_BATCH {
            return None;
        }
        let n = d.count()?;
        let mut series = Vec::with_capacity(n);
        for _ in 0..n {
            let id = d.uvarint()?;
            let nl = d.count()?;
            let mut pairs = Vec::with_capacity(nl);
            for _ in 0..nl {
                pairs.push((d.string()?, d.string()?));
            }
            series.push((id, Labels::new(pairs).ok()?));
        }
        let n = d.count()?;
        let mut samples = Vec::with_capacity(n);
        if n > 0 {
            let base = d.varint()?;
            for _ in 0..n {
                let series = d.uvarint()?;
                let t = base.wrapping_add(d.varint()?);
                let v = f64::from_bits(d.u64()?);
                samples.push(WalSample { series, t, v });
            }
        }
        d.is_empty().then_some(WalBatch { series, samples })
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// How reading a log file ended.
enum ReadEnd {
    /// At the end of the file.
    Clean,
    /// At a torn or corrupt record starting at this offset.
    Torn(u64),
}

/// Reads every record of `path`, calling `f` with each decoded batch.
fn read_file(path: &Path, f: &mut dyn FnMut(WalBatch)) -> Result<ReadEnd, Error> {
    let ctx = || format!("read WAL file {}", path.display());
    let file = File::open(path).map_err(Error::io(ctx()))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER_LEN];
        match read_full(&mut r, &mut header).map_err(Error::io(ctx()))? {
            0 => return Ok(ReadEnd::Clean),
            HEADER_LEN => {}
            _ => return Ok(ReadEnd::Torn(offset)),
        }
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len == 0 || len > MAX_RECORD_LEN {
            return Ok(ReadEnd::Torn(offset));
        }
        payload.resize(len, 0);
        if read_full(&mut r, &mut payload).map_err(Error::io(ctx()))? != len
            || crc32fast::hash(&payload) != crc
        {
            return Ok(ReadEnd::Torn(offset));
        }
        let batch = WalBatch::decode(&payload).ok_or_else(|| {
            Error::corrupt(
                path,
                format!("record at {offset} has a valid checksum but does not decode"),
            )
        })?;
        f(batch);
        offset += (HEADER_LEN + len) as u64;
    }
}

/// Reads until `buf` is full or the end; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
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

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}"))
}

fn checkpoint_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("checkpoint.{n:08}"))
}

/// The segments (sorted) and checkpoints (sorted) in `dir`; leftover temporaries are removed.
fn list(dir: &Path) -> Result<(Vec<u64>, Vec<u64>), Error> {
    let mut segments = Vec::new();
    let mut checkpoints = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io(format!("list {}", dir.display())))? {
        let e = e.map_err(Error::io(format!("list {}", dir.display())))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        } else if let Some(n) = name.strip_prefix("checkpoint.") {
            if let Ok(n) = n.parse() {
                checkpoints.push(n);
            }
        } else if let Ok(n) = name.parse() {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    checkpoints.sort_unstable();
    Ok((segments, checkpoints))
}

/// What replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Batches replayed.
    pub records: u64,
    /// Where a torn or corrupt tail was cut: segment number and byte offset.
    pub truncated_at: Option<(u64, u64)>,
    /// Segments after a corrupt record, deleted.
    pub segments_dropped: u64,
}

/// The open log: appends go to the last segment.
pub(crate) struct Wal {
    dir: PathBuf,
    segment_size: u64,
    segment: u64,
    /// Shared so a group commit can fsync it without holding the log's lock.
    file: Arc<File>,
    len: u64,
    /// Records written so far (this process); the sequence number of the last one.
    written: u64,
}

impl Wal {
    /// Opens (creating if needed) the log in `dir`, replaying every record into `apply`.
    pub(crate) fn open(
        dir: &Path,
        segment_size: u64,
        apply: &mut dyn FnMut(WalBatch),
    ) -> Result<(Wal, ReplayReport), Error> {
        fs::create_dir_all(dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let (segments, checkpoints) = list(dir)?;
        let mut report = ReplayReport::default();
        let mut counted = |b: WalBatch| {
            report.records += 1;
            apply(b);
        };
        let checkpoint = checkpoints.last().copied();
        if let Some(c) = checkpoint {
            let p = checkpoint_path(dir, c);
            if let ReadEnd::Torn(at) = read_file(&p, &mut counted)? {
                // Checkpoints are renamed into place only once complete and synced.
                return Err(Error::corrupt(p, format!("bad record at offset {at}")));
            }
            for &old in &checkpoints[..checkpoints.len() - 1] {
                let _ = fs::remove_file(checkpoint_path(dir, old));
            }
        }
        let live: Vec<u64> = segments
            .iter()
            .copied()
            .filter(|&s| checkpoint.is_none_or(|c| s > c))
            .collect();
        for &s in segments
            .iter()
            .filter(|&&s| checkpoint.is_some_and(|c| s <= c))
        {
            let _ = fs::remove_file(segment_path(dir, s));
        }
        let mut last_segment = None;
        for (i, &s) in live.iter().enumerate() {
            let p = segment_path(dir, s);
            last_segment = Some(s);
            if let ReadEnd::Torn(at) = read_file(&p, &mut counted)? {
                let f = OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(Error::io(format!("open {}", p.display())))?;
                f.set_len(at)
                    .and_then(|_| f.sync_all())
                    .map_err(Error::io(format!("truncate {}", p.display())))?;
                for &later in &live[i + 1..] {
                    fs::remove_file(segment_path(dir, later))
                        .map_err(Error::io("remove WAL segment after corruption"))?;
                    report.segments_dropped += 1;
                }
                report.truncated_at = Some((s, at));
                break;
            }
        }
        let segment = last_segment.unwrap_or(checkpoint.map_or(0, |c| c + 1));
        let (file, len) = open_segment(dir, segment)?;
        Ok((
            Wal {
                dir: dir.to_owned(),
                segment_size,
                segment,
                file: Arc::new(file),
                len,
                written: 0,
            },
            report,
        ))
    }

    /// Appends one batch and fsyncs it. Starts a new segment first when the current one is
    /// full.
    #[cfg(test)]
    pub(crate) fn log(&mut self, batch: &WalBatch) -> Result<(), Error> {
        self.write(batch)?;
        let (file, _) = self.sync_target();
        file.sync_data()
            .map_err(Error::io(format!("sync WAL segment {}", self.segment)))
    }

    /// Appends one batch without syncing it and returns its sequence number; the caller
    /// acknowledges it only after a sync covering that number ([`Wal::sync_target`]). Starts
    /// a new segment first when the current one is full.
    pub(crate) fn write(&mut self, batch: &WalBatch) -> Result<u64, Error> {
        if self.len >= self.segment_size {
            self.cut()?;
        }
        let rec = frame(&batch.encode());
        if let Err(e) = (&*self.file).write_all(&rec) {
            // Drop whatever part reached the file so the next record starts clean.
            let _ = self.file.set_len(self.len);
            return Err(Error::io(format!("append to WAL segment {}", self.segment))(e));
        }
        self.len += rec.len() as u64;
        self.written += 1;
        Ok(self.written)
    }

    /// The file to fsync and the last sequence number a sync of it makes durable (earlier
    /// segments are synced when they are cut).
    pub(crate) fn sync_target(&self) -> (Arc<File>, u64) {
        (Arc::clone(&self.file), self.written)
    }

    /// Starts a new segment; returns the number of the last complete one. The finished
    /// segment is synced first, so records written but not yet synced stay durable.
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

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
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

/// Rewrites the checkpoint and segments up to `upto` into `checkpoint.upto`, keeping the
/// series for which `keep` is true and their samples at or after `mint`, then deletes what
/// it replaced. Runs beside appends (which go to later segments), never beside itself.
pub(crate) fn checkpoint(
    dir: &Path,
    upto: u64,
    keep: &dyn Fn(u64) -> bool,
    mint: i64,
) -> Result<(), Error> {
    let (segments, checkpoints) = list(dir)?;
    let mut sources: Vec<PathBuf> = checkpoints
        .last()
        .map(|&c| checkpoint_path(dir, c))
        .into_iter()
        .collect();
    sources.extend(
        segments
            .iter()
            .filter(|&&s| s <= upto)
            .map(|&s| segment_path(dir, s)),
    );

    let target = checkpoint_path(dir, upto);
    let tmp = target.with_extension("tmp");
    let ctx = || format!("write checkpoint {}", target.display());
    let mut w = BufWriter::new(File::create(&tmp).map_err(Error::io(ctx()))?);
    let mut write_err = None;
    let mut emit = |b: &WalBatch, w: &mut BufWriter<File>| {
        if write_err.is_none() {
            if let Err(e) = w.write_all(&frame(&b.encode())) {
                write_err = Some(e);
            }
        }
    };
    // Pass 1: the series, so that every sample's series precedes it.
    let mut out = WalBatch::default();
    for p in &sources {
        read_file(p, &mut |b| {
            for (id, labels) in b.series {
                if keep(id) {
                    out.series.push((id, labels));
                    if out.series.len() >= CHECKPOINT_BATCH {
                        emit(&out, &mut w);
                        out.series.clear();
                    }
                }
            }
        })?;
    }
    if !out.series.is_empty() {
        emit(&out, &mut w);
    }
    // Pass 2: the samples still in the head.
    let mut out = WalBatch::default();
    for p in &sources {
        read_file(p, &mut |b| {
            for s in b.samples {
                if s.t >= mint && keep(s.series) {
                    out.samples.push(s);
                    if out.samples.len() >= CHECKPOINT_BATCH {
                        emit(&out, &mut w);
                        out.samples.clear();
                    }
                }
            }
        })?;
    }
    if !out.samples.is_empty() {
        emit(&out, &mut w);
    }
    if let Some(e) = write_err {
        return Err(Error::io(ctx())(e));
    }
    let f = w
        .into_inner()
        .map_err(|e| Error::io(ctx())(e.into_error()))?;
    f.sync_all().map_err(Error::io(ctx()))?;
    drop(f);
    fs::rename(&tmp, &target).map_err(Error::io(ctx()))?;
    sync_dir(dir)?;
    for s in segments.into_iter().filter(|&s| s <= upto) {
        fs::remove_file(segment_path(dir, s))
            .map_err(Error::io("remove checkpointed WAL segment"))?;
    }
    for c in checkpoints.into_iter().filter(|&c| c != upto) {
        fs::remove_file(checkpoint_path(dir, c)).map_err(Error::io("remove old checkpoint"))?;
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first_id: u64, t: i64) -> WalBatch {
        WalBatch {
            series: vec![(
                first_id,
                Labels::new([("__name__", "m"), ("i", &*first_id.to_string())]).unwrap(),
            )],
            samples: vec![
                WalSample {
                    series: first_id,
                    t,
                    v: 1.5,
                },
                WalSample {
                    series: first_id,
                    t: t + 10,
                    v: crate::STALE_NAN,
                },
            ],
        }
    }

    fn replay(dir: &Path) -> (Vec<WalBatch>, ReplayReport) {
        let mut got = Vec::new();
        let (_, report) = Wal::open(dir, 1 << 20, &mut |b| got.push(b)).unwrap();
        (got, report)
    }

    #[test]
    fn batches_round_trip_through_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, &mut |_| panic!("empty")).unwrap();
        let batches: Vec<WalBatch> = (0..5).map(|i| batch(i, -1000 + i as i64)).collect();
        for b in &batches {
            wal.log(b).unwrap();
        }
        drop(wal);
        let (got, report) = replay(&dir);
        assert_eq!(report.records, 5);
        assert_eq!(report.truncated_at, None);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].series, batches[0].series);
        assert!(crate::is_stale_nan(got[4].samples[1].v));
        assert_eq!(got[4].samples[0], batches[4].samples[0]);
    }

    #[test]
    fn torn_tail_is_truncated_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, &mut |_| {}).unwrap();
        for i in 0..3 {
            wal.log(&batch(i, 0)).unwrap();
        }
        drop(wal);
        // Tear the last record: keep the first two and a few bytes of the third.
        let seg = segment_path(&dir, 0);
        let bytes = fs::read(&seg).unwrap();
        let rec = bytes.len() / 3;
        fs::write(&seg, &bytes[..2 * rec + 5]).unwrap();
        let (got, report) = replay(&dir);
        assert_eq!(got.len(), 2);
        assert_eq!(report.truncated_at, Some((0, 2 * rec as u64)));
        assert_eq!(fs::metadata(&seg).unwrap().len(), 2 * rec as u64);
        // A flipped bit in the payload is caught by the checksum, and appends go on after.
        let mut bytes = fs::read(&seg).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&seg, &bytes).unwrap();
        let (mut wal, report) = Wal::open(&dir, 1 << 20, &mut |_| {}).unwrap();
        assert_eq!(report.records, 1);
        wal.log(&batch(9, 0)).unwrap();
        drop(wal);
        let (got, _) = replay(&dir);
        assert_eq!(
            got.iter().map(|b| b.series[0].0).collect::<Vec<_>>(),
            vec![0, 9]
        );
    }

    #[test]
    fn checkpoint_keeps_live_series_and_recent_samples() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 1 << 20, &mut |_| {}).unwrap();
        wal.log(&batch(1, 0)).unwrap();
        wal.log(&batch(2, 100)).unwrap();
        let upto = wal.cut().unwrap();
        wal.log(&batch(3, 200)).unwrap();
        checkpoint(&dir, upto, &|id| id != 1, 105).unwrap();
        let (segments, checkpoints) = list(&dir).unwrap();
        assert_eq!((segments, checkpoints), (vec![1], vec![0]));
        drop(wal);
        let (got, _) = replay(&dir);
        let series: Vec<u64> = got
            .iter()
            .flat_map(|b| b.series.iter().map(|s| s.0))
            .collect();
        let samples: Vec<(u64, i64)> = got
            .iter()
            .flat_map(|b| b.samples.iter().map(|s| (s.series, s.t)))
            .collect();
        assert_eq!(series, vec![2, 3]);
        assert_eq!(samples, vec![(2, 110), (3, 200), (3, 210)]);
    }

    #[test]
    fn segments_rotate_when_full() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        let (mut wal, _) = Wal::open(&dir, 100, &mut |_| {}).unwrap();
        for i in 0..10 {
            wal.log(&batch(i, 0)).unwrap();
        }
        assert!(list(&dir).unwrap().0.len() > 3);
        drop(wal);
        assert_eq!(replay(&dir).0.len(), 10);
    }
}
