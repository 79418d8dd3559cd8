//! A PromQL evaluator over `promql-parser`'s syntax tree, independent of any storage.
//!
//! The engine ([`Engine`]) reads series through the [`Queryable`] trait and evaluates
//! instant and range queries with Prometheus 3's semantics: every
//! operator, aggregation and function, `offset`, `@`, subqueries, lookback delta and stale
//! markers, and the late removal of `__name__`, for float samples and native histograms
//! ([`histogram`]).
//!
//! [`promqltest`] reads Prometheus's own test scripts, which the conformance test runs.
//!
//! ```
//! use promql::{Engine, Labels, MemStorage, Value};
//!
//! let mut store = MemStorage::new();
//! let up = Labels::new([("__name__", "up"), ("job", "api")]);
//! for i in 0..10 {
//!     store.add_sample(&up, i * 15_000, 1.0);
//! }
//! let engine = Engine::default();
//! let res = engine.instant_query(&store, "sum by (job) (up)", 120_000).unwrap();
//! let Value::Vector(v) = res.value else { unreachable!() };
//! assert_eq!((v[0].labels.get("job"), v[0].v), (Some("api"), 1.0));
//!
//! // A range query: every step from start to end, as Prometheus's query_range.
//! let res = engine.range_query(&store, "up", 0, 60_000, 15_000).unwrap();
//! let Value::Matrix(m) = res.value else { unreachable!() };
//! assert_eq!(m[0].samples.len(), 5);
//!
//! // Failures carry Prometheus's error kind for the HTTP API.
//! let err = engine.instant_query(&store, "sum(", 0).unwrap_err();
//! assert_eq!(err.kind.as_str(), "bad_data");
//! ```

mod aggregate;
mod binary;
pub mod engine;
pub mod error;
mod eval;
mod functions;
mod hash;
pub mod histogram;
pub mod promqltest;
mod stats;
pub mod storage;
pub mod value;

pub use engine::{parse_query, Engine, EngineOptions};
pub use error::{ErrorKind, QueryError};
pub use histogram::FloatHistogram;
pub use storage::{LabelMatcher, MemStorage, Queryable};
pub use value::{HistogramSeries, Labels, QueryResult, Sample, Series, Value};
