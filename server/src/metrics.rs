//! The portal's own metrics, named and labelled exactly as the seed's `prometheus_client`
//! definitions (help texts included), plus the standard `process_*` metrics.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// The seed's request-duration buckets, in seconds.
pub const REQUEST_DURATION_BUCKETS: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Label value used when a request matched no route (bounded cardinality: never the raw path).
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests_total: IntCounterVec,
    pub request_duration_seconds: HistogramVec,
    pub errors_total: IntCounterVec,
    pub security_events_total: IntCounterVec,
    pub user_sessions_active: IntGauge,
    pub user_actions_total: IntCounterVec,
    /// `(name, help, type)` of every family, so empty label vectors still announce themselves.
    families: Vec<(&'static str, &'static str, &'static str)>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name, help, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter");
            registry
                .register(Box::new(c.clone()))
                .expect("unique counter");
            c
        };
        let requests_total = counter(
            "keiko_requests_total",
            "Gesamtanzahl der Requests",
            &["method", "endpoint", "status"],
        );
        let errors_total = counter(
            "keiko_errors_total",
            "Gesamtanzahl der Fehler",
            &["error_type", "component", "severity"],
        );
        let security_events_total = counter(
            "keiko_security_events_total",
            "Gesamtanzahl der Sicherheitsereignisse",
            &["event_type", "severity", "source"],
        );
        let user_actions_total = counter(
            "keiko_user_actions_total",
            "Gesamtanzahl der Benutzer-Aktionen",
            &["action_type", "user_role"],
        );
        let request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "keiko_request_duration_seconds",
                "Request-Dauer in Sekunden",
            )
            .buckets(REQUEST_DURATION_BUCKETS.to_vec()),
            &["method", "endpoint"],
        )
        .expect("valid histogram");
        registry
            .register(Box::new(request_duration_seconds.clone()))
            .expect("unique histogram");
        let user_sessions_active = IntGauge::new(
            "keiko_user_sessions_active",
            "Anzahl aktiver Benutzer-Sessions",
        )
        .expect("valid gauge");
        registry
            .register(Box::new(user_sessions_active.clone()))
            .expect("unique gauge");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique process collector");

        // Series that alert rules watch exist from the start, at 0, so `rate()` sees the
        // first failure.
        for source in ["login_form", "api_session", "basic_auth"] {
            security_events_total.with_label_values(&["login_failed", "warning", source]);
        }
        Metrics {
            registry,
            requests_total,
            request_duration_seconds,
            errors_total,
            security_events_total,
            user_sessions_active,
            user_actions_total,
            families: vec![
                (
                    "keiko_requests_total",
                    "Gesamtanzahl der Requests",
                    "counter",
                ),
                (
                    "keiko_request_duration_seconds",
                    "Request-Dauer in Sekunden",
                    "histogram",
                ),
                ("keiko_errors_total", "Gesamtanzahl der Fehler", "counter"),
                (
                    "keiko_security_events_total",
                    "Gesamtanzahl der Sicherheitsereignisse",
                    "counter",
                ),
                (
                    "keiko_user_sessions_active",
                    "Anzahl aktiver Benutzer-Sessions",
                    "gauge",
                ),
                (
                    "keiko_user_actions_total",
                    "Gesamtanzahl der Benutzer-Aktionen",
                    "counter",
                ),
            ],
        }
    }

    /// Counts a finished HTTP request. `endpoint` is the matched route template.
    pub fn observe_request(&self, method: &str, endpoint: &str, status: u16, seconds: f64) {
        self.requests_total
            .with_label_values(&[method, endpoint, status.to_string().as_str()])
            .inc();
        self.request_duration_seconds
            .with_label_values(&[method, endpoint])
            .observe(seconds);
    }

    /// Counts a security event (`login_failed`, `account_locked`, `csrf_rejected`, …).
    pub fn security_event(&self, event_type: &str, severity: &str, source: &str) {
        self.security_events_total
            .with_label_values(&[event_type, severity, source])
            .inc();
    }

    /// Counts an error the portal met; `severity` is `warning`, `error` or `critical`.
    pub fn error(&self, error_type: &str, component: &str, severity: &str) {
        self.errors_total
            .with_label_values(&[error_type, component, severity])
            .inc();
    }

    /// Adds a component's own families (e.g. the remote-write forwarder's) to `/metrics`.
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) -> prometheus::Result<()> {
        self.registry.register(c)
    }

    /// The Prometheus text exposition of every family. A family that has no series yet is
    /// still announced with its `# HELP` and `# TYPE` lines.
    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut buf)
            .expect("text encoding into a Vec cannot fail");
        let mut text = String::from_utf8(buf).expect("the text encoder writes UTF-8");
        for (name, help, kind) in &self.families {
            if !families.iter().any(|f| f.name() == *name) {
                text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            }
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_family_is_announced_before_any_sample() {
        let text = Metrics::new().render();
        for family in [
            "keiko_requests_total counter",
            "keiko_request_duration_seconds histogram",
            "keiko_errors_total counter",
            "keiko_security_events_total counter",
            "keiko_user_sessions_active gauge",
            "keiko_user_actions_total counter",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family}")),
                "{family} missing:\n{text}"
            );
        }
    }

    #[test]
    fn request_histogram_uses_the_seed_buckets() {
        let metrics = Metrics::new();
        metrics.observe_request("GET", "/healthz", 200, 0.3);
        let text = metrics.render();
        for le in ["0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"] {
            assert!(
                text.contains(&format!(
                    "keiko_request_duration_seconds_bucket{{endpoint=\"/healthz\",method=\"GET\",le=\"{le}\"}}"
                )),
                "bucket {le} missing:\n{text}"
            );
        }
        assert!(text.contains(
            "keiko_requests_total{endpoint=\"/healthz\",method=\"GET\",status=\"200\"} 1"
        ));
    }
}
