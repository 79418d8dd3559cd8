//! The stored groups with what evaluation found, in the shapes of Prometheus's
//! `/api/v1/rules` and `/api/v1/alerts` (`data`).

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::group::{GroupRun, RuleStatus};
use super::state::Alert;
use super::Manager;
use crate::error::Error;
use crate::promql_syntax::duration::PromDuration;
use crate::rules::store;

/// Go's zero time, which Prometheus shows for "never evaluated".
const NEVER: &str = "0001-01-01T00:00:00Z";

fn seconds(d: Option<&str>) -> f64 {
    d.and_then(|d| PromDuration::parse(d).ok())
        .map(|d| d.seconds())
        .unwrap_or(0.0)
}

/// Unix milliseconds as RFC 3339 (Prometheus's time fields).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| NEVER.to_owned())
}

/// An alert value as Prometheus's API writes it (`strconv.FormatFloat(v, 'e', -1, 64)`).
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

pub fn alert_json(a: &Alert) -> Value {
    let mut v = json!({
        "labels": a.labels,
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339(a.active_at),
        "value": value_text(a.value),
    });
    if let Some(since) = a.keep_firing_since {
        v["keepFiringSince"] = json!(rfc3339(since));
    }
    v
}

fn status_fields(v: &mut Value, s: &RuleStatus) {
    v["health"] = json!(s.health.as_str());
    v["evaluationTime"] = json!(s.evaluation_secs);
    v["lastEvaluation"] = json!(s.last_evaluation.map(rfc3339).unwrap_or(NEVER.into()));
    if !s.last_error.is_empty() {
        v["lastError"] = json!(s.last_error);
    }
}

/// Every stored group in the shape of Prometheus's `/api/v1/rules`, with each rule's health,
/// last error, state and alerts from evaluation (`unknown` until a rule was evaluated);
/// `want` is `alert` or `record` to keep one type.
pub async fn prometheus_rules(
    db: &SqlitePool,
    manager: Option<&Manager>,
    want: Option<&str>,
) -> Result<Value, Error> {
    if let Some(k) = want.filter(|k| *k != "alert" && *k != "record") {
        return Err(Error::invalid(
            "type",
            format!("`{k}` is not a rule type; use alert or record"),
        ));
    }
    let runs = manager.map(|m| m.snapshot()).unwrap_or_default();
    let default_interval = manager
        .map(|m| m.context().options.default_interval.as_secs_f64())
        .unwrap_or(60.0);
    let groups: Vec<Value> = store::list(db)
        .await?
        .into_iter()
        .map(|g| {
            let run: Option<&GroupRun> = runs
                .get(&(g.namespace.clone(), g.spec.name.clone()))
                .filter(|r| r.version == g.version);
            let rules: Vec<Value> = g
                .spec
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| match want {
                    Some("alert") => r.is_alert(),
                    Some("record") => !r.is_alert(),
                    _ => true,
                })
                .map(|(i, r)| {
                    let status = run.and_then(|run| run.rules.get(i)).cloned().unwrap_or_default();
                    let mut v = json!({
                        "name": r.name(),
                        "query": r.expr,
                        "labels": r.labels,
                    });
                    status_fields(&mut v, &status);
                    if r.is_alert() {
                        v["type"] = json!("alerting");
                        v["state"] = json!(status.alerts.state().as_str());
                        v["duration"] = json!(seconds(r.for_.as_deref()));
                        v["keepFiringFor"] = json!(seconds(r.keep_firing_for.as_deref()));
                        v["annotations"] = json!(r.annotations);
                        v["alerts"] = json!(status
                            .alerts
                            .current()
                            .into_iter()
                            .map(alert_json)
                            .collect::<Vec<_>>());
                    } else {
                        v["type"] = json!("recording");
                    }
                    v
                })
                .collect();
            let interval = match g.spec.interval.as_deref() {
                Some(i) => seconds(Some(i)),
                None => default_interval,
            };
            json!({
                "name": g.spec.name,
                "file": g.namespace,
                "interval": interval,
                "limit": g.spec.limit.unwrap_or(0),
                "rules": rules,
                "evaluationTime": run.map(|r| r.evaluation_secs).unwrap_or(0.0),
                "lastEvaluation": run.and_then(|r| r.last_evaluation).map(rfc3339).unwrap_or(NEVER.into()),
            })
        })
        .collect();
    Ok(json!({ "groups": groups }))
}

/// The labels an alert is handed on with (external labels added where it sets none),
/// whose fingerprint names it in notifications and acknowledgements.
fn posted_labels(manager: &Manager, a: &Alert) -> crate::notify::matchers::Labels {
    let mut labels = a.labels.clone();
    for (k, v) in &manager.context().templates.external_labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    labels
}

fn sorted_runs(manager: Option<&Manager>) -> Vec<GroupRun> {
    let mut runs: Vec<GroupRun> = manager
        .map(|m| m.snapshot().into_values().collect())
        .unwrap_or_default();
    runs.sort_by(|a, b| (&a.namespace, &a.spec.name).cmp(&(&b.namespace, &b.spec.name)));
    runs
}

/// Pending and firing alerts of every rule, as Prometheus's `/api/v1/alerts` lists them;
/// with `notifier`, also each alert's `fingerprint`, its `status` as Alertmanager's API
/// shows it (`state` `active` or `suppressed`, `silencedBy` the ids of the active silences
/// that mute it, `inhibitedBy` the fingerprints of the firing alerts that inhibit it) and,
/// when acknowledged, `acknowledgedBy`, `acknowledgedAt` and `acknowledgedVia`.
pub fn alerts(manager: Option<&Manager>, notifier: Option<&crate::notify::Notifier>) -> Value {
    let Some(m) = manager else {
        return json!({ "alerts": [] });
    };
    let runs = sorted_runs(manager);
    let current: Vec<(&Alert, crate::notify::matchers::Labels)> = runs
        .iter()
        .flat_map(|r| r.rules.iter())
        .flat_map(|s| s.alerts.current())
        .map(|a| (a, posted_labels(m, a)))
        .collect();
    let now = chrono::Utc::now();
    let firing: Vec<(u64, &crate::notify::matchers::Labels)> = current
        .iter()
        .filter(|(a, _)| a.state == super::state::AlertState::Firing)
        .map(|(_, l)| (crate::notify::payloads::fingerprint(l), l))
        .collect();
    let alerts: Vec<Value> = current
        .iter()
        .map(|(a, labels)| {
            let mut v = alert_json(a);
            let Some(n) = notifier else { return v };
            let fp = crate::notify::payloads::fingerprint(labels);
            v["fingerprint"] = json!(format!("{fp:016x}"));
            let silenced_by = n.silenced_by(labels, now);
            let inhibited_by: Vec<String> = n
                .inhibited_by(fp, labels, &firing)
                .into_iter()
                .map(|f| format!("{f:016x}"))
                .collect();
            let state = if silenced_by.is_empty() && inhibited_by.is_empty() {
                "active"
            } else {
                "suppressed"
            };
            v["status"] = json!({
                "state": state,
                "silencedBy": silenced_by,
                "inhibitedBy": inhibited_by,
            });
            if let Some(ack) = n.ack_of(fp, a.active_at) {
                if let Some(o) = ack.view().as_object() {
                    for (k, x) in o.iter().filter(|(k, _)| *k != "fingerprint") {
                        v[k] = x.clone();
                    }
                }
            }
            v
        })
        .collect();
    json!({ "alerts": alerts })
}

/// Every firing alert as it is sent to notifications now (for previews of templates).
pub fn firing_posted(manager: Option<&Manager>, now_ms: i64) -> Vec<crate::notify::PostedAlert> {
    let Some(m) = manager else {
        return Vec::new();
    };
    sorted_runs(manager)
        .iter()
        .flat_map(|r| super::group::posted(r, &m.context().templates, now_ms))
        .filter(|a| !a.resolved_at(now_ms))
        .collect()
}

impl crate::notify::FiringAlerts for Manager {
    fn firing(&self, now_ms: i64) -> Vec<crate::notify::PostedAlert> {
        firing_posted(Some(self), now_ms)
    }
}

/// The pending or firing alert with this fingerprint.
pub fn find_active(
    manager: Option<&Manager>,
    fingerprint: u64,
) -> Option<crate::notify::acks::ActiveAlert> {
    let m = manager?;
    sorted_runs(manager)
        .iter()
        .flat_map(|r| r.rules.iter())
        .flat_map(|s| s.alerts.current())
        .find_map(|a| {
            let labels = posted_labels(m, a);
            (crate::notify::payloads::fingerprint(&labels) == fingerprint).then_some(
                crate::notify::acks::ActiveAlert {
                    fingerprint,
                    labels,
                    active_at: a.active_at,
                },
            )
        })
}
