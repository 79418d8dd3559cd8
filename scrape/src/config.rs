//! `scrape_configs` in Prometheus's YAML shape, with its defaults and validation.
//!
//! ```yaml
//! global:
//!   scrape_interval: 15s
//!   external_labels: {region: eu}
//! scrape_configs:
//!   - job_name: node
//!     static_configs:
//!       - targets: ["localhost:9100"]
//!         labels: {env: prod}
//!     basic_auth: {username: prom, password_file: /run/secrets/node}
//! ```
//!
//! [`ScrapeConfigFile::from_yaml`] refuses unknown fields and fills in what
//! Prometheus fills in: global interval 1m and timeout 10s (capped at the interval),
//! per job the global interval, timeout (capped at the job's interval) and limits,
//! `metrics_path: /metrics`, `scheme: http`, `honor_timestamps: true`. Errors name
//! the field by its path, e.g. `scrape_configs[1].scrape_timeout`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::PromDuration;
use crate::exposition::Format;
use crate::labels::is_valid_label_name;
use crate::relabel::RelabelConfig;

/// A secret from the configuration. Its `Debug` and serialized forms are `<secret>`,
/// so it cannot leak into logs or the configuration API; [`Secret::expose`] reads it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for building a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// A configuration error and the path of the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Like `scrape_configs[1].static_configs[0].targets[2]`; empty for a YAML syntax
    /// error, whose message carries its own location.
    pub path: String,
    pub message: String,
}

impl ConfigError {
    fn at(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The scrape part of a Prometheus configuration file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfigFile {
    #[serde(default)]
    pub global: GlobalConfig,
    #[serde(default)]
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// `global:` — defaults for every job, and labels for data leaving this server.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default 1m.
    #[serde(default)]
    pub scrape_interval: PromDuration,
    /// Default 10s, or the interval if shorter.
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    /// Accepted so that a Prometheus `global:` block loads; scraping ignores it.
    #[serde(default, skip_serializing_if = "PromDuration::is_zero")]
    pub evaluation_interval: PromDuration,
    /// Labels to attach when data leaves this server (federation, remote write, alerts);
    /// not added to stored samples.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub external_labels: BTreeMap<String, String>,
    // The four limits are repeated in `ScrapeConfig`: serde cannot combine `flatten`
    // with `deny_unknown_fields`, and unknown fields must be refused.
    /// Most samples a scrape may keep after metric relabeling; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    /// Most labels on a series, `__name__` included; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    /// Longest label name; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    /// Longest label value; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
}

/// The per-scrape limits of a job (or the global defaults); 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScrapeLimits {
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn yes() -> bool {
    true
}

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One job: what to scrape, how often, how, and how to relabel.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    pub job_name: String,
    #[serde(default)]
    pub scrape_interval: PromDuration,
    #[serde(default)]
    pub scrape_timeout: PromDuration,
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    #[serde(default)]
    pub scheme: Scheme,
    /// Query parameters of the scrape URL.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub honor_labels: bool,
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<crate::tls::TlsConfig>,
    /// The format to assume when a target's `Content-Type` names none this crate reads:
    /// `PrometheusText0.0.4`, `OpenMetricsText0.0.1` or `OpenMetricsText1.0.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_scrape_protocol: Option<String>,
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Most samples a scrape may keep after metric relabeling; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sample_limit: u64,
    /// Most labels on a series, `__name__` included; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_limit: u64,
    /// Longest label name; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_name_length_limit: u64,
    /// Longest label value; 0: no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_value_length_limit: u64,
}

impl ScrapeConfig {
    /// This job's limits (after loading, the global ones fill its unset limits).
    pub fn limits(&self) -> ScrapeLimits {
        ScrapeLimits {
            sample_limit: self.sample_limit,
            label_limit: self.label_limit,
            label_name_length_limit: self.label_name_length_limit,
            label_value_length_limit: self.label_value_length_limit,
        }
    }

    /// The format `fallback_scrape_protocol` names, if any (validated on load).
    pub fn fallback_format(&self) -> Option<Format> {
        self.fallback_scrape_protocol
            .as_deref()
            .and_then(|p| fallback_format(p).ok())
    }
}

fn fallback_format(protocol: &str) -> Result<Format, String> {
    match protocol {
        "PrometheusText0.0.4" => Ok(Format::PrometheusText),
        "OpenMetricsText0.0.1" | "OpenMetricsText1.0.0" => Ok(Format::OpenMetrics),
        other => Err(format!(
            "unsupported scrape protocol {other:?} (supported: PrometheusText0.0.4, OpenMetricsText0.0.1, OpenMetricsText1.0.0)"
        )),
    }
}

/// A fixed group of targets and the labels they share.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// HTTP basic authentication; files are read by the caller at scrape time.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

/// An `Authorization: <type> <credentials>` header.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Default `Bearer`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

const DEFAULT_SCRAPE_INTERVAL: PromDuration = PromDuration::from_millis(60_000);
const DEFAULT_SCRAPE_TIMEOUT: PromDuration = PromDuration::from_millis(10_000);

impl ScrapeConfigFile {
    /// Reads, completes and validates a configuration.
    pub fn from_yaml(yaml: &str) -> Result<Self, ConfigError> {
        let mut file: ScrapeConfigFile = if yaml.trim().is_empty() {
            ScrapeConfigFile::default()
        } else {
            serde_norway::from_str(yaml).map_err(|e| ConfigError::at("", e.to_string()))?
        };
        file.complete_and_validate()?;
        Ok(file)
    }

    /// Fills in defaults as Prometheus does and checks every field. Idempotent.
    pub fn complete_and_validate(&mut self) -> Result<(), ConfigError> {
        let global = &mut self.global;
        if global.scrape_interval.is_zero() {
            global.scrape_interval = DEFAULT_SCRAPE_INTERVAL;
        }
        if global.scrape_timeout > global.scrape_interval {
            return Err(ConfigError::at(
                "global.scrape_timeout",
                format!(
                    "scrape timeout {} is greater than scrape interval {}",
                    global.scrape_timeout, global.scrape_interval
                ),
            ));
        }
        if global.scrape_timeout.is_zero() {
            global.scrape_timeout = DEFAULT_SCRAPE_TIMEOUT.min(global.scrape_interval);
        }
        for name in global.external_labels.keys() {
            if !is_valid_label_name(name) {
                return Err(ConfigError::at(
                    format!("global.external_labels.{name}"),
                    format!("{name:?} is not a valid label name"),
                ));
            }
        }
        let global = self.global.clone();
        let mut jobs: HashMap<String, usize> = HashMap::new();
        for (i, job) in self.scrape_configs.iter_mut().enumerate() {
            let path = format!("scrape_configs[{i}]");
            if job.job_name.is_empty() {
                return Err(ConfigError::at(
                    format!("{path}.job_name"),
                    "job_name is empty",
                ));
            }
            if let Some(first) = jobs.insert(job.job_name.clone(), i) {
                return Err(ConfigError::at(
                    format!("{path}.job_name"),
                    format!(
                        "found multiple scrape configs with job name {:?} (also scrape_configs[{first}])",
                        job.job_name
                    ),
                ));
            }
            job.complete_and_validate(&global, &path)?;
        }
        Ok(())
    }
}

impl ScrapeConfig {
    fn complete_and_validate(
        &mut self,
        global: &GlobalConfig,
        path: &str,
    ) -> Result<(), ConfigError> {
        let err =
            |field: &str, message: String| Err(ConfigError::at(format!("{path}.{field}"), message));
        if self.scrape_interval.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return err(
                "scrape_timeout",
                format!(
                    "scrape timeout {} is greater than scrape interval {}",
                    self.scrape_timeout, self.scrape_interval
                ),
            );
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        for (own, global) in [
            (&mut self.sample_limit, global.sample_limit),
            (&mut self.label_limit, global.label_limit),
            (
                &mut self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            (
                &mut self.label_value_length_limit,
                global.label_value_length_limit,
            ),
        ] {
            if *own == 0 {
                *own = global;
            }
        }
        if !self.metrics_path.starts_with('/') {
            return err(
                "metrics_path",
                format!("{:?} must start with '/'", self.metrics_path),
            );
        }
        if let Some(protocol) = &self.fallback_scrape_protocol {
            if let Err(message) = fallback_format(protocol) {
                return err("fallback_scrape_protocol", message);
            }
        }
        if let Some(name) = self.params.keys().find(|k| k.is_empty()) {
            return err("params", format!("empty parameter name {name:?}"));
        }
        self.validate_auth()
            .or_else(|(field, message)| err(field, message))?;
        if let Some(Err(message)) = self.tls_config.as_ref().map(|t| t.validate()) {
            return err("tls_config", message);
        }
        for (g, group) in self.static_configs.iter().enumerate() {
            for (t, target) in group.targets.iter().enumerate() {
                if let Err(message) = check_target_address(target) {
                    return err(&format!("static_configs[{g}].targets[{t}]"), message);
                }
            }
            if let Some(name) = group.labels.keys().find(|n| !is_valid_label_name(n)) {
                return err(
                    &format!("static_configs[{g}].labels.{name}"),
                    format!("{name:?} is not a valid label name"),
                );
            }
        }
        for (field, rules) in [
            ("relabel_configs", &self.relabel_configs),
            ("metric_relabel_configs", &self.metric_relabel_configs),
        ] {
            for (r, rule) in rules.iter().enumerate() {
                if let Err(message) = rule.validate() {
                    return err(&format!("{field}[{r}]"), message);
                }
            }
        }
        Ok(())
    }

    fn validate_auth(&mut self) -> Result<(), (&'static str, String)> {
        if self.basic_auth.is_some() && self.authorization.is_some() {
            return Err((
                "authorization",
                "at most one of basic_auth and authorization must be configured".into(),
            ));
        }
        if let Some(basic) = &self.basic_auth {
            if basic.password.is_some() && basic.password_file.is_some() {
                return Err((
                    "basic_auth",
                    "at most one of basic_auth password & password_file must be configured".into(),
                ));
            }
            if !basic.username.is_empty() && basic.username_file.is_some() {
                return Err((
                    "basic_auth",
                    "at most one of basic_auth username & username_file must be configured".into(),
                ));
            }
        }
        if let Some(auth) = &mut self.authorization {
            auth.kind = auth.kind.trim().to_owned();
            if auth.kind.is_empty() {
                auth.kind = "Bearer".to_owned();
            }
            if auth.kind.eq_ignore_ascii_case("basic") {
                return Err((
                    "authorization.type",
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                        .into(),
                ));
            }
            if auth.credentials.is_some() && auth.credentials_file.is_some() {
                return Err((
                    "authorization",
                    "at most one of authorization credentials & credentials_file must be configured".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Checks that a static target is `host:port` (an IPv6 host in brackets).
pub fn check_target_address(target: &str) -> Result<(), String> {
    let invalid = |why: &str| Err(format!("{target:?} is not a valid target: {why}"));
    if target.contains('/') {
        return invalid(
            "use host:port; the scheme goes in 'scheme' and the path in 'metrics_path'",
        );
    }
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((host, port))
                if host.contains(':')
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') =>
            {
                (host, port)
            }
            _ => return invalid("expected [ipv6]:port"),
        }
    } else {
        match target.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, port),
            Some(_) => return invalid("an IPv6 address must be in brackets, [::1]:9090"),
            None => return invalid("missing port (host:port)"),
        }
    };
    if host.is_empty() {
        return invalid("missing host");
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
    {
        return invalid("the host has characters a host name cannot have");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => invalid("the port must be a number from 1 to 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<ScrapeConfigFile, String> {
        ScrapeConfigFile::from_yaml(yaml).map_err(|e| e.to_string())
    }

    const FULL: &str = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels:
    region: eu
  sample_limit: 1000
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
  - job_name: node
    scrape_interval: 1m30s
    scrape_timeout: 20s
    metrics_path: /probe
    scheme: https
    params:
      module: [http_2xx]
    honor_labels: true
    honor_timestamps: false
    basic_auth:
      username: prom
      password: hunter2
    static_configs:
      - targets: ["10.0.0.1:9100", "[::1]:9100", "node-2.example.com:9100"]
        labels:
          env: prod
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    sample_limit: 50
    label_limit: 30
  - job_name: api
    authorization:
      credentials_file: /run/secrets/token
    static_configs:
      - targets: ["api:8080"]
"#;

    #[test]
    fn full_example_with_defaults() {
        let f = load(FULL).unwrap();
        assert_eq!(f.global.scrape_interval.to_string(), "15s");
        assert_eq!(f.global.scrape_timeout.to_string(), "10s");
        assert_eq!(f.global.external_labels["region"], "eu");
        let [prom, node, api] = &f.scrape_configs[..] else {
            panic!()
        };
        assert_eq!(prom.scrape_interval.to_string(), "15s");
        assert_eq!(prom.scrape_timeout.to_string(), "10s");
        assert_eq!(prom.metrics_path, "/metrics");
        assert_eq!(prom.scheme, Scheme::Http);
        assert!(prom.honor_timestamps && !prom.honor_labels);
        assert_eq!(prom.sample_limit, 1000, "inherited from global");
        assert_eq!(node.scrape_interval.to_string(), "1m30s");
        assert_eq!(node.scrape_timeout.to_string(), "20s");
        assert_eq!(node.scheme, Scheme::Https);
        assert_eq!(node.params["module"], vec!["http_2xx"]);
        assert!(node.honor_labels && !node.honor_timestamps);
        assert_eq!(node.sample_limit, 50);
        assert_eq!(node.label_limit, 30);
        assert_eq!(node.static_configs[0].targets.len(), 3);
        assert_eq!(
            node.basic_auth
                .as_ref()
                .unwrap()
                .password
                .as_ref()
                .unwrap()
                .expose(),
            "hunter2"
        );
        assert_eq!(api.authorization.as_ref().unwrap().kind, "Bearer");
        // Completing twice changes nothing.
        let mut again = f.clone();
        again.complete_and_validate().unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn secrets_never_show() {
        let f = load(FULL).unwrap();
        let debug = format!("{f:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<secret>"));
        let yaml = serde_norway::to_string(&f).unwrap();
        assert!(!yaml.contains("hunter2"), "{yaml}");
    }

    #[test]
    fn serialized_config_loads_again() {
        let f = load(FULL).unwrap();
        let yaml = serde_norway::to_string(&f)
            .unwrap()
            .replace("<secret>", "hunter2");
        assert_eq!(load(&yaml).unwrap(), f);
    }

    #[test]
    fn timeouts_default_to_at_most_the_interval() {
        let f = load("global: {scrape_interval: 5s}\nscrape_configs: [{job_name: a}, {job_name: b, scrape_interval: 2s}]").unwrap();
        assert_eq!(f.global.scrape_timeout.to_string(), "5s");
        assert_eq!(f.scrape_configs[0].scrape_timeout.to_string(), "5s");
        assert_eq!(f.scrape_configs[1].scrape_timeout.to_string(), "2s");
        let f = load("").unwrap();
        assert_eq!(f.global.scrape_interval.to_string(), "1m");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "scrape_configs: [{job_name: a}, {job_name: b, scrape_interval: 10s, scrape_timeout: 11s}]",
                "scrape_configs[1].scrape_timeout: scrape timeout 11s is greater than scrape interval 10s",
            ),
            (
                "global: {scrape_interval: 10s, scrape_timeout: 1m}",
                "global.scrape_timeout: scrape timeout 1m is greater than scrape interval 10s",
            ),
            (
                "scrape_configs: [{job_name: a}, {job_name: a}]",
                "scrape_configs[1].job_name: found multiple scrape configs with job name \"a\" (also scrape_configs[0])",
            ),
            ("scrape_configs: [{job_name: ''}]", "scrape_configs[0].job_name: job_name is empty"),
            (
                "scrape_configs: [{job_name: a, static_configs: [{targets: ['x:1']}, {targets: ['ok:1', 'http://x:1/m']}]}]",
                "scrape_configs[0].static_configs[1].targets[1]: \"http://x:1/m\" is not a valid target: use host:port; the scheme goes in 'scheme' and the path in 'metrics_path'",
            ),
            (
                "scrape_configs: [{job_name: a, static_configs: [{targets: ['x:1'], labels: {a-b: c}}]}]",
                "scrape_configs[0].static_configs[0].labels.a-b: \"a-b\" is not a valid label name",
            ),
            (
                "scrape_configs: [{job_name: a, metric_relabel_configs: [{action: keep}, {action: hashmod, target_label: x}]}]",
                "scrape_configs[0].metric_relabel_configs[1]: relabel configuration for hashmod requires non-zero modulus",
            ),
            (
                "scrape_configs: [{job_name: a, basic_auth: {password: x, password_file: /p}}]",
                "scrape_configs[0].basic_auth: at most one of basic_auth password & password_file must be configured",
            ),
            (
                "scrape_configs: [{job_name: a, authorization: {type: Basic, credentials: x}}]",
                "scrape_configs[0].authorization.type: authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
            ),
            (
                "scrape_configs: [{job_name: a, authorization: {credentials: x}, basic_auth: {username: u}}]",
                "scrape_configs[0].authorization: at most one of basic_auth and authorization must be configured",
            ),
            (
                "scrape_configs: [{job_name: a, metrics_path: metrics}]",
                "scrape_configs[0].metrics_path: \"metrics\" must start with '/'",
            ),
            (
                "scrape_configs: [{job_name: a, fallback_scrape_protocol: PrometheusProto}]",
                "scrape_configs[0].fallback_scrape_protocol: unsupported scrape protocol \"PrometheusProto\" (supported: PrometheusText0.0.4, OpenMetricsText0.0.1, OpenMetricsText1.0.0)",
            ),
        ];
        for (yaml, want) in cases {
            assert_eq!(load(yaml).unwrap_err(), want, "{yaml}");
        }
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        for (yaml, needle) in [
            (
                "scrape_configs: [{job_name: a, scrape_intervall: 1s}]",
                "unknown field `scrape_intervall`",
            ),
            ("global: {foo: 1}", "unknown field `foo`"),
            ("rule_files: []", "unknown field `rule_files`"),
            (
                "scrape_configs: [{job_name: a, scheme: ftp}]",
                "unknown variant `ftp`",
            ),
            (
                "scrape_configs: [{job_name: a, scrape_interval: 1.5s}]",
                "not a valid duration string",
            ),
            (
                "scrape_configs: [{job_name: a, static_configs: [{targets: ['a:1'], extra: 1}]}]",
                "unknown field `extra`",
            ),
            (
                "scrape_configs: [{job_name: a, basic_auth: {user: x}}]",
                "unknown field `user`",
            ),
            (
                "scrape_configs: [{job_name: a, relabel_configs: [{regex: '('}]}]",
                "invalid regex",
            ),
            (
                "scrape_configs: [{scrape_interval: 1s}]",
                "missing field `job_name`",
            ),
        ] {
            let err = load(yaml).unwrap_err();
            assert!(err.contains(needle), "{yaml}: {err}");
        }
        let err = load("scrape_configs: [{job_name: a, scrape_intervall: 1s}]").unwrap_err();
        assert!(
            err.starts_with("scrape_configs[0]"),
            "serde_norway names the path: {err}"
        );
    }

    #[test]
    fn target_addresses() {
        for ok in [
            "localhost:9090",
            "10.0.0.1:1",
            "[::1]:9100",
            "[fe80::1]:65535",
            "node_exporter.svc.local:9100",
        ] {
            assert_eq!(check_target_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "localhost",
            ":9090",
            "host:0",
            "host:65536",
            "host:+80",
            "::1:9090",
            "[::1]",
            "host:port",
            "a b:1",
            "http://a:1",
            "[zz]:1",
            "",
        ] {
            assert!(check_target_address(bad).is_err(), "{bad}");
        }
    }
}
