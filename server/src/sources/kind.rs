//! Store types and the family each belongs to. A type is checked here, not by the table
//! (the `type` column has no CHECK, type-specific settings live in the `settings` JSON
//! column), so a new store type needs no table rebuild: it needs a variant here, its
//! settings struct and its client in a folder of its own.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// What a store holds, and so which trait its client implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// [`super::MetricsSource`]
    Metrics,
    /// [`super::logs::LogSource`]
    Logs,
    /// [`super::traces::TraceSource`]
    Traces,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Metrics => "metrics",
            Family::Logs => "logs",
            Family::Traces => "traces",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The store types the portal knows, spoken to or to come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// The Prometheus HTTP API: Prometheus, VictoriaMetrics, Thanos, Mimir.
    Prometheus,
    /// The portal's own metrics store (built in: one, never created or deleted by hand).
    Embedded,
    Clickhouse,
    Loki,
    Elasticsearch,
    Jaeger,
    Zipkin,
    Tempo,
}

impl SourceKind {
    pub const ALL: [SourceKind; 8] = [
        SourceKind::Prometheus,
        SourceKind::Embedded,
        SourceKind::Clickhouse,
        SourceKind::Loki,
        SourceKind::Elasticsearch,
        SourceKind::Jaeger,
        SourceKind::Zipkin,
        SourceKind::Tempo,
    ];

    pub fn parse(kind: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Prometheus => "prometheus",
            SourceKind::Embedded => "embedded",
            SourceKind::Clickhouse => "clickhouse",
            SourceKind::Loki => "loki",
            SourceKind::Elasticsearch => "elasticsearch",
            SourceKind::Jaeger => "jaeger",
            SourceKind::Zipkin => "zipkin",
            SourceKind::Tempo => "tempo",
        }
    }

    pub fn family(self) -> Family {
        match self {
            SourceKind::Prometheus | SourceKind::Embedded => Family::Metrics,
            SourceKind::Clickhouse | SourceKind::Loki | SourceKind::Elasticsearch => Family::Logs,
            SourceKind::Jaeger | SourceKind::Zipkin | SourceKind::Tempo => Family::Traces,
        }
    }

    /// The type's settings (the `settings` member of a body), checked against the type's
    /// own struct and returned as stored; errors name `settings.<member>`.
    pub fn settings(self, given: Option<&Value>) -> Result<Value, Error> {
        let empty = Value::Object(Default::default());
        let given = given.unwrap_or(&empty);
        match self {
            SourceKind::Prometheus => typed::<PrometheusSettings>(given),
            SourceKind::Embedded => typed::<EmbeddedSettings>(given),
            other => Err(not_implemented(other)),
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The refusal of a type this version has no client for.
pub fn not_implemented(kind: SourceKind) -> Error {
    Error::invalid(
        "type",
        format!(
            "`{kind}` ({} sources) is not available in this version yet; use prometheus",
            kind.family()
        ),
    )
}

/// Settings of a `prometheus` source: none beyond URL, auth and timeout so far.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSettings {}

/// Settings of the built-in store: none.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedSettings {}

fn typed<T: DeserializeOwned + Serialize>(given: &Value) -> Result<Value, Error> {
    if !given.is_object() {
        return Err(Error::invalid("settings", "must be a JSON object"));
    }
    let parsed: T = serde_path_to_error::deserialize(given).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let member = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
            .unwrap_or(path);
        Error::invalid(format!("settings.{member}"), message)
    })?;
    serde_json::to_value(parsed).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_names_itself_and_its_family() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SourceKind::Loki.family(), Family::Logs);
        assert_eq!(SourceKind::Tempo.family(), Family::Traces);
        assert_eq!(SourceKind::Embedded.family(), Family::Metrics);
        assert_eq!(SourceKind::parse("graphite"), None);
    }

    #[test]
    fn settings_are_checked_by_type() {
        let ok = SourceKind::Prometheus.settings(None).unwrap();
        assert_eq!(ok, serde_json::json!({}));
        let err = SourceKind::Prometheus
            .settings(Some(&serde_json::json!({ "database": "x" })))
            .unwrap_err();
        assert_eq!(err.field(), Some("settings.database"));
        let err = SourceKind::Prometheus
            .settings(Some(&serde_json::json!([1])))
            .unwrap_err();
        assert_eq!(err.field(), Some("settings"));
        let err = SourceKind::Loki.settings(None).unwrap_err();
        assert_eq!(err.field(), Some("type"));
        assert!(err.message().contains("logs"), "{}", err.message());
    }
}
