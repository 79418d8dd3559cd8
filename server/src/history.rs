//! Each user's Explore query history in SQLite: the last runs, newest first.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::db::now;
use crate::error::Error;

/// Rows kept per user; older runs are dropped on insert.
const KEEP: i64 = 200;
const MAX_QUERY_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub datasource_id: Option<i64>,
    pub query: String,
    pub created_at: String,
}

/// Records one run; the same query run again moves to the top instead of repeating.
pub async fn record(
    db: &SqlitePool,
    user_id: i64,
    datasource_id: Option<i64>,
    query: &str,
) -> Result<Entry, Error> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::invalid("query", "must not be empty"));
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(Error::invalid("query", "is longer than 16 KiB"));
    }
    let mut tx = crate::db::begin_write(db).await?;
    if let Some(id) = datasource_id {
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM datasources WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(Error::invalid(
                "datasource_id",
                format!("there is no data source {id}"),
            ));
        }
    }
    sqlx::query("DELETE FROM query_history WHERE user_id = ? AND query = ? AND datasource_id IS ?")
        .bind(user_id)
        .bind(query)
        .bind(datasource_id)
        .execute(&mut *tx)
        .await?;
    let entry: Entry = sqlx::query_as(
        "INSERT INTO query_history (user_id, datasource_id, query, created_at) VALUES (?, ?, ?, ?) \
         RETURNING id, datasource_id, query, created_at",
    )
    .bind(user_id)
    .bind(datasource_id)
    .bind(query)
    .bind(now())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM query_history WHERE user_id = ? AND id NOT IN \
         (SELECT id FROM query_history WHERE user_id = ? ORDER BY id DESC LIMIT ?)",
    )
    .bind(user_id)
    .bind(user_id)
    .bind(KEEP)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(entry)
}

/// The user's runs, newest first, optionally for one data source.
pub async fn list(
    db: &SqlitePool,
    user_id: i64,
    datasource_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    Ok(sqlx::query_as(
        "SELECT id, datasource_id, query, created_at FROM query_history \
         WHERE user_id = ? AND (? IS NULL OR datasource_id = ?) ORDER BY id DESC LIMIT ?",
    )
    .bind(user_id)
    .bind(datasource_id)
    .bind(datasource_id)
    .bind(limit.clamp(1, KEEP))
    .fetch_all(db)
    .await?)
}
