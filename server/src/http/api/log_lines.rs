//! One log line by its id (`GET /api/v1/logs/lines/{id}`) and its context
//! (`GET /api/v1/logs/lines/{id}/context?before=N&after=N`): the lines just before and
//! after it from the same service and instance, as `LogSource::context` finds them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::logs::{number, source, source_failure};
use crate::http::errors::ApiError;
use crate::state::AppState;

/// Lines on each side unless asked, and at most.
const DEFAULT_AROUND: usize = 5;
const MAX_AROUND: usize = 200;

fn gone(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no log line {id} (it may have expired)"),
    )
}

pub(super) async fn line(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let found = source(&state, &p)
        .await?
        .get(&id)
        .await
        .map_err(|e| with_field(source_failure(e)))?;
    match found {
        Some(line) => Ok(Json(line).into_response()),
        None => Err(gone(&id)),
    }
}

pub(super) async fn context(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let before = number(&p, "before", DEFAULT_AROUND, MAX_AROUND)?;
    let after = number(&p, "after", DEFAULT_AROUND, MAX_AROUND)?;
    let found = source(&state, &p)
        .await?
        .context(&id, before, after)
        .await
        .map_err(|e| with_field(source_failure(e)))?;
    match found {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(gone(&id)),
    }
}

/// A malformed id is the path's `id` that is wrong.
fn with_field(mut e: ApiError) -> ApiError {
    if e.status == StatusCode::BAD_REQUEST {
        e.field = Some("id".into());
    }
    e
}
