//! Dashboards over HTTP: list/search, create, import (Grafana or native, with a report),
//! read, export, save with optimistic locking, delete, versions and restore, duplicate,
//! stars, recent views, unlinking a provisioned dashboard, and rendering for the view page.

use app::dashboards::model::DashboardRequest;
use app::dto::Role;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::dashboards::actions::{self, Imported};
use crate::dashboards::{store, view};
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
    let s = actions::create(
        &state.db,
        &state.metrics,
        &actor,
        body.dashboard,
        &body.message,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(stored_json(&s))).into_response())
}

#[derive(Deserialize)]
struct ImportParams {
    dry_run: Option<bool>,
    /// Replace the dashboard with the same uid (its earlier versions stay in the history).
    overwrite: Option<bool>,
}

/// Grafana JSON (the `{"dashboard": …}` wrapper or bare, any schema version) or native JSON.
/// With `overwrite=true` a dashboard of the same uid is replaced by a new version.
async fn import(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ImportParams>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let (imported, report) = actions::import(
        &state.db,
        &state.metrics,
        &actor,
        body,
        p.dry_run.unwrap_or(false),
        p.overwrite.unwrap_or(false),
    )
    .await?;
    let summary = actions::summary(&report);
    Ok(match imported {
        Imported::DryRun(doc) => Json(json!({
            "uid": doc.uid, "dry_run": true, "dashboard": doc, "report": report, "summary": summary,
        }))
        .into_response(),
        Imported::Overwritten(s) => Json(json!({
            "uid": s.dashboard.uid, "version": s.version, "report": report,
            "summary": summary, "overwritten": true,
        }))
        .into_response(),
        Imported::Created(s) => (
            StatusCode::CREATED,
            Json(json!({ "uid": s.dashboard.uid, "version": s.version, "report": report, "summary": summary })),
        )
            .into_response(),
    })
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
    let s = actions::update(
        &state.db,
        &state.metrics,
        &actor,
        &uid,
        body.version,
        body.dashboard,
        &body.message,
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
    let s = actions::restore(
        &state.db,
        &state.metrics,
        &actor,
        &uid,
        version,
        body.version,
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
    let s = actions::duplicate(&state.db, &state.metrics, &actor, &uid, body.title).await?;
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

async fn render(
    State(state): State<AppState>,
    actor: Actor,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let req = dashboard_request(&uid, raw)?;
    let view = view::render_view(&state.db, &state.sources, actor.user_id, &req).await?;
    Ok(Json(view).into_response())
}
