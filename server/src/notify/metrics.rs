//! `keiko_notifications_total{type,outcome}`, `keiko_notification_attempts_failed_total`,
//! `keiko_notification_alerts_dropped_total`, `keiko_notification_latency_seconds`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts};

#[derive(Clone)]
pub struct NotifyMetrics {
    /// Notifications by contact point type and outcome (`sent`, `failed`).
    pub notifications: IntCounterVec,
    /// Failed attempts (each retry counts) by contact point type.
    pub failed_attempts: IntCounterVec,
    /// Batches of posted alerts dropped because the dispatcher's queue was full, and alerts
    /// dropped beyond the dispatcher's alert limit.
    pub dropped: IntCounter,
    /// Time to deliver one notification, retries included.
    pub latency: Histogram,
}

impl NotifyMetrics {
    pub fn new() -> NotifyMetrics {
        NotifyMetrics {
            notifications: IntCounterVec::new(
                Opts::new(
                    "keiko_notifications_total",
                    "Notifications sent or failed by contact point type",
                ),
                &["type", "outcome"],
            )
            .expect("valid counter"),
            failed_attempts: IntCounterVec::new(
                Opts::new(
                    "keiko_notification_attempts_failed_total",
                    "Failed notification attempts, retries included",
                ),
                &["type"],
            )
            .expect("valid counter"),
            dropped: IntCounter::new(
                "keiko_notification_alerts_dropped_total",
                "Batches of alerts dropped because the notification queue was full, and alerts beyond the alert limit",
            )
            .expect("valid counter"),
            latency: Histogram::with_opts(HistogramOpts::new(
                "keiko_notification_latency_seconds",
                "Time to deliver one notification, retries included",
            ))
            .expect("valid histogram"),
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.notifications.clone()),
            Box::new(self.failed_attempts.clone()),
            Box::new(self.dropped.clone()),
            Box::new(self.latency.clone()),
        ]
    }
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        NotifyMetrics::new()
    }
}
