//! Scraping into the embedded store: the portal's own `/metrics` (job `keiko-portal`) and
//! the targets of a `scrape_configs` file, each on its own task at its interval. The rules
//! (parsing, relabeling, `up`/`scrape_*`, staleness) are the `scrape` crate's; this module
//! owns the sockets, the clock and the state the targets API and page show.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use super::{now_ms, EmbeddedStore, Metadata};

/// Largest scrape body read (a bigger one fails the scrape).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// What the targets API shows of one target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetStatus {
    pub job: String,
    pub url: String,
    pub labels: Vec<(String, String)>,
    pub discovered_labels: Vec<(String, String)>,
    /// `up`, `down` or `unknown` (not scraped yet).
    pub health: &'static str,
    pub last_scrape: Option<String>,
    pub last_scrape_duration: f64,
    pub last_error: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// The scrape loops and their targets' state.
pub struct Scraper {
    store: Arc<EmbeddedStore>,
    client: reqwest::Client,
    /// `host:port` of the portal itself.
    self_address: String,
    self_interval: Duration,
    metrics_token: Option<String>,
    config_file: Option<PathBuf>,
    state: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    statuses: Vec<Arc<Mutex<TargetStatus>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A scrape configuration that could not be loaded: the file's path and the reason.
#[derive(Debug)]
pub struct ReloadError(pub String);

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Scraper {
    pub fn new(
        store: Arc<EmbeddedStore>,
        self_address: String,
        self_interval: Duration,
        metrics_token: Option<String>,
        config_file: Option<PathBuf>,
    ) -> Arc<Scraper> {
        let client = http_client(None).unwrap_or_default();
        Arc::new(Scraper {
            store,
            client,
            self_address,
            self_interval,
            metrics_token,
            config_file,
            state: Mutex::new(Running::default()),
        })
    }

    /// The configuration: the self-scrape job, then the file's jobs.
    fn configuration(&self) -> Result<scrape::ScrapeConfigFile, ReloadError> {
        let text = match &self.config_file {
            Some(path) => std::fs::read_to_string(path).map_err(|e| {
                ReloadError(format!("reading scrape config {}: {e}", path.display()))
            })?,
            None => String::new(),
        };
        let mut file = scrape::ScrapeConfigFile::from_yaml(&text)
            .map_err(|e| ReloadError(format!("scrape config: {e}")))?;
        if !self.self_interval.is_zero() {
            if file
                .scrape_configs
                .iter()
                .any(|c| c.job_name == "keiko-portal")
            {
                return Err(ReloadError(
                    "scrape config: job_name `keiko-portal` is the portal's own self-scrape; name the job differently".into(),
                ));
            }
            let auth = match &self.metrics_token {
                Some(_) => "    authorization: {type: Bearer, credentials: TOKEN}\n",
                None => "",
            };
            let secs = self.self_interval.as_secs().max(1);
            let yaml = format!(
                "scrape_configs:\n  - job_name: keiko-portal\n    scrape_interval: {secs}s\n    scrape_timeout: {}s\n{auth}    static_configs:\n      - targets: ['{}']\n",
                secs.min(10),
                self.self_address
            );
            // The token goes in after parsing: it never passes through YAML text.
            let mut own = scrape::ScrapeConfigFile::from_yaml(&yaml)
                .map_err(|e| ReloadError(format!("self-scrape config: {e}")))?;
            if let (Some(token), Some(auth)) = (
                &self.metrics_token,
                own.scrape_configs[0].authorization.as_mut(),
            ) {
                auth.credentials = Some(scrape::Secret::new(token.clone()));
            }
            file.scrape_configs.insert(0, own.scrape_configs.remove(0));
        }
        Ok(file)
    }

    /// (Re)loads the configuration and restarts every scrape loop. A configuration that
    /// does not load leaves the running loops as they are.
    pub fn reload(self: &Arc<Self>) -> Result<usize, ReloadError> {
        let config = self.configuration()?;
        // One client per job with a `tls_config`; a file that does not load refuses the
        // whole configuration, as Prometheus does.
        let mut clients = std::collections::HashMap::new();
        for job in &config.scrape_configs {
            if let Some(tls) = &job.tls_config {
                let client = http_client(Some(tls)).map_err(|e| {
                    ReloadError(format!(
                        "scrape config: job {:?}: tls_config: {e}",
                        job.job_name
                    ))
                })?;
                clients.insert(job.job_name.clone(), client);
            }
        }
        let targets = scrape::targets(&config);
        let mut running = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for task in running.tasks.drain(..) {
            task.abort();
        }
        running.statuses.clear();
        for target in targets {
            let status = Arc::new(Mutex::new(TargetStatus {
                job: target.job.clone(),
                url: target.url.clone(),
                labels: target.labels.clone(),
                discovered_labels: target.discovered_labels.clone(),
                health: "unknown",
                last_scrape: None,
                last_scrape_duration: 0.0,
                last_error: String::new(),
                interval: target.interval,
                timeout: target.timeout,
            }));
            running.statuses.push(status.clone());
            let me = self.clone();
            let client = clients
                .get(&target.job)
                .cloned()
                .unwrap_or_else(|| self.client.clone());
            running.tasks.push(tokio::spawn(
                async move { me.run(client, target, status).await },
            ));
        }
        tracing::info!(
            targets = running.statuses.len(),
            "Scrape configuration loaded"
        );
        Ok(running.statuses.len())
    }

    /// The targets' state now.
    pub fn statuses(&self) -> Vec<TargetStatus> {
        let running = self.state.lock().unwrap_or_else(|e| e.into_inner());
        running
            .statuses
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }

    /// Scrapes `target` every interval until the loop is aborted. Sample timestamps are
    /// the scheduled times (whole intervals), which keeps the store's timestamps regular.
    async fn run(
        self: Arc<Self>,
        client: reqwest::Client,
        target: scrape::Target,
        status: Arc<Mutex<TargetStatus>>,
    ) {
        let interval = target.interval.max(Duration::from_secs(1));
        let target = Arc::new(target);
        let mut previous = Arc::new(scrape::SeriesSet::new());
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let period = interval.as_millis() as i64;
        loop {
            tick.tick().await;
            let scheduled = now_ms() / period * period;
            let started = Instant::now();
            let fetched = fetch(&client, &target).await;
            let duration = started.elapsed();
            // Parsing and relabeling a body of up to MAX_BODY is CPU work: on the bounded
            // ingest pool, never on an async worker.
            let (t, prev) = (target.clone(), previous.clone());
            let processed = crate::cpu::INGEST
                .run(move || {
                    let response = match &fetched {
                        Ok((content_type, body)) => scrape::ScrapeResponse::Body {
                            content_type: content_type.as_deref(),
                            body,
                        },
                        Err(message) => scrape::ScrapeResponse::Failed(message),
                    };
                    scrape::process_scrape(
                        &t,
                        scrape::Scrape {
                            timestamp_ms: scheduled,
                            duration,
                            response,
                        },
                        &prev,
                    )
                })
                .await;
            let Ok(mut outcome) = processed else {
                let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
                st.health = "down";
                st.last_error = format!("not processed: {}", crate::cpu::Busy);
                continue;
            };
            let error = outcome.error.as_ref().map(ToString::to_string);
            let up = outcome.is_up();
            self.store.record_metadata(outcome.metadata.iter().map(|m| {
                (
                    m.metric_family.clone(),
                    Metadata {
                        kind: m.metric_type.as_str().to_owned(),
                        help: m.help.clone(),
                        unit: m.unit.clone(),
                    },
                )
            }));
            previous = Arc::new(outcome.series.clone());
            // OpenMetrics exemplars, kept as remote-write's are (after the samples).
            let exemplars: Vec<ingest::ExemplarSample> = std::mem::take(&mut outcome.exemplars)
                .into_iter()
                .map(|e| ingest::ExemplarSample {
                    series: e.series,
                    labels: e
                        .labels
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .collect(),
                    value: e.value,
                    t_ms: e.timestamp_ms,
                })
                .collect();
            let samples = outcome
                .into_samples()
                .into_iter()
                .map(|s| (s.labels, s.timestamp_ms, s.value))
                .collect();
            let stored = self.store.append(samples).await;
            if stored.is_ok() && !exemplars.is_empty() {
                self.store.add_exemplars(&exemplars);
            }
            let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
            st.last_scrape = Some(
                chrono::DateTime::from_timestamp_millis(scheduled)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            );
            st.last_scrape_duration = started.elapsed().as_secs_f64();
            match (up, error, stored) {
                (true, _, Ok(_)) => {
                    st.health = "up";
                    st.last_error.clear();
                }
                (_, Some(e), _) => {
                    st.health = "down";
                    st.last_error = e;
                }
                (_, None, Err(e)) => {
                    st.health = "down";
                    st.last_error = format!("storing the scrape failed: {e:?}");
                }
                (false, None, Ok(_)) => st.health = "down",
            }
        }
    }
}

/// The HTTP client of a job: no redirects (as Prometheus by default), the system's CAs plus
/// `tls_config`'s, its client certificate, or no verification when it says so.
fn http_client(tls: Option<&scrape::TlsConfig>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(tls) = tls {
        let read = |path: &std::path::Path, what: &str| {
            std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
        };
        if let Some(path) = &tls.ca_file {
            let pem = read(path, "ca_file")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "ca_file {}: no PEM certificate in it",
                    path.display()
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            let mut pem = read(cert, "cert_file")?;
            pem.push(b'\n');
            pem.extend(read(key, "key_file")?);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("cert_file/key_file: {e}"))?;
            builder = builder.identity(identity);
        }
        builder = builder.danger_accept_invalid_certs(tls.insecure_skip_verify);
    }
    builder.build().map_err(|e| e.to_string())
}

/// GETs the target within its timeout; the body within [`MAX_BODY`].
async fn fetch(
    client: &reqwest::Client,
    target: &scrape::Target,
) -> Result<(Option<String>, Vec<u8>), String> {
    let mut req = client
        .get(&target.url)
        .timeout(target.timeout)
        .header("accept", scrape::Format::ACCEPT_HEADER)
        .header(
            "x-prometheus-scrape-timeout-seconds",
            target.timeout.as_secs_f64().to_string(),
        );
    match target.auth.header_value(|p| std::fs::read_to_string(p)) {
        Ok(Some(value)) => req = req.header("authorization", value.expose()),
        Ok(None) => {}
        Err(e) => return Err(format!("reading the target's credentials: {e}")),
    }
    let mut resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("Get \"{}\": context deadline exceeded", target.url)
        } else {
            format!("Get \"{}\": {}", target.url, error_chain(&e.without_url()))
        }
    })?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("body size limit exceeded ({MAX_BODY} bytes)"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((content_type, body))
}

/// An error and its causes, `: `-separated (a TLS failure's reason is in a cause).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `GET /api/v1/targets`'s `data` in Prometheus's shape.
pub fn targets_api(statuses: &[TargetStatus]) -> Value {
    let labels = |l: &[(String, String)]| -> Value {
        Value::Object(
            l.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let active: Vec<Value> = statuses
        .iter()
        .map(|t| {
            json!({
                "discoveredLabels": labels(&t.discovered_labels),
                "labels": labels(&t.labels),
                "scrapePool": t.job,
                "scrapeUrl": t.url,
                "globalUrl": t.url,
                "lastError": t.last_error,
                "lastScrape": t.last_scrape.clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
                "lastScrapeDuration": t.last_scrape_duration,
                "health": t.health,
                "scrapeInterval": format!("{}s", t.interval.as_secs()),
                "scrapeTimeout": format!("{}s", t.timeout.as_secs()),
            })
        })
        .collect();
    json!({"activeTargets": active, "droppedTargets": [], "droppedTargetCounts": {}})
}
