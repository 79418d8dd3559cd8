//! What users do with dashboards, as the API routes and the pages call it: save a native
//! document (validated on the CPU pool), import Grafana or native JSON with its report,
//! restore an old version, duplicate.

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::grafana::{self, ReportEntry};
use super::model::Dashboard;
use super::store::{self, Stored};
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;

/// The native document in `v`, validated (every expression lexed: run it on the CPU pool).
fn native(v: Value) -> Result<Dashboard, Error> {
    let doc: Dashboard = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "dashboard".to_owned()
        } else {
            format!("dashboard.{path}")
        };
        Error::invalid(field, format!("not a Keiko dashboard: {}", e.into_inner()))
    })?;
    super::model::validate(&doc)?;
    Ok(doc)
}

async fn checked(dashboard: Value) -> Result<Dashboard, Error> {
    crate::cpu::run(move || native(dashboard)).await?
}

/// Stores a new dashboard from its native JSON.
pub async fn create(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    dashboard: Value,
    message: &str,
) -> Result<Stored, Error> {
    let doc = checked(dashboard).await?;
    store::create(db, metrics, actor, doc, message, None).await
}

/// Saves a new version of `uid` from its native JSON; `version` is the one edited.
pub async fn update(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
    version: Option<i64>,
    dashboard: Value,
    message: &str,
) -> Result<Stored, Error> {
    let version =
        version.ok_or_else(|| Error::invalid("version", "send the version you edited"))?;
    let doc = checked(dashboard).await?;
    store::update(
        db,
        metrics,
        actor,
        uid,
        doc,
        store::Save {
            expected: version,
            message,
            action: "dashboard.update",
        },
    )
    .await
}

/// Counts of the report's outcomes: what a user reads first.
pub fn summary(report: &[ReportEntry]) -> Value {
    let count = |o: grafana::Outcome| report.iter().filter(|e| e.outcome == o).count();
    json!({
        "converted": count(grafana::Outcome::Converted),
        "changed": count(grafana::Outcome::ConvertedWithChanges),
        "dropped": count(grafana::Outcome::NotSupported),
    })
}

/// What an import did.
pub enum Imported {
    /// Converted only (`dry_run`): nothing stored.
    DryRun(Dashboard),
    /// A new dashboard.
    Created(Stored),
    /// A new version of the dashboard with the same uid (`overwrite`).
    Overwritten(Stored),
}

/// Imports Grafana JSON (the `{"dashboard": …}` wrapper or bare, any schema version) or
/// native JSON, with the report of every panel and variable. With `overwrite` a dashboard
/// of the same uid gets a new version instead of a conflict.
pub async fn import(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    body: Value,
    dry_run: bool,
    overwrite: bool,
) -> Result<(Imported, Vec<ReportEntry>), Error> {
    let (doc, report) = crate::cpu::run(move || super::from_json(&body)).await??;
    if dry_run {
        return Ok((Imported::DryRun(doc), report));
    }
    let existing = if overwrite && !doc.uid.is_empty() {
        match store::get(db, &doc.uid).await {
            Ok(current) => Some(current),
            // Nothing to replace: the import creates it.
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let imported = match existing {
        Some(current) => {
            let uid = doc.uid.clone();
            let save = store::Save {
                expected: current.version,
                message: "imported over the previous version",
                action: "dashboard.import",
            };
            Imported::Overwritten(store::update(db, metrics, actor, &uid, doc, save).await?)
        }
        None => Imported::Created(store::create(db, metrics, actor, doc, "imported", None).await?),
    };
    Ok((imported, report))
}

/// Makes old `version` of `uid` the newest; `expected` is the version the caller saw
/// (the current one when not given).
pub async fn restore(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
    version: i64,
    expected: Option<i64>,
) -> Result<Stored, Error> {
    let old = store::version(db, uid, version).await?;
    let expected = match expected {
        Some(v) => v,
        None => store::get(db, uid).await?.version,
    };
    store::update(
        db,
        metrics,
        actor,
        uid,
        old,
        store::Save {
            expected,
            message: &format!("restored version {version}"),
            action: "dashboard.restore",
        },
    )
    .await
}

/// A copy of `uid` under a new uid, titled `title` or "… (copy)".
pub async fn duplicate(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    uid: &str,
    title: Option<String>,
) -> Result<Stored, Error> {
    let mut doc = store::get(db, uid).await?.dashboard;
    doc.title = title
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("{} (copy)", doc.title));
    doc.uid = String::new();
    store::create(db, metrics, actor, doc, &format!("copy of {uid}"), None).await
}
