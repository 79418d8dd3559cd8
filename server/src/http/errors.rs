//! Error responses: JSON for `/api/*`, a page for everything else, and 5xx bodies that never
//! carry internal detail (the detail goes to the log, with the correlation id).

use std::any::Any;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use leptos::config::LeptosOptions;
use serde_json::json;

use crate::state::AppState;

/// One error as the API answers it:
/// `{"error": {"status", "code", "message", "field"?}}`. Internal errors keep their cause
/// for the log and answer an opaque message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Extra members of the error object (e.g. `errors` for rule files, `current` on 409).
    pub details: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            details: None,
            retry_after: None,
            source: None,
        }
    }

    /// 400: `field` holds a value the API cannot accept, for the reason in `message`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut err = ApiError::new(StatusCode::BAD_REQUEST, "invalid", message);
        err.field = Some(field.into());
        err
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409 about `field` (e.g. a name already taken).
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut err = ApiError::new(StatusCode::CONFLICT, "conflict", message);
        err.field = Some(field.into());
        err
    }

    /// 500 with an opaque body; `err` is logged with its chain when the response is built.
    pub fn internal(err: anyhow::Error) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it was logged with this request's correlation ID",
        );
        e.source = Some(err);
        e
    }
}

impl From<crate::cpu::Busy> for ApiError {
    fn from(busy: crate::cpu::Busy) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", busy.to_string());
        e.retry_after = Some(1);
        e
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        ApiError::internal(anyhow::Error::new(err).context("database"))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> ApiError {
        match err.downcast_ref::<crate::cpu::Busy>() {
            Some(busy) => ApiError::from(*busy),
            None => ApiError::internal(err),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(
                error = format!("{source:#}"),
                error_type = "InternalError",
                "Request failed"
            );
        }
        let mut body = json!({
            "status": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
        });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        if let Some(serde_json::Value::Object(extra)) = self.details {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

/// `Json<T>` whose rejections are API errors naming the field serde complained about.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                // serde names the field between backticks: "missing field `login`".
                let field = text
                    .split('`')
                    .nth(1)
                    .filter(|f| !f.contains(' '))
                    .unwrap_or("body")
                    .to_owned();
                let mut err = ApiError::new(rejection.status(), "invalid", text);
                err.field = Some(field);
                Err(err)
            }
        }
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Requests no route matched: JSON 404 under `/api`, the app's "not found" page elsewhere.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    if is_api(req.uri().path()) {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route")
            .into_response();
    }
    let options: LeptosOptions = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream(move || app::shell(options.clone()));
    render(req).await.into_response()
}

/// Gives error responses that a layer or handler produced without a proper body (413 from
/// the body limit, 408 from the timeout, 405, a caught panic…) the uniform shape.
pub async fn uniform_errors(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if api && !content_type.starts_with("application/json") {
        let reason = status.canonical_reason().unwrap_or("error").to_owned();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            s if s.is_server_error() => "internal",
            _ => "bad_request",
        };
        return ApiError::new(status, code, reason).into_response();
    }
    // Bodies a layer wrote (empty or plain text) become a page; JSON and HTML bodies a
    // handler chose stay as they are (e.g. /readyz answers JSON on 503).
    if !api && (content_type.is_empty() || content_type.starts_with("text/plain")) {
        return (status, error_page(status)).into_response();
    }
    response
}

fn error_page(status: StatusCode) -> Html<String> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let hint = if status.is_server_error() {
        "Something went wrong on our side. The error was logged with this request's correlation ID."
    } else {
        "The request could not be served."
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason} · Keiko</title>\
         <link rel=\"stylesheet\" href=\"/pkg/keiko.css\"></head><body><main class=\"error-page\">\
         <h1>{code} {reason}</h1><p>{hint}</p><p><a href=\"/\">Back to the start page</a></p></main></body></html>",
        code = status.as_u16()
    ))
}

/// Turns a panic in a handler into an opaque 500; the panic message is logged, not sent.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(error = detail, error_type = "Panic", "Handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}
