//! Stored groups as the API and the pages show them: a group with the lint warnings of its
//! validated form and its YAML (Prometheus's `/api/v1/rules` shape, with evaluation, is
//! `alerting::views`).

use serde_json::{json, Value};

use super::store::StoredGroup;
use super::validate::{validate_group, ValidGroup};
use crate::error::Error;

/// A group as the API shows it, with the lint warnings of its validated form (`None`: a
/// stored group that no longer validates, e.g. written by an older version).
pub fn group_view(stored: &StoredGroup, valid: Option<&ValidGroup>) -> Value {
    let mut v = serde_json::to_value(stored).unwrap_or_default();
    if let Some(valid) = valid {
        v["warnings"] = json!(super::lint::lint(valid));
    }
    v["yaml"] = json!(super::export_yaml(vec![stored.spec.clone()]).unwrap_or_default());
    v
}

/// Groups read back from the store: validated again (for their warnings) on the CPU pool.
pub async fn stored_views(stored: Vec<StoredGroup>) -> Result<Vec<Value>, Error> {
    Ok(crate::cpu::run(move || {
        stored
            .iter()
            .map(|g| group_view(g, validate_group(&g.spec).ok().as_ref()))
            .collect()
    })
    .await?)
}
