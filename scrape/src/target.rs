//! From a configuration to the targets to scrape, as Prometheus builds them.
//!
//! Each static target starts with `__address__` and its group's labels, then gets
//! `job`, `__scheme__`, `__metrics_path__`, `__scrape_interval__`,
//! `__scrape_timeout__` and one `__param_<name>` per configured parameter (each
//! only if not already set). `relabel_configs` run on that set; a target they drop
//! is reported as dropped. Then `__meta_*` labels are removed, `instance` defaults to
//! `__address__`, and the labels starting with `__` are left out of the target's
//! public labels, which every sample scraped from it gets.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{
    Authorization, BasicAuth, ScrapeConfig, ScrapeConfigFile, ScrapeLimits, Secret,
};
use crate::duration::PromDuration;
use crate::exposition::Format;
use crate::labels::Labels;
use crate::relabel::{self, RelabelConfig};

/// How to authenticate a scrape. Secrets in files are read by the caller, at scrape
/// time, through [`Auth::header_value`] (Prometheus re-reads them on every scrape).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Auth {
    #[default]
    None,
    Basic(BasicAuth),
    Authorization(Authorization),
}

impl Auth {
    /// The `Authorization` header value to send, if any. `read_file` reads a secret
    /// file; its content is trimmed of surrounding whitespace, as Prometheus does.
    pub fn header_value(
        &self,
        mut read_file: impl FnMut(&Path) -> io::Result<String>,
    ) -> io::Result<Option<Secret>> {
        let mut read = |inline: Option<&str>, file: Option<&PathBuf>| -> io::Result<String> {
            match (inline, file) {
                (_, Some(path)) => Ok(read_file(path)?.trim().to_owned()),
                (Some(value), None) => Ok(value.to_owned()),
                (None, None) => Ok(String::new()),
            }
        };
        Ok(match self {
            Auth::None => None,
            Auth::Basic(basic) => {
                let user = read(Some(&basic.username), basic.username_file.as_ref())?;
                let password = read(
                    basic.password.as_ref().map(Secret::expose),
                    basic.password_file.as_ref(),
                )?;
                Some(Secret::new(format!(
                    "Basic {}",
                    base64(format!("{user}:{password}").as_bytes())
                )))
            }
            Auth::Authorization(auth) => {
                let credentials = read(
                    auth.credentials.as_ref().map(Secret::expose),
                    auth.credentials_file.as_ref(),
                )?;
                Some(Secret::new(format!("{} {credentials}", auth.kind)))
            }
        })
    }
}

/// Standard base64 with padding (RFC 4648), for the basic-auth header.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One endpoint to scrape and everything needed to scrape it and store the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub job: String,
    /// The full scrape URL, query parameters included.
    pub url: String,
    /// The labels every sample from this target gets (`job`, `instance`, …), sorted.
    pub labels: Labels,
    /// The labels before relabeling, for the targets API.
    pub discovered_labels: Labels,
    pub interval: Duration,
    pub timeout: Duration,
    pub auth: Auth,
    /// The job's `tls_config` (for `https` targets).
    pub tls: Option<crate::tls::TlsConfig>,
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub limits: ScrapeLimits,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// The format to assume when the response's `Content-Type` names none.
    pub fallback_format: Option<Format>,
}

/// A target `relabel_configs` dropped, for the targets API.
#[derive(Debug, Clone, PartialEq)]
pub struct DroppedTarget {
    pub job: String,
    pub discovered_labels: Labels,
}

/// A target whose labels after relabeling make no valid target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetError {
    pub job: String,
    pub discovered_labels: Labels,
    pub message: String,
}

/// Every target of a configuration, sorted out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetSet {
    pub active: Vec<Target>,
    pub dropped: Vec<DroppedTarget>,
    pub errors: Vec<TargetError>,
}

/// The targets to scrape, in configuration order; duplicates (same job, labels and
/// URL) are kept once, as Prometheus does.
pub fn targets(file: &ScrapeConfigFile) -> Vec<Target> {
    resolve_targets(file).active
}

/// All targets of a configuration: active, dropped by relabeling, and invalid.
pub fn resolve_targets(file: &ScrapeConfigFile) -> TargetSet {
    let mut set = TargetSet::default();
    let mut seen = HashSet::new();
    for config in &file.scrape_configs {
        for group in &config.static_configs {
            for address in &group.targets {
                let mut discovered: BTreeMap<String, String> = group
                    .labels
                    .iter()
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect();
                discovered.insert("__address__".into(), address.clone());
                match build_target(config, discovered) {
                    Built::Active(t) => {
                        if seen.insert((t.job.clone(), t.labels.clone(), t.url.clone())) {
                            set.active.push(*t);
                        }
                    }
                    Built::Dropped(discovered_labels) => set.dropped.push(DroppedTarget {
                        job: config.job_name.clone(),
                        discovered_labels,
                    }),
                    Built::Invalid(discovered_labels, message) => set.errors.push(TargetError {
                        job: config.job_name.clone(),
                        discovered_labels,
                        message,
                    }),
                }
            }
        }
    }
    set
}

enum Built {
    Active(Box<Target>),
    Dropped(Labels),
    Invalid(Labels, String),
}

/// Builds one target from its discovered labels (`__address__`, group labels, and
/// for service discovery the `__meta_*` labels).
fn build_target(config: &ScrapeConfig, mut lb: BTreeMap<String, String>) -> Built {
    let defaults = [
        ("job", config.job_name.clone()),
        ("__scheme__", config.scheme.as_str().to_owned()),
        ("__metrics_path__", config.metrics_path.clone()),
        ("__scrape_interval__", config.scrape_interval.to_string()),
        ("__scrape_timeout__", config.scrape_timeout.to_string()),
    ];
    let params = config
        .params
        .iter()
        .filter_map(|(k, v)| Some((format!("__param_{k}"), v.first()?.clone())));
    for (name, value) in defaults
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .chain(params)
    {
        if lb.get(&name).is_none_or(String::is_empty) {
            lb.insert(name, value);
        }
    }
    lb.retain(|_, v| !v.is_empty());
    let discovered: Labels = lb.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
    if !relabel::process_map(&mut lb, &config.relabel_configs) {
        return Built::Dropped(discovered);
    }
    match finish_target(config, lb, &discovered) {
        Ok(target) => Built::Active(Box::new(target)),
        Err(message) => Built::Invalid(discovered, message),
    }
}

fn finish_target(
    config: &ScrapeConfig,
    mut lb: BTreeMap<String, String>,
    discovered: &Labels,
) -> Result<Target, String> {
    let get = |lb: &BTreeMap<String, String>, name: &str| lb.get(name).cloned().unwrap_or_default();
    let address = get(&lb, "__address__");
    if address.is_empty() {
        return Err("no address".into());
    }
    if address.contains('/') {
        return Err(format!("{address:?} is not a valid hostname"));
    }
    let duration = |name: &str, what: &str| -> Result<Duration, String> {
        let text = get(&lb, name);
        let d: PromDuration = text
            .parse()
            .map_err(|e| format!("error parsing {what}: {e}"))?;
        if d.is_zero() {
            return Err(format!("{what} cannot be 0"));
        }
        Ok(d.0)
    };
    let interval = duration("__scrape_interval__", "scrape interval")?;
    let timeout = duration("__scrape_timeout__", "scrape timeout")?;
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({:?} > {:?})",
            get(&lb, "__scrape_timeout__"),
            get(&lb, "__scrape_interval__")
        ));
    }
    let scheme = get(&lb, "__scheme__");
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    let url = scrape_url(
        &scheme,
        &address,
        &get(&lb, "__metrics_path__"),
        config,
        &lb,
    );
    lb.retain(|name, _| !name.starts_with("__meta_"));
    lb.entry("instance".into()).or_insert(address);
    let labels: Labels = lb
        .into_iter()
        .filter(|(name, _)| !name.starts_with("__"))
        .collect();
    Ok(Target {
        job: config.job_name.clone(),
        url,
        labels,
        discovered_labels: discovered.clone(),
        interval,
        timeout,
        auth: match (&config.basic_auth, &config.authorization) {
            (Some(basic), _) => Auth::Basic(basic.clone()),
            (None, Some(auth)) => Auth::Authorization(auth.clone()),
            (None, None) => Auth::None,
        },
        tls: config.tls_config.clone(),
        honor_labels: config.honor_labels,
        honor_timestamps: config.honor_timestamps,
        limits: config.limits(),
        metric_relabel_configs: config.metric_relabel_configs.clone(),
        fallback_format: config.fallback_format(),
    })
}

/// `scheme://address/path?query`: the configured parameters, the first value of each
/// replaced by its `__param_<name>` label, encoded like Go's `url.Values`.
fn scrape_url(
    scheme: &str,
    address: &str,
    path: &str,
    config: &ScrapeConfig,
    lb: &BTreeMap<String, String>,
) -> String {
    let mut params = config.params.clone();
    for (name, value) in lb {
        if let Some(key) = name.strip_prefix("__param_") {
            let values = params.entry(key.to_owned()).or_default();
            match values.first_mut() {
                Some(first) => *first = value.clone(),
                None => values.push(value.clone()),
            }
        }
    }
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let mut url = format!("{scheme}://{address}{}", escape(&path, b"/:@!$&'()*+,;="));
    let query: Vec<String> = params
        .iter()
        .flat_map(|(k, values)| {
            values
                .iter()
                .map(move |v| format!("{}={}", escape_query(k), escape_query(v)))
        })
        .collect();
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    url
}

/// Percent-encodes every byte but unreserved characters and `keep`.
fn escape(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `url.QueryEscape`: spaces become `+`.
fn escape_query(text: &str) -> String {
    escape(text, b" ").replace(' ', "+")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::get;

    fn resolve(yaml: &str) -> TargetSet {
        resolve_targets(&ScrapeConfigFile::from_yaml(yaml).unwrap())
    }

    fn pairs(labels: &Labels) -> Vec<String> {
        labels.iter().map(|(n, v)| format!("{n}={v}")).collect()
    }

    #[test]
    fn static_target_defaults() {
        let set = resolve("scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['localhost:9100']\n        labels: {env: prod}\n");
        let [t] = &set.active[..] else {
            panic!("{set:?}")
        };
        assert_eq!(t.url, "http://localhost:9100/metrics");
        assert_eq!(
            pairs(&t.labels),
            ["env=prod", "instance=localhost:9100", "job=node"]
        );
        assert_eq!(
            pairs(&t.discovered_labels),
            [
                "__address__=localhost:9100",
                "__metrics_path__=/metrics",
                "__scheme__=http",
                "__scrape_interval__=1m",
                "__scrape_timeout__=10s",
                "env=prod",
                "job=node",
            ]
        );
        assert_eq!(t.interval, Duration::from_secs(60));
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.auth, Auth::None);
        assert!(t.honor_timestamps);
    }

    #[test]
    fn blackbox_exporter_pattern_from_the_documentation() {
        let yaml = r#"
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: ["prometheus.io:443", "example.com:80"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:9115
"#;
        let set = resolve(yaml);
        assert_eq!(set.active.len(), 2);
        let t = &set.active[0];
        assert_eq!(
            t.url,
            "http://127.0.0.1:9115/probe?module=http_2xx&target=prometheus.io%3A443"
        );
        assert_eq!(
            pairs(&t.labels),
            ["instance=prometheus.io:443", "job=blackbox"]
        );
    }

    #[test]
    fn relabeling_can_change_everything_or_drop() {
        let yaml = r#"
scrape_configs:
  - job_name: j
    scrape_interval: 30s
    static_configs:
      - targets: ["a:1", "b:2", "c:3"]
    relabel_configs:
      - source_labels: [__address__]
        regex: "b:2"
        action: drop
      - source_labels: [__address__]
        regex: "c:3"
        target_label: __scheme__
        replacement: https
      - source_labels: [__address__]
        regex: "c:3"
        target_label: __scrape_interval__
        replacement: 2m
      - source_labels: [__address__]
        regex: "c:3"
        target_label: __metrics_path__
        replacement: /x y
      - source_labels: [__address__]
        regex: "a:1"
        target_label: __scrape_timeout__
        replacement: 1m
"#;
        let set = resolve(yaml);
        assert_eq!(set.active.len(), 1);
        let t = &set.active[0];
        assert_eq!(t.url, "https://c:3/x%20y");
        assert_eq!(t.interval, Duration::from_secs(120));
        assert_eq!(set.dropped.len(), 1);
        assert_eq!(
            get(&set.dropped[0].discovered_labels, "__address__"),
            Some("b:2")
        );
        assert_eq!(set.errors.len(), 1);
        assert_eq!(
            set.errors[0].message,
            "scrape timeout cannot be greater than scrape interval (\"1m\" > \"30s\")"
        );
    }

    #[test]
    fn invalid_targets_after_relabeling() {
        let base = "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: ['a:1']}]\n    relabel_configs:\n";
        let cases = [
            ("      - {target_label: __address__, replacement: ''}\n      - {source_labels: [x], target_label: __address__}\n", "no address"),
            ("      - {target_label: __address__, replacement: 'a/b'}\n", "\"a/b\" is not a valid hostname"),
            ("      - {target_label: __scrape_interval__, replacement: 'soon'}\n", "error parsing scrape interval: not a valid duration string: \"soon\""),
            ("      - {target_label: __scrape_timeout__, replacement: '0s'}\n", "scrape timeout cannot be 0"),
            ("      - {target_label: __scheme__, replacement: 'ftp'}\n", "invalid scheme \"ftp\""),
        ];
        for (rules, want) in cases {
            let set = resolve(&format!("{base}{rules}"));
            assert_eq!(set.errors.len(), 1, "{rules}");
            assert_eq!(set.errors[0].message, want);
        }
    }

    #[test]
    fn meta_labels_go_and_instance_can_be_set() {
        let yaml = r#"
scrape_configs:
  - job_name: j
    static_configs:
      - targets: ["a:1"]
        labels: {__meta_zone: z1, instance: custom}
    relabel_configs:
      - source_labels: [__meta_zone]
        target_label: zone
"#;
        let t = &resolve(yaml).active[0];
        assert_eq!(pairs(&t.labels), ["instance=custom", "job=j", "zone=z1"]);
    }

    #[test]
    fn duplicates_are_kept_once() {
        let yaml = "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: ['a:1', 'a:1']}, {targets: ['a:1']}]\n";
        assert_eq!(
            targets(&ScrapeConfigFile::from_yaml(yaml).unwrap()).len(),
            1
        );
    }

    #[test]
    fn auth_headers() {
        let yaml = r#"
scrape_configs:
  - job_name: basic
    basic_auth: {username: Aladdin, password: open sesame}
    static_configs: [{targets: ['a:1']}]
  - job_name: file
    basic_auth: {username: u, password_file: /run/p}
    static_configs: [{targets: ['a:1']}]
  - job_name: bearer
    authorization: {credentials_file: /run/token}
    static_configs: [{targets: ['a:1']}]
"#;
        let ts = targets(&ScrapeConfigFile::from_yaml(yaml).unwrap());
        let read = |p: &Path| -> io::Result<String> {
            match p.to_str() {
                Some("/run/p") => Ok("pw\n".into()),
                Some("/run/token") => Ok("  tok \n".into()),
                _ => Err(io::Error::new(io::ErrorKind::NotFound, "no such file")),
            }
        };
        let header = |t: &Target| {
            t.auth
                .header_value(read)
                .unwrap()
                .unwrap()
                .expose()
                .to_owned()
        };
        assert_eq!(header(&ts[0]), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(header(&ts[1]), format!("Basic {}", base64(b"u:pw")));
        assert_eq!(header(&ts[2]), "Bearer tok");
        assert!(!format!("{:?}", ts[0]).contains("sesame"));
        let missing = Auth::Authorization(Authorization {
            kind: "Bearer".into(),
            credentials: None,
            credentials_file: Some("/nope".into()),
        });
        assert!(missing.header_value(read).is_err());
    }

    #[test]
    fn base64_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn query_escaping_matches_go() {
        assert_eq!(escape_query("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
