//! A rule group as the editor holds it (fields as text, labels as ordered rows), and the
//! typed group (`wire::rules`) the API reads and writes.

use std::collections::BTreeMap;

use serde::Deserialize;

use wire::rules::{GroupSpec, NoDataBehaviour, RuleSpec};

/// One rule as the editor holds it (labels as ordered rows).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct RuleDraft {
    pub(super) alert: bool,
    pub(super) name: String,
    pub(super) expr: String,
    pub(super) for_: String,
    pub(super) keep_firing_for: String,
    pub(super) labels: Vec<(String, String)>,
    pub(super) annotations: Vec<(String, String)>,
    /// Kept as loaded (the editor has no field for them yet), so a save keeps them.
    pub(super) no_data_state: Option<NoDataBehaviour>,
    pub(super) error_state: Option<NoDataBehaviour>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct GroupDraft {
    pub(super) name: String,
    pub(super) interval: String,
    pub(super) limit: String,
    /// The group's data source, kept as loaded (no field for it yet).
    pub(super) source: Option<String>,
    pub(super) rules: Vec<RuleDraft>,
}

/// A stored group as `GET /api/v1/rule-groups/{name}` answers (with lint warnings and its
/// YAML besides, which the editor asks for separately).
#[derive(Clone, Debug, Deserialize)]
pub(super) struct StoredGroup {
    #[serde(flatten)]
    pub(super) group: GroupSpec,
    pub(super) version: i64,
}

/// The rows of a label or annotation map, and back (rows without a name are left out).
fn rows(map: &BTreeMap<String, String>) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn map(rows: &[(String, String)]) -> BTreeMap<String, String> {
    rows.iter()
        .filter(|(k, _)| !k.is_empty())
        .cloned()
        .collect()
}

/// Trimmed, or `None` when empty.
fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

impl GroupDraft {
    pub(super) fn from_spec(g: &GroupSpec) -> GroupDraft {
        GroupDraft {
            name: g.name.clone(),
            interval: g.interval.clone().unwrap_or_default(),
            limit: g.limit.map(|l| l.to_string()).unwrap_or_default(),
            source: g.source.clone(),
            rules: g
                .rules
                .iter()
                .map(|r| RuleDraft {
                    alert: r.record.is_none(),
                    name: r
                        .record
                        .clone()
                        .or_else(|| r.alert.clone())
                        .unwrap_or_default(),
                    expr: r.expr.clone(),
                    for_: r.for_.clone().unwrap_or_default(),
                    keep_firing_for: r.keep_firing_for.clone().unwrap_or_default(),
                    labels: rows(&r.labels),
                    annotations: rows(&r.annotations),
                    no_data_state: r.no_data_state,
                    error_state: r.error_state,
                })
                .collect(),
        }
    }

    /// The group as the API (and a Prometheus rule file) holds it.
    pub(super) fn to_spec(&self) -> GroupSpec {
        GroupSpec {
            name: self.name.clone(),
            interval: given(&self.interval),
            limit: self.limit.trim().parse().ok(),
            source: self.source.clone(),
            rules: self
                .rules
                .iter()
                .map(|r| RuleSpec {
                    record: (!r.alert).then(|| r.name.clone()),
                    alert: r.alert.then(|| r.name.clone()),
                    expr: r.expr.clone(),
                    for_: given(&r.for_).filter(|_| r.alert),
                    keep_firing_for: given(&r.keep_firing_for).filter(|_| r.alert),
                    labels: map(&r.labels),
                    annotations: if r.alert {
                        map(&r.annotations)
                    } else {
                        BTreeMap::new()
                    },
                    no_data_state: r.no_data_state.filter(|_| r.alert),
                    error_state: r.error_state.filter(|_| r.alert),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_round_trips_through_the_api_shape() {
        let v = serde_json::json!({"name": "g", "interval": "1m", "source": "Embedded", "rules": [
            {"alert": "A", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical"}, "annotations": {"summary": "s"}, "no_data_state": "alerting"},
            {"record": "job:up:sum", "expr": "sum by (job) (up)"}
        ]});
        let spec: GroupSpec = serde_json::from_value(v.clone()).unwrap();
        let again = GroupDraft::from_spec(&spec).to_spec();
        assert_eq!(again, spec);
        assert_eq!(serde_json::to_value(&again).unwrap(), v);
    }
}
