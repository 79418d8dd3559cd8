//! The life of an alert, as Prometheus's `AlertingRule.Eval` leads it: a series in the
//! result opens a pending alert; it fires once it has been active for `for`; when its series
//! leaves the result it resolves (after `keep_firing_for`, if set); a resolved alert is kept
//! for 15 minutes so receivers hear of the resolution. Times are Unix milliseconds.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// How long a resolved alert is kept and reported (Prometheus's `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

pub type Labels = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: Labels,
    pub state: AlertState,
    pub value: f64,
    pub active_at: i64,
    #[serde(default)]
    pub fired_at: Option<i64>,
    #[serde(default)]
    pub resolved_at: Option<i64>,
    #[serde(default)]
    pub keep_firing_since: Option<i64>,
}

/// One element of a rule's result after templating: the alert's labels and annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub labels: Labels,
    pub annotations: Labels,
    pub value: f64,
}

/// What one rule needs from its spec to move its alerts on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    pub hold_ms: i64,
    pub keep_firing_ms: i64,
    /// Most alerts (pending or firing) the rule may have; 0: no limit.
    pub limit: usize,
    /// Most series a recording rule may write (the group's `limit`); 0: no limit.
    pub series_limit: usize,
}

/// What restoring a rule's alerts after a restart needs (times in Unix ms).
#[derive(Clone, Copy, Debug)]
pub struct Restore {
    pub now: i64,
    pub hold_ms: i64,
    /// Prometheus's `--rules.alert.for-outage-tolerance` (1 h).
    pub outage_tolerance_ms: i64,
    /// Prometheus's `--rules.alert.for-grace-period` (10 min).
    pub grace_ms: i64,
}

/// The active alerts of one alerting rule, by their labels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleAlerts {
    pub active: HashMap<Labels, Alert>,
}

impl RuleAlerts {
    /// Moves the alerts on to evaluation time `ts` given the rule's result. A result over
    /// the limit drops every alert and fails, as Prometheus does.
    pub fn apply(&mut self, ts: i64, found: Vec<Found>, timing: Timing) -> Result<(), String> {
        let mut seen = std::collections::HashSet::with_capacity(found.len());
        for f in found {
            seen.insert(f.labels.clone());
            match self.active.get_mut(&f.labels) {
                Some(a) if a.state != AlertState::Inactive => {
                    a.value = f.value;
                    a.annotations = f.annotations;
                }
                _ => {
                    self.active.insert(
                        f.labels.clone(),
                        Alert {
                            labels: f.labels,
                            annotations: f.annotations,
                            state: AlertState::Pending,
                            value: f.value,
                            active_at: ts,
                            fired_at: None,
                            resolved_at: None,
                            keep_firing_since: None,
                        },
                    );
                }
            }
        }
        let mut active = 0usize;
        self.active.retain(|labels, a| {
            if seen.contains(labels) {
                a.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && timing.keep_firing_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < timing.keep_firing_ms;
                }
                // A pending alert goes at once; a resolved one after the retention.
                if a.state == AlertState::Pending
                    || a.resolved_at
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    return false;
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    return true;
                }
            }
            active += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= timing.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            true
        });
        if timing.limit > 0 && active > timing.limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {} with {active} alerts",
                timing.limit
            ));
        }
        Ok(())
    }

    /// Adjusts alerts read back after a restart as Prometheus's `RestoreForState` does:
    /// an alert whose `ALERTS_FOR_STATE` was last written (`last_seen`, by labels) longer
    /// ago than the outage tolerance, or not at all, starts over; a pending alert does not
    /// count the downtime towards `for`, and is given at least the grace period to fire; a
    /// firing alert keeps its activeAt. Resolved alerts stay for their retention.
    pub fn restore(&mut self, last_seen: &HashMap<Labels, i64>, r: Restore) {
        self.active.retain(|labels, a| {
            if a.state == AlertState::Inactive {
                return true;
            }
            let Some(&down_at) = last_seen.get(labels) else {
                return false;
            };
            if r.now - down_at > r.outage_tolerance_ms {
                return false;
            }
            if a.state == AlertState::Pending {
                let remaining = r.hold_ms - (down_at - a.active_at);
                if remaining <= 0 {
                    // It was due to fire: the next evaluation fires it.
                } else if remaining < r.grace_ms {
                    a.active_at = r.now + r.grace_ms - r.hold_ms;
                } else {
                    a.active_at += r.now - down_at;
                }
            }
            true
        });
    }

    /// The rule's state: firing if any alert fires, else pending if any is pending.
    pub fn state(&self) -> AlertState {
        let mut state = AlertState::Inactive;
        for a in self.active.values() {
            match a.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => state = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
        state
    }

    /// Pending and firing alerts, oldest first.
    pub fn current(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .collect();
        v.sort_by(|a, b| a.active_at.cmp(&b.active_at).then(a.labels.cmp(&b.labels)));
        v
    }

    /// What is worth writing down: states and times, not the latest value.
    pub fn fingerprint(&self) -> Vec<(Labels, AlertState, i64, Option<i64>)> {
        let mut v: Vec<_> = self
            .active
            .values()
            .map(|a| (a.labels.clone(), a.state, a.active_at, a.keep_firing_since))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(instance: &str) -> Found {
        Found {
            labels: Labels::from([("instance".to_owned(), instance.to_owned())]),
            annotations: Labels::new(),
            value: 1.0,
        }
    }

    fn timing(hold_s: i64, keep_s: i64) -> Timing {
        Timing {
            hold_ms: hold_s * 1000,
            keep_firing_ms: keep_s * 1000,
            ..Default::default()
        }
    }

    #[test]
    fn an_alert_is_pending_then_fires_after_for_then_resolves_and_is_kept_fifteen_minutes() {
        let mut r = RuleAlerts::default();
        let t = timing(60, 0);
        r.apply(0, vec![found("a")], t).unwrap();
        assert_eq!(r.state(), AlertState::Pending);
        r.apply(30_000, vec![found("a")], t).unwrap();
        assert_eq!(r.state(), AlertState::Pending);
        r.apply(60_000, vec![found("a")], t).unwrap();
        assert_eq!(r.state(), AlertState::Firing);
        let a = r.current()[0];
        assert_eq!((a.active_at, a.fired_at), (0, Some(60_000)));
        r.apply(90_000, vec![], t).unwrap();
        assert_eq!(r.state(), AlertState::Inactive);
        assert_eq!(r.active.len(), 1, "kept as resolved");
        r.apply(90_000 + RESOLVED_RETENTION_MS, vec![], t).unwrap();
        assert_eq!(r.active.len(), 1);
        r.apply(91_000 + RESOLVED_RETENTION_MS, vec![], t).unwrap();
        assert!(r.active.is_empty());
    }

    #[test]
    fn a_pending_alert_that_goes_away_is_forgotten_and_starts_over() {
        let mut r = RuleAlerts::default();
        let t = timing(60, 0);
        r.apply(0, vec![found("a")], t).unwrap();
        r.apply(30_000, vec![], t).unwrap();
        assert!(r.active.is_empty());
        r.apply(45_000, vec![found("a")], t).unwrap();
        assert_eq!(r.current()[0].active_at, 45_000);
    }

    #[test]
    fn without_for_an_alert_fires_at_once_and_keep_firing_for_holds_it() {
        let mut r = RuleAlerts::default();
        let t = timing(0, 60);
        r.apply(0, vec![found("a")], t).unwrap();
        assert_eq!(r.state(), AlertState::Firing);
        r.apply(30_000, vec![], t).unwrap();
        assert_eq!(r.state(), AlertState::Firing, "kept firing");
        r.apply(59_000, vec![], t).unwrap();
        assert_eq!(r.state(), AlertState::Firing);
        r.apply(90_000, vec![], t).unwrap();
        assert_eq!(r.state(), AlertState::Inactive);
    }

    #[test]
    fn a_resolved_alert_that_returns_is_a_new_pending_alert() {
        let mut r = RuleAlerts::default();
        let t = timing(10, 0);
        r.apply(0, vec![found("a")], t).unwrap();
        r.apply(10_000, vec![found("a")], t).unwrap();
        r.apply(20_000, vec![], t).unwrap();
        r.apply(30_000, vec![found("a")], t).unwrap();
        let a = r.current()[0];
        assert_eq!((a.state, a.active_at), (AlertState::Pending, 30_000));
    }

    #[test]
    fn a_restart_keeps_firing_alerts_and_does_not_count_the_downtime_for_pending_ones() {
        let mut r = RuleAlerts::default();
        for (i, state, active_at) in [
            ("firing", AlertState::Firing, 0),
            ("early", AlertState::Pending, 0),
            ("late", AlertState::Pending, -1_500_000),
            ("gone", AlertState::Pending, 0),
        ] {
            let f = found(i);
            r.active.insert(
                f.labels.clone(),
                Alert {
                    labels: f.labels,
                    annotations: f.annotations,
                    state,
                    value: 1.0,
                    active_at,
                    fired_at: None,
                    resolved_at: None,
                    keep_firing_since: None,
                },
            );
        }
        let seen: HashMap<Labels, i64> = ["firing", "early", "late"]
            .iter()
            .map(|i| (found(i).labels, 60_000))
            .collect();
        let restore = Restore {
            now: 660_000,
            hold_ms: 1_800_000,
            outage_tolerance_ms: 3_600_000,
            grace_ms: 600_000,
        };
        r.restore(&seen, restore);
        let at = |i: &str| {
            r.active
                .get(&found(i).labels)
                .map(|a| (a.state, a.active_at))
        };
        assert_eq!(at("firing"), Some((AlertState::Firing, 0)));
        // 60 s of 30 min spent before the 10 min outage: the outage does not count.
        assert_eq!(at("early"), Some((AlertState::Pending, 600_000)));
        // 26 of 30 min spent: less than the grace period left, so it gets the grace period.
        assert_eq!(
            at("late"),
            Some((AlertState::Pending, 660_000 + 600_000 - 1_800_000))
        );
        assert_eq!(
            at("gone"),
            None,
            "never written to ALERTS_FOR_STATE: starts over"
        );
        let mut r2 = r.clone();
        r2.restore(
            &seen,
            Restore {
                now: 60_000 + 3_600_001,
                ..restore
            },
        );
        assert!(
            r2.current().is_empty(),
            "down longer than the outage tolerance"
        );
    }

    #[test]
    fn more_alerts_than_the_limit_fail_the_rule_and_drop_its_alerts() {
        let mut r = RuleAlerts::default();
        let t = Timing {
            limit: 1,
            ..timing(0, 0)
        };
        let err = r.apply(0, vec![found("a"), found("b")], t).unwrap_err();
        assert_eq!(err, "exceeded limit of 1 with 2 alerts");
        assert!(r.active.is_empty());
    }
}
