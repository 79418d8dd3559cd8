//! Alert and recording rules over HTTP: Prometheus's read shape at `/api/v1/rules`, CRUD
//! with optimistic locking under `/api/v1/rule-groups`, history and restore, import and
//! export of rule files, and live validation for the editor.

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::http::errors::{ApiError, ApiJson};
use crate::promql_syntax::duration::PromDuration;
use crate::promql_syntax::PromQl;
use crate::rules::model::{GroupSpec, RuleSpec};
use crate::rules::namespace::Namespace;
use crate::rules::validate::{validate_group, ValidGroup};
use crate::rules::{self, lint, store};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(Method::GET, "/api/v1/rules", Role::Viewer, prometheus_rules)
        .at(Method::GET, "/api/v1/rules/export", Role::Viewer, export)
        .at(Method::POST, "/api/v1/rules/import", Role::Editor, import)
        .at(
            Method::POST,
            "/api/v1/rules/validate",
            Role::Viewer,
            validate,
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

/// A group as the API writes it: the rule-file fields plus `version` (for updates) and a
/// change `message`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    /// Only on create (default `default`); a group never moves between namespaces.
    #[serde(default)]
    namespace: Option<String>,
    name: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl GroupBody {
    fn split(self) -> (GroupSpec, Option<i64>, String) {
        (
            GroupSpec {
                name: self.name,
                interval: self.interval,
                limit: self.limit,
                rules: self.rules,
            },
            self.version,
            self.message.unwrap_or_default(),
        )
    }
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

/// Validates a group on the CPU pool.
async fn checked(spec: GroupSpec) -> Result<ValidGroup, ApiError> {
    Ok(crate::cpu::run(move || validate_group(&spec).map_err(rules::invalid)).await??)
}

/// A group as the API shows it, with the lint warnings of its validated form (`None`: a
/// stored group that no longer validates, e.g. written by an older version).
fn group_view(stored: &store::StoredGroup, valid: Option<&ValidGroup>) -> Value {
    let mut v = serde_json::to_value(stored).unwrap_or_default();
    if let Some(valid) = valid {
        v["warnings"] = json!(lint::lint(valid));
    }
    v["yaml"] = json!(rules::export_yaml(vec![stored.spec.clone()]).unwrap_or_default());
    v
}

/// Groups read back from the store: validated again (for their warnings) on the CPU pool.
async fn stored_views(stored: Vec<store::StoredGroup>) -> Result<Vec<Value>, ApiError> {
    Ok(crate::cpu::run(move || {
        stored
            .iter()
            .map(|g| group_view(g, validate_group(&g.spec).ok().as_ref()))
            .collect()
    })
    .await?)
}

fn seconds(d: Option<&str>) -> f64 {
    d.and_then(|d| PromDuration::parse(d).ok())
        .map(|d| d.seconds())
        .unwrap_or(0.0)
}

#[derive(Deserialize)]
struct RulesQuery {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// `GET /api/v1/rules` in the shape of Prometheus's API, so its readers can read the portal.
/// Rules are not evaluated here yet: `health` is `unknown` and no alerts are active.
async fn prometheus_rules(
    State(state): State<AppState>,
    Query(q): Query<RulesQuery>,
) -> Result<Response, ApiError> {
    let want = q.kind.as_deref();
    if let Some(k) = want.filter(|k| *k != "alert" && *k != "record") {
        return Err(ApiError::invalid(
            "type",
            format!("`{k}` is not a rule type; use alert or record"),
        ));
    }
    let groups: Vec<Value> = store::list(&state.db)
        .await?
        .into_iter()
        .map(|g| {
            let rules: Vec<Value> = g
                .spec
                .rules
                .iter()
                .filter(|r| match want {
                    Some("alert") => r.is_alert(),
                    Some("record") => !r.is_alert(),
                    _ => true,
                })
                .map(|r| {
                    let mut v = json!({
                        "name": r.name(),
                        "query": r.expr,
                        "labels": r.labels,
                        "health": "unknown",
                        "evaluationTime": 0,
                        "lastEvaluation": "0001-01-01T00:00:00Z",
                    });
                    if r.is_alert() {
                        v["type"] = json!("alerting");
                        v["state"] = json!("inactive");
                        v["duration"] = json!(seconds(r.for_.as_deref()));
                        v["keepFiringFor"] = json!(seconds(r.keep_firing_for.as_deref()));
                        v["annotations"] = json!(r.annotations);
                        v["alerts"] = json!([]);
                    } else {
                        v["type"] = json!("recording");
                    }
                    v
                })
                .collect();
            json!({
                "name": g.spec.name,
                "file": g.namespace,
                "interval": seconds(g.spec.interval.as_deref()).max(60.0 * f64::from(g.spec.interval.is_none() as u8)),
                "limit": g.spec.limit.unwrap_or(0),
                "rules": rules,
                "evaluationTime": 0,
                "lastEvaluation": "0001-01-01T00:00:00Z",
            })
        })
        .collect();
    Ok(Json(json!({ "status": "success", "data": { "groups": groups } })).into_response())
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
    let stored = match &q.namespace {
        Some(ns) => store::list_in(&state.db, &namespace(Some(ns))?).await?,
        None => store::list(&state.db).await?,
    };
    if q.namespace.is_none() {
        let mut seen = std::collections::BTreeMap::new();
        for g in &stored {
            if let Some(first) = seen.insert(g.spec.name.as_str(), g.namespace.as_str()) {
                return Err(ApiError::conflict(
                    "namespace",
                    format!(
                        "namespaces `{first}` and `{}` both hold a group named `{}`, which one rule file cannot; export one namespace (`?namespace=`)",
                        g.namespace, g.spec.name
                    ),
                ));
            }
        }
    }
    let mut groups: Vec<GroupSpec> = stored.into_iter().map(|g| g.spec).collect();
    if let Some(name) = &q.group {
        groups.retain(|g| &g.name == name);
        if groups.is_empty() {
            return Err(ApiError::not_found("rule group"));
        }
    }
    let yaml = rules::export_yaml(groups)?;
    let file = match (q.namespace.as_deref(), q.group.as_deref()) {
        (_, Some(g)) => format!("{g}.rules.yml"),
        (Some(ns), None) => format!("{ns}.rules.yml"),
        (None, None) => "keiko-rules.yml".into(),
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.replace(['"', '\\', '\r', '\n'], "_")
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/yaml; charset=utf-8".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        yaml,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    #[serde(default)]
    group: Option<GroupSpec>,
    #[serde(default)]
    expr: Option<String>,
    #[serde(default)]
    yaml: Option<String>,
}

/// Live validation for the editor: never writes, always 200 with `errors` and `warnings`.
async fn validate(ApiJson(body): ApiJson<ValidateBody>) -> Result<Response, ApiError> {
    let answer = crate::cpu::run(move || validation_report(body)).await??;
    Ok(Json(answer).into_response())
}

fn validation_report(body: ValidateBody) -> Result<Value, ApiError> {
    // For a group: the YAML that export would write for it.
    let mut yaml = None;
    if let Some(expr) = body.expr {
        let errors = match PromQl::parse(&expr) {
            Ok(_) => vec![],
            Err(e) => vec![
                json!({ "field": "expr", "message": e.message, "expr_line": e.line, "expr_column": e.column, "offset": e.offset }),
            ],
        };
        return Ok(json!({ "valid": errors.is_empty(), "errors": errors, "warnings": [] }));
    }
    let groups = match (body.group, body.yaml) {
        (Some(g), None) => {
            yaml = rules::export_yaml(vec![g.clone()]).ok();
            validate_group(&g).map(|v| vec![v])
        }
        (None, Some(yaml)) => rules::parse_file(&yaml),
        _ => {
            return Err(ApiError::invalid(
                "body",
                "send one of `expr`, `group` or `yaml`",
            ))
        }
    };
    Ok(match groups {
        Ok(groups) => {
            let warnings: Vec<_> = groups.iter().flat_map(lint::lint).collect();
            let specs: Vec<&GroupSpec> = groups.iter().map(|g| &g.spec).collect();
            json!({ "valid": true, "errors": [], "warnings": warnings, "yaml": yaml, "groups": specs })
        }
        Err(errors) => json!({ "valid": false, "errors": errors, "warnings": [], "yaml": yaml }),
    })
}

async fn list_groups(State(state): State<AppState>) -> Result<Response, ApiError> {
    let groups = stored_views(store::list(&state.db).await?).await?;
    Ok(Json(groups).into_response())
}

async fn create_group(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Response, ApiError> {
    let ns = namespace(body.namespace.as_deref())?;
    let (spec, _, message) = body.split();
    let valid = checked(spec).await?;
    let stored = store::save(
        &state.db,
        &state.metrics,
        &actor,
        &ns,
        &valid,
        None,
        &message,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(group_view(&stored, Some(&valid)))).into_response())
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
    let view = stored_views(vec![stored]).await?.pop().unwrap_or_default();
    Ok(Json(view).into_response())
}

async fn update_group(
    State(state): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    Query(q): Query<NamespaceQuery>,
    ApiJson(body): ApiJson<GroupBody>,
) -> Result<Response, ApiError> {
    let ns = namespace(q.namespace.as_deref())?;
    if body.namespace.as_deref().is_some_and(|b| b != ns.as_str()) {
        return Err(ApiError::invalid(
            "namespace",
            "the namespace in the body differs from the URL's; a group does not move between namespaces",
        ));
    }
    let (spec, version, message) = body.split();
    let version = version.ok_or_else(|| {
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
    let valid = checked(spec).await?;
    let stored = store::save(
        &state.db,
        &state.metrics,
        &actor,
        &ns,
        &valid,
        Some(version),
        &message,
    )
    .await?;
    Ok(Json(group_view(&stored, Some(&valid))).into_response())
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
    let spec = store::version(&state.db, &ns, &name, version)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    let valid = checked(spec).await?;
    let current = store::get(&state.db, &ns, &name).await?;
    let expected = match (&current, body.version) {
        (Some(_), Some(v)) => Some(v),
        (Some(c), None) => Some(c.version),
        (None, _) => None,
    };
    let message = body
        .message
        .unwrap_or_else(|| format!("restored version {version}"));
    let stored = store::save(
        &state.db,
        &state.metrics,
        &actor,
        &ns,
        &valid,
        expected,
        &message,
    )
    .await?;
    Ok(Json(group_view(&stored, Some(&valid))).into_response())
}
