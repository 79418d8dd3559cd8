//! Liveness, readiness and the Prometheus scrape endpoint.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use crate::state::AppState;

/// The process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and migrated; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match crate::db::check_ready(&state.db, &state.config.database_path()).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            state
                .metrics
                .error("database_unavailable", "database", "critical");
            tracing::error!(
                error = format!("{err:#}"),
                error_type = "DatabaseError",
                "Readiness check failed"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "error": "database not reachable" })),
            )
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Exact at every scrape: counted from the session table, expired sessions excluded.
    match crate::identity::sessions::count_active(&state.db).await {
        Ok(n) => state.metrics.user_sessions_active.set(n),
        Err(err) => {
            state
                .metrics
                .error("database_unavailable", "database", "error");
            tracing::warn!(error = %err, error_type = "DatabaseError", "Counting sessions failed");
        }
    }
    let mut text = state.metrics.render();
    if let Some(store) = &state.embedded {
        text.push_str(&crate::embedded::exposition::render(&store.db().stats()));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
