//! Warnings beside a rule, never blocking a save: the checks that catch real mistakes, in
//! the spirit of Cloudflare's pint. Each check is documented with an example in
//! `docs/rule-lint.md`.

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::parser::{Expr, LabelModifier};
use serde::Serialize;

use super::template;
use super::validate::ValidGroup;
use crate::promql_syntax::duration::PromDuration;

/// Evaluation interval Prometheus uses when a group sets none (its default).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Scrape interval assumed by the range check (Prometheus's default `scrape_interval`).
pub const ASSUMED_SCRAPE_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LintWarning {
    pub rule_index: usize,
    pub rule: String,
    /// The check's name, e.g. `rate-over-non-counter`.
    pub check: &'static str,
    pub message: String,
}

fn walk<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => {
            for arg in &c.args.args {
                walk(arg, f);
            }
        }
        _ => {}
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

fn looks_like_counter(name: &str) -> bool {
    ["_total", "_count", "_sum", "_bucket"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Which labels the expression's result can carry.
enum OutputLabels {
    /// Any label of the input, except these.
    AllExcept(BTreeSet<String>),
    /// Only these.
    Only(BTreeSet<String>),
}

fn output_labels(e: &Expr) -> OutputLabels {
    match e {
        Expr::Paren(p) => output_labels(&p.expr),
        Expr::Aggregate(a) => {
            let names = |m: &LabelModifier| {
                m.labels()
                    .labels
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<BTreeSet<_>>()
            };
            match &a.modifier {
                Some(m @ LabelModifier::Include(_)) => OutputLabels::Only(names(m)),
                Some(m @ LabelModifier::Exclude(_)) => match output_labels(&a.expr) {
                    OutputLabels::AllExcept(mut gone) => {
                        gone.extend(names(m));
                        OutputLabels::AllExcept(gone)
                    }
                    OutputLabels::Only(kept) => {
                        OutputLabels::Only(kept.difference(&names(m)).cloned().collect())
                    }
                },
                // `topk`, `bottomk`, `limitk` keep the series' labels.
                None if matches!(
                    a.op.to_string().as_str(),
                    "topk" | "bottomk" | "limitk" | "limit_ratio"
                ) =>
                {
                    output_labels(&a.expr)
                }
                None => OutputLabels::Only(BTreeSet::new()),
            }
        }
        // A comparison or arithmetic keeps the vector side's labels (the left one for two vectors).
        Expr::Binary(b) => match (unparen(&b.lhs), unparen(&b.rhs)) {
            (Expr::NumberLiteral(_), rhs) => output_labels(rhs),
            (lhs, _) => output_labels(lhs),
        },
        Expr::Call(c) if c.func.name == "vector" || c.func.name == "scalar" => {
            OutputLabels::Only(BTreeSet::new())
        }
        Expr::Call(c) => c
            .args
            .args
            .first()
            .map(|a| output_labels(a))
            .unwrap_or(OutputLabels::AllExcept(BTreeSet::new())),
        Expr::Unary(u) => output_labels(&u.expr),
        Expr::Subquery(s) => output_labels(&s.expr),
        _ => OutputLabels::AllExcept(BTreeSet::new()),
    }
}

fn has_condition(e: &Expr) -> bool {
    match unparen(e) {
        Expr::Binary(b) => b.op.is_comparison_operator() || b.op.is_set_operator(),
        Expr::Call(c) => matches!(c.func.name, "absent" | "absent_over_time"),
        _ => false,
    }
}

pub fn lint(group: &ValidGroup) -> Vec<LintWarning> {
    let mut out = Vec::new();
    let interval = group
        .interval
        .as_ref()
        .filter(|d| d.millis() > 0)
        .map(|d| Duration::from_millis(d.millis()))
        .unwrap_or(DEFAULT_INTERVAL);
    for (i, (rule, expr)) in group.spec.rules.iter().zip(&group.exprs).enumerate() {
        let mut warn = |check: &'static str, message: String| {
            out.push(LintWarning {
                rule_index: i,
                rule: rule.name().to_owned(),
                check,
                message,
            })
        };
        let ast = expr.expr();
        walk(ast, &mut |e| {
            match e {
            Expr::Call(c) if matches!(c.func.name, "rate" | "irate" | "increase") => {
                if let Some(Expr::MatrixSelector(m)) = c.args.args.first().map(|a| unparen(a)) {
                    if let Some(name) = m.vs.name.as_deref().filter(|n| !looks_like_counter(n)) {
                        warn(
                            "rate-over-non-counter",
                            format!(
                                "{}() over `{name}`, which does not look like a counter (counter names end in _total, _count, _sum or _bucket)",
                                c.func.name
                            ),
                        );
                    }
                }
            }
            Expr::MatrixSelector(m) if m.range < ASSUMED_SCRAPE_INTERVAL * 2 => warn(
                "range-too-short",
                format!(
                    "the range [{}s] is shorter than twice the scrape interval ({}s): it may hold fewer than two samples",
                    m.range.as_secs(),
                    ASSUMED_SCRAPE_INTERVAL.as_secs()
                ),
            ),
            _ => {}
        }
        });
        if !rule.is_alert() {
            continue;
        }
        if !rule.labels.contains_key("severity") {
            warn(
                "missing-severity",
                "no `severity` label: routing and triage depend on it".into(),
            );
        }
        for annotation in ["summary", "description"] {
            if !rule.annotations.contains_key(annotation) {
                warn(
                    "missing-annotation",
                    format!("no `{annotation}` annotation: the notification will say little"),
                );
            }
        }
        let for_ms = rule
            .for_
            .as_deref()
            .and_then(|f| PromDuration::parse(f).ok())
            .map(|d| d.millis())
            .unwrap_or(0);
        if rule.labels.get("severity").is_some_and(|s| s == "critical") && for_ms == 0 {
            warn(
                "critical-without-for",
                "a critical alert without `for` pages on the first blip".into(),
            );
        }
        if for_ms > 0 && u128::from(for_ms) < interval.as_millis() {
            warn(
                "for-shorter-than-interval",
                format!(
                    "`for: {}` is shorter than the group's evaluation interval ({}s): it acts like {}s",
                    rule.for_.as_deref().unwrap_or(""),
                    interval.as_secs(),
                    interval.as_secs()
                ),
            );
        }
        if !has_condition(ast) {
            warn(
                "no-condition",
                "the expression has no comparison: the alert fires whenever any series exists"
                    .into(),
            );
        }
        let available = output_labels(ast);
        for (kind, map) in [("annotation", &rule.annotations), ("label", &rule.labels)] {
            for (key, text) in map {
                for label in template::referenced_labels(text) {
                    let gone = match &available {
                        OutputLabels::AllExcept(removed) => removed.contains(&label),
                        OutputLabels::Only(kept) => !kept.contains(&label),
                    };
                    if gone {
                        warn(
                            "label-aggregated-away",
                            format!("{kind} `{key}` uses $labels.{label}, but the expression aggregates it away"),
                        );
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::model::{GroupSpec, RuleFile, RuleSpec, SEED_RULES};
    use crate::rules::validate::validate_group;

    fn checks(rule: RuleSpec) -> Vec<&'static str> {
        let g = GroupSpec {
            name: "g".into(),
            rules: vec![rule],
            ..Default::default()
        };
        lint(&validate_group(&g).unwrap())
            .into_iter()
            .map(|w| w.check)
            .collect()
    }

    fn good_alert(expr: &str) -> RuleSpec {
        let mut r = RuleSpec {
            alert: Some("A".into()),
            expr: expr.into(),
            for_: Some("5m".into()),
            ..Default::default()
        };
        r.labels.insert("severity".into(), "warning".into());
        r.annotations.insert("summary".into(), "s".into());
        r.annotations.insert("description".into(), "d".into());
        r
    }

    #[test]
    fn the_seed_rules_pass_every_check_but_the_short_for() {
        let file: RuleFile = serde_norway::from_str(SEED_RULES).unwrap();
        let warnings = lint(&validate_group(&file.groups[0]).unwrap());
        // MCPServerDown: `for: 30s` with the default 1m interval.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].check, "for-shorter-than-interval");
        assert_eq!(warnings[0].rule, "MCPServerDown");
    }

    #[test]
    fn each_check_fires_on_its_example() {
        assert_eq!(
            checks(good_alert("rate(keiko_mcp_server_health[5m]) > 0")),
            ["rate-over-non-counter"]
        );
        assert_eq!(
            checks(good_alert("rate(keiko_errors_total[1m]) > 0")),
            ["range-too-short"]
        );
        assert_eq!(
            checks(good_alert("keiko_mcp_server_health")),
            ["no-condition"]
        );
        let mut r = good_alert("up == 0");
        r.labels.clear();
        assert_eq!(checks(r), ["missing-severity"]);
        let mut r = good_alert("up == 0");
        r.annotations.remove("summary");
        assert_eq!(checks(r), ["missing-annotation"]);
        let mut r = good_alert("up == 0");
        r.labels.insert("severity".into(), "critical".into());
        r.for_ = None;
        assert_eq!(checks(r), ["critical-without-for"]);
        let mut r = good_alert("sum without(agent_id) (rate(keiko_errors_total[5m])) > 0");
        r.annotations
            .insert("description".into(), "Agent {{ $labels.agent_id }}".into());
        assert_eq!(checks(r), ["label-aggregated-away"]);
        let mut r = good_alert("sum by(agent_id) (rate(keiko_errors_total[5m])) > 0");
        r.annotations
            .insert("description".into(), "Agent {{ $labels.agent_id }}".into());
        assert!(checks(r).is_empty());
        let rec = RuleSpec {
            record: Some("job:up:sum".into()),
            expr: "sum by (job) (up)".into(),
            ..Default::default()
        };
        assert!(checks(rec).is_empty());
    }
}
