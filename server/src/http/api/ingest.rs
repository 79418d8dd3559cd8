//! Pushed metrics into the embedded store: Prometheus remote-write 1.0 at `/api/v1/write`
//! and OTLP/HTTP metrics at `/v1/metrics`. Decoding is the `ingest` crate's; a request is
//! stored as one all-or-nothing batch (acknowledged only once it is durable), and a
//! refused request stores nothing.

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::traces::header_text;
use super::Api;
use crate::embedded::{push, EmbeddedStore};
use crate::http::errors::ApiError;
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::POST, "/api/v1/write", Role::Editor, remote_write)
        .at(Method::POST, "/v1/metrics", Role::Editor, otlp_metrics)
}

fn store(state: &AppState) -> Result<&std::sync::Arc<EmbeddedStore>, ApiError> {
    state.embedded.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the embedded metrics store is not running",
        )
    })
}

async fn remote_write(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let encoding = header_text(&headers, header::CONTENT_ENCODING);
    push::remote_write(store(&state)?, body, encoding).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn otlp_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (content_type, answer) = push::otlp(
        store(&state)?,
        body,
        header_text(&headers, header::CONTENT_TYPE),
        header_text(&headers, header::CONTENT_ENCODING),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, content_type)], answer).into_response())
}
