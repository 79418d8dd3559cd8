//! Server-side sessions behind the `keiko_session` cookie: created at sign-in, looked up on
//! each request, ended by logout, "log out everywhere", disabling the user, or expiry.

use chrono::{Duration, Utc};
use sqlx::SqlitePool;

use super::password::{digest, random_hex};
use super::users::UserRow;
use crate::db::{now, timestamp};

pub const COOKIE: &str = "keiko_session";

/// A new session: the cookie value (shown to the browser only) and its CSRF token.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

pub async fn create(
    db: &SqlitePool,
    user_id: i64,
    ttl: Duration,
    client_addr: &str,
    user_agent: &str,
) -> Result<NewSession, sqlx::Error> {
    let cookie_value = random_hex(32);
    let csrf_token = random_hex(16);
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at, client_addr, user_agent) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(digest(&cookie_value))
    .bind(user_id)
    .bind(&csrf_token)
    .bind(now())
    .bind(timestamp(Utc::now() + ttl))
    .bind(client_addr)
    .bind(user_agent.chars().take(200).collect::<String>())
    .execute(db)
    .await?;
    Ok(NewSession {
        cookie_value,
        csrf_token,
    })
}

/// A live session and its (enabled) user.
pub struct LiveSession {
    pub id: String,
    pub csrf_token: String,
    pub user: UserRow,
}

pub async fn lookup(
    db: &SqlitePool,
    cookie_value: &str,
) -> Result<Option<LiveSession>, sqlx::Error> {
    let id = digest(cookie_value);
    let found: Option<(String, i64)> =
        sqlx::query_as("SELECT csrf_token, user_id FROM sessions WHERE id = ? AND expires_at > ?")
            .bind(&id)
            .bind(now())
            .fetch_optional(db)
            .await?;
    let Some((csrf_token, user_id)) = found else {
        return Ok(None);
    };
    let user = super::users::by_id(db, user_id).await?;
    Ok(user.filter(|u| !u.disabled).map(|user| LiveSession {
        id,
        csrf_token,
        user,
    }))
}

pub async fn delete(db: &SqlitePool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of the user; returns how many there were.
pub async fn delete_all_for_user(db: &SqlitePool, user_id: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected())
}

/// Sessions that are neither expired nor ended, of enabled users: the exact value of
/// `keiko_user_sessions_active`. Expired rows are removed on the way.
pub async fn count_active(db: &SqlitePool) -> Result<i64, sqlx::Error> {
    let at = now();
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(&at)
        .execute(db)
        .await?;
    sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.expires_at > ? AND u.disabled = 0",
    )
    .bind(&at)
    .fetch_one(db)
    .await
}
