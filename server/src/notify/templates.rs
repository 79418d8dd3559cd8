//! Notification templates: Go `text/template` files of `{{ define "…" }}` blocks, as
//! Alertmanager's `templates:` files are, stored versioned and audited. A define named like a
//! built-in message part replaces it when messages are built:
//!
//! * `slack.default.title`, `slack.default.text` — every Slack contact point;
//! * `email.default.subject`, `email.default.text`, `email.default.html` — every e-mail one;
//! * `slack.<contact point>.title` (and so on) — only the contact point of that name; it wins
//!   over the `default` one.
//!
//! The data is Alertmanager's `template.Data` (`.Status`, `.Receiver`, `.Alerts` with
//! `.Firing`/`.Resolved`, `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`,
//! `.ExternalURL`; label sets with `.SortedPairs`, `.Names`, `.Values`). Webhook and
//! Alertmanager bodies are JSON and are not templated, as in Alertmanager.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{json, Value as Json};
use sqlx::SqlitePool;

use super::matchers::Labels;
use super::payloads::{fingerprint, Data, DataAlert};
use crate::actor::Actor;
use crate::error::Error;
use crate::gotemplate::{TemplateSet, Value};
use crate::metrics::Metrics;

/// `0001-01-01T00:00:00Z` in Unix seconds.
const GO_ZERO_TIME: f64 = -62_135_596_800.0;

/// Longest template body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// Most templates stored.
pub const MAX_TEMPLATES: i64 = 200;

/// The message parts a template may replace, per contact point type.
pub const PARTS: &[(&str, &[&str])] = &[
    ("slack", &["title", "text"]),
    ("email", &["subject", "text", "html"]),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub name: String,
    pub body: String,
    /// The version the caller edited (updates only).
    pub version: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NotificationTemplate {
    pub id: i64,
    pub name: String,
    pub body: String,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
}

impl NotificationTemplate {
    pub fn view(&self, defines: &[&str]) -> Json {
        json!({
            "id": self.id,
            "name": self.name,
            "body": self.body,
            "defines": defines,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        })
    }

    /// The names its body defines (empty when it no longer parses, which saving prevents).
    pub fn defines(&self) -> Vec<String> {
        TemplateSet::parse([(self.name.as_str(), self.body.as_str())])
            .map(|s| s.names().into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

type Row = (i64, String, String, i64, String, String);
const COLUMNS: &str = "id, name, body, version, updated_at, updated_by";

fn from_row(r: Row) -> NotificationTemplate {
    NotificationTemplate {
        id: r.0,
        name: r.1,
        body: r.2,
        version: r.3,
        updated_at: r.4,
        updated_by: r.5,
    }
}

pub async fn list(db: &SqlitePool) -> Result<Vec<NotificationTemplate>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notification_templates ORDER BY name"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn get(db: &SqlitePool, id: i64) -> Result<NotificationTemplate, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notification_templates WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(from_row)
        .ok_or_else(|| Error::not_found(format!("notification template {id}")))
}

/// Every stored template as one set (what messages are built with).
pub async fn load(db: &SqlitePool) -> Result<TemplateSet, Error> {
    let all = list(db).await?;
    set_of(all.iter().map(|t| (t.name.as_str(), t.body.as_str())))
        .map_err(|e| Error::internal(anyhow::anyhow!(e)))
}

/// The stored templates parsed once and kept until one changes: each delivery asks for
/// them, and parsing every stored body for every message cost more than sending it.
#[derive(Clone, Default)]
pub struct Cache(Arc<Mutex<Option<Kept>>>);

/// The parsed set and the generation it was read at.
type Kept = (Generation, Arc<TemplateSet>);

/// What changes whenever a template is created, updated or deleted: their count, the sum of
/// their versions and the highest id (ids are never reused).
type Generation = (i64, i64, i64);

impl Cache {
    pub async fn load(&self, db: &SqlitePool) -> Result<Arc<TemplateSet>, Error> {
        let generation: Generation = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(version), 0), COALESCE(MAX(id), 0) FROM notification_templates",
        )
        .fetch_one(db)
        .await?;
        if let Some((seen, set)) = &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            if *seen == generation {
                return Ok(set.clone());
            }
        }
        // Read after the generation: the set kept is never older than the key it is kept by.
        let set = Arc::new(load(db).await?);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, set.clone()));
        Ok(set)
    }
}

fn set_of<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<TemplateSet, String> {
    TemplateSet::parse(sources)
}

/// Checks `body` on its own and beside the other stored templates (`others`, by name).
fn validate(body: &TemplateBody, others: &[NotificationTemplate]) -> Result<(), Error> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::invalid("name", "between 1 and 200 characters"));
    }
    if body.body.len() > MAX_BODY {
        return Err(Error::invalid(
            "body",
            format!("longer than {MAX_BODY} bytes"),
        ));
    }
    let own =
        TemplateSet::parse([(name, body.body.as_str())]).map_err(|e| Error::invalid("body", e))?;
    if own.names().is_empty() {
        return Err(Error::invalid(
            "body",
            "defines no template; write {{ define \"slack.default.title\" }}…{{ end }}",
        ));
    }
    let all = others
        .iter()
        .filter(|t| t.name != name)
        .map(|t| (t.name.as_str(), t.body.as_str()))
        .chain([(name, body.body.as_str())]);
    set_of(all).map_err(|e| Error::invalid("body", e))?;
    Ok(())
}

/// Creates (`id` `None`) or updates a template; the body must parse and define names no
/// other template defines. Audited; an update needs the version it edited.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: Option<i64>,
    body: TemplateBody,
) -> Result<NotificationTemplate, Error> {
    let mut tx = crate::db::begin_write(db).await?;
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM notification_templates"))
        .fetch_all(&mut *tx)
        .await?;
    let others: Vec<NotificationTemplate> = rows
        .into_iter()
        .map(from_row)
        .filter(|t| Some(t.id) != id)
        .collect();
    validate(&body, &others)?;
    let name = body.name.trim().to_owned();
    let now = crate::db::now();
    let unique =
        || crate::error::unique_violation("name", "another notification template has this name");
    let (before, new_id) = match id {
        None => {
            if others.len() as i64 >= MAX_TEMPLATES {
                return Err(Error::invalid(
                    "name",
                    format!("at most {MAX_TEMPLATES} notification templates"),
                ));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO notification_templates (name, body, updated_at, updated_by) VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(&name)
            .bind(&body.body)
            .bind(&now)
            .bind(&actor.login)
            .fetch_one(&mut *tx)
            .await
            .map_err(unique())?;
            (None, id)
        }
        Some(id) => {
            let row: Option<Row> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM notification_templates WHERE id = ?"
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let existing = from_row(
                row.ok_or_else(|| Error::not_found(format!("notification template {id}")))?,
            );
            let version = body.version.ok_or_else(|| {
                Error::invalid(
                    "version",
                    "send the version you edited (optimistic locking)",
                )
            })?;
            let defines = existing.defines();
            let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
            if version != existing.version {
                return Err(Error::version_conflict(
                    "the notification template was changed since you loaded it",
                    existing.view(&defines),
                ));
            }
            sqlx::query("UPDATE notification_templates SET name = ?, body = ?, version = version + 1, updated_at = ?, updated_by = ? WHERE id = ?")
                .bind(&name)
                .bind(&body.body)
                .bind(&now)
                .bind(&actor.login)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(unique())?;
            (Some(existing.view(&defines)), id)
        }
    };
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM notification_templates WHERE id = ?"
    ))
    .bind(new_id)
    .fetch_one(&mut *tx)
    .await?;
    let saved = from_row(row);
    let defines = saved.defines();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    let action = if before.is_some() {
        "notification_template.update"
    } else {
        "notification_template.create"
    };
    let rec = crate::audit::record(
        &mut tx,
        actor,
        action,
        "notification_template",
        new_id,
        before,
        Some(saved.view(&defines)),
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(saved)
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    let existing = get(db, id).await?;
    let defines = existing.defines();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM notification_templates WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = crate::audit::record(
        &mut tx,
        actor,
        "notification_template.delete",
        "notification_template",
        id,
        Some(existing.view(&defines)),
        None,
    )
    .await?;
    crate::audit::commit(tx, metrics, rec).await?;
    Ok(())
}

fn kv(labels: &Labels) -> Value {
    Value::Map(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
            .collect(),
    )
}

fn alert_value(a: &DataAlert) -> Value {
    let status = if a.firing { "firing" } else { "resolved" };
    Value::Data(Box::new(BTreeMap::from([
        ("Status".to_owned(), Value::Str(status.into())),
        ("Labels".to_owned(), kv(&a.alert.labels)),
        ("Annotations".to_owned(), kv(&a.alert.annotations)),
        (
            "StartsAt".to_owned(),
            Value::Time(a.alert.starts_at as f64 / 1000.0),
        ),
        (
            "EndsAt".to_owned(),
            // Go's zero time while firing, as Alertmanager's data has it.
            Value::Time(if a.firing {
                GO_ZERO_TIME
            } else {
                a.alert.ends_at as f64 / 1000.0
            }),
        ),
        (
            "GeneratorURL".to_owned(),
            Value::Str(a.alert.generator_url.clone()),
        ),
        (
            "Fingerprint".to_owned(),
            Value::Str(format!("{:016x}", fingerprint(&a.alert.labels))),
        ),
    ])))
}

/// Alertmanager's `template.Data` as the template executor's value.
pub fn data_value(data: &Data) -> Value {
    Value::Data(Box::new(BTreeMap::from([
        ("Receiver".to_owned(), Value::Str(data.receiver.clone())),
        ("Status".to_owned(), Value::Str(data.status().into())),
        (
            "Alerts".to_owned(),
            Value::List(data.alerts.iter().map(alert_value).collect()),
        ),
        ("GroupLabels".to_owned(), kv(&data.group_labels)),
        ("CommonLabels".to_owned(), kv(&data.common_labels)),
        ("CommonAnnotations".to_owned(), kv(&data.common_annotations)),
        (
            "ExternalURL".to_owned(),
            Value::Str(data.external_url.clone()),
        ),
    ])))
}

/// The template that replaces `part` of a `kind` message to contact point `receiver`: the
/// contact point's own, else the default one, else none (the built-in text stays).
pub fn override_for(set: &TemplateSet, kind: &str, receiver: &str, part: &str) -> Option<String> {
    [
        format!("{kind}.{receiver}.{part}"),
        format!("{kind}.default.{part}"),
    ]
    .into_iter()
    .find(|name| set.has(name))
}

/// Renders `part` of a `kind` message with the stored templates: `Ok(None)` when no template
/// replaces it, an error naming the template when it fails.
pub fn render_part(
    set: &TemplateSet,
    kind: &str,
    data: &Data,
    part: &str,
) -> Result<Option<String>, String> {
    let Some(name) = override_for(set, kind, &data.receiver, part) else {
        return Ok(None);
    };
    set.execute(&name, data_value(data))
        .map(Some)
        .map_err(|e| format!("template {name:?}: {e}"))
}

/// What a preview asks for (`POST /api/v1/notification-templates/preview`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// `slack` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The contact point the message would go to (its own templates apply).
    #[serde(default = "preview_receiver")]
    pub receiver: String,
    /// Unsaved edits: each replaces the stored template of its name, or is added.
    #[serde(default)]
    pub templates: Vec<UnsavedTemplate>,
    /// Preview with this firing alert only (as `/api/v1/alerts` gives it).
    pub fingerprint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsavedTemplate {
    pub name: String,
    pub body: String,
}

fn preview_receiver() -> String {
    "preview".into()
}

/// A preview's message, and the alerts it was built from.
pub struct Preview {
    /// How many firing alerts the message holds.
    pub alerts: usize,
    /// `firing` or `resolved`, as the message's data says.
    pub status: &'static str,
    /// The message as the contact point's type would get it.
    pub message: Json,
}

/// The message a contact point of `body.kind` would get for the alerts firing now (or the
/// one `body.fingerprint` names), built with the stored templates and the unsaved edits in
/// `body`, which replace stored templates of their name. Alerts are grouped by alertname
/// when they share one, as the default policy groups.
pub async fn preview(
    db: &SqlitePool,
    firing: Option<&dyn super::FiringAlerts>,
    notifier: Option<&super::Notifier>,
    body: PreviewBody,
) -> Result<Preview, Error> {
    if !PARTS.iter().any(|(kind, _)| *kind == body.kind) {
        return Err(Error::invalid(
            "type",
            "slack or email (the others are JSON, not templated)",
        ));
    }
    if body.templates.len() > 20 {
        return Err(Error::invalid("templates", "at most 20 unsaved templates"));
    }
    for (i, t) in body.templates.iter().enumerate() {
        if t.body.len() > MAX_BODY {
            return Err(Error::invalid(
                format!("templates[{i}].body"),
                format!("longer than {MAX_BODY} bytes"),
            ));
        }
    }
    let stored = list(db).await?;
    let sources: Vec<(&str, &str)> = stored
        .iter()
        .filter(|s| !body.templates.iter().any(|t| t.name == s.name))
        .map(|s| (s.name.as_str(), s.body.as_str()))
        .chain(
            body.templates
                .iter()
                .map(|t| (t.name.as_str(), t.body.as_str())),
        )
        .collect();
    let set = TemplateSet::parse(sources).map_err(|e| Error::invalid("templates", e))?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut alerts = firing.map(|f| f.firing(now)).unwrap_or_default();
    if let Some(fp) = &body.fingerprint {
        let want = super::acks::parse_fingerprint("fingerprint", fp)?;
        alerts.retain(|a| fingerprint(&a.labels) == want);
        if alerts.is_empty() {
            return Err(Error::invalid(
                "fingerprint",
                format!("no firing alert {fp}"),
            ));
        }
    }
    if alerts.is_empty() {
        return Err(Error::invalid(
            "fingerprint",
            "no alert is firing now; a preview is built from real firing alerts",
        ));
    }
    let names: std::collections::BTreeSet<&String> = alerts
        .iter()
        .filter_map(|a| a.labels.get("alertname"))
        .collect();
    let group: Labels = match names.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Labels::from([("alertname".to_owned(), (*one).clone())]),
        _ => Labels::new(),
    };
    let external_url = notifier
        .map(|n| n.options.external_url.clone())
        .unwrap_or_default();
    let count = alerts.len();
    let data = Data::new(&body.receiver, alerts, &group, &external_url, now);
    let message = super::senders::preview(&body.kind, &data, &set)
        .map_err(|e| Error::invalid("templates", e))?;
    Ok(Preview {
        alerts: count,
        status: data.status(),
        message,
    })
}
