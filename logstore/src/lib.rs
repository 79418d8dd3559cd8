//! An embedded store for log records (and, with another [`Schema`], spans): an append-only
//! write-ahead log, a head cut into immutable, compressed, columnar blocks with per-block
//! dictionaries, token index and bloom filters, retention by age and size, and a query
//! language close to Kibana's KQL and Quickwit's.
//!
//! It has no async runtime and no server dependency; call it from blocking threads.
//!
//! ```
//! use logstore::{parse, LogColumn, Options, Record, Schema, Store, TimeRange, severity};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), Schema::logs(), Options::default())?;
//! let t = 1_700_000_000_000_000_000; // Unix nanoseconds
//! store.append(&[
//!     Record::log(t, severity::INFO, "api", "Request completed in 12 ms")
//!         .with(LogColumn::CorrelationId, "9f1c")
//!         .attr("logger", "keiko.request"),
//!     Record::log(t + 1, severity::ERROR, "api", "Timeout calling payment-service")
//!         .with(LogColumn::CorrelationId, "9f1c")
//!         .attr("exception.type", "TimeoutError"),
//! ])?; // durable once this returns Ok
//! let q = parse(r#"level:>=WARNING AND "payment-service" AND correlation_id:9f1c"#)?;
//! let page = store.search(&q, TimeRange::all(), 100, None)?;
//! assert_eq!(page.hits.len(), 1);
//! assert_eq!(page.hits[0].record.attribute("exception.type"), Some("TimeoutError"));
//! store.maintain(t)?; // periodically: head cut, retention
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Query language
//!
//! | query | matches records |
//! |---|---|
//! | `timeout` | whose body holds the word (case-insensitive; words are runs of letters, digits, `_`) |
//! | `"connection refused"` | whose body holds the words in this order, adjacent |
//! | `time*`, `pay?ent` | whose body has a word matching the wildcard (`*` any run, `?` one char) |
//! | `service:api` | whose `service` column is exactly `api` (case-sensitive) |
//! | `service:pay*` | whose `service` matches the wildcard |
//! | `logger:"keiko.request"` | whose attribute `logger` is that value |
//! | `exception.message:timeout` | whose attribute equals the word or holds it as a word |
//! | `message:timeout`, `body:"…"` | the same as the bare word or phrase |
//! | `level:ERROR` | severity in ERROR's band (ERROR…ERROR4, OTel 17–20) |
//! | `level:>=WARNING` | WARNING and above; order TRACE < DEBUG < INFO < WARNING < ERROR < CRITICAL; OTel names (`WARN`, `FATAL`) and numbers 1–24 too |
//! | `line:>=100`, `duration:<5` | numeric comparison (`>`, `>=`, `<`, `<=`); on a non-numeric bound, text order |
//! | `time:>=1700000000000000000` | record time in Unix nanoseconds |
//! | `user_id:*` | that have the field |
//! | `a AND b`, `a b` | both (juxtaposition is AND) |
//! | `a OR b` | either; AND binds tighter: `a OR b c` is `a OR (b AND c)` |
//! | `NOT a` | not matching `a` (also records without the field) |
//! | `(a OR b) AND NOT c` | grouping |
//! | `level:(ERROR OR CRITICAL)` | a group of values for one field |
//! | `correlation_id:9f1c…`, `trace_id:…` | plain fields (`Id` columns: exact match, bloom-filtered) |
//! | empty, `*` | everything |
//!
//! `AND`, `OR`, `NOT` are keywords in any case; quote them (`"and"`) or escape a character
//! (`\and`) to search for the word. `\` escapes the next character in words and phrases.
//! Field names are letters, digits, `_`, `.`, `@`, `-`; a word followed directly by `:` is a
//! field. Errors name the byte position and what was expected:
//!
//! ```
//! let e = logstore::parse("level:>= AND x").unwrap_err();
//! assert_eq!(e.to_string(), "at byte 9: expected a value to compare `level` with, found `AND`");
//! ```
//!
//! Queries are bounded ([`query::MAX_QUERY_BYTES`], [`query::MAX_DEPTH`] levels, 1024 terms).
//!
//! # Reading
//!
//! [`Store::search`] returns the newest matches in a time range, a page at a time with a
//! [`Cursor`]; [`Store::count`], [`Store::histogram`] (counts per interval by level),
//! [`Store::fields`] and [`Store::field_values`] (facets) evaluate the same queries.
//! Segments whose time range misses the query's, or whose bloom filters rule out a body
//! word or an `Id` value, are skipped without reading them; so are blocks whose value
//! summaries (each value of a low-cardinality column with the time range of its rows, the
//! bounds of `Int` columns) rule the query out, or put all its matches below a full page.
//!
//! # On-disk layout
//!
//! ```text
//! <dir>/lock                    flock: one process at a time
//! <dir>/wal/00000003            WAL segments (see the `wal` module)
//! <dir>/catalog.db              the blocks in the store, SQLite in WAL mode (see the
//!                               `catalog` module; `catalog.db-wal` beside it)
//! <dir>/blocks/<id>.blk         one block (see the `block` module)
//! ```
//!
//! # Invariants
//!
//! * **Durability on append.** [`Store::append`] returns `Ok` only after the batch is in the
//!   WAL as one checksummed record and an fsync that started after that write finished
//!   (concurrent appends share one: group commit); a failed fsync refuses every later
//!   append until the store is reopened. Replay at [`Store::open`] restores every
//!   acknowledged batch, and cuts a torn tail (never acknowledged). A batch is visible to
//!   queries from its WAL write, a moment before it is acknowledged.
//! * **All-or-nothing batches.** A batch is checked in full against [`Limits`] and the
//!   schema before anything is written; one bad record refuses the batch, naming it.
//! * **Immutable blocks.** A block file is written under a temporary name, fsynced, renamed
//!   into place, then its catalog row is committed (SQLite, `synchronous = FULL`); only
//!   then are the WAL segments it came from deleted. Sequence numbers make replay skip
//!   records already in a block, and a block file no row names is deleted at open, so a
//!   crash at any step neither loses nor doubles a record.
//! * **Whole blocks expire.** Retention drops whole blocks, oldest first, by age and by
//!   total size; the head is never dropped. A drop deletes the catalog rows first, then
//!   the files.
//! * **Bounded work.** Batches, records and query results are bounded by [`Limits`];
//!   decoded block sections by [`Options::cache_bytes`].

mod bitset;
mod block;
mod bloom;
mod cache;
mod catalog;
mod columns;
mod error;
mod fsutil;
mod head;
mod limits;
pub mod query;
mod retention;
mod schema;
pub mod severity;
mod stop;
mod store;
mod tokens;
mod varint;
mod wal;

pub use catalog::BlockInfo;
pub use error::{Error, LimitExceeded};
/// The seeded fast hasher of the engine's in-memory maps, for callers keeping maps on the
/// same hot path.
pub use foldhash::fast::RandomState as FastHasher;
pub use limits::Limits;
pub use query::{parse, ParseError, Query};
pub use schema::{Column, ColumnKind, LogColumn, Record, Schema, Value};
pub use stop::Stop;
pub use store::{
    Cursor, FieldCount, Histogram, Hit, MaintainReport, Options, Page, Stats, Store, TimeRange,
    Written,
};
pub use wal::ReplayReport;
