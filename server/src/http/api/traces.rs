//! Traces: OTLP/HTTP (`/v1/traces`) and Zipkin v2 (`/api/v2/spans`) ingest into the
//! embedded span store, and the portal's own read API over the traces family's default
//! source (or `datasource=<id>`): a trace by id, a search with summaries, the service map
//! and RED over time (both from the per-minute counts kept at ingest).

use std::collections::BTreeMap;
use std::sync::Arc;

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::Api;
use crate::charts::time::{now_seconds, resolve};
use crate::http::errors::ApiError;
use crate::sources::traces::{RedQuery, TraceQuery, TraceSource};
use crate::state::AppState;
use crate::traces::TraceStore;

/// Traces one search returns unless asked for another number, and at most.
const DEFAULT_TRACES: usize = 20;
pub(super) const MAX_TRACES: usize = 1_000;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::POST, "/v1/traces", Role::Editor, otlp_traces)
        .at(Method::POST, "/api/v2/spans", Role::Editor, zipkin_spans)
        .at(Method::GET, "/api/v1/traces/search", Role::Viewer, search)
        .at(Method::GET, "/api/v1/traces/red", Role::Viewer, red)
        .at(Method::GET, "/api/v1/traces/{id}", Role::Viewer, trace)
        .at(
            Method::GET,
            "/api/v1/services/map",
            Role::Viewer,
            service_map,
        )
}

fn store(state: &AppState) -> Result<&Arc<TraceStore>, ApiError> {
    state.traces.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the embedded span store is not running",
        )
    })
}

/// A header's value as text, if it is there and readable.
pub(super) fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// OTLP/HTTP traces: spans that break a rule are refused one by one in the partial
/// success; the rest are stored as one batch.
async fn otlp_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (content_type, answer) = crate::traces::push::otlp(
        store(&state)?,
        body,
        header_text(&headers, header::CONTENT_TYPE),
        header_text(&headers, header::CONTENT_ENCODING),
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, content_type)], answer).into_response())
}

/// Zipkin v2: the whole request is stored or refused (400 naming the span), 202 as
/// Zipkin's server answers.
async fn zipkin_spans(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::traces::push::zipkin(
        store(&state)?,
        body,
        header_text(&headers, header::CONTENT_TYPE),
        header_text(&headers, header::CONTENT_ENCODING),
    )
    .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

fn param(p: &[(String, String)], key: &str) -> Option<String> {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

pub(super) async fn source(
    state: &AppState,
    p: &[(String, String)],
) -> Result<Arc<dyn TraceSource>, ApiError> {
    let id = match param(p, "datasource") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ApiError::invalid("datasource", "must be a data source id"))?,
        ),
    };
    Ok(state.sources.traces(id).await?)
}

pub(super) fn source_failure(e: crate::sources::SourceError) -> ApiError {
    ApiError::from(crate::error::Error::from(e))
}

/// A duration as Go writes them (`1.5s`, `250ms`, `100us`, `2m`), in milliseconds: the
/// one parser of `wire::duration`.
pub(super) fn duration_ms(text: &str) -> Option<f64> {
    wire::duration::parse_duration_ms(text).ok().flatten()
}

/// `service`, `operation`, `tags` (a JSON object, or `key=value` pairs separated by
/// spaces), `tag=key:value` (repeated), `minDuration`, `maxDuration`, `errors`, `from`,
/// `to` (as dashboards take them), `limit`.
fn trace_query(p: &[(String, String)]) -> Result<TraceQuery, ApiError> {
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
    let limit = limit_param(p, DEFAULT_TRACES)?;
    Ok(TraceQuery {
        service: param(p, "service"),
        operation: param(p, "operation"),
        attributes: tags(p)?,
        conditions: Vec::new(),
        min_duration_ms: duration_param(p, "minDuration")?,
        max_duration_ms: duration_param(p, "maxDuration")?,
        errors_only: param(p, "errors").is_some_and(|v| v == "true" || v == "1"),
        start,
        end,
        limit,
    })
}

/// `limit`: traces a search returns, 1 to [`MAX_TRACES`].
pub(super) fn limit_param(p: &[(String, String)], default: usize) -> Result<usize, ApiError> {
    match param(p, "limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_TRACES).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_TRACES}"),
                )
            }),
    }
}

pub(super) fn duration_param(
    p: &[(String, String)],
    key: &'static str,
) -> Result<Option<f64>, ApiError> {
    param(p, key)
        .map(|v| {
            duration_ms(&v).ok_or_else(|| {
                ApiError::invalid(key, format!("{v:?} is not a duration like 250ms or 1.5s"))
            })
        })
        .transpose()
}

/// Attribute filters from `tags` (JSON object or `k=v k2=v2`) and `tag=k:v` parameters.
pub(super) fn tags(p: &[(String, String)]) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    if let Some(t) = param(p, "tags") {
        if t.trim_start().starts_with('{') {
            let parsed: BTreeMap<String, serde_json::Value> = serde_json::from_str(&t)
                .map_err(|e| ApiError::invalid("tags", format!("not a JSON object: {e}")))?;
            for (k, v) in parsed {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(k, v);
            }
        } else {
            for pair in t.split_whitespace() {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    ApiError::invalid("tags", format!("{pair:?} is not key=value"))
                })?;
                out.insert(k.to_owned(), v.trim_matches('"').to_owned());
            }
        }
    }
    for (k, v) in p.iter().filter(|(k, _)| k == "tag") {
        let (key, value) = v
            .split_once(':')
            .ok_or_else(|| ApiError::invalid(k.clone(), format!("{v:?} is not key:value")))?;
        out.insert(key.to_owned(), value.to_owned());
    }
    if out.len() > 32 {
        return Err(ApiError::invalid("tags", "at most 32 tag filters"));
    }
    Ok(out)
}

async fn search(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let q = trace_query(&p)?;
    let found = source(&state, &p)
        .await?
        .search(&q)
        .await
        .map_err(source_failure)?;
    Ok(Json(json!({ "traces": found.traces, "partial": found.partial })).into_response())
}

async fn trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let found = source(&state, &p)
        .await?
        .get(&id)
        .await
        .map_err(source_failure)?;
    match found {
        Some(t) => Ok(Json(t).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no trace {id}"),
        )),
    }
}

/// `from` and `to` (as dashboards take them; `now-1h` and `now` unless given).
fn time_range(p: &[(String, String)]) -> Result<(f64, f64), ApiError> {
    let now = now_seconds();
    let time = |key: &'static str, default: &str| {
        resolve(&param(p, key).unwrap_or_else(|| default.to_owned()), now)
            .map_err(|m| ApiError::invalid(key, m))
    };
    let (start, end) = (time("from", "now-1h")?, time("to", "now")?);
    if end <= start {
        return Err(ApiError::invalid("to", "`to` must be after `from`"));
    }
    Ok((start, end))
}

/// The service map from the per-minute counts kept at ingest: nodes (requests entering
/// each service, and the calls it receives from other services) and edges.
async fn service_map(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (start, end) = time_range(&p)?;
    let src = source(&state, &p).await?;
    let map = crate::trace_explore::map::merged(src.as_ref(), start, end).await?;
    Ok(Json(json!({
        "from": start,
        "to": end,
        "nodes": map.nodes,
        "edges": map.edges,
        "truncated": map.truncated,
    }))
    .into_response())
}

/// `step`: seconds per point, a whole number of minutes; by default the range over about
/// 60 points, at least a minute.
fn step_param(p: &[(String, String)], start: f64, end: f64) -> Result<u64, ApiError> {
    match param(p, "step") {
        None => Ok((((end - start) / 60.0 / 60.0).ceil() as u64).max(1) * 60),
        Some(v) => duration_ms(&v)
            .map(|ms| ms / 1e3)
            .filter(|s| *s >= 60.0 && s.fract() == 0.0 && (*s as u64).is_multiple_of(60))
            .map(|s| s as u64)
            .ok_or_else(|| {
                ApiError::invalid(
                    "step",
                    format!("{v:?} is not a whole number of minutes (60s, 5m)"),
                )
            }),
    }
}

/// RED over time from the per-minute counts kept at ingest: per service (requests
/// entering it) without `service`, else per operation of `service` (`operation` narrows
/// to one).
async fn red(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (start, end) = time_range(&p)?;
    let q = RedQuery {
        service: param(&p, "service"),
        operation: param(&p, "operation"),
        start,
        end,
        step: step_param(&p, start, end)?,
    };
    if q.operation.is_some() && q.service.is_none() {
        return Err(ApiError::invalid("operation", "needs `service`"));
    }
    let red = source(&state, &p)
        .await?
        .red(&q)
        .await
        .map_err(source_failure)?;
    Ok(Json(red).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_read_from_json_and_pairs() {
        assert_eq!(duration_ms("1.5s"), Some(1500.0));
        assert_eq!(duration_ms("fast"), None);
        let p = vec![
            (
                "tags".to_owned(),
                r#"{"agent.id":"a-1","http.status_code":500}"#.to_owned(),
            ),
            ("tag".to_owned(), "task.type:analysis".to_owned()),
        ];
        let t = tags(&p).unwrap();
        assert_eq!(t["http.status_code"], "500");
        assert_eq!(t["task.type"], "analysis");
        let bad = vec![("tags".to_owned(), "nope".to_owned())];
        assert_eq!(tags(&bad).unwrap_err().field.as_deref(), Some("tags"));
    }
}
