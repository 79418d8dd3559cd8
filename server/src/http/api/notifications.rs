//! Notifications over HTTP: contact points (admin writes, with "send test"), the
//! notification policy, silences (editors) and the notification log. Each handler parses,
//! calls one `notify` function and shapes the answer.

use std::collections::HashMap;
use std::sync::Arc;

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::error::Error;
use crate::http::errors::{ApiError, ApiJson};
use crate::notify::{contact_points, log, policy, silences, Notifier};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/contact-points", Role::Viewer, list)
        .at(Method::POST, "/api/v1/contact-points", Role::Admin, create)
        .at(
            Method::GET,
            "/api/v1/contact-points/{id}",
            Role::Viewer,
            get,
        )
        .at(
            Method::PUT,
            "/api/v1/contact-points/{id}",
            Role::Admin,
            update,
        )
        .at(
            Method::DELETE,
            "/api/v1/contact-points/{id}",
            Role::Admin,
            delete,
        )
        .at(
            Method::POST,
            "/api/v1/contact-points/{id}/test",
            Role::Admin,
            test,
        )
        .at(
            Method::GET,
            "/api/v1/notification-policies",
            Role::Viewer,
            get_policy,
        )
        .at(
            Method::PUT,
            "/api/v1/notification-policies",
            Role::Admin,
            put_policy,
        )
        .at(Method::GET, "/api/v1/silences", Role::Viewer, list_silences)
        .at(Method::POST, "/api/v1/silences", Role::Editor, post_silence)
        .at(
            Method::DELETE,
            "/api/v1/silences/{id}",
            Role::Editor,
            delete_silence,
        )
        .at(
            Method::GET,
            "/api/v1/notifications",
            Role::Viewer,
            notifications,
        )
}

pub(super) fn notifier(state: &AppState) -> Result<Arc<Notifier>, Error> {
    state
        .notify
        .clone()
        .ok_or_else(|| Error::internal(anyhow::anyhow!("notifications are not running")))
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = contact_points::list(&state.db, &state.secrets).await?;
    Ok(Json(all.iter().map(|c| c.view()).collect::<Vec<Value>>()).into_response())
}

async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(
        contact_points::get(&state.db, &state.secrets, id)
            .await?
            .view(),
    )
    .into_response())
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<contact_points::ContactPointBody>,
) -> Result<Response, ApiError> {
    let saved = contact_points::save(
        &state.db,
        &state.metrics,
        &state.secrets,
        state.config.allow_link_local_sources,
        &actor,
        None,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(saved.view())).into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<contact_points::ContactPointBody>,
) -> Result<Response, ApiError> {
    let saved = contact_points::save(
        &state.db,
        &state.metrics,
        &state.secrets,
        state.config.allow_link_local_sources,
        &actor,
        Some(id),
        body,
    )
    .await?;
    Ok(Json(saved.view()).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    contact_points::delete(&state.db, &state.metrics, &state.secrets, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn test(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(notifier(&state)?.test(id).await?).into_response())
}

async fn get_policy(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(policy::load(&state.db).await?).into_response())
}

async fn put_policy(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(doc): ApiJson<policy::PolicyDoc>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    let saved = notifier.save_policy(&state.metrics, &actor, doc).await?;
    Ok(Json(saved).into_response())
}

async fn list_silences(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = chrono::Utc::now();
    let all = silences::load(&state.db).await?;
    Ok(Json(all.iter().map(|s| s.view(now)).collect::<Vec<Value>>()).into_response())
}

async fn post_silence(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<silences::SilenceBody>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    let id = notifier.save_silence(&state.metrics, &actor, body).await?;
    Ok(Json(json!({ "silenceID": id })).into_response())
}

async fn delete_silence(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let notifier = notifier(&state)?;
    notifier.expire_silence(&state.metrics, &actor, &id).await?;
    Ok(StatusCode::OK.into_response())
}

async fn notifications(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let limit = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    Ok(
        Json(log::list(&state.db, q.get("receiver").map(String::as_str), limit).await?)
            .into_response(),
    )
}
