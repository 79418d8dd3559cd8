//! Logs: JSON-lines ingest at `/api/v1/logs` into the embedded log store, and the query
//! API over the logs family's default source (or `datasource=<id>`): lines newest first
//! with a cursor, a histogram by level, and facets (field names, a field's values).

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::Api;
use crate::charts::time::{now_seconds, resolve};
use crate::http::errors::ApiError;
use crate::logs::push::Push;
use crate::logs::LogStore;
use crate::sources::logs::{LogQuery, LogSource};
use crate::state::AppState;

/// Lines one query returns unless it asks for another number, and the most it may ask.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 5_000;
/// Values one facet returns unless asked, and at most.
const DEFAULT_VALUES: usize = 20;
const MAX_VALUES: usize = 1_000;
/// Histogram buckets when no `step` is given.
const DEFAULT_BUCKETS: f64 = 100.0;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::POST, "/api/v1/logs", Role::Editor, json_lines)
        .at(Method::POST, "/v1/logs", Role::Editor, otlp_logs)
        .at(Method::POST, "/loki/api/v1/push", Role::Editor, loki_push)
        .at(Method::GET, "/api/v1/logs/query", Role::Viewer, search)
        .at(
            Method::GET,
            "/api/v1/logs/histogram",
            Role::Viewer,
            histogram,
        )
        .at(Method::GET, "/api/v1/logs/fields", Role::Viewer, fields)
        .at(Method::GET, "/api/v1/logs/syntax", Role::Viewer, syntax)
        .at(
            Method::GET,
            "/api/v1/logs/tail",
            Role::Viewer,
            super::logs_tail::tail,
        )
        .at(
            Method::GET,
            "/api/v1/logs/lines/{id}",
            Role::Viewer,
            super::log_lines::line,
        )
        .at(
            Method::GET,
            "/api/v1/logs/lines/{id}/context",
            Role::Viewer,
            super::log_lines::context,
        )
        .at(
            Method::GET,
            "/api/v1/logs/fields/{name}/values",
            Role::Viewer,
            field_values,
        )
}

pub(super) fn store(state: &AppState) -> Result<&std::sync::Arc<LogStore>, ApiError> {
    state.logs.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the embedded log store is not running",
        )
    })
}

/// What every push route reads: the service of lines that name none (`?service=`, else
/// the `X-Service-Name` header), the body's type and encoding, and the body.
impl FromRequest<AppState> for Push {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (service, content_type, encoding) = {
            let header = |name: header::HeaderName| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let service = req
                .uri()
                .query()
                .and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, v)| k == "service" && !v.is_empty())
                        .map(|(_, v)| v.into_owned())
                })
                .or_else(|| header(header::HeaderName::from_static("x-service-name")))
                .unwrap_or_default();
            let content_type = header(header::CONTENT_TYPE);
            let encoding = header(header::CONTENT_ENCODING);
            (service, content_type, encoding)
        };
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Push {
            service,
            content_type,
            encoding,
            body,
        })
    }
}

async fn json_lines(State(state): State<AppState>, push: Push) -> Result<Response, ApiError> {
    let stored = crate::logs::push::json_lines(store(&state)?, push).await?;
    Ok(Json(json!({ "accepted": stored })).into_response())
}

/// OTLP/HTTP logs: records the store cannot take are refused one by one in the partial
/// success; more records than a request may carry refuse the whole request (413).
async fn otlp_logs(State(state): State<AppState>, push: Push) -> Result<Response, ApiError> {
    let (content_type, answer) = crate::logs::push::otlp(store(&state)?, push).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], answer).into_response())
}

/// The Loki push API: the whole request is stored or refused; 204 as Loki answers.
async fn loki_push(State(state): State<AppState>, push: Push) -> Result<Response, ApiError> {
    crate::logs::push::loki(store(&state)?, push).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn param(p: &[(String, String)], key: &str) -> Option<String> {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

pub(super) fn number(
    p: &[(String, String)],
    key: &'static str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match param(p, key) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                key,
                format!("`{key}` must be a whole number from 1 to {max}"),
            )),
        },
    }
}

/// The `query` parameter parsed; a syntax error answers 400 with its position.
pub(super) fn parsed_query(query: &str) -> Result<logstore::Query, ApiError> {
    logstore::parse(query).map_err(|e| {
        let mut api = ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("invalid query: {e}"),
        );
        api.field = Some("query".into());
        api.details = Some(json!({ "position": e.position }));
        api
    })
}

/// `query`, `from`, `to` (as dashboards take them: `now-1h`, Unix seconds, RFC 3339),
/// `cursor`; the query is parsed here so a syntax error answers 400 with its position.
fn log_query(p: &[(String, String)], limit: usize) -> Result<LogQuery, ApiError> {
    let query = param(p, "query").unwrap_or_default();
    parsed_query(&query)?;
    let now = now_seconds();
    let time = |key: &'static str, default: &str| {
        resolve(&param(p, key).unwrap_or_else(|| default.to_owned()), now)
            .map_err(|m| ApiError::invalid(key, m))
    };
    let start = time("from", "now-1h")?;
    let end = time("to", "now")?;
    if end <= start {
        return Err(ApiError::invalid("to", "`to` must be after `from`"));
    }
    Ok(LogQuery {
        query,
        start,
        end,
        limit,
        cursor: param(p, "cursor"),
    })
}

pub(super) async fn source(
    state: &AppState,
    p: &[(String, String)],
) -> Result<std::sync::Arc<dyn LogSource>, ApiError> {
    let id = match param(p, "datasource") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid("datasource", "must be a data source id"))?,
        ),
    };
    Ok(state.sources.logs(id).await?)
}

pub(super) fn source_failure(e: crate::sources::SourceError) -> ApiError {
    ApiError::from(crate::error::Error::from(e))
}

async fn search(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = log_query(&p, number(&p, "limit", DEFAULT_LIMIT, MAX_LIMIT)?)?;
    let found = source(&state, &p)
        .await?
        .search(&q)
        .await
        .map_err(source_failure)?;
    Ok(Json(json!({ "lines": found.records, "next": found.next })).into_response())
}

async fn histogram(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = log_query(&p, 0)?;
    let step = match param(&p, "step") {
        Some(s) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => n,
            _ => crate::promql_syntax::duration::PromDuration::parse(&s)
                .map(|d| d.seconds())
                .map_err(|m| ApiError::invalid("step", m))?,
        },
        None => ((q.end - q.start) / DEFAULT_BUCKETS).ceil().max(1.0),
    };
    let h = source(&state, &p)
        .await?
        .histogram(&q, step)
        .await
        .map_err(source_failure)?;
    Ok(Json(h).into_response())
}

/// The query language's page (docs/LOG_QUERY.md) as HTML, for the help beside the query bar.
async fn syntax() -> Response {
    Json(json!({ "html": crate::logs::syntax_html() })).into_response()
}

async fn fields(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = log_query(&p, 0)?;
    let names = source(&state, &p)
        .await?
        .field_names(&q)
        .await
        .map_err(source_failure)?;
    Ok(Json(json!({ "fields": names })).into_response())
}

async fn field_values(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    // Field names as ingest makes them: a letter, `_` or `@`, then letters, digits, `_`,
    // `.`, `@`, `-`.
    let well_formed = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'@'))
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'));
    if !well_formed {
        return Err(ApiError::invalid(
            "name",
            "a field name is up to 256 letters, digits, `_`, `.`, `@` or `-`, starting with a letter, `_` or `@`",
        ));
    }
    let q = log_query(&p, number(&p, "limit", DEFAULT_VALUES, MAX_VALUES)?)?;
    let values = source(&state, &p)
        .await?
        .field_values(&name, &q)
        .await
        .map_err(source_failure)?;
    let values: Vec<_> = values
        .into_iter()
        .map(|v| json!({ "value": v.name, "count": v.count }))
        .collect();
    Ok(Json(json!({ "field": name, "values": values })).into_response())
}
