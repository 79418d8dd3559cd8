//! Per-rule state history: every state change of every alert (inactive → pending → firing →
//! resolved, and a pending alert that went away before firing: → inactive), with its labels,
//! value and time, as Grafana's state history keeps it. Evaluation diffs a rule's alerts
//! before and after each step ([`transitions`]) and writes the changes of a group in one
//! transaction ([`record`]), pruning in the same transaction: rows older than the age limit,
//! and past the per-rule count the oldest first. Read back per group or per rule ([`read`]).

use serde_json::{json, Value};
use sqlx::SqlitePool;

use super::state::{AlertState, Labels, RuleAlerts};
use super::views::{rfc3339, value_text};
use crate::error::Error;

/// The most transitions one read returns.
pub const MAX_READ: usize = 5_000;

/// How much history is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    /// Transitions older than this go (milliseconds).
    pub max_age_ms: i64,
    /// At most this many transitions per rule; the oldest go first.
    pub max_per_rule: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age_ms: 30 * 24 * 3_600_000,
            max_per_rule: 1_000,
        }
    }
}

/// One state change of one alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub labels: Labels,
    /// `inactive`, `pending` or `firing`.
    pub from: &'static str,
    /// `pending`, `firing`, `resolved` (it was firing) or `inactive` (it was pending).
    pub to: &'static str,
    pub value: f64,
    /// Unix milliseconds.
    pub at: i64,
}

/// The state changes between a rule's alerts before and after the evaluation at `ts`,
/// ordered by labels. An alert absent on one side counts as inactive there; a resolved alert
/// that is kept (for its retention) or forgotten is no change.
pub fn transitions(before: &RuleAlerts, after: &RuleAlerts, ts: i64) -> Vec<Transition> {
    let state = |alerts: &RuleAlerts, labels: &Labels| {
        alerts
            .active
            .get(labels)
            .map(|a| a.state)
            .unwrap_or(AlertState::Inactive)
    };
    let mut labels: Vec<&Labels> = before.active.keys().chain(after.active.keys()).collect();
    labels.sort();
    labels.dedup();
    labels
        .into_iter()
        .filter_map(|l| {
            let (from, to) = (state(before, l), state(after, l));
            if from == to {
                return None;
            }
            let value = after
                .active
                .get(l)
                .or_else(|| before.active.get(l))
                .map(|a| a.value)
                .unwrap_or(f64::NAN);
            let to = match (from, to) {
                (AlertState::Firing, AlertState::Inactive) => "resolved",
                (_, t) => t.as_str(),
            };
            Some(Transition {
                labels: l.clone(),
                from: from.as_str(),
                to,
                value,
                at: ts,
            })
        })
        .collect()
}

/// Writes the transitions of a group's rules (by rule name) and prunes what the retention
/// no longer keeps, in one transaction.
pub async fn record(
    db: &SqlitePool,
    namespace: &str,
    group: &str,
    changes: &[(String, Vec<Transition>)],
    retention: Retention,
    now_ms: i64,
) -> Result<(), Error> {
    if changes.iter().all(|(_, t)| t.is_empty()) {
        return Ok(());
    }
    let mut tx = crate::db::begin_write(db).await?;
    for (rule, list) in changes.iter().filter(|(_, t)| !t.is_empty()) {
        for t in list {
            let labels = serde_json::to_string(&t.labels)
                .map_err(|e| Error::internal(anyhow::Error::from(e)))?;
            sqlx::query(
                "INSERT INTO alert_state_history (namespace, group_name, rule_name, at, from_state, to_state, labels, value)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(namespace)
            .bind(group)
            .bind(rule)
            .bind(t.at)
            .bind(t.from)
            .bind(t.to)
            .bind(labels)
            .bind(value_text(t.value))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "DELETE FROM alert_state_history WHERE namespace = ? AND group_name = ? AND rule_name = ?
               AND id NOT IN (SELECT id FROM alert_state_history WHERE namespace = ? AND group_name = ? AND rule_name = ?
                              ORDER BY at DESC, id DESC LIMIT ?)",
        )
        .bind(namespace)
        .bind(group)
        .bind(rule)
        .bind(namespace)
        .bind(group)
        .bind(rule)
        .bind(retention.max_per_rule as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM alert_state_history WHERE at < ?")
        .bind(now_ms.saturating_sub(retention.max_age_ms))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The transitions of a group (or of one of its rules), the newest `limit` of them, oldest
/// first: `{"namespace", "group", "rule"?, "transitions": [{"rule", "at", "from", "to",
/// "labels", "value"}]}`.
pub async fn read(
    db: &SqlitePool,
    namespace: &str,
    group: &str,
    rule: Option<&str>,
    limit: usize,
) -> Result<Value, Error> {
    type Row = (String, i64, String, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT rule_name, at, from_state, to_state, labels, value FROM alert_state_history
         WHERE namespace = ? AND group_name = ? AND (? IS NULL OR rule_name = ?)
         ORDER BY at DESC, id DESC LIMIT ?",
    )
    .bind(namespace)
    .bind(group)
    .bind(rule)
    .bind(rule)
    .bind(limit.min(MAX_READ) as i64)
    .fetch_all(db)
    .await?;
    let transitions: Vec<Value> = rows
        .into_iter()
        .rev()
        .map(|(rule, at, from, to, labels, value)| {
            json!({
                "rule": rule,
                "at": rfc3339(at),
                "from": from,
                "to": to,
                "labels": serde_json::from_str::<Value>(&labels).unwrap_or_else(|_| json!({})),
                "value": value,
            })
        })
        .collect();
    let mut out = json!({ "namespace": namespace, "group": group, "transitions": transitions });
    if let Some(r) = rule {
        out["rule"] = json!(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::state::{Found, Timing};

    fn found(instance: &str, value: f64) -> Found {
        Found {
            labels: Labels::from([("instance".to_owned(), instance.to_owned())]),
            annotations: Labels::new(),
            value,
        }
    }

    fn step(
        r: &mut RuleAlerts,
        ts: i64,
        found: Vec<Found>,
    ) -> Vec<(String, &'static str, &'static str)> {
        let before = r.clone();
        r.apply(
            ts,
            found,
            Timing {
                hold_ms: 10_000,
                ..Default::default()
            },
        )
        .unwrap();
        transitions(&before, r, ts)
            .into_iter()
            .map(|t| (t.labels["instance"].clone(), t.from, t.to))
            .collect()
    }

    #[test]
    fn an_alert_s_life_is_four_transitions_and_a_pending_one_that_goes_is_inactive() {
        let mut r = RuleAlerts::default();
        let a = |s: &str| s.to_owned();
        assert_eq!(
            step(&mut r, 0, vec![found("a", 5.0)]),
            [(a("a"), "inactive", "pending")]
        );
        assert_eq!(step(&mut r, 5_000, vec![found("a", 6.0)]), []);
        assert_eq!(
            step(&mut r, 10_000, vec![found("a", 7.0), found("b", 1.0)]),
            [
                (a("a"), "pending", "firing"),
                (a("b"), "inactive", "pending")
            ]
        );
        assert_eq!(
            step(&mut r, 15_000, vec![]),
            [
                (a("a"), "firing", "resolved"),
                (a("b"), "pending", "inactive")
            ]
        );
        // Kept as resolved: no change; back again: a new pending alert.
        assert_eq!(step(&mut r, 20_000, vec![]), []);
        assert_eq!(
            step(&mut r, 25_000, vec![found("a", 1.0)]),
            [(a("a"), "inactive", "pending")]
        );
    }

    #[test]
    fn a_transition_carries_the_value_of_the_step() {
        let mut r = RuleAlerts::default();
        let before = r.clone();
        r.apply(7, vec![found("a", 42.5)], Timing::default())
            .unwrap();
        let t = transitions(&before, &r, 7);
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].from, t[0].to, t[0].value, t[0].at),
            ("inactive", "firing", 42.5, 7)
        );
    }

    #[tokio::test]
    async fn history_keeps_at_most_the_count_per_rule_and_nothing_older_than_the_age() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::open(&dir.path().join("keiko.db")).await.unwrap();
        let t = |at: i64, to: &'static str| Transition {
            labels: Labels::from([("i".to_owned(), at.to_string())]),
            from: "inactive",
            to,
            value: 1.0,
            at,
        };
        let keep = Retention {
            max_age_ms: 100_000,
            max_per_rule: 3,
        };
        let batch = vec![
            (
                "A".to_owned(),
                (1..=5).map(|i| t(i * 1000, "pending")).collect(),
            ),
            ("B".to_owned(), vec![t(1_000, "firing")]),
        ];
        record(&db, "ns", "g", &batch, keep, 10_000).await.unwrap();
        let a = read(&db, "ns", "g", Some("A"), 100).await.unwrap();
        let ats: Vec<&str> = a["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["labels"]["i"].as_str().unwrap())
            .collect();
        assert_eq!(
            ats,
            ["3000", "4000", "5000"],
            "the newest three, oldest first"
        );
        let all = read(&db, "ns", "g", None, 100).await.unwrap();
        assert_eq!(all["transitions"].as_array().unwrap().len(), 4);
        let two = read(&db, "ns", "g", None, 2).await.unwrap();
        assert_eq!(two["transitions"][1]["labels"]["i"], "5000");

        // Later, 100 s past B's transition: it ages out.
        let later = vec![("A".to_owned(), vec![t(101_500, "firing")])];
        record(&db, "ns", "g", &later, keep, 101_500).await.unwrap();
        let b = read(&db, "ns", "g", Some("B"), 100).await.unwrap();
        assert_eq!(b["transitions"], json!([]));
        let a = read(&db, "ns", "g", Some("A"), 100).await.unwrap();
        assert_eq!(a["transitions"].as_array().unwrap().len(), 3);
        assert_eq!(a["transitions"][2]["to"], "firing");
        assert_eq!(a["transitions"][2]["value"], "1e+00");
    }
}
