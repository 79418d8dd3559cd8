//! Notifications: what the rule manager hands on ([`AlertSink`]) is grouped, routed, silenced,
//! inhibited and sent as Alertmanager 0.25 does it. `contact_points.rs` where notifications go
//! (secrets sealed); `policy.rs` the routing tree and inhibition rules; `matchers.rs`
//! Alertmanager's matchers; `silences.rs` v2 silences; `dispatcher.rs` aggregation groups,
//! their timers and the notification log's dedup; `payloads.rs` the Slack, webhook, e-mail
//! and Alertmanager bodies; `senders.rs` HTTP and SMTP delivery with retries; `log.rs` the
//! notification log; `templates.rs` editable notification templates; `metrics.rs` the
//! `keiko_notification*` figures; `escalation.rs`
//! escalation policies and `escalate.rs` their execution; `acks.rs` acknowledgements and
//! their signed links.

pub mod acks;
pub mod contact_points;
pub mod dispatcher;
pub mod escalate;
pub mod escalation;
pub mod log;
pub mod matchers;
pub mod metrics;
pub mod payloads;
pub mod policy;
pub mod senders;
pub mod silences;
pub mod templates;
pub mod time_intervals;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

use crate::error::Error;
use crate::sources::secrets::SecretBox;
use matchers::Labels;

/// An alert as the rule manager posts it (Alertmanager's `PostableAlert`); times in Unix ms.
/// Firing alerts carry the time until which they hold without a fresh post; resolved ones
/// the time they resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PostedAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
    /// When the rule manager first saw this episode (`activeAt`, Unix ms): what an
    /// acknowledgement and an escalation belong to.
    pub active_at: i64,
}

impl PostedAlert {
    pub fn resolved_at(&self, now_ms: i64) -> bool {
        self.ends_at <= now_ms
    }
}

/// Where alert state is handed on: called after every evaluation of a group with its firing
/// and recently resolved alerts, as Prometheus sends them to Alertmanager.
pub trait AlertSink: Send + Sync {
    fn post(&self, alerts: Vec<PostedAlert>);
}

/// Where a template preview reads the alerts firing now, as they would be posted (the rule
/// manager).
pub trait FiringAlerts: Send + Sync {
    fn firing(&self, now_ms: i64) -> Vec<PostedAlert>;
}

/// Bounds of delivery.
#[derive(Clone, Debug)]
pub struct Options {
    /// Batches of posted alerts waiting for the dispatcher; beyond, batches are dropped.
    pub queue: usize,
    /// Alerts the dispatcher holds at most; beyond, new alerts are dropped (and counted).
    pub max_alerts: usize,
    /// Notifications being sent at once.
    pub concurrency: usize,
    /// One attempt's timeout.
    pub timeout: Duration,
    /// Attempts per notification (backoff doubling from `backoff`).
    pub attempts: u32,
    pub backoff: Duration,
    /// The largest answer body read from a receiver.
    pub max_answer_bytes: usize,
    pub allow_link_local: bool,
    /// Alertmanager's `externalURL` in payloads (the portal's public URL).
    pub external_url: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            queue: 1024,
            max_alerts: 50_000,
            concurrency: 8,
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_answer_bytes: 4096,
            allow_link_local: false,
            external_url: String::new(),
        }
    }
}

/// The notification side of the portal: the dispatcher's inbox, the live policy and silences.
pub struct Notifier {
    pub db: SqlitePool,
    pub secrets: SecretBox,
    pub options: Options,
    pub metrics: metrics::NotifyMetrics,
    pub policy: Arc<RwLock<Arc<policy::Policy>>>,
    pub silences: Arc<RwLock<Vec<silences::Silence>>>,
    pub sender: senders::Sender,
    /// Escalation policies as stored (reloaded on every change).
    pub escalations: RwLock<Arc<Vec<escalation::EscalationPolicy>>>,
    /// Acknowledgements by fingerprint.
    pub acks: RwLock<std::collections::HashMap<u64, acks::Ack>>,
    /// Signs acknowledgement links.
    link_key: Vec<u8>,
    inbox: mpsc::Sender<Vec<PostedAlert>>,
}

impl AlertSink for Notifier {
    fn post(&self, alerts: Vec<PostedAlert>) {
        if alerts.is_empty() {
            return;
        }
        if self.inbox.try_send(alerts).is_err() {
            self.metrics.dropped.inc();
        }
    }
}

impl Notifier {
    /// Provisions the seed's contact points and policy, loads policy and silences and
    /// starts the dispatcher.
    pub async fn start(
        db: SqlitePool,
        secrets: SecretBox,
        options: Options,
    ) -> anyhow::Result<Arc<Notifier>> {
        contact_points::provision(&db).await?;
        policy::provision(&db).await?;
        let doc = policy::load(&db).await?;
        let names = contact_points::list(&db, &secrets)
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let live = policy::validate(&doc, &names).or_else(|e| {
            tracing::warn!(error = %e, error_type = "NotificationPolicyInvalid", "The stored notification policy does not validate; the default one is used");
            policy::validate(&policy::default_doc(), &names)
        })?;
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let notifier = Arc::new(Notifier {
            sender: senders::Sender::new(&options, db.clone())?,
            policy: Arc::new(RwLock::new(Arc::new(live))),
            silences: Arc::new(RwLock::new(silences::load(&db).await?)),
            escalations: RwLock::new(Arc::new(escalation::list(&db).await?)),
            acks: RwLock::new(acks::load(&db).await?),
            link_key: acks::link_key(&db).await?,
            metrics: metrics::NotifyMetrics::new(),
            db,
            secrets,
            options,
            inbox: tx,
        });
        dispatcher::spawn(notifier.clone(), rx);
        Ok(notifier)
    }

    pub fn current_policy(&self) -> Arc<policy::Policy> {
        self.policy
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn set_policy(&self, p: policy::Policy) {
        if let Ok(mut w) = self.policy.write() {
            *w = Arc::new(p);
        }
    }

    pub fn escalation_policies(&self) -> Arc<Vec<escalation::EscalationPolicy>> {
        self.escalations
            .read()
            .map(|p| p.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub async fn reload_escalations(&self) -> Result<(), Error> {
        let fresh = Arc::new(escalation::list(&self.db).await?);
        if let Ok(mut w) = self.escalations.write() {
            *w = fresh;
        }
        Ok(())
    }

    /// Creates (`id` None) or updates an escalation policy, and escalates by it from now on.
    pub async fn save_escalation(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        id: Option<i64>,
        body: escalation::PolicyBody,
    ) -> Result<escalation::EscalationPolicy, Error> {
        let saved = escalation::save(&self.db, metrics, actor, id, body).await?;
        self.reload_escalations().await?;
        Ok(saved)
    }

    /// Deletes an escalation policy; it escalates nothing from now on.
    pub async fn delete_escalation(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        id: i64,
    ) -> Result<(), Error> {
        escalation::delete(&self.db, metrics, actor, id).await?;
        self.reload_escalations().await
    }

    /// Saves the notification policy (optimistic locking) and routes by it from now on;
    /// returns the saved document.
    pub async fn save_policy(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        doc: policy::PolicyDoc,
    ) -> Result<policy::PolicyDoc, Error> {
        let (saved, live) = policy::save(&self.db, metrics, actor, doc).await?;
        self.set_policy(live);
        Ok(saved)
    }

    /// Creates or updates a silence, which mutes from now on; returns its id.
    pub async fn save_silence(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        body: silences::SilenceBody,
    ) -> Result<String, Error> {
        let id = silences::save(&self.db, metrics, actor, body).await?;
        self.reload_silences().await?;
        Ok(id)
    }

    /// Expires a silence now; it mutes nothing from now on.
    pub async fn expire_silence(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        id: &str,
    ) -> Result<(), Error> {
        silences::expire(&self.db, metrics, actor, id).await?;
        self.reload_silences().await
    }

    /// The ids of the active silences that mute an alert with these labels.
    pub fn silenced_by(&self, labels: &Labels, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
        self.silences
            .read()
            .map(|s| {
                s.iter()
                    .filter(|s| s.mutes(labels, now))
                    .map(|s| s.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The fingerprints of the `firing` alerts (fingerprint, labels) that inhibit the alert
    /// `fp` with these labels under the current policy's inhibition rules.
    pub fn inhibited_by(&self, fp: u64, labels: &Labels, firing: &[(u64, &Labels)]) -> Vec<u64> {
        let policy = self.current_policy();
        firing
            .iter()
            .filter(|(sfp, source)| {
                *sfp != fp
                    && policy.inhibit.iter().any(|rule| {
                        matchers::all_match(&rule.target, labels)
                            && matchers::all_match(&rule.source, source)
                            && rule.equal.iter().all(|l| source.get(l) == labels.get(l))
                    })
            })
            .map(|(sfp, _)| *sfp)
            .collect()
    }

    pub async fn reload_silences(&self) -> Result<(), Error> {
        let fresh = silences::load(&self.db).await?;
        if let Ok(mut w) = self.silences.write() {
            *w = fresh;
        }
        Ok(())
    }

    /// Sends a test notification to a contact point now and logs it.
    pub async fn test(&self, id: i64) -> Result<serde_json::Value, Error> {
        let cp = contact_points::get(&self.db, &self.secrets, id).await?;
        if let Some(reason) = cp.settings.disabled_reason() {
            return Err(Error::invalid(
                "settings",
                format!("the contact point is disabled: {reason}"),
            ));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let alert = PostedAlert {
            labels: Labels::from([
                ("alertname".into(), "TestAlert".into()),
                ("instance".into(), "keiko-portal".into()),
            ]),
            annotations: Labels::from([
                ("summary".into(), "Notification test".into()),
                (
                    "description".into(),
                    "A test notification from the Keiko portal".into(),
                ),
            ]),
            starts_at: now,
            ends_at: now + 5 * 60_000,
            generator_url: self.options.external_url.clone(),
            active_at: now,
        };
        let data = payloads::Data::new(
            &cp.name,
            vec![alert],
            &Labels::from([("alertname".into(), "TestAlert".into())]),
            &self.options.external_url,
            now,
        );
        let outcome = self
            .sender
            .deliver_tries(&cp, &data, "{}/test:{}", &self.metrics, 1)
            .await;
        log::record(&self.db, &cp, "{}/test:{}", &data, &outcome).await;
        match outcome.result {
            Ok(answer) => Ok(
                serde_json::json!({ "ok": true, "attempts": outcome.attempts, "answer": answer }),
            ),
            Err(err) => Err(Error::SourceUnavailable(format!(
                "the test notification to `{}` failed after {} attempts: {err}",
                cp.name, outcome.attempts
            ))),
        }
    }
}
