//! Jaeger's query API under `/jaeger/api/…`, over the traces family's default source, in
//! the shapes Jaeger's query service answers and Grafana's Jaeger data source reads (so
//! its URL is `http://PORTAL/jaeger`): `{"data": …, "total", "limit", "offset",
//! "errors"}`, traces with `traceID`, `spans` (`spanID`, `operationName`, `references`,
//! `startTime` and `duration` in µs, typed `tags`, `logs`, `processID`) and `processes`.

use std::collections::BTreeMap;

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::traces::{duration_param, limit_param, source, source_failure, tags};
use super::Api;
use crate::charts::time::now_seconds;
use crate::http::errors::ApiError;
use crate::sources::traces::{truncated_trace, Span, Trace, TraceQuery};
use crate::state::AppState;

/// Traces a search returns when `limit` is not given (Jaeger's UI asks for 20).
const DEFAULT_LIMIT: usize = 20;

/// Services or operations one listing gives, at most (the table holds up to 10,000
/// services and 10,000 operations per service); past it the answer says so.
pub const MAX_LISTED: usize = 1_000;

/// A listing of `what` cut at [`MAX_LISTED`], with the reason when it was cut.
fn listing(what: &str, items: Vec<Value>) -> Response {
    let all = items.len();
    let listed: Vec<Value> = items.into_iter().take(MAX_LISTED).collect();
    let cut: Vec<String> = (all > MAX_LISTED)
        .then(|| format!("{what} truncated: {MAX_LISTED} of {all} listed"))
        .into_iter()
        .collect();
    let n = listed.len();
    envelope_with(json!(listed), n, &cut)
}

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/jaeger/api/services", Role::Viewer, services)
        .at(
            Method::GET,
            "/jaeger/api/services/{service}/operations",
            Role::Viewer,
            service_operations,
        )
        .at(
            Method::GET,
            "/jaeger/api/operations",
            Role::Viewer,
            operations,
        )
        .at(Method::GET, "/jaeger/api/traces", Role::Viewer, find)
        .at(Method::GET, "/jaeger/api/traces/{id}", Role::Viewer, trace)
        .at(
            Method::GET,
            "/jaeger/api/dependencies",
            Role::Viewer,
            dependencies,
        )
}

/// Jaeger's envelope.
fn envelope(data: Value, total: usize) -> Response {
    envelope_with(data, total, &[])
}

/// Jaeger's envelope with `errors` when the answer is not whole: one entry per reason, as
/// Jaeger's query service reports the traces it could not give beside those it gives
/// (`code` 206: the data is part of the answer).
fn envelope_with(data: Value, total: usize, cut: &[String]) -> Response {
    let errors = if cut.is_empty() {
        Value::Null
    } else {
        cut.iter().map(|m| json!({"code": 206, "msg": m})).collect()
    };
    Json(json!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}))
        .into_response()
}

fn param(p: &[(String, String)], key: &str) -> Option<String> {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

/// A typed Jaeger tag.
fn tag(key: &str, value: &str, kind: Option<&str>) -> Value {
    let typed = match kind {
        Some("int64") => value.parse::<i64>().ok().map(|n| (json!(n), "int64")),
        Some("float64") => value.parse::<f64>().ok().map(|n| (json!(n), "float64")),
        Some("bool") => value.parse::<bool>().ok().map(|b| (json!(b), "bool")),
        _ => None,
    };
    let (value, kind) = typed.unwrap_or_else(|| (json!(value), "string"));
    json!({"key": key, "type": kind, "value": value})
}

fn span_tags(s: &Span) -> Vec<Value> {
    let mut tags: Vec<Value> = s
        .attributes
        .iter()
        .map(|(k, v)| tag(k, v, s.attribute_types.get(k).map(String::as_str)))
        .collect();
    if s.kind != "unspecified" && !s.attributes.contains_key("span.kind") {
        tags.push(tag("span.kind", &s.kind, None));
    }
    if s.error {
        tags.push(tag("error", "true", Some("bool")));
        tags.push(tag("otel.status_code", "ERROR", None));
    }
    if let Some(m) = &s.status_message {
        tags.push(tag("otel.status_description", m, None));
    }
    tags
}

fn micros(ns: i64) -> i64 {
    ns / 1_000
}

/// The process (`p1`, `p2`, …) of a span: one per service and resource.
fn process_id<'t>(
    s: &'t Span,
    processes: &mut Vec<(&'t str, &'t BTreeMap<String, String>)>,
) -> String {
    let key = (s.service.as_str(), &s.resource);
    let i = match processes.iter().position(|p| *p == key) {
        Some(i) => i,
        None => {
            processes.push(key);
            processes.len() - 1
        }
    };
    format!("p{}", i + 1)
}

/// One trace in Jaeger's shape: a process per service and resource.
pub fn jaeger_trace(t: &Trace) -> Value {
    let mut processes: Vec<(&str, &BTreeMap<String, String>)> = Vec::new();
    let spans: Vec<Value> =
        t.spans
            .iter()
            .map(|s| {
                let mut references: Vec<Value> = s
                    .parent_span_id
                    .iter()
                    .map(|p| json!({"refType": "CHILD_OF", "traceID": t.trace_id, "spanID": p}))
                    .collect();
                references.extend(s.links.iter().map(|l| {
                json!({"refType": "FOLLOWS_FROM", "traceID": l.trace_id, "spanID": l.span_id})
            }));
                let logs: Vec<Value> =
                    s.events
                        .iter()
                        .map(|e| {
                            let mut fields = vec![tag("event", &e.name, None)];
                            fields.extend(e.attributes.iter().map(|(k, v)| {
                                tag(k, v, e.attribute_types.get(k).map(String::as_str))
                            }));
                            json!({"timestamp": micros(e.time_ns), "fields": fields})
                        })
                        .collect();
                json!({
                    "traceID": t.trace_id,
                    "spanID": s.span_id,
                    "operationName": s.operation,
                    "references": references,
                    "startTime": micros(s.start_ns),
                    "duration": micros(s.duration_ns),
                    "tags": span_tags(s),
                    "logs": logs,
                    "processID": process_id(s, &mut processes),
                    "warnings": null,
                    "flags": 1,
                })
            })
            .collect();
    let processes: serde_json::Map<String, Value> = processes
        .iter()
        .enumerate()
        .map(|(i, (service, resource))| {
            let tags: Vec<Value> = resource.iter().map(|(k, v)| tag(k, v, None)).collect();
            (
                format!("p{}", i + 1),
                json!({"serviceName": service, "tags": tags}),
            )
        })
        .collect();
    json!({"traceID": t.trace_id, "spans": spans, "processes": processes, "warnings": null})
}

async fn services(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let list = source(&state, &p)
        .await?
        .services(0.0, now_seconds())
        .await
        .map_err(source_failure)?;
    Ok(listing(
        "services",
        list.into_iter().map(Value::from).collect(),
    ))
}

async fn service_operations(
    State(state): State<AppState>,
    Path(service): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let ops = source(&state, &p)
        .await?
        .operations(&service)
        .await
        .map_err(source_failure)?;
    let names = ops.into_iter().map(|o| Value::from(o.name)).collect();
    Ok(listing("operations", names))
}

/// `/api/operations?service=…&spanKind=…`: operations with their kinds.
async fn operations(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let service = param(&p, "service")
        .ok_or_else(|| ApiError::invalid("service", "parameter 'service' is required"))?;
    let kind = param(&p, "spanKind");
    let ops = source(&state, &p)
        .await?
        .operations(&service)
        .await
        .map_err(source_failure)?;
    let list: Vec<Value> = ops
        .iter()
        .filter(|o| kind.as_deref().is_none_or(|k| k == o.span_kind))
        .map(|o| json!({"name": o.name, "spanKind": o.span_kind}))
        .collect();
    Ok(listing("operations", list))
}

/// A time in Unix microseconds, as Jaeger's `start`/`end` are given.
fn micros_param(p: &[(String, String)], key: &'static str) -> Result<Option<f64>, ApiError> {
    param(p, key)
        .map(|v| {
            v.parse::<i64>()
                .map(|us| us as f64 / 1e6)
                .map_err(|_| ApiError::invalid(key, "must be Unix microseconds"))
        })
        .transpose()
}

/// Jaeger's trace search: `service`, `operation`, `tags` (JSON), `minDuration`,
/// `maxDuration`, `start`/`end` (µs; else `lookback`, default 1 h), `limit`.
async fn find(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let now = now_seconds();
    let end = micros_param(&p, "end")?.unwrap_or(now);
    let lookback = match param(&p, "lookback").filter(|l| l != "custom") {
        Some(l) => {
            super::traces::duration_ms(&l)
                .ok_or_else(|| ApiError::invalid("lookback", "must be a duration like 1h"))?
                / 1e3
        }
        None => 3_600.0,
    };
    let start = micros_param(&p, "start")?.unwrap_or(end - lookback);
    if end <= start {
        return Err(ApiError::invalid("end", "`end` must be after `start`"));
    }
    let limit = limit_param(&p, DEFAULT_LIMIT)?;
    let q = TraceQuery {
        service: param(&p, "service"),
        operation: param(&p, "operation"),
        attributes: tags(&p)?,
        conditions: Vec::new(),
        min_duration_ms: duration_param(&p, "minDuration")?,
        max_duration_ms: duration_param(&p, "maxDuration")?,
        errors_only: false,
        // Whole seconds would drop the spans of the first and last second asked for.
        start,
        end: end + 1e-6,
        limit,
    };
    let found = source(&state, &p)
        .await?
        .find(&q)
        .await
        .map_err(source_failure)?;
    let data: Vec<Value> = found.traces.iter().map(jaeger_trace).collect();
    let n = data.len();
    Ok(envelope_with(json!(data), n, &found.cut))
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
        Some(t) => {
            let cut: Vec<String> = t
                .truncated
                .then(|| truncated_trace(&t.trace_id))
                .into_iter()
                .collect();
            Ok(envelope_with(json!([jaeger_trace(&t)]), 1, &cut))
        }
        None => Ok((
            StatusCode::NOT_FOUND,
            Json(json!({"data": null, "total": 0, "limit": 0, "offset": 0,
                        "errors": [{"code": 404, "msg": "trace not found"}]})),
        )
            .into_response()),
    }
}

/// `/api/dependencies?endTs=<ms>&lookback=<ms>`: calls between services.
async fn dependencies(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let ms = |key: &'static str| -> Result<Option<f64>, ApiError> {
        param(&p, key)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| ApiError::invalid(key, "must be milliseconds"))
            })
            .transpose()
    };
    let end = ms("endTs")?.map_or(now_seconds(), |v| v / 1e3);
    let lookback = ms("lookback")?.map_or(86_400.0, |v| v / 1e3);
    if lookback <= 0.0 {
        return Err(ApiError::invalid("lookback", "must be positive"));
    }
    let map = source(&state, &p)
        .await?
        .service_map(end - lookback, end)
        .await
        .map_err(source_failure)?;
    let data: Vec<Value> = map
        .edges
        .iter()
        .map(|e| json!({"parent": e.parent, "child": e.child, "callCount": e.calls}))
        .collect();
    let n = data.len();
    Ok(envelope(json!(data), n))
}
