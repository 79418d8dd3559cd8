//! Data sources in SQLite, managed by admins. The API view never carries the secret, only
//! whether one is set.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqlitePool;

use super::embedded::EmbeddedSource;
use super::prometheus::{Auth, PrometheusClient};
use super::secrets::SecretBox;
use super::MetricsSource;
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::embedded::EmbeddedStore;
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
}

#[derive(Clone, Debug, Serialize)]
pub struct SourceView {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub auth: serde_json::Value,
    pub timeout_ms: i64,
    pub default: bool,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
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
            url: self.url.clone(),
            auth,
            timeout_ms: self.timeout_ms,
            default: self.is_default,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            version: self.version,
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
}

const SELECT: &str = "SELECT id, name, type, url, auth_type, username, secret, timeout_ms, is_default, created_at, updated_at, version FROM datasources";

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
    kind: String,
    url: String,
    auth_type: String,
    username: String,
    secret: Option<String>,
    timeout: i64,
}

/// The store types the portal speaks to. A type is checked here, not by the table, so a
/// new one needs no migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The Prometheus HTTP API: Prometheus, VictoriaMetrics, Thanos, Mimir.
    Prometheus,
    /// The portal's own metrics store (built in: one, never created or deleted by hand).
    Embedded,
}

impl SourceKind {
    pub fn parse(kind: &str) -> Option<SourceKind> {
        match kind {
            "prometheus" => Some(SourceKind::Prometheus),
            "embedded" => Some(SourceKind::Embedded),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Prometheus => "prometheus",
            SourceKind::Embedded => "embedded",
        }
    }
}

impl SourceRow {
    pub fn kind(&self) -> Option<SourceKind> {
        SourceKind::parse(&self.kind)
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
    match SourceKind::parse(&body.kind) {
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
                kind: body.kind.clone(),
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
        None => return Err(Error::invalid("type", format!("`{}` is not a supported type; use prometheus (Prometheus, VictoriaMetrics, Thanos, Mimir)", body.kind))),
    }
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
        kind: body.kind.clone(),
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
        url,
        auth_type,
        username,
        secret,
        timeout,
    } = validated(&body, existing.as_ref(), secrets, allow_link_local)?;
    let make_default = body.default.unwrap_or(false);
    let at = now();
    let mut tx = crate::db::begin_write(db).await?;
    if make_default {
        sqlx::query("UPDATE datasources SET is_default = 0")
            .execute(&mut *tx)
            .await?;
    }
    let conflict = unique_violation("name", "a data source with this name exists");
    let new_id: i64 = match id {
        None => sqlx::query_scalar(
            "INSERT INTO datasources (name, type, url, auth_type, username, secret, timeout_ms, is_default, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&name)
        .bind(&kind)
        .bind(&url)
        .bind(&auth_type)
        .bind(&username)
        .bind(&secret)
        .bind(timeout)
        .bind(make_default)
        .bind(&at)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict)?,
        Some(id) => {
            let updated = sqlx::query(
                "UPDATE datasources SET name = ?, type = ?, url = ?, auth_type = ?, username = ?, secret = ?, timeout_ms = ?, \
                 is_default = CASE WHEN ? THEN 1 ELSE is_default END, updated_at = ?, version = version + 1 \
                 WHERE id = ? AND version = ?",
            )
            .bind(&name)
            .bind(&kind)
            .bind(&url)
            .bind(&auth_type)
            .bind(&username)
            .bind(&secret)
            .bind(timeout)
            .bind(make_default)
            .bind(&at)
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

/// The client for a stored source (decrypting its secret in memory only).
pub fn client(row: &SourceRow, access: &Access) -> Result<Arc<dyn MetricsSource>, Error> {
    match row.kind() {
        Some(SourceKind::Embedded) => {
            return match &access.embedded {
                Some(store) => Ok(Arc::new(EmbeddedSource(store.clone()))),
                None => Err(Error::invalid("type", "the embedded store is not running")),
            }
        }
        Some(SourceKind::Prometheus) => {}
        None => {
            return Err(Error::invalid(
                "type",
                format!("`{}` is not a store type this version speaks", row.kind),
            ))
        }
    }
    let url = outbound::check_url(&row.url, access.allow_link_local)
        .map_err(|m| Error::invalid("url", m))?;
    let secret = row
        .secret
        .as_deref()
        .map(|s| access.secrets.open(s))
        .transpose()
        .map_err(Error::internal)?;
    let auth = match (row.auth_type.as_str(), secret) {
        ("basic", Some(password)) => Auth::Basic {
            username: row.username.clone(),
            password,
        },
        ("bearer", Some(token)) => Auth::Bearer(token),
        _ => Auth::None,
    };
    Ok(Arc::new(PrometheusClient::new(
        url,
        auth,
        Duration::from_millis(row.timeout_ms as u64),
        access.max_bytes,
        access.allow_link_local,
    )))
}

/// What reaching stored sources needs: the secret box, the outbound limits and the
/// embedded store (when it runs).
#[derive(Clone)]
pub struct Access {
    pub secrets: SecretBox,
    pub max_bytes: usize,
    pub allow_link_local: bool,
    pub embedded: Option<Arc<EmbeddedStore>>,
}

impl Access {
    /// Every stored source with its client (sources whose client cannot be made, e.g. a
    /// URL that the outbound rules now refuse, come with the reason instead).
    pub async fn all(
        &self,
        db: &SqlitePool,
    ) -> Result<Vec<(SourceRow, Result<Arc<dyn MetricsSource>, String>)>, Error> {
        Ok(list(db)
            .await?
            .into_iter()
            .map(|row| {
                let c = client(&row, self).map_err(|e| e.message());
                (row, c)
            })
            .collect())
    }
}

/// Clients of stored sources, keyed by id and the row's `updated_at`, so requests share a
/// connection pool instead of building a client (and a connection) each time.
#[derive(Clone, Default)]
pub struct ClientCache {
    clients: Arc<std::sync::Mutex<CachedClients>>,
}

/// Client per source id, with the `updated_at` it was built for.
type CachedClients = std::collections::HashMap<i64, (String, Arc<dyn MetricsSource>)>;

impl ClientCache {
    /// Drops the client of a deleted source.
    pub fn forget(&self, id: i64) {
        if let Ok(mut map) = self.clients.lock() {
            map.remove(&id);
        }
    }

    pub fn get_or_build(
        &self,
        row: &SourceRow,
        build: impl FnOnce() -> Result<Arc<dyn MetricsSource>, Error>,
    ) -> Result<Arc<dyn MetricsSource>, Error> {
        if let Ok(map) = self.clients.lock() {
            if let Some((stamp, client)) = map.get(&row.id) {
                if *stamp == row.updated_at {
                    return Ok(client.clone());
                }
            }
        }
        let client = build()?;
        if let Ok(mut map) = self.clients.lock() {
            map.insert(row.id, (row.updated_at.clone(), client.clone()));
        }
        Ok(client)
    }
}

/// The default source's id: the one marked default, else the first by name.
pub async fn default_id(db: &SqlitePool) -> Result<Option<i64>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM datasources ORDER BY is_default DESC, name COLLATE NOCASE LIMIT 1",
    )
    .fetch_optional(db)
    .await?)
}
