//! Alert and recording rules over HTTP: Prometheus's read shape at `/api/v1/rules`, CRUD
//! with optimistic locking under `/api/v1/rule-groups`, history and restore, import and
//! export of rule files, and live validation for the editor.

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::Api;
use crate::actor::Actor;
use crate::alerting;
use crate::http::errors::{ApiError, ApiJson};
use crate::rules::model::GroupWrite;
use crate::rules::namespace::Namespace;
use crate::rules::{self, actions, store, views};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/rules", Role::Viewer, prometheus_rules)
        .at(Method::GET, "/api/v1/alerts", Role::Viewer, alerts)
        .at(Method::GET, "/api/v1/rules/export", Role::Viewer, export)
        .at(Method::POST, "/api/v1/rules/import", Role::Editor, import)
        .at(
            Method::POST,
            "/api/v1/rules/validate",
            Role::Viewer,
            validate,
        )
        .at(Method::POST, "/api/v1/rules/test", Role::Viewer, unit_test)
        .at(
            Method::POST,
            "/api/v1/rules/backtest",
            Role::Viewer,
            backtest,
        )
        .at(
            Method::GET,
            "/api/v1/rule-groups",
            Role::Viewer,
            list_groups,
        )
        .at(
            Method::POST,
            "/api/v1/rule-groups",
            Role::Editor,
            create_group,
        )
        .at(
            Method::GET,
            "/api/v1/rule-groups/{name}",
            Role::Viewer,
            get_group,
        )
        .at(
            Method::PUT,
            "/api/v1/rule-groups/{name}",
            Role::Editor,
            update_group,
        )
        .at(
            Method::DELETE,
            "/api/v1/rule-groups/{name}",
            Role::Editor,
            delete_group,
        )
        .at(
            Method::GET,
            "/api/v1/rule-groups/{name}/history",
            Role::Viewer,
            history,
        )
        .at(
            Method::GET,
            "/api/v1/rule-groups/{name}/state-history",
            Role::Viewer,
            state_history,
        )
        .at(
            Method::GET,
            "/api/v1/rule-groups/{name}/history/{version}",
            Role::Viewer,
            history_version,
        )
        .at(
            Method::POST,
            "/api/v1/rule-groups/{name}/restore/{version}",
            Role::Editor,
            restore,
        )
}

/// `?namespace=` of the group routes; `default` when absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceQuery {
    #[serde(default)]
    namespace: Option<String>,
}

fn namespace(given: Option<&str>) -> Result<Namespace, ApiError> {
    Namespace::parse_or_default(given).map_err(|e| ApiError::invalid("namespace", e))
}

#[derive(Deserialize)]
struct RulesQuery {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `GET /api/v1/rules` in the shape of Prometheus's API, with evaluation's health,
/// errors, states and alerts.
async fn prometheus_rules(
    State(state): State<AppState>,
    Query(q): Query<RulesQuery>,
) -> Result<Response, ApiError> {
    let data =
        alerting::views::prometheus_rules(&state.db, state.alerting.as_deref(), q.kind.as_deref())
            .await?;
    Ok(Json(json!({ "status": "success", "data": data })).into_response())
}

/// `GET /api/v1/alerts`: pending and firing alerts, as Prometheus lists them.
async fn alerts(State(state): State<AppState>) -> Response {
    let data = alerting::views::alerts(state.alerting.as_deref(), state.notify.as_deref());
    Json(json!({ "status": "success", "data": data })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    group: Option<String>,
    namespace: Option<String>,
}

/// One rule file: a namespace (`?namespace=`), one group of it (`&group=`), or every group
/// when no two namespaces share a group name (a rule file cannot repeat a name).
async fn export(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let ns = q
        .namespace
        .as_deref()
        .map(|n| namespace(Some(n)))
        .transpose()?;
    let file = actions::export(&state.db, ns.as_ref(), q.group.as_deref()).await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.file_name.replace(['"', '\\', '\r', '\n'], "_")
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/yaml; charset=utf-8".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.yaml,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    namespace: Option<String>,
}

async fn import(
    State(state): State<AppState>,
    actor: Actor,
    Query(q): Query<ImportQuery>,
    body: String,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let report = rules::import(&state.db, &state.metrics, &actor, &ns, &body, q.dry_run).await?;
    Ok(Json(report).into_response())
}

/// `POST /api/v1/rules/test`: a promtool unit-test file (YAML) → each test group's verdict
/// with promtool's messages.
async fn unit_test(State(state): State<AppState>, body: String) -> Result<Response, ApiError> {
    Ok(Json(alerting::promtool::test_file(&state.db, &body).await?).into_response())
}

/// `POST /api/v1/rules/backtest`: one alerting rule over a past range of its source → the
/// timeline of its alerts and the notifications it would have caused.
async fn backtest(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<alerting::backtest::BacktestBody>,
) -> Result<Response, ApiError> {
    let manager = state.alerting.clone().ok_or_else(|| {
        crate::error::Error::internal(anyhow::anyhow!("rule evaluation is not running"))
    })?;
    let answer = alerting::backtest::run(&manager, state.notify.as_deref(), body).await?;
    Ok(Json(answer).into_response())
}

/// Live validation for the editor: never writes, always 200 with `errors` and `warnings`.
async fn validate(ApiJson(body): ApiJson<actions::LiveCheck>) -> Result<Response, ApiError> {
    let answer = crate::cpu::run(move || actions::live_check(body)).await??;
    Ok(Json(answer).into_response())
}

async fn list_groups(State(state): State<AppState>) -> Result<Response, ApiError> {
    let groups = views::stored_views(store::list(&state.db).await?).await?;
    Ok(Json(groups).into_response())
}

async fn create_group(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<GroupWrite>,
) -> Result<Response, ApiError> {
    let ns = namespace(body.namespace.as_deref())?;
    let (spec, message) = (body.group, body.message.unwrap_or_default());
    let (stored, valid) =
        actions::save(&state.db, &state.metrics, &actor, &ns, spec, None, &message).await?;
    Ok((
        StatusCode::CREATED,
        Json(views::group_view(&stored, Some(&valid))),
    )
        .into_response())
}

async fn get_group(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<NamespaceQuery>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let stored = store::get(&state.db, &ns, &name)
        .await?
        .ok_or_else(|| ApiError::not_found("rule group"))?;
    let view = views::stored_views(vec![stored])
        .await?
        .pop()
        .unwrap_or_default();
    Ok(Json(view).into_response())
}

async fn update_group(
    State(state): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    Query(q): Query<NamespaceQuery>,
    ApiJson(body): ApiJson<GroupWrite>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    if body.namespace.as_deref().is_some_and(|b| b != ns.as_str()) {
        return Err(ApiError::invalid(
            "namespace",
            "the namespace in the body differs from the URL's; a group does not move between namespaces",
        ));
    }
    let (spec, message) = (body.group, body.message.unwrap_or_default());
    let version = body.version.ok_or_else(|| {
        ApiError::invalid(
            "version",
            "send the version you edited (optimistic locking)",
        )
    })?;
    if spec.name != name {
        return Err(ApiError::invalid(
            "name",
            "the name in the body differs from the URL; create a new group to rename",
        ));
    }
    let (stored, valid) = actions::save(
        &state.db,
        &state.metrics,
        &actor,
        &ns,
        spec,
        Some(version),
        &message,
    )
    .await?;
    Ok(Json(views::group_view(&stored, Some(&valid))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionQuery {
    version: Option<i64>,
    #[serde(default)]
    namespace: Option<String>,
}

async fn delete_group(
    State(state): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Result<Response, ApiError> {
    let version = q.version.ok_or_else(|| {
        ApiError::invalid(
            "version",
            "send the version you saw (`?version=N`), as for PUT",
        )
    })?;
    let ns = namespace(q.namespace.as_deref())?;
    store::delete(&state.db, &state.metrics, &actor, &ns, &name, version).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<NamespaceQuery>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let versions = store::history(&state.db, &ns, &name).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found("rule group"));
    }
    Ok(Json(versions).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateHistoryQuery {
    #[serde(default)]
    namespace: Option<String>,
    /// One rule of the group; all its alerting rules when absent.
    #[serde(default)]
    rule: Option<String>,
    /// The newest this many transitions (default 500).
    #[serde(default)]
    limit: Option<String>,
}

/// The state changes of the alerts of a group's rules (or of one rule), oldest first.
async fn state_history(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<StateHistoryQuery>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let limit = match q.limit.as_deref() {
        None => 500,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=alerting::history::MAX_READ).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "limit",
                    format!(
                        "`{l}` is not a number from 1 to {}",
                        alerting::history::MAX_READ
                    ),
                )
            })?,
    };
    if store::history(&state.db, &ns, &name).await?.is_empty() {
        return Err(ApiError::not_found("rule group"));
    }
    let answer =
        alerting::history::read(&state.db, ns.as_str(), &name, q.rule.as_deref(), limit).await?;
    Ok(Json(answer).into_response())
}

async fn history_version(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, i64)>,
    Query(q): Query<NamespaceQuery>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let spec = store::version(&state.db, &ns, &name, version)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    let yaml = rules::export_yaml(vec![spec.clone()])?;
    Ok(Json(json!({ "version": version, "group": spec, "yaml": yaml })).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    /// The current version the caller saw (optimistic locking); optional.
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

async fn restore(
    State(state): State<AppState>,
    actor: Actor,
    Path((name, version)): Path<(String, i64)>,
    Query(q): Query<NamespaceQuery>,
    body: String,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    let body: RestoreBody = if body.trim().is_empty() {
        RestoreBody::default()
    } else {
        crate::http::errors::parse_json(body.as_bytes())?
    };
    let (stored, valid) = actions::restore(
        &state.db,
        &state.metrics,
        &actor,
        &ns,
        &name,
        actions::Restore {
            version,
            expected: body.version,
            message: body.message,
        },
    )
    .await?;
    Ok(Json(views::group_view(&stored, Some(&valid))).into_response())
}
