//! Native dashboards: the model, Grafana import with its report, storage with versions,
//! provisioning from files (and the two shipped dashboards), and server-side rendering.

pub mod actions;
pub mod field;
pub mod grafana;
mod grafana_fields;
mod log_counts;
pub mod model;
pub mod render;
pub mod store;
mod traces;
pub mod view;

use std::path::Path;

use serde_json::Value;
use sqlx::SqlitePool;

use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;
use grafana::ReportEntry;
use model::Dashboard;

/// Shipped with the portal: the seed's "Keiko Overview" (its Grafana JSON, verbatim) and the
/// portal's self-monitoring dashboard.
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "keiko-overview",
        "builtin:keiko-overview.json",
        include_str!("../../../dashboards/keiko-overview.json"),
    ),
    (
        "portal-self",
        "builtin:portal-self-monitoring.json",
        include_str!("../../../dashboards/portal-self-monitoring.json"),
    ),
];

/// Reads Grafana or native JSON into a native dashboard, with the import report.
pub fn from_json(v: &Value) -> Result<(Dashboard, Vec<ReportEntry>), Error> {
    if !v.is_object() {
        return Err(Error::invalid("dashboard", "expected a JSON object"));
    }
    if grafana::is_grafana(v) {
        let c = grafana::convert(v).map_err(|m| Error::invalid("dashboard", m))?;
        model::validate(&c.dashboard)?;
        Ok((c.dashboard, c.report))
    } else {
        let doc: Dashboard = serde_json::from_value(v.clone()).map_err(|e| {
            Error::invalid(
                "dashboard",
                format!("not a Keiko or Grafana dashboard: {e}"),
            )
        })?;
        model::validate(&doc)?;
        let report = doc
            .panels
            .iter()
            .map(|p| ReportEntry {
                kind: "panel",
                title: p.title.clone(),
                source_type: format!("{:?}", p.kind).to_lowercase(),
                outcome: grafana::Outcome::Converted,
                notes: Vec::new(),
            })
            .collect();
        Ok((doc, report))
    }
}

/// Creates or refreshes one provisioned dashboard owned by `origin`. One the user unlinked
/// (or made in the UI with the same uid) is left alone.
async fn provision_one(
    db: &SqlitePool,
    metrics: &Metrics,
    origin: &str,
    uid_hint: &str,
    text: &str,
) -> Result<String, Error> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid("dashboard", format!("not JSON: {e}")))?;
    let (mut doc, _) = from_json(&v)?;
    if doc.uid.is_empty() {
        doc.uid = uid_hint.to_owned();
    }
    if origin == "builtin:keiko-overview.json" {
        // A folder only: tags stay as the seed wrote them (none), so no evidence is implied.
        doc.folder = "Keiko".into();
    }
    let actor = Actor::provisioning();
    match store::get(db, &doc.uid).await {
        Err(Error::NotFound(_)) => {
            store::create(
                db,
                metrics,
                &actor,
                doc,
                &format!("provisioned from {origin}"),
                Some(origin),
            )
            .await?;
            Ok("created".into())
        }
        Err(e) => Err(e),
        Ok(existing) if existing.provisioned_from.as_deref() == Some(origin) => {
            if existing.dashboard == doc {
                return Ok("unchanged".into());
            }
            let uid = doc.uid.clone();
            store::update(
                db,
                metrics,
                &actor,
                &uid,
                doc,
                store::Save {
                    expected: existing.version,
                    message: &format!("provisioned from {origin}"),
                    action: "dashboard.provision",
                },
            )
            .await?;
            Ok("updated".into())
        }
        Ok(_) => Ok("skipped: the dashboard with this uid is not linked to this file".into()),
    }
}

/// Provisions the shipped dashboards and `<dir>/dashboards/*.json`. A bad file is logged
/// and skipped; it never stops the start.
pub async fn provision(db: &SqlitePool, metrics: &Metrics, dir: Option<&Path>) {
    let mut files: Vec<(String, String, String)> = BUILTIN
        .iter()
        .map(|(uid, origin, text)| ((*origin).to_owned(), (*uid).to_owned(), (*text).to_owned()))
        .collect();
    if let Some(dir) = dir {
        let folder = dir.join("dashboards");
        match std::fs::read_dir(&folder) {
            Ok(entries) => {
                let mut paths: Vec<_> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect();
                paths.sort();
                for path in paths {
                    let stem: String = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or("dashboard")
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                                c
                            } else {
                                '-'
                            }
                        })
                        .take(40)
                        .collect();
                    match std::fs::read_to_string(&path) {
                        Ok(text) => files.push((path.display().to_string(), stem, text)),
                        Err(e) => {
                            tracing::warn!(file = %path.display(), error = %e, "Cannot read dashboard file")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(dir = %folder.display(), error = %e, "Cannot read the provisioning directory")
            }
        }
    }
    for (origin, uid, text) in files {
        match provision_one(db, metrics, &origin, &uid, &text).await {
            Ok(outcome) => {
                tracing::info!(file = %origin, outcome = %outcome, "Dashboard provisioned")
            }
            Err(e) => tracing::warn!(
                file = %origin,
                field = e.field().unwrap_or(""),
                error = %e.message(),
                error_type = "ProvisioningError",
                "Dashboard file refused"
            ),
        }
    }
}
