//! The home page's summary for one user: what is set up (every data source — metrics, logs
//! and traces — with its family and a live health check, rule groups and rules, teams,
//! dashboards and how many are not provisioned), the user's starred and recently viewed
//! dashboards, and the user's teams with their checklist progress.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::SqlitePool;

use crate::checklist::{self, Lang};
use crate::error::Error;
use crate::sources::checks;
use crate::sources::registry::Access;

/// How long one source's health check may take before it counts as failed.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// The checklist template whose progress the home page shows (the built-in one).
const TEMPLATE: i64 = 1;

/// Everything the home page shows for `user_id`, in one answer.
pub async fn summary(db: &SqlitePool, access: &Access, user_id: i64) -> Result<Value, Error> {
    let groups = crate::rules::store::list(db).await?;
    let rule_count: usize = groups.iter().map(|g| g.spec.rules.len()).sum();
    let teams = crate::identity::teams::list(db).await?;
    let mut mine = Vec::new();
    for team in teams
        .iter()
        .filter(|t| t.members.iter().any(|m| m.id == user_id))
    {
        let list = checklist::team_checklist(db, team.id, TEMPLATE, Lang::En).await?;
        mine.push(json!({ "id": team.id, "name": team.name, "progress": list.progress }));
    }
    let all = crate::dashboards::store::list(db, user_id, &Default::default()).await?;
    let starred: Vec<Value> = all
        .iter()
        .filter(|d| d.starred)
        .map(|d| json!({ "uid": d.uid, "title": d.title }))
        .collect();
    Ok(json!({
        "sources": sources(db, access).await?,
        "rules": { "groups": groups.len(), "rules": rule_count },
        "teams": teams.iter().map(|t| json!({ "id": t.id, "name": t.name })).collect::<Vec<_>>(),
        "my_teams": mine,
        "dashboards": {
            "total": all.len(),
            "own": all.iter().filter(|d| d.provisioned_from.is_none()).count(),
        },
        "starred": starred,
        "recent": crate::dashboards::store::recent(db, user_id).await?,
    }))
}

/// Every data source of every family with the outcome of one cheap real call to it
/// (`checks::health`), checked side by side, each within `HEALTH_TIMEOUT`.
async fn sources(db: &SqlitePool, access: &Access) -> Result<Vec<Value>, Error> {
    let checks = access
        .every(db)
        .await?
        .into_iter()
        .map(|(row, client)| async move {
            let health = match client {
                Ok(c) => {
                    let t = checks::health(&c, HEALTH_TIMEOUT).await;
                    json!({ "ok": t.ok, "message": t.message, "elapsed_ms": t.elapsed_ms })
                }
                Err(reason) => json!({ "ok": false, "message": reason, "elapsed_ms": 0 }),
            };
            json!({
                "id": row.id, "name": row.name, "type": row.kind, "family": row.family(),
                "default": row.is_default, "health": health,
            })
        });
    Ok(futures::future::join_all(checks).await)
}
