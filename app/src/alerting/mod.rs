//! Alerting pages: the alerts firing and pending (`alerts.rs`, rendered on the server), and
//! the alert rules pages: the list (search, severity and label filters) and the editor (a field
//! per part, live validation with the error's place marked, lint warnings beside each rule,
//! a YAML tab, history with diff and restore, conflict handling, Ctrl/Cmd+S; the state
//! history of its alerts, a backtest and unit tests in tabs). Both are clients of
//! `/api/v1/rule-groups` and `/api/v1/rules/validate`.

mod alerts;
mod backtest_tab;
mod draft;
mod editor;
mod import;
mod list;
mod rule_card;
mod state_history;
mod tabs;
mod tests_tab;
mod timeline;

pub use alerts::AlertsPage;
pub use editor::RuleEditor;
pub use list::RulesList;

use serde_json::Value;

use crate::components::form::encode;

pub(super) fn severity_of(rule: &Value) -> String {
    rule["labels"]["severity"].as_str().unwrap_or("").to_owned()
}

/// The API address of a group (`suffix`: `""`, `/history`, `/history/3`, `/restore/3`).
pub(super) fn group_url(namespace: &str, name: &str, suffix: &str) -> String {
    format!(
        "/api/v1/rule-groups/{}{suffix}?namespace={}",
        encode(name),
        encode(namespace)
    )
}

/// The editor's address for a group.
pub(super) fn editor_href(namespace: &str, name: &str) -> String {
    format!(
        "/alerting/rules/edit?namespace={}&group={}",
        encode(namespace),
        encode(name)
    )
}

/// The editor's State history tab, at one rule's timeline.
pub(super) fn state_history_href(namespace: &str, group: &str, rule: &str) -> String {
    format!(
        "{}&tab=state-history#state-history-{}",
        editor_href(namespace, group),
        encode(rule)
    )
}

/// A namespace named after an uploaded rule file: its name without `.yml`/`.yaml`, every
/// character a namespace cannot hold replaced by `-`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(super) fn namespace_of_file(file: &str) -> String {
    let stem = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"))
        .unwrap_or(file);
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if clean.trim_matches('.').is_empty() {
        "default".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uploaded_file_names_its_namespace() {
        assert_eq!(namespace_of_file("mysql-exporter.yml"), "mysql-exporter");
        assert_eq!(
            namespace_of_file("node exporter (1).yaml"),
            "node-exporter--1-"
        );
        assert_eq!(namespace_of_file("...yml"), "default");
    }
}
