//! Stored groups as the API and the pages show them: a group with the lint warnings of its
//! validated form and its YAML, and every group in the shape of Prometheus's `/api/v1/rules`.

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::store::{self, StoredGroup};
use super::validate::{validate_group, ValidGroup};
use crate::error::Error;
use crate::promql_syntax::duration::PromDuration;

/// A group as the API shows it, with the lint warnings of its validated form (`None`: a
/// stored group that no longer validates, e.g. written by an older version).
pub fn group_view(stored: &StoredGroup, valid: Option<&ValidGroup>) -> Value {
    let mut v = serde_json::to_value(stored).unwrap_or_default();
    if let Some(valid) = valid {
        v["warnings"] = json!(super::lint::lint(valid));
    }
    v["yaml"] = json!(super::export_yaml(vec![stored.spec.clone()]).unwrap_or_default());
    v
}

/// Groups read back from the store: validated again (for their warnings) on the CPU pool.
pub async fn stored_views(stored: Vec<StoredGroup>) -> Result<Vec<Value>, Error> {
    Ok(crate::cpu::run(move || {
        stored
            .iter()
            .map(|g| group_view(g, validate_group(&g.spec).ok().as_ref()))
            .collect()
    })
    .await?)
}

fn seconds(d: Option<&str>) -> f64 {
    d.and_then(|d| PromDuration::parse(d).ok())
        .map(|d| d.seconds())
        .unwrap_or(0.0)
}

/// Every group in the shape of Prometheus's `/api/v1/rules` (`data`), so its readers can
/// read the portal; `want` is `alert` or `record` to keep one type. Rules are not evaluated
/// here yet: `health` is `unknown` and no alerts are active.
pub async fn prometheus_rules(db: &SqlitePool, want: Option<&str>) -> Result<Value, Error> {
    if let Some(k) = want.filter(|k| *k != "alert" && *k != "record") {
        return Err(Error::invalid(
            "type",
            format!("`{k}` is not a rule type; use alert or record"),
        ));
    }
    let groups: Vec<Value> = store::list(db)
        .await?
        .into_iter()
        .map(|g| {
            let rules: Vec<Value> = g
                .spec
                .rules
                .iter()
                .filter(|r| match want {
                    Some("alert") => r.is_alert(),
                    Some("record") => !r.is_alert(),
                    _ => true,
                })
                .map(|r| {
                    let mut v = json!({
                        "name": r.name(),
                        "query": r.expr,
                        "labels": r.labels,
                        "health": "unknown",
                        "evaluationTime": 0,
                        "lastEvaluation": "0001-01-01T00:00:00Z",
                    });
                    if r.is_alert() {
                        v["type"] = json!("alerting");
                        v["state"] = json!("inactive");
                        v["duration"] = json!(seconds(r.for_.as_deref()));
                        v["keepFiringFor"] = json!(seconds(r.keep_firing_for.as_deref()));
                        v["annotations"] = json!(r.annotations);
                        v["alerts"] = json!([]);
                    } else {
                        v["type"] = json!("recording");
                    }
                    v
                })
                .collect();
            json!({
                "name": g.spec.name,
                "file": g.namespace,
                "interval": seconds(g.spec.interval.as_deref()).max(60.0 * f64::from(g.spec.interval.is_none() as u8)),
                "limit": g.spec.limit.unwrap_or(0),
                "rules": rules,
                "evaluationTime": 0,
                "lastEvaluation": "0001-01-01T00:00:00Z",
            })
        })
        .collect();
    Ok(json!({ "groups": groups }))
}
