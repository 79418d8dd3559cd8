//! Alerting: every stored rule group evaluated at its interval against its data source, as
//! Prometheus's rule manager does it. `manager.rs` schedules the groups (aligned evaluation
//! times, a concurrency limit, missed iterations) and follows the stored groups;
//! `group.rs` evaluates one group; `eval.rs` turns a result into alerts and series;
//! `state.rs` moves alerts from pending to firing to resolved; `template/` executes Go
//! templates; `persist.rs` keeps active alerts in SQLite across restarts; `views.rs`
//! answers Prometheus's `/api/v1/rules` and `/api/v1/alerts` shapes; `metrics.rs` the
//! `keiko_rule_*` figures; `promtool.rs` rule unit tests in promtool's format;
//! `backtest.rs` a rule run over a past range of its source; `history.rs` every alert's
//! state changes per rule, bounded by age and count.

pub mod backtest;
pub mod dispatch_sim;
pub mod eval;
pub mod group;
pub mod history;
pub mod manager;
pub mod metrics;
pub mod persist;
pub mod promtool;
pub mod state;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;

pub use manager::Manager;

use crate::embedded::EmbeddedStore;
use crate::sources::registry::SourceRegistry;
use crate::sources::MetricsSource;

/// Bounds and defaults of evaluation.
#[derive(Clone, Debug)]
pub struct Options {
    /// A group without `interval` is evaluated this often (Prometheus's default: 1m).
    pub default_interval: Duration,
    /// Each rule query may take this long.
    pub query_timeout: Duration,
    /// Groups evaluated at the same time, at most.
    pub concurrency: usize,
    /// Alerts one rule may hold (a group's `limit` may ask for fewer).
    pub max_alerts_per_rule: usize,
    /// How often the stored groups are compared with the running ones.
    pub sync_every: Duration,
    /// Alerts last seen longer ago than this before a restart start over (Prometheus's
    /// `--rules.alert.for-outage-tolerance`).
    pub outage_tolerance: Duration,
    /// A restored pending alert gets at least this long to fire (Prometheus's
    /// `--rules.alert.for-grace-period`).
    pub for_grace_period: Duration,
    /// How much per-rule state history is kept.
    pub history: history::Retention,
}

impl Options {
    /// The bounds the portal's configuration sets.
    pub fn from_config(config: &crate::config::Config) -> Options {
        Options {
            default_interval: Duration::from_secs(config.rule_evaluation_interval_secs),
            query_timeout: Duration::from_secs(config.rule_query_timeout_secs),
            concurrency: config.rule_concurrency,
            max_alerts_per_rule: config.rule_max_alerts,
            history: history::Retention {
                max_age_ms: (config.alert_history_days.saturating_mul(86_400_000)) as i64,
                max_per_rule: config.alert_history_per_rule,
            },
            ..Default::default()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_interval: Duration::from_secs(60),
            query_timeout: Duration::from_secs(30),
            concurrency: 4,
            max_alerts_per_rule: 10_000,
            sync_every: Duration::from_secs(2),
            outage_tolerance: Duration::from_secs(3600),
            for_grace_period: Duration::from_secs(600),
            history: history::Retention::default(),
        }
    }
}

/// What evaluation needs: the database, the sources, the embedded store to write into.
pub struct Context {
    pub db: SqlitePool,
    pub sources: SourceRegistry,
    pub embedded: Option<Arc<EmbeddedStore>>,
    pub metrics: metrics::EvalMetrics,
    pub templates: eval::TemplateContext,
    pub options: Options,
    /// Where firing and resolved alerts go after each evaluation (the notification
    /// dispatcher), set once at start-up.
    pub sink: std::sync::OnceLock<Arc<dyn crate::notify::AlertSink>>,
    limit: tokio::sync::Semaphore,
}

impl Context {
    pub fn new(
        db: SqlitePool,
        sources: SourceRegistry,
        embedded: Option<Arc<EmbeddedStore>>,
        templates: eval::TemplateContext,
        options: Options,
    ) -> Context {
        Context {
            limit: tokio::sync::Semaphore::new(options.concurrency.max(1)),
            db,
            sources,
            embedded,
            metrics: metrics::EvalMetrics::new(),
            templates,
            options,
            sink: std::sync::OnceLock::new(),
        }
    }

    /// The group's source: the one it names, else the default metrics source.
    async fn source_for(&self, name: Option<&str>) -> Result<Arc<dyn MetricsSource>, String> {
        let id = match name {
            None => None,
            Some(name) => Some(
                crate::sources::store::list(&self.db)
                    .await
                    .map_err(|e| e.message())?
                    .into_iter()
                    .find(|s| s.name == name)
                    .map(|s| s.id)
                    .ok_or_else(|| format!("no data source is named `{name}`"))?,
            ),
        };
        self.sources.metrics(id).await.map_err(|e| e.message())
    }

    /// When each alert of `alertname` was last written to `ALERTS_FOR_STATE` in the
    /// embedded store, at most `within_ms` before `now` (by the alert's labels); `None`
    /// without the embedded store or when it cannot be read.
    async fn last_for_state(
        &self,
        alertname: &str,
        now: i64,
        within_ms: i64,
    ) -> Option<std::collections::HashMap<state::Labels, i64>> {
        let store = self.embedded.clone()?;
        let matchers = vec![
            tsdb::Matcher::equal("__name__", "ALERTS_FOR_STATE"),
            tsdb::Matcher::equal("alertname", alertname),
        ];
        let found = crate::cpu::QUERIES
            .run(move || store.db().select(&matchers, now - within_ms, now))
            .await;
        let series = match found {
            Ok(Ok(series)) => series,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, error_type = "AlertRestore", "Reading ALERTS_FOR_STATE failed; alerts are restored as stored");
                return None;
            }
            Err(busy) => {
                tracing::warn!(error = %busy, error_type = "AlertRestore", "Reading ALERTS_FOR_STATE failed; alerts are restored as stored");
                return None;
            }
        };
        Some(
            series
                .into_iter()
                .filter_map(|s| {
                    let last = s.samples.iter().rev().find(|x| !tsdb::is_stale_nan(x.v))?;
                    let labels = s
                        .labels
                        .iter()
                        .filter(|(n, _)| *n != "__name__")
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect();
                    Some((labels, last.t))
                })
                .collect(),
        )
    }

    /// Writes recorded series, `ALERTS` and staleness markers into the embedded store.
    async fn write(&self, group: &str, samples: Vec<eval::Sample>, ts: i64) {
        let Some(store) = &self.embedded else {
            return;
        };
        if samples.is_empty() {
            return;
        }
        let batch = samples
            .into_iter()
            .map(|s| (s.labels.into_iter().collect(), ts, s.value))
            .collect();
        if let Err(err) = store.append(batch).await {
            tracing::warn!(error = ?err, rule_group = %group, error_type = "RuleSeriesWrite", "Writing rule results into the embedded store failed");
        }
    }
}
