//! An embedded time-series store in the style of Prometheus's TSDB: an in-memory head with
//! a write-ahead log, Gorilla (XOR) chunks, and immutable blocks on disk that are compacted
//! and expired by retention.
//!
//! It has no async runtime and no server dependency; call it from blocking threads.
//!
//! ```no_run
//! use tsdb::{Db, Labels, Matcher, Options};
//!
//! let db = Db::open("/var/lib/keiko/tsdb", Options::default())?;
//! let mut app = db.appender();
//! app.append(Labels::new([("__name__", "up"), ("job", "api")])?, 1_700_000_000_000, 1.0)?;
//! app.commit()?; // durable once this returns Ok
//! let up = db.select(&[Matcher::equal("__name__", "up")], 0, i64::MAX)?;
//! db.maintain(1_700_000_000_000)?; // periodically: head cut, compaction, retention
//! # Ok::<(), tsdb::Error>(())
//! ```
//!
//! # On-disk layout
//!
//! ```text
//! <dir>/
//!   wal/00000007             WAL segments: one checksummed record per committed batch
//!   wal/checkpoint.00000006  the live part of the segments up to 6, after a head cut
//!   <block id>/meta.json     {"ulid", "minTime", "maxTime" (exclusive), "stats", "compaction"}
//!   <block id>/index         symbol table, series with chunk references, postings
//!   <block id>/chunks        XOR or integer chunks, each with its encoding byte and a CRC32
//!   <block id>.tmp/          a block being written (removed at open if left by a crash)
//! ```
//!
//! The formats are described in the `wal`, `index` and `block` module docs (private; see
//! the source), the chunk encodings in [`chunk::xor`] and [`chunk::int`].
//!
//! # Invariants
//!
//! * **Durability on commit.** [`Appender::commit`] returns `Ok` only after the batch is
//!   written to the WAL as one record and an fsync that started after that write has
//!   finished (concurrent commits share one: group commit). A failed fsync refuses every
//!   later commit until the store is reopened. Replay at [`Db::open`] restores every
//!   acknowledged batch; a record torn by a crash fails its checksum and is cut off with
//!   everything after it (it was never acknowledged).
//! * **All-or-nothing batches.** A batch is checked in full (limits, out-of-order,
//!   duplicates, too old, too far past the clock) before anything is written; one refused sample refuses the batch,
//!   with counts per [`RefuseReason`]. Re-sending an already stored sample (same time and
//!   value bits) is accepted and not stored twice.
//! * **Immutable blocks.** A block directory is written under a `.tmp` name, fsynced and
//!   renamed into place; it is never modified. Compaction writes the merged block before
//!   deleting its parents (named in its meta, so a crash in between is repaired at open);
//!   retention deletes whole blocks, oldest first.
//! * **No overlap between head and blocks.** The head refuses samples older than
//!   `max(newest block end, head max time - block range / 2)` (`too_old`); a block range is
//!   cut from the head only once the head spans more than 1.5 ranges, so it is already out
//!   of the writable window. Queries still merge and deduplicate across sources.
//! * **Bounded memory.** Head series and labels are bounded by [`Limits`]; a query's
//!   samples by [`Limits::max_samples_per_query`]. Blocks keep their index in memory and
//!   read chunks from disk on demand.
//!
//! # Concurrency
//!
//! [`Db`] is `Send + Sync`. Commits are serialised by the WAL lock (check, write, apply)
//! and then wait for a shared fsync outside it;
//! queries take a read lock on the head only to copy the chunks they need and run beside
//! commits and [`Db::maintain`], which the server calls periodically (no thread is owned
//! here).

pub mod chunk;
mod error;
mod exemplars;
mod labels;
mod limits;
mod matcher;
mod postings;

mod block;
mod compact;
mod db;
mod encoding;
mod fsutil;
mod head;
mod index;
mod retention;
mod wal;

pub use block::BlockMeta;
pub use chunk::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
pub use db::{Appender, Db, MaintainReport, Options, SeriesData, Stats, TWO_HOURS_MS};
pub use error::{Error, Refusal, RefuseReason, Rejection};
pub use exemplars::{Exemplar, ExemplarRefusal, Exemplars};
pub use labels::{valid_label_name, Labels, METRIC_NAME};
pub use limits::Limits;
pub use matcher::{matches_all, MatchOp, Matcher};
pub use wal::ReplayReport;
