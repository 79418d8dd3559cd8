//! Checklist templates: reading them (sections and items in order) and editing them, where
//! an item that disappears from the template is marked removed, never deleted, so team
//! history stays.

use serde::Serialize;
use serde_json::json;

use super::evidence;
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::{unique_violation, Error};
use crate::metrics::Metrics;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct TemplateItem {
    pub id: i64,
    #[serde(skip)]
    pub section_id: i64,
    pub title_de: String,
    pub detail_de: String,
    pub title_en: String,
    pub detail_en: String,
    pub evidence_check: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TemplateSection {
    pub id: i64,
    pub title_de: String,
    pub title_en: String,
    pub items: Vec<TemplateItem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub sections: Vec<TemplateSection>,
}

pub async fn templates(db: &SqlitePool) -> Result<Vec<Template>, Error> {
    let heads: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, version FROM checklist_templates ORDER BY id")
            .fetch_all(db)
            .await?;
    let mut out = Vec::new();
    for (id, name, version) in heads {
        out.push(template(db, id, name, version).await?);
    }
    Ok(out)
}

async fn template(db: &SqlitePool, id: i64, name: String, version: i64) -> Result<Template, Error> {
    let sections: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, title_de, title_en FROM checklist_sections WHERE template_id = ? AND removed_at IS NULL ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let items: Vec<TemplateItem> = sqlx::query_as(
        "SELECT i.id, i.section_id, i.title_de, i.detail_de, i.title_en, i.detail_en, i.evidence_check \
         FROM checklist_items i JOIN checklist_sections s ON s.id = i.section_id \
         WHERE s.template_id = ? AND i.removed_at IS NULL ORDER BY i.position, i.id",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(Template {
        id,
        name,
        version,
        sections: sections
            .into_iter()
            .map(|(sid, title_de, title_en)| TemplateSection {
                id: sid,
                title_de,
                title_en,
                items: items
                    .iter()
                    .filter(|i| i.section_id == sid)
                    .cloned()
                    .collect(),
            })
            .collect(),
    })
}

pub async fn template_by_id(db: &SqlitePool, id: i64) -> Result<Template, Error> {
    let head: Option<(String, i64)> =
        sqlx::query_as("SELECT name, version FROM checklist_templates WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let (name, version) = head.ok_or_else(|| Error::not_found("checklist template"))?;
    template(db, id, name, version).await
}

// ---- template editing --------------------------------------------------------------------

pub use wire::checklist::TemplateBody;

fn check_template(body: &TemplateBody) -> Result<(), Error> {
    if body.name.trim().is_empty() || body.name.len() > 100 {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    for (si, s) in body.sections.iter().enumerate() {
        if s.title_de.trim().is_empty() || s.title_en.trim().is_empty() {
            return Err(Error::invalid(
                format!("sections[{si}].title_de"),
                "a section needs a German and an English title",
            ));
        }
        for (ii, i) in s.items.iter().enumerate() {
            if i.title_de.trim().is_empty() || i.title_en.trim().is_empty() {
                return Err(Error::invalid(
                    format!("sections[{si}].items[{ii}].title_de"),
                    "an item needs a German and an English title",
                ));
            }
            if let Some(c) = &i.evidence_check {
                if !evidence::CHECKS.iter().any(|(name, _)| name == c) {
                    return Err(Error::invalid(
                        format!("sections[{si}].items[{ii}].evidence_check"),
                        format!("`{c}` is not a known check"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Creates (`id = None`) or replaces a template. Sections and items keep their ids when the
/// body names them; those left out are marked removed (their team history stays).
pub async fn save_template(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: Option<i64>,
    body: TemplateBody,
) -> Result<Template, Error> {
    check_template(&body)?;
    let at = now();
    // Read what is replaced before taking the write lock: inside the transaction every read
    // goes through it (another pool connection would wait for a connection while holding
    // SQLite's write lock, and every other writer waits for that lock).
    let current = match id {
        Some(id) => Some(template_by_id(db, id).await?),
        None => None,
    };
    let mut tx = crate::db::begin_write(db).await?;
    let (template_id, version, before) = match (id, current) {
        (None, _) => {
            let new_id: i64 = sqlx::query_scalar(
                "INSERT INTO checklist_templates (name, version, created_at, updated_at) VALUES (?, 1, ?, ?) RETURNING id",
            )
            .bind(body.name.trim())
            .bind(&at)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await
            .map_err(unique_violation("name", "a template with this name exists"))?;
            (new_id, 1, None)
        }
        (Some(_), None) => return Err(Error::not_found("checklist template")),
        (Some(id), Some(current)) => {
            let expected = body
                .version
                .ok_or_else(|| Error::invalid("version", "send the version you edited"))?;
            let now_at: Option<i64> =
                sqlx::query_scalar("SELECT version FROM checklist_templates WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if Some(expected) != now_at || expected != current.version {
                drop(tx);
                let current = template_by_id(db, id).await?;
                return Err(Error::version_conflict(
                    "the template changed since you loaded it",
                    current,
                ));
            }
            sqlx::query("UPDATE checklist_templates SET name = ?, version = version + 1, updated_at = ? WHERE id = ?")
                .bind(body.name.trim())
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            (id, current.version + 1, serde_json::to_value(&current).ok())
        }
    };
    let mut kept_sections = Vec::new();
    let mut kept_items = Vec::new();
    for (sp, s) in body.sections.iter().enumerate() {
        let section_id = match s.id {
            Some(sid) => {
                let n = sqlx::query(
                    "UPDATE checklist_sections SET title_de = ?, title_en = ?, position = ?, removed_at = NULL WHERE id = ? AND template_id = ?",
                )
                .bind(&s.title_de)
                .bind(&s.title_en)
                .bind(sp as i64)
                .bind(sid)
                .bind(template_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(Error::invalid(format!("sections[{sp}].id"), format!("section {sid} is not part of this template")));
                }
                sid
            }
            None => sqlx::query_scalar(
                "INSERT INTO checklist_sections (template_id, position, title_de, title_en) VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(template_id)
            .bind(sp as i64)
            .bind(&s.title_de)
            .bind(&s.title_en)
            .fetch_one(&mut *tx)
            .await?,
        };
        kept_sections.push(section_id);
        for (ip, i) in s.items.iter().enumerate() {
            let item_id = match i.id {
                Some(iid) => {
                    let n = sqlx::query(
                        "UPDATE checklist_items SET section_id = ?, position = ?, title_de = ?, detail_de = ?, title_en = ?, \
                         detail_en = ?, evidence_check = ?, removed_at = NULL WHERE id = ? AND section_id IN \
                         (SELECT id FROM checklist_sections WHERE template_id = ?)",
                    )
                    .bind(section_id)
                    .bind(ip as i64)
                    .bind(&i.title_de)
                    .bind(&i.detail_de)
                    .bind(&i.title_en)
                    .bind(&i.detail_en)
                    .bind(&i.evidence_check)
                    .bind(iid)
                    .bind(template_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        return Err(Error::invalid(format!("sections[{sp}].items[{ip}].id"), format!("item {iid} is not part of this template")));
                    }
                    iid
                }
                None => sqlx::query_scalar(
                    "INSERT INTO checklist_items (section_id, position, title_de, detail_de, title_en, detail_en, evidence_check) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(section_id)
                .bind(ip as i64)
                .bind(&i.title_de)
                .bind(&i.detail_de)
                .bind(&i.title_en)
                .bind(&i.detail_en)
                .bind(&i.evidence_check)
                .fetch_one(&mut *tx)
                .await?,
            };
            kept_items.push(item_id);
        }
    }
    // Whatever the body left out is marked removed, never deleted.
    mark_removed(
        &mut tx,
        "SELECT id FROM checklist_sections WHERE template_id = ? AND removed_at IS NULL",
        "UPDATE checklist_sections SET removed_at = ? WHERE id = ?",
        template_id,
        &kept_sections,
        &at,
    )
    .await?;
    mark_removed(
        &mut tx,
        "SELECT i.id FROM checklist_items i JOIN checklist_sections s ON s.id = i.section_id WHERE s.template_id = ? AND i.removed_at IS NULL",
        "UPDATE checklist_items SET removed_at = ? WHERE id = ?",
        template_id,
        &kept_items,
        &at,
    )
    .await?;
    let snapshot = json!({ "name": body.name, "sections": body.sections });
    sqlx::query("INSERT INTO checklist_template_versions (template_id, version, snapshot, author, at) VALUES (?, ?, ?, ?, ?)")
        .bind(template_id)
        .bind(version)
        .bind(snapshot.to_string())
        .bind(&actor.login)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    let action = if id.is_some() {
        "checklist_template.update"
    } else {
        "checklist_template.create"
    };
    let rec = audit::record(
        &mut tx,
        actor,
        action,
        "checklist_template",
        template_id,
        before,
        Some(snapshot),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    template_by_id(db, template_id).await
}

/// Marks removed (at `at`) every row `select` lists for the template that is not in `kept`.
async fn mark_removed(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    select: &str,
    update: &str,
    template_id: i64,
    kept: &[i64],
    at: &str,
) -> Result<(), sqlx::Error> {
    let existing: Vec<i64> = sqlx::query_scalar(select)
        .bind(template_id)
        .fetch_all(&mut **tx)
        .await?;
    for id in existing.into_iter().filter(|id| !kept.contains(id)) {
        sqlx::query(update)
            .bind(at)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
