//! Alert and recording rules in Prometheus's own format: validated on every write, linted,
//! versioned, imported and exported as rule files that `promtool check rules` accepts.

pub mod actions;
pub mod lint;
pub mod model;
pub mod namespace;
pub mod provision;
pub mod store;
pub mod template;
pub mod validate;
pub mod views;

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::SqlitePool;

use self::model::{GroupSpec, RuleFile, RuleSpec};
use self::namespace::Namespace;
use self::validate::{validate_group, RuleIssue, ValidGroup};
use crate::actor::Actor;
use crate::audit;
use crate::error::Error;
use crate::metrics::Metrics;

/// A 400 carrying every issue.
pub fn invalid(issues: Vec<RuleIssue>) -> Error {
    let first = issues.first().cloned();
    Error::InvalidMany {
        field: first
            .as_ref()
            .map(|i| i.field.clone())
            .unwrap_or_else(|| "body".into()),
        message: first
            .as_ref()
            .map(|i| match (&i.rule, i.line) {
                (_, Some(line)) => format!("line {line}: {}", i.message),
                (Some(rule), None) => format!("{rule}: {}", i.message),
                (None, None) => i.message.clone(),
            })
            .unwrap_or_else(|| "invalid rules".into()),
        errors: serde_json::json!(issues),
    }
}

// ---- import -----------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Changed,
    Unchanged,
    Removed,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleChange {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: Change,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupChange {
    pub name: String,
    pub status: Change,
    pub rules: Vec<RuleChange>,
}

/// How many rules an import adds, changes and removes, over all its groups.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleCounts {
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub removed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    /// The namespace the file's groups land in; groups of other namespaces are never touched.
    pub namespace: Namespace,
    pub groups: Vec<GroupChange>,
    pub rules: RuleCounts,
    /// Groups of this namespace that the file does not name: left as they are.
    pub not_in_file: Vec<String>,
}

/// Where the groups and rules of a YAML rule file start, found by reading its lines (rule
/// files put `- name:` on group items and `alert:`/`record:` on rule items).
struct FileLines {
    groups: Vec<GroupLines>,
}

struct GroupLines {
    line: usize,
    rules: Vec<RuleLines>,
}

struct RuleLines {
    line: usize,
    /// The `expr:` key's line, and whether the expression is a block scalar (`|`, `>`).
    expr: Option<(usize, bool)>,
}

impl FileLines {
    fn scan(text: &str) -> FileLines {
        let mut groups: Vec<GroupLines> = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (i, raw) in lines.iter().enumerate() {
            let t = raw.trim_start();
            let item = t.strip_prefix("- ").map(str::trim_start).unwrap_or(t);
            if t.starts_with("- ") && item.starts_with("name:") {
                groups.push(GroupLines {
                    line: i + 1,
                    rules: Vec::new(),
                });
            } else if item.starts_with("alert:") || item.starts_with("record:") {
                if let Some(GroupLines { rules, .. }) = groups.last_mut() {
                    // The expr key: the nearest `expr:` line of this item (after or before).
                    let expr = (i..lines.len())
                        .take_while(|&j| j == i || !lines[j].trim_start().starts_with("- "))
                        .chain((0..i).rev().take(3))
                        .find(|&j| {
                            lines[j]
                                .trim_start()
                                .trim_start_matches("- ")
                                .starts_with("expr:")
                        })
                        .map(|j| {
                            let value = lines[j]
                                .split_once("expr:")
                                .map(|(_, v)| v.trim())
                                .unwrap_or("");
                            (j + 1, value.starts_with('|') || value.starts_with('>'))
                        });
                    rules.push(RuleLines { line: i + 1, expr });
                }
            }
        }
        FileLines { groups }
    }

    fn line_of(&self, group: usize, issue: &RuleIssue) -> Option<usize> {
        let g = self.groups.get(group)?;
        let Some(index) = issue.rule_index else {
            return Some(g.line);
        };
        let rule = g.rules.get(index)?;
        if issue.field.ends_with(".expr") {
            if let (Some((expr_line, block)), Some(l)) = (rule.expr, issue.expr_line) {
                return Some(if block {
                    expr_line + l
                } else {
                    expr_line + l - 1
                });
            }
        }
        Some(rule.line)
    }
}

/// Parses a rule file; every problem comes back with its line.
pub fn parse_file(text: &str) -> Result<Vec<ValidGroup>, Vec<RuleIssue>> {
    let file: RuleFile = serde_norway::from_str(text).map_err(|e| {
        vec![RuleIssue {
            group: String::new(),
            rule_index: None,
            rule: None,
            field: "file".into(),
            message: e.to_string(),
            expr_line: None,
            expr_column: None,
            line: e.location().map(|l| l.line()),
        }]
    })?;
    let lines = FileLines::scan(text);
    let mut issues = Vec::new();
    let mut valid = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (gi, group) in file.groups.iter().enumerate() {
        if !seen.insert(group.name.clone()) {
            issues.push(RuleIssue {
                group: group.name.clone(),
                rule_index: None,
                rule: None,
                field: format!("groups[{gi}].name"),
                message: format!("the group name `{}` is repeated in the file", group.name),
                expr_line: None,
                expr_column: None,
                line: lines.groups.get(gi).map(|g| g.line),
            });
        }
        match validate_group(group) {
            Ok(v) => valid.push(v),
            Err(found) => issues.extend(found.into_iter().map(|mut i| {
                i.line = lines.line_of(gi, &i);
                i
            })),
        }
    }
    if issues.is_empty() {
        Ok(valid)
    } else {
        Err(issues)
    }
}

fn rule_key(r: &RuleSpec) -> (&'static str, String) {
    (
        if r.is_alert() {
            "alerting"
        } else {
            "recording"
        },
        r.name().to_owned(),
    )
}

fn diff_rules(old: &[RuleSpec], new: &[RuleSpec]) -> Vec<RuleChange> {
    let mut old_by_key: BTreeMap<(&'static str, String), Vec<&RuleSpec>> = BTreeMap::new();
    for r in old {
        old_by_key.entry(rule_key(r)).or_default().push(r);
    }
    let mut out = Vec::new();
    for r in new {
        let key = rule_key(r);
        let status = match old_by_key
            .get_mut(&key)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        {
            None => Change::Added,
            Some(o) if o == r => Change::Unchanged,
            Some(_) => Change::Changed,
        };
        out.push(RuleChange {
            name: key.1,
            kind: key.0,
            status,
        });
    }
    for ((kind, name), rest) in old_by_key {
        for _ in rest {
            out.push(RuleChange {
                name: name.clone(),
                kind,
                status: Change::Removed,
            });
        }
    }
    out
}

/// Imports every group of the file into namespace `ns`: added, changed or unchanged, each
/// with the rules it adds, changes and removes; groups of `ns` not in the file are left
/// alone, other namespaces are never touched. All or nothing: one transaction, and nothing
/// at all with `dry_run`.
pub async fn import(
    db: &SqlitePool,
    metrics: &Metrics,
    actor: &Actor,
    ns: &Namespace,
    text: &str,
    dry_run: bool,
) -> Result<ImportReport, Error> {
    let owned = text.to_owned();
    let groups = crate::cpu::run(move || parse_file(&owned))
        .await?
        .map_err(invalid)?;
    let existing = store::list_in(db, ns).await?;
    let mut report = Vec::new();
    let mut writes = Vec::new();
    for group in &groups {
        let current = existing
            .iter()
            .find(|g| g.spec.name == group.spec.name)
            .cloned();
        let (status, rules) = match &current {
            None => (Change::Added, diff_rules(&[], &group.spec.rules)),
            Some(c) if c.spec == group.spec => (
                Change::Unchanged,
                diff_rules(&c.spec.rules, &group.spec.rules),
            ),
            Some(c) => (
                Change::Changed,
                diff_rules(&c.spec.rules, &group.spec.rules),
            ),
        };
        if status != Change::Unchanged {
            writes.push((group, current.map(|c| c.version)));
        }
        report.push(GroupChange {
            name: group.spec.name.clone(),
            status,
            rules,
        });
    }
    if !dry_run && !writes.is_empty() {
        let mut tx = crate::db::begin_write(db).await?;
        let mut recorded = Vec::new();
        for (group, expected) in writes {
            let action = if expected.is_some() {
                "rule_group.update"
            } else {
                "rule_group.create"
            };
            let (_, rec) =
                store::write_in(&mut tx, actor, ns, group, expected, "imported", action).await?;
            recorded.push(rec);
        }
        tx.commit().await?;
        for rec in recorded {
            audit::publish(metrics, rec);
        }
    }
    let mut counts = RuleCounts::default();
    for change in report.iter().flat_map(|g| &g.rules) {
        match change.status {
            Change::Added => counts.added += 1,
            Change::Changed => counts.changed += 1,
            Change::Unchanged => counts.unchanged += 1,
            Change::Removed => counts.removed += 1,
        }
    }
    let not_in_file = existing
        .into_iter()
        .filter(|g| !groups.iter().any(|n| n.spec.name == g.spec.name))
        .map(|g| g.spec.name)
        .collect();
    Ok(ImportReport {
        dry_run,
        namespace: ns.clone(),
        groups: report,
        rules: counts,
        not_in_file,
    })
}

/// The groups as a Prometheus rule file. The portal's own settings (a group's `source`, a
/// rule's `no_data_state` and `error_state`) are not Prometheus's format — Prometheus and
/// promtool refuse unknown fields — so the file leaves them out and a comment at its top
/// names each one, so that nobody loses them unknowingly.
pub fn export_yaml(mut groups: Vec<GroupSpec>) -> Result<String, Error> {
    let mut left_out = Vec::new();
    for g in &mut groups {
        if let Some(source) = g.source.take() {
            left_out.push(format!("group {}: source: {source}", g.name));
        }
        for r in &mut g.rules {
            for (field, value) in [
                ("no_data_state", r.no_data_state.take()),
                ("error_state", r.error_state.take()),
            ] {
                if let Some(v) = value {
                    let v = serde_json::to_value(v).map_err(Error::internal)?;
                    let v = v.as_str().unwrap_or_default().to_owned();
                    left_out.push(format!("group {}, rule {}: {field}: {v}", g.name, r.name()));
                }
            }
        }
    }
    let yaml = serde_norway::to_string(&RuleFile { groups }).map_err(Error::internal)?;
    if left_out.is_empty() {
        return Ok(yaml);
    }
    let mut file =
        String::from("# Portal settings Prometheus does not read, left out of this file:\n");
    for line in left_out {
        file.push_str(&format!("#   {}\n", line.replace('\n', " ")));
    }
    file.push_str(&yaml);
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::model::SEED_RULES;

    #[test]
    fn an_export_leaves_the_portals_own_settings_out_and_names_them() {
        let mut file: RuleFile = serde_norway::from_str(SEED_RULES).unwrap();
        let group = &mut file.groups[0];
        group.source = Some("Prom A".into());
        group.rules[0].no_data_state = Some(crate::rules::model::NoDataBehaviour::Alerting);
        let first = group.rules[0].name().to_owned();
        let yaml = export_yaml(file.groups.clone()).unwrap();
        assert!(
            yaml.starts_with("# Portal settings Prometheus does not read"),
            "{yaml}"
        );
        assert!(
            yaml.contains("#   group keiko.rules: source: Prom A\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains(&format!(
                "#   group keiko.rules, rule {first}: no_data_state: alerting\n"
            )),
            "{yaml}"
        );
        let back: RuleFile = serde_norway::from_str(&yaml).unwrap();
        assert_eq!(back.groups[0].source, None);
        assert_eq!(back.groups[0].rules[0].no_data_state, None);
        // Without portal settings the file is exactly Prometheus's.
        let plain: RuleFile = serde_norway::from_str(SEED_RULES).unwrap();
        assert!(!export_yaml(plain.groups).unwrap().starts_with('#'));
    }

    #[test]
    fn the_seed_file_parses_and_exports_back_to_the_same_groups() {
        let groups = parse_file(SEED_RULES).unwrap();
        let yaml = export_yaml(groups.iter().map(|g| g.spec.clone()).collect()).unwrap();
        let again = parse_file(&yaml).unwrap();
        assert_eq!(again[0].spec, groups[0].spec);
    }

    #[test]
    fn errors_in_a_file_carry_their_line() {
        let text = "groups:\n  - name: a\n    rules:\n      - alert: One\n        expr: up == 1\n      - alert: Two\n        expr: rate(x[5m]) >> 1\n  - name: a\n    rules: []\n";
        let issues = parse_file(text).unwrap_err();
        let expr = issues.iter().find(|i| i.field == "rules[1].expr").unwrap();
        assert_eq!(expr.line, Some(7), "{issues:?}");
        let repeated = issues
            .iter()
            .find(|i| i.message.contains("repeated"))
            .unwrap();
        assert_eq!(repeated.line, Some(8));
        let broken = parse_file("groups:\n  - name: [unclosed\n").unwrap_err();
        assert!(broken[0].line.is_some());
    }
}
