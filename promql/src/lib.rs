//! A PromQL evaluator over `promql-parser`'s syntax tree, independent of any storage.
//!
//! The engine ([`Engine`]) reads series through the [`Queryable`] trait and evaluates
//! instant and range queries with Prometheus 3's semantics for float samples: every
//! operator, aggregation and function, `offset`, `@`, subqueries, lookback delta and stale
//! markers, and the late removal of `__name__`. Native histograms are not supported.
//!
//! [`promqltest`] reads Prometheus's own test scripts, which the conformance test runs.

mod aggregate;
mod binary;
pub mod engine;
pub mod error;
mod eval;
mod functions;
mod hash;
pub mod promqltest;
mod stats;
pub mod storage;
pub mod value;

pub use engine::{parse_query, Engine, EngineOptions};
pub use error::{ErrorKind, QueryError};
pub use storage::{LabelMatcher, MemStorage, Queryable};
pub use value::{Labels, QueryResult, Sample, Series, Value};
