//! What Explore → Traces fetches in the browser (the same `trace_explore` functions the
//! server renders the pages with): `GET /api/v1/traces/explore` (the page's search:
//! `service`, `operation`, `filters` — `key=value`, `key!=value`, `key>n`, `key<n`, a bare
//! `key` —, `min`, `max`, `errors=1`, `from`, `to`, `limit`), `GET /api/v1/traces/compare`
//! (`a`, `b`: two trace ids; the compare page's figures: self time per service and
//! operation in both traces and the change) and `GET /api/v1/traces/graph` (`from`, `to`:
//! the service map with RED on nodes and edges).

use std::collections::HashMap;

use app::dto::Role;
use app::traces::model::TraceSearch;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Api;
use crate::charts::time::now_seconds;
use crate::http::errors::ApiError;
use crate::state::AppState;
use crate::trace_explore;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/traces/explore", Role::Viewer, explore)
        .at(Method::GET, "/api/v1/traces/compare", Role::Viewer, compare)
        .at(Method::GET, "/api/v1/traces/graph", Role::Viewer, graph)
}

async fn explore(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let req = TraceSearch::from_pairs(|k| p.get(k).map(String::as_str));
    let src = state.sources.traces(None).await?;
    let view = trace_explore::search(src.as_ref(), &req, now_seconds()).await?;
    Ok(Json(view).into_response())
}

async fn compare(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = |k: &str| p.get(k).map_or("", String::as_str);
    let src = state.sources.traces(None).await?;
    let view = trace_explore::compare(src.as_ref(), id("a"), id("b")).await?;
    Ok(Json(view).into_response())
}

async fn graph(
    State(state): State<AppState>,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let get = |k: &str, d: &str| {
        p.get(k)
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| d.to_owned())
    };
    let src = state.sources.traces(None).await?;
    let map = trace_explore::map::service_map(
        src.as_ref(),
        &get("from", "now-1h"),
        &get("to", "now"),
        now_seconds(),
    )
    .await?;
    Ok(Json(map).into_response())
}
