//! The embedded store as Prometheus's HTTP API under `/prometheus/api/v1/`: `query`,
//! `query_range`, `series`, `labels`, `label/{name}/values`, `metadata`,
//! `status/buildinfo`, `rules`, `alerts` (GET and POST form, Prometheus's JSON and error
//! shapes), so Grafana, promtool and any Prometheus client can use the portal as a
//! Prometheus data source.

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Api;
use crate::alerting;
use crate::embedded::{now_ms, params, Answer, EmbeddedStore, QueryFailure};
use crate::error::Error;
use crate::state::AppState;

pub(super) fn routes(mut api: Api) -> Api {
    for method in [Method::GET, Method::POST] {
        api = api
            .at(
                method.clone(),
                "/prometheus/api/v1/query",
                Role::Viewer,
                query,
            )
            .at(
                method.clone(),
                "/prometheus/api/v1/query_range",
                Role::Viewer,
                query_range,
            )
            .at(
                method.clone(),
                "/prometheus/api/v1/series",
                Role::Viewer,
                series,
            )
            .at(
                method.clone(),
                "/prometheus/api/v1/labels",
                Role::Viewer,
                labels,
            )
            .at(
                method.clone(),
                "/prometheus/api/v1/label/{name}/values",
                Role::Viewer,
                label_values,
            )
            .at(
                method,
                "/prometheus/api/v1/query_exemplars",
                Role::Viewer,
                query_exemplars,
            );
    }
    api.at(
        Method::GET,
        "/prometheus/api/v1/metadata",
        Role::Viewer,
        metadata,
    )
    .at(
        Method::GET,
        "/prometheus/api/v1/targets",
        Role::Viewer,
        targets,
    )
    .at(
        Method::POST,
        "/api/v1/scrape-config/reload",
        Role::Admin,
        reload_scrape_config,
    )
    .at(
        Method::GET,
        "/prometheus/api/v1/status/buildinfo",
        Role::Viewer,
        buildinfo,
    )
    .at(Method::GET, "/prometheus/api/v1/rules", Role::Viewer, rules)
    .at(
        Method::GET,
        "/prometheus/api/v1/alerts",
        Role::Viewer,
        alerts,
    )
}

/// Prometheus's error envelope with the status its API uses for the kind.
fn error(f: QueryFailure) -> Response {
    let status = match f.kind {
        "bad_data" => StatusCode::BAD_REQUEST,
        "execution" => StatusCode::UNPROCESSABLE_ENTITY,
        "timeout" | "canceled" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        Json(json!({"status": "error", "errorType": f.kind, "error": f.message})),
    )
        .into_response()
}

fn success(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

fn answered(a: Answer) -> Response {
    // Written straight to JSON (a range answer can hold millions of points, too many to
    // build as a `serde_json::Value` tree first), into a buffer of about the answer's size:
    // grown from axum's 128 bytes, a 300 KB answer was reallocated and copied a dozen
    // times (a tenth of a small query's time).
    let mut out = Vec::with_capacity(crate::embedded::json::size_hint(&a.value));
    match crate::embedded::json::write_success(&mut out, &a.value, &a.warnings, &a.infos) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            out,
        )
            .into_response(),
        Err(e) => error(QueryFailure {
            kind: "internal",
            message: e.to_string(),
        }),
    }
}

/// Parameters of the query string and, for POST, the form body (repeated keys kept).
struct Params(Vec<(String, String)>);

/// Every parameter these routes know (Prometheus's, including ones the store ignores such
/// as `stats`); anything else is refused rather than silently ignored.
const KNOWN: &[&str] = &[
    "query",
    "time",
    "start",
    "end",
    "step",
    "timeout",
    "match[]",
    "limit",
    "stats",
    "lookback_delta",
];

impl Params {
    fn of(raw: Option<String>, body: &[u8]) -> Result<Params, QueryFailure> {
        let mut pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        pairs.extend(url::form_urlencoded::parse(body).into_owned());
        if let Some((k, _)) = pairs.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
            return Err(QueryFailure::bad_data(format!(
                "invalid parameter {:?}: not a parameter of this endpoint",
                k.chars().take(100).collect::<String>()
            )));
        }
        Ok(Params(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &str) -> Result<&str, QueryFailure> {
        self.get(key)
            .ok_or_else(|| QueryFailure::bad_data(format!("invalid parameter \"{key}\": missing")))
    }

    fn time(&self, key: &str, default: i64) -> Result<i64, QueryFailure> {
        self.get(key)
            .map(|t| {
                params::time_ms(t).map_err(|e| {
                    QueryFailure::bad_data(format!("invalid parameter \"{key}\": {e}"))
                })
            })
            .transpose()
            .map(|t| t.unwrap_or(default))
    }

    /// `match[]` selectors: at most 20.
    fn selectors(&self) -> Result<Vec<String>, QueryFailure> {
        let all: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.clone())
            .collect();
        if all.len() > 20 {
            return Err(QueryFailure::bad_data(
                "invalid parameter \"match[]\": at most 20 selectors",
            ));
        }
        Ok(all)
    }
}

fn store(state: &AppState) -> Result<&std::sync::Arc<EmbeddedStore>, QueryFailure> {
    state.embedded.as_ref().ok_or(QueryFailure {
        kind: "unavailable",
        message: "the embedded metrics store is not running".into(),
    })
}

fn check_query(q: &str) -> Result<(), QueryFailure> {
    crate::promql_syntax::check_limits(q)
        .map_err(|e| QueryFailure::bad_data(format!("invalid parameter \"query\": {}", e.message)))
}

async fn query(State(state): State<AppState>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let run = async {
        let p = Params::of(raw, &body)?;
        let q = p.required("query")?.to_owned();
        check_query(&q)?;
        let t = p.time("time", now_ms())?;
        store(&state)?.instant(q, t).await
    };
    run.await.map_or_else(error, answered)
}

async fn query_range(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let run = async {
        let p = Params::of(raw, &body)?;
        let q = p.required("query")?.to_owned();
        check_query(&q)?;
        let start = p.time("start", i64::MIN)?;
        let end = p.time("end", i64::MIN)?;
        if start == i64::MIN || end == i64::MIN {
            p.required("start")?;
            p.required("end")?;
        }
        let step = params::duration_ms(p.required("step")?)
            .map_err(|e| QueryFailure::bad_data(format!("invalid parameter \"step\": {e}")))?;
        store(&state)?.range(q, start, end, step).await
    };
    run.await.map_or_else(error, answered)
}

async fn series(State(state): State<AppState>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let run = async {
        let p = Params::of(raw, &body)?;
        let selectors = p.selectors()?;
        let (start, end) = (p.time("start", i64::MIN)?, p.time("end", i64::MAX)?);
        store(&state)?.series(selectors, start, end).await
    };
    run.await.map_or_else(error, success)
}

async fn labels(State(state): State<AppState>, RawQuery(raw): RawQuery, body: Bytes) -> Response {
    let run = async {
        let p = Params::of(raw, &body)?;
        let selectors = p.selectors()?;
        let (start, end) = (p.time("start", i64::MIN)?, p.time("end", i64::MAX)?);
        store(&state)?.label_names(selectors, start, end).await
    };
    run.await.map_or_else(error, success)
}

async fn label_values(
    State(state): State<AppState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let run = async {
        let valid = name.len() <= 1024
            && name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
            && !name.is_empty();
        if !valid {
            return Err(QueryFailure::bad_data(format!(
                "invalid parameter \"name\": invalid label name: {:?}",
                name.chars().take(100).collect::<String>()
            )));
        }
        let p = Params::of(raw, &body)?;
        let selectors = p.selectors()?;
        let (start, end) = (p.time("start", i64::MIN)?, p.time("end", i64::MAX)?);
        store(&state)?
            .label_values(name, selectors, start, end)
            .await
    };
    run.await.map_or_else(error, success)
}

/// `query`, `start`, `end`: the exemplars of the series the query's selectors select.
async fn query_exemplars(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let run = || {
        let p = Params::of(raw, &body)?;
        let query = p
            .get("query")
            .ok_or_else(|| QueryFailure::bad_data("invalid parameter \"query\": missing"))?;
        let (start, end) = (p.time("start", i64::MIN)?, p.time("end", i64::MAX)?);
        store(&state)?.query_exemplars(query, start, end)
    };
    run().map_or_else(error, success)
}

async fn metadata(State(state): State<AppState>) -> Response {
    match store(&state) {
        Ok(s) => success(s.metadata()),
        Err(e) => error(e),
    }
}

async fn targets(State(state): State<AppState>) -> Response {
    let statuses = state
        .scraper
        .as_ref()
        .map(|s| s.statuses())
        .unwrap_or_default();
    success(crate::embedded::scraper::targets_api(&statuses))
}

/// Reloads the scrape configuration file; a file that does not load is a 400 with the
/// reason, and the running targets stay.
async fn reload_scrape_config(
    State(state): State<AppState>,
) -> Result<Response, crate::http::errors::ApiError> {
    let scraper = state.scraper.as_ref().ok_or_else(|| {
        crate::http::errors::ApiError::invalid(
            "scrape_config_file",
            "the embedded store is not running",
        )
    })?;
    let targets = scraper
        .reload()
        .map_err(|e| crate::http::errors::ApiError::invalid("scrape_config_file", e.0))?;
    Ok(Json(json!({"targets": targets})).into_response())
}

async fn buildinfo() -> Response {
    // The portal's own version: it is not Prometheus and does not claim its features.
    success(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": "",
        "branch": "",
        "buildUser": "keiko-portal",
        "buildDate": "",
        "goVersion": "",
        "application": "keiko-portal",
    }))
}

/// `/prometheus/api/v1/rules[?type=alert|record]`: every rule group with evaluation's
/// health, errors, states and alerts; refusals in Prometheus's error shape.
async fn rules(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let kind = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty());
    let answer =
        alerting::views::prometheus_rules(&state.db, state.alerting.as_deref(), kind.as_deref())
            .await;
    match answer {
        Ok(data) => success(data),
        Err(e @ Error::Invalid { .. }) => error(QueryFailure::bad_data(e.message())),
        Err(e) => {
            tracing::error!(error = %e.message(), error_type = "RulesView", "Reading the rule groups failed");
            error(QueryFailure {
                kind: "internal",
                message: "the rules could not be read".into(),
            })
        }
    }
}

/// `/prometheus/api/v1/alerts`: pending and firing alerts.
async fn alerts(State(state): State<AppState>) -> Response {
    success(alerting::views::alerts(state.alerting.as_deref(), None))
}
