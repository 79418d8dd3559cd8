//! The rule manager: one task per stored group, started, replaced (alerts carried over)
//! and stopped as the stored groups change; each task evaluates its group at aligned times
//! (interval and a per-group offset, as Prometheus's `EvalTimestamp`), holding one of a
//! bounded number of evaluation slots, and counts the iterations it had to skip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::group::{self, GroupRun};
use super::state::{Restore, RuleAlerts};
use super::{persist, Context};
use crate::embedded::now_ms;
use crate::error::Error;
use crate::rules::namespace::Namespace;
use crate::rules::store;
use crate::rules::validate::validate_group;

struct Running {
    version: i64,
    run: Arc<Mutex<GroupRun>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Key = (String, String);

pub struct Manager {
    ctx: Arc<Context>,
    groups: Mutex<HashMap<Key, Running>>,
    /// Stored versions that do not validate (written by an older version): not retried
    /// until the group changes.
    refused: Mutex<HashMap<Key, i64>>,
}

impl Manager {
    /// Starts following the stored groups (at once, then every `sync_every`).
    pub fn start(ctx: Context) -> Arc<Manager> {
        let manager = Arc::new(Manager {
            ctx: Arc::new(ctx),
            groups: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        });
        let me = Arc::downgrade(&manager);
        let every = manager.ctx.options.sync_every;
        tokio::spawn(async move {
            loop {
                let Some(m) = me.upgrade() else { return };
                if let Err(err) = m.sync().await {
                    tracing::warn!(error = %err.message(), error_type = "RuleSync", "Reading the stored rule groups failed");
                }
                drop(m);
                tokio::time::sleep(every).await;
            }
        });
        manager
    }

    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Every running group as it stands now.
    pub fn snapshot(&self) -> HashMap<Key, GroupRun> {
        let Ok(groups) = self.groups.lock() else {
            return HashMap::new();
        };
        groups
            .iter()
            .filter_map(|(k, r)| r.run.lock().ok().map(|g| (k.clone(), g.clone())))
            .collect()
    }

    /// Brings the running groups in line with the stored ones.
    pub async fn sync(&self) -> Result<(), Error> {
        let stored = store::versions(&self.ctx.db).await?;
        let current: HashMap<Key, i64> = self
            .groups
            .lock()
            .map(|g| g.iter().map(|(k, r)| (k.clone(), r.version)).collect())
            .unwrap_or_default();
        for (ns, name, version) in &stored {
            let key = (ns.clone(), name.clone());
            let refused = self.refused.lock().ok().and_then(|r| r.get(&key).copied());
            if current.get(&key) == Some(version) || refused == Some(*version) {
                continue;
            }
            self.replace(key, *version).await?;
        }
        let keep: std::collections::HashSet<Key> =
            stored.into_iter().map(|(n, g, _)| (n, g)).collect();
        let gone: Vec<Key> = current.into_keys().filter(|k| !keep.contains(k)).collect();
        for key in gone {
            if let Ok(mut groups) = self.groups.lock() {
                groups.remove(&key);
            }
            persist::forget(&self.ctx.db, &key.0, &key.1, 0).await?;
            self.ctx.metrics.forget(&format!("{};{}", key.0, key.1));
        }
        Ok(())
    }

    /// Starts (or restarts, with the alerts of the previous run) one group.
    async fn replace(&self, key: Key, version: i64) -> Result<(), Error> {
        let Ok(ns) = Namespace::parse(&key.0) else {
            return Ok(());
        };
        let Some(stored) = store::get(&self.ctx.db, &ns, &key.1).await? else {
            return Ok(());
        };
        let spec = stored.spec;
        let checked = spec.clone();
        if crate::cpu::run(move || validate_group(&checked).is_err()).await? {
            tracing::warn!(rule_group = %format!("{};{}", key.0, key.1), error_type = "InvalidRuleGroup", "A stored rule group does not validate; it is not evaluated");
            if let Ok(mut groups) = self.groups.lock() {
                groups.remove(&key);
            }
            if let Ok(mut refused) = self.refused.lock() {
                refused.insert(key, version);
            }
            return Ok(());
        }
        let default_ms = self.ctx.options.default_interval.as_millis() as i64;
        let mut run = GroupRun::new(key.0.clone(), spec, version, default_ms);
        let old = self.groups.lock().ok().and_then(|g| {
            g.get(&key)
                .and_then(|r| r.run.lock().ok().map(|r| r.clone()))
        });
        match old {
            Some(old) => run.copy_state(&old),
            None => {
                let saved = persist::load(&self.ctx.db, &key.0, &key.1).await?;
                for (i, rule) in run.spec.rules.iter().enumerate() {
                    let by_position = saved.get(&(i as i64, rule.name().to_owned()));
                    let by_name = || {
                        saved
                            .iter()
                            .find(|((_, n), _)| n == rule.name())
                            .map(|(_, a)| a)
                    };
                    if let Some(alerts) = by_position.or_else(by_name) {
                        let mut alerts = alerts.clone();
                        self.restore(rule, &mut alerts).await;
                        run.rules[i].alerts = alerts;
                    }
                }
            }
        }
        persist::forget(&self.ctx.db, &key.0, &key.1, run.spec.rules.len()).await?;
        let run = Arc::new(Mutex::new(run));
        let task = tokio::spawn(run_group(self.ctx.clone(), run.clone()));
        if let Ok(mut groups) = self.groups.lock() {
            groups.insert(key, Running { version, run, task });
        }
        Ok(())
    }
}

impl Manager {
    /// Adjusts a rule's alerts read back after a restart by when the store last saw them.
    async fn restore(&self, rule: &crate::rules::model::RuleSpec, alerts: &mut RuleAlerts) {
        let o = &self.ctx.options;
        let now = now_ms();
        let tolerance = o.outage_tolerance.as_millis() as i64;
        let Some(seen) = self.ctx.last_for_state(rule.name(), now, tolerance).await else {
            return;
        };
        alerts.restore(
            &seen,
            Restore {
                now,
                hold_ms: group::millis(rule.for_.as_deref()),
                outage_tolerance_ms: tolerance,
                grace_ms: o.for_grace_period.as_millis() as i64,
            },
        );
    }
}

/// Evaluates a group at every aligned time until aborted.
async fn run_group(ctx: Arc<Context>, run: Arc<Mutex<GroupRun>>) {
    let Some((interval, mut next, key)) = run
        .lock()
        .ok()
        .map(|r| (r.interval_ms, r.next_after(now_ms()), r.key()))
    else {
        return;
    };
    // Every figure of the group exists from its start, at 0.
    for c in [
        &ctx.metrics.iterations,
        &ctx.metrics.missed,
        &ctx.metrics.failures,
    ] {
        c.with_label_values(&[&key]);
    }
    loop {
        let wait = (next - now_ms()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let Ok(permit) = ctx.limit.acquire().await else {
            return;
        };
        ctx.metrics.iterations.with_label_values(&[&key]).inc();
        group::evaluate(&ctx, &run, next).await;
        drop(permit);
        let done = now_ms();
        // How late the group's alerts were decided: waiting for a slot plus the evaluation.
        ctx.metrics
            .lag
            .with_label_values(&[&key])
            .observe((done - next).max(0) as f64 / 1000.0);
        let (following, missed) = following(next, done, interval);
        if missed > 0 {
            ctx.metrics
                .missed
                .with_label_values(&[&key])
                .inc_by(missed as u64);
        }
        next = following;
    }
}

/// The evaluation after the one at `last`, and how many were skipped because `now` is
/// already past them (an evaluation that took longer than the interval).
fn following(last: i64, now: i64, interval: i64) -> (i64, i64) {
    let next = last + interval;
    if now < next {
        return (next, 0);
    }
    let missed = (now - next) / interval + 1;
    (next + missed * interval, missed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_evaluation_longer_than_the_interval_skips_the_iterations_it_overran() {
        assert_eq!(super::following(0, 500, 1_000), (1_000, 0));
        assert_eq!(super::following(0, 1_000, 1_000), (2_000, 1));
        assert_eq!(super::following(0, 3_500, 1_000), (4_000, 3));
    }
}
