//! Escalation policies (admins write, everyone reads) and acknowledging an active alert
//! (`POST /api/v1/alerts/{fingerprint}/ack`, editors). Each handler parses, calls one
//! `notify` function and shapes the answer.

use app::dto::Role;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::notifications::notifier;
use super::Api;
use crate::actor::Actor;
use crate::error::Error;
use crate::http::errors::{ApiError, ApiJson};
use crate::notify::{acks, escalation};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(
        Method::GET,
        "/api/v1/escalation-policies",
        Role::Viewer,
        list,
    )
    .at(
        Method::POST,
        "/api/v1/escalation-policies",
        Role::Admin,
        create,
    )
    .at(
        Method::GET,
        "/api/v1/escalation-policies/{id}",
        Role::Viewer,
        get,
    )
    .at(
        Method::PUT,
        "/api/v1/escalation-policies/{id}",
        Role::Admin,
        update,
    )
    .at(
        Method::DELETE,
        "/api/v1/escalation-policies/{id}",
        Role::Admin,
        delete,
    )
    .at(
        Method::POST,
        "/api/v1/alerts/{fingerprint}/ack",
        Role::Editor,
        ack,
    )
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = escalation::list(&state.db).await?;
    Ok(Json(all.iter().map(|p| p.view()).collect::<Vec<Value>>()).into_response())
}

async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(escalation::get(&state.db, id).await?.view()).into_response())
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<escalation::PolicyBody>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    let saved = notifier
        .save_escalation(&state.metrics, &actor, None, body)
        .await?;
    Ok((StatusCode::CREATED, Json(saved.view())).into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<escalation::PolicyBody>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    let saved = notifier
        .save_escalation(&state.metrics, &actor, Some(id), body)
        .await?;
    Ok(Json(saved.view()).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    notifier
        .delete_escalation(&state.metrics, &actor, id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Acknowledges the pending or firing alert with this fingerprint (see `/api/v1/alerts`).
async fn ack(
    State(state): State<AppState>,
    actor: Actor,
    Path(fingerprint): Path<String>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    let fp = acks::parse_fingerprint("fingerprint", &fingerprint)?;
    let active = crate::alerting::views::find_active(state.alerting.as_deref(), fp)
        .ok_or_else(|| Error::not_found(format!("pending or firing alert {fingerprint}")))?;
    let ack = notifier
        .acknowledge(&state.metrics, &actor, &active)
        .await?;
    Ok(Json(ack.view()).into_response())
}
