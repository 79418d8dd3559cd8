//! A rule group as the editor holds it, and its API shape.

use serde_json::{json, Map, Value};

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
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct GroupDraft {
    pub(super) name: String,
    pub(super) interval: String,
    pub(super) limit: String,
    pub(super) rules: Vec<RuleDraft>,
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl GroupDraft {
    pub(super) fn from_json(v: &Value) -> GroupDraft {
        GroupDraft {
            name: text(v, "name"),
            interval: text(v, "interval"),
            limit: text(v, "limit"),
            rules: v["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| RuleDraft {
                    alert: r.get("record").is_none(),
                    name: if r.get("record").is_some() {
                        text(r, "record")
                    } else {
                        text(r, "alert")
                    },
                    expr: text(r, "expr"),
                    for_: text(r, "for"),
                    keep_firing_for: text(r, "keep_firing_for"),
                    labels: pairs(&r["labels"]),
                    annotations: pairs(&r["annotations"]),
                })
                .collect(),
        }
    }

    /// The group in the API's (and Prometheus's) shape.
    pub(super) fn to_json(&self) -> Value {
        let map = |rows: &[(String, String)]| {
            Value::Object(
                rows.iter()
                    .filter(|(k, _)| !k.is_empty())
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<Map<_, _>>(),
            )
        };
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert(
                    (if r.alert { "alert" } else { "record" }).into(),
                    json!(r.name),
                );
                o.insert("expr".into(), json!(r.expr));
                if r.alert && !r.for_.trim().is_empty() {
                    o.insert("for".into(), json!(r.for_.trim()));
                }
                if r.alert && !r.keep_firing_for.trim().is_empty() {
                    o.insert("keep_firing_for".into(), json!(r.keep_firing_for.trim()));
                }
                if !r.labels.is_empty() {
                    o.insert("labels".into(), map(&r.labels));
                }
                if r.alert && !r.annotations.is_empty() {
                    o.insert("annotations".into(), map(&r.annotations));
                }
                Value::Object(o)
            })
            .collect();
        let mut g = json!({ "name": self.name, "rules": rules });
        if !self.interval.trim().is_empty() {
            g["interval"] = json!(self.interval.trim());
        }
        if let Ok(limit) = self.limit.trim().parse::<u64>() {
            g["limit"] = json!(limit);
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_round_trips_through_the_api_shape() {
        let v = json!({"name": "g", "interval": "1m", "rules": [
            {"alert": "A", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical"}, "annotations": {"summary": "s"}},
            {"record": "job:up:sum", "expr": "sum by (job) (up)"}
        ]});
        assert_eq!(GroupDraft::from_json(&v).to_json(), v);
    }
}
