//! Configuration: defaults, then an optional TOML file (`--config`), then `KEIKO_*`
//! environment variables. Validated once at start-up; the rest of the code trusts it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// How log lines are written to stdout.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, with the seed's StructuredFormatter fields.
    #[default]
    Json,
    /// Human-readable, coloured when stdout is a terminal.
    Pretty,
}

impl LogFormat {
    fn parse(s: &str) -> anyhow::Result<Self> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => bail!("KEIKO_LOG_FORMAT must be `json` or `pretty`, not `{other}`"),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP server binds to. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Directory holding the SQLite database, the audit log file and generated secrets.
    pub data_dir: PathBuf,
    /// Directory holding the built site assets (`pkg/keiko.js`, `pkg/keiko.wasm`, `pkg/keiko.css`).
    pub site_root: PathBuf,
    /// Log line format on stdout.
    pub log_format: LogFormat,
    /// Log filter in `tracing` syntax, e.g. `info` or `info,sqlx=warn`.
    pub log_level: String,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// Requests running longer than this many seconds are answered with 408.
    pub request_timeout_secs: u64,
    /// A session lasts this many seconds after sign-in.
    pub session_ttl_secs: u64,
    /// Mark the session cookie `Secure` (set when the portal is served over TLS). Implied
    /// by an `https://` [`Config::public_url`].
    pub secure_cookies: bool,
    /// The address users reach the portal at, as Grafana's `root_url` (e.g.
    /// `https://keiko.example.org/`), when a proxy in front terminates TLS.
    pub public_url: Option<String>,
    /// Consecutive failed sign-ins that lock a login.
    pub lockout_threshold: u32,
    /// How long a locked login stays locked, in seconds.
    pub lockout_secs: u64,
    /// When set, `/metrics` needs `Authorization: Bearer <this>` (or a signed-in user).
    pub metrics_token: Option<String>,
    /// 64 hex characters: the key that encrypts data-source secrets. Unset: generated once
    /// into `<data dir>/secret.key`.
    pub secret_key: Option<String>,
    /// Allow data sources on link-local and cloud-metadata addresses (refused by default).
    pub allow_link_local_sources: bool,
    /// Largest answer read from a data source, in bytes.
    pub source_max_bytes: usize,
    /// Dashboards as code: `<dir>/dashboards/*.json` (native or Grafana) load at start.
    pub provisioning_dir: Option<PathBuf>,
    /// Write the seed's alert rules (`keiko.rules`) into a rule store that never held a group.
    pub provision_seed_rules: bool,
    /// The embedded metrics store keeps samples this many days (under `<data dir>/tsdb`).
    pub metrics_retention_days: u64,
    /// And at most this many bytes on disk (oldest blocks go first); unset: no size limit.
    pub metrics_retention_bytes: Option<u64>,
    /// The embedded log store keeps lines this many days (under `<data dir>/logs`).
    pub logs_retention_days: u64,
    /// And at most this many bytes on disk (oldest blocks go first); unset: no size limit.
    pub logs_retention_bytes: Option<u64>,
    /// Longest log line ingest accepts (a JSON line, a bulk document, a record once read),
    /// in bytes.
    pub logs_max_line_bytes: usize,
    /// Most log lines (records, bulk actions, forward entries) in one ingest request.
    pub logs_max_lines_per_request: usize,
    /// Most fields (attributes besides time, level, service, ids and message) on one line.
    pub logs_max_fields_per_line: usize,
    /// Longest field name on one line, in bytes.
    pub logs_max_field_name_bytes: usize,
    /// Most bytes of log records (once read) one push stores; at most 256 MiB.
    pub logs_max_request_bytes: usize,
    /// The embedded span store keeps spans this many days (under `<data dir>/traces`).
    pub traces_retention_days: u64,
    /// And at most this many bytes on disk (oldest blocks go first); unset: no size limit.
    pub traces_retention_bytes: Option<u64>,
    /// The portal scrapes its own `/metrics` into the embedded store this often (job
    /// `keiko-portal`); 0 turns the self-scrape off.
    pub self_scrape_interval_secs: u64,
    /// Accept pushed metrics (`/api/v1/write`, `/v1/metrics`) without credentials.
    pub anonymous_ingest: bool,
    /// Address of the Fluentd forward protocol listener (e.g. `127.0.0.1:24224`); unset: off.
    /// The protocol's shared-key handshake is not spoken: bind it to a trusted network.
    pub fluent_forward_listen: Option<SocketAddr>,
    /// `scrape_configs` in Prometheus's YAML shape: targets the embedded store scrapes
    /// (reloaded on SIGHUP and on `POST /api/v1/scrape-config/reload`).
    pub scrape_config_file: Option<PathBuf>,
    /// Remote-write receivers (VictoriaMetrics, Mimir, Prometheus) every sample the embedded
    /// store accepts is also sent to.
    pub remote_write_urls: Vec<String>,
    /// Samples queued per receiver while it is slow or down; beyond, the oldest are dropped
    /// (and counted).
    pub remote_write_queue_samples: usize,
    /// A rule group without `interval` is evaluated this often, in seconds (Prometheus's
    /// `evaluation_interval`).
    pub rule_evaluation_interval_secs: u64,
    /// Each rule's query may take this many seconds.
    pub rule_query_timeout_secs: u64,
    /// Rule groups evaluated at the same time, at most.
    pub rule_concurrency: usize,
    /// Alerts one alerting rule may hold (a group's `limit` may ask for fewer).
    pub rule_max_alerts: usize,
    /// Each alerting rule's state history keeps transitions this many days.
    pub alert_history_days: u64,
    /// And at most this many transitions per rule (the oldest go first).
    pub alert_history_per_rule: usize,
    /// `$externalLabels` of alert templates (Prometheus's `external_labels`).
    pub external_labels: std::collections::BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from("data"),
            site_root: PathBuf::from("target/site"),
            log_format: LogFormat::Json,
            log_level: "info,sqlx=warn".to_owned(),
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            session_ttl_secs: 24 * 3600,
            secure_cookies: false,
            public_url: None,
            lockout_threshold: 5,
            lockout_secs: 300,
            metrics_token: None,
            secret_key: None,
            allow_link_local_sources: false,
            source_max_bytes: 64 * 1024 * 1024,
            provisioning_dir: None,
            provision_seed_rules: true,
            metrics_retention_days: 15,
            metrics_retention_bytes: None,
            logs_retention_days: 7,
            logs_retention_bytes: None,
            logs_max_line_bytes: 256 << 10,
            logs_max_lines_per_request: 100_000,
            logs_max_fields_per_line: 128,
            logs_max_field_name_bytes: 256,
            logs_max_request_bytes: 64 << 20,
            traces_retention_days: 7,
            traces_retention_bytes: None,
            self_scrape_interval_secs: 15,
            anonymous_ingest: false,
            fluent_forward_listen: None,
            scrape_config_file: None,
            remote_write_urls: Vec::new(),
            remote_write_queue_samples: 500_000,
            rule_evaluation_interval_secs: 60,
            rule_query_timeout_secs: 30,
            rule_concurrency: 4,
            rule_max_alerts: 10_000,
            alert_history_days: 30,
            alert_history_per_rule: 1_000,
            external_labels: Default::default(),
        }
    }
}

impl Config {
    /// Loads the file if given, then applies the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config file {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Applies `KEIKO_*` overrides; `var` is the environment (a parameter so tests need not
    /// touch the process environment).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("KEIKO_LISTEN") {
            self.listen = v
                .parse()
                .with_context(|| format!("KEIKO_LISTEN must be HOST:PORT, not `{v}`"))?;
        }
        if let Some(v) = var("KEIKO_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("KEIKO_SITE_ROOT") {
            self.site_root = PathBuf::from(v);
        }
        if let Some(v) = var("KEIKO_LOG_FORMAT") {
            self.log_format = LogFormat::parse(&v)?;
        }
        if let Some(v) = var("KEIKO_LOG_LEVEL") {
            self.log_level = v;
        }
        if let Some(v) = var("KEIKO_BODY_LIMIT_BYTES") {
            self.body_limit_bytes = v
                .parse()
                .with_context(|| format!("KEIKO_BODY_LIMIT_BYTES must be a number, not `{v}`"))?;
        }
        if let Some(v) = var("KEIKO_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = v.parse().with_context(|| {
                format!("KEIKO_REQUEST_TIMEOUT_SECS must be a number, not `{v}`")
            })?;
        }
        if let Some(v) = var("KEIKO_SESSION_TTL_SECS") {
            self.session_ttl_secs = parse_number("KEIKO_SESSION_TTL_SECS", &v)?;
        }
        if let Some(v) = var("KEIKO_SECURE_COOKIES") {
            self.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = var("KEIKO_PUBLIC_URL") {
            self.public_url = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = var("KEIKO_LOCKOUT_THRESHOLD") {
            self.lockout_threshold = parse_number("KEIKO_LOCKOUT_THRESHOLD", &v)?;
        }
        if let Some(v) = var("KEIKO_LOCKOUT_SECS") {
            self.lockout_secs = parse_number("KEIKO_LOCKOUT_SECS", &v)?;
        }
        if let Some(v) = var("KEIKO_METRICS_TOKEN") {
            self.metrics_token = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = var("KEIKO_SECRET_KEY") {
            self.secret_key = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = var("KEIKO_ALLOW_LINK_LOCAL_SOURCES") {
            self.allow_link_local_sources = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = var("KEIKO_PROVISION_SEED_RULES") {
            self.provision_seed_rules = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = var("KEIKO_PROVISIONING_DIR") {
            self.provisioning_dir = (!v.is_empty()).then(|| PathBuf::from(v));
        }
        if let Some(v) = var("KEIKO_SOURCE_MAX_BYTES") {
            self.source_max_bytes = parse_number("KEIKO_SOURCE_MAX_BYTES", &v)?;
        }
        if let Some(v) = var("KEIKO_METRICS_RETENTION_DAYS") {
            self.metrics_retention_days = parse_number("KEIKO_METRICS_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = var("KEIKO_METRICS_RETENTION_BYTES") {
            self.metrics_retention_bytes = if v.is_empty() {
                None
            } else {
                Some(parse_number("KEIKO_METRICS_RETENTION_BYTES", &v)?)
            };
        }
        if let Some(v) = var("KEIKO_LOGS_RETENTION_DAYS") {
            self.logs_retention_days = parse_number("KEIKO_LOGS_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = var("KEIKO_LOGS_RETENTION_BYTES") {
            self.logs_retention_bytes = if v.is_empty() {
                None
            } else {
                Some(parse_number("KEIKO_LOGS_RETENTION_BYTES", &v)?)
            };
        }
        if let Some(v) = var("KEIKO_LOGS_MAX_LINE_BYTES") {
            self.logs_max_line_bytes = parse_number("KEIKO_LOGS_MAX_LINE_BYTES", &v)?;
        }
        if let Some(v) = var("KEIKO_LOGS_MAX_LINES_PER_REQUEST") {
            self.logs_max_lines_per_request = parse_number("KEIKO_LOGS_MAX_LINES_PER_REQUEST", &v)?;
        }
        if let Some(v) = var("KEIKO_LOGS_MAX_FIELDS_PER_LINE") {
            self.logs_max_fields_per_line = parse_number("KEIKO_LOGS_MAX_FIELDS_PER_LINE", &v)?;
        }
        if let Some(v) = var("KEIKO_LOGS_MAX_FIELD_NAME_BYTES") {
            self.logs_max_field_name_bytes = parse_number("KEIKO_LOGS_MAX_FIELD_NAME_BYTES", &v)?;
        }
        if let Some(v) = var("KEIKO_LOGS_MAX_REQUEST_BYTES") {
            self.logs_max_request_bytes = parse_number("KEIKO_LOGS_MAX_REQUEST_BYTES", &v)?;
        }
        if let Some(v) = var("KEIKO_TRACES_RETENTION_DAYS") {
            self.traces_retention_days = parse_number("KEIKO_TRACES_RETENTION_DAYS", &v)?;
        }
        if let Some(v) = var("KEIKO_TRACES_RETENTION_BYTES") {
            self.traces_retention_bytes = if v.is_empty() {
                None
            } else {
                Some(parse_number("KEIKO_TRACES_RETENTION_BYTES", &v)?)
            };
        }
        if let Some(v) = var("KEIKO_SELF_SCRAPE_INTERVAL_SECS") {
            self.self_scrape_interval_secs = parse_number("KEIKO_SELF_SCRAPE_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = var("KEIKO_SCRAPE_CONFIG_FILE") {
            self.scrape_config_file = (!v.is_empty()).then(|| PathBuf::from(v));
        }
        if let Some(v) = var("KEIKO_REMOTE_WRITE_URLS") {
            self.remote_write_urls = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = var("KEIKO_REMOTE_WRITE_QUEUE_SAMPLES") {
            self.remote_write_queue_samples = parse_number("KEIKO_REMOTE_WRITE_QUEUE_SAMPLES", &v)?;
        }
        if let Some(v) = var("KEIKO_RULE_EVALUATION_INTERVAL_SECS") {
            self.rule_evaluation_interval_secs =
                parse_number("KEIKO_RULE_EVALUATION_INTERVAL_SECS", &v)?;
        }
        if let Some(v) = var("KEIKO_RULE_QUERY_TIMEOUT_SECS") {
            self.rule_query_timeout_secs = parse_number("KEIKO_RULE_QUERY_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = var("KEIKO_RULE_CONCURRENCY") {
            self.rule_concurrency = parse_number("KEIKO_RULE_CONCURRENCY", &v)?;
        }
        if let Some(v) = var("KEIKO_RULE_MAX_ALERTS") {
            self.rule_max_alerts = parse_number("KEIKO_RULE_MAX_ALERTS", &v)?;
        }
        if let Some(v) = var("KEIKO_ALERT_HISTORY_DAYS") {
            self.alert_history_days = parse_number("KEIKO_ALERT_HISTORY_DAYS", &v)?;
        }
        if let Some(v) = var("KEIKO_ALERT_HISTORY_PER_RULE") {
            self.alert_history_per_rule = parse_number("KEIKO_ALERT_HISTORY_PER_RULE", &v)?;
        }
        if let Some(v) = var("KEIKO_EXTERNAL_LABELS") {
            self.external_labels = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .with_context(|| {
                            format!("KEIKO_EXTERNAL_LABELS must be name=value pairs, not `{p}`")
                        })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = var("KEIKO_FLUENT_FORWARD_LISTEN") {
            self.fluent_forward_listen = if v.is_empty() {
                None
            } else {
                Some(v.parse().with_context(|| {
                    format!("KEIKO_FLUENT_FORWARD_LISTEN must be HOST:PORT, not `{v}`")
                })?)
            };
        }
        if let Some(v) = var("KEIKO_ANONYMOUS_INGEST") {
            self.anonymous_ingest = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.body_limit_bytes < 1024 {
            bail!("body_limit_bytes must be at least 1024");
        }
        if self.request_timeout_secs == 0 {
            bail!("request_timeout_secs must be at least 1");
        }
        if self.session_ttl_secs == 0 {
            bail!("session_ttl_secs must be at least 1");
        }
        if self.lockout_threshold == 0 {
            bail!("lockout_threshold must be at least 1");
        }
        if self.remote_write_queue_samples == 0 {
            bail!("remote_write_queue_samples must be at least 1");
        }
        if self.rule_evaluation_interval_secs == 0
            || self.rule_query_timeout_secs == 0
            || self.rule_concurrency == 0
            || self.rule_max_alerts == 0
        {
            bail!("rule_evaluation_interval_secs, rule_query_timeout_secs, rule_concurrency and rule_max_alerts must be at least 1");
        }
        if self.alert_history_days == 0 || self.alert_history_per_rule == 0 {
            bail!("alert_history_days and alert_history_per_rule must be at least 1");
        }
        if self.metrics_retention_days == 0 {
            bail!("metrics_retention_days must be at least 1");
        }
        if self.logs_retention_days == 0 {
            bail!("logs_retention_days must be at least 1");
        }
        if self.logs_max_line_bytes < 256
            || self.logs_max_lines_per_request == 0
            || self.logs_max_fields_per_line == 0
        {
            bail!("logs_max_line_bytes must be at least 256, logs_max_lines_per_request and logs_max_fields_per_line at least 1");
        }
        if self.logs_max_field_name_bytes == 0 {
            bail!("logs_max_field_name_bytes must be at least 1");
        }
        // The store's WAL reads a record of up to 1 GiB back; a batch's encoding may take
        // about three times its records' size (many short attributes).
        if !(self.logs_max_line_bytes..=256 << 20).contains(&self.logs_max_request_bytes) {
            bail!("logs_max_request_bytes must be at least logs_max_line_bytes and at most 268435456 (256 MiB)");
        }
        if self.traces_retention_days == 0 {
            bail!("traces_retention_days must be at least 1");
        }
        if let Some(u) = &self.public_url {
            let parsed = url::Url::parse(u)
                .with_context(|| format!("public_url must be an absolute URL, not `{u}`"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                bail!("public_url must be an http(s) URL with a host, not `{u}`");
            }
        }
        Ok(())
    }

    /// Whether the session cookie carries `Secure`: set by hand, or implied by a public URL
    /// on https.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            || self
                .public_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://"))
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("keiko.db")
    }

    pub fn audit_log_path(&self) -> PathBuf {
        self.data_dir.join("audit.log")
    }
}

fn parse_number<T: std::str::FromStr>(name: &str, v: &str) -> anyhow::Result<T> {
    v.parse()
        .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not `{v}`"))
}

#[cfg(test)]
mod public_url_tests {
    use super::*;

    #[test]
    fn an_https_public_url_makes_cookies_secure_and_a_bad_one_is_refused() {
        let mut c = Config::default();
        assert!(!c.cookies_secure());
        c.apply_env(|k| (k == "KEIKO_PUBLIC_URL").then(|| "https://keiko.example/".into()))
            .unwrap();
        c.validate().unwrap();
        assert!(c.cookies_secure());
        c.public_url = Some("keiko.example".into());
        assert!(c.validate().is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_values() {
        let mut config: Config = toml::from_str("listen = \"127.0.0.1:4000\"").unwrap();
        config
            .apply_env(|name| match name {
                "KEIKO_LISTEN" => Some("127.0.0.1:5000".into()),
                "KEIKO_DATA_DIR" => Some("/tmp/x".into()),
                "KEIKO_LOG_FORMAT" => Some("pretty".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.listen.port(), 5000);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.log_format, LogFormat::Pretty);
    }

    #[test]
    fn log_ingest_limits_come_from_the_file_and_the_environment() {
        let mut config: Config = toml::from_str("logs_max_line_bytes = 4096").unwrap();
        config
            .apply_env(|name| match name {
                "KEIKO_LOGS_MAX_LINES_PER_REQUEST" => Some("50".into()),
                "KEIKO_LOGS_MAX_FIELDS_PER_LINE" => Some("8".into()),
                "KEIKO_LOGS_MAX_FIELD_NAME_BYTES" => Some("40".into()),
                "KEIKO_LOGS_MAX_REQUEST_BYTES" => Some("1048576".into()),
                _ => None,
            })
            .unwrap();
        config.validate().unwrap();
        assert_eq!(
            (
                config.logs_max_line_bytes,
                config.logs_max_lines_per_request,
                config.logs_max_fields_per_line
            ),
            (4096, 50, 8)
        );
        assert_eq!(
            (
                config.logs_max_field_name_bytes,
                config.logs_max_request_bytes
            ),
            (40, 1 << 20)
        );
        config.logs_max_request_bytes = 1024;
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("logs_max_request_bytes"), "{err}");
        config.logs_max_request_bytes = 1 << 20;
        config.logs_max_fields_per_line = 0;
        let err = config.validate().unwrap_err();
        assert!(
            err.to_string().contains("logs_max_fields_per_line"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let err = toml::from_str::<Config>("lissen = \"127.0.0.1:4000\"").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn a_bad_log_format_names_the_variable() {
        let err = Config::default()
            .apply_env(|n| (n == "KEIKO_LOG_FORMAT").then(|| "xml".into()))
            .unwrap_err();
        assert!(err.to_string().contains("KEIKO_LOG_FORMAT"), "{err}");
    }
}
