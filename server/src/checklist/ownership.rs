//! What a team owns — dashboards, rule namespaces, services (the `job` label values of what
//! it runs) — so each team's evidence is checked against its own things, not the portal's.

use app::dto::Role;
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::audit;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::rules::namespace::Namespace;

/// At most this many objects of each kind per team.
const MAX_PER_KIND: usize = 200;

pub use wire::checklist::{service_problem, Ownership};

/// What team `team_id` owns; not found when there is no such team.
pub async fn of_team(db: &SqlitePool, team_id: i64) -> Result<Ownership, Error> {
    crate::identity::teams::get(db, team_id)
        .await?
        .ok_or_else(|| Error::not_found("team"))?;
    get(db, team_id).await
}

pub async fn get(db: &SqlitePool, team_id: i64) -> Result<Ownership, Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, object FROM team_ownership WHERE team_id = ? ORDER BY kind, object",
    )
    .bind(team_id)
    .fetch_all(db)
    .await?;
    let mut owned = Ownership::default();
    for (kind, object) in rows {
        owned.of_kind_mut(&kind).push(object);
    }
    Ok(owned)
}

/// Checks every entry; the first problem is a 400 naming its field (`dashboards[2]`).
async fn validate(db: &SqlitePool, owned: &Ownership) -> Result<(), Error> {
    for (field, list) in [
        ("dashboards", &owned.dashboards),
        ("rule_namespaces", &owned.rule_namespaces),
        ("services", &owned.services),
    ] {
        if list.len() > MAX_PER_KIND {
            return Err(Error::invalid(
                field,
                format!("at most {MAX_PER_KIND} entries"),
            ));
        }
        for (i, item) in list.iter().enumerate() {
            if list[..i].contains(item) {
                return Err(Error::invalid(
                    format!("{field}[{i}]"),
                    format!("`{item}` is listed twice"),
                ));
            }
        }
    }
    for (i, uid) in owned.dashboards.iter().enumerate() {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM dashboards WHERE uid = ?")
            .bind(uid)
            .fetch_optional(db)
            .await?;
        if exists.is_none() {
            return Err(Error::invalid(
                format!("dashboards[{i}]"),
                format!("no dashboard has the uid `{uid}`"),
            ));
        }
    }
    for (i, ns) in owned.rule_namespaces.iter().enumerate() {
        Namespace::parse(ns).map_err(|e| Error::invalid(format!("rule_namespaces[{i}]"), e))?;
    }
    for (i, job) in owned.services.iter().enumerate() {
        if let Some(problem) = service_problem(job) {
            return Err(Error::invalid(format!("services[{i}]"), problem));
        }
    }
    Ok(())
}

/// Replaces what the team owns, in one transaction with its audit record. Editors may do
/// this for any team, as they may change any team's checklist items.
pub async fn set(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    team_id: i64,
    owned: Ownership,
) -> Result<Ownership, Error> {
    actor.require(Role::Editor)?;
    let team: Option<String> = sqlx::query_scalar("SELECT name FROM teams WHERE id = ?")
        .bind(team_id)
        .fetch_optional(db)
        .await?;
    team.ok_or_else(|| Error::not_found("team"))?;
    validate(db, &owned).await?;
    let before = get(db, team_id).await?;
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM team_ownership WHERE team_id = ?")
        .bind(team_id)
        .execute(&mut *tx)
        .await?;
    for kind in wire::checklist::OWNED_KINDS {
        for object in owned.of_kind(kind) {
            sqlx::query("INSERT INTO team_ownership (team_id, kind, object) VALUES (?, ?, ?)")
                .bind(team_id)
                .bind(kind)
                .bind(object)
                .execute(&mut *tx)
                .await?;
        }
    }
    let rec = audit::record(
        &mut tx,
        actor,
        "team.ownership",
        "team",
        team_id,
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&owned).ok(),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    get(db, team_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_job_names_a_selector_can_hold() {
        for ok in ["keiko-api", "node", "mcp_server:8080", "a.b"] {
            assert_eq!(service_problem(ok), None, "{ok}");
        }
        for bad in ["", "a b", "x\"y", "a|b", &"j".repeat(101)] {
            assert!(service_problem(bad).is_some(), "{bad:?}");
        }
    }
}
