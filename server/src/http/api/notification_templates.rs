//! Notification templates (admins write, everyone reads) and their preview on the alerts
//! firing now. Each handler parses, calls one `notify` function and shapes the answer.

use app::dto::Role;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::http::errors::{ApiError, ApiJson};
use crate::notify::templates;
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(
        Method::GET,
        "/api/v1/notification-templates",
        Role::Viewer,
        list,
    )
    .at(
        Method::POST,
        "/api/v1/notification-templates",
        Role::Admin,
        create,
    )
    .at(
        Method::POST,
        "/api/v1/notification-templates/preview",
        Role::Editor,
        preview,
    )
    .at(
        Method::GET,
        "/api/v1/notification-templates/{id}",
        Role::Viewer,
        get,
    )
    .at(
        Method::PUT,
        "/api/v1/notification-templates/{id}",
        Role::Admin,
        update,
    )
    .at(
        Method::DELETE,
        "/api/v1/notification-templates/{id}",
        Role::Admin,
        delete,
    )
}

fn view(t: &templates::NotificationTemplate) -> Value {
    let defines = t.defines();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    t.view(&defines)
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = templates::list(&state.db).await?;
    Ok(Json(all.iter().map(view).collect::<Vec<Value>>()).into_response())
}

async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(view(&templates::get(&state.db, id).await?)).into_response())
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<templates::TemplateBody>,
) -> Result<Response, ApiError> {
    let saved = templates::save(&state.db, &state.metrics, &actor, None, body).await?;
    Ok((StatusCode::CREATED, Json(view(&saved))).into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<templates::TemplateBody>,
) -> Result<Response, ApiError> {
    let saved = templates::save(&state.db, &state.metrics, &actor, Some(id), body).await?;
    Ok(Json(view(&saved)).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    templates::delete(&state.db, &state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The message a contact point of `type` would get for the alerts firing now (or the one
/// named), built with the stored templates and the unsaved edits.
async fn preview(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<templates::PreviewBody>,
) -> Result<Response, ApiError> {
    let firing = state
        .alerting
        .as_deref()
        .map(|m| m as &dyn crate::notify::FiringAlerts);
    let preview = templates::preview(&state.db, firing, state.notify.as_deref(), body).await?;
    Ok(Json(json!({
        "alerts": preview.alerts,
        "status": preview.status,
        "message": preview.message,
    }))
    .into_response())
}
