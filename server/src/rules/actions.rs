//! What users do with rule groups, as the API routes and the pages call it: every write
//! validates on the CPU pool first (a group is only stored as a `ValidGroup`), then saves
//! with optimistic locking; export writes one rule file.

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::model::GroupSpec;
use super::namespace::Namespace;
use super::store::{self, StoredGroup};
use super::validate::{validate_group, ValidGroup};
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::promql_syntax::PromQl;

/// Validates a group on the CPU pool.
pub async fn checked(spec: GroupSpec) -> Result<ValidGroup, Error> {
    crate::cpu::run(move || validate_group(&spec).map_err(super::invalid)).await?
}

/// Validates and stores `spec`: a new group (`expected = None`) or a new version of the one
/// at `expected`. Answers the stored group with its validated form.
pub async fn save(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    ns: &Namespace,
    spec: GroupSpec,
    expected: Option<i64>,
    message: &str,
) -> Result<(StoredGroup, ValidGroup), Error> {
    let valid = checked(spec).await?;
    let stored = store::save(db, metrics, actor, ns, &valid, expected, message).await?;
    Ok((stored, valid))
}

/// Which old version to restore, over which current one, saying what.
pub struct Restore {
    pub version: i64,
    /// The current version the caller saw (optimistic locking); the current one if `None`.
    pub expected: Option<i64>,
    /// The change message; "restored version N" if `None`.
    pub message: Option<String>,
}

/// Makes an old version of group `name` the newest (validated again: rules may have
/// become invalid since).
pub async fn restore(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    ns: &Namespace,
    name: &str,
    restore: Restore,
) -> Result<(StoredGroup, ValidGroup), Error> {
    let Restore {
        version,
        expected,
        message,
    } = restore;
    let spec = store::version(db, ns, name, version)
        .await?
        .ok_or_else(|| Error::not_found("version"))?;
    let valid = checked(spec).await?;
    let current = store::get(db, ns, name).await?;
    let expected = match (&current, expected) {
        (Some(_), Some(v)) => Some(v),
        (Some(c), None) => Some(c.version),
        (None, _) => None,
    };
    let message = message.unwrap_or_else(|| format!("restored version {version}"));
    let stored = store::save(db, metrics, actor, ns, &valid, expected, &message).await?;
    Ok((stored, valid))
}

/// A rule file to download: its file name and YAML.
pub struct RuleFile {
    pub file_name: String,
    pub yaml: String,
}

/// One rule file: a namespace, one group of it, or every group when no two namespaces share
/// a group name (a rule file cannot repeat a name).
pub async fn export(
    db: &SqlitePool,
    namespace: Option<&Namespace>,
    group: Option<&str>,
) -> Result<RuleFile, Error> {
    let stored = match namespace {
        Some(ns) => store::list_in(db, ns).await?,
        None => store::list(db).await?,
    };
    if namespace.is_none() {
        let mut seen = std::collections::BTreeMap::new();
        for g in &stored {
            if let Some(first) = seen.insert(g.spec.name.as_str(), g.namespace.as_str()) {
                return Err(Error::conflict(
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
    if let Some(name) = group {
        groups.retain(|g| g.name == name);
        if groups.is_empty() {
            return Err(Error::not_found("rule group"));
        }
    }
    let yaml = super::export_yaml(groups)?;
    let file_name = match (namespace, group) {
        (_, Some(g)) => format!("{g}.rules.yml"),
        (Some(ns), None) => format!("{ns}.rules.yml"),
        (None, None) => "keiko-rules.yml".into(),
    };
    Ok(RuleFile { file_name, yaml })
}

/// What the editor sends to check as the user types: one expression, one group, or a file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveCheck {
    #[serde(default)]
    pub group: Option<GroupSpec>,
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default)]
    pub yaml: Option<String>,
}

/// Live validation for the editor: never writes; `errors` and `warnings` (and for a group
/// the YAML export would write). CPU-heavy: call it on the CPU pool.
pub fn live_check(body: LiveCheck) -> Result<Value, Error> {
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
            yaml = super::export_yaml(vec![g.clone()]).ok();
            validate_group(&g).map(|v| vec![v])
        }
        (None, Some(yaml)) => super::parse_file(&yaml),
        _ => {
            return Err(Error::invalid(
                "body",
                "send one of `expr`, `group` or `yaml`",
            ))
        }
    };
    Ok(match groups {
        Ok(groups) => {
            let warnings: Vec<_> = groups.iter().flat_map(super::lint::lint).collect();
            let specs: Vec<&GroupSpec> = groups.iter().map(|g| &g.spec).collect();
            json!({ "valid": true, "errors": [], "warnings": warnings, "yaml": yaml, "groups": specs })
        }
        Err(errors) => json!({ "valid": false, "errors": errors, "warnings": [], "yaml": yaml }),
    })
}
