//! Per-user Explore query history: `GET` and `POST /api/v1/query-history`.

use app::dto::Role;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::Api;
use crate::actor::Actor;
use crate::history;
use crate::http::errors::{ApiError, ApiJson};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/query-history", Role::Viewer, list)
        .at(Method::POST, "/api/v1/query-history", Role::Viewer, record)
}

#[derive(Deserialize)]
struct ListParams {
    datasource_id: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    let entries = history::list(
        &state.db,
        actor.user_id,
        p.datasource_id,
        p.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(entries).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordBody {
    query: String,
    datasource_id: Option<i64>,
}

async fn record(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<RecordBody>,
) -> Result<Response, ApiError> {
    let entry = history::record(&state.db, actor.user_id, body.datasource_id, &body.query).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}
