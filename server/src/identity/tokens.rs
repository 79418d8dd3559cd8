//! API tokens: created by a user, shown once, stored as a SHA-256 digest, optionally
//! expiring, never above their creator's role; listed and revoked.

use app::dto::{CreatedToken, Role, TokenView};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::SqlitePool;

use super::password::{digest, random_hex};
use super::users::UserRow;
use super::{parse_name, parse_role};
use crate::actor::Actor;
use crate::audit;
use crate::db::{now, timestamp};
use crate::error::Error;
use crate::metrics::Metrics;

/// Every token starts with this, so secret scanners can recognise a leaked one.
pub const PREFIX: &str = "keiko_";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub role: Option<String>,
    /// `["ingest"]` for a token that may only push metrics.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// RFC 3339; must lie in the future.
    pub expires_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    name: String,
    role: String,
    scopes: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TokenRow {
    fn view(self) -> TokenView {
        TokenView {
            id: self.id,
            name: self.name,
            role: Role::parse(&self.role).unwrap_or(Role::Viewer),
            scopes: scopes_of(&self.scopes),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked: self.revoked_at.is_some(),
        }
    }
}

/// The scope that limits a token to pushing metrics.
pub const INGEST: &str = "ingest";

fn scopes_of(stored: &str) -> Vec<String> {
    (!stored.is_empty())
        .then(|| stored.to_owned())
        .into_iter()
        .collect()
}

pub async fn create(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    req: CreateToken,
) -> Result<CreatedToken, Error> {
    let name = parse_name("name", &req.name, false)?;
    let scope = match req.scopes.as_slice() {
        [] => "",
        [s] if s == INGEST => INGEST,
        _ => {
            return Err(Error::invalid(
                "scopes",
                "the only scope is `ingest` (a token that may only push metrics); leave it out for a full token",
            ))
        }
    };
    let role = match req.role.as_deref() {
        Some(r) => parse_role(r)?,
        // Pushing needs Editor; an ingest token can do nothing else.
        None if scope == INGEST => Role::Editor,
        None => actor.role,
    };
    if role > actor.role {
        return Err(Error::invalid(
            "role",
            format!(
                "a token cannot have a higher role than its creator ({})",
                actor.role
            ),
        ));
    }
    let expires_at = match req.expires_at.as_deref() {
        Some(s) => {
            let t = DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    Error::invalid(
                        "expires_at",
                        "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z",
                    )
                })?
                .with_timezone(&Utc);
            if t <= Utc::now() {
                return Err(Error::invalid("expires_at", "must lie in the future"));
            }
            Some(timestamp(t))
        }
        None => None,
    };
    let secret = format!("{PREFIX}{}", random_hex(20));
    let created_at = now();
    let mut tx = crate::db::begin_write(db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, role, scopes, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(actor.user_id)
    .bind(&name)
    .bind(digest(&secret))
    .bind(role.as_str())
    .bind(scope)
    .bind(&created_at)
    .bind(&expires_at)
    .fetch_one(&mut *tx)
    .await?;
    let info = TokenView {
        id,
        name,
        role,
        scopes: scopes_of(scope),
        created_at,
        expires_at,
        last_used_at: None,
        revoked: false,
    };
    let rec = audit::record(
        &mut tx,
        actor,
        "token.create",
        "api_token",
        id,
        None,
        Some(serde_json::to_value(&info).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(CreatedToken {
        info,
        token: secret,
    })
}

const SELECT_TOKEN: &str =
    "SELECT id, name, role, scopes, created_at, expires_at, last_used_at, revoked_at FROM api_tokens";

/// The tokens a user created, newest first.
pub async fn list(db: &SqlitePool, user_id: i64) -> Result<Vec<TokenView>, sqlx::Error> {
    let rows: Vec<TokenRow> = sqlx::query_as(&format!(
        "{SELECT_TOKEN} WHERE user_id = ? ORDER BY id DESC"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(TokenRow::view).collect())
}

/// Revokes a token: its owner or an admin may.
pub async fn revoke(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await?;
    let owner = owner.ok_or_else(|| Error::not_found("token"))?;
    if owner != actor.user_id {
        actor.require(Role::Admin)?;
    }
    let before: TokenRow = sqlx::query_as(&format!("{SELECT_TOKEN} WHERE id = ?"))
        .bind(id)
        .fetch_one(db)
        .await?;
    let before = before.view();
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut after = before.clone();
    after.revoked = true;
    let rec = audit::record(
        &mut tx,
        actor,
        "token.revoke",
        "api_token",
        id,
        Some(serde_json::to_value(&before).unwrap_or_default()),
        Some(serde_json::to_value(&after).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

/// A usable token: its id, its user, and the role it acts with (the lower of the token's
/// and the user's current role, so demoting a user also limits their tokens).
pub struct TokenUse {
    pub id: i64,
    pub user: UserRow,
    pub role: Role,
    /// May only push metrics.
    pub ingest_only: bool,
}

/// When each API token was last used, kept in memory and written in one transaction every
/// few seconds (see [`UseRecorder::spawn`]): recording it on every request cost an fsync
/// per request. At most one entry per token, so memory is bounded by the token table.
#[derive(Clone, Default)]
pub struct UseRecorder {
    pending: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, String>>>,
}

impl UseRecorder {
    pub fn record(&self, id: i64, at: String) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, at);
    }

    /// Writes what was recorded since the last flush.
    pub async fn flush(&self, db: &SqlitePool) -> Result<(), sqlx::Error> {
        let batch: Vec<(i64, String)> = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = crate::db::begin_write(db).await?;
        for (id, at) in &batch {
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ? \
                 AND (last_used_at IS NULL OR last_used_at < ?)",
            )
            .bind(at)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Flushes every `every` until the process ends.
    pub fn spawn(&self, db: SqlitePool, every: std::time::Duration) {
        let recorder = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(err) = recorder.flush(&db).await {
                    tracing::warn!(error = %err, error_type = "DatabaseError", "Recording API token use failed");
                }
            }
        });
    }
}

pub async fn authenticate(
    db: &SqlitePool,
    uses: &UseRecorder,
    secret: &str,
) -> Result<Option<TokenUse>, sqlx::Error> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let at = now();
    let found: Option<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, user_id, role, scopes FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > ?)",
    )
    .bind(digest(secret))
    .bind(&at)
    .fetch_optional(db)
    .await?;
    let Some((id, user_id, role, scopes)) = found else {
        return Ok(None);
    };
    let Some(user) = super::users::by_id(db, user_id)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(None);
    };
    uses.record(id, at);
    let role = Role::parse(&role).unwrap_or(Role::Viewer).min(user.role());
    Ok(Some(TokenUse {
        id,
        user,
        role,
        ingest_only: scopes == INGEST,
    }))
}
