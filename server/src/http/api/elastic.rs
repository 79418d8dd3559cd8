//! The subset of Elasticsearch's API log shippers need (Filebeat, Fluentd's and Fluent
//! Bit's `elasticsearch` outputs, rsyslog's `omelasticsearch`): `POST /_bulk` and
//! `POST /{index}/_bulk` into the embedded log store with per-item results as
//! Elasticsearch answers them; the calls they make first answered harmlessly: `GET /`
//! (cluster info, for clients that ask for JSON and not HTML, or name a shipper in their
//! `User-Agent`), `HEAD|GET /_cat/health`, and
//! index template and ILM policy probes (`PUT` is acknowledged and its name remembered —
//! in memory, at most 1,000 names, the body is not kept — so a later `GET` finds it and
//! other names answer 404, as Elasticsearch does; a name Elasticsearch would refuse is a
//! 400 naming `name`). Whole-request errors use Elasticsearch's error shape.
//! A bulk request is bounded by `body_limit_bytes` (413 beyond): configure shippers to stay
//! under it (rsyslog's `maxbytes`, Filebeat's `bulk_max_size`, Fluent Bit's `Buffer_Size`).

use app::dto::Role;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Api;
use crate::http::errors::ApiError;
use crate::logs::elastic::{self, error_body, BulkFailure};
use crate::state::AppState;

/// The Elasticsearch version the portal answers as (8.x: no mapping types).
const VERSION: &str = "8.11.0";

pub(super) fn routes(api: Api) -> Api {
    let mut api = api;
    for method in [Method::POST, Method::PUT] {
        api = api
            .at(method.clone(), "/_bulk", Role::Editor, bulk_default)
            .at(method, "/{index}/_bulk", Role::Editor, bulk_index);
    }
    api.at(Method::GET, "/_cat/health", Role::Editor, health)
        .at(Method::GET, "/_template/{name}", Role::Editor, exists)
        .at(Method::PUT, "/_template/{name}", Role::Editor, acknowledged)
        .at(Method::GET, "/_index_template/{name}", Role::Editor, exists)
        .at(
            Method::PUT,
            "/_index_template/{name}",
            Role::Editor,
            acknowledged,
        )
        .at(Method::GET, "/_ilm/policy/{name}", Role::Editor, exists)
        .at(
            Method::PUT,
            "/_ilm/policy/{name}",
            Role::Editor,
            acknowledged,
        )
}

/// Marks a response as Elasticsearch's (clients of 8.x check this header).
fn product(mut r: Response) -> Response {
    r.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    r
}

fn es_error(status: StatusCode, kind: &str, reason: &str) -> Response {
    let mut body = error_body(status.as_u16(), kind, reason);
    if status == StatusCode::BAD_REQUEST {
        // The portal's refusals name a field; a whole-request error is about the body.
        body["error"]["field"] = json!("body");
    }
    product((status, Json(body)).into_response())
}

async fn bulk_default(
    State(state): State<AppState>,
    Query(p): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    bulk(state, None, p, body).await
}

async fn bulk_index(
    State(state): State<AppState>,
    Path(index): Path<String>,
    Query(p): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    bulk(state, Some(index), p, body).await
}

async fn bulk(
    state: AppState,
    index: Option<String>,
    p: Vec<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(store) = state.logs.clone() else {
        return es_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the embedded log store is not running",
        );
    };
    let service = p
        .iter()
        .find(|(k, v)| k == "service" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match elastic::bulk(&store, index, service, body).await {
        Ok(answer) => product(Json(answer).into_response()),
        Err(BulkFailure::Malformed(reason)) => es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &reason,
        ),
        Err(BulkFailure::Empty) => es_error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        ),
        Err(BulkFailure::StoreBusy) => es_error(
            StatusCode::TOO_MANY_REQUESTS,
            "es_rejected_execution_exception",
            "the log store is busy; retry",
        ),
        Err(BulkFailure::Refused(reason)) => es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &reason,
        ),
        Err(BulkFailure::Portal(e)) => ApiError::from(e).into_response(),
    }
}

async fn health() -> Response {
    let now = chrono::Utc::now();
    product(
        (
            [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
            format!(
                "{} {} keiko green 1 1 1 1 0 0 0 0 - 100.0%\n",
                now.timestamp(),
                now.format("%H:%M:%S")
            ),
        )
            .into_response(),
    )
}

/// Template and policy names acknowledged by `PUT` (bounded; the bodies are not kept).
static PUT_NAMES: std::sync::LazyLock<std::sync::Mutex<std::collections::BTreeSet<String>>> =
    std::sync::LazyLock::new(Default::default);
const MAX_PUT_NAMES: usize = 1_000;

/// Why Elasticsearch would refuse `name` as an index, template or policy name.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 255 {
        Some("must be 1 to 255 bytes")
    } else if name == "." || name == ".." || name.starts_with(['-', '_', '+']) {
        Some("must not be . or .. or start with -, _ or +")
    } else if name.chars().any(|c| {
        c.is_control()
            || c.is_whitespace()
            || c.is_uppercase()
            || matches!(
                c,
                '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ':'
            )
    }) {
        Some("must be lowercase without spaces, control characters or \\ / * ? \" < > | , # :")
    } else {
        None
    }
}

fn bad_name(problem: &str) -> Response {
    let mut body = error_body(400, "invalid_index_name_exception", problem);
    body["error"]["field"] = json!("name");
    product((StatusCode::BAD_REQUEST, Json(body)).into_response())
}

async fn exists(Path(name): Path<String>) -> Response {
    if let Some(problem) = name_problem(&name) {
        return bad_name(problem);
    }
    let known = PUT_NAMES.lock().map(|n| n.contains(&name)).unwrap_or(false);
    if known {
        product(Json(json!({ name: {} })).into_response())
    } else {
        es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            "no such template or policy",
        )
    }
}

async fn acknowledged(Path(name): Path<String>, body: Bytes) -> Response {
    if let Some(problem) = name_problem(&name) {
        return bad_name(problem);
    }
    if serde_json::from_slice::<serde_json::Map<String, Value>>(&body).is_err() {
        return es_error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            "the body must be a JSON object",
        );
    }
    if let Ok(mut names) = PUT_NAMES.lock() {
        if names.len() < MAX_PUT_NAMES || names.contains(&name) {
            names.insert(name);
        }
    }
    product(Json(json!({ "acknowledged": true })).into_response())
}

/// Elasticsearch's cluster information.
fn info() -> Value {
    json!({
        "name": "keiko-portal",
        "cluster_name": "keiko",
        "cluster_uuid": "keiko-portal-embedded-logs",
        "version": {
            "number": VERSION,
            "build_flavor": "default",
            "build_type": "keiko",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0"
        },
        "tagline": "You Know, for Search"
    })
}

/// `GET /` from an Elasticsearch client answers the cluster information; any other request
/// (a browser, a plain HTTP client) goes on to the home page. A client counts as
/// Elasticsearch's when it asks for JSON and not HTML, or names itself as one of the
/// shippers in its `User-Agent`.
pub async fn root_probe(req: Request, next: Next) -> Response {
    if req.uri().path() == "/"
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && from_a_shipper(req.headers())
    {
        return product(Json(info()).into_response());
    }
    next.run(req).await
}

fn from_a_shipper(headers: &axum::http::HeaderMap) -> bool {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let accept = text(header::ACCEPT);
    let agent = text(header::USER_AGENT);
    let wants_json = accept.contains("json") && !accept.contains("text/html");
    wants_json
        || ["elastic", "beat", "fluent", "logstash", "rsyslog", "vector"]
            .iter()
            .any(|n| agent.contains(n))
}
