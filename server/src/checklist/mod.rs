//! Team checklists: templates (the seed's "Monitoring-Checkliste" by default), each team's
//! item states with owners, due dates, notes, evidence links and full history, progress per
//! section, and the evidence the portal checks itself.

pub mod evidence;
mod export;
pub mod ownership;
mod signal_evidence;
mod template;

pub use export::{export, file_name, Format};
pub use template::{
    save_template, template_by_id, templates, Template, TemplateBody, TemplateItem, TemplateSection,
};

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::Error;
use crate::metrics::Metrics;

pub use wire::checklist::{
    Attention, Evidence, EvidenceStatus, HistoryEntry, ItemPatch, ItemView, Lang, Overview, Owner,
    Progress, SectionProgress, SectionView, TeamChecklist, TeamProgress, TeamRef, TemplateRef,
    STATES,
};

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
) -> Result<TeamChecklist, Error> {
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
) -> Result<HashMap<String, Evidence>, Error> {
    Ok(evidence::on_read(db, team_id)
        .await?
        .into_iter()
        .map(|e| (e.check.clone(), e))
        .collect())
}

/// One team's checklist for a loaded template, with evidence already evaluated.
async fn render(
    db: &SqlitePool,
    team_id: i64,
    team_name: &str,
    template: &Template,
    evidence: &HashMap<String, Evidence>,
    lang: Lang,
) -> Result<TeamChecklist, Error> {
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
            let mut v = item_view(by_item.get(&item.id).copied());
            if v.state != "not_applicable" {
                applicable += 1;
            }
            if v.state == "done" {
                done += 1;
            }
            let ev = item.evidence_check.as_ref().and_then(|c| evidence.get(c));
            let (title, detail) = match lang {
                Lang::De => (&item.title_de, &item.detail_de),
                Lang::En => (&item.title_en, &item.detail_en),
            };
            v.id = item.id;
            v.title = title.clone();
            v.detail = detail.clone();
            v.warning = match (v.state.as_str(), ev) {
                ("done", Some(e)) if e.status == EvidenceStatus::Failing => Some(format!(
                    "done, but evidence fails since {}: {}",
                    e.failing_since.as_deref().unwrap_or(&e.checked_at),
                    e.detail
                )),
                _ => None,
            };
            v.evidence = ev.cloned();
            v.overdue = v.due_date.as_deref().is_some_and(|d| d < today.as_str())
                && v.state != "done"
                && v.state != "not_applicable";
            v.history = format!(
                "/api/v1/teams/{team_id}/checklist/items/{}/history",
                item.id
            );
            items.push(v);
        }
        done_all += done;
        applicable_all += applicable;
        sections.push(SectionView {
            id: section.id,
            title: match lang {
                Lang::De => section.title_de.clone(),
                Lang::En => section.title_en.clone(),
            },
            progress: Progress::of(done, applicable),
            items,
        });
    }
    Ok(TeamChecklist {
        team: TeamRef {
            id: team_id,
            name: team_name.to_owned(),
        },
        template: TemplateRef {
            id: template.id,
            name: template.name.clone(),
            version: template.version,
        },
        language: lang,
        progress: Progress::of(done_all, applicable_all),
        sections,
    })
}

/// The item's state fields from its stored row (an untouched item is open, unowned, empty);
/// the rest of the view is the template's and the evidence's.
fn item_view(row: Option<&StateRow>) -> ItemView {
    let Some(r) = row else {
        return ItemView {
            state: "open".into(),
            ..ItemView::default()
        };
    };
    ItemView {
        state: r.state.clone(),
        reason: r.reason.clone(),
        owner: r.owner_id.map(|id| Owner {
            id,
            login: r.owner_login.clone(),
        }),
        due_date: r.due_date.clone(),
        note: r.note.clone(),
        note_html: crate::markdown::render(&r.note),
        evidence_links: serde_json::from_str(&r.evidence_links).unwrap_or_default(),
        updated_at: Some(r.updated_at.clone()),
        updated_by: Some(r.updated_by.clone()),
        ..ItemView::default()
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
) -> Result<Vec<HistoryEntry>, Error> {
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
            let changed: Vec<String> = after
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| before.get(k.as_str()) != after.get(k.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            HistoryEntry {
                at,
                actor,
                changed,
                before,
                after,
            }
        })
        .collect())
}

/// Teams × sections with progress, plus what needs attention (overdue or without owner).
pub async fn overview(db: &SqlitePool, template_id: i64, lang: Lang) -> Result<Overview, Error> {
    let teams = crate::identity::teams::list(db).await?;
    // The template is the same for every team: load it once.
    let template = template_by_id(db, template_id).await?;
    let mut answer = Overview::default();
    for team in teams {
        let evidence = evaluate_evidence(db, team.id).await?;
        let list = render(db, team.id, &team.name, &template, &evidence, lang).await?;
        for item in list.sections.iter().flat_map(|s| &s.items) {
            let open = item.state != "done" && item.state != "not_applicable";
            if open && (item.overdue || item.owner.is_none()) {
                answer.attention.push(Attention {
                    team: team.name.clone(),
                    team_id: team.id,
                    item_id: item.id,
                    title: item.title.clone(),
                    overdue: item.overdue,
                    owner: item.owner.clone(),
                    due_date: item.due_date.clone(),
                });
            }
        }
        answer.teams.push(TeamProgress {
            team: list.team,
            progress: list.progress,
            sections: list
                .sections
                .into_iter()
                .map(|s| SectionProgress {
                    id: s.id,
                    title: s.title,
                    progress: s.progress,
                })
                .collect(),
        });
    }
    Ok(answer)
}
