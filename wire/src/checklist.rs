//! The checklist's bodies: a change to one item, a template as it is edited, what a team
//! owns. The server validates them (`checklist::template`, `checklist::ownership`); the
//! checks that need nothing but the value live here.

use serde::{Deserialize, Deserializer, Serialize};

/// An item's states, as stored and sent.
pub const STATES: [&str; 4] = ["open", "in_progress", "done", "not_applicable"];

/// The language of checklist texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    De,
    En,
}

/// A change to one item of a team's checklist: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `null` clears the owner.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_id: Option<Option<i64>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_date: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_links: Option<Vec<String>>,
}

/// A field that is present (`null` included) is `Some`; one left out stays `None`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A checklist template as it is created or edited.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub name: String,
    /// The version being edited (updates only; optimistic locking).
    #[serde(default)]
    pub version: Option<i64>,
    pub sections: Vec<SectionBody>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SectionBody {
    /// Keep an existing section (rename/reorder); absent for a new one.
    #[serde(default)]
    pub id: Option<i64>,
    pub title_de: String,
    pub title_en: String,
    pub items: Vec<ItemBody>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    #[serde(default)]
    pub id: Option<i64>,
    pub title_de: String,
    #[serde(default)]
    pub detail_de: String,
    pub title_en: String,
    #[serde(default)]
    pub detail_en: String,
    #[serde(default)]
    pub evidence_check: Option<String>,
}

/// What a team owns: its evidence is checked against these, not against the whole portal.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    /// Dashboard uids.
    #[serde(default)]
    pub dashboards: Vec<String>,
    #[serde(default)]
    pub rule_namespaces: Vec<String>,
    /// Prometheus `job` label values.
    #[serde(default)]
    pub services: Vec<String>,
}

/// The kinds of object a team owns, as the API names them.
pub const OWNED_KINDS: [&str; 3] = ["dashboard", "rule_namespace", "service"];

impl Ownership {
    /// The objects of one kind (`dashboard`, `rule_namespace`, `service`).
    pub fn of_kind(&self, kind: &str) -> &[String] {
        match kind {
            "dashboard" => &self.dashboards,
            "rule_namespace" => &self.rule_namespaces,
            _ => &self.services,
        }
    }

    pub fn of_kind_mut(&mut self, kind: &str) -> &mut Vec<String> {
        match kind {
            "dashboard" => &mut self.dashboards,
            "rule_namespace" => &mut self.rule_namespaces,
            _ => &mut self.services,
        }
    }
}

/// A `job` label value a team may name: what PromQL selectors can match without escaping
/// beyond `.` (letters, digits, `_`, `-`, `.`, `:`; 1–100 characters).
pub fn service_problem(job: &str) -> Option<String> {
    if job.is_empty() || job.len() > 100 {
        return Some("must be 1–100 characters".into());
    }
    job.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
        .map(|c| {
            format!(
                "`{}` is not allowed: use letters, digits, `_`, `-`, `.` and `:`",
                c.escape_default()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_a_cleared_owner_from_an_unchanged_one() {
        let cleared: ItemPatch = serde_json::from_str(r#"{"owner_id": null}"#).unwrap();
        assert_eq!(cleared.owner_id, Some(None));
        let unchanged: ItemPatch = serde_json::from_str(r#"{"note": "n"}"#).unwrap();
        assert_eq!(unchanged.owner_id, None);
        assert_eq!(
            serde_json::to_string(&cleared).unwrap(),
            r#"{"owner_id":null}"#
        );
        assert_eq!(
            serde_json::to_string(&unchanged).unwrap(),
            r#"{"note":"n"}"#
        );
    }
}
