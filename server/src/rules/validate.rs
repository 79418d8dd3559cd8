//! Every write (API, UI, import) passes here: a group either becomes a [`ValidGroup`] or
//! yields every problem found, each naming the rule, the field and, for PromQL, the line
//! and column inside the expression.

use serde::Serialize;

use super::model::{GroupSpec, RuleSpec};
use super::template;
use crate::promql_syntax::duration::PromDuration;
use crate::promql_syntax::PromQl;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleIssue {
    pub group: String,
    /// 0-based position of the rule in its group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `name`, `interval`, `rules[1].expr`, `rules[0].annotations.description`, …
    pub field: String,
    pub message: String,
    /// Where in the expression (PromQL) or template the problem is, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr_column: Option<usize>,
    /// Line in the imported YAML file (import only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A group every part of which is valid, with its expressions parsed.
#[derive(Clone, Debug)]
pub struct ValidGroup {
    pub spec: GroupSpec,
    pub interval: Option<PromDuration>,
    /// One per rule, in order.
    pub exprs: Vec<PromQl>,
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Longest group name, in characters.
pub const MAX_GROUP_NAME: usize = 200;
/// Most rules in one group.
pub const MAX_RULES: usize = 1000;

/// Why a group name cannot be used: empty, too long, control characters (NUL among them),
/// a path separator or a dot-only name (names end up in URLs and file names on export).
pub fn group_name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("a group needs a name".into());
    }
    if name.chars().count() > MAX_GROUP_NAME {
        return Some(format!("must be at most {MAX_GROUP_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    if name.contains(['/', '\\']) || name.trim_matches('.').is_empty() {
        return Some("must not contain `/` or `\\` nor be only dots".into());
    }
    if name.trim() != name {
        return Some("must not start or end with spaces".into());
    }
    None
}

pub fn validate_group(spec: &GroupSpec) -> Result<ValidGroup, Vec<RuleIssue>> {
    let mut issues = Vec::new();
    // An issue repeats the group's name: a short prefix of a name refused for its length.
    let shown: String = spec.name.chars().take(MAX_GROUP_NAME).collect();
    let group_issue = |field: &str, message: String| RuleIssue {
        group: shown.clone(),
        rule_index: None,
        rule: None,
        field: field.into(),
        message,
        expr_line: None,
        expr_column: None,
        line: None,
    };
    if let Some(problem) = group_name_problem(&spec.name) {
        issues.push(group_issue("name", problem));
    }
    if spec.rules.len() > MAX_RULES {
        issues.push(group_issue(
            "rules",
            format!("at most {MAX_RULES} rules in a group"),
        ));
        return Err(issues);
    }
    let interval = match spec.interval.as_deref().map(PromDuration::parse) {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            issues.push(group_issue("interval", e));
            None
        }
        None => None,
    };
    if let Some(source) = &spec.source {
        if source.trim().is_empty() || source.chars().count() > MAX_GROUP_NAME {
            issues.push(group_issue(
                "source",
                format!("name a data source (1 to {MAX_GROUP_NAME} characters) or leave it out for the default"),
            ));
        }
    }
    let mut exprs = Vec::new();
    for (i, rule) in spec.rules.iter().enumerate() {
        match validate_rule(&spec.name, i, rule) {
            Ok(expr) => exprs.push(expr),
            Err(mut found) => issues.append(&mut found),
        }
    }
    if issues.is_empty() {
        Ok(ValidGroup {
            spec: spec.clone(),
            interval,
            exprs,
        })
    } else {
        Err(issues)
    }
}

fn validate_rule(group: &str, index: usize, rule: &RuleSpec) -> Result<PromQl, Vec<RuleIssue>> {
    let mut issues = Vec::new();
    let name = (!rule.name().is_empty()).then(|| rule.name().to_owned());
    let mut push = |field: String, message: String, pos: Option<(usize, usize)>| {
        issues.push(RuleIssue {
            group: group.into(),
            rule_index: Some(index),
            rule: name.clone(),
            field: format!("rules[{index}].{field}"),
            message,
            expr_line: pos.map(|p| p.0),
            expr_column: pos.map(|p| p.1),
            line: None,
        })
    };
    match (&rule.alert, &rule.record) {
        (Some(_), Some(_)) | (None, None) => push(
            "alert".into(),
            "set exactly one of `alert` (an alerting rule) and `record` (a recording rule)".into(),
            None,
        ),
        (Some(alert), None) if alert.trim().is_empty() => {
            push("alert".into(), "the alert needs a name".into(), None)
        }
        (None, Some(record)) if !is_metric_name(record) => push(
            "record".into(),
            format!("`{record}` is not a valid metric name (letters, digits, _ and :, not starting with a digit)"),
            None,
        ),
        _ => {}
    }
    if rule.record.is_some() {
        if rule.for_.is_some() {
            push(
                "for".into(),
                "`for` applies to alerting rules only".into(),
                None,
            );
        }
        if rule.keep_firing_for.is_some() {
            push(
                "keep_firing_for".into(),
                "`keep_firing_for` applies to alerting rules only".into(),
                None,
            );
        }
        if !rule.annotations.is_empty() {
            push(
                "annotations".into(),
                "annotations apply to alerting rules only".into(),
                None,
            );
        }
        if rule.no_data_state.is_some() || rule.error_state.is_some() {
            let field = if rule.no_data_state.is_some() {
                "no_data_state"
            } else {
                "error_state"
            };
            push(
                field.into(),
                format!("`{field}` applies to alerting rules only"),
                None,
            );
        }
    }
    for (field, value) in [
        ("for", &rule.for_),
        ("keep_firing_for", &rule.keep_firing_for),
    ] {
        if let Some(Err(e)) = value.as_deref().map(PromDuration::parse) {
            push(field.into(), e, None);
        }
    }
    for (kind, map) in [("labels", &rule.labels), ("annotations", &rule.annotations)] {
        for (key, value) in map {
            if !crate::promql_syntax::is_label_name(key) {
                push(
                    format!("{kind}.{key}"),
                    format!("`{key}` is not a valid name (letters, digits and _, not starting with a digit)"),
                    None,
                );
            }
            if let Err(e) = template::check(value) {
                let (line, column) = crate::promql_syntax::line_col(value, e.offset);
                push(
                    format!("{kind}.{key}"),
                    format!("template: {}", e.message),
                    Some((line, column)),
                );
            }
        }
    }
    let expr = match PromQl::parse(&rule.expr) {
        Ok(expr) => Some(expr),
        Err(e) => {
            push(
                "expr".into(),
                format!("{} (line {}, column {})", e.message, e.line, e.column),
                Some((e.line, e.column)),
            );
            None
        }
    };
    match expr {
        Some(expr) if issues.is_empty() => Ok(expr),
        _ => Err(issues),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::model::{RuleFile, SEED_RULES};

    fn group(rules: Vec<RuleSpec>) -> GroupSpec {
        GroupSpec {
            name: "g".into(),
            rules,
            ..Default::default()
        }
    }

    fn alert(expr: &str) -> RuleSpec {
        RuleSpec {
            alert: Some("A".into()),
            expr: expr.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_seed_group_is_valid() {
        let file: RuleFile = serde_norway::from_str(SEED_RULES).unwrap();
        let valid = validate_group(&file.groups[0]).unwrap();
        assert_eq!(valid.exprs.len(), 4);
    }

    #[test]
    fn group_names_are_checked_like_other_names() {
        for bad in ["", " g", "a/b", "..", "x\0y", "tab\there", &"n".repeat(201)] {
            assert!(group_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in [
            "keiko-alerts",
            "EmbeddedExporter",
            "Gruppe für Agenten",
            "v1.2",
        ] {
            assert_eq!(group_name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn a_promql_typo_names_rule_field_and_position() {
        let issues =
            validate_group(&group(vec![alert("up == 1"), alert("rate(x[5m]) >> 1")])).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "rules[1].expr");
        assert_eq!(issues[0].rule.as_deref(), Some("A"));
        assert_eq!(
            (issues[0].expr_line, issues[0].expr_column),
            (Some(1), Some(14))
        );
    }

    #[test]
    fn every_kind_of_mistake_is_reported() {
        let mut rec = RuleSpec {
            record: Some("9bad".into()),
            expr: "up".into(),
            for_: Some("5m".into()),
            ..Default::default()
        };
        rec.annotations.insert("summary".into(), "x".into());
        let mut a = alert("up == 0");
        a.for_ = Some("5 minutes".into());
        a.labels.insert("bad-name".into(), "x".into());
        a.annotations
            .insert("description".into(), "{{ $value | humanise }}".into());
        let mut g = group(vec![
            rec,
            a,
            RuleSpec {
                expr: "up".into(),
                ..Default::default()
            },
        ]);
        g.interval = Some("1x".into());
        let fields: Vec<String> = validate_group(&g)
            .unwrap_err()
            .into_iter()
            .map(|i| i.field)
            .collect();
        for expected in [
            "interval",
            "rules[0].record",
            "rules[0].for",
            "rules[0].annotations",
            "rules[1].for",
            "rules[1].labels.bad-name",
            "rules[1].annotations.description",
            "rules[2].alert",
        ] {
            assert!(
                fields.iter().any(|f| f == expected),
                "{expected} missing in {fields:?}"
            );
        }
    }
}
