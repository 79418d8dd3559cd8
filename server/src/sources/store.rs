//! Data sources in SQLite, managed by admins. The API view never carries the secret, only
//! whether one is set.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqlitePool;

use super::kind::{not_implemented, Family, SourceKind};
use super::secrets::SecretBox;
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::{unique_violation, Error};
use crate::identity::parse_name;
use crate::metrics::Metrics;
use crate::outbound;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SourceRow {
    pub id: i64,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub url: String,
    pub auth_type: String,
    pub username: String,
    pub secret: Option<String>,
    pub timeout_ms: i64,
    pub is_default: bool,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Type-specific settings, JSON text (`{}` for the types spoken so far).
    pub settings: String,
    /// `metrics`, `logs` or `traces`: the family whose default `is_default` is about.
    pub family: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceView {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `metrics`, `logs` or `traces` (the built-in `embedded` type is one of each store).
    pub family: String,
    pub url: String,
    pub auth: serde_json::Value,
    pub timeout_ms: i64,
    pub default: bool,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Type-specific settings; left out while the type has none.
    #[serde(skip_serializing_if = "is_empty_object")]
    pub settings: serde_json::Value,
}

fn is_empty_object(v: &serde_json::Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

impl SourceRow {
    pub fn view(&self) -> SourceView {
        let mut auth = json!({ "type": self.auth_type });
        if self.auth_type == "basic" {
            auth["username"] = json!(self.username);
        }
        if self.auth_type != "none" {
            auth["has_secret"] = json!(self.secret.is_some());
        }
        SourceView {
            id: self.id,
            name: self.name.clone(),
            kind: self.kind.clone(),
            family: self.family.clone(),
            url: self.url.clone(),
            auth,
            timeout_ms: self.timeout_ms,
            default: self.is_default,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            version: self.version,
            settings: serde_json::from_str(&self.settings).unwrap_or_else(|_| json!({})),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub auth: Option<AuthBody>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub default: Option<bool>,
    /// The version being edited (updates only; optimistic locking).
    #[serde(default)]
    pub version: Option<i64>,
    /// Type-specific settings, checked against the type's own settings struct.
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

const SELECT: &str = "SELECT id, name, type, url, auth_type, username, secret, timeout_ms, is_default, created_at, updated_at, version, settings, family FROM datasources";

pub async fn list(db: &SqlitePool) -> Result<Vec<SourceRow>, Error> {
    Ok(sqlx::query_as(&format!("{SELECT} ORDER BY name"))
        .fetch_all(db)
        .await?)
}

pub async fn get(db: &SqlitePool, id: i64) -> Result<SourceRow, Error> {
    let row: Option<SourceRow> = sqlx::query_as(&format!("{SELECT} WHERE id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.ok_or_else(|| Error::not_found("data source"))
}

/// A body that passed validation, its secret already sealed.
struct Validated {
    name: String,
    kind: SourceKind,
    settings: serde_json::Value,
    url: String,
    auth_type: String,
    username: String,
    secret: Option<String>,
    timeout: i64,
}

impl SourceRow {
    pub fn kind(&self) -> Option<SourceKind> {
        SourceKind::parse(&self.kind)
    }

    /// The family the row was stored for (metrics for every source so far).
    pub fn family(&self) -> Family {
        match self.family.as_str() {
            "logs" => Family::Logs,
            "traces" => Family::Traces,
            _ => Family::Metrics,
        }
    }
}

/// Validates a body; `existing` keeps the stored secret when the body sends none.
fn validated(
    body: &SourceBody,
    existing: Option<&SourceRow>,
    secrets: &SecretBox,
    allow_link_local: bool,
) -> Result<Validated, Error> {
    let name = parse_name("name", &body.name, false)?;
    let was_embedded = existing.and_then(SourceRow::kind) == Some(SourceKind::Embedded);
    let kind = SourceKind::parse(&body.kind);
    match kind {
        Some(SourceKind::Prometheus) if !was_embedded => {}
        // The built-in store: only its name and whether it is the default change.
        Some(SourceKind::Embedded) if was_embedded => {
            if !body.url.is_empty() || body.auth.as_ref().is_some_and(|a| a.kind != "none") {
                return Err(Error::invalid(
                    "url",
                    "the embedded store has no URL or credentials",
                ));
            }
            return Ok(Validated {
                name,
                kind: SourceKind::Embedded,
                settings: SourceKind::Embedded.settings(body.settings.as_ref())?,
                url: String::new(),
                auth_type: "none".into(),
                username: String::new(),
                secret: None,
                timeout: body.timeout_ms.unwrap_or(30_000).clamp(100, 300_000),
            });
        }
        Some(SourceKind::Embedded) => {
            return Err(Error::invalid(
                "type",
                "the embedded store is built in; it cannot be added again",
            ))
        }
        Some(SourceKind::Prometheus) => {
            return Err(Error::invalid(
                "type",
                "the built-in embedded store cannot change its type",
            ))
        }
        // Known types this version has no client for yet.
        Some(other) => return Err(not_implemented(other)),
        None => return Err(Error::invalid("type", format!("`{}` is not a supported type; use prometheus (Prometheus, VictoriaMetrics, Thanos, Mimir)", body.kind))),
    }
    let settings = SourceKind::Prometheus.settings(body.settings.as_ref())?;
    let url =
        outbound::check_url(&body.url, allow_link_local).map_err(|m| Error::invalid("url", m))?;
    let timeout = body.timeout_ms.unwrap_or(30_000);
    if !(100..=300_000).contains(&timeout) {
        return Err(Error::invalid(
            "timeout_ms",
            "must be between 100 and 300000",
        ));
    }
    let auth = body.auth.as_ref();
    let kind = auth.map(|a| a.kind.as_str()).unwrap_or("none");
    let keep = existing
        .filter(|e| e.auth_type == kind)
        .and_then(|e| e.secret.clone());
    let (username, secret) = match kind {
        "none" => (String::new(), None),
        "basic" => {
            let a = auth.expect("basic comes from a body");
            let user = a
                .username
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| Error::invalid("auth.username", "basic auth needs a username"))?;
            let secret = a.password.as_deref().map(|p| secrets.seal(p)).or(keep);
            if secret.is_none() {
                return Err(Error::invalid(
                    "auth.password",
                    "basic auth needs a password",
                ));
            }
            (user, secret)
        }
        "bearer" => {
            let a = auth.expect("bearer comes from a body");
            let secret = a
                .token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(|t| secrets.seal(t))
                .or(keep);
            if secret.is_none() {
                return Err(Error::invalid("auth.token", "bearer auth needs a token"));
            }
            (String::new(), secret)
        }
        other => {
            return Err(Error::invalid(
                "auth.type",
                format!("`{other}` is not an auth type; use none, basic or bearer"),
            ))
        }
    };
    Ok(Validated {
        name,
        kind: SourceKind::Prometheus,
        settings,
        url: url.to_string(),
        auth_type: kind.to_owned(),
        username,
        secret,
        timeout,
    })
}

pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    secrets: &SecretBox,
    allow_link_local: bool,
    actor: &Actor,
    id: Option<i64>,
    body: SourceBody,
) -> Result<SourceView, Error> {
    let existing = match id {
        Some(id) => Some(get(db, id).await?),
        None => None,
    };
    let expected = match id {
        Some(_) => Some(body.version.ok_or_else(|| {
            Error::invalid(
                "version",
                "send the version you edited (optimistic locking)",
            )
        })?),
        None => None,
    };
    let Validated {
        name,
        kind,
        settings,
        url,
        auth_type,
        username,
        secret,
        timeout,
    } = validated(&body, existing.as_ref(), secrets, allow_link_local)?;
    let make_default = body.default.unwrap_or(false);
    let at = now();
    // The built-in type stands for the metrics store and the log store: it keeps its row's.
    let family = match existing.as_ref() {
        Some(row) if kind == SourceKind::Embedded => row.family(),
        _ => kind.family(),
    };
    let (family, settings) = (family.as_str(), settings.to_string());
    let mut tx = crate::db::begin_write(db).await?;
    if make_default {
        // One default per family: a new default for metrics leaves the logs default be.
        sqlx::query("UPDATE datasources SET is_default = 0 WHERE family = ?")
            .bind(family)
            .execute(&mut *tx)
            .await?;
    }
    let conflict = unique_violation("name", "a data source with this name exists");
    let new_id: i64 = match id {
        None => sqlx::query_scalar(
            "INSERT INTO datasources (name, type, url, auth_type, username, secret, timeout_ms, is_default, created_at, updated_at, settings, family) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&name)
        .bind(kind.as_str())
        .bind(&url)
        .bind(&auth_type)
        .bind(&username)
        .bind(&secret)
        .bind(timeout)
        .bind(make_default)
        .bind(&at)
        .bind(&at)
        .bind(&settings)
        .bind(family)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict)?,
        Some(id) => {
            let updated = sqlx::query(
                "UPDATE datasources SET name = ?, type = ?, url = ?, auth_type = ?, username = ?, secret = ?, timeout_ms = ?, \
                 is_default = CASE WHEN ? THEN 1 ELSE is_default END, updated_at = ?, version = version + 1, settings = ?, family = ? \
                 WHERE id = ? AND version = ?",
            )
            .bind(&name)
            .bind(kind.as_str())
            .bind(&url)
            .bind(&auth_type)
            .bind(&username)
            .bind(&secret)
            .bind(timeout)
            .bind(make_default)
            .bind(&at)
            .bind(&settings)
            .bind(family)
            .bind(id)
            .bind(expected)
            .execute(&mut *tx)
            .await
            .map_err(conflict)?;
            if updated.rows_affected() == 0 {
                drop(tx);
                return Err(Error::version_conflict(
                    "the data source was changed since you loaded it; reload and edit again",
                    get(db, id).await?.view(),
                ));
            }
            id
        }
    };
    let row: SourceRow = sqlx::query_as(&format!("{SELECT} WHERE id = ?"))
        .bind(new_id)
        .fetch_one(&mut *tx)
        .await?;
    let view = row.view();
    let rec = audit::record(
        &mut tx,
        actor,
        if id.is_some() {
            "datasource.update"
        } else {
            "datasource.create"
        },
        "datasource",
        new_id,
        existing.map(|e| serde_json::to_value(e.view()).unwrap_or_default()),
        Some(serde_json::to_value(&view).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(view)
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    let existing = get(db, id).await?;
    if existing.kind() == Some(SourceKind::Embedded) {
        return Err(Error::conflict(
            "id",
            "the embedded store is built in and cannot be deleted; pick another default instead",
        ));
    }
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM datasources WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "datasource.delete",
        "datasource",
        id,
        serde_json::to_value(existing.view()).ok(),
        None,
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

/// The default source of a family: the one marked default, else the first by name.
pub async fn default_id(db: &SqlitePool, family: Family) -> Result<Option<i64>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM datasources WHERE family = ? ORDER BY is_default DESC, name COLLATE NOCASE LIMIT 1",
    )
    .bind(family.as_str())
    .fetch_optional(db)
    .await?)
}
