//! An embedded time-series store: in-memory head with a write-ahead log, XOR chunks, blocks.
#![allow(dead_code)] // Until `db.rs` (next commit) uses every module.

pub mod chunk;
mod error;
mod labels;
mod limits;
mod matcher;
mod postings;

pub use chunk::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
pub use error::{Error, Refusal, RefuseReason, Rejection};
pub use labels::{valid_label_name, Labels, METRIC_NAME};
pub use limits::Limits;
pub use matcher::{MatchOp, Matcher};
mod encoding;
mod fsutil;
mod wal;
pub use wal::ReplayReport;
mod head;
