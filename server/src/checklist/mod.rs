//! Team checklists: templates (the seed's "Monitoring-Checkliste" by default), each team's
//! item states with owners, due dates, notes, evidence links and full history, progress per
//! section, and the evidence the portal checks itself.

pub mod evidence;
pub mod ownership;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::{unique_violation, Error};
use crate::metrics::Metrics;

pub const STATES: [&str; 4] = ["open", "in_progress", "done", "not_applicable"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    De,
    En,
}

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

// ---- a team's checklist -----------------------------------------------------------------

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
struct StateRow {
    item_id: i64,
    state: String,
    reason: String,
    owner_id: Option<i64>,
    owner_login: Option<String>,
    due_date: Option<String>,
    note: String,
    evidence_links: String,
    updated_at: String,
    updated_by: String,
}

fn progress(done: usize, applicable: usize) -> Value {
    let percent = if applicable == 0 {
        0.0
    } else {
        (done as f64 * 1000.0 / applicable as f64).round() / 10.0
    };
    json!({ "done": done, "applicable": applicable, "percent": percent })
}

fn item_state_json(row: Option<&StateRow>) -> Value {
    match row {
        Some(r) => json!({
            "state": r.state,
            "reason": r.reason,
            "owner": r.owner_id.map(|id| json!({ "id": id, "login": r.owner_login })),
            "due_date": r.due_date,
            "note": r.note,
            "note_html": crate::markdown::render(&r.note),
            "evidence_links": serde_json::from_str::<Value>(&r.evidence_links).unwrap_or(json!([])),
            "updated_at": r.updated_at,
            "updated_by": r.updated_by,
        }),
        None => json!({
            "state": "open", "reason": "", "owner": null, "due_date": null, "note": "", "note_html": "",
            "evidence_links": [], "updated_at": null, "updated_by": null,
        }),
    }
}

/// The team's checklist for `template_id`, rendered in `lang`, with progress and evidence.
pub async fn team_checklist(
    db: &SqlitePool,
    team_id: i64,
    template_id: i64,
    lang: Lang,
) -> Result<Value, Error> {
    let team = crate::identity::teams::get(db, team_id)
        .await?
        .ok_or_else(|| Error::not_found("team"))?;
    let template = template_by_id(db, template_id).await?;
    let evidence = evaluate_evidence(db, team.id).await?;
    render(db, team.id, &team.name, &template, &evidence, lang).await
}

/// Runs the team's evidence checks once, keyed by check name.
async fn evaluate_evidence(
    db: &SqlitePool,
    team_id: i64,
) -> Result<HashMap<String, evidence::Evidence>, Error> {
    Ok(evidence::on_read(db, team_id)
        .await?
        .into_iter()
        .map(|e| (e.check.clone(), e))
        .collect())
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

/// One team's checklist for a loaded template, with evidence already evaluated.
async fn render(
    db: &SqlitePool,
    team_id: i64,
    team_name: &str,
    template: &Template,
    evidence: &HashMap<String, evidence::Evidence>,
    lang: Lang,
) -> Result<Value, Error> {
    let states: Vec<StateRow> = sqlx::query_as(
        "SELECT s.item_id, s.state, s.reason, s.owner_id, u.login AS owner_login, s.due_date, s.note, \
         s.evidence_links, s.updated_at, s.updated_by FROM team_item_states s \
         LEFT JOIN users u ON u.id = s.owner_id WHERE s.team_id = ?",
    )
    .bind(team_id)
    .fetch_all(db)
    .await?;
    let by_item: HashMap<i64, &StateRow> = states.iter().map(|s| (s.item_id, s)).collect();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (mut done_all, mut applicable_all) = (0, 0);
    let mut sections = Vec::new();
    for section in &template.sections {
        let (mut done, mut applicable) = (0, 0);
        let mut items = Vec::new();
        for item in &section.items {
            let row = by_item.get(&item.id).copied();
            let mut v = item_state_json(row);
            let state = v["state"].as_str().unwrap_or("open").to_owned();
            if state != "not_applicable" {
                applicable += 1;
            }
            if state == "done" {
                done += 1;
            }
            let ev = item.evidence_check.as_ref().and_then(|c| evidence.get(c));
            let (title, detail) = match lang {
                Lang::De => (&item.title_de, &item.detail_de),
                Lang::En => (&item.title_en, &item.detail_en),
            };
            v["id"] = json!(item.id);
            v["title"] = json!(title);
            v["detail"] = json!(detail);
            v["evidence"] = json!(ev);
            v["warning"] = json!(match (state.as_str(), ev) {
                ("done", Some(e)) if e.status == evidence::Status::Failing => Some(format!(
                    "done, but evidence fails since {}: {}",
                    e.failing_since.as_deref().unwrap_or(&e.checked_at),
                    e.detail
                )),
                _ => None,
            });
            v["overdue"] = json!(
                v["due_date"].as_str().is_some_and(|d| d < today.as_str())
                    && state != "done"
                    && state != "not_applicable"
            );
            v["history"] = json!(format!(
                "/api/v1/teams/{team_id}/checklist/items/{}/history",
                item.id
            ));
            items.push(v);
        }
        done_all += done;
        applicable_all += applicable;
        sections.push(json!({
            "id": section.id,
            "title": match lang { Lang::De => &section.title_de, Lang::En => &section.title_en },
            "progress": progress(done, applicable),
            "items": items,
        }));
    }
    Ok(json!({
        "team": { "id": team_id, "name": team_name },
        "template": { "id": template.id, "name": template.name, "version": template.version },
        "language": lang,
        "progress": progress(done_all, applicable_all),
        "sections": sections,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub state: Option<String>,
    pub reason: Option<String>,
    /// `null` clears the owner.
    #[serde(default, with = "double_option")]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    pub due_date: Option<Option<String>>,
    pub note: Option<String>,
    pub evidence_links: Option<Vec<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Changes one item of a team's checklist; the before/after goes to the item's history and
/// the audit log in the same transaction.
pub async fn patch_item(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    team_id: i64,
    item_id: i64,
    patch: ItemPatch,
) -> Result<Value, Error> {
    if crate::identity::teams::get(db, team_id).await?.is_none() {
        return Err(Error::not_found("team"));
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM checklist_items WHERE id = ? AND removed_at IS NULL")
            .bind(item_id)
            .fetch_optional(db)
            .await?;
    if exists.is_none() {
        return Err(Error::not_found("checklist item"));
    }
    // The item's state is read, merged with the patch and written under one write lock, so
    // concurrent patches of different fields never lose one another. Inside the transaction
    // every read goes through it (see `save_template`).
    let at = now();
    let mut tx = crate::db::begin_write(db).await?;
    let current: Option<StateRow> = sqlx::query_as(
        "SELECT s.item_id, s.state, s.reason, s.owner_id, u.login AS owner_login, s.due_date, s.note, \
         s.evidence_links, s.updated_at, s.updated_by FROM team_item_states s \
         LEFT JOIN users u ON u.id = s.owner_id WHERE s.team_id = ? AND s.item_id = ?",
    )
    .bind(team_id)
    .bind(item_id)
    .fetch_optional(&mut *tx)
    .await?;
    let before = item_state_json(current.as_ref());
    let mut state = current
        .as_ref()
        .map(|c| c.state.clone())
        .unwrap_or_else(|| "open".into());
    let mut reason = current
        .as_ref()
        .map(|c| c.reason.clone())
        .unwrap_or_default();
    let mut owner = current.as_ref().and_then(|c| c.owner_id);
    let mut due = current.as_ref().and_then(|c| c.due_date.clone());
    let mut note = current.as_ref().map(|c| c.note.clone()).unwrap_or_default();
    let mut links: Vec<String> = current
        .as_ref()
        .and_then(|c| serde_json::from_str(&c.evidence_links).ok())
        .unwrap_or_default();

    if let Some(s) = patch.state {
        if !STATES.contains(&s.as_str()) {
            return Err(Error::invalid(
                "state",
                format!("`{s}` is not a state; use open, in_progress, done or not_applicable"),
            ));
        }
        state = s;
    }
    if let Some(r) = patch.reason {
        reason = r.trim().to_owned();
    }
    if state == "not_applicable" && reason.is_empty() {
        return Err(Error::invalid(
            "reason",
            "\"not applicable\" needs a reason",
        ));
    }
    if reason.len() > 2000 {
        return Err(Error::invalid("reason", "must be at most 2000 characters"));
    }
    if let Some(o) = patch.owner_id {
        if let Some(id) = o {
            let login: Option<String> = sqlx::query_scalar("SELECT login FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if login.is_none() {
                return Err(Error::invalid("owner_id", format!("there is no user {id}")));
            }
        }
        owner = o;
    }
    if let Some(d) = patch.due_date {
        if let Some(date) = &d {
            if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                return Err(Error::invalid("due_date", "must be a date like 2026-12-31"));
            }
        }
        due = d;
    }
    if let Some(n) = patch.note {
        if n.len() > 20_000 {
            return Err(Error::invalid("note", "must be at most 20000 characters"));
        }
        note = n;
    }
    if let Some(l) = patch.evidence_links {
        if l.len() > 20 {
            return Err(Error::invalid("evidence_links", "at most 20 links"));
        }
        for link in &l {
            let lower = link.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || link.chars().any(char::is_whitespace)
            {
                return Err(Error::invalid(
                    "evidence_links",
                    format!("`{link}` is not an http(s) link"),
                ));
            }
        }
        links = l;
    }

    sqlx::query(
        "INSERT INTO team_item_states (team_id, item_id, state, reason, owner_id, due_date, note, evidence_links, updated_at, updated_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (team_id, item_id) DO UPDATE SET state = excluded.state, \
         reason = excluded.reason, owner_id = excluded.owner_id, due_date = excluded.due_date, note = excluded.note, \
         evidence_links = excluded.evidence_links, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(team_id)
    .bind(item_id)
    .bind(&state)
    .bind(&reason)
    .bind(owner)
    .bind(&due)
    .bind(&note)
    .bind(serde_json::to_string(&links).unwrap_or_else(|_| "[]".into()))
    .bind(&at)
    .bind(&actor.login)
    .execute(&mut *tx)
    .await?;
    let owner_login: Option<String> = match owner {
        Some(id) => {
            sqlx::query_scalar("SELECT login FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let after_row = StateRow {
        item_id,
        state,
        reason,
        owner_id: owner,
        owner_login,
        due_date: due,
        note,
        evidence_links: serde_json::to_string(&links).unwrap_or_default(),
        updated_at: at.clone(),
        updated_by: actor.login.clone(),
    };
    let mut after = item_state_json(Some(&after_row));
    let strip = |v: &mut Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("note_html");
            o.remove("updated_at");
            o.remove("updated_by");
        }
    };
    let (mut b, mut a) = (before.clone(), after.clone());
    strip(&mut b);
    strip(&mut a);
    sqlx::query("INSERT INTO team_item_history (team_id, item_id, at, actor, before, after) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(team_id)
        .bind(item_id)
        .bind(&at)
        .bind(&actor.login)
        .bind(b.to_string())
        .bind(a.to_string())
        .execute(&mut *tx)
        .await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "checklist.item_update",
        "checklist_item",
        format!("{team_id}/{item_id}"),
        Some(b),
        Some(a),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    after["id"] = json!(item_id);
    Ok(after)
}

pub async fn item_history(
    db: &SqlitePool,
    team_id: i64,
    item_id: i64,
) -> Result<Vec<Value>, Error> {
    let team: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE id = ?")
        .bind(team_id)
        .fetch_optional(db)
        .await?;
    team.ok_or_else(|| Error::not_found("team"))?;
    // An item removed from its template keeps its history: it exists while either does.
    let item: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM checklist_items WHERE id = ?1 \
         UNION SELECT item_id FROM team_item_history WHERE item_id = ?1 LIMIT 1",
    )
    .bind(item_id)
    .fetch_optional(db)
    .await?;
    item.ok_or_else(|| Error::not_found("checklist item"))?;
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT at, actor, before, after FROM team_item_history WHERE team_id = ? AND item_id = ? ORDER BY id DESC",
    )
    .bind(team_id)
    .bind(item_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, actor, before, after)| {
            let before: Value = serde_json::from_str(&before).unwrap_or_default();
            let after: Value = serde_json::from_str(&after).unwrap_or_default();
            let changed: Vec<&String> = after
                .as_object()
                .map(|o| o.keys().filter(|k| before.get(k.as_str()) != after.get(k.as_str())).collect())
                .unwrap_or_default();
            json!({ "at": at, "actor": actor, "changed": changed, "before": before, "after": after })
        })
        .collect())
}

/// Teams × sections with progress, plus what needs attention (overdue or without owner).
pub async fn overview(db: &SqlitePool, template_id: i64, lang: Lang) -> Result<Value, Error> {
    let teams = crate::identity::teams::list(db).await?;
    // The template is the same for every team: load it once.
    let template = template_by_id(db, template_id).await?;
    let mut rows = Vec::new();
    let mut attention = Vec::new();
    for team in teams {
        let evidence = evaluate_evidence(db, team.id).await?;
        let list = render(db, team.id, &team.name, &template, &evidence, lang).await?;
        for section in list["sections"].as_array().into_iter().flatten() {
            for item in section["items"].as_array().into_iter().flatten() {
                let open = item["state"] != "done" && item["state"] != "not_applicable";
                if open && (item["overdue"] == true || item["owner"].is_null()) {
                    attention.push(json!({
                        "team": team.name, "team_id": team.id, "item_id": item["id"], "title": item["title"],
                        "overdue": item["overdue"], "owner": item["owner"], "due_date": item["due_date"],
                    }));
                }
            }
        }
        rows.push(json!({
            "team": { "id": team.id, "name": team.name },
            "progress": list["progress"],
            "sections": list["sections"].as_array().into_iter().flatten()
                .map(|s| json!({ "id": s["id"], "title": s["title"], "progress": s["progress"] }))
                .collect::<Vec<_>>(),
        }));
    }
    Ok(json!({ "teams": rows, "attention": attention }))
}

fn csv_field(s: &str) -> String {
    // Cells starting with a formula character are prefixed so spreadsheets show them as text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The checklist as CSV (one row per item) or Markdown (the seed's `- [ ]` style).
pub fn export(list: &Value, format: &str) -> String {
    let mut out = String::new();
    if format == "csv" {
        out.push_str("section,item,detail,state,reason,owner,due_date,evidence,evidence_links\r\n");
        for s in list["sections"].as_array().into_iter().flatten() {
            for i in s["items"].as_array().into_iter().flatten() {
                let cells = [
                    s["title"].as_str().unwrap_or(""),
                    i["title"].as_str().unwrap_or(""),
                    i["detail"].as_str().unwrap_or(""),
                    i["state"].as_str().unwrap_or(""),
                    i["reason"].as_str().unwrap_or(""),
                    i["owner"]["login"].as_str().unwrap_or(""),
                    i["due_date"].as_str().unwrap_or(""),
                    i["evidence"]["status"].as_str().unwrap_or(""),
                    &i["evidence_links"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                ];
                out.push_str(
                    &cells
                        .iter()
                        .map(|c| csv_field(c))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push_str("\r\n");
            }
        }
        return out;
    }
    out.push_str(&format!(
        "# {} — {}\n\nProgress: {}/{} ({}%)\n",
        list["template"]["name"].as_str().unwrap_or(""),
        list["team"]["name"].as_str().unwrap_or(""),
        list["progress"]["done"],
        list["progress"]["applicable"],
        list["progress"]["percent"]
    ));
    for s in list["sections"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n### {}\n\n", s["title"].as_str().unwrap_or("")));
        for i in s["items"].as_array().into_iter().flatten() {
            let mark = match i["state"].as_str() {
                Some("done") => "x",
                Some("not_applicable") => "-",
                Some("in_progress") => "~",
                _ => " ",
            };
            out.push_str(&format!(
                "- [{mark}] **{}** {}",
                i["title"].as_str().unwrap_or(""),
                i["detail"].as_str().unwrap_or("")
            ));
            if let Some(owner) = i["owner"]["login"].as_str() {
                out.push_str(&format!(" — owner: {owner}"));
            }
            if let Some(due) = i["due_date"].as_str() {
                out.push_str(&format!(", due {due}"));
            }
            if i["state"] == "not_applicable" {
                out.push_str(&format!(" (n/a: {})", i["reason"].as_str().unwrap_or("")));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("plain"), "plain");
    }
}

// ---- template editing --------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub name: String,
    /// The version being edited (updates only; optimistic locking).
    #[serde(default)]
    pub version: Option<i64>,
    pub sections: Vec<SectionBody>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionBody {
    /// Keep an existing section (rename/reorder); absent for a new one.
    #[serde(default)]
    pub id: Option<i64>,
    pub title_de: String,
    pub title_en: String,
    pub items: Vec<ItemBody>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[serde(default)]
    pub id: Option<i64>,
    pub title_de: String,
    #[serde(default)]
    pub detail_de: String,
    pub title_en: String,
    #[serde(default)]
    pub detail_en: String,
    #[serde(default)]
    pub evidence_check: Option<String>,
}

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
