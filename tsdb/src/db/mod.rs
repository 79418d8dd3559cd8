//! The database: head, WAL and blocks behind one handle.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::block::{Block, BlockMeta, BlockWriter};
use crate::chunk::Sample;
use crate::compact;
use crate::error::{Error, Refusal, RefuseReason, Rejection};
use crate::fsutil::{dir_size, sync_dir, DirLock};
use crate::head::{block_start, ChunkData, Head, Pending};
use crate::labels::Labels;
use crate::limits::Limits;
use crate::matcher::Matcher;
use crate::retention;
use crate::wal::{self, ReplayReport, Wal};

/// Two hours in milliseconds: the default block range.
pub const TWO_HOURS_MS: i64 = 2 * 3600 * 1000;

/// How a [`Db`] is laid out and bounded.
#[derive(Clone, Debug)]
pub struct Options {
    /// Range of a block cut from the head, and the alignment of chunks (default 2 h).
    pub block_range_ms: i64,
    /// Blocks whose whole range is older than this (relative to `maintain`'s `now_ms`) are
    /// deleted. `None` keeps data forever (default 15 days).
    pub retention_ms: Option<i64>,
    /// Blocks are deleted, oldest first, while blocks and WAL together are larger than this.
    /// `None` sets no bound (the default).
    pub retention_bytes: Option<u64>,
    /// Largest range compaction builds. `None` means a tenth of `retention_ms` (31 days
    /// without retention), never less than `block_range_ms`.
    pub max_block_range_ms: Option<i64>,
    /// A WAL segment is closed once it reaches this size (default 64 MiB).
    pub wal_segment_bytes: u64,
    /// Append and query limits.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            block_range_ms: TWO_HOURS_MS,
            retention_ms: Some(15 * 24 * 3600 * 1000),
            retention_bytes: None,
            max_block_range_ms: None,
            wal_segment_bytes: 64 << 20,
            limits: Limits::default(),
        }
    }
}

impl Options {
    fn max_block_range(&self) -> i64 {
        let max = self
            .max_block_range_ms
            .unwrap_or_else(|| self.retention_ms.unwrap_or(31 * 24 * 3600 * 1000) / 10);
        max.max(self.block_range_ms)
    }
}

/// One series' samples in a queried range.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesData {
    pub labels: Labels,
    /// Sorted by time, one per timestamp.
    pub samples: Vec<Sample>,
}

/// A snapshot of the store's counters and sizes, for the portal's own metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Samples stored by commits (idempotent repeats not counted).
    pub appended_samples: u64,
    /// Refused samples, for every reason (zeros included), in [`RefuseReason::ALL`] order.
    pub refused: Vec<(RefuseReason, u64)>,
    /// Batches committed / rejected as a whole.
    pub commits: u64,
    pub rejected_batches: u64,
    /// Series and chunks in the head.
    pub head_series: u64,
    pub head_chunks: u64,
    /// Time range of the head's samples.
    pub head_min_time: Option<i64>,
    pub head_max_time: Option<i64>,
    /// Bytes of WAL segments and checkpoint.
    pub wal_bytes: u64,
    /// Blocks on disk and their bytes.
    pub blocks: u64,
    pub blocks_bytes: u64,
    /// Blocks cut from the head.
    pub head_cuts: u64,
    /// Compactions done and failed.
    pub compactions: u64,
    pub compactions_failed: u64,
    /// Blocks deleted by retention.
    pub retention_deleted_blocks: u64,
    /// What the WAL replay at open found.
    pub replay: ReplayReport,
}

/// What one [`Db::maintain`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintainReport {
    /// Blocks cut from the head.
    pub head_cuts: u64,
    /// Compactions run.
    pub compactions: u64,
    /// Blocks deleted by retention.
    pub deleted_blocks: u64,
}

#[derive(Default)]
struct Counters {
    appended: AtomicU64,
    refused: [AtomicU64; RefuseReason::ALL.len()],
    commits: AtomicU64,
    rejected: AtomicU64,
    head_cuts: AtomicU64,
    compactions: AtomicU64,
    compactions_failed: AtomicU64,
    retention_deleted: AtomicU64,
}

/// An embedded time-series database in one directory. `Send + Sync`: share it in an `Arc`
/// and append and query from any number of threads.
///
/// Commits write the WAL one at a time and share its fsync (group commit: one sync makes
/// every record written before it durable, and a commit is acknowledged only after such a
/// sync); queries run beside them and beside maintenance. See the crate docs for the on-disk
/// layout and the guarantees.
pub struct Db {
    dir: PathBuf,
    opts: Options,
    head: Head,
    /// The WAL; its lock is also the commit lock (check, write, apply happen under it; the
    /// fsync does not).
    wal: Mutex<Wal>,
    /// The WAL sequence number known durable; held while one committer fsyncs for all.
    synced: Mutex<u64>,
    /// Set when an fsync of the WAL failed: what it held may be lost, and since the kernel
    /// may have dropped the dirty pages, no later sync can be trusted; every later commit is
    /// refused until the store is reopened (it then replays what did reach the disk).
    wal_failed: AtomicBool,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Serialises `maintain` calls.
    maintenance: Mutex<()>,
    counters: Counters,
    replay: ReplayReport,
    _dir_lock: DirLock,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Db {
    /// Opens the database in `dir` (created if missing): loads the blocks, then replays the
    /// WAL into the head. A torn WAL tail is cut off (see [`Stats::replay`]).
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db, Error> {
        if opts.block_range_ms <= 0 || opts.wal_segment_bytes == 0 {
            return Err(Error::InvalidOptions(
                "block_range_ms and wal_segment_bytes must be positive".into(),
            ));
        }
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let dir_lock = DirLock::acquire(&dir)?;
        let blocks = open_blocks(&dir)?;
        let min_valid = blocks
            .iter()
            .map(|b| b.meta.max_time)
            .max()
            .unwrap_or(i64::MIN);
        let head = Head::new(opts.block_range_ms, min_valid);
        let (wal, replay) = Wal::open(&dir.join("wal"), opts.wal_segment_bytes, &mut |b| {
            head.apply(&b);
        })?;
        // Series whose samples were all before the newest block (a crash between a head
        // cut and its WAL checkpoint) came back empty: drop them.
        head.truncate(min_valid);
        Ok(Db {
            dir,
            opts,
            head,
            wal: Mutex::new(wal),
            synced: Mutex::new(0),
            wal_failed: AtomicBool::new(false),
            blocks: RwLock::new(blocks),
            maintenance: Mutex::new(()),
            counters: Counters::default(),
            replay,
            _dir_lock: dir_lock,
        })
    }

    /// The directory of the database.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options it was opened with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Starts an append batch.
    pub fn appender(&self) -> Appender<'_> {
        Appender {
            db: self,
            pending: Vec::new(),
            samples: 0,
            over_limit: 0,
        }
    }

    fn commit(&self, pending: Vec<Pending>, over_limit: u64) -> Result<usize, Error> {
        if over_limit > 0 {
            // Over the batch-size limit: refused without looking further.
            let mut r = batch_size_rejection(self.opts.limits.max_samples_per_batch);
            r.by_reason[0].1 = over_limit;
            return Err(self.reject(r));
        }
        self.check_wal()?;
        let mut wal = lock(&self.wal);
        let batch = self
            .head
            .prepare(pending, &self.opts.limits)
            .map_err(|r| self.reject(r))?;
        if batch.samples.is_empty() {
            drop(wal);
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
            return Ok(0);
        }
        let seq = wal.write(&batch)?;
        // Applied before the sync (as Prometheus applies without one): a query may see the
        // samples a moment before they are acknowledged.
        let stored = self.head.apply(&batch);
        drop(wal);
        self.sync_wal(seq)?;
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        self.counters
            .appended
            .fetch_add(stored as u64, Ordering::Relaxed);
        Ok(stored)
    }

    fn check_wal(&self) -> Result<(), Error> {
        if self.wal_failed.load(Ordering::Acquire) {
            return Err(Error::io("WAL")(std::io::Error::other(
                "an earlier fsync of the write-ahead log failed; reopen the store",
            )));
        }
        Ok(())
    }

    /// Returns once WAL record `seq` is on disk. Whoever takes the `synced` lock first syncs
    /// for everyone who wrote before it; the others find their record covered.
    fn sync_wal(&self, seq: u64) -> Result<(), Error> {
        let mut synced = lock(&self.synced);
        self.check_wal()?;
        if *synced >= seq {
            return Ok(());
        }
        let (file, upto) = lock(&self.wal).sync_target();
        if let Err(e) = file.sync_data() {
            self.wal_failed.store(true, Ordering::Release);
            return Err(Error::io("sync the WAL")(e));
        }
        *synced = upto;
        Ok(())
    }

    fn reject(&self, r: Rejection) -> Error {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        for (reason, n) in &r.by_reason {
            self.counters.refused[reason.index()].fetch_add(*n, Ordering::Relaxed);
        }
        Error::Rejected(r)
    }

    fn blocks_snapshot(&self) -> Vec<Arc<Block>> {
        self.blocks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The samples in `[mint, maxt]` (inclusive) of every series matching all `matchers`,
    /// from the blocks and the head, sorted by labels; each series' samples sorted by time
    /// with one sample per timestamp. Fails with [`Error::QueryTooLarge`] past
    /// [`Limits::max_samples_per_query`] samples. No matchers select every series.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesData>, Error> {
        let limit = self.opts.limits.max_samples_per_query;
        // Each series' chunks first (blocks in order, then the head), so that its samples
        // are decoded into one list allocated once at the size the chunks' count headers
        // give: growing the lists chunk by chunk reallocated and copied every series' samples
        // about log2(chunks) times (a quarter of a 10,000-series range query's time). The
        // compressed chunks held meanwhile are bounded: chunks wholly inside the range count
        // towards the limit before any is decoded.
        let mut by_labels: BTreeMap<Labels, Vec<ChunkData>> = BTreeMap::new();
        let mut inside = 0usize;
        let mut keep = |labels: &Labels, chunks: Vec<ChunkData>| {
            for c in &chunks {
                if c.mint >= mint && c.maxt <= maxt {
                    inside += c.count();
                }
            }
            if inside > limit {
                return Err(Error::QueryTooLarge { limit });
            }
            match by_labels.get_mut(labels) {
                Some(all) => all.extend(chunks),
                None => {
                    by_labels.insert(labels.clone(), chunks);
                }
            }
            Ok(())
        };
        for b in self
            .blocks_snapshot()
            .iter()
            .filter(|b| b.meta.overlaps(mint, maxt))
        {
            for (labels, chunks) in b.select(matchers, mint, maxt) {
                keep(labels, b.read_chunks(&chunks)?)?;
            }
        }
        for s in self.head.select(matchers, mint, maxt) {
            keep(&s.labels, s.chunks)?;
        }
        // Chunk after chunk into the series' list; a list that went back in time is sorted
        // at the end, the earlier sample kept per timestamp (as merge_samples does). Usually
        // chunks follow each other and nothing is sorted.
        let mut total = 0usize;
        let mut out = Vec::with_capacity(by_labels.len());
        for (labels, chunks) in by_labels {
            let mut samples: Vec<Sample> =
                Vec::with_capacity(chunks.iter().map(ChunkData::count).sum());
            let mut in_order = true;
            for c in &chunks {
                let (before, last) = (samples.len(), samples.last().map(|s| s.t));
                samples.extend(c.samples().filter(|s| s.t >= mint && s.t <= maxt));
                if let (Some(last), Some(first)) = (last, samples.get(before)) {
                    in_order &= first.t > last;
                }
            }
            total += samples.len();
            if total > limit {
                return Err(Error::QueryTooLarge { limit });
            }
            if samples.is_empty() {
                continue;
            }
            if !in_order {
                samples.sort_by_key(|s| s.t);
                samples.dedup_by_key(|s| s.t);
            }
            out.push(SeriesData { labels, samples });
        }
        Ok(out)
    }

    /// Label sets of the series matching `matchers` with data in `[mint, maxt]`, sorted.
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Labels>, Error> {
        let mut out: BTreeSet<Labels> = self
            .head
            .series_labels(matchers, mint, maxt)
            .into_iter()
            .collect();
        for b in self
            .blocks_snapshot()
            .iter()
            .filter(|b| b.meta.overlaps(mint, maxt))
        {
            out.extend(
                b.select(matchers, mint, maxt)
                    .into_iter()
                    .map(|(l, _)| l.clone()),
            );
        }
        Ok(out.into_iter().collect())
    }

    /// Label names of the series matching `matchers` with data in `[mint, maxt]`, sorted.
    pub fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, Error> {
        self.distinct(matchers, mint, maxt, |l| l.iter().map(|(n, _)| n).collect())
    }

    /// Values of label `name` among the series matching `matchers` with data in
    /// `[mint, maxt]`, sorted (series without the label contribute nothing).
    pub fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, Error> {
        self.distinct(matchers, mint, maxt, |l| l.get(name).into_iter().collect())
    }

    /// The distinct strings `pick` takes from the matching series' label sets, sorted.
    fn distinct(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        pick: impl for<'l> Fn(&'l Labels) -> Vec<&'l str>,
    ) -> Result<Vec<String>, Error> {
        let series = self.series(matchers, mint, maxt)?;
        let set: BTreeSet<&str> = series.iter().flat_map(pick).collect();
        Ok(set.into_iter().map(str::to_owned).collect())
    }

    /// Background work, to be called periodically (e.g. every minute) from a blocking
    /// thread: cuts the head into blocks once it spans more than 1.5 block ranges
    /// (truncating the head and checkpointing the WAL after each), compacts blocks, and
    /// applies retention relative to `now_ms`. Appends and queries go on meanwhile; a second
    /// concurrent call waits for the first.
    pub fn maintain(&self, now_ms: i64) -> Result<MaintainReport, Error> {
        let _serial = lock(&self.maintenance);
        let mut report = MaintainReport::default();
        while self.cut_head_once()? {
            report.head_cuts += 1;
        }
        loop {
            match self.compact_once() {
                Ok(true) => report.compactions += 1,
                Ok(false) => break,
                Err(e) => {
                    self.counters
                        .compactions_failed
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        report.deleted_blocks = self.apply_retention(now_ms)?;
        Ok(report)
    }

    /// Cuts the head's oldest block range into a block if the head spans more than 1.5
    /// ranges. The range is already unwritable: appends are refused before
    /// `head max time - range/2`, which is past the range's end.
    fn cut_head_once(&self) -> Result<bool, Error> {
        let range = self.opts.block_range_ms;
        let Some((hmin, hmax)) = self.head.time_range() else {
            return Ok(false);
        };
        if hmax.saturating_sub(hmin) <= range / 2 * 3 {
            return Ok(false);
        }
        let start = block_start(hmin, range);
        let end = start + range;
        let series = self.head.select(&[], start, end - 1);
        if !series.is_empty() {
            let mut w = BlockWriter::new(&self.dir, start, end, 1, vec![])?;
            let written = (|| {
                for s in series {
                    let chunks = compact::normalize(s.chunks, start, end - 1);
                    w.add_series(s.labels, &chunks)?;
                }
                Ok(())
            })();
            if let Err(e) = written {
                w.abort();
                return Err(e);
            }
            let meta = w.finish()?;
            let block = Block::open(&self.dir.join(&meta.id))?;
            let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            blocks.push(Arc::new(block));
            blocks.sort_by_key(|b| b.meta.min_time);
        }
        self.counters.head_cuts.fetch_add(1, Ordering::Relaxed);
        // Truncate and start a new segment atomically with respect to commits.
        let (upto, wal_dir) = {
            let mut wal = lock(&self.wal);
            self.head.truncate(end);
            (wal.cut()?, wal.dir().to_owned())
        };
        let live: HashSet<u64> = self.head.live_refs();
        wal::checkpoint(&wal_dir, upto, &|id| live.contains(&id), end)?;
        Ok(true)
    }

    fn compact_once(&self) -> Result<bool, Error> {
        let blocks = self.blocks_snapshot();
        let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta.clone()).collect();
        let ranges = compact::ranges(self.opts.block_range_ms, self.opts.max_block_range());
        let Some(ids) = compact::plan(&metas, &ranges, self.head.min_valid()) else {
            return Ok(false);
        };
        let group: Vec<Arc<Block>> = blocks
            .into_iter()
            .filter(|b| ids.contains(&b.meta.id))
            .collect();
        let meta = compact::compact(&self.dir, &group)?;
        let block = Arc::new(Block::open(&self.dir.join(&meta.id))?);
        self.replace_blocks(&ids, Some(block))?;
        self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// Removes blocks `ids` from the set (adding `new`), then deletes their directories.
    /// Queries already holding them keep reading their open files.
    fn replace_blocks(&self, ids: &[String], new: Option<Arc<Block>>) -> Result<(), Error> {
        let removed: Vec<Arc<Block>> = {
            let mut blocks = self.blocks.write().unwrap_or_else(|e| e.into_inner());
            let (gone, kept): (Vec<_>, Vec<_>) =
                blocks.drain(..).partition(|b| ids.contains(&b.meta.id));
            *blocks = kept;
            blocks.extend(new);
            blocks.sort_by_key(|b| b.meta.min_time);
            gone
        };
        for b in removed {
            fs::remove_dir_all(&b.dir)
                .map_err(Error::io(format!("delete block {}", b.dir.display())))?;
        }
        sync_dir(&self.dir)
    }

    fn apply_retention(&self, now_ms: i64) -> Result<u64, Error> {
        let blocks = self.blocks_snapshot();
        let metas: Vec<BlockMeta> = blocks.iter().map(|b| b.meta.clone()).collect();
        let mut ids: Vec<String> = match self.opts.retention_ms {
            Some(r) => retention::expired_by_age(&metas, now_ms, r),
            None => Vec::new(),
        };
        if let Some(max) = self.opts.retention_bytes {
            let sized: Vec<(&BlockMeta, u64)> = blocks
                .iter()
                .filter(|b| !ids.contains(&b.meta.id))
                .map(|b| (&b.meta, b.size_bytes))
                .collect();
            let wal_bytes = self.wal_bytes();
            ids.extend(retention::expired_by_size(&sized, wal_bytes, max));
        }
        if ids.is_empty() {
            return Ok(0);
        }
        self.replace_blocks(&ids, None)?;
        self.counters
            .retention_deleted
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        Ok(ids.len() as u64)
    }

    /// Bytes of the WAL directory (read without the commit lock: a size, not a snapshot).
    fn wal_bytes(&self) -> u64 {
        dir_size(&self.dir.join("wal"))
    }

    /// Metadata of the blocks on disk, oldest first.
    pub fn blocks(&self) -> Vec<BlockMeta> {
        self.blocks_snapshot()
            .iter()
            .map(|b| b.meta.clone())
            .collect()
    }

    /// A snapshot of counters and sizes.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let blocks = self.blocks_snapshot();
        let (head_series, head_chunks) = self.head.counts();
        let range = self.head.time_range();
        Stats {
            appended_samples: c.appended.load(Ordering::Relaxed),
            refused: RefuseReason::ALL
                .iter()
                .map(|r| (*r, c.refused[r.index()].load(Ordering::Relaxed)))
                .collect(),
            commits: c.commits.load(Ordering::Relaxed),
            rejected_batches: c.rejected.load(Ordering::Relaxed),
            head_series: head_series as u64,
            head_chunks: head_chunks as u64,
            head_min_time: range.map(|r| r.0),
            head_max_time: range.map(|r| r.1),
            wal_bytes: self.wal_bytes(),
            blocks: blocks.len() as u64,
            blocks_bytes: blocks.iter().map(|b| b.size_bytes).sum(),
            head_cuts: c.head_cuts.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            compactions_failed: c.compactions_failed.load(Ordering::Relaxed),
            retention_deleted_blocks: c.retention_deleted.load(Ordering::Relaxed),
            replay: self.replay.clone(),
        }
    }
}

/// Opens every block directory in `dir`; removes unfinished (`.tmp`) blocks and blocks
/// already compacted into another (a crash between compaction and deletion).
fn open_blocks(dir: &Path) -> Result<Vec<Arc<Block>>, Error> {
    let mut blocks = Vec::new();
    for e in fs::read_dir(dir).map_err(Error::io(format!("list {}", dir.display())))? {
        let e = e.map_err(Error::io(format!("list {}", dir.display())))?;
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name == "wal" {
            continue;
        }
        if name.ends_with(".tmp") {
            fs::remove_dir_all(&path).map_err(Error::io(format!("remove {}", path.display())))?;
            continue;
        }
        if path.join("meta.json").exists() {
            blocks.push(Block::open(&path)?);
        }
    }
    let replaced: HashSet<String> = blocks
        .iter()
        .flat_map(|b| b.meta.parents.iter().cloned())
        .collect();
    let mut kept = Vec::new();
    for b in blocks {
        if replaced.contains(&b.meta.id) {
            fs::remove_dir_all(&b.dir).map_err(Error::io(format!("remove {}", b.dir.display())))?;
        } else {
            kept.push(Arc::new(b));
        }
    }
    kept.sort_by_key(|b| b.meta.min_time);
    Ok(kept)
}

/// An append batch: collect samples with [`Appender::append`], then [`Appender::commit`].
///
/// A batch is all-or-nothing. `commit` first checks every sample (limits, order, age)
/// against the head; if any is refused, nothing is written and the error counts the
/// refusals per reason. Otherwise the batch is written to the WAL as one record and fsynced,
/// then applied to the head, and only then does `commit` return `Ok`: an acknowledged batch
/// survives a crash. Dropping an appender without committing discards it.
pub struct Appender<'a> {
    db: &'a Db,
    /// Samples by series; consecutive appends to one series share an entry.
    pending: Vec<Pending>,
    /// Samples in `pending`.
    samples: usize,
    /// Samples refused for the batch-size limit.
    over_limit: u64,
}

impl Appender<'_> {
    /// Adds a sample to the batch. Fails early — and the whole batch will be refused at
    /// commit — when the batch is already at [`Limits::max_samples_per_batch`].
    pub fn append(&mut self, labels: Labels, t: i64, v: f64) -> Result<(), Error> {
        let max = self.db.opts.limits.max_samples_per_batch;
        if self.samples >= max {
            self.over_limit += 1;
            return Err(Error::Rejected(batch_size_rejection(max)));
        }
        self.samples += 1;
        match self.pending.last_mut() {
            Some(last) if last.labels == labels => last.samples.push((t, v)),
            _ => self.pending.push(Pending {
                labels,
                samples: vec![(t, v)],
            }),
        }
        Ok(())
    }

    /// Adds samples of one series to the batch, in order: the same as appending them one
    /// by one, but the labels are given (and checked against the head) once.
    pub fn append_series(
        &mut self,
        labels: Labels,
        samples: impl IntoIterator<Item = (i64, f64)>,
    ) -> Result<(), Error> {
        let samples = samples.into_iter();
        let mut entry = Pending {
            labels,
            samples: Vec::with_capacity(samples.size_hint().0),
        };
        let max = self.db.opts.limits.max_samples_per_batch;
        let mut over = 0u64;
        for (t, v) in samples {
            if self.samples + entry.samples.len() >= max {
                over += 1;
            } else {
                entry.samples.push((t, v));
            }
        }
        self.samples += entry.samples.len();
        if !entry.samples.is_empty() {
            self.pending.push(entry);
        }
        if over > 0 {
            self.over_limit += over;
            return Err(Error::Rejected(batch_size_rejection(max)));
        }
        Ok(())
    }

    /// Samples in the batch so far.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// True when nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Checks, logs (fsync) and applies the batch; returns the number of samples stored
    /// (repeats of stored samples are accepted and not counted).
    pub fn commit(self) -> Result<usize, Error> {
        self.db.commit(self.pending, self.over_limit)
    }

    /// Discards the batch.
    pub fn rollback(self) {}
}

fn batch_size_rejection(max: usize) -> Rejection {
    Rejection::from_refusals(vec![Refusal {
        reason: RefuseReason::BatchSize,
        message: format!("batch has more than max_samples_per_batch={max} samples"),
    }])
}

#[cfg(test)]
mod tests;
