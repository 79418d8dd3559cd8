//! Immutable blocks: one file per block, columnar and compressed.
//!
//! # Layout
//!
//! ```text
//! <store>/blocks/<id>.blk:
//!   "KLSB" | version u8 (3; 1 and 2 are read too)
//!   section*                       each zstd-compressed on its own
//!   directory                      uncompressed (see below)
//!   dir_len: u32 LE | crc32(directory): u32 LE | "KLSB"
//!
//! directory := uvarint rows | varint min_time | varint max_time | uvarint min_seq
//!   | uvarint max_seq | bytes schema
//!   | ref times | ref seqs | ref column*  (one per schema column)
//!   | uvarint #attrs | (bytes name | ref)*
//!   | uvarint #body_frames | ref* | ref token_dict | uvarint #postings_frames | ref*
//!   | bloom body_tokens | bloom ids
//!   | uvarint #summaries | summary*             (version 2 only)
//!   | uvarint #int_bounds | (uvarint column | varint min | varint max)*   (version 2 on)
//!   | uvarint #row_frames | ref*                                         (version 3 on)
//!   | uvarint #id_indexes | (uvarint column | uvarint #frames | (bytes first_value | ref)*)*
//!                                                                        (version 3 on)
//! ref := uvarint offset | uvarint len | uvarint raw_len | u32 LE crc32(compressed)
//! summary := uvarint kind (0 column, 1 attribute) | uvarint index (column, or position
//!   in the attribute list) | uvarint #values | (bytes value | varint min_time | varint max_time)*
//! row_frame := times | seqs | column* (one per schema column)
//!   | uvarint #attrs | (uvarint attr_position | value*)*
//!   for its n rows (ROW_FRAME_ROWS, the last frame fewer), each part n entries:
//!   times := varint first | uvarint delta*    seqs := varint delta* (from 0)
//!   column := Int/Severity: varint* (i64::MIN = absent) | string: value*
//!   attributes: those with a value in the frame, positions ascending
//! value := uvarint 0 (absent) or len + 1, then the bytes
//! id_frame := (bytes value | uvarint #rows | uvarint row_delta*)*
//!   values ascending, a frame cut once it holds ID_FRAME_BYTES raw
//! ```
//!
//! Rows are sorted by `(time, seq)`. Sections: `times` (first time, then deltas), `seqs`
//! (zigzag deltas), an `Int`/`Severity` column (zigzag per row, `i64::MIN` = absent), a
//! string column or attribute (dictionary | row deltas | ids: only rows with a value), body
//! frames of [`FRAME_ROWS`] rows (length-prefixed bodies), the token dictionary (sorted
//! tokens with the frame, offset and length of their postings) and postings frames (row
//! deltas per token). The directory, with both bloom filters, stays in memory while the
//! block is open; sections are read and decoded on demand and kept in the store's cache.
//!
//! Version 2 adds value summaries to the directory: for every string column and attribute
//! with at most [`SUMMARY_VALUES`] distinct values of at most [`SUMMARY_VALUE_BYTES`] bytes
//! (and [`SUMMARY_BYTES`] per block in all), each value with the time range of its rows, and the min/max of every `Int` column. A query then skips a block (or bounds the
//! times it can match in it) from the directory alone: `service:api` in a block whose
//! `api` rows all lie an hour back, or whose dictionary has no `api`. Version 1 blocks
//! (without summaries) stay readable; their queries only skip less.
//!
//! Version 3 adds two families of sections, so that reading one record or the rows of one
//! id reads a few small sections instead of whole columns (the existing sections are
//! unchanged, and search, counts and facets read them as before):
//! - **row frames**: every row again, [`ROW_FRAME_ROWS`] to a frame, with its time, seq,
//!   every column value and its attributes (bodies stay in the body frames), laid out by
//!   field within the frame and turned into rows when loaded. A record is read from one
//!   row frame and one body frame; the `(time, seq)` of a few rows likewise.
//! - **id indexes**: for each `Id` column whose values repeat (at most half as many
//!   distinct values as rows that have one: `trace_id`, `parent_id`, not the unique
//!   `span_id`), its values in ascending order, each with its rows, in frames of about
//!   [`ID_FRAME_BYTES`]; the directory holds each frame's first value, so an exact lookup
//!   reads one frame.
//!
//! Version 1 and 2 blocks stay readable (their records come from the whole columns as
//! before). An older binary refuses a version 3 block ("bad header or version"): once a
//! store has written one there is no going back to an older release.
//!
//! A block is written under `<id>.tmp`, fsynced, renamed into place and the directory
//! fsynced; it is never modified after, only deleted by retention.

mod id_index;
mod read;
mod rows;
mod write;

pub(crate) use read::Block;
pub(crate) use write::write_block;

pub(crate) const MAGIC: &[u8; 4] = b"KLSB";
pub(crate) const VERSION: u8 = 3;
/// Columns and attributes with at most this many distinct values in a block get a value
/// summary in its directory.
pub(crate) const SUMMARY_VALUES: usize = 64;
/// A column or attribute with a value longer than this gets no summary (summaries stay in
/// memory with the directory while the block is open).
pub(crate) const SUMMARY_VALUE_BYTES: usize = 128;
/// The summaries of one block hold at most this many bytes in all (each value's bytes and
/// its entry); columns are summarised first, then attributes in order, until the budget is
/// spent.
pub(crate) const SUMMARY_BYTES: usize = 64 << 10;
/// Rows per body frame: a page of results decompresses only the frames it touches.
pub(crate) const FRAME_ROWS: usize = 4096;
/// Raw bytes per postings frame.
pub(crate) const POSTINGS_FRAME_BYTES: usize = 256 << 10;
/// Rows per row frame (version 3): a record reads one, a short trace usually one too.
pub(crate) const ROW_FRAME_ROWS: usize = 1024;
/// Raw bytes at which an id index frame is cut (version 3).
pub(crate) const ID_FRAME_BYTES: usize = 32 << 10;

/// Where a section lies in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SectionRef {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) raw_len: u64,
    pub(crate) crc: u32,
}

/// What a block's directory says, kept in memory.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Directory {
    pub(crate) rows: usize,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) min_seq: u64,
    pub(crate) max_seq: u64,
    pub(crate) schema: String,
    pub(crate) times: SectionRef,
    pub(crate) seqs: SectionRef,
    pub(crate) columns: Vec<SectionRef>,
    pub(crate) attributes: Vec<(String, SectionRef)>,
    pub(crate) body_frames: Vec<SectionRef>,
    pub(crate) token_dict: SectionRef,
    pub(crate) postings_frames: Vec<SectionRef>,
    pub(crate) token_bloom: crate::bloom::Bloom,
    pub(crate) id_bloom: crate::bloom::Bloom,
    /// Value summaries of the low-cardinality string columns and attributes (version 2).
    pub(crate) summaries: Vec<(SummaryKey, Vec<ValueRange>)>,
    /// `(column, min, max)` of the `Int` columns that have values (version 2).
    pub(crate) int_bounds: Vec<(usize, i64, i64)>,
    /// Row frames, [`ROW_FRAME_ROWS`] rows each (version 3; empty before).
    pub(crate) row_frames: Vec<SectionRef>,
    /// Per indexed `Id` column, its id index frames with the first value of each (version
    /// 3; empty before).
    pub(crate) id_index: Vec<(usize, IdFrames)>,
}

/// The frames of one column's id index, each with its first value, values ascending.
pub(crate) type IdFrames = Vec<(String, SectionRef)>;

/// What a value summary describes: a schema column or an attribute (by its position in
/// [`Directory::attributes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SummaryKey {
    Column(usize),
    Attribute(usize),
}

pub(crate) use crate::columns::ValueRange;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod v3_tests;
