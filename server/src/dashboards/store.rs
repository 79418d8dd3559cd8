//! Dashboards in SQLite: the document, its versions, stars and recent views. Every change
//! is one transaction with its audit record; saves check the version the editor started
//! from (409 on a stale save).

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::model::Dashboard;
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::Error;
use crate::metrics::Metrics;

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub uid: String,
    pub title: String,
    pub folder: String,
    pub tags: Vec<String>,
    pub version: i64,
    pub starred: bool,
    pub provisioned_from: Option<String>,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stored {
    pub dashboard: Dashboard,
    pub version: i64,
    pub provisioned_from: Option<String>,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct VersionInfo {
    pub version: i64,
    pub message: String,
    pub author: String,
    pub created_at: String,
}

#[derive(Default)]
pub struct Filter {
    pub query: Option<String>,
    pub tag: Option<String>,
    pub folder: Option<String>,
    pub starred: bool,
}

fn parse_doc(text: &str) -> Result<Dashboard, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(anyhow::anyhow!("stored dashboard unreadable: {e}")))
}

#[derive(sqlx::FromRow)]
struct ListRow {
    uid: String,
    title: String,
    folder: String,
    tags: String,
    version: i64,
    provisioned_from: Option<String>,
    updated_at: String,
    starred: bool,
}

pub async fn list(db: &SqlitePool, user_id: i64, f: &Filter) -> Result<Vec<Summary>, Error> {
    let rows: Vec<ListRow> = sqlx::query_as(
        "SELECT d.uid, d.title, d.folder, d.tags, d.version, d.provisioned_from, d.updated_at, \
             EXISTS (SELECT 1 FROM dashboard_stars s WHERE s.uid = d.uid AND s.user_id = ?) AS starred \
             FROM dashboards d ORDER BY d.title COLLATE NOCASE",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let q = f
        .query
        .as_deref()
        .map(str::to_lowercase)
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|r| Summary {
            uid: r.uid,
            title: r.title,
            folder: r.folder,
            tags: serde_json::from_str(&r.tags).unwrap_or_default(),
            version: r.version,
            starred: r.starred,
            provisioned_from: r.provisioned_from,
            updated_at: r.updated_at,
        })
        .filter(|s| q.is_empty() || s.title.to_lowercase().contains(&q))
        .filter(|s| {
            f.tag
                .as_ref()
                .is_none_or(|t| s.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
        })
        .filter(|s| {
            f.folder
                .as_ref()
                .is_none_or(|d| s.folder.eq_ignore_ascii_case(d))
        })
        .filter(|s| !f.starred || s.starred)
        .collect())
}

pub async fn get(db: &SqlitePool, uid: &str) -> Result<Stored, Error> {
    let row: Option<(String, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT doc, version, provisioned_from, updated_at FROM dashboards WHERE uid = ?",
    )
    .bind(uid)
    .fetch_optional(db)
    .await?;
    let (doc, version, provisioned_from, updated_at) =
        row.ok_or_else(|| Error::not_found("dashboard"))?;
    Ok(Stored {
        dashboard: parse_doc(&doc)?,
        version,
        provisioned_from,
        updated_at,
    })
}

fn new_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// Stores a new dashboard (a uid is made when it has none); 409 if the uid is taken.
pub async fn create(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    mut doc: Dashboard,
    message: &str,
    provisioned_from: Option<&str>,
) -> Result<Stored, Error> {
    if doc.uid.is_empty() {
        doc.uid = new_uid();
    }
    super::model::validate(&doc)?;
    let at = now();
    let text = serde_json::to_string(&doc).map_err(Error::internal)?;
    let mut tx = crate::db::begin_write(db).await?;
    let taken: Option<String> = sqlx::query_scalar("SELECT uid FROM dashboards WHERE uid = ?")
        .bind(&doc.uid)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(Error::conflict(
            "uid",
            format!("a dashboard with uid `{}` exists", doc.uid),
        ));
    }
    sqlx::query(
        "INSERT INTO dashboards (uid, title, folder, tags, doc, version, provisioned_from, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
    )
    .bind(&doc.uid)
    .bind(doc.title.trim())
    .bind(&doc.folder)
    .bind(json!(doc.tags).to_string())
    .bind(&text)
    .bind(provisioned_from)
    .bind(&at)
    .bind(&at)
    .execute(&mut *tx)
    .await?;
    insert_version(&mut tx, &doc.uid, 1, &text, message, &actor.login, &at).await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "dashboard.create",
        "dashboard",
        &doc.uid,
        None,
        Some(summary_json(&doc, 1)),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(Stored {
        dashboard: doc,
        version: 1,
        provisioned_from: provisioned_from.map(str::to_owned),
        updated_at: at,
    })
}

fn summary_json(doc: &Dashboard, version: i64) -> Value {
    json!({ "uid": doc.uid, "title": doc.title, "folder": doc.folder, "tags": doc.tags, "version": version, "panels": doc.panels.len() })
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    uid: &str,
    version: i64,
    doc: &str,
    message: &str,
    author: &str,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dashboard_versions (uid, version, doc, message, author, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(uid)
    .bind(version)
    .bind(doc)
    .bind(message.chars().take(500).collect::<String>())
    .bind(author)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Saves `doc` as the next version if the stored one is still `expected`.
/// What a save is: the version it started from, its message and its audit action.
pub struct Save<'a> {
    pub expected: i64,
    pub message: &'a str,
    pub action: &'a str,
}

pub async fn update(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
    mut doc: Dashboard,
    save: Save<'_>,
) -> Result<Stored, Error> {
    let Save {
        expected,
        message,
        action,
    } = save;
    doc.uid = uid.to_owned();
    super::model::validate(&doc)?;
    let version = expected + 1;
    let at = now();
    let text = serde_json::to_string(&doc).map_err(Error::internal)?;
    let mut tx = crate::db::begin_write(db).await?;
    // The write comes first and names the version it replaces: it takes SQLite's write lock
    // at once (a read first would let two concurrent saves both pass a version check), and
    // a stale save changes no row.
    let written = sqlx::query(
        "UPDATE dashboards SET title = ?, folder = ?, tags = ?, doc = ?, version = ?, updated_at = ? \
         WHERE uid = ? AND version = ?",
    )
    .bind(doc.title.trim())
    .bind(&doc.folder)
    .bind(json!(doc.tags).to_string())
    .bind(&text)
    .bind(version)
    .bind(&at)
    .bind(uid)
    .bind(expected)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if written == 0 {
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM dashboards WHERE uid = ?")
                .bind(uid)
                .fetch_optional(&mut *tx)
                .await?;
        let current = current.ok_or_else(|| Error::not_found("dashboard"))?;
        return Err(Error::Conflict {
            field: "version".into(),
            message: format!("the dashboard changed since you opened it (now version {current}); reload and apply your changes again"),
            current: Some(json!(current)),
        });
    }
    let provisioned_from: Option<String> =
        sqlx::query_scalar("SELECT provisioned_from FROM dashboards WHERE uid = ?")
            .bind(uid)
            .fetch_one(&mut *tx)
            .await?;
    let old_text: String =
        sqlx::query_scalar("SELECT doc FROM dashboard_versions WHERE uid = ? AND version = ?")
            .bind(uid)
            .bind(expected)
            .fetch_one(&mut *tx)
            .await?;
    let old = parse_doc(&old_text)?;
    insert_version(&mut tx, uid, version, &text, message, &actor.login, &at).await?;
    let rec = audit::record(
        &mut tx,
        actor,
        action,
        "dashboard",
        uid,
        Some(summary_json(&old, expected)),
        Some(summary_json(&doc, version)),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(Stored {
        dashboard: doc,
        version,
        provisioned_from,
        updated_at: at,
    })
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
) -> Result<(), Error> {
    let old = get(db, uid).await?;
    let before = summary_json(&old.dashboard, old.version);
    let sql = "DELETE FROM dashboards WHERE uid = ?";
    audited(
        db,
        metrics,
        actor,
        uid,
        sql,
        "dashboard.delete",
        before,
        None,
    )
    .await
}

/// Runs one statement on dashboard `uid` and records it, in one transaction.
#[allow(clippy::too_many_arguments)]
async fn audited(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
    sql: &str,
    action: &str,
    before: Value,
    after: Option<Value>,
) -> Result<(), Error> {
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query(sql).bind(uid).execute(&mut *tx).await?;
    let rec = audit::record(
        &mut tx,
        actor,
        action,
        "dashboard",
        uid,
        Some(before),
        after,
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

pub async fn versions(db: &SqlitePool, uid: &str) -> Result<Vec<VersionInfo>, Error> {
    get(db, uid).await?;
    Ok(sqlx::query_as(
        "SELECT version, message, author, created_at FROM dashboard_versions WHERE uid = ? ORDER BY version DESC",
    )
    .bind(uid)
    .fetch_all(db)
    .await?)
}

pub async fn version(db: &SqlitePool, uid: &str, version: i64) -> Result<Dashboard, Error> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT doc FROM dashboard_versions WHERE uid = ? AND version = ?")
            .bind(uid)
            .bind(version)
            .fetch_optional(db)
            .await?;
    parse_doc(&text.ok_or_else(|| Error::not_found("dashboard version"))?)
}

/// Marks a provisioned dashboard as the portal's own: the file no longer replaces it.
pub async fn unlink(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
) -> Result<(), Error> {
    let old = get(db, uid).await?;
    let before = json!({ "provisioned_from": old.provisioned_from });
    let after = Some(json!({ "provisioned_from": null }));
    let sql = "UPDATE dashboards SET provisioned_from = NULL WHERE uid = ?";
    audited(
        db,
        metrics,
        actor,
        uid,
        sql,
        "dashboard.unlink",
        before,
        after,
    )
    .await
}

/// Whether `user_id` starred `uid` (one row, not the whole list).
pub async fn is_starred(db: &SqlitePool, user_id: i64, uid: &str) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT 1 FROM dashboard_stars WHERE user_id = ? AND uid = ?")
            .bind(user_id)
            .bind(uid)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}

pub async fn set_star(db: &SqlitePool, user_id: i64, uid: &str, on: bool) -> Result<(), Error> {
    get(db, uid).await?;
    let sql = if on {
        "INSERT OR IGNORE INTO dashboard_stars (user_id, uid) VALUES (?, ?)"
    } else {
        "DELETE FROM dashboard_stars WHERE user_id = ? AND uid = ?"
    };
    sqlx::query(sql).bind(user_id).bind(uid).execute(db).await?;
    Ok(())
}

pub async fn record_view(db: &SqlitePool, user_id: i64, uid: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO dashboard_views (user_id, uid, viewed_at) VALUES (?, ?, ?) \
         ON CONFLICT (user_id, uid) DO UPDATE SET viewed_at = excluded.viewed_at",
    )
    .bind(user_id)
    .bind(uid)
    .bind(now())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn recent(db: &SqlitePool, user_id: i64) -> Result<Vec<Value>, Error> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT d.uid, d.title, v.viewed_at FROM dashboard_views v JOIN dashboards d ON d.uid = v.uid \
         WHERE v.user_id = ? ORDER BY v.viewed_at DESC LIMIT 10",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(uid, title, at)| json!({ "uid": uid, "title": title, "viewed_at": at }))
        .collect())
}
