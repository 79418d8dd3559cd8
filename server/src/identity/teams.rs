//! Teams: named groups of users (a user may be in several). The checklist and alert routing
//! are kept per team.

use app::dto::{MemberView, Role, TeamView};
use serde::Deserialize;
use sqlx::SqlitePool;

use super::parse_name;
use crate::actor::Actor;
use crate::audit;
use crate::db::now;
use crate::error::{unique_violation, Error};
use crate::metrics::Metrics;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
}

pub async fn get(db: &SqlitePool, id: i64) -> Result<Option<TeamView>, sqlx::Error> {
    let team: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, created_at FROM teams WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let Some((id, name, created_at)) = team else {
        return Ok(None);
    };
    let members: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.login, u.name FROM users u JOIN team_members m ON m.user_id = u.id \
         WHERE m.team_id = ? ORDER BY u.login",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(Some(TeamView {
        id,
        name,
        created_at,
        members: members
            .into_iter()
            .map(|(id, login, name)| MemberView { id, login, name })
            .collect(),
    }))
}

pub async fn list(db: &SqlitePool) -> Result<Vec<TeamView>, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM teams ORDER BY name")
        .fetch_all(db)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(team) = get(db, id).await? {
            out.push(team);
        }
    }
    Ok(out)
}

pub async fn create(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    req: CreateTeam,
) -> Result<TeamView, Error> {
    actor.require(Role::Admin)?;
    let name = parse_name("name", &req.name, false)?;
    let mut tx = crate::db::begin_write(db).await?;
    let created_at = now();
    let id: i64 =
        sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(&name)
            .bind(&created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(unique_violation("name", "a team with this name exists"))?;
    let team = TeamView {
        id,
        name,
        created_at,
        members: vec![],
    };
    let rec = audit::record(
        &mut tx,
        actor,
        "team.create",
        "team",
        id,
        None,
        Some(serde_json::to_value(&team).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(team)
}

pub async fn delete(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    id: i64,
) -> Result<(), Error> {
    actor.require(Role::Admin)?;
    let before = get(db, id).await?.ok_or_else(|| Error::not_found("team"))?;
    let mut tx = crate::db::begin_write(db).await?;
    sqlx::query("DELETE FROM teams WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let rec = audit::record(
        &mut tx,
        actor,
        "team.delete",
        "team",
        id,
        Some(serde_json::to_value(&before).unwrap_or_default()),
        None,
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(())
}

/// Adds (`member = true`) or removes a user; idempotent.
pub async fn set_member(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    team_id: i64,
    user_id: i64,
    member: bool,
) -> Result<TeamView, Error> {
    actor.require(Role::Admin)?;
    let before = get(db, team_id)
        .await?
        .ok_or_else(|| Error::not_found("team"))?;
    let user = super::users::by_id(db, user_id)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    let mut after = before.clone();
    after.members.retain(|m| m.id != user_id);
    if member {
        after.members.push(MemberView {
            id: user.id,
            login: user.login.clone(),
            name: user.name.clone(),
        });
        after.members.sort_by(|a, b| a.login.cmp(&b.login));
    }
    let mut tx = crate::db::begin_write(db).await?;
    if member {
        sqlx::query("INSERT OR IGNORE INTO team_members (team_id, user_id) VALUES (?, ?)")
    } else {
        sqlx::query("DELETE FROM team_members WHERE team_id = ? AND user_id = ?")
    }
    .bind(team_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    let rec = audit::record(
        &mut tx,
        actor,
        if member {
            "team.add_member"
        } else {
            "team.remove_member"
        },
        "team",
        team_id,
        Some(serde_json::to_value(&before).unwrap_or_default()),
        Some(serde_json::to_value(&after).unwrap_or_default()),
    )
    .await?;
    audit::commit(tx, metrics, rec).await?;
    Ok(after)
}
