//! Silences in Alertmanager v2's shape: matchers, `startsAt`, `endsAt`, `createdBy`,
//! `comment`. An active silence mutes every alert all its matchers match. Deleting expires a
//! silence (it stays listed as `expired`), as Alertmanager does.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::matchers::{ApiMatcher, Labels, Matcher};
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;

/// `POST /api/v1/silences` (Alertmanager's `PostableSilence`); with `id`, an update.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SilenceBody {
    pub id: Option<String>,
    pub matchers: Vec<ApiMatcher>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
}

#[derive(Clone, Debug)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<ApiMatcher>,
    compiled: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
    pub updated_at: String,
}

impl Silence {
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if now < self.starts_at {
            "pending"
        } else if now < self.ends_at {
            "active"
        } else {
            "expired"
        }
    }

    pub fn mutes(&self, labels: &Labels, now: DateTime<Utc>) -> bool {
        self.state(now) == "active" && self.compiled.iter().all(|m| m.matches(labels))
    }

    /// Alertmanager's `GettableSilence`.
    pub fn view(&self, now: DateTime<Utc>) -> Value {
        json!({
            "id": self.id,
            "status": { "state": self.state(now) },
            "updatedAt": self.updated_at,
            "matchers": self.matchers,
            "startsAt": crate::db::timestamp(self.starts_at),
            "endsAt": crate::db::timestamp(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        })
    }
}

fn time(field: &str, raw: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::invalid(field, format!("`{raw}` is not an RFC 3339 time: {e}")))
}

fn compile(matchers: &[ApiMatcher]) -> Result<Vec<Matcher>, Error> {
    if matchers.is_empty() || matchers.len() > 100 {
        return Err(Error::invalid("matchers", "1 to 100 matchers"));
    }
    let compiled: Vec<Matcher> = matchers
        .iter()
        .enumerate()
        .map(|(i, m)| {
            m.to_matcher()
                .map_err(|e| Error::invalid(format!("matchers[{i}]"), e))
        })
        .collect::<Result<_, _>>()?;
    if compiled.iter().all(|m| m.matches(&Labels::new())) {
        return Err(Error::invalid(
            "matchers",
            "at least one matcher must not match the empty string (it would silence every alert)",
        ));
    }
    Ok(compiled)
}

type Row = (String, String, String, String, String, String, String);

fn from_row(r: Row) -> Option<Silence> {
    let matchers: Vec<ApiMatcher> = serde_json::from_str(&r.1).ok()?;
    Some(Silence {
        compiled: compile(&matchers).ok()?,
        id: r.0,
        matchers,
        starts_at: time("", &r.2).ok()?,
        ends_at: time("", &r.3).ok()?,
        created_by: r.4,
        comment: r.5,
        updated_at: r.6,
    })
}

pub async fn load(db: &SqlitePool) -> Result<Vec<Silence>, Error> {
    let rows: Vec<Row> = sqlx::query_as("SELECT id, matchers, starts_at, ends_at, created_by, comment, updated_at FROM silences ORDER BY starts_at")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// Creates or updates a silence; returns its id.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    body: SilenceBody,
) -> Result<String, Error> {
    let compiled = compile(&body.matchers)?;
    let now = Utc::now();
    let starts = time("startsAt", &body.starts_at)?.max(now);
    let ends = time("endsAt", &body.ends_at)?;
    if ends <= starts {
        return Err(Error::invalid(
            "endsAt",
            "must be after startsAt and in the future",
        ));
    }
    if body.created_by.trim().is_empty() || body.created_by.len() > 200 {
        return Err(Error::invalid("createdBy", "1 to 200 characters"));
    }
    if body.comment.trim().is_empty() || body.comment.len() > 4000 {
        return Err(Error::invalid("comment", "1 to 4000 characters"));
    }
    let _ = compiled;
    let id = match &body.id {
        Some(id) => {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM silences WHERE id = ?")
                .bind(id)
                .fetch_optional(db)
                .await?;
            exists.ok_or_else(|| Error::not_found(format!("silence {id}")))?
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let matchers = serde_json::to_string(&body.matchers).map_err(Error::internal)?;
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT(id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, ends_at = excluded.ends_at, created_by = excluded.created_by, comment = excluded.comment, updated_at = excluded.updated_at")
        .bind(&id)
        .bind(&matchers)
        .bind(crate::db::timestamp(starts))
        .bind(crate::db::timestamp(ends))
        .bind(body.created_by.trim())
        .bind(&body.comment)
        .bind(crate::db::timestamp(now))
        .execute(&mut *tx)
        .await?;
    let action = if body.id.is_some() {
        "silence.update"
    } else {
        "silence.create"
    };
    let rec = crate::audit::record(&mut tx, actor, action, "silence", &id, None, Some(json!({ "matchers": body.matchers, "startsAt": body.starts_at, "endsAt": body.ends_at, "comment": body.comment }))).await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(id)
}

/// Expires a silence now (a pending one never starts).
pub async fn expire(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: &str,
) -> Result<(), Error> {
    let now = crate::db::now();
    let mut tx = crate::db::begin_write(db).await?;
    let done = sqlx::query("UPDATE silences SET ends_at = ?, starts_at = min(starts_at, ?), updated_at = ? WHERE id = ? AND ends_at > ?")
        .bind(&now)
        .bind(&now)
        .bind(&now)
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("active or pending silence {id}")));
    }
    let rec =
        crate::audit::record(&mut tx, actor, "silence.expire", "silence", id, None, None).await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(())
}
