//! One rule group at run time: its rules' health, last evaluation and alerts, and one
//! evaluation of all its rules at a timestamp, in order, as Prometheus's `Group.Eval`:
//! query the group's source, move alerts on, write recorded series, `ALERTS`,
//! `ALERTS_FOR_STATE` and staleness markers for series that went away into the embedded
//! store, and write alert changes down.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::eval::{self, Sample};
use super::state::{Labels, RuleAlerts, Timing};
use super::Context;
use crate::gotemplate::Querier;
use crate::promql_syntax::duration::PromDuration;
use crate::rules::model::{GroupSpec, NoDataBehaviour, RuleSpec};
use crate::sources::MetricsSource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// A rule's evaluation record and (alerting rules) its alerts.
#[derive(Clone, Debug)]
pub struct RuleStatus {
    pub health: Health,
    pub last_error: String,
    /// Unix ms of the last evaluation.
    pub last_evaluation: Option<i64>,
    pub evaluation_secs: f64,
    pub alerts: RuleAlerts,
    /// Series written by the last successful evaluation (for staleness markers).
    series: HashSet<Labels>,
}

impl Default for RuleStatus {
    fn default() -> Self {
        RuleStatus {
            health: Health::Unknown,
            last_error: String::new(),
            last_evaluation: None,
            evaluation_secs: 0.0,
            alerts: RuleAlerts::default(),
            series: HashSet::new(),
        }
    }
}

/// A group as it runs: its stored spec and version, and each rule's status.
#[derive(Clone, Debug)]
pub struct GroupRun {
    pub namespace: String,
    pub spec: GroupSpec,
    pub version: i64,
    pub interval_ms: i64,
    pub rules: Vec<RuleStatus>,
    pub last_evaluation: Option<i64>,
    pub evaluation_secs: f64,
}

/// A Prometheus duration in milliseconds (0 when absent).
pub(super) fn millis(d: Option<&str>) -> i64 {
    d.and_then(|d| PromDuration::parse(d).ok())
        .map(|d| (d.seconds() * 1000.0) as i64)
        .unwrap_or(0)
}

impl GroupRun {
    pub fn new(namespace: String, spec: GroupSpec, version: i64, default_interval_ms: i64) -> Self {
        let interval_ms = Some(millis(spec.interval.as_deref()))
            .filter(|i| *i > 0)
            .unwrap_or(default_interval_ms)
            .max(1000);
        GroupRun {
            namespace,
            rules: vec![RuleStatus::default(); spec.rules.len()],
            spec,
            version,
            interval_ms,
            last_evaluation: None,
            evaluation_secs: 0.0,
        }
    }

    /// `namespace;name`, the group's label value in metrics.
    pub fn key(&self) -> String {
        format!("{};{}", self.namespace, self.spec.name)
    }

    /// Takes over the alerts of a rule with the same name (and position when names repeat)
    /// from the group's previous run, as Prometheus's `CopyState` does on reload.
    pub fn copy_state(&mut self, old: &GroupRun) {
        for (i, rule) in self.spec.rules.iter().enumerate() {
            let same = |j: &usize| old.spec.rules[*j].name() == rule.name();
            let from = Some(i)
                .filter(|j| *j < old.spec.rules.len() && same(j))
                .or_else(|| (0..old.spec.rules.len()).find(same));
            if let Some(j) = from {
                self.rules[i] = old.rules[j].clone();
            }
        }
    }

    /// The evaluation offset inside the interval: spreads groups over it, stable per group.
    pub fn offset_ms(&self) -> i64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.namespace, &self.spec.name).hash(&mut h);
        (h.finish() % self.interval_ms as u64) as i64
    }

    /// The first evaluation time after `now_ms`, aligned to interval and offset.
    pub fn next_after(&self, now_ms: i64) -> i64 {
        let offset = self.offset_ms();
        let base = (now_ms - offset).div_euclid(self.interval_ms) * self.interval_ms + offset;
        base + self.interval_ms
    }
}

/// The `query` template function at the evaluation time, from a blocking thread.
struct BlockingQuerier {
    source: Option<Arc<dyn MetricsSource>>,
    handle: tokio::runtime::Handle,
    ts: i64,
    timeout: std::time::Duration,
}

impl Querier for BlockingQuerier {
    fn query(&self, q: &str) -> Result<crate::gotemplate::QueryResult, String> {
        let source = self.source.clone().ok_or("no data source")?;
        let samples =
            self.handle
                .block_on(eval::instant(source.as_ref(), q, self.ts, self.timeout))?;
        Ok(samples.into_iter().map(|s| (s.labels, s.value)).collect())
    }
}

/// What the query of one rule gave.
enum Outcome {
    Samples(Vec<Sample>),
    Failed(String),
}

/// Evaluates every rule of the group at `ts` (Unix ms).
pub async fn evaluate(ctx: &Context, run: &Mutex<GroupRun>, ts: i64) {
    let started = Instant::now();
    let (namespace, spec) = match run.lock() {
        Ok(r) => (r.namespace.clone(), r.spec.clone()),
        Err(_) => return,
    };
    let key = format!("{namespace};{}", spec.name);
    let source = ctx.source_for(spec.source.as_deref()).await;
    let limit = match spec.limit.unwrap_or(0) as usize {
        0 => ctx.options.max_alerts_per_rule,
        n => n.min(ctx.options.max_alerts_per_rule),
    };
    let mut writes: Vec<Sample> = Vec::new();
    let mut changed: Vec<(usize, String, RuleAlerts)> = Vec::new();
    let mut transitions: Vec<(String, Vec<super::history::Transition>)> = Vec::new();
    for (i, rule) in spec.rules.iter().enumerate() {
        let rule_started = Instant::now();
        ctx.metrics.evaluations.with_label_values(&[&key]).inc();
        let outcome = match &source {
            Ok(s) => {
                match eval::instant(s.as_ref(), &rule.expr, ts, ctx.options.query_timeout).await {
                    Ok(samples) => Outcome::Samples(samples),
                    Err(e) => Outcome::Failed(e),
                }
            }
            Err(e) => Outcome::Failed(e.clone()),
        };
        let prior = run
            .lock()
            .ok()
            .and_then(|r| r.rules.get(i).cloned())
            .unwrap_or_default();
        let querier = BlockingQuerier {
            source: source.as_ref().ok().cloned(),
            handle: tokio::runtime::Handle::current(),
            ts,
            timeout: ctx.options.query_timeout,
        };
        let timing = Timing {
            hold_ms: millis(rule.for_.as_deref()),
            keep_firing_ms: millis(rule.keep_firing_for.as_deref()),
            limit,
            series_limit: spec.limit.unwrap_or(0) as usize,
        };
        let templates = ctx.templates.clone();
        let rule_owned = rule.clone();
        let mut status = prior.clone();
        let templated = rule
            .labels
            .values()
            .chain(rule.annotations.values())
            .any(|t| t.contains("{{"));
        let job = move || {
            let r = apply(
                &rule_owned,
                outcome,
                &mut status,
                ts,
                timing,
                &templates,
                &querier,
            );
            (status, r)
        };
        // Templates may loop and query: off the async workers.
        let done = if templated {
            crate::cpu::run(job).await
        } else {
            Ok(job())
        };
        let (mut status, (error, series)) = match done {
            Ok(d) => d,
            Err(busy) => (prior.clone(), (Some(busy.to_string()), None)),
        };
        if let Some(series) = series {
            let now: HashSet<Labels> = series.iter().map(|s| s.labels.clone()).collect();
            for gone in status.series.difference(&now) {
                writes.push(Sample {
                    labels: gone.clone(),
                    value: tsdb::STALE_NAN,
                });
            }
            writes.extend(series);
            status.series = now;
        }
        status.health = if error.is_some() {
            Health::Err
        } else {
            Health::Ok
        };
        status.last_error = error.unwrap_or_default();
        if status.health == Health::Err {
            ctx.metrics.failures.with_label_values(&[&key]).inc();
        }
        status.last_evaluation = Some(ts);
        status.evaluation_secs = rule_started.elapsed().as_secs_f64();
        if rule.is_alert() && status.alerts.fingerprint() != prior.alerts.fingerprint() {
            changed.push((i, rule.name().to_owned(), status.alerts.clone()));
            let moved = super::history::transitions(&prior.alerts, &status.alerts, ts);
            if !moved.is_empty() {
                transitions.push((rule.name().to_owned(), moved));
            }
        }
        if let Ok(mut r) = run.lock() {
            if let Some(slot) = r.rules.get_mut(i) {
                *slot = status;
            }
        }
    }
    ctx.write(&key, writes, ts).await;
    if let Err(err) = super::persist::save(&ctx.db, &namespace, &spec.name, &changed).await {
        tracing::warn!(error = %err, rule_group = %key, error_type = "AlertStateWrite", "Writing alert state failed");
    }
    if let Err(err) = super::history::record(
        &ctx.db,
        &namespace,
        &spec.name,
        &transitions,
        ctx.options.history,
        ts,
    )
    .await
    {
        tracing::warn!(error = %err, rule_group = %key, error_type = "AlertHistoryWrite", "Writing alert state history failed");
    }
    let elapsed = started.elapsed().as_secs_f64();
    ctx.metrics
        .duration
        .with_label_values(&[&key])
        .observe(elapsed);
    if let Ok(mut r) = run.lock() {
        r.last_evaluation = Some(ts);
        r.evaluation_secs = elapsed;
        let (mut pending, mut firing) = (0, 0);
        for s in &r.rules {
            for a in s.alerts.current() {
                match a.state {
                    super::state::AlertState::Firing => firing += 1,
                    _ => pending += 1,
                }
            }
        }
        ctx.metrics
            .alerts
            .with_label_values(&[&key, "pending"])
            .set(pending);
        ctx.metrics
            .alerts
            .with_label_values(&[&key, "firing"])
            .set(firing);
    }
    if let Some(sink) = ctx.sink.get() {
        if let Ok(r) = run.lock() {
            sink.post(posted(&r, &ctx.templates, ts));
        }
    }
}

/// Firing and resolved alerts as Prometheus sends them to Alertmanager: a firing alert
/// holds until 4 × max(interval, 1 min) from now, a resolved one ends when it resolved;
/// external labels are added where an alert does not set them.
pub(crate) fn posted(
    run: &GroupRun,
    templates: &eval::TemplateContext,
    ts: i64,
) -> Vec<crate::notify::PostedAlert> {
    let external_url = &templates.external_url;
    let hold = 4 * run.interval_ms.max(60_000);
    let mut out = Vec::new();
    for (spec, status) in run.spec.rules.iter().zip(&run.rules) {
        let url = format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            external_url.trim_end_matches('/'),
            url::form_urlencoded::byte_serialize(spec.expr.as_bytes()).collect::<String>()
        );
        for a in status.alerts.active.values() {
            let ends_at = match (a.state, a.resolved_at) {
                (super::state::AlertState::Firing, _) => ts + hold,
                (super::state::AlertState::Inactive, Some(r)) => r,
                _ => continue,
            };
            let mut labels = a.labels.clone();
            for (k, v) in &templates.external_labels {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            out.push(crate::notify::PostedAlert {
                labels,
                annotations: a.annotations.clone(),
                starts_at: a.fired_at.unwrap_or(a.active_at),
                ends_at,
                generator_url: url.clone(),
                active_at: a.active_at,
            });
        }
    }
    out
}

/// Applies one rule's outcome to its status; returns the error (if any) and the series
/// to write (`None`: keep the previous series, no staleness markers).
fn apply(
    rule: &RuleSpec,
    outcome: Outcome,
    status: &mut RuleStatus,
    ts: i64,
    timing: Timing,
    templates: &eval::TemplateContext,
    querier: &dyn Querier,
) -> (Option<String>, Option<Vec<Sample>>) {
    if !rule.is_alert() {
        let limit = timing.series_limit;
        return match outcome.into_result().and_then(|s| eval::recorded(rule, s)) {
            Ok(series) if limit > 0 && series.len() > limit => (
                Some(format!(
                    "exceeded limit {limit} with {} series",
                    series.len()
                )),
                None,
            ),
            Ok(series) => (None, Some(series)),
            Err(e) => (Some(e), None),
        };
    }
    let (found, error) = match outcome {
        Outcome::Samples(s) if s.is_empty() => {
            match rule.no_data_state.unwrap_or(NoDataBehaviour::Ok) {
                NoDataBehaviour::Ok => (Some(Vec::new()), None),
                NoDataBehaviour::KeepState => (None, None),
                NoDataBehaviour::Alerting => (
                    Some(vec![eval::synthetic_alert(
                        rule, "no_data", templates, querier,
                    )]),
                    None,
                ),
            }
        }
        Outcome::Samples(s) => match eval::alerts_found(rule, s, templates, querier) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        },
        Outcome::Failed(e) => match rule.error_state.unwrap_or(NoDataBehaviour::KeepState) {
            NoDataBehaviour::KeepState => (None, Some(e)),
            NoDataBehaviour::Ok => (Some(Vec::new()), Some(e)),
            NoDataBehaviour::Alerting => (
                Some(vec![eval::synthetic_alert(
                    rule, "error", templates, querier,
                )]),
                Some(e),
            ),
        },
    };
    let mut error = error;
    if let Some(found) = found {
        if let Err(e) = status.alerts.apply(ts, found, timing) {
            error = Some(e);
        }
    }
    (error, Some(eval::alert_series(&status.alerts)))
}

/// When a rule's alerts move on (its `for`, `keep_firing_for`) and its limits.
pub(super) fn timing_of(rule: &RuleSpec, limit: usize, series_limit: usize) -> Timing {
    Timing {
        hold_ms: millis(rule.for_.as_deref()),
        keep_firing_ms: millis(rule.keep_firing_for.as_deref()),
        limit,
        series_limit,
    }
}

/// One rule's evaluation at `ts` as a simulation runs it (backtests, rule unit tests):
/// the same steps as [`evaluate`] takes, on a result the caller queried. Returns the error
/// and the series to write, with staleness markers for series the previous step wrote.
pub(super) fn simulate_step(
    rule: &RuleSpec,
    result: Result<Vec<Sample>, String>,
    status: &mut RuleStatus,
    ts: i64,
    timing: Timing,
    templates: &eval::TemplateContext,
    querier: &dyn Querier,
) -> (Option<String>, Vec<Sample>) {
    let outcome = match result {
        Ok(s) => Outcome::Samples(s),
        Err(e) => Outcome::Failed(e),
    };
    let (error, series) = apply(rule, outcome, status, ts, timing, templates, querier);
    let mut writes = Vec::new();
    if let Some(series) = series {
        let now: HashSet<Labels> = series.iter().map(|s| s.labels.clone()).collect();
        for gone in status.series.difference(&now) {
            writes.push(Sample {
                labels: gone.clone(),
                value: tsdb::STALE_NAN,
            });
        }
        writes.extend(series);
        status.series = now;
    }
    (error, writes)
}

impl Outcome {
    fn into_result(self) -> Result<Vec<Sample>, String> {
        match self {
            Outcome::Samples(s) => Ok(s),
            Outcome::Failed(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gotemplate::NoQueries;

    fn group(yaml: &str) -> GroupRun {
        GroupRun::new(
            "ns".into(),
            serde_norway::from_str(yaml).unwrap(),
            1,
            60_000,
        )
    }

    #[test]
    fn evaluation_times_are_aligned_to_interval_and_offset() {
        let g = group("name: g\ninterval: 10s\nrules: []");
        assert_eq!(g.interval_ms, 10_000);
        let offset = g.offset_ms();
        assert!((0..10_000).contains(&offset));
        for now in [0, 1, 9_999, 123_456_789] {
            let next = g.next_after(now);
            assert!(next > now && next - now <= 10_000, "{now} → {next}");
            assert_eq!((next - offset).rem_euclid(10_000), 0);
        }
        assert_eq!(
            group("name: g\nrules: []").interval_ms,
            60_000,
            "the default"
        );
    }

    #[test]
    fn a_reloaded_group_keeps_the_alerts_of_rules_by_name() {
        let mut old = group("name: g\nrules: [{alert: A, expr: '1'}, {alert: B, expr: '1'}]");
        old.rules[1].health = Health::Ok;
        old.rules[1].last_error = "kept".into();
        let mut new = group("name: g\nrules: [{alert: B, expr: '2'}, {alert: C, expr: '1'}]");
        new.copy_state(&old);
        assert_eq!(new.rules[0].last_error, "kept");
        assert_eq!(new.rules[1].health, Health::Unknown);
    }

    #[test]
    fn a_recording_rule_over_its_group_limit_writes_nothing_and_reports_it() {
        let rule: RuleSpec = serde_norway::from_str("record: r\nexpr: x").unwrap();
        let two = vec![
            Sample {
                labels: Labels::from([("a".into(), "1".into())]),
                value: 1.0,
            },
            Sample {
                labels: Labels::from([("a".into(), "2".into())]),
                value: 1.0,
            },
        ];
        let timing = Timing {
            series_limit: 1,
            ..Default::default()
        };
        let (error, series) = apply(
            &rule,
            Outcome::Samples(two),
            &mut RuleStatus::default(),
            0,
            timing,
            &Default::default(),
            &NoQueries,
        );
        assert_eq!(error.as_deref(), Some("exceeded limit 1 with 2 series"));
        assert!(series.is_none());
    }

    #[test]
    fn errors_keep_alerts_by_default_and_no_data_resolves_them() {
        let rule: RuleSpec = serde_norway::from_str("alert: A\nexpr: x").unwrap();
        let mut status = RuleStatus::default();
        let one = vec![Sample {
            labels: Labels::new(),
            value: 1.0,
        }];
        let go = |status: &mut RuleStatus, outcome, ts| {
            apply(
                &rule,
                outcome,
                status,
                ts,
                Timing::default(),
                &Default::default(),
                &NoQueries,
            )
        };
        go(&mut status, Outcome::Samples(one), 0);
        assert_eq!(
            status.alerts.state(),
            super::super::state::AlertState::Firing
        );
        let (error, _) = go(&mut status, Outcome::Failed("down".into()), 1_000);
        assert_eq!(error.as_deref(), Some("down"));
        assert_eq!(
            status.alerts.state(),
            super::super::state::AlertState::Firing
        );
        go(&mut status, Outcome::Samples(vec![]), 2_000);
        assert_eq!(
            status.alerts.state(),
            super::super::state::AlertState::Inactive
        );
    }
}
