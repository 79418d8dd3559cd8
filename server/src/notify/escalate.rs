//! Running escalation policies, once a second from the dispatcher's loop: for every firing
//! alert the dispatcher holds that is neither silenced nor acknowledged, each step of each
//! policy that takes it is sent once its delay (counted from when the alert started firing)
//! has passed. A step's notification carries a signed acknowledgement link as the
//! annotation `ack_url`. What was sent is kept in `escalation_progress` (a restart sends no
//! step again); a resolved alert stops its escalation and ends its acknowledgement.
//! Work is bounded: at most [`MAX_SENDS_PER_TICK`] steps start per second; the rest wait.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::acks::{sign_link, ActiveAlert};
use super::contact_points::{self, ContactPoint};
use super::matchers::Labels;
use super::payloads::{fingerprint, label_set, Data};
use super::{Notifier, PostedAlert};

const EVERY: Duration = Duration::from_secs(1);
pub const MAX_SENDS_PER_TICK: usize = 100;

/// (fingerprint, activeAt) → the (policy, step) already sent.
#[derive(Default)]
pub struct Progress {
    sent: HashMap<(u64, i64), HashSet<(i64, usize)>>,
    last: Option<Instant>,
}

impl Progress {
    pub async fn load(db: &sqlx::SqlitePool) -> Progress {
        let rows: Result<Vec<(String, i64, i64, i64)>, _> = sqlx::query_as(
            "SELECT fingerprint, active_at, policy_id, step FROM escalation_progress",
        )
        .fetch_all(db)
        .await;
        let mut p = Progress::default();
        match rows {
            Ok(rows) => {
                for (fp, active_at, policy, step) in rows {
                    if let Ok(fp) = u64::from_str_radix(&fp, 16) {
                        p.sent
                            .entry((fp, active_at))
                            .or_default()
                            .insert((policy, step as usize));
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, error_type = "EscalationLoad", "Reading the escalation progress failed; steps may be sent again");
            }
        }
        p
    }
}

struct Due {
    alert: PostedAlert,
    fp: u64,
    policy_id: i64,
    policy_name: String,
    step: usize,
    contact_point: String,
    ttl_ms: i64,
}

fn silenced(notifier: &Notifier, labels: &Labels) -> bool {
    let now = chrono::Utc::now();
    notifier
        .silences
        .read()
        .map(|s| s.iter().any(|s| s.mutes(labels, now)))
        .unwrap_or(false)
}

/// One pass; returns at once when the last pass was less than a second ago.
pub async fn tick(
    notifier: &Arc<Notifier>,
    alerts: &HashMap<u64, PostedAlert>,
    progress: &mut Progress,
) {
    let now = Instant::now();
    if progress.last.is_some_and(|l| now.duration_since(l) < EVERY) {
        return;
    }
    progress.last = Some(now);
    let now_ms = chrono::Utc::now().timestamp_millis();

    // Resolved alerts: escalation stops, the acknowledgement ends.
    let resolved: Vec<u64> = alerts
        .iter()
        .filter(|(_, a)| a.resolved_at(now_ms))
        .map(|(fp, _)| *fp)
        .collect();
    if !resolved.is_empty() {
        let stopped: Vec<(u64, i64)> = progress
            .sent
            .keys()
            .filter(|(fp, _)| resolved.contains(fp))
            .copied()
            .collect();
        for key in &stopped {
            progress.sent.remove(key);
            if let Err(err) = sqlx::query("DELETE FROM escalation_progress WHERE fingerprint = ?")
                .bind(format!("{:016x}", key.0))
                .execute(&notifier.db)
                .await
            {
                tracing::warn!(error = %err, error_type = "EscalationStop", "Removing escalation progress failed");
            }
        }
        notifier.forget_acks(&resolved).await;
    }

    let policies = notifier.escalation_policies();
    if policies.is_empty() {
        return;
    }
    let mut due = Vec::new();
    'alerts: for (fp, alert) in alerts {
        if alert.resolved_at(now_ms) || notifier.ack_of(*fp, alert.active_at).is_some() {
            continue;
        }
        let mut muted = None;
        for policy in policies.iter() {
            let Some(steps) = policy.steps_for(&alert.labels) else {
                continue;
            };
            for (i, step) in steps.iter().enumerate() {
                if now_ms < alert.starts_at + step.after_ms {
                    break;
                }
                let done = progress
                    .sent
                    .get(&(*fp, alert.active_at))
                    .is_some_and(|s| s.contains(&(policy.id, i)));
                if done {
                    continue;
                }
                if *muted.get_or_insert_with(|| silenced(notifier, &alert.labels)) {
                    continue 'alerts;
                }
                due.push(Due {
                    alert: alert.clone(),
                    fp: *fp,
                    policy_id: policy.id,
                    policy_name: policy.name.clone(),
                    step: i,
                    contact_point: step.contact_point.clone(),
                    ttl_ms: policy.ack_link_ttl_ms,
                });
                if due.len() >= MAX_SENDS_PER_TICK {
                    break 'alerts;
                }
            }
        }
    }
    if due.is_empty() {
        return;
    }
    let receivers: HashMap<String, ContactPoint> = match contact_points::list(
        &notifier.db,
        &notifier.secrets,
    )
    .await
    {
        Ok(list) => list.into_iter().map(|c| (c.name.clone(), c)).collect(),
        Err(err) => {
            tracing::warn!(error = %err, error_type = "ContactPointLoad", "Loading contact points failed; escalation waits");
            return;
        }
    };
    for d in due {
        progress
            .sent
            .entry((d.fp, d.alert.active_at))
            .or_default()
            .insert((d.policy_id, d.step));
        let saved = sqlx::query("INSERT OR IGNORE INTO escalation_progress (fingerprint, active_at, policy_id, step, sent_at) VALUES (?, ?, ?, ?, ?)")
            .bind(format!("{:016x}", d.fp))
            .bind(d.alert.active_at)
            .bind(d.policy_id)
            .bind(d.step as i64)
            .bind(now_ms)
            .execute(&notifier.db)
            .await;
        if let Err(err) = saved {
            tracing::warn!(error = %err, error_type = "EscalationProgressWrite", "Writing escalation progress failed");
        }
        let Some(cp) = receivers.get(&d.contact_point).cloned() else {
            tracing::warn!(contact_point = %d.contact_point, error_type = "EscalationContactPoint", "An escalation step names a contact point that is gone");
            continue;
        };
        if cp.settings.disabled_reason().is_some() {
            continue;
        }
        let notifier = notifier.clone();
        tokio::spawn(async move { send(&notifier, d, cp, now_ms).await });
    }
}

async fn send(notifier: &Notifier, d: Due, cp: ContactPoint, now_ms: i64) {
    let active = ActiveAlert {
        fingerprint: d.fp,
        labels: d.alert.labels.clone(),
        active_at: d.alert.active_at,
    };
    let token = sign_link(&notifier.link_key, &active, &cp.name, now_ms + d.ttl_ms);
    let mut alert = d.alert;
    alert.annotations.insert(
        "ack_url".into(),
        format!(
            "{}/ack/{token}",
            notifier.options.external_url.trim_end_matches('/')
        ),
    );
    alert.annotations.insert(
        "escalation".into(),
        format!("{} step {}", d.policy_name, d.step + 1),
    );
    let group_labels = Labels::from([(
        "alertname".to_owned(),
        alert.labels.get("alertname").cloned().unwrap_or_default(),
    )]);
    let group_key = format!(
        "escalation/{}/{}:{}",
        d.policy_name,
        d.step + 1,
        label_set(&alert.labels)
    );
    debug_assert_eq!(fingerprint(&alert.labels), d.fp);
    let data = Data::new(
        &cp.name,
        vec![alert],
        &group_labels,
        &notifier.options.external_url,
        now_ms,
    );
    let outcome = notifier
        .sender
        .deliver(&cp, &data, &group_key, &notifier.metrics)
        .await;
    super::log::record(&notifier.db, &cp, &group_key, &data, &outcome).await;
}
