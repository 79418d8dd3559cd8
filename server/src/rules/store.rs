//! Rule groups in SQLite with their full history. Writes take the version the caller saw
//! (optimistic locking) and happen in one transaction with their audit record.

use serde::Serialize;
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::model::GroupSpec;
use super::namespace::Namespace;
use super::validate::ValidGroup;
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::Error;
use crate::metrics::Metrics;

#[derive(Clone, Debug, Serialize)]
pub struct StoredGroup {
    pub namespace: String,
    #[serde(flatten)]
    pub spec: GroupSpec,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionInfo {
    pub version: i64,
    pub author: String,
    pub at: String,
    pub message: String,
    pub deleted: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    namespace: String,
    spec: String,
    version: i64,
    updated_at: String,
    updated_by: String,
}

impl Row {
    fn into_stored(self) -> Result<StoredGroup, Error> {
        let spec = serde_json::from_str(&self.spec).map_err(|e| {
            Error::internal(anyhow::anyhow!("stored rule group is not valid JSON: {e}"))
        })?;
        Ok(StoredGroup {
            namespace: self.namespace,
            spec,
            version: self.version,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
        })
    }
}

const COLUMNS: &str = "namespace, spec, version, updated_at, updated_by";

/// Every group, namespace by namespace, in the order they were created within each.
pub async fn list(db: &SqlitePool) -> Result<Vec<StoredGroup>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rule_groups ORDER BY namespace, position, name"
    ))
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_stored).collect()
}

/// `(namespace, name, version)` of every group: what the rule manager compares with what
/// it runs.
pub async fn versions(db: &SqlitePool) -> Result<Vec<(String, String, i64)>, Error> {
    Ok(sqlx::query_as(
        "SELECT namespace, name, version FROM rule_groups ORDER BY namespace, position, name",
    )
    .fetch_all(db)
    .await?)
}

/// The groups of one namespace.
pub async fn list_in(db: &SqlitePool, ns: &Namespace) -> Result<Vec<StoredGroup>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rule_groups WHERE namespace = ? ORDER BY position, name"
    ))
    .bind(ns.as_str())
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_stored).collect()
}

pub async fn get(
    db: &SqlitePool,
    ns: &Namespace,
    name: &str,
) -> Result<Option<StoredGroup>, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rule_groups WHERE namespace = ? AND name = ?"
    ))
    .bind(ns.as_str())
    .bind(name)
    .fetch_optional(db)
    .await?;
    row.map(Row::into_stored).transpose()
}

/// How many alerting rules exist (the checklist's evidence).
pub async fn alert_rule_count(db: &SqlitePool) -> Result<usize, Error> {
    Ok(list(db)
        .await?
        .iter()
        .map(|g| g.spec.rules.iter().filter(|r| r.is_alert()).count())
        .sum())
}

/// How the audit log names a group: `namespace/name` (a namespace never holds `/`).
fn audit_target(ns: &Namespace, name: &str) -> String {
    format!("{ns}/{name}")
}

fn conflict(current: Option<StoredGroup>) -> Error {
    Error::version_conflict(
        "the group was changed since you loaded it; compare with the current version",
        current,
    )
}

async fn next_version(
    tx: &mut Transaction<'_, Sqlite>,
    ns: &Namespace,
    name: &str,
) -> Result<i64, sqlx::Error> {
    let max: Option<i64> = sqlx::query_scalar(
        "SELECT max(version) FROM rule_group_versions WHERE namespace = ? AND group_name = ?",
    )
    .bind(ns.as_str())
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(max.unwrap_or(0) + 1)
}

async fn record_version(
    tx: &mut Transaction<'_, Sqlite>,
    ns: &Namespace,
    name: &str,
    version: i64,
    spec: Option<&str>,
    actor: &Actor,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rule_group_versions (namespace, group_name, version, spec, author, at, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ns.as_str())
    .bind(name)
    .bind(version)
    .bind(spec)
    .bind(&actor.login)
    .bind(now())
    .bind(message)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes `group` as a new version inside `tx`. `expected`: `None` = must not exist yet,
/// `Some(v)` = must be at version `v`. Returns the new version and the audit record.
pub async fn write_in(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    ns: &Namespace,
    group: &ValidGroup,
    expected: Option<i64>,
    message: &str,
    action: &str,
) -> Result<(i64, audit::Recorded), Error> {
    let name = group.spec.name.as_str();
    let current: Option<(i64, String)> =
        sqlx::query_as("SELECT version, spec FROM rule_groups WHERE namespace = ? AND name = ?")
            .bind(ns.as_str())
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    let spec_json = serde_json::to_string(&group.spec).map_err(Error::internal)?;
    let version = next_version(tx, ns, name).await?;
    let at = now();
    let before = match (&current, expected) {
        (None, None) => {
            let position: i64 =
                sqlx::query_scalar("SELECT coalesce(max(position), -1) + 1 FROM rule_groups")
                    .fetch_one(&mut **tx)
                    .await?;
            sqlx::query(
                "INSERT INTO rule_groups (namespace, name, position, version, spec, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(ns.as_str())
            .bind(name)
            .bind(position)
            .bind(version)
            .bind(&spec_json)
            .bind(&at)
            .bind(&actor.login)
            .execute(&mut **tx)
            .await?;
            None
        }
        (Some((v, old)), Some(e)) if *v == e => {
            sqlx::query("UPDATE rule_groups SET version = ?, spec = ?, updated_at = ?, updated_by = ? WHERE namespace = ? AND name = ?")
                .bind(version)
                .bind(&spec_json)
                .bind(&at)
                .bind(&actor.login)
                .bind(ns.as_str())
                .bind(name)
                .execute(&mut **tx)
                .await?;
            serde_json::from_str::<serde_json::Value>(old).ok()
        }
        (Some(_), None) => {
            return Err(Error::conflict(
                "name",
                format!("a rule group named `{name}` exists in namespace `{ns}`"),
            ));
        }
        (None, Some(_)) => return Err(Error::not_found("rule group")),
        (Some(_), Some(_)) => {
            return Err(Error::version_conflict("stale", serde_json::Value::Null))
        }
    };
    record_version(tx, ns, name, version, Some(&spec_json), actor, message).await?;
    let rec = audit::record(
        tx,
        actor,
        action,
        "rule_group",
        &audit_target(ns, name),
        before,
        serde_json::from_str(&spec_json).ok(),
    )
    .await?;
    Ok((version, rec))
}

/// Creates (`expected = None`) or updates a group in its own transaction.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    ns: &Namespace,
    group: &ValidGroup,
    expected: Option<i64>,
    message: &str,
) -> Result<StoredGroup, Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let action = if expected.is_some() {
        "rule_group.update"
    } else {
        "rule_group.create"
    };
    match write_in(&mut tx, actor, ns, group, expected, message, action).await {
        Ok((_, rec)) => {
            audit::commit(tx, metrics, rec).await?;
        }
        Err(Error::VersionConflict { .. }) => {
            drop(tx);
            return Err(conflict(get(db, ns, &group.spec.name).await?));
        }
        Err(e) => return Err(e),
    }
    get(db, ns, &group.spec.name)
        .await?
        .ok_or_else(|| Error::internal(anyhow::anyhow!("saved group vanished")))
}

/// Deletes a group at the version the caller saw; checked and written in one writing
/// transaction, so a concurrent save makes this a 409, never a lost update.
pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    ns: &Namespace,
    name: &str,
    expected: i64,
) -> Result<(), Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rule_groups WHERE namespace = ? AND name = ?"
    ))
    .bind(ns.as_str())
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let current = row
        .map(Row::into_stored)
        .transpose()?
        .ok_or_else(|| Error::not_found("rule group"))?;
    if expected != current.version {
        drop(tx);
        return Err(conflict(Some(current)));
    }
    sqlx::query("DELETE FROM rule_groups WHERE namespace = ? AND name = ?")
        .bind(ns.as_str())
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let version = next_version(&mut tx, ns, name).await?;
    record_version(&mut tx, ns, name, version, None, actor, "deleted").await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "rule_group.delete",
        "rule_group",
        &audit_target(ns, name),
        serde_json::to_value(&current.spec).ok(),
        None,
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

pub async fn history(
    db: &SqlitePool,
    ns: &Namespace,
    name: &str,
) -> Result<Vec<VersionInfo>, Error> {
    let rows: Vec<(i64, String, String, String, bool)> = sqlx::query_as(
        "SELECT version, author, at, message, spec IS NULL FROM rule_group_versions WHERE namespace = ? AND group_name = ? ORDER BY version DESC",
    )
    .bind(ns.as_str())
    .bind(name)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(version, author, at, message, deleted)| VersionInfo {
            version,
            author,
            at,
            message,
            deleted,
        })
        .collect())
}

pub async fn version(
    db: &SqlitePool,
    ns: &Namespace,
    name: &str,
    version: i64,
) -> Result<Option<GroupSpec>, Error> {
    let spec: Option<Option<String>> = sqlx::query_scalar(
        "SELECT spec FROM rule_group_versions WHERE namespace = ? AND group_name = ? AND version = ?",
    )
    .bind(ns.as_str())
    .bind(name)
    .bind(version)
    .fetch_optional(db)
    .await?;
    match spec.flatten() {
        Some(s) => Ok(Some(serde_json::from_str(&s).map_err(|e| {
            Error::internal(anyhow::anyhow!("stored version: {e}"))
        })?)),
        None => Ok(None),
    }
}
