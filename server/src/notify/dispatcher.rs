//! Alertmanager's dispatcher: posted alerts are routed; each route groups them by its
//! `group_by` labels into aggregation groups; a new group waits `group_wait`, then is
//! flushed every `group_interval`. A flush drops silenced and inhibited alerts and notifies
//! when the notification log says so (a new firing alert, a newly resolved one with
//! `send_resolved`, all resolved, or `repeat_interval` passed). Alertmanager contact points
//! are resent every minute while alerts fire, as Prometheus resends.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::contact_points::{self, ContactPoint, Settings};
use super::log::Entry;
use super::matchers::{all_match, Labels};
use super::payloads::{fingerprint, label_set, Data};
use super::policy::{Node, Opts, Policy};
use super::{Notifier, PostedAlert};

struct Group {
    /// Alertmanager's group key: the route's key and the group labels, `{…}:{…}`.
    key: String,
    labels: Labels,
    opts: Opts,
    alerts: HashMap<u64, PostedAlert>,
    next: Instant,
    flushed: bool,
}

const RESEND: Duration = Duration::from_secs(60);
const RETENTION_MS: i64 = 15 * 60 * 1000;

struct Dispatcher {
    notifier: Arc<Notifier>,
    policy: Arc<Policy>,
    alerts: HashMap<u64, PostedAlert>,
    groups: HashMap<GroupId, Group>,
    log: Arc<std::sync::Mutex<HashMap<String, Entry>>>,
    /// Log keys whose notification is being sent.
    inflight: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    escalation: super::escalate::Progress,
}

pub fn spawn(notifier: Arc<Notifier>, mut inbox: mpsc::Receiver<Vec<PostedAlert>>) {
    tokio::spawn(async move {
        let entries = super::log::load_entries(&notifier.db).await;
        let escalation = super::escalate::Progress::load(&notifier.db).await;
        let mut d = Dispatcher {
            log: Arc::new(std::sync::Mutex::new(entries)),
            policy: notifier.current_policy(),
            notifier,
            alerts: HashMap::new(),
            groups: HashMap::new(),
            inflight: Default::default(),
            escalation,
        };
        loop {
            let next = d
                .groups
                .values()
                .map(|g| g.next)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            let wake = next.min(Instant::now() + Duration::from_secs(1));
            tokio::select! {
                batch = inbox.recv() => match batch {
                    Some(batch) => d.ingest(batch),
                    None => return,
                },
                () = tokio::time::sleep_until(wake) => {}
            }
            d.follow_policy();
            d.flush_due().await;
            super::escalate::tick(&d.notifier, &d.alerts, &mut d.escalation).await;
        }
    });
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An aggregation group: the route that took the alert (its place in the tree, since two
/// routes may share a key) and the alert's labels named by the route's `group_by` (all of
/// them without one). The backtest groups its alerts by the same identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId {
    pub route: String,
    pub labels: Labels,
}

impl GroupId {
    pub fn of(node: &Node, labels: &Labels) -> Self {
        let labels = match &node.opts.group_by {
            None => labels.clone(),
            Some(by) => labels
                .iter()
                .filter(|(k, _)| by.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        GroupId {
            route: node.path.clone(),
            labels,
        }
    }
}

impl Dispatcher {
    fn ingest(&mut self, batch: Vec<PostedAlert>) {
        let now = now_ms();
        for mut alert in batch {
            let fp = fingerprint(&alert.labels);
            if !self.alerts.contains_key(&fp)
                && self.alerts.len() >= self.notifier.options.max_alerts
            {
                self.notifier.metrics.dropped.inc();
                continue;
            }
            if let Some(old) = self.alerts.get(&fp) {
                if !old.resolved_at(now) && old.starts_at < alert.starts_at {
                    alert.starts_at = old.starts_at;
                }
            }
            self.alerts.insert(fp, alert.clone());
            self.route(fp, &alert);
        }
        self.alerts.retain(|_, a| now - a.ends_at < RETENTION_MS);
    }

    fn route(&mut self, fp: u64, alert: &PostedAlert) {
        let now = Instant::now();
        let policy = self.policy.clone();
        for node in policy.routes_for(&alert.labels) {
            let id = GroupId::of(node, &alert.labels);
            let group = self.groups.entry(id).or_insert_with_key(|id| Group {
                key: format!("{}:{}", node.key, label_set(&id.labels)),
                labels: id.labels.clone(),
                opts: node.opts.clone(),
                alerts: HashMap::new(),
                next: now + node.opts.group_wait,
                flushed: false,
            });
            let age = now_ms() - alert.starts_at;
            if !group.flushed && age > group.opts.group_wait.as_millis() as i64 {
                group.next = now;
            }
            group.alerts.insert(fp, alert.clone());
        }
    }

    /// A saved policy rebuilds the groups from the alerts held (the log keeps what was sent).
    fn follow_policy(&mut self) {
        let current = self.notifier.current_policy();
        if Arc::ptr_eq(&current, &self.policy) {
            return;
        }
        self.policy = current;
        self.groups.clear();
        let alerts: Vec<(u64, PostedAlert)> =
            self.alerts.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (fp, a) in alerts {
            self.route(fp, &a);
        }
    }

    fn muted(&self, fp: u64, a: &PostedAlert, now: chrono::DateTime<chrono::Utc>) -> bool {
        if self
            .notifier
            .silences
            .read()
            .map(|s| s.iter().any(|s| s.mutes(&a.labels, now)))
            .unwrap_or(false)
        {
            return true;
        }
        let now_ms = now.timestamp_millis();
        self.policy.inhibit.iter().any(|rule| {
            all_match(&rule.target, &a.labels)
                && self.alerts.iter().any(|(sfp, s)| {
                    *sfp != fp
                        && !s.resolved_at(now_ms)
                        && all_match(&rule.source, &s.labels)
                        && rule
                            .equal
                            .iter()
                            .all(|l| s.labels.get(l) == a.labels.get(l))
                })
        })
    }

    async fn flush_due(&mut self) {
        let now = Instant::now();
        let due: Vec<GroupId> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next <= now)
            .map(|(k, _)| k.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        let receivers: HashMap<String, ContactPoint> = match contact_points::list(
            &self.notifier.db,
            &self.notifier.secrets,
        )
        .await
        {
            Ok(list) => list.into_iter().map(|c| (c.name.clone(), c)).collect(),
            Err(err) => {
                tracing::warn!(error = %err, error_type = "ContactPointLoad", "Loading contact points failed; the flush waits");
                return;
            }
        };
        for id in due {
            self.flush(&id, &receivers);
        }
    }

    fn flush(&mut self, key: &GroupId, receivers: &HashMap<String, ContactPoint>) {
        let wall = chrono::Utc::now();
        let now_ms = wall.timestamp_millis();
        let Some(group) = self.groups.get(key) else {
            return;
        };
        let cp = receivers.get(&group.opts.receiver).cloned();
        let resend = matches!(
            cp.as_ref().map(|c| &c.settings),
            Some(Settings::Alertmanager { .. })
        );
        let mut interval = group.opts.group_interval;
        if resend {
            interval = interval.min(RESEND);
        }
        let visible: Vec<(u64, PostedAlert)> = group
            .alerts
            .iter()
            .filter(|(fp, a)| !self.muted(**fp, a, wall))
            .map(|(fp, a)| (*fp, a.clone()))
            .collect();
        let time_muted = self.policy.muted(&group.opts.mute, wall);
        let group_key = group.key.clone();
        let labels = group.labels.clone();
        let repeat = group.opts.repeat_interval;
        let firing: BTreeSet<u64> = visible
            .iter()
            .filter(|(_, a)| !a.resolved_at(now_ms))
            .map(|(f, _)| *f)
            .collect();
        let resolved: BTreeSet<u64> = visible
            .iter()
            .filter(|(_, a)| a.resolved_at(now_ms))
            .map(|(f, _)| *f)
            .collect();
        let log_key = format!("{group_key}|{}", group.opts.receiver);
        // One notification per group and receiver at a time (Alertmanager flushes a group
        // only after its previous flush finished): come back when the one in flight is done.
        if self.inflight.lock().is_ok_and(|f| f.contains(&log_key)) {
            if let Some(g) = self.groups.get_mut(key) {
                g.next = Instant::now() + Duration::from_millis(500);
            }
            return;
        }
        if let Some(g) = self.groups.get_mut(key) {
            g.flushed = true;
            g.next = Instant::now() + interval;
            // Resolved alerts leave the group once flushed; an empty group goes.
            g.alerts.retain(|_, a| !a.resolved_at(now_ms));
            if g.alerts.is_empty() {
                self.groups.remove(key);
            }
        }
        let Some(cp) = cp else { return };
        if time_muted || visible.is_empty() || cp.settings.disabled_reason().is_some() {
            return;
        }
        let entry = self.log.lock().ok().and_then(|l| l.get(&log_key).cloned());
        let needs = resend && !firing.is_empty()
            || needs_update(
                entry.as_ref(),
                &firing,
                &resolved,
                cp.send_resolved,
                repeat,
                now_ms,
            );
        if !needs {
            return;
        }
        let alerts: Vec<PostedAlert> = visible
            .into_iter()
            .filter(|(_, a)| cp.send_resolved || !a.resolved_at(now_ms))
            .map(|(_, a)| a)
            .collect();
        let log = self.log.clone();
        let done = Entry {
            firing,
            resolved,
            at_ms: now_ms,
        };
        let notifier = self.notifier.clone();
        if alerts.is_empty() {
            if let Ok(mut l) = log.lock() {
                l.insert(log_key.clone(), done.clone());
            }
            tokio::spawn(
                async move { super::log::save_entry(&notifier.db, &log_key, &done).await },
            );
            return;
        }
        let data = Data::new(
            &cp.name,
            alerts,
            &labels,
            &notifier.options.external_url,
            now_ms,
        );
        let inflight = self.inflight.clone();
        if let Ok(mut f) = inflight.lock() {
            f.insert(log_key.clone());
        }
        tokio::spawn(async move {
            let outcome = notifier
                .sender
                .deliver(&cp, &data, &group_key, &notifier.metrics)
                .await;
            super::log::record(&notifier.db, &cp, &group_key, &data, &outcome).await;
            if outcome.result.is_ok() {
                if let Ok(mut l) = log.lock() {
                    l.insert(log_key.clone(), done.clone());
                }
                super::log::save_entry(&notifier.db, &log_key, &done).await;
            }
            if let Ok(mut f) = inflight.lock() {
                f.remove(&log_key);
            }
        });
    }
}

/// Alertmanager's `DedupStage.needsUpdate`: whether a flush of a group whose visible alerts
/// are `firing` and `resolved` notifies, given what the log says was last sent. The
/// backtest's simulation (`alerting::dispatch_sim`) decides with it too.
pub fn needs_update(
    entry: Option<&Entry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    send_resolved: bool,
    repeat: Duration,
    now_ms: i64,
) -> bool {
    let Some(entry) = entry else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&entry.firing) {
        return true;
    }
    if firing.is_empty() {
        return !entry.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&entry.resolved) {
        return true;
    }
    now_ms - entry.at_ms >= repeat.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_decides_as_alertmanager_s_dedup_stage() {
        let set = |v: &[u64]| v.iter().copied().collect::<BTreeSet<u64>>();
        let hour = Duration::from_secs(3600);
        assert!(needs_update(None, &set(&[1]), &set(&[]), true, hour, 0));
        assert!(
            !needs_update(None, &set(&[]), &set(&[1]), true, hour, 0),
            "only resolved, never told"
        );
        let sent = Entry {
            firing: set(&[1]),
            resolved: set(&[]),
            at_ms: 0,
        };
        assert!(
            !needs_update(Some(&sent), &set(&[1]), &set(&[]), true, hour, 0),
            "nothing new"
        );
        assert!(
            needs_update(Some(&sent), &set(&[1, 2]), &set(&[]), true, hour, 0),
            "a new firing alert"
        );
        assert!(
            needs_update(Some(&sent), &set(&[]), &set(&[1]), false, hour, 0),
            "all resolved"
        );
        assert!(needs_update(
            Some(&sent),
            &set(&[2]),
            &set(&[1]),
            true,
            hour,
            0
        ));
        let two = Entry {
            firing: set(&[1, 2]),
            resolved: set(&[]),
            at_ms: 0,
        };
        assert!(
            needs_update(Some(&two), &set(&[2]), &set(&[1]), true, hour, 0),
            "one resolved, send_resolved"
        );
        assert!(!needs_update(
            Some(&two),
            &set(&[2]),
            &set(&[1]),
            false,
            hour,
            0
        ));
        assert!(
            needs_update(
                Some(&two),
                &set(&[1, 2]),
                &set(&[]),
                false,
                Duration::ZERO,
                0
            ),
            "repeat"
        );
    }
}
