//! Escalation policies: per severity (an alert's `severity` label), a list of steps, each a
//! contact point notified a delay after the alert started firing, unless the alert was
//! acknowledged or resolved first. Optional matchers narrow which alerts a policy takes.
//! Validated with the field named (unknown contact point, bad duration, unknown severity),
//! stored versioned, every change audited. `escalate.rs` runs them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::matchers::{self, Matcher};
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::promql_syntax::duration::PromDuration;

/// The severities a policy may name (the values of the `severity` label it escalates).
pub const SEVERITIES: [&str; 5] = ["critical", "high", "warning", "info", "low"];
/// Steps per severity, at most.
const MAX_STEPS: usize = 10;
/// A step's delay, at most.
const MAX_AFTER_MS: u64 = 7 * 24 * 3_600_000;
/// An acknowledgement link's lifetime, at most.
const MAX_LINK_TTL_MS: u64 = 30 * 24 * 3_600_000;
const DEFAULT_LINK_TTL: &str = "24h";

/// One step as the API writes it: `after` a Prometheus duration (`0s`, `10m`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    pub contact_point: String,
    pub after: Value,
}

/// What a caller sends to create or change an escalation policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    /// Alertmanager matchers (`team="keiko"`); none: every alert with a listed severity.
    #[serde(default)]
    pub matchers: Vec<String>,
    /// Severity → steps.
    pub steps: BTreeMap<String, Vec<StepBody>>,
    /// How long the acknowledgement link in a step's notification stays valid (24h).
    pub ack_link_ttl: Option<String>,
    /// The version the caller edited (updates only).
    pub version: Option<i64>,
}

/// One validated step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub contact_point: String,
    pub after_ms: i64,
    pub after: String,
}

/// A validated, stored policy as the escalation loop uses it.
#[derive(Clone, Debug)]
pub struct EscalationPolicy {
    pub id: i64,
    pub name: String,
    pub matchers: Vec<String>,
    pub compiled: Vec<Matcher>,
    pub steps: BTreeMap<String, Vec<Step>>,
    pub ack_link_ttl: String,
    pub ack_link_ttl_ms: i64,
    pub version: i64,
    pub updated_at: String,
}

impl EscalationPolicy {
    pub fn view(&self) -> Value {
        let steps: BTreeMap<&String, Vec<Value>> = self
            .steps
            .iter()
            .map(|(sev, steps)| {
                (
                    sev,
                    steps
                        .iter()
                        .map(|s| json!({ "contact_point": s.contact_point, "after": s.after }))
                        .collect(),
                )
            })
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "matchers": self.matchers,
            "steps": steps,
            "ack_link_ttl": self.ack_link_ttl,
            "version": self.version,
            "updated_at": self.updated_at,
        })
    }

    /// The steps for an alert's labels, if this policy takes it.
    pub fn steps_for(&self, labels: &matchers::Labels) -> Option<&[Step]> {
        if !matchers::all_match(&self.compiled, labels) {
            return None;
        }
        let severity = labels.get("severity")?;
        self.steps.get(severity).map(Vec::as_slice)
    }
}

fn duration(field: &str, raw: &Value, max_ms: u64) -> Result<(String, u64), Error> {
    let text = match raw {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x < 0.0 => {
                return Err(Error::invalid(field, "must not be negative"));
            }
            Some(x) if x.fract() == 0.0 => format!("{x}s"),
            _ => {
                return Err(Error::invalid(
                    field,
                    "whole seconds or a duration like 10m",
                ))
            }
        },
        _ => return Err(Error::invalid(field, "a duration like 0s, 10m or 1h")),
    };
    if text.starts_with('-') {
        return Err(Error::invalid(field, "must not be negative"));
    }
    let d = PromDuration::parse(&text).map_err(|m| Error::invalid(field, m))?;
    if d.millis() > max_ms {
        return Err(Error::invalid(
            field,
            format!("at most {}h", max_ms / 3_600_000),
        ));
    }
    Ok((text, d.millis()))
}

/// A body that validated.
#[derive(Debug)]
pub struct Valid {
    pub name: String,
    pub matchers: Vec<Matcher>,
    pub steps: BTreeMap<String, Vec<Step>>,
    pub ack_link_ttl: String,
}

/// Validates a body against the contact points that exist.
pub fn validate(body: &PolicyBody, contact_points: &[String]) -> Result<Valid, Error> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "1 to 100 printable characters"));
    }
    if body.matchers.len() > 20 {
        return Err(Error::invalid("matchers", "at most 20 matchers"));
    }
    let compiled = matchers::parse_all("matchers", &body.matchers)?;
    if body.steps.is_empty() {
        return Err(Error::invalid(
            "steps",
            format!(
                "name at least one severity ({}) with its steps",
                SEVERITIES.join(", ")
            ),
        ));
    }
    let mut steps = BTreeMap::new();
    for (severity, list) in &body.steps {
        let field = format!("steps.{severity}");
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(Error::invalid(
                field,
                format!(
                    "`{severity}` is not a severity; use {}",
                    SEVERITIES.join(", ")
                ),
            ));
        }
        if list.is_empty() || list.len() > MAX_STEPS {
            return Err(Error::invalid(field, format!("1 to {MAX_STEPS} steps")));
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, step) in list.iter().enumerate() {
            let cp = step.contact_point.trim();
            if !contact_points.iter().any(|c| c == cp) {
                return Err(Error::invalid(
                    format!("{field}[{i}].contact_point"),
                    format!("no contact point is named `{cp}`"),
                ));
            }
            let (after, after_ms) =
                duration(&format!("{field}[{i}].after"), &step.after, MAX_AFTER_MS)?;
            out.push(Step {
                contact_point: cp.to_owned(),
                after_ms: after_ms as i64,
                after,
            });
        }
        out.sort_by_key(|s| s.after_ms);
        steps.insert(severity.clone(), out);
    }
    let ttl_raw = Value::String(
        body.ack_link_ttl
            .clone()
            .unwrap_or_else(|| DEFAULT_LINK_TTL.into()),
    );
    let (ttl, ttl_ms) = duration("ack_link_ttl", &ttl_raw, MAX_LINK_TTL_MS)?;
    if ttl_ms == 0 {
        return Err(Error::invalid("ack_link_ttl", "must be longer than 0"));
    }
    Ok(Valid {
        name: name.to_owned(),
        matchers: compiled,
        steps,
        ack_link_ttl: ttl,
    })
}

type Row = (i64, String, String, String, String, i64, String);
const COLUMNS: &str = "id, name, matchers, steps, ack_link_ttl, version, updated_at";

fn from_row(r: Row) -> Result<EscalationPolicy, Error> {
    let matchers: Vec<String> = serde_json::from_str(&r.2).map_err(Error::internal)?;
    let compiled = matchers::parse_all("matchers", &matchers)?;
    let raw: BTreeMap<String, Vec<StepBody>> =
        serde_json::from_str(&r.3).map_err(Error::internal)?;
    let mut steps = BTreeMap::new();
    for (sev, list) in raw {
        let mut out = Vec::new();
        for s in list {
            let after = s.after.as_str().unwrap_or("0s").to_owned();
            let ms = PromDuration::parse(&after)
                .map_err(|m| Error::internal(anyhow::anyhow!(m)))?
                .millis();
            out.push(Step {
                contact_point: s.contact_point,
                after_ms: ms as i64,
                after,
            });
        }
        steps.insert(sev, out);
    }
    let ttl_ms = PromDuration::parse(&r.4)
        .map_err(|m| Error::internal(anyhow::anyhow!(m)))?
        .millis() as i64;
    Ok(EscalationPolicy {
        id: r.0,
        name: r.1,
        matchers,
        compiled,
        steps,
        ack_link_ttl: r.4,
        ack_link_ttl_ms: ttl_ms,
        version: r.5,
        updated_at: r.6,
    })
}

pub async fn list(db: &SqlitePool) -> Result<Vec<EscalationPolicy>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM escalation_policies ORDER BY name"
    ))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn get(db: &SqlitePool, id: i64) -> Result<EscalationPolicy, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM escalation_policies WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    from_row(row.ok_or_else(|| Error::not_found(format!("escalation policy {id}")))?)
}

/// Contact point names some escalation policy sends to (renames and deletes wait for them).
pub async fn contact_points_in_use(tx: &mut Transaction<'_, Sqlite>) -> Result<Vec<String>, Error> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT steps FROM escalation_policies")
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|s| serde_json::from_str::<BTreeMap<String, Vec<StepBody>>>(s).ok())
        .flat_map(|m| {
            m.into_values()
                .flatten()
                .map(|s| s.contact_point)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// Creates (`id` None) or updates a policy; nothing is saved when any field is refused.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: Option<i64>,
    body: PolicyBody,
) -> Result<EscalationPolicy, Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM contact_points")
        .fetch_all(&mut *tx)
        .await?;
    let Valid {
        name,
        steps,
        ack_link_ttl: ttl,
        ..
    } = validate(&body, &names)?;
    let stored_steps: BTreeMap<&String, Vec<Value>> = steps
        .iter()
        .map(|(sev, list)| {
            (
                sev,
                list.iter()
                    .map(|s| json!({ "contact_point": s.contact_point, "after": s.after }))
                    .collect(),
            )
        })
        .collect();
    let matchers_json = serde_json::to_string(&body.matchers).map_err(Error::internal)?;
    let steps_json = serde_json::to_string(&stored_steps).map_err(Error::internal)?;
    let now = crate::db::now();
    let unique =
        || crate::error::unique_violation("name", "another escalation policy has this name");
    let (before, new_id) = match id {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO escalation_policies (name, matchers, steps, ack_link_ttl, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&name)
            .bind(&matchers_json)
            .bind(&steps_json)
            .bind(&ttl)
            .bind(&now)
            .bind(&actor.login)
            .fetch_one(&mut *tx)
            .await
            .map_err(unique())?;
            (None, id)
        }
        Some(id) => {
            let row: Option<Row> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM escalation_policies WHERE id = ?"
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let existing =
                from_row(row.ok_or_else(|| Error::not_found(format!("escalation policy {id}")))?)?;
            let version = body.version.ok_or_else(|| {
                Error::invalid(
                    "version",
                    "send the version you edited (optimistic locking)",
                )
            })?;
            if version != existing.version {
                return Err(Error::version_conflict(
                    "the escalation policy was changed since you loaded it",
                    existing.view(),
                ));
            }
            sqlx::query("UPDATE escalation_policies SET name = ?, matchers = ?, steps = ?, ack_link_ttl = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?")
                .bind(&name)
                .bind(&matchers_json)
                .bind(&steps_json)
                .bind(&ttl)
                .bind(&now)
                .bind(&actor.login)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unique())?;
            (Some(existing.view()), id)
        }
    };
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM escalation_policies WHERE id = ?"
    ))
    .bind(new_id)
    .fetch_one(&mut *tx)
    .await?;
    let saved = from_row(row)?;
    let action = if before.is_some() {
        "escalation_policy.update"
    } else {
        "escalation_policy.create"
    };
    let rec = crate::audit::record(
        &mut tx,
        actor,
        action,
        "escalation_policy",
        new_id,
        before,
        Some(saved.view()),
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(saved)
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    let existing = get(db, id).await?;
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM escalation_policies WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM escalation_progress WHERE policy_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = crate::audit::record(
        &mut tx,
        actor,
        "escalation_policy.delete",
        "escalation_policy",
        id,
        Some(existing.view()),
        None,
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(steps: Value) -> PolicyBody {
        serde_json::from_value(json!({"name": "p", "steps": steps})).unwrap()
    }

    #[test]
    fn bad_steps_are_refused_naming_the_field() {
        let cps = vec!["slack".to_owned(), "mail".to_owned()];
        let field = |steps: Value| {
            validate(&body(steps), &cps)
                .unwrap_err()
                .field()
                .map(str::to_owned)
        };
        assert_eq!(
            field(json!({"critical": [{"contact_point": "slack", "after": "0s"}, {"contact_point": "pager", "after": "10m"}]})).as_deref(),
            Some("steps.critical[1].contact_point")
        );
        assert_eq!(
            field(json!({"critical": [{"contact_point": "slack", "after": "-5m"}]})).as_deref(),
            Some("steps.critical[0].after")
        );
        assert_eq!(
            field(json!({"critical": [{"contact_point": "slack", "after": -5}]})).as_deref(),
            Some("steps.critical[0].after")
        );
        assert_eq!(
            field(json!({"urgent": [{"contact_point": "slack", "after": "0s"}]})).as_deref(),
            Some("steps.urgent")
        );
        let Valid {
            steps,
            ack_link_ttl: ttl,
            ..
        } = validate(
            &body(json!({"critical": [{"contact_point": "mail", "after": "30m"}, {"contact_point": "slack", "after": 0}]})),
            &cps,
        )
        .unwrap();
        assert_eq!(
            steps["critical"][0].contact_point, "slack",
            "sorted by delay"
        );
        assert_eq!(steps["critical"][1].after_ms, 30 * 60_000);
        assert_eq!(ttl, "24h");
    }
}
