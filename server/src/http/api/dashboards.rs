//! Dashboards over HTTP: list/search, create, import (Grafana or native, with a report),
//! read, export, save with optimistic locking, delete, versions and restore, duplicate,
//! stars, recent views, unlinking a provisioned dashboard, and rendering for the view page.

use app::dashboard_model::{DashboardRequest, DashboardView};
use app::dto::Role;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::dashboards::{self, grafana, model::Dashboard, store};
use crate::http::errors::{ApiError, ApiJson};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/dashboards", Role::Viewer, list)
        .at(Method::POST, "/api/v1/dashboards", Role::Editor, create)
        .at(
            Method::POST,
            "/api/v1/dashboards/import",
            Role::Editor,
            import,
        )
        .at(
            Method::GET,
            "/api/v1/dashboards/recent",
            Role::Viewer,
            recent,
        )
        .at(Method::GET, "/api/v1/dashboards/{uid}", Role::Viewer, get)
        .at(
            Method::PUT,
            "/api/v1/dashboards/{uid}",
            Role::Editor,
            update,
        )
        .at(
            Method::DELETE,
            "/api/v1/dashboards/{uid}",
            Role::Editor,
            delete,
        )
        .at(
            Method::GET,
            "/api/v1/dashboards/{uid}/export",
            Role::Viewer,
            export,
        )
        .at(
            Method::GET,
            "/api/v1/dashboards/{uid}/render",
            Role::Viewer,
            render,
        )
        .at(
            Method::GET,
            "/api/v1/dashboards/{uid}/versions",
            Role::Viewer,
            versions,
        )
        .at(
            Method::GET,
            "/api/v1/dashboards/{uid}/versions/{version}",
            Role::Viewer,
            version,
        )
        .at(
            Method::POST,
            "/api/v1/dashboards/{uid}/restore/{version}",
            Role::Editor,
            restore,
        )
        .at(
            Method::POST,
            "/api/v1/dashboards/{uid}/duplicate",
            Role::Editor,
            duplicate,
        )
        .at(
            Method::POST,
            "/api/v1/dashboards/{uid}/star",
            Role::Viewer,
            star,
        )
        .at(
            Method::DELETE,
            "/api/v1/dashboards/{uid}/star",
            Role::Viewer,
            unstar,
        )
        .at(
            Method::POST,
            "/api/v1/dashboards/{uid}/unlink",
            Role::Editor,
            unlink,
        )
}

#[derive(Deserialize)]
struct ListParams {
    query: Option<String>,
    tag: Option<String>,
    folder: Option<String>,
    starred: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    let filter = store::Filter {
        query: p.query.filter(|q| !q.is_empty()),
        tag: p.tag.filter(|t| !t.is_empty()),
        folder: p.folder.filter(|f| !f.is_empty()),
        starred: p.starred.unwrap_or(false),
    };
    Ok(Json(store::list(&state.db, actor.user_id, &filter).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    dashboard: Value,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    message: String,
}

/// The native document in `v`, validated (every expression lexed: run it on the CPU pool).
fn native(v: Value) -> Result<Dashboard, ApiError> {
    let doc: Dashboard = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "dashboard".to_owned()
        } else {
            format!("dashboard.{path}")
        };
        ApiError::invalid(field, format!("not a Keiko dashboard: {}", e.into_inner()))
    })?;
    doc.validate()?;
    Ok(doc)
}

fn stored_json(s: &store::Stored) -> Value {
    json!({
        "uid": s.dashboard.uid,
        "version": s.version,
        "dashboard": s.dashboard,
        "provisioned_from": s.provisioned_from,
        "updated_at": s.updated_at,
    })
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<Response, ApiError> {
    let dashboard = body.dashboard;
    let doc = crate::cpu::run(move || native(dashboard)).await??;
    let s = store::create(&state.db, &state.metrics, &actor, doc, &body.message, None).await?;
    Ok((StatusCode::CREATED, Json(stored_json(&s))).into_response())
}

#[derive(Deserialize)]
struct ImportParams {
    dry_run: Option<bool>,
    /// Replace the dashboard with the same uid (its earlier versions stay in the history).
    overwrite: Option<bool>,
}

/// Counts of the report's outcomes: what a user reads first.
fn summary(report: &[grafana::ReportEntry]) -> Value {
    let count = |o: grafana::Outcome| report.iter().filter(|e| e.outcome == o).count();
    json!({
        "converted": count(grafana::Outcome::Converted),
        "changed": count(grafana::Outcome::ConvertedWithChanges),
        "dropped": count(grafana::Outcome::NotSupported),
    })
}

/// Grafana JSON (the `{"dashboard": …}` wrapper or bare, any schema version) or native JSON.
/// With `overwrite=true` a dashboard of the same uid is replaced by a new version.
async fn import(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ImportParams>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let (doc, report) = crate::cpu::run(move || dashboards::from_json(&body)).await??;
    let summary = summary(&report);
    if p.dry_run.unwrap_or(false) {
        return Ok(Json(json!({
            "uid": doc.uid, "dry_run": true, "dashboard": doc, "report": report, "summary": summary,
        }))
        .into_response());
    }
    let existing = if p.overwrite.unwrap_or(false) && !doc.uid.is_empty() {
        match store::get(&state.db, &doc.uid).await {
            Ok(current) => Some(current),
            // Nothing to replace: the import creates it.
            Err(crate::error::Error::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    if let Some(current) = existing {
        let uid = doc.uid.clone();
        let s = store::update(
            &state.db,
            &state.metrics,
            &actor,
            &uid,
            doc,
            store::Save {
                expected: current.version,
                message: "imported over the previous version",
                action: "dashboard.import",
            },
        )
        .await?;
        return Ok(Json(json!({
            "uid": s.dashboard.uid, "version": s.version, "report": report,
            "summary": summary, "overwritten": true,
        }))
        .into_response());
    }
    let s = store::create(&state.db, &state.metrics, &actor, doc, "imported", None).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "uid": s.dashboard.uid, "version": s.version, "report": report, "summary": summary })),
    )
        .into_response())
}

async fn get(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    let s = store::get(&state.db, &uid).await?;
    let mut body = stored_json(&s);
    let starred = store::is_starred(&state.db, actor.user_id, &uid).await?;
    body["starred"] = json!(starred);
    Ok(Json(body).into_response())
}

async fn export(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    let s = store::get(&state.db, &uid).await?;
    let text =
        serde_json::to_string_pretty(&s.dashboard).map_err(|e| ApiError::internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.json\"", s.dashboard.uid),
            ),
        ],
        text,
    )
        .into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<Response, ApiError> {
    let version = body
        .version
        .ok_or_else(|| ApiError::invalid("version", "send the version you edited"))?;
    let dashboard = body.dashboard;
    let doc = crate::cpu::run(move || native(dashboard)).await??;
    let s = store::update(
        &state.db,
        &state.metrics,
        &actor,
        &uid,
        doc,
        store::Save {
            expected: version,
            message: &body.message,
            action: "dashboard.update",
        },
    )
    .await?;
    let mut out = stored_json(&s);
    if let Some(file) = &s.provisioned_from {
        out["warning"] = json!(format!(
            "this dashboard is provisioned from {file}: the file replaces it on the next start unless you unlink it"
        ));
    }
    Ok(Json(out).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    store::delete(&state.db, &state.metrics, &actor, &uid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn versions(
    State(state): State<AppState>,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(store::versions(&state.db, &uid).await?).into_response())
}

async fn version(
    State(state): State<AppState>,
    Path((uid, version)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    Ok(Json(store::version(&state.db, &uid, version).await?).into_response())
}

/// An optional JSON body: empty means the defaults.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &str) -> Result<T, ApiError> {
    if body.trim().is_empty() {
        Ok(T::default())
    } else {
        crate::http::errors::parse_json(body.as_bytes())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    version: Option<i64>,
}

async fn restore(
    State(state): State<AppState>,
    actor: Actor,
    Path((uid, version)): Path<(String, i64)>,
    body: String,
) -> Result<Response, ApiError> {
    let body: RestoreBody = optional_json(&body)?;
    let old = store::version(&state.db, &uid, version).await?;
    let current = store::get(&state.db, &uid).await?;
    let expected = body.version.unwrap_or(current.version);
    let s = store::update(
        &state.db,
        &state.metrics,
        &actor,
        &uid,
        old,
        store::Save {
            expected,
            message: &format!("restored version {version}"),
            action: "dashboard.restore",
        },
    )
    .await?;
    Ok(Json(stored_json(&s)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DuplicateBody {
    title: Option<String>,
}

async fn duplicate(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let body: DuplicateBody = optional_json(&body)?;
    let mut doc = store::get(&state.db, &uid).await?.dashboard;
    doc.title = body
        .title
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("{} (copy)", doc.title));
    doc.uid = String::new();
    let s = store::create(
        &state.db,
        &state.metrics,
        &actor,
        doc,
        &format!("copy of {uid}"),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored_json(&s))).into_response())
}

async fn star(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    store::set_star(&state.db, actor.user_id, &uid, true).await?;
    Ok(Json(json!({ "starred": true })).into_response())
}

async fn unstar(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    store::set_star(&state.db, actor.user_id, &uid, false).await?;
    Ok(Json(json!({ "starred": false })).into_response())
}

async fn unlink(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    store::unlink(&state.db, &state.metrics, &actor, &uid).await?;
    Ok(Json(json!({ "provisioned_from": null })).into_response())
}

async fn recent(State(state): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    Ok(Json(store::recent(&state.db, actor.user_id).await?).into_response())
}

/// Reads `from`, `to`, `width`, `panel`, `toggle` (repeatable) and `var-NAME` (repeatable)
/// from a query string.
fn dashboard_request(uid: &str, raw: Option<String>) -> Result<DashboardRequest, ApiError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mut req = DashboardRequest {
        uid: uid.to_owned(),
        width: 1200,
        ..Default::default()
    };
    for (k, v) in pairs {
        match k.as_str() {
            "from" if !v.is_empty() => req.from = Some(v),
            "to" if !v.is_empty() => req.to = Some(v),
            "width" => {
                req.width = v
                    .parse()
                    .ok()
                    .filter(|w| (320..=4000).contains(w))
                    .ok_or_else(|| ApiError::invalid("width", "must be 320 to 4000 pixels"))?;
            }
            "panel" => {
                req.panel = Some(
                    v.parse()
                        .map_err(|_| ApiError::invalid("panel", "must be a panel id"))?,
                );
            }
            "toggle" => req.toggle.push(
                v.parse()
                    .map_err(|_| ApiError::invalid("toggle", "must be a row panel id"))?,
            ),
            other => {
                if let Some(name) = other.strip_prefix("var-") {
                    match req.vars.iter_mut().find(|(n, _)| n == name) {
                        Some((_, vals)) => vals.push(v),
                        None => req.vars.push((name.to_owned(), vec![v])),
                    }
                }
            }
        }
    }
    Ok(req)
}

/// Renders a dashboard for the view page (and records the view for "recently viewed").
pub async fn render_view(
    state: &AppState,
    user_id: i64,
    req: &DashboardRequest,
) -> Result<DashboardView, ApiError> {
    let stored = store::get(&state.db, &req.uid).await?;
    let resolve = state.sources.metrics_per_render();
    let (variables, panels, from, to) =
        dashboards::render::render(&stored.dashboard, req, &resolve, super::now_seconds()).await?;
    if req.panel.is_none() {
        store::record_view(&state.db, user_id, &req.uid).await?;
    }
    let starred = store::is_starred(&state.db, user_id, &req.uid).await?;
    let doc = stored.dashboard;
    Ok(DashboardView {
        uid: doc.uid,
        title: doc.title,
        folder: doc.folder,
        tags: doc.tags,
        version: stored.version,
        provisioned_from: stored.provisioned_from,
        starred,
        from,
        to,
        refresh: doc.refresh,
        variables,
        panels,
    })
}

async fn render(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let req = dashboard_request(&uid, raw)?;
    Ok(Json(render_view(&state, actor.user_id, &req).await?).into_response())
}
