//! Prometheus scraping without I/O: exposition parsers, `scrape_configs`, relabeling.
//!
//! The server owns the sockets, the clock and the store; this crate owns the rules:
//!
//! * [`parse`] reads a scrape body (Prometheus text 0.0.4 or OpenMetrics 1.0, chosen
//!   by `Content-Type`) into [`ScrapedSample`]s and [`MetricMetadata`], within
//!   [`Limits`].
//! * [`ScrapeConfigFile::from_yaml`] reads and validates `scrape_configs` in
//!   Prometheus's YAML shape.
//! * [`relabel::process`] applies `relabel_configs` exactly as Prometheus does.
//! * [`targets`] turns a configuration into the [`Target`]s to scrape, and
//!   [`process_scrape`] turns one scrape of a target into the samples to store:
//!   target labels, `honor_labels`, `metric_relabel_configs`, limits, the synthetic
//!   `up` / `scrape_*` series and staleness markers.
//!
//! ```
//! use std::time::Duration;
//! use scrape::{process_scrape, targets, Scrape, ScrapeConfigFile, ScrapeResponse, SeriesSet};
//!
//! let config = ScrapeConfigFile::from_yaml(
//!     "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['localhost:9100']}]\n",
//! )?;
//! let target = &targets(&config)[0];
//! assert_eq!(target.url, "http://localhost:9100/metrics");
//!
//! // The server fetches target.url (Accept: scrape::Format::ACCEPT_HEADER) and hands over
//! // the response; the outcome's samples go to the store, its series to the next scrape.
//! let scrape = Scrape {
//!     timestamp_ms: 1_700_000_000_000,
//!     duration: Duration::from_millis(12),
//!     response: ScrapeResponse::Body { content_type: Some("text/plain"), body: b"node_load1 0.5\n" },
//! };
//! let outcome = process_scrape(target, scrape, &SeriesSet::new());
//! assert!(outcome.is_up());
//! assert_eq!(outcome.samples.len(), 1);
//! let _next_previous = outcome.series.clone();
//! let to_store = outcome.into_samples(); // scraped + up/scrape_* + staleness markers
//! assert_eq!(to_store.len(), 6);
//! # Ok::<(), scrape::ConfigError>(())
//! ```

pub mod config;
pub mod duration;
pub mod exposition;
pub mod labels;
mod lex;
mod md5;
pub mod openmetrics;
pub mod outcome;
pub mod relabel;
pub mod staleness;
pub mod target;
pub mod text;
pub mod tls;

pub use config::{ConfigError, ScrapeConfig, ScrapeConfigFile, Secret};
pub use duration::PromDuration;
pub use exposition::{
    parse, parse_with, Format, Limit, Limits, MetricMetadata, MetricType, ParseError,
    ParseErrorKind, ParseOptions, Parsed, ScrapedExemplar, ScrapedSample,
};
pub use labels::Labels;
pub use outcome::{
    end_of_run_markers, process_scrape, Exemplar, Outcome, Sample, Scrape, ScrapeError,
    ScrapeResponse,
};
pub use relabel::{RelabelConfig, RelabelRegex};
pub use staleness::{disappeared, is_stale_nan, stale_nan, SeriesSet, STALE_NAN_BITS};
pub use target::{resolve_targets, targets, Auth, Target, TargetSet};
pub use tls::TlsConfig;
