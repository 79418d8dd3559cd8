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

// ---- what the server answers --------------------------------------------------------------

/// Items done out of those that apply (not "not applicable"), and the share in percent with
/// one decimal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub done: usize,
    pub applicable: usize,
    pub percent: f64,
}

impl Progress {
    pub fn of(done: usize, applicable: usize) -> Progress {
        let percent = if applicable == 0 {
            0.0
        } else {
            (done as f64 * 1000.0 / applicable as f64).round() / 10.0
        };
        Progress {
            done,
            applicable,
            percent,
        }
    }
}

/// A user an item is assigned to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub id: i64,
    pub login: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

/// What an evidence check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceStatus {
    Verified,
    Failing,
    /// The portal has no data to decide yet (e.g. no log source).
    Unverifiable,
}

impl EvidenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceStatus::Verified => "verified",
            EvidenceStatus::Failing => "failing",
            EvidenceStatus::Unverifiable => "unverifiable",
        }
    }
}

/// One evidence check's latest result for a team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub check: String,
    pub status: EvidenceStatus,
    /// What was found, in words.
    pub detail: String,
    pub checked_at: String,
    /// When the check last turned from verified (or unknown) to failing.
    pub failing_since: Option<String>,
}

/// One item of a team's checklist: the template's text in the asked language, the team's
/// state of it, its evidence and what needs attention.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    pub id: i64,
    pub title: String,
    pub detail: String,
    /// One of `STATES`.
    pub state: String,
    pub reason: String,
    pub owner: Option<Owner>,
    pub due_date: Option<String>,
    pub note: String,
    /// `note` as HTML, raw HTML in it escaped.
    pub note_html: String,
    pub evidence_links: Vec<String>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
    pub evidence: Option<Evidence>,
    /// Set when the item is done but its evidence fails.
    pub warning: Option<String>,
    pub overdue: bool,
    /// The item's history (a URL of the API).
    pub history: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SectionView {
    pub id: i64,
    pub title: String,
    pub progress: Progress,
    pub items: Vec<ItemView>,
}

/// `GET /api/v1/teams/{id}/checklist`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamChecklist {
    pub team: TeamRef,
    pub template: TemplateRef,
    pub language: Lang,
    pub progress: Progress,
    pub sections: Vec<SectionView>,
}

/// One change of an item: who, when, the fields that changed, the state before and after
/// (as stored then; older entries may lack fields added since).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub actor: String,
    pub changed: Vec<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// `GET /api/v1/checklist/overview`: teams × sections, and the open items that are overdue
/// or have no owner.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub teams: Vec<TeamProgress>,
    pub attention: Vec<Attention>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamProgress {
    pub team: TeamRef,
    pub progress: Progress,
    pub sections: Vec<SectionProgress>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SectionProgress {
    pub id: i64,
    pub title: String,
    pub progress: Progress,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub team: String,
    pub team_id: i64,
    pub item_id: i64,
    pub title: String,
    pub overdue: bool,
    pub owner: Option<Owner>,
    pub due_date: Option<String>,
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

    #[test]
    fn progress_rounds_to_one_decimal_and_is_zero_when_nothing_applies() {
        assert_eq!(Progress::of(1, 3).percent, 33.3);
        assert_eq!(Progress::of(2, 3).percent, 66.7);
        assert_eq!(Progress::of(0, 0).percent, 0.0);
    }
}
