//! The audit log: every change made through the portal, appended in the same transaction as
//! the change (so there is no change without its record), then published to the
//! `keiko.audit` log file and counted in `keiko_user_actions_total`.

use app::dto::AuditEntry;
use serde_json::Value;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::actor::Actor;
use crate::db::now;
use crate::metrics::Metrics;
use crate::telemetry::AUDIT_TARGET;

/// A committed change, ready to be published.
#[derive(Debug)]
pub struct Recorded {
    action: String,
    object_type: &'static str,
    object_id: String,
    actor_login: String,
    actor_role: String,
}

/// Appends one record inside `tx`. `before`/`after` are the object's API views (never
/// secrets); `None` where the object did not exist.
pub async fn record(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &Actor,
    action: &str,
    object_type: &'static str,
    object_id: impl ToString,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<Recorded, sqlx::Error> {
    let object_id = object_id.to_string();
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_login, actor_role, action, object_type, \
         object_id, before_json, after_json, correlation_id, client_addr) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(now())
    .bind(actor.user_id)
    .bind(&actor.login)
    .bind(actor.role.as_str())
    .bind(action)
    .bind(object_type)
    .bind(&object_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .bind(&actor.correlation_id)
    .bind(&actor.client_addr)
    .execute(&mut **tx)
    .await?;
    Ok(Recorded {
        action: action.to_owned(),
        object_type,
        object_id,
        actor_login: actor.login.clone(),
        actor_role: actor.role.as_str().to_owned(),
    })
}

/// Commits `tx` (the change and its record together), then publishes the record.
pub async fn commit(
    tx: Transaction<'_, Sqlite>,
    metrics: &Metrics,
    recorded: Recorded,
) -> Result<(), sqlx::Error> {
    tx.commit().await?;
    publish(metrics, recorded);
    Ok(())
}

/// After the commit: the audit file line and the action counter.
pub fn publish(metrics: &Metrics, recorded: Recorded) {
    metrics
        .user_actions_total
        .with_label_values(&[recorded.action.as_str(), recorded.actor_role.as_str()])
        .inc();
    tracing::info!(
        target: AUDIT_TARGET,
        action = %recorded.action,
        object_type = recorded.object_type,
        object_id = %recorded.object_id,
        actor = %recorded.actor_login,
        "Change recorded"
    );
}

/// Filters of `GET /api/v1/audit`; all optional, combined with AND.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub correlation_id: Option<String>,
    /// RFC 3339; entries at or after.
    pub since: Option<String>,
    /// RFC 3339; entries before.
    pub until: Option<String>,
    /// Only entries with a smaller id (for paging backwards).
    pub before_id: Option<i64>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor_id: Option<i64>,
    actor_login: String,
    actor_role: String,
    action: String,
    object_type: String,
    object_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    correlation_id: String,
    client_addr: String,
}

pub async fn list(db: &SqlitePool, filter: &AuditFilter) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000) as i64;
    // Every filter is a bound parameter; NULL means "not filtered".
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT id, at, actor_id, actor_login, actor_role, action, object_type, object_id, \
         before_json, after_json, correlation_id, client_addr FROM audit_log \
         WHERE (?1 IS NULL OR actor_login = ?1 COLLATE NOCASE) \
           AND (?2 IS NULL OR action = ?2) \
           AND (?3 IS NULL OR object_type = ?3) \
           AND (?4 IS NULL OR object_id = ?4) \
           AND (?5 IS NULL OR correlation_id = ?5) \
           AND (?6 IS NULL OR at >= ?6) \
           AND (?7 IS NULL OR at < ?7) \
           AND (?8 IS NULL OR id < ?8) \
         ORDER BY id DESC LIMIT ?9",
    )
    .bind(&filter.actor)
    .bind(&filter.action)
    .bind(&filter.object_type)
    .bind(&filter.object_id)
    .bind(&filter.correlation_id)
    .bind(&filter.since)
    .bind(&filter.until)
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            actor_login: r.actor_login,
            actor_role: r.actor_role,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            before: parse(r.before_json),
            after: parse(r.after_json),
            correlation_id: r.correlation_id,
            client_addr: r.client_addr,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::dto::Role;

    #[tokio::test]
    async fn the_audit_log_refuses_updates_and_deletes_even_in_sql() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("keiko.db")).await.unwrap();
        let actor = Actor {
            user_id: 1,
            login: "tester".into(),
            role: Role::Admin,
            correlation_id: "c-1".into(),
            client_addr: "127.0.0.1".into(),
        };
        let mut tx = crate::db::begin_write(&db).await.unwrap();
        record(
            &mut tx,
            &actor,
            "thing.create",
            "thing",
            7,
            None,
            Some(serde_json::json!({"a": 1})),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let update = sqlx::query("UPDATE audit_log SET actor_login = 'someone else'")
            .execute(&db)
            .await
            .unwrap_err();
        assert!(update.to_string().contains("append-only"), "{update}");
        let delete = sqlx::query("DELETE FROM audit_log")
            .execute(&db)
            .await
            .unwrap_err();
        assert!(delete.to_string().contains("append-only"), "{delete}");

        let entries = list(&db, &AuditFilter::default()).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor_login, "tester");
        assert_eq!(entries[0].after, Some(serde_json::json!({"a": 1})));
    }
}
