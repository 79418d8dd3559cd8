//! Signing in and out as one step each: the credentials checked (lockout, hashing on its
//! pool), a session started and the sign-in written to the audit log; one session or every
//! session of a user ended, audited. The JSON API and the login form both call these.

use serde_json::json;
use sqlx::SqlitePool;

use super::guard::{Policy, SignInGuard};
use super::sessions::{self, NewSession};
use super::users::{self, Attempt, SignInError, UserRow};
use crate::actor::Actor;
use crate::audit;
use crate::error::Error;
use crate::metrics::Metrics;

/// What a sign-in needs besides the attempt itself.
pub struct Context<'a> {
    pub db: &'a SqlitePool,
    pub metrics: &'a Metrics,
    pub guard: &'a SignInGuard,
    pub lockout: Policy,
    pub session_ttl: chrono::Duration,
    /// The request's `User-Agent`, stored with the session.
    pub user_agent: &'a str,
    /// The request's correlation id, for the audit record.
    pub correlation_id: &'a str,
}

/// Checks the attempt and starts a session.
pub async fn sign_in(
    ctx: Context<'_>,
    attempt: Attempt<'_>,
) -> Result<(UserRow, NewSession), SignInError> {
    let client_addr = attempt.client_addr.to_owned();
    let user = users::sign_in(ctx.db, ctx.metrics, ctx.guard, ctx.lockout, attempt).await?;
    let session = sessions::create(
        ctx.db,
        user.id,
        ctx.session_ttl,
        &client_addr,
        ctx.user_agent,
    )
    .await
    .map_err(|err| {
        tracing::error!(error = %err, error_type = "DatabaseError", "Creating a session failed");
        SignInError::Invalid
    })?;
    let actor = Actor {
        user_id: user.id,
        login: user.login.clone(),
        role: user.role(),
        correlation_id: ctx.correlation_id.to_owned(),
        client_addr,
    };
    if let Err(err) = record_login(ctx.db, ctx.metrics, &actor).await {
        tracing::warn!(error = %err, error_type = "DatabaseError", "Recording a sign-in in the audit log failed");
    }
    Ok((user, session))
}

async fn record_login(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "session.login",
        "session",
        actor.user_id,
        None,
        None,
    )
    .await?;
    audit::commit(tx, metrics, rec).await
}

/// Which sessions a sign-out ends.
pub enum SignOut<'a> {
    /// The session the request came with (`None`: it came with a token or Basic
    /// credentials, so no session ends).
    This(Option<&'a str>),
    /// Every session of the user.
    Everywhere,
}

/// Ends sessions of `actor`'s user and audits it; answers how many ended.
pub async fn sign_out(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    which: SignOut<'_>,
) -> Result<u64, Error> {
    let (ended, action) = match which {
        SignOut::Everywhere => (
            sessions::delete_all_for_user(db, actor.user_id).await?,
            "session.logout_everywhere",
        ),
        SignOut::This(Some(id)) => {
            sessions::delete(db, id).await?;
            (1, "session.logout")
        }
        SignOut::This(None) => (0, "session.logout"),
    };
    let mut tx = crate::db::begin_write(db).await?;
    let rec = audit::record(
        &mut tx,
        actor,
        action,
        "session",
        actor.user_id,
        None,
        Some(json!({ "ended": ended })),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(ended)
}
