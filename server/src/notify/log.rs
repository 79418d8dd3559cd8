//! The notification log: every notification sent or failed — to which contact point and
//! target, when, for which group, how many alerts, how many attempts, the receiver's answer.
//! The newest 10,000 entries are kept. Beside it, what decides whether a group is notified
//! again ([`Entry`], Alertmanager's nflog), kept across restarts.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::contact_points::ContactPoint;
use super::payloads::Data;
use super::senders::Outcome;
use crate::error::Error;

const KEEP: i64 = 10_000;

/// Appends one entry; a failure to write is logged, never fatal to delivery.
pub async fn record(
    db: &SqlitePool,
    cp: &ContactPoint,
    group_key: &str,
    data: &Data,
    outcome: &Outcome,
) {
    let (result, answer) = match &outcome.result {
        Ok(a) => ("sent", a.clone()),
        Err(e) => ("failed", e.clone()),
    };
    let write = async {
        sqlx::query("INSERT INTO notification_log (at, receiver, type, target, group_key, status, alerts, attempts, outcome, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(crate::db::now())
            .bind(&cp.name)
            .bind(cp.settings.kind())
            .bind(&outcome.target)
            .bind(group_key)
            .bind(data.status())
            .bind(data.alerts.len() as i64)
            .bind(outcome.attempts as i64)
            .bind(result)
            .bind(&answer)
            .execute(db)
            .await?;
        sqlx::query(
            "DELETE FROM notification_log WHERE id <= (SELECT max(id) FROM notification_log) - ?",
        )
        .bind(KEEP)
        .execute(db)
        .await
    };
    if let Err(err) = write.await {
        tracing::warn!(error = %err, error_type = "NotificationLogWrite", "Writing the notification log failed");
    }
}

/// The newest entries first; `receiver` filters by contact point name.
pub async fn list(
    db: &SqlitePool,
    receiver: Option<&str>,
    limit: i64,
) -> Result<Vec<Value>, Error> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        String,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, receiver, type, target, group_key, status, alerts, attempts, outcome, answer FROM notification_log \
         WHERE (?1 IS NULL OR receiver = ?1) ORDER BY id DESC LIMIT ?2",
    )
    .bind(receiver)
    .bind(limit.clamp(1, 1000))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.0, "at": r.1, "receiver": r.2, "type": r.3, "target": r.4, "groupKey": r.5,
                "status": r.6, "alerts": r.7, "attempts": r.8, "outcome": r.9, "answer": r.10,
            })
        })
        .collect())
}

/// What was last notified for one aggregation group and contact point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub firing: BTreeSet<u64>,
    pub resolved: BTreeSet<u64>,
    /// When, in Unix ms.
    pub at_ms: i64,
}

/// Entries older than this are forgotten (Alertmanager keeps its log 120 h).
const ENTRY_RETENTION_MS: i64 = 120 * 3600 * 1000;

fn set_text(s: &BTreeSet<u64>) -> String {
    s.iter()
        .map(|f| format!("{f:016x}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn set_parse(s: &str) -> BTreeSet<u64> {
    s.split(',')
        .filter_map(|f| u64::from_str_radix(f, 16).ok())
        .collect()
}

pub async fn load_entries(db: &SqlitePool) -> HashMap<String, Entry> {
    let rows: Result<Vec<(String, String, String, i64)>, _> =
        sqlx::query_as("SELECT key, firing, resolved, at_ms FROM notification_state")
            .fetch_all(db)
            .await;
    match rows {
        Ok(rows) => rows
            .into_iter()
            .map(|(k, f, r, at_ms)| {
                (
                    k,
                    Entry {
                        firing: set_parse(&f),
                        resolved: set_parse(&r),
                        at_ms,
                    },
                )
            })
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, error_type = "NotificationStateRead", "Reading the notification state failed; groups may be notified again");
            HashMap::new()
        }
    }
}

pub async fn save_entry(db: &SqlitePool, key: &str, entry: &Entry) {
    let write = async {
        sqlx::query("INSERT INTO notification_state (key, firing, resolved, at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, at_ms = excluded.at_ms")
            .bind(key)
            .bind(set_text(&entry.firing))
            .bind(set_text(&entry.resolved))
            .bind(entry.at_ms)
            .execute(db)
            .await?;
        sqlx::query("DELETE FROM notification_state WHERE at_ms < ?")
            .bind(entry.at_ms - ENTRY_RETENTION_MS)
            .execute(db)
            .await
    };
    if let Err(err) = write.await {
        tracing::warn!(error = %err, error_type = "NotificationStateWrite", "Writing the notification state failed");
    }
}
