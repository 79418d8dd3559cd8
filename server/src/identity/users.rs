//! Users: storage, the admin operations on them, and password sign-in with lockout.

use super::guard::{Policy, SignInGuard};
use app::dto::{Role, TeamRef, UserView};
use serde::Deserialize;
use sqlx::SqlitePool;

use super::{parse_name, parse_role, password, Login, Password};
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::{unique_violation, Error};
use crate::metrics::Metrics;

#[derive(sqlx::FromRow, Clone)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub language: String,
}

impl UserRow {
    pub fn role(&self) -> Role {
        // The CHECK constraint admits only the three names.
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

/// The language of the portal's own pages, which the checklist follows until a user picks
/// one (the UI is written in English; the seed's checklist texts exist in both).
pub const UI_LANGUAGE: &str = "en";

// `language`: the user's choice, or the UI's when they never chose.
const SELECT_USER: &str = "SELECT id, login, name, role, password_hash, disabled, failed_logins, \
                           locked_until, created_at, \
                           CASE WHEN language_chosen = 1 THEN language ELSE 'en' END AS language \
                           FROM users";

pub async fn by_id(db: &SqlitePool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_USER} WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn by_login(db: &SqlitePool, login: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT_USER} WHERE login = ? COLLATE NOCASE"))
        .bind(login)
        .fetch_optional(db)
        .await
}

async fn teams_of(db: &SqlitePool, user_id: i64) -> Result<Vec<TeamRef>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT t.id, t.name FROM teams t JOIN team_members m ON m.team_id = t.id \
         WHERE m.user_id = ? ORDER BY t.name",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| TeamRef { id, name })
        .collect())
}

pub async fn view(db: &SqlitePool, row: &UserRow) -> Result<UserView, sqlx::Error> {
    Ok(UserView {
        id: row.id,
        login: row.login.clone(),
        name: row.name.clone(),
        role: row.role(),
        disabled: row.disabled,
        created_at: row.created_at.clone(),
        language: row.language.clone(),
        teams: teams_of(db, row.id).await?,
    })
}

pub async fn list(db: &SqlitePool) -> Result<Vec<UserView>, sqlx::Error> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!("{SELECT_USER} ORDER BY login"))
        .fetch_all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(view(db, row).await?);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub login: String,
    pub password: String,
    pub role: String,
    #[serde(default)]
    pub name: Option<String>,
}

pub async fn create(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    req: CreateUser,
) -> Result<UserView, Error> {
    actor.require(Role::Admin)?;
    let login = Login::parse(&req.login)?;
    let password = Password::parse(&req.password)?;
    let role = parse_role(&req.role)?;
    let name = parse_name("name", req.name.as_deref().unwrap_or(""), true)?;
    if by_login(db, login.as_str()).await?.is_some() {
        return Err(Error::conflict("login", "a user with this login exists"));
    }
    let hash = password::hash(password.expose()).await?;
    let mut tx = crate::db::begin_write(db).await?;
    let at = now();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, name, role, password_hash, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(login.as_str())
    .bind(&name)
    .bind(role.as_str())
    .bind(&hash)
    .bind(&at)
    .bind(&at)
    .fetch_one(&mut *tx)
    .await
    .map_err(unique_violation("login", "a user with this login exists"))?;
    let created = UserView {
        id,
        login: login.as_str().to_owned(),
        name,
        role,
        disabled: false,
        created_at: at,
        language: UI_LANGUAGE.into(),
        teams: vec![],
    };
    let rec = audit::record(
        &mut tx,
        actor,
        "user.create",
        "user",
        id,
        None,
        Some(serde_json::to_value(&created).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(created)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
    /// A new password: an admin resets anyone's; a user changes their own with
    /// `current_password`.
    pub password: Option<String>,
    pub current_password: Option<String>,
    /// `de` or `en`: the language of checklist texts.
    pub language: Option<String>,
}

async fn enabled_admins(db: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'Admin' AND disabled = 0")
        .fetch_one(db)
        .await
}

pub async fn update(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
    req: UpdateUser,
) -> Result<UserView, Error> {
    let is_self = actor.user_id == id;
    if !is_self || req.role.is_some() || req.disabled.is_some() {
        actor.require(Role::Admin)?;
    }
    let row = by_id(db, id)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    let before = view(db, &row).await?;

    let name = req
        .name
        .as_deref()
        .map(|n| parse_name("name", n, true))
        .transpose()?;
    let role = req.role.as_deref().map(parse_role).transpose()?;
    if let Some(lang) = req.language.as_deref() {
        if lang != "de" && lang != "en" {
            return Err(Error::invalid("language", "use de or en"));
        }
    }
    let new_hash = match &req.password {
        Some(pw) => {
            let pw = Password::parse(pw)?;
            if actor.role < Role::Admin || is_self {
                let current = req.current_password.as_deref().ok_or_else(|| {
                    Error::invalid(
                        "current_password",
                        "is required to change your own password",
                    )
                })?;
                if !password::verify(current, Some(row.password_hash.clone())).await? {
                    return Err(Error::invalid(
                        "current_password",
                        "is not your current password",
                    ));
                }
            }
            Some(password::hash(pw.expose()).await?)
        }
        None => None,
    };
    let demotes_admin = row.role() == Role::Admin
        && (role.is_some_and(|r| r != Role::Admin) || req.disabled == Some(true));
    if demotes_admin && !row.disabled && enabled_admins(db).await? <= 1 {
        return Err(Error::conflict(
            if req.disabled == Some(true) {
                "disabled"
            } else {
                "role"
            },
            "this is the last enabled admin; promote another user first",
        ));
    }

    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query(
        "UPDATE users SET name = coalesce(?, name), role = coalesce(?, role), \
         disabled = coalesce(?, disabled), password_hash = coalesce(?, password_hash), \
         language = coalesce(?, language), language_chosen = language_chosen OR ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&name)
    .bind(role.map(Role::as_str))
    .bind(req.disabled)
    .bind(&new_hash)
    .bind(&req.language)
    .bind(req.language.is_some())
    .bind(now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // A disabled user or a changed password ends every session of that user.
    if req.disabled == Some(true) || new_hash.is_some() {
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let mut after = before.clone();
    if let Some(n) = name {
        after.name = n;
    }
    if let Some(r) = role {
        after.role = r;
    }
    if let Some(d) = req.disabled {
        after.disabled = d;
    }
    if let Some(l) = &req.language {
        after.language = l.clone();
    }
    let action =
        if new_hash.is_some() && req.name.is_none() && role.is_none() && req.disabled.is_none() {
            "user.password_change"
        } else {
            "user.update"
        };
    let rec = audit::record(
        &mut tx,
        actor,
        action,
        "user",
        id,
        Some(serde_json::to_value(&before).unwrap_or_default()),
        Some(serde_json::to_value(&after).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(after)
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    actor.require(Role::Admin)?;
    let row = by_id(db, id)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    if row.id == actor.user_id {
        return Err(Error::conflict("id", "you cannot delete yourself"));
    }
    if row.role() == Role::Admin && !row.disabled && enabled_admins(db).await? <= 1 {
        return Err(Error::conflict("id", "this is the last enabled admin"));
    }
    let before = view(db, &row).await?;
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "user.delete",
        "user",
        id,
        Some(serde_json::to_value(&before).unwrap_or_default()),
        None,
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

/// Why a sign-in failed.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInError {
    /// Unknown login, wrong password or disabled user: one answer for all three.
    Invalid,
    /// Too many failures for this login from this address; try again after this many seconds.
    Locked { retry_after_secs: u64 },
    /// Every hashing slot and queue place is taken; try again shortly.
    Busy,
}

/// One password sign-in: who, with what, from where, and whether a success may be
/// remembered (HTTP Basic, which sends the password with every request).
pub struct Attempt<'a> {
    pub login: &'a str,
    pub password: &'a str,
    /// Label for `keiko_security_events_total{source}`.
    pub source: &'a str,
    pub client_addr: &'a str,
    pub remember: bool,
}

/// Checks a login and password. Every failure is counted in
/// `keiko_security_events_total{event_type="login_failed"}`; the failure that reaches the
/// threshold locks the login for this client address and counts `account_locked`.
pub async fn sign_in(
    db: &SqlitePool,
    metrics: &Metrics,
    guard: &SignInGuard,
    policy: Policy,
    attempt: Attempt<'_>,
) -> Result<UserRow, SignInError> {
    let Attempt {
        login,
        password: password_attempt,
        source,
        client_addr,
        remember,
    } = attempt;
    if let Some(retry_after_secs) = guard.locked(login, client_addr) {
        metrics.security_event("login_locked_out", "warning", source);
        return Err(SignInError::Locked { retry_after_secs });
    }
    let row = by_login(db, login).await.ok().flatten();
    if remember {
        if let (Some(row), Some((id, hash))) = (&row, guard.remembered(login, password_attempt)) {
            if row.id == id && row.password_hash == hash && !row.disabled {
                return Ok(row.clone());
            }
        }
    }
    let ok = password::verify(
        password_attempt,
        row.as_ref().map(|r| r.password_hash.clone()),
    )
    .await
    .map_err(|_| SignInError::Busy)?;
    match row {
        Some(row) if ok && !row.disabled => {
            guard.succeeded(login, client_addr);
            if remember {
                guard.remember(login, password_attempt, row.id, &row.password_hash);
            }
            Ok(row)
        }
        row => {
            metrics.security_event("login_failed", "warning", source);
            if guard.failed(login, client_addr, policy) {
                metrics.security_event("account_locked", "critical", source);
                match &row {
                    Some(row) => tracing::warn!(
                        login = %row.login,
                        client_addr,
                        "Login locked for this address after repeated failures"
                    ),
                    None => tracing::warn!(
                        client_addr,
                        "Unknown login locked for this address after repeated failures"
                    ),
                }
            }
            Err(SignInError::Invalid)
        }
    }
}

/// The team a fresh portal starts with, so the checklist has a team to track from the start.
pub const DEFAULT_TEAM: &str = "Default";

/// First start: creates `admin` when there is no user at all, and the team `Default` with
/// `admin` as its member (unless a team of that name exists). The password comes from
/// `KEIKO_ADMIN_PASSWORD`, or is generated and written once to `<data dir>/admin-password`
/// (mode 0600). The password itself is never logged.
pub async fn bootstrap_admin(
    db: &SqlitePool,
    data_dir: &std::path::Path,
    from_env: Option<String>,
) -> anyhow::Result<()> {
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(db)
        .await?;
    if users > 0 {
        return Ok(());
    }
    let (secret, file) = match from_env {
        Some(pw) => {
            Password::parse(&pw)
                .map_err(|e| anyhow::anyhow!("KEIKO_ADMIN_PASSWORD {}", e.message))?;
            (pw, None)
        }
        None => {
            let pw = password::random_hex(16);
            let path = data_dir.join("admin-password");
            write_secret_file(&path, &pw)?;
            (pw, Some(path))
        }
    };
    let hash = password::hash(&secret).await?;
    let at = now();
    let mut tx = crate::db::begin_write(db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, name, role, password_hash, created_at, updated_at) \
         VALUES ('admin', 'Administrator', 'Admin', ?, ?, ?) RETURNING id",
    )
    .bind(&hash)
    .bind(&at)
    .bind(&at)
    .fetch_one(&mut *tx)
    .await?;
    let system = Actor {
        user_id: id,
        login: "system".into(),
        role: Role::Admin,
        correlation_id: "bootstrap".into(),
        client_addr: "local".into(),
    };
    audit::record(
        &mut tx,
        &system,
        "user.bootstrap_admin",
        "user",
        id,
        None,
        Some(serde_json::json!({ "login": "admin", "role": "Admin" })),
    )
    .await?;
    let team: Option<i64> = sqlx::query_scalar(
        "INSERT INTO teams (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(DEFAULT_TEAM)
    .bind(&at)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(team) = team {
        sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES (?, ?)")
            .bind(team)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            &system,
            "team.create",
            "team",
            team,
            None,
            Some(serde_json::json!({ "name": DEFAULT_TEAM, "members": ["admin"] })),
        )
        .await?;
    }
    tx.commit().await?;
    match file {
        Some(path) => tracing::warn!(
            path = %path.display(),
            "Created user admin; its generated password is in this file (mode 0600)"
        ),
        None => tracing::warn!("Created user admin with the password from KEIKO_ADMIN_PASSWORD"),
    }
    Ok(())
}

fn write_secret_file(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}
