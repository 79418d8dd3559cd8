//! The embedded metrics store: the `tsdb` crate's store on disk under the data directory,
//! queried with the `promql` crate's engine, both called on bounded blocking pools
//! ([`cpu::QUERIES`], [`cpu::INGEST`]). It is a [`MetricsSource`] like any other (see
//! `sources::embedded`), served as Prometheus's HTTP API under `/prometheus/api/v1/`, and
//! filled by scraping and pushes (remote-write, OTLP).
//!
//! [`MetricsSource`]: crate::sources::MetricsSource

mod exemplars;
pub mod exposition;
pub mod forward;
pub mod json;
pub mod params;
pub mod push;
pub mod queryable;
pub mod scraper;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cpu;

/// A query failure in Prometheus's terms: `kind` is its `errorType`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryFailure {
    pub kind: &'static str,
    pub message: String,
}

impl QueryFailure {
    pub fn bad_data(message: impl Into<String>) -> Self {
        QueryFailure {
            kind: "bad_data",
            message: message.into(),
        }
    }

    fn busy() -> Self {
        QueryFailure {
            kind: "unavailable",
            message: cpu::Busy.to_string(),
        }
    }
}

impl From<promql::QueryError> for QueryFailure {
    fn from(e: promql::QueryError) -> Self {
        QueryFailure {
            kind: e.kind.as_str(),
            message: e.message,
        }
    }
}

/// A query's result with the annotations Prometheus puts beside it. The HTTP API writes
/// the result straight to JSON ([`json::write_success`]); in-process callers ask for [`Answer::data`].
#[derive(Debug)]
pub struct Answer {
    pub value: promql::Value,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Answer {
    /// `data` of the answer as Prometheus's API shapes it, as a JSON tree.
    pub fn data(&self) -> Value {
        json::data(&self.value)
    }
}

/// Settings of the embedded store (from the portal's config).
#[derive(Clone, Debug)]
pub struct Settings {
    pub retention: Duration,
    pub retention_bytes: Option<u64>,
    pub query_timeout: Duration,
    pub max_samples: usize,
    pub max_series: usize,
    pub max_series_per_metric: usize,
}

impl Settings {
    /// The settings the portal's configuration gives; the rest are the defaults.
    pub fn from_config(config: &crate::config::Config) -> Settings {
        Settings {
            retention: Duration::from_secs(config.metrics_retention_days * 86_400),
            retention_bytes: config.metrics_retention_bytes,
            ..Default::default()
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retention: Duration::from_secs(15 * 24 * 3600),
            retention_bytes: None,
            query_timeout: Duration::from_secs(30),
            max_samples: 50_000_000,
            max_series: 1_000_000,
            max_series_per_metric: 100_000,
        }
    }
}

pub struct EmbeddedStore {
    db: tsdb::Db,
    engine: promql::Engine,
    /// `# TYPE`/`# HELP`/`# UNIT` per metric family, as scrapes and pushes report them.
    metadata: std::sync::RwLock<std::collections::BTreeMap<String, Metadata>>,
    /// Where committed samples are also sent (remote_write), when configured.
    forwarder: std::sync::OnceLock<Arc<forward::Forwarder>>,
    /// Exemplars from pushes (`exemplars.rs`), in memory and bounded.
    exemplars: tsdb::Exemplars,
}

/// What a metric family is, for `/api/v1/metadata`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Metadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub help: String,
    pub unit: String,
}

/// Families whose metadata is kept; more are not recorded (bounded memory).
const MAX_METADATA: usize = 20_000;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl EmbeddedStore {
    /// Opens (or creates) the store under `dir`, replaying its write-ahead log.
    pub fn open(dir: &Path, settings: &Settings) -> Result<Arc<EmbeddedStore>, tsdb::Error> {
        let mut options = tsdb::Options {
            retention_ms: Some(settings.retention.as_millis() as i64),
            retention_bytes: settings.retention_bytes,
            ..Default::default()
        };
        options.limits.max_series = settings.max_series;
        options.limits.max_series_per_metric = settings.max_series_per_metric;
        let db = tsdb::Db::open(dir, options)?;
        let engine = promql::Engine::new(promql::EngineOptions {
            max_samples: settings.max_samples,
            timeout: Some(settings.query_timeout),
            ..Default::default()
        });
        Ok(Arc::new(EmbeddedStore {
            db,
            engine,
            metadata: Default::default(),
            forwarder: Default::default(),
            exemplars: Default::default(),
        }))
    }

    /// Remembers what families are (the latest report wins).
    pub fn record_metadata(&self, entries: impl IntoIterator<Item = (String, Metadata)>) {
        let Ok(mut map) = self.metadata.write() else {
            return;
        };
        for (family, meta) in entries {
            if map.len() < MAX_METADATA || map.contains_key(&family) {
                map.insert(family, meta);
            }
        }
    }

    /// `/api/v1/metadata`'s `data`: family → list of metadata.
    pub fn metadata(&self) -> Value {
        let Ok(map) = self.metadata.read() else {
            return json!({});
        };
        Value::Object(map.iter().map(|(k, m)| (k.clone(), json!([m]))).collect())
    }

    /// Sends every committed batch on to remote-write receivers from now on.
    pub fn forward_to(&self, forwarder: Arc<forward::Forwarder>) {
        let _ = self.forwarder.set(forwarder);
    }

    pub fn db(&self) -> &tsdb::Db {
        &self.db
    }

    /// An instant query at `t_ms`.
    pub async fn instant(
        self: &Arc<Self>,
        query: String,
        t_ms: i64,
    ) -> Result<Answer, QueryFailure> {
        let me = self.clone();
        let result = cpu::QUERIES
            .run(move || {
                me.engine
                    .instant_query(&queryable::Store(&me.db), &query, t_ms)
            })
            .await
            .map_err(|_| QueryFailure::busy())??;
        Ok(answer(result))
    }

    /// A range query from `start_ms` to `end_ms` every `step_ms`, as Prometheus aligns it.
    pub async fn range(
        self: &Arc<Self>,
        query: String,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Answer, QueryFailure> {
        if end_ms < start_ms {
            return Err(QueryFailure::bad_data(
                "end timestamp must not be before start time",
            ));
        }
        // Prometheus's limit: at most 11,000 points per series.
        if step_ms > 0 && (end_ms - start_ms) / step_ms > 11_000 {
            return Err(QueryFailure::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        let me = self.clone();
        let result = cpu::QUERIES
            .run(move || {
                me.engine
                    .range_query(&queryable::Store(&me.db), &query, start_ms, end_ms, step_ms)
            })
            .await
            .map_err(|_| QueryFailure::busy())??;
        Ok(answer(result))
    }

    /// Runs `job` with the matchers of every `match[]` selector (none: every series).
    async fn with_selectors<T: Send + 'static>(
        self: &Arc<Self>,
        selectors: Vec<String>,
        job: impl FnOnce(&tsdb::Db, Vec<Vec<tsdb::Matcher>>) -> Result<T, tsdb::Error> + Send + 'static,
    ) -> Result<T, QueryFailure> {
        let sets = selectors
            .iter()
            .map(|s| selector_matchers(s))
            .collect::<Result<Vec<_>, _>>()?;
        let me = self.clone();
        cpu::QUERIES
            .run(move || job(&me.db, sets))
            .await
            .map_err(|_| QueryFailure::busy())?
            .map_err(|e| QueryFailure {
                kind: "execution",
                message: e.to_string(),
            })
    }

    /// `/api/v1/series`: the label sets the selectors match between the times.
    pub async fn series(
        self: &Arc<Self>,
        selectors: Vec<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Value, QueryFailure> {
        if selectors.is_empty() {
            return Err(QueryFailure::bad_data("no match[] parameter provided"));
        }
        self.with_selectors(selectors, move |db, sets| {
            let mut seen = BTreeSet::new();
            for m in &sets {
                for labels in db.series(m, start_ms, end_ms)? {
                    seen.insert(
                        labels
                            .iter()
                            .map(|(n, v)| (n.to_owned(), v.to_owned()))
                            .collect::<Vec<_>>(),
                    );
                }
            }
            Ok(json!(seen
                .into_iter()
                .map(|l| {
                    l.into_iter()
                        .map(|(n, v)| (n, Value::String(v)))
                        .collect::<serde_json::Map<_, _>>()
                })
                .collect::<Vec<_>>()))
        })
        .await
    }

    /// `/api/v1/labels`: label names, of the selected series when selectors are given.
    pub async fn label_names(
        self: &Arc<Self>,
        selectors: Vec<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Value, QueryFailure> {
        self.with_selectors(selectors, move |db, sets| {
            let mut names = BTreeSet::new();
            if sets.is_empty() {
                names.extend(db.label_names(&[], start_ms, end_ms)?);
            }
            for m in &sets {
                names.extend(db.label_names(m, start_ms, end_ms)?);
            }
            Ok(json!(names))
        })
        .await
    }

    /// `/api/v1/label/{name}/values`.
    pub async fn label_values(
        self: &Arc<Self>,
        name: String,
        selectors: Vec<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Value, QueryFailure> {
        self.with_selectors(selectors, move |db, sets| {
            let mut values = BTreeSet::new();
            if sets.is_empty() {
                values.extend(db.label_values(&name, &[], start_ms, end_ms)?);
            }
            for m in &sets {
                values.extend(db.label_values(&name, m, start_ms, end_ms)?);
            }
            Ok(json!(values))
        })
        .await
    }

    /// Writes samples as one all-or-nothing batch; durable when this returns `Ok`.
    pub async fn append(
        self: &Arc<Self>,
        samples: Vec<(LabelPairs, i64, f64)>,
    ) -> Result<usize, AppendFailure> {
        self.append_series(per_series(samples)).await
    }

    /// Writes samples given per series (labels once, then `(t_ms, value)` in order) as one
    /// all-or-nothing batch; durable when this returns `Ok`. The same as [`Self::append`]
    /// with each sample's labels, without building and looking up a label set per sample.
    pub async fn append_series(
        self: &Arc<Self>,
        series: Vec<SeriesPoints>,
    ) -> Result<usize, AppendFailure> {
        let me = self.clone();
        cpu::INGEST
            .run(move || {
                let forward = me.forwarder.get();
                let copy = forward.map(|_| {
                    series
                        .iter()
                        .flat_map(|(labels, points)| {
                            points.iter().map(|&(t, v)| (labels.clone(), t, v))
                        })
                        .collect::<Vec<_>>()
                });
                let mut app = me.db.appender();
                for (labels, points) in series {
                    let labels = tsdb::Labels::new(labels).map_err(AppendFailure::Refused)?;
                    app.append_series(labels, points)
                        .map_err(AppendFailure::Refused)?;
                }
                let stored = app.commit().map_err(AppendFailure::Refused)?;
                // Only what the store acknowledged goes on.
                if let (Some(f), Some(copy)) = (forward, copy) {
                    f.enqueue_owned(copy);
                }
                Ok(stored)
            })
            .await
            .map_err(|_| AppendFailure::Busy)?
    }

    /// Head cut, compaction and retention every minute, on a blocking thread, until the
    /// process ends. Failures are logged and counted by the store's stats.
    pub fn spawn_maintenance(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let store = me.clone();
                let done = tokio::task::spawn_blocking(move || store.db.maintain(now_ms())).await;
                match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        tracing::warn!(error = %err, error_type = "TsdbMaintenance", "Embedded store maintenance failed")
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, error_type = "TsdbMaintenance", "Embedded store maintenance stopped")
                    }
                }
            }
        });
    }
}

/// A series' labels as `(name, value)` pairs, `__name__` included, in any order.
pub type LabelPairs = Vec<(String, String)>;

/// One series' samples: its labels, then `(t_ms, value)` in the order to append.
pub type SeriesPoints = (LabelPairs, Vec<(i64, f64)>);

/// Samples each with its labels as runs per series: consecutive samples with the same
/// labels share one entry (order kept, so appending the runs is appending the samples).
pub fn per_series(samples: impl IntoIterator<Item = (LabelPairs, i64, f64)>) -> Vec<SeriesPoints> {
    let mut out: Vec<SeriesPoints> = Vec::new();
    for (labels, t, v) in samples {
        match out.last_mut() {
            Some((last, points)) if *last == labels => points.push((t, v)),
            _ => out.push((labels, vec![(t, v)])),
        }
    }
    out
}

/// Why samples were not written.
#[derive(Debug)]
pub enum AppendFailure {
    /// The batch was refused whole (limits, out-of-order, bad labels) or could not be
    /// written; nothing of it is stored.
    Refused(tsdb::Error),
    Busy,
}

fn answer(r: promql::QueryResult) -> Answer {
    Answer {
        value: r.value,
        warnings: r.warnings,
        infos: r.infos,
    }
}

/// The matchers of a series selector such as `up{job="api"}` (as `match[]` takes them).
pub fn selector_matchers(selector: &str) -> Result<Vec<tsdb::Matcher>, QueryFailure> {
    crate::promql_syntax::check_limits(selector).map_err(|e| {
        QueryFailure::bad_data(format!("invalid parameter \"match[]\": {}", e.message))
    })?;
    let expr = promql_parser::parser::parse(selector)
        .map_err(|e| QueryFailure::bad_data(format!("invalid parameter \"match[]\": {e}")))?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(QueryFailure::bad_data(format!(
            "invalid parameter \"match[]\": `{selector}` is not a series selector"
        )));
    };
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(tsdb::Matcher::equal("__name__", name.clone()));
    }
    for m in vs.matchers.matchers.iter() {
        out.push(queryable::store_matcher(m)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(name: &str) -> LabelPairs {
        vec![("__name__".to_owned(), name.to_owned())]
    }

    #[test]
    fn per_series_groups_runs_and_keeps_order() {
        let runs = per_series([
            (l("a"), 1, 1.0),
            (l("a"), 2, 2.0),
            (l("b"), 1, 3.0),
            (l("a"), 3, 4.0),
        ]);
        assert_eq!(
            runs,
            vec![
                (l("a"), vec![(1, 1.0), (2, 2.0)]),
                (l("b"), vec![(1, 3.0)]),
                (l("a"), vec![(3, 4.0)]),
            ]
        );
        assert!(per_series([]).is_empty());
    }
}
