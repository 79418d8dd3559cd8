//! Backtesting an alerting rule (also an unsaved edit) over a past range of its source:
//! one range query of its expression at the evaluation step (a range query answers what
//! instant queries at each step would), then every step applied as live evaluation applies
//! it (`group::simulate_step`: the real `for`, `keep_firing_for`, templates, no-data and
//! error behaviour). The alert state starts empty at `start`, as after a fresh start.
//!
//! The answer: per alert label set, the intervals it was pending and firing and when it
//! resolved; and the notifications it would have caused under the current notification
//! policy, as Alertmanager's dispatcher sends them (`dispatch_sim`): alerts grouped by their
//! route and its `group_by`, `group_wait`, `group_interval`, `repeat_interval`, mute timings
//! and the contact point's `send_resolved`. Bounded: at most [`MAX_STEPS`] steps and
//! [`MAX_SERIES`] series in the query's answer.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{json, Value};

use super::dispatch_sim::{self, AlertFiring, GroupTiming, Reason};
use super::eval::{time_param, Sample};
use super::group::{simulate_step, timing_of, RuleStatus};
use super::state::{AlertState, Labels};
use super::views::rfc3339;
use super::Manager;
use crate::error::Error;
use crate::gotemplate::NoQueries;
use crate::notify::dispatcher::GroupId;
use crate::promql_syntax::duration::PromDuration;
use crate::rules::model::{GroupSpec, RuleSpec};
use crate::sources::RangeQuery;

pub const MAX_STEPS: i64 = 11_000;
pub const MAX_SERIES: usize = 1_000;

/// `POST /api/v1/rules/backtest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestBody {
    pub rule: RuleSpec,
    /// A metrics data source by name; the default one when absent.
    pub source: Option<String>,
    /// `now-6h`, Unix seconds or RFC 3339.
    pub start: String,
    pub end: String,
    /// The evaluation interval to simulate (default 1m).
    pub step: Option<String>,
}

fn bad_rule(e: Error) -> Error {
    match e {
        Error::InvalidMany {
            field,
            message,
            errors,
        } => Error::InvalidMany {
            field: field.replacen("rules[0]", "rule", 1),
            message,
            errors,
        },
        other => other,
    }
}

struct Span {
    state: AlertState,
    from: i64,
    to: i64,
}

/// Notifications by what caused them.
struct Counts {
    firing: u64,
    repeats: u64,
    resolved: u64,
}

pub async fn run(
    manager: &Manager,
    notifier: Option<&crate::notify::Notifier>,
    body: BacktestBody,
) -> Result<Value, Error> {
    if !body.rule.is_alert() {
        return Err(Error::invalid(
            "rule.alert",
            "a backtest runs an alerting rule (`alert`, not `record`)",
        ));
    }
    let group = GroupSpec {
        name: "backtest".into(),
        interval: None,
        limit: None,
        source: body.source.clone(),
        rules: vec![body.rule.clone()],
    };
    crate::rules::validate::validate_group(&group)
        .map_err(|issues| bad_rule(crate::rules::invalid(issues)))?;
    let now = crate::charts::time::now_seconds();
    let start =
        crate::charts::time::resolve(&body.start, now).map_err(|m| Error::invalid("start", m))?;
    let end = crate::charts::time::resolve(&body.end, now).map_err(|m| Error::invalid("end", m))?;
    if end <= start {
        return Err(Error::invalid("end", "must be after start"));
    }
    let step_ms = match &body.step {
        Some(s) => PromDuration::parse(s.trim())
            .map_err(|m| Error::invalid("step", m))?
            .millis() as i64,
        None => 60_000,
    };
    if step_ms < 1000 {
        return Err(Error::invalid("step", "at least 1s"));
    }
    let (start_ms, end_ms) = ((start * 1000.0) as i64, (end * 1000.0) as i64);
    let steps = (end_ms - start_ms) / step_ms + 1;
    if steps > MAX_STEPS {
        return Err(Error::invalid(
            "step",
            format!("{steps} steps from start to end; at most {MAX_STEPS} (choose a larger step or a shorter range)"),
        ));
    }
    let ctx = manager.context();
    let source = ctx
        .source_for(body.source.as_deref())
        .await
        .map_err(|m| Error::invalid("source", m))?;
    let q = RangeQuery {
        query: body.rule.expr.clone(),
        start: time_param(start_ms),
        end: time_param(end_ms),
        step: format!("{}ms", step_ms),
        timeout: Some(format!("{}ms", ctx.options.query_timeout.as_millis())),
    };
    let data = source
        .query_range(&q)
        .await
        .map_err(|e| Error::SourceUnavailable(e.to_string()))?;
    let by_step = matrix(&data, start_ms, step_ms)?;

    let name = body.rule.name().to_owned();
    let rule = body.rule;
    let templates = ctx.templates.clone();
    let (history, errors) =
        crate::cpu::run(move || simulate(&rule, by_step, start_ms, end_ms, step_ms, &templates))
            .await?;

    let policy = notifier.map(|n| n.current_policy());
    let receivers: HashMap<String, bool> = match notifier {
        Some(n) => crate::notify::contact_points::list(&n.db, &n.secrets)
            .await?
            .into_iter()
            .map(|c| (c.name, c.send_resolved))
            .collect(),
        None => HashMap::new(),
    };
    let external_labels = ctx.templates.external_labels.clone();
    let (routed, per_alert, total) = crate::cpu::run(move || {
        notifications(
            history,
            policy.as_deref(),
            &external_labels,
            &receivers,
            end_ms,
        )
    })
    .await?;
    let alerts: Vec<Value> = routed
        .into_iter()
        .zip(per_alert)
        .map(|(r, notifications)| {
            let resolved_at: Vec<String> = r
                .spans
                .iter()
                .filter(|s| s.state == AlertState::Firing && s.to <= end_ms)
                .map(|s| rfc3339(s.to))
                .collect();
            json!({
                "labels": r.labels,
                "intervals": r.spans.iter().map(|s| json!({
                    "state": s.state.as_str(),
                    "from": rfc3339(s.from),
                    "to": rfc3339(s.to.min(end_ms)),
                    "open": s.to > end_ms,
                })).collect::<Vec<_>>(),
                "resolvedAt": resolved_at,
                "notifications": notifications,
                "receiver": r.receiver,
                "group": r.group,
            })
        })
        .collect();
    Ok(json!({
        "rule": name,
        "start": rfc3339(start_ms),
        "end": rfc3339(end_ms),
        "step": step_ms as f64 / 1000.0,
        "steps": steps,
        "alerts": alerts,
        "errors": errors,
        "notifications": {
            "total": total.firing + total.repeats + total.resolved,
            "firing": total.firing,
            "repeats": total.repeats,
            "resolved": total.resolved,
        },
    }))
}

/// Routes each alert of `history` (the first route that takes it) into its aggregation
/// group and counts what Alertmanager's dispatcher would have sent: per alert and in all.
/// CPU-bound (alerts × group flushes), so the caller runs it on the CPU pool.
fn notifications(
    history: History,
    policy: Option<&crate::notify::policy::Policy>,
    external_labels: &Labels,
    receivers: &HashMap<String, bool>,
    end_ms: i64,
) -> (Vec<Routed>, Vec<u64>, Counts) {
    // Each alert's route (the first that takes it, as before) and aggregation group, keyed
    // as the dispatcher keys its groups; indexes in the order the groups first appear.
    let mut groups: Vec<(GroupTiming, Vec<String>, Vec<usize>)> = Vec::new();
    let mut index_of: HashMap<GroupId, usize> = HashMap::new();
    let mut routed: Vec<Routed> = Vec::new();
    for (labels, spans) in history {
        let group = policy.and_then(|p| {
            let mut posted = labels.clone();
            for (k, v) in external_labels {
                posted.entry(k.clone()).or_insert_with(|| v.clone());
            }
            let node = *p.routes_for(&posted).first()?;
            let o = &node.opts;
            let index = *index_of
                .entry(GroupId::of(node, &posted))
                .or_insert_with(|| {
                    let timing = GroupTiming {
                        wait: o.group_wait.as_millis() as i64,
                        interval: o.group_interval.as_millis() as i64,
                        repeat: o.repeat_interval.as_millis() as i64,
                        send_resolved: receivers.get(&o.receiver).copied().unwrap_or(false),
                    };
                    groups.push((timing, o.mute.clone(), Vec::new()));
                    groups.len() - 1
                });
            groups[index].2.push(routed.len());
            Some((o.receiver.clone(), index))
        });
        routed.push(Routed {
            labels,
            spans,
            receiver: group.as_ref().map(|g| g.0.clone()),
            group: group.map(|g| g.1),
        });
    }
    // What Alertmanager's dispatcher would have sent, group by group.
    let mut total = Counts {
        firing: 0,
        repeats: 0,
        resolved: 0,
    };
    let mut per_alert = vec![0u64; routed.len()];
    for (timing, mute, members) in &groups {
        let alerts: Vec<AlertFiring> = members
            .iter()
            .map(|&m| AlertFiring {
                episodes: routed[m]
                    .spans
                    .iter()
                    .filter(|s| s.state == AlertState::Firing)
                    .map(|s| (s.from, s.to))
                    .collect(),
            })
            .collect();
        let muted = |t: i64| {
            !mute.is_empty()
                && policy.is_some_and(|p| {
                    p.muted(
                        mute,
                        chrono::DateTime::from_timestamp_millis(t).unwrap_or_default(),
                    )
                })
        };
        for sent in dispatch_sim::simulate(&alerts, *timing, end_ms, &muted) {
            match sent.reason {
                Reason::Firing => total.firing += 1,
                Reason::Repeat => total.repeats += 1,
                Reason::Resolved => total.resolved += 1,
            }
            for a in sent.alerts {
                per_alert[members[a]] += 1;
            }
        }
    }
    (routed, per_alert, total)
}

fn number(v: &Value) -> Option<f64> {
    match v.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

/// A range query's matrix as the samples of each step (by step index).
fn matrix(data: &Value, start_ms: i64, step_ms: i64) -> Result<BTreeMap<i64, Vec<Sample>>, Error> {
    let series = match data["resultType"].as_str() {
        Some("matrix") => data["result"].as_array().cloned().unwrap_or_default(),
        Some(other) => {
            return Err(Error::invalid(
                "rule.expr",
                format!("the query answers a {other}, not a vector"),
            ))
        }
        None => Vec::new(),
    };
    if series.len() > MAX_SERIES {
        return Err(Error::invalid(
            "rule.expr",
            format!(
                "the query answers {} series; a backtest takes at most {MAX_SERIES}",
                series.len()
            ),
        ));
    }
    let mut out: BTreeMap<i64, Vec<Sample>> = BTreeMap::new();
    for s in series {
        let labels: Labels = s["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        for p in s["values"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let (Some(t), Some(v)) = (p[0].as_f64(), number(&p[1])) else {
                continue;
            };
            let t_ms = (t * 1000.0).round() as i64;
            let index = (t_ms - start_ms + step_ms / 2).div_euclid(step_ms);
            out.entry(index).or_default().push(Sample {
                labels: labels.clone(),
                value: v,
            });
        }
    }
    Ok(out)
}

/// An alert of the backtest with its route's receiver and its aggregation group.
struct Routed {
    labels: Labels,
    spans: Vec<Span>,
    receiver: Option<String>,
    group: Option<usize>,
}

type History = BTreeMap<Labels, Vec<Span>>;

/// Steps the rule through the answer; per alert, its pending and firing spans (`to`
/// beyond `end` while still open), and the evaluation errors.
fn simulate(
    rule: &RuleSpec,
    mut by_step: BTreeMap<i64, Vec<Sample>>,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    templates: &super::eval::TemplateContext,
) -> (History, Vec<String>) {
    let mut status = RuleStatus::default();
    let timing = timing_of(rule, 0, 0);
    let mut history: History = BTreeMap::new();
    let mut errors = Vec::new();
    let mut index = 0i64;
    let mut ts = start_ms;
    while ts <= end_ms {
        let samples = by_step.remove(&index).unwrap_or_default();
        let (error, _) = simulate_step(
            rule,
            Ok(samples),
            &mut status,
            ts,
            timing,
            templates,
            &NoQueries,
        );
        if let Some(e) = error {
            if errors.len() < 100 {
                errors.push(format!("{}: {e}", rfc3339(ts)));
            }
        }
        for a in status.alerts.active.values() {
            if a.state == AlertState::Inactive {
                continue;
            }
            let spans = history.entry(a.labels.clone()).or_default();
            match spans.last_mut() {
                Some(last) if last.state == a.state && last.to == ts => last.to = ts + step_ms,
                _ => spans.push(Span {
                    state: a.state,
                    from: ts,
                    to: ts + step_ms,
                }),
            }
        }
        index += 1;
        ts += step_ms;
    }
    (history, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_then_firing_then_kept_then_resolved() {
        let rule: RuleSpec =
            serde_norway::from_str("alert: Down\nexpr: up == 0\nfor: 2m\nkeep_firing_for: 1m")
                .unwrap();
        let down = |i: i64| {
            (
                i,
                vec![Sample {
                    labels: Labels::from([("job".into(), "api".into())]),
                    value: 0.0,
                }],
            )
        };
        // Down from step 1 to step 5 (minutes), then healthy.
        let by_step: BTreeMap<i64, Vec<Sample>> = (1..=5).map(down).collect();
        let (history, errors) =
            simulate(&rule, by_step, 0, 10 * 60_000, 60_000, &Default::default());
        assert!(errors.is_empty());
        let spans = &history[&Labels::from([
            ("alertname".into(), "Down".into()),
            ("job".into(), "api".into()),
        ])];
        let shape: Vec<(&str, i64, i64)> = spans
            .iter()
            .map(|s| (s.state.as_str(), s.from / 60_000, s.to / 60_000))
            .collect();
        // Pending at 1 and 2, firing from 3 (for: 2m), kept firing at 6, resolved at 7.
        assert_eq!(shape, [("pending", 1, 3), ("firing", 3, 7)]);
    }

    #[test]
    fn alerts_share_a_group_by_route_and_group_by_labels_as_the_dispatcher_groups_them() {
        let doc: crate::notify::policy::PolicyDoc = serde_json::from_value(json!({
            "route": {"receiver": "hook", "group_by": ["job"], "group_wait": "30s",
                "group_interval": "5m", "repeat_interval": "1h", "routes": [
                {"receiver": "hook", "matchers": ["severity=\"page\""], "group_by": ["job"]}
            ]}
        }))
        .unwrap();
        let policy = crate::notify::policy::validate(&doc, &["hook".to_owned()].into()).unwrap();
        let firing = |from: i64, to: i64| {
            vec![Span {
                state: AlertState::Firing,
                from,
                to,
            }]
        };
        let alert = |job: &str, instance: &str, severity: &str| {
            Labels::from([
                ("alertname".into(), "Down".into()),
                ("job".into(), job.into()),
                ("instance".into(), instance.into()),
                ("severity".into(), severity.into()),
            ])
        };
        let history: History = [
            (alert("api", "a", "ticket"), firing(0, 600_000)),
            (alert("api", "b", "ticket"), firing(60_000, 600_000)),
            (alert("db", "a", "ticket"), firing(0, 600_000)),
            // Same job, another route: another group.
            (alert("api", "c", "page"), firing(0, 600_000)),
        ]
        .into();
        let receivers = HashMap::from([("hook".to_owned(), true)]);
        let (routed, per_alert, total) = notifications(
            history,
            Some(&policy),
            &Labels::new(),
            &receivers,
            3_600_000,
        );
        // In label order (instance before job): api/a, db/a, api/b, api/c (page); groups
        // numbered as they first appear.
        let groups: Vec<Option<usize>> = routed.iter().map(|r| r.group).collect();
        assert_eq!(groups, [Some(0), Some(1), Some(0), Some(2)]);
        // api (ticket): 0:30 firing [a], 5:30 firing [a, b], 10:30 resolved [a, b]; the
        // other two groups: firing at 0:30, resolved at 10:30 (no repeat within 1h).
        assert_eq!(
            (total.firing, total.repeats, total.resolved),
            (4, 0, 3),
            "{per_alert:?}"
        );
        assert_eq!(per_alert, [3, 2, 2, 2]);
    }
}
