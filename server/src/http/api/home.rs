//! The home page's summary over HTTP: one answer with what the signed-in user's home shows.

use app::dto::Role;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Api;
use crate::actor::Actor;
use crate::http::errors::ApiError;
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/home", Role::Viewer, summary)
}

async fn summary(State(state): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    let answer = crate::home::summary(&state.db, state.sources.access(), actor.user_id).await?;
    Ok(Json(answer).into_response())
}
