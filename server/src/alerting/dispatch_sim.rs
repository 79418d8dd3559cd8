//! What Alertmanager's dispatcher would have sent for alerts whose firing times are known
//! (a backtest's answer): alerts in one aggregation group (same route and `group_by`
//! values) share notifications; a group's first flush comes `group_wait` after its first
//! alert fires, later flushes every `group_interval`; a flush sends when a new alert fires,
//! when alerts resolved (only with `send_resolved`, except the "all resolved" message that
//! clears the log), or when `repeat_interval` passed since the last send. A group whose
//! alerts all resolved ends at the flush that says so; the next alert starts a new one.
//! Whether a flush sends is decided by the dispatcher's own `needs_update` (Alertmanager's
//! `DedupStage.needsUpdate`), over a log entry kept per group as the notification log
//! keeps it; the alerts' indexes stand in for their fingerprints.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::notify::dispatcher::needs_update;
use crate::notify::log::Entry;

/// One alert of a group: the times it fired, `[from, to)` in Unix milliseconds.
pub struct AlertFiring {
    pub episodes: Vec<(i64, i64)>,
}

impl AlertFiring {
    fn firing_at(&self, t: i64) -> bool {
        self.episodes.iter().any(|&(f, to)| f <= t && t < to)
    }

    /// Whether it fired at any time in `(after, upto]`.
    fn fired_in(&self, after: i64, upto: i64) -> bool {
        self.episodes
            .iter()
            .any(|&(f, to)| f <= upto && to > after + 1)
    }
}

/// A group's timing, from the route its alerts take (milliseconds).
#[derive(Clone, Copy, Debug)]
pub struct GroupTiming {
    pub wait: i64,
    pub interval: i64,
    pub repeat: i64,
    pub send_resolved: bool,
}

/// Why a notification was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Alerts began firing (the group's first message, or a new alert in it).
    Firing,
    /// Nothing changed, `repeat_interval` passed.
    Repeat,
    /// Only resolutions (with `send_resolved`).
    Resolved,
}

/// One notification: when, why and which alerts (indexes into the group's list) it held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub at: i64,
    pub reason: Reason,
    pub alerts: Vec<usize>,
}

/// Flushes one group may take, at most: a bound on the simulation's work.
const MAX_FLUSHES: usize = 100_000;

/// The notifications one group's alerts would have caused up to `end`; `muted(t)` says
/// whether a mute timing of the route holds at `t` (a muted flush sends nothing).
pub fn simulate(
    alerts: &[AlertFiring],
    t: GroupTiming,
    end: i64,
    muted: &dyn Fn(i64) -> bool,
) -> Vec<Sent> {
    let interval = t.interval.max(1);
    let mut changes: Vec<i64> = alerts
        .iter()
        .flat_map(|a| a.episodes.iter().flat_map(|&(f, to)| [f, to]))
        .collect();
    changes.sort_unstable();
    changes.dedup();
    let mut sent = Vec::new();
    let mut cursor = i64::MIN;
    let mut flushes = 0;
    // One aggregation group after another.
    while let Some(start) = alerts
        .iter()
        .flat_map(|a| a.episodes.iter())
        .filter(|&&(f, to)| to > cursor && f <= end)
        .map(|&(f, _)| f.max(cursor))
        .min()
    {
        let mut flush = start + t.wait;
        let mut previous = start - 1;
        // The notification log's entry for the group: what was last sent, and when.
        let mut last: Option<Entry> = None;
        loop {
            if flush > end || flushes >= MAX_FLUSHES {
                return sent;
            }
            flushes += 1;
            let firing: BTreeSet<u64> = (0..alerts.len())
                .filter(|&i| alerts[i].firing_at(flush))
                .map(|i| i as u64)
                .collect();
            let resolved: BTreeSet<u64> = (0..alerts.len())
                .filter(|&i| {
                    !firing.contains(&(i as u64))
                        && (last
                            .as_ref()
                            .is_some_and(|e| e.firing.contains(&(i as u64)))
                            || alerts[i].fired_in(previous, flush))
                })
                .map(|i| i as u64)
                .collect();
            let needs = needs_update(
                last.as_ref(),
                &firing,
                &resolved,
                t.send_resolved,
                Duration::from_millis(t.repeat.max(0) as u64),
                flush,
            );
            if needs && !muted(flush) {
                let no_firing = BTreeSet::new();
                let no_resolved = BTreeSet::new();
                let (last_firing, last_resolved) = last
                    .as_ref()
                    .map_or((&no_firing, &no_resolved), |e| (&e.firing, &e.resolved));
                let reason = if !firing.is_subset(last_firing) {
                    Reason::Firing
                } else if firing.is_empty()
                    || (t.send_resolved && !resolved.is_subset(last_resolved))
                {
                    Reason::Resolved
                } else {
                    Reason::Repeat
                };
                let mut held: Vec<usize> = firing.iter().map(|&i| i as usize).collect();
                if t.send_resolved {
                    held.extend(resolved.iter().map(|&i| i as usize));
                    held.sort_unstable();
                }
                if !held.is_empty() {
                    sent.push(Sent {
                        at: flush,
                        reason,
                        alerts: held,
                    });
                }
                last = Some(Entry {
                    firing: firing.clone(),
                    resolved,
                    at_ms: flush,
                });
            }
            if firing.is_empty() {
                // Every alert resolved and said so: the group ends here.
                cursor = flush;
                break;
            }
            // Skip flushes where nothing can change: to the next change or repeat.
            let next_change = changes
                .get(changes.partition_point(|&c| c <= flush))
                .copied();
            let next_repeat = last.as_ref().map(|e| e.at_ms + t.repeat);
            let target = [next_change, next_repeat]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end + 1)
                .max(flush + 1);
            previous = flush;
            flush += (target - flush + interval - 1) / interval * interval;
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    const M: i64 = 60 * S;

    fn timing(wait: i64, interval: i64, repeat: i64, send_resolved: bool) -> GroupTiming {
        GroupTiming {
            wait,
            interval,
            repeat,
            send_resolved,
        }
    }

    fn reasons(sent: &[Sent]) -> Vec<(i64, Reason, Vec<usize>)> {
        sent.iter()
            .map(|s| (s.at, s.reason, s.alerts.clone()))
            .collect()
    }

    #[test]
    fn one_alert_is_sent_after_group_wait_repeated_at_flushes_and_resolved() {
        let a = [AlertFiring {
            episodes: vec![(0, 20 * M)],
        }];
        let sent = simulate(&a, timing(30 * S, 5 * M, 4 * M, true), 60 * M, &|_| false);
        // Flushes at 0:30, 5:30, 10:30, 15:30, 20:30: repeats once 4 minutes passed.
        assert_eq!(
            reasons(&sent),
            [
                (30 * S, Reason::Firing, vec![0]),
                (5 * M + 30 * S, Reason::Repeat, vec![0]),
                (10 * M + 30 * S, Reason::Repeat, vec![0]),
                (15 * M + 30 * S, Reason::Repeat, vec![0]),
                (20 * M + 30 * S, Reason::Resolved, vec![0]),
            ]
        );
        // Without send_resolved the "all resolved" flush sends nothing.
        let quiet = simulate(&a, timing(30 * S, 5 * M, 4 * M, false), 60 * M, &|_| false);
        assert_eq!(quiet.len(), 4);
    }

    #[test]
    fn alerts_of_a_group_share_notifications_and_a_short_blip_is_only_resolved() {
        let a = [
            AlertFiring {
                episodes: vec![(0, 10 * M)],
            },
            AlertFiring {
                episodes: vec![(5 * S, 10 * S)],
            },
            AlertFiring {
                episodes: vec![(2 * M, 10 * M)],
            },
        ];
        let sent = simulate(&a, timing(30 * S, M, 4 * M, true), 60 * M, &|_| false);
        assert_eq!(
            reasons(&sent)[..2],
            [
                // The blip fired and resolved inside group_wait: sent as resolved.
                (30 * S, Reason::Firing, vec![0, 1]),
                (2 * M + 30 * S, Reason::Firing, vec![0, 2]),
            ]
        );
        assert_eq!(sent.last().unwrap().reason, Reason::Resolved);
        assert_eq!(sent.last().unwrap().at, 10 * M + 30 * S);
    }

    #[test]
    fn a_new_episode_after_the_group_ended_waits_again_and_mutes_hold_back() {
        let a = [AlertFiring {
            episodes: vec![(0, M), (10 * M, 11 * M)],
        }];
        let sent = simulate(&a, timing(30 * S, 5 * M, 4 * M, false), 60 * M, &|_| false);
        assert_eq!(
            reasons(&sent),
            [
                (30 * S, Reason::Firing, vec![0]),
                (10 * M + 30 * S, Reason::Firing, vec![0]),
            ]
        );
        let muted = simulate(&a, timing(30 * S, 5 * M, 4 * M, false), 60 * M, &|t| {
            t < 5 * M
        });
        assert_eq!(
            reasons(&muted),
            [(10 * M + 30 * S, Reason::Firing, vec![0])]
        );
    }
}
