//! Active alerts in SQLite (`alert_states`), one row per alerting rule, written when an
//! alert starts, changes state or ends, and read back when a group starts after a restart.

use std::collections::HashMap;

use sqlx::SqlitePool;

use super::state::{Alert, RuleAlerts};
use crate::error::Error;

/// The stored alerts of a group's rules, by rule position and name.
pub async fn load(
    db: &SqlitePool,
    namespace: &str,
    group: &str,
) -> Result<HashMap<(i64, String), RuleAlerts>, Error> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT rule_index, rule_name, alerts FROM alert_states WHERE namespace = ? AND group_name = ?",
    )
    .bind(namespace)
    .bind(group)
    .fetch_all(db)
    .await?;
    let mut out = HashMap::new();
    for (index, name, alerts) in rows {
        let alerts: Vec<Alert> = serde_json::from_str(&alerts).map_err(|e| {
            Error::internal(anyhow::anyhow!("stored alert state is not valid JSON: {e}"))
        })?;
        out.insert(
            (index, name),
            RuleAlerts {
                active: alerts.into_iter().map(|a| (a.labels.clone(), a)).collect(),
            },
        );
    }
    Ok(out)
}

/// Writes the alerts of the rules of one group that changed in an evaluation (a rule with
/// none: its row goes), in one transaction: with thousands of rules, one transaction per
/// rule held the write lock for most of the interval.
pub async fn save(
    db: &SqlitePool,
    namespace: &str,
    group: &str,
    changed: &[(usize, String, RuleAlerts)],
) -> Result<(), Error> {
    if changed.is_empty() {
        return Ok(());
    }
    let mut tx = crate::db::begin_write(db).await?;
    let now = crate::db::now();
    for (index, name, alerts) in changed {
        if alerts.active.is_empty() {
            sqlx::query(
                "DELETE FROM alert_states WHERE namespace = ? AND group_name = ? AND rule_index = ?",
            )
            .bind(namespace)
            .bind(group)
            .bind(*index as i64)
            .execute(&mut *tx)
            .await?;
            continue;
        }
        let list: Vec<&Alert> = alerts.active.values().collect();
        let json =
            serde_json::to_string(&list).map_err(|e| Error::internal(anyhow::Error::from(e)))?;
        sqlx::query(
            "INSERT INTO alert_states (namespace, group_name, rule_index, rule_name, alerts, updated_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (namespace, group_name, rule_index) DO UPDATE SET rule_name = excluded.rule_name, alerts = excluded.alerts, updated_at = excluded.updated_at",
        )
        .bind(namespace)
        .bind(group)
        .bind(*index as i64)
        .bind(name)
        .bind(json)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Forgets the alerts of a deleted group, or of rules past `keep` in a shortened one.
pub async fn forget(
    db: &SqlitePool,
    namespace: &str,
    group: &str,
    keep: usize,
) -> Result<(), Error> {
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query(
        "DELETE FROM alert_states WHERE namespace = ? AND group_name = ? AND rule_index >= ?",
    )
    .bind(namespace)
    .bind(group)
    .bind(keep as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
