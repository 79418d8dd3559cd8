//! The rule manager's own figures on `/metrics`, named as the seed names the portal's
//! (`keiko_*`), with the group as `rule_group` (`namespace;name`, as Prometheus writes
//! `file;group`).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};

#[derive(Clone)]
pub struct EvalMetrics {
    pub evaluations: IntCounterVec,
    pub failures: IntCounterVec,
    pub duration: HistogramVec,
    pub lag: HistogramVec,
    pub iterations: IntCounterVec,
    pub missed: IntCounterVec,
    pub alerts: IntGaugeVec,
}

impl EvalMetrics {
    pub fn new() -> EvalMetrics {
        let counter = |name: &str, help: &str| {
            IntCounterVec::new(Opts::new(name, help), &["rule_group"]).expect("valid counter")
        };
        EvalMetrics {
            evaluations: counter(
                "keiko_rule_evaluations_total",
                "Anzahl der Regel-Auswertungen",
            ),
            failures: counter(
                "keiko_rule_evaluation_failures_total",
                "Anzahl der fehlgeschlagenen Regel-Auswertungen",
            ),
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "keiko_rule_group_duration_seconds",
                    "Dauer einer Auswertung aller Regeln einer Gruppe in Sekunden",
                )
                .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                &["rule_group"],
            )
            .expect("valid histogram"),
            lag: HistogramVec::new(
                HistogramOpts::new(
                    "keiko_rule_group_evaluation_lag_seconds",
                    "Zeit vom geplanten Auswertungszeitpunkt einer Regelgruppe bis zum Ende ihrer Auswertung in Sekunden",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0,
                ]),
                &["rule_group"],
            )
            .expect("valid histogram"),
            iterations: counter(
                "keiko_rule_group_iterations_total",
                "Anzahl der geplanten Auswertungen einer Regelgruppe",
            ),
            missed: counter(
                "keiko_rule_group_iterations_missed_total",
                "Anzahl der verpassten Auswertungen einer Regelgruppe (die vorige dauerte zu lange)",
            ),
            alerts: IntGaugeVec::new(
                Opts::new("keiko_alerts", "Anzahl aktiver Alerts nach Zustand"),
                &["rule_group", "state"],
            )
            .expect("valid gauge"),
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.evaluations.clone()),
            Box::new(self.failures.clone()),
            Box::new(self.duration.clone()),
            Box::new(self.lag.clone()),
            Box::new(self.iterations.clone()),
            Box::new(self.missed.clone()),
            Box::new(self.alerts.clone()),
        ]
    }

    /// Drops the series of a group that is gone.
    pub fn forget(&self, group: &str) {
        for v in [
            &self.evaluations,
            &self.failures,
            &self.iterations,
            &self.missed,
        ] {
            let _ = v.remove_label_values(&[group]);
        }
        let _ = self.duration.remove_label_values(&[group]);
        let _ = self.lag.remove_label_values(&[group]);
        for state in ["pending", "firing"] {
            let _ = self.alerts.remove_label_values(&[group, state]);
        }
    }
}

impl Default for EvalMetrics {
    fn default() -> Self {
        EvalMetrics::new()
    }
}
