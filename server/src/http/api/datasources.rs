//! Data sources over HTTP: admin CRUD, "test connection", and the Prometheus API proxied
//! per source (`query`, `query_range` with optional M4 downsampling by `width`, labels,
//! label values, series, metadata), answering in Prometheus's JSON shape.

use app::components::chart_model::ChartRequest;
use app::dto::Role;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::charts;
use crate::http::errors::{ApiError, ApiJson};
use crate::promql_syntax::PromQl;
use crate::sources::{checks, store, InstantQuery, MetricsSource, RangeQuery, SourceError};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/datasources", Role::Viewer, list)
        .at(Method::POST, "/api/v1/datasources", Role::Admin, create)
        .at(Method::GET, "/api/v1/datasources/{id}", Role::Viewer, get)
        .at(Method::PUT, "/api/v1/datasources/{id}", Role::Admin, update)
        .at(
            Method::DELETE,
            "/api/v1/datasources/{id}",
            Role::Admin,
            delete,
        )
        .at(
            Method::POST,
            "/api/v1/datasources/{id}/test",
            Role::Admin,
            test,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/query",
            Role::Viewer,
            query,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/query_range",
            Role::Viewer,
            query_range,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/labels",
            Role::Viewer,
            labels,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/label/{name}/values",
            Role::Viewer,
            label_values,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/series",
            Role::Viewer,
            series,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/metadata",
            Role::Viewer,
            metadata,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/chart",
            Role::Viewer,
            chart,
        )
        .at(
            Method::GET,
            "/api/v1/datasources/{id}/table",
            Role::Viewer,
            table,
        )
        .at(
            Method::GET,
            "/api/v1/promql/validate",
            Role::Viewer,
            validate,
        )
}

/// Reads a chart request from query parameters.
pub(crate) fn chart_request(p: &[(String, String)]) -> Result<ChartRequest, ApiError> {
    let number = |key: &'static str| -> Result<Option<f64>, ApiError> {
        match param(p, key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<f64>()
                .map(Some)
                .map_err(|_| ApiError::invalid(key, format!("`{v}` is not a number"))),
        }
    };
    Ok(ChartRequest {
        query: required(p, "query")?,
        from: param(p, "from").unwrap_or_else(|| "now-1h".into()),
        to: param(p, "to").unwrap_or_else(|| "now".into()),
        step: number("step")?,
        width: number("width")?.unwrap_or(800.0) as u32,
        height: number("height")?.unwrap_or(300.0) as u32,
        unit: param(p, "unit").unwrap_or_default(),
        legend: param(p, "legend").unwrap_or_default(),
        focus: number("focus")?.map(|f| f as usize),
        raw: param(p, "raw").is_some_and(|v| v == "true" || v == "1"),
    })
}

/// A range query drawn as an SVG line chart, with the points drawn and the inspector's
/// figures (`GET /api/v1/datasources/{id}/chart?query=…&from=now-1h&to=now&width=800`).
async fn chart(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let req = chart_request(&params(raw))?;
    let src = source(&state, id).await?;
    let view = charts::chart(src.as_ref(), &req, charts::time::now_seconds()).await?;
    Ok(Json(view).into_response())
}

/// An instant query as table rows (`?query=…&time=now`).
async fn table(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(raw);
    let src = source(&state, id).await?;
    let view = charts::table(
        src.as_ref(),
        &required(&p, "query")?,
        &param(&p, "time").unwrap_or_default(),
        &param(&p, "legend").unwrap_or_default(),
        &param(&p, "unit").unwrap_or_default(),
        charts::time::now_seconds(),
    )
    .await?;
    Ok(Json(view).into_response())
}

/// Checks PromQL as the editor types: `{"valid": true}` or the error with its position.
async fn validate(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let p = params(raw);
    let query = param(&p, "query").unwrap_or_default();
    let parsed = crate::cpu::run(move || PromQl::parse(&query).map(|_| ())).await?;
    Ok(Json(match parsed {
        Ok(_) => json!({ "valid": true }),
        Err(e) => json!({
            "valid": false,
            "message": e.message,
            "offset": e.offset,
            "line": e.line,
            "column": e.column,
        }),
    })
    .into_response())
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let views: Vec<_> = store::list(&state.db)
        .await?
        .iter()
        .map(store::SourceRow::view)
        .collect();
    Ok(Json(views).into_response())
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<store::SourceBody>,
) -> Result<Response, ApiError> {
    let view = store::save(
        &state.db,
        &state.metrics,
        &state.secrets,
        state.config.allow_link_local_sources,
        &actor,
        None,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(store::get(&state.db, id).await?.view()).into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<store::SourceBody>,
) -> Result<Response, ApiError> {
    let view = store::save(
        &state.db,
        &state.metrics,
        &state.secrets,
        state.config.allow_link_local_sources,
        &actor,
        Some(id),
        body,
    )
    .await?;
    Ok(Json(view).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    state.sources.delete(&state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The metrics client of source `id` (kept warm by the registry).
async fn source(
    state: &AppState,
    id: i64,
) -> Result<std::sync::Arc<dyn MetricsSource>, crate::error::Error> {
    state.sources.metrics(Some(id)).await
}

/// A source failure in Prometheus's error shape, with the status a proxy would use.
fn source_error(err: SourceError) -> Response {
    let (status, kind) = match &err {
        SourceError::BadQuery(_) => (StatusCode::BAD_REQUEST, "bad_data"),
        SourceError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        SourceError::TooLarge(_) => (StatusCode::BAD_GATEWAY, "too_large"),
        _ => (StatusCode::BAD_GATEWAY, "unavailable"),
    };
    (
        status,
        Json(json!({ "status": "error", "errorType": kind, "error": err.to_string() })),
    )
        .into_response()
}

fn success(data: Value) -> Response {
    Json(json!({ "status": "success", "data": data })).into_response()
}

async fn test(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let src = source(&state, id).await?;
    Ok(Json(checks::test_connection(src.as_ref()).await).into_response())
}

/// Parses a query string into pairs (repeated keys such as `match[]` kept).
fn params(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn param(p: &[(String, String)], key: &str) -> Option<String> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn required(p: &[(String, String)], key: &'static str) -> Result<String, ApiError> {
    param(p, key)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid(key, format!("`{key}` is required")))
}

async fn query(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(raw);
    let q = InstantQuery {
        query: required(&p, "query")?,
        time: param(&p, "time"),
        timeout: param(&p, "timeout"),
    };
    let src = source(&state, id).await?;
    Ok(match src.query(&q).await {
        Ok(data) => success(data),
        Err(e) => source_error(e),
    })
}

async fn query_range(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(raw);
    let width = param(&p, "width")
        .map(|w| checks::m4_width(&w))
        .transpose()?;
    let q = RangeQuery {
        query: required(&p, "query")?,
        start: required(&p, "start")?,
        end: required(&p, "end")?,
        step: required(&p, "step")?,
        timeout: param(&p, "timeout"),
    };
    let src = source(&state, id).await?;
    let Some(width) = width else {
        // Nothing to change: the store's bytes stream out as they come (no parse, no
        // rewrite, no store-and-forward).
        return Ok(match src.query_range_raw(&q).await {
            Ok(stream) => (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(stream),
            )
                .into_response(),
            Err(e) => source_error(e),
        });
    };
    Ok(
        match checks::query_range_m4(src.as_ref(), &q, width).await {
            Ok(thinned) => {
                let mut body = json!({ "status": "success" });
                if let Some((before, after)) = thinned.points {
                    body["downsampling"] = json!({ "method": "m4", "width": width,
                                               "points_in": before, "points_out": after });
                }
                body["data"] = thinned.data;
                Json(body).into_response()
            }
            Err(e) => source_error(e),
        },
    )
}

/// `match[]` selectors of a request.
fn matchers_of(p: &[(String, String)]) -> Result<Vec<String>, ApiError> {
    let given = p
        .iter()
        .filter(|(k, _)| k == "match[]")
        .map(|(_, v)| v.clone())
        .collect();
    Ok(checks::selectors(given)?)
}

/// Label names, or with `match[]` those of the selected series (what completion inside
/// `metric{…}` offers first).
async fn labels(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let matchers = matchers_of(&params(raw))?;
    Ok(
        match source(&state, id).await?.label_names(&matchers).await {
            Ok(d) => success(d),
            Err(e) => source_error(e),
        },
    )
}

async fn label_values(
    State(state): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    checks::label_name("name", &name)?;
    Ok(match source(&state, id).await?.label_values(&name).await {
        Ok(d) => success(d),
        Err(e) => source_error(e),
    })
}

async fn series(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(raw);
    let matchers = matchers_of(&p)?;
    if matchers.is_empty() {
        return Err(ApiError::invalid(
            "match[]",
            "at least one `match[]` selector is required",
        ));
    }
    let (start, end) = (param(&p, "start"), param(&p, "end"));
    Ok(
        match source(&state, id)
            .await?
            .series(&matchers, start.as_deref(), end.as_deref())
            .await
        {
            Ok(d) => success(d),
            Err(e) => source_error(e),
        },
    )
}

async fn metadata(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(match source(&state, id).await?.metadata().await {
        Ok(d) => success(d),
        Err(e) => source_error(e),
    })
}
