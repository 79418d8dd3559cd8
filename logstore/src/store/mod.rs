//! The store: the WAL, the head, the blocks and the catalog in one directory.

#[cfg(test)]
mod catalog_tests;
mod read;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

pub use read::{Cursor, FieldCount, Histogram, Hit, Page, TimeRange};

use crate::block::{write_block, Block};
use crate::cache::Cache;
use crate::catalog::{block_path, BlockInfo, Catalog};
use crate::error::Error;
use crate::fsutil::{sync_dir, DirLock};
use crate::head::Head;
use crate::limits::Limits;
use crate::retention::{expired_by_age, expired_by_size};
use crate::schema::{ColumnKind, Record, Schema};
use crate::wal::{ReplayReport, Wal};

const HOUR_NS: i64 = 3_600_000_000_000;

/// How the store cuts, keeps and bounds its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The head is cut into a block once it holds this many records (default 1 M).
    pub max_block_rows: usize,
    /// … or this many bytes of records (default 256 MiB).
    pub max_head_bytes: usize,
    /// … or once its oldest record is this old at [`Store::maintain`] (default 2 h).
    pub max_head_age_ns: i64,
    /// Blocks whose newest record is older than this are dropped (default 7 days; `None`
    /// keeps everything).
    pub retention_ns: Option<i64>,
    /// Oldest blocks are dropped while blocks and WAL together are larger (default none).
    pub retention_bytes: Option<u64>,
    /// A WAL segment is closed once it reaches this size (default 64 MiB).
    pub wal_segment_bytes: u64,
    /// zstd level of block sections (default 3).
    pub compression_level: i32,
    /// Bytes of decoded block sections kept in memory (default 256 MiB).
    pub cache_bytes: usize,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_block_rows: 1 << 20,
            max_head_bytes: 256 << 20,
            max_head_age_ns: 2 * HOUR_NS,
            retention_ns: Some(7 * 24 * HOUR_NS),
            retention_bytes: None,
            wal_segment_bytes: 64 << 20,
            compression_level: 3,
            cache_bytes: 256 << 20,
            limits: Limits::default(),
        }
    }
}

/// Counters and sizes, for the portal's own metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub head_records: u64,
    pub head_bytes: u64,
    pub blocks: Vec<BlockInfo>,
    pub block_bytes: u64,
    pub wal_bytes: u64,
    pub cache_bytes: u64,
    /// What the WAL replay at open found.
    pub replay: ReplayReport,
}

/// What one [`Store::maintain`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    pub blocks_cut: u64,
    pub blocks_dropped: u64,
}

pub(crate) struct Segments {
    pub(crate) head: Head,
    /// A head being written as a block: still queried until the block is in place.
    pub(crate) frozen: Option<Arc<Head>>,
    pub(crate) blocks: Vec<Arc<Block>>,
}

struct Writer {
    wal: Wal,
    next_seq: u64,
}

/// A batch written by [`Store::write`], durable once [`Store::sync`] returns.
#[must_use = "a written batch is durable only after `Store::sync`"]
#[derive(Debug)]
pub struct Written {
    first: u64,
    end: u64,
}

/// How far the WAL is known durable: every batch below `seq`. Held while one appender
/// fsyncs for all who wrote before it (group commit).
#[derive(Default)]
struct Synced {
    seq: u64,
    /// An fsync failed: what it held may be lost and no later sync can be trusted; every
    /// later append is refused until the store is reopened (which replays what reached
    /// the disk).
    failed: bool,
}

/// An embedded record store in one directory. `Send + Sync`: share it in an `Arc`.
/// Appends write the WAL one at a time and share its fsync (group commit: one sync makes
/// every batch written before it durable, and an append returns only after such a sync);
/// queries run beside them.
pub struct Store {
    dir: PathBuf,
    schema: Schema,
    opts: Options,
    segments: RwLock<Segments>,
    writer: Mutex<Writer>,
    synced: Mutex<Synced>,
    catalog: Mutex<Catalog>,
    maintenance: Mutex<()>,
    cache: Arc<Cache>,
    replay: ReplayReport,
    _lock: DirLock,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    /// Opens the store in `dir` (created if missing) for records of `schema`: loads the
    /// catalog and its blocks, deletes block files it does not name, replays the WAL.
    pub fn open(dir: impl AsRef<Path>, schema: Schema, opts: Options) -> Result<Store, Error> {
        if opts.max_block_rows == 0 || opts.wal_segment_bytes == 0 || opts.max_head_age_ns <= 0 {
            return Err(Error::InvalidOptions(
                "max_block_rows, wal_segment_bytes and max_head_age_ns must be positive".into(),
            ));
        }
        if opts.max_block_rows > u32::MAX as usize / 2 {
            return Err(Error::InvalidOptions(
                "max_block_rows is at most 2^31".into(),
            ));
        }
        let dir = dir.as_ref().to_owned();
        let blocks_dir = dir.join("blocks");
        fs::create_dir_all(&blocks_dir)
            .map_err(Error::io(format!("create {}", blocks_dir.display())))?;
        let lock = DirLock::acquire(&dir)?;
        let described = schema.describe();
        let catalog = Catalog::open(&dir, &described)?;
        remove_unlisted_blocks(&blocks_dir, &catalog)?;
        let cache = Arc::new(Cache::new(opts.cache_bytes));
        let numeric: Vec<bool> = schema
            .columns()
            .iter()
            .map(|c| matches!(c.kind, ColumnKind::Severity | ColumnKind::Int))
            .collect();
        let blocks = catalog
            .blocks
            .iter()
            .map(|b| {
                let path = block_path(&dir, b.id);
                Block::open(b.id, &path, &described, numeric.clone(), cache.clone()).map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut head = Head::new(&schema);
        let mut next_seq = catalog.next_seq;
        let mut replayed = 0u64;
        let (wal, mut replay) = Wal::open(
            &dir.join("wal"),
            opts.wal_segment_bytes,
            schema.columns().len(),
            &mut |first, records| {
                for (i, r) in records.iter().enumerate() {
                    let seq = first + i as u64;
                    if seq >= catalog.next_seq {
                        head.push(seq, r);
                        replayed += 1;
                    }
                    next_seq = next_seq.max(seq + 1);
                }
            },
        )?;
        replay.records = replayed;
        Ok(Store {
            dir,
            schema,
            opts,
            segments: RwLock::new(Segments {
                head,
                frozen: None,
                blocks,
            }),
            synced: Mutex::new(Synced {
                seq: next_seq,
                failed: false,
            }),
            writer: Mutex::new(Writer { wal, next_seq }),
            catalog: Mutex::new(catalog),
            maintenance: Mutex::new(()),
            cache,
            replay,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    pub(crate) fn read_segments(&self) -> RwLockReadGuard<'_, Segments> {
        self.segments.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a batch: checked in full (limits, schema), written to the WAL as one record
    /// and put in the head, then fsynced (one fsync shared by the appends waiting for it).
    /// `Ok` means every record is durable; a refused batch stores nothing. Only a failed
    /// fsync leaves the outcome open (the records may still reach a block), and it refuses
    /// every later append until the store is reopened. Returns the sequence number of the
    /// first record.
    pub fn append(&self, records: &[Record]) -> Result<u64, Error> {
        let written = self.write(records)?;
        self.sync(written)
    }

    /// The first half of [`Store::append`]: the batch checked, written to the WAL (not yet
    /// synced) and visible to queries. For callers that keep their own state in the WAL's
    /// order: update it, then [`Store::sync`] outside their lock so appends share fsyncs.
    pub fn write(&self, records: &[Record]) -> Result<Written, Error> {
        self.opts.limits.check_batch(records)?;
        for (i, r) in records.iter().enumerate() {
            r.check(&self.schema, i)?;
        }
        self.check_synced()?;
        let mut w = lock(&self.writer);
        let first = w.next_seq;
        if records.is_empty() {
            return Ok(Written { first, end: first });
        }
        w.wal.write(first, records)?;
        w.next_seq += records.len() as u64;
        // Into the head under the writer's lock, so a head cut (which takes it) never
        // separates a batch in a WAL segment it deletes from the head it cuts.
        let mut seg = self.segments.write().unwrap_or_else(|e| e.into_inner());
        for (i, r) in records.iter().enumerate() {
            seg.head.push(first + i as u64, r);
        }
        Ok(Written {
            first,
            end: w.next_seq,
        })
    }

    /// The second half of [`Store::append`]: returns the batch's first sequence number
    /// once it is on disk.
    pub fn sync(&self, written: Written) -> Result<u64, Error> {
        if written.end > written.first {
            self.sync_through(written.end)?;
        }
        Ok(written.first)
    }

    fn check_synced(&self) -> Result<(), Error> {
        if lock(&self.synced).failed {
            return Err(Error::io("sync the WAL")(std::io::Error::other(
                "an earlier fsync of the write-ahead log failed; reopen the store",
            )));
        }
        Ok(())
    }

    /// Returns once every batch below sequence `end` is on disk. Whoever takes the lock
    /// first syncs for everyone who wrote before it; the others find their batch covered.
    fn sync_through(&self, end: u64) -> Result<(), Error> {
        let mut synced = lock(&self.synced);
        if synced.failed {
            drop(synced);
            return self.check_synced();
        }
        if synced.seq >= end {
            return Ok(());
        }
        let (file, upto) = {
            let w = lock(&self.writer);
            (w.wal.sync_target(), w.next_seq)
        };
        if let Err(e) = file.sync_data() {
            synced.failed = true;
            return Err(Error::io("sync the WAL")(e));
        }
        synced.seq = upto;
        Ok(())
    }

    /// Cuts the head into a block if it is big or old enough, then applies retention.
    /// Call it periodically (no thread is owned here); `now` is Unix nanoseconds.
    pub fn maintain(&self, now: i64) -> Result<MaintainReport, Error> {
        let _m = lock(&self.maintenance);
        let mut report = MaintainReport::default();
        let due = {
            let seg = self.read_segments();
            let h = &seg.head;
            !h.is_empty()
                && (h.times.len() >= self.opts.max_block_rows
                    || h.bytes >= self.opts.max_head_bytes
                    || now.saturating_sub(h.min_time) >= self.opts.max_head_age_ns)
        };
        if due && self.cut_head()? {
            report.blocks_cut += 1;
        }
        report.blocks_dropped = self.apply_retention(now)?;
        Ok(report)
    }

    /// Cuts the whole head into a block now, whatever its size (e.g. before a shutdown
    /// or a benchmark). Returns whether there was anything to cut.
    pub fn flush(&self) -> Result<bool, Error> {
        let _m = lock(&self.maintenance);
        self.cut_head()
    }

    /// Freezes the head, writes it as a block, records it in the catalog, then drops the
    /// WAL segments it came from (in that order: see the `catalog` module). Caller holds
    /// the maintenance lock.
    fn cut_head(&self) -> Result<bool, Error> {
        let (frozen, done_segment) = {
            let mut w = lock(&self.writer);
            let mut seg = self.segments.write().unwrap_or_else(|e| e.into_inner());
            if seg.head.is_empty() {
                return Ok(false);
            }
            let done = w.wal.cut()?;
            let head = std::mem::replace(&mut seg.head, Head::new(&self.schema));
            let frozen = Arc::new(head);
            seg.frozen = Some(frozen.clone());
            (frozen, done)
        };
        let result = self.write_frozen(&frozen);
        let mut seg = self.segments.write().unwrap_or_else(|e| e.into_inner());
        seg.frozen = None;
        match result {
            Ok(block) => {
                seg.blocks.push(block);
                drop(seg);
                lock(&self.writer).wal.remove_through(done_segment)?;
                Ok(true)
            }
            Err(e) => {
                // Put the records back in front of the head; the WAL still has them.
                let mut restored = (*frozen).clone();
                let newer = std::mem::replace(&mut seg.head, Head::new(&self.schema));
                for row in 0..crate::columns::Segment::len(&newer) {
                    let (s, r) = crate::columns::Segment::record(&newer, row)?;
                    restored.push(s, &r);
                }
                seg.head = restored;
                Err(e)
            }
        }
    }

    fn write_frozen(&self, frozen: &Head) -> Result<Arc<Block>, Error> {
        let described = self.schema.describe();
        // Taken even if this cut fails: an id is never given to two different files while
        // the store is open (the block cache is keyed by id).
        let id = {
            let mut cat = lock(&self.catalog);
            cat.next_block += 1;
            cat.next_block - 1
        };
        let path = block_path(&self.dir, id);
        let bytes = write_block(&path, frozen, &described, self.opts.compression_level)?;
        let numeric = self
            .schema
            .columns()
            .iter()
            .map(|c| matches!(c.kind, ColumnKind::Severity | ColumnKind::Int))
            .collect();
        let block = Block::open(id, &path, &described, numeric, self.cache.clone())?;
        // On an error the file stays: whether a failed commit reached the disk is known at
        // the next open, which keeps the file if its row is there and deletes it if not.
        lock(&self.catalog).add_block(BlockInfo {
            id,
            min_time: block.dir.min_time,
            max_time: block.dir.max_time,
            rows: block.dir.rows as u64,
            bytes,
            min_seq: block.dir.min_seq,
            max_seq: block.dir.max_seq,
        })?;
        Ok(Arc::new(block))
    }

    fn apply_retention(&self, now: i64) -> Result<u64, Error> {
        let mut cat = lock(&self.catalog);
        let mut drop_ids = Vec::new();
        if let Some(r) = self.opts.retention_ns {
            drop_ids.extend(expired_by_age(&cat.blocks, now, r));
        }
        if let Some(max) = self.opts.retention_bytes {
            let kept: Vec<BlockInfo> = cat
                .blocks
                .iter()
                .filter(|b| !drop_ids.contains(&b.id))
                .cloned()
                .collect();
            let wal = lock(&self.writer).wal.size();
            drop_ids.extend(expired_by_size(&kept, wal, max));
        }
        if drop_ids.is_empty() {
            return Ok(0);
        }
        // Rows first, files after: a crash in between leaves files that no row names, which
        // the next open deletes.
        cat.remove_blocks(&drop_ids)?;
        drop(cat);
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .blocks
            .retain(|b| !drop_ids.contains(&b.id));
        for id in &drop_ids {
            let p = block_path(&self.dir, *id);
            fs::remove_file(&p).map_err(Error::io(format!("remove {}", p.display())))?;
        }
        sync_dir(&self.dir.join("blocks"))?;
        Ok(drop_ids.len() as u64)
    }

    pub fn stats(&self) -> Stats {
        let blocks = lock(&self.catalog).blocks.clone();
        let seg = self.read_segments();
        Stats {
            head_records: seg.head.times.len() as u64,
            head_bytes: seg.head.bytes as u64,
            block_bytes: blocks.iter().map(|b| b.bytes).sum(),
            blocks,
            wal_bytes: lock(&self.writer).wal.size(),
            cache_bytes: self.cache.bytes() as u64,
            replay: self.replay.clone(),
        }
    }
}

/// Deletes block files (and temporaries) that the catalog does not name.
fn remove_unlisted_blocks(blocks_dir: &Path, catalog: &Catalog) -> Result<(), Error> {
    let ctx = || format!("list {}", blocks_dir.display());
    for e in fs::read_dir(blocks_dir).map_err(Error::io(ctx()))? {
        let e = e.map_err(Error::io(ctx()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let listed = name
            .strip_suffix(".blk")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .is_some_and(|id| catalog.blocks.iter().any(|b| b.id == id));
        if !listed {
            fs::remove_file(e.path()).map_err(Error::io(format!("remove {name}")))?;
        }
    }
    Ok(())
}
