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

use crate::error::{Error, Refusal};
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
    pub retry_after: Option<u16>,
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

/// The one place where the domain's errors become status codes and bodies.
impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        match err {
            Error::Invalid { field, message } => ApiError::invalid(field, message),
            Error::InvalidMany {
                field,
                message,
                errors,
            } => {
                let mut e = ApiError::invalid(field, message);
                e.details = Some(json!({ "errors": errors }));
                e
            }
            Error::BadQuery(message) => {
                let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message);
                e.field = Some("query".into());
                e
            }
            Error::NotFound(what) => ApiError::not_found(&what),
            Error::Conflict {
                field,
                message,
                current,
            } => {
                let mut e = ApiError::conflict(field, message);
                e.details = current.map(|current| json!({ "current": current }));
                e
            }
            Error::VersionConflict { message, current } => {
                let mut e = ApiError::conflict("version", message);
                e.code = "version_conflict";
                e.details = Some(json!({ "current": current }));
                e
            }
            Error::Unauthorized(message) => ApiError::unauthorized(message),
            Error::Forbidden(message) => ApiError::forbidden(message),
            Error::Busy(busy) => ApiError::from(busy),
            Error::SourceTimeout(message) => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "source_timeout", message)
            }
            Error::SourceUnavailable(message) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "source_unavailable", message)
            }
            Error::Refused {
                reason,
                message,
                details,
            } => {
                let mut e = ApiError::invalid("body", message);
                e.code = match reason {
                    Refusal::Malformed => "invalid",
                    Refusal::Limit => "limit",
                    Refusal::Refused => "refused",
                };
                e.details = details;
                e
            }
            Error::Undecodable { error, limit } => {
                let status = if error.is_too_large() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else if error.is_unsupported_media() {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                } else {
                    StatusCode::BAD_REQUEST
                };
                let mut e = ApiError::new(status, "invalid", error.to_string());
                e.field = Some("body".into());
                if let Some(key) = limit {
                    // A refusal by a limit says so in its code and names the limit.
                    e.code = "limit";
                    e.message = format!("{} (the limit {key})", e.message);
                    e.details = Some(json!({ "limit": key }));
                }
                e
            }
            Error::StoreBusy(message) => {
                let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message);
                e.retry_after = Some(1);
                e
            }
            Error::Internal(err) => ApiError::internal(err),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        ApiError::from(Error::from(err))
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> ApiError {
        ApiError::from(Error::from(err))
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

/// `Json<T>` whose rejections are API errors naming the field as a path (`rules[0].expr`,
/// `name`), never the offending value: `{"name": 42}` is refused for `name`.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !is_json {
            let mut err = ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid",
                "send the body as JSON with `Content-Type: application/json`",
            );
            err.field = Some("content-type".into());
            return Err(err);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                let mut err = ApiError::new(rejection.status(), "invalid", rejection.body_text());
                err.field = Some("body".into());
                err
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body into `T`; an error names the field by its path. Syntax errors are
/// 400 (field `body`), values of the wrong shape 422.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // serde names a missing or unknown member between backticks.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| message.strip_prefix(p))
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name.to_owned(),
            // An unknown member is already the last step of the path.
            (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
                path.to_owned()
            }
            (parent, Some(name)) => format!("{parent}.{name}"),
            (".", None) => "body".to_owned(),
            (path, None) => path.to_owned(),
        };
        let (status, field) = match inner.classify() {
            serde_json::error::Category::Data => (StatusCode::UNPROCESSABLE_ENTITY, field),
            // Not JSON, cut short, or nested past serde_json's 128 levels: the body as such.
            _ => (StatusCode::BAD_REQUEST, "body".to_owned()),
        };
        let mut err = ApiError::new(status, "invalid", message);
        err.field = Some(field);
        err
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", e.to_string()))?;
    Ok(value)
}

/// Machine-facing paths: the portal's API, Prometheus's API, OTLP receivers.
pub(crate) fn is_api(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/prometheus/")
        || path.starts_with("/v1/")
        || path.starts_with("/loki/api/")
        || path.starts_with("/jaeger/api/")
        || is_elastic(path)
}

/// Elasticsearch's API as shippers call it (`http/api/elastic.rs`).
pub(crate) fn is_elastic(path: &str) -> bool {
    path == "/_bulk"
        || (path.ends_with("/_bulk") && path.matches('/').count() == 2)
        || path == "/_cat/health"
        || path.starts_with("/_template/")
        || path.starts_with("/_index_template/")
        || path.starts_with("/_ilm/policy/")
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
        // A plain-text refusal of an extractor (query string, path) names what it could not
        // read; keep that and the field, never internal detail of a 5xx.
        let text = if status.is_client_error() {
            axum::body::to_bytes(response.into_body(), 256 * 1024)
                .await
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        let field = match status {
            StatusCode::PAYLOAD_TOO_LARGE => Some("body".to_owned()),
            s if s.is_client_error() => extractor_field(&text),
            _ => None,
        };
        let message = if text.trim().is_empty() {
            reason
        } else {
            text.chars().take(300).collect()
        };
        let mut err = ApiError::new(status, code, message);
        err.field = field;
        return err.into_response();
    }
    // Bodies a layer wrote (empty or plain text) become a page; JSON and HTML bodies a
    // handler chose stay as they are (e.g. /readyz answers JSON on 503).
    if !api && (content_type.is_empty() || content_type.starts_with("text/plain")) {
        return (status, error_page(status)).into_response();
    }
    response
}

/// The field an axum extractor's refusal is about: `version` in "Failed to deserialize query
/// string: version: invalid digit", `id` in "Cannot parse `id` with value …".
fn extractor_field(text: &str) -> Option<String> {
    if let Some(rest) = text.split("Failed to deserialize query string").nth(1) {
        let named = rest
            .trim_start_matches(':')
            .trim()
            .split(": ")
            .next()
            .filter(|f| !f.is_empty() && !f.contains(' ') && rest.contains(": "));
        return Some(named.unwrap_or("query").to_owned());
    }
    if let Some(rest) = text.split("Cannot parse `").nth(1) {
        if rest.contains("` with value") {
            return rest.split('`').next().map(str::to_owned);
        }
        return Some("path".to_owned());
    }
    if text.contains("path argument") || text.contains("Invalid URL") {
        return Some("path".to_owned());
    }
    // "Request body didn't contain valid UTF-8", "Failed to buffer the request body", …
    if text.contains("UTF-8") || text.to_ascii_lowercase().contains("body") {
        return Some("body".to_owned());
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        rules: Vec<Rule>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Rule {
        expr: String,
    }

    fn field_of(text: &str) -> (u16, String) {
        let err = parse_json::<Body>(text.as_bytes()).unwrap_err();
        (err.status.as_u16(), err.field.unwrap())
    }

    #[test]
    fn extractor_refusals_name_their_field() {
        assert_eq!(
            extractor_field(
                "Failed to deserialize query string: version: invalid digit found in string"
            )
            .as_deref(),
            Some("version")
        );
        assert_eq!(
            extractor_field("Invalid URL: Cannot parse `id` with value `abc` to a `i64`")
                .as_deref(),
            Some("id")
        );
        assert_eq!(
            extractor_field("Invalid URL: Cannot parse `abc` to a `i64`").as_deref(),
            Some("path")
        );
        assert_eq!(extractor_field("Method Not Allowed"), None);
    }

    #[test]
    fn errors_name_the_field_by_path_not_the_value() {
        assert_eq!(field_of(r#"{"name": 42}"#), (422, "name".into()));
        assert_eq!(field_of(r#"{}"#), (422, "name".into()));
        assert_eq!(
            field_of(r#"{"name": "a", "colour": 1}"#),
            (422, "colour".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "rules": [{"expr": 1}]}"#),
            (422, "rules[0].expr".into())
        );
        assert_eq!(
            field_of(r#"{"name": "a", "rules": [{}]}"#),
            (422, "rules[0].expr".into())
        );
        assert_eq!(field_of(r#"{"name": "a""#), (400, "body".into()));
        assert_eq!(field_of(r#"{"name": "a"} x"#), (400, "body".into()));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert_eq!(
            (err.status.as_u16(), err.field.as_deref()),
            (400, Some("body"))
        );
        assert!(err.message.contains("recursion limit"), "{}", err.message);
    }
}
