//! Delivery: one HTTP client (timeout, guarded resolver, no redirects, answer size cap) for
//! Slack, webhooks and Alertmanagers, and SMTP with STARTTLS or TLS and auth for e-mail.
//! Each notification is tried up to `attempts` times with doubling backoff; a 4xx answer
//! other than 429 is not retried. At most `concurrency` notifications are in flight.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as SmtpTls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::Value;

use super::contact_points::{ContactPoint, Settings, Tls};
use super::metrics::NotifyMetrics;
use super::payloads::{self, Data};
use super::templates;
use super::Options;
use crate::gotemplate::TemplateSet;

/// What one notification came to.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Where it went (URL without its path for Slack, the SMTP server, …).
    pub target: String,
    pub attempts: u32,
    /// The answer (status and body start) or the last error.
    pub result: Result<String, String>,
}

struct Failure {
    message: String,
    retry: bool,
}

#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    limit: Arc<tokio::sync::Semaphore>,
    options: Options,
    /// Where the notification templates are read at each delivery.
    db: sqlx::SqlitePool,
    templates: templates::Cache,
}

impl Sender {
    pub fn new(options: &Options, db: sqlx::SqlitePool) -> anyhow::Result<Sender> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(crate::outbound::resolver(options.allow_link_local))
            .user_agent(concat!("keiko-portal/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            http,
            limit: Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1))),
            options: options.clone(),
            db,
            templates: templates::Cache::default(),
        })
    }

    /// Sends `data` to `cp` with retries.
    pub async fn deliver(
        &self,
        cp: &ContactPoint,
        data: &Data,
        group_key: &str,
        metrics: &NotifyMetrics,
    ) -> Outcome {
        self.deliver_tries(cp, data, group_key, metrics, self.options.attempts)
            .await
    }

    /// Sends `data` to `cp`, trying at most `tries` times.
    pub async fn deliver_tries(
        &self,
        cp: &ContactPoint,
        data: &Data,
        group_key: &str,
        metrics: &NotifyMetrics,
        tries: u32,
    ) -> Outcome {
        let _permit = self.limit.acquire().await;
        let started = Instant::now();
        let kind = cp.settings.kind();
        let target = target(&cp.settings);
        let mut attempts = 0;
        let mut backoff = self.options.backoff;
        // The stored templates as they are now; a broken store sends the built-in texts.
        let set = self.templates.load(&self.db).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, error_type = "NotificationTemplates", "Reading the notification templates failed; the built-in texts are used");
            Default::default()
        });
        let result = loop {
            attempts += 1;
            match self.once(cp, data, group_key, &set).await {
                Ok(answer) => break Ok(answer),
                Err(f) => {
                    metrics.failed_attempts.with_label_values(&[kind]).inc();
                    if !f.retry || attempts >= tries.max(1) {
                        break Err(f.message);
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        };
        let outcome = if result.is_ok() { "sent" } else { "failed" };
        metrics
            .notifications
            .with_label_values(&[kind, outcome])
            .inc();
        metrics.latency.observe(started.elapsed().as_secs_f64());
        if let Err(err) = &result {
            tracing::warn!(receiver = %cp.name, receiver_type = kind, attempts, error = %err, error_type = "NotificationFailed", "A notification could not be delivered");
        }
        Outcome {
            target,
            attempts,
            result,
        }
    }

    async fn once(
        &self,
        cp: &ContactPoint,
        data: &Data,
        group_key: &str,
        set: &TemplateSet,
    ) -> Result<String, Failure> {
        match &cp.settings {
            Settings::Slack {
                url: Some(url),
                channel,
            } => {
                let body = slack_body(data, channel, set).map_err(|message| Failure {
                    message,
                    retry: false,
                })?;
                self.post(url, &body).await
            }
            Settings::Webhook { url: Some(url) } => {
                self.post(url, &payloads::webhook(data, group_key)).await
            }
            Settings::Alertmanager { urls } => {
                let body = payloads::alertmanager(data);
                let mut answers = Vec::new();
                let mut failure = None;
                for base in urls {
                    let url = format!("{}/api/v2/alerts", base.trim_end_matches('/'));
                    match self.post(&url, &body).await {
                        Ok(a) => answers.push(a),
                        Err(f) => failure = Some(f),
                    }
                }
                // Prometheus counts a batch delivered when one Alertmanager took it.
                match (answers.is_empty(), failure) {
                    (false, _) => Ok(answers.join("; ")),
                    (true, Some(f)) => Err(f),
                    (true, None) => Err(Failure {
                        message: "no Alertmanager URL".into(),
                        retry: false,
                    }),
                }
            }
            Settings::Email {
                to,
                from,
                smarthost: Some(host),
                username,
                password,
                tls,
            } => {
                self.email(
                    data,
                    set,
                    to,
                    from,
                    host,
                    username,
                    password.as_deref(),
                    *tls,
                )
                .await
            }
            _ => Err(Failure {
                message: "the contact point is disabled".into(),
                retry: false,
            }),
        }
    }

    async fn post(&self, url: &str, body: &Value) -> Result<String, Failure> {
        let sent = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| Failure {
                message: if e.is_timeout() {
                    "timed out".into()
                } else {
                    format!("request failed: {}", error_chain(&e))
                },
                retry: true,
            })?;
        let status = sent.status();
        let mut answer = Vec::new();
        let mut stream = sent;
        while let Ok(Some(chunk)) = stream.chunk().await {
            let room = self.options.max_answer_bytes.saturating_sub(answer.len());
            answer.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        let text = format!(
            "{} {}",
            status.as_u16(),
            String::from_utf8_lossy(&answer).trim()
        );
        if status.is_success() {
            Ok(text)
        } else {
            Err(Failure {
                retry: status.is_server_error() || status.as_u16() == 429,
                message: text,
            })
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn email(
        &self,
        data: &Data,
        set: &TemplateSet,
        to: &[String],
        from: &str,
        smarthost: &str,
        username: &str,
        password: Option<&str>,
        tls: Tls,
    ) -> Result<String, Failure> {
        let bad = |m: String| Failure {
            message: m,
            retry: false,
        };
        let (subject, text, html) = email_parts(data, set).map_err(bad)?;
        let mut message = lettre::Message::builder()
            .from(
                from.parse::<Mailbox>()
                    .map_err(|e| bad(format!("from: {e}")))?,
            )
            .subject(subject);
        for t in to {
            message = message.to(t.parse::<Mailbox>().map_err(|e| bad(format!("to: {e}")))?);
        }
        let message = message
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| bad(format!("building the message: {e}")))?;
        let (host, port) = smarthost
            .rsplit_once(':')
            .ok_or_else(|| bad("smarthost must be host:port".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad("bad port".into()))?;
        let params = || TlsParameters::new(host.to_owned()).map_err(|e| bad(format!("TLS: {e}")));
        // Connect to an address the outbound rules allow (resolved here, so a name cannot be
        // pointed at a metadata address later); TLS still verifies the name.
        let allowed = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Failure {
                message: format!("resolving {host}: {e}"),
                retry: true,
            })?
            .find(|a| self.options.allow_link_local || !crate::outbound::forbidden_ip(a.ip()))
            .ok_or_else(|| bad(format!("{host} resolves to no allowed address")))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(allowed.ip().to_string())
                .port(port)
                .timeout(Some(self.options.timeout));
        builder = match tls {
            Tls::None => builder.tls(SmtpTls::None),
            Tls::Starttls => builder.tls(SmtpTls::Required(params()?)),
            Tls::Tls => builder.tls(SmtpTls::Wrapper(params()?)),
        };
        if let Some(p) = password {
            builder = builder.credentials(Credentials::new(username.to_owned(), p.to_owned()));
        }
        let transport = builder.build();
        match tokio::time::timeout(self.options.timeout * 2, transport.send(message)).await {
            Ok(Ok(r)) => Ok(format!(
                "{} {}",
                r.code(),
                r.message().collect::<Vec<_>>().join(" ")
            )),
            Ok(Err(e)) => Err(Failure {
                retry: !e.is_permanent(),
                message: format!("SMTP: {}", error_chain(&e)),
            }),
            Err(_) => Err(Failure {
                retry: true,
                message: "SMTP timed out".into(),
            }),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Where a contact point sends, secrets left out (Slack's URL carries its token).
fn target(s: &Settings) -> String {
    let origin = |u: &str| {
        reqwest::Url::parse(u)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    };
    match s {
        Settings::Slack { url, channel } => format!(
            "{} {channel}",
            url.as_deref().map(origin).unwrap_or_default()
        )
        .trim()
        .to_owned(),
        Settings::Webhook { url } => url.clone().unwrap_or_default(),
        Settings::Alertmanager { urls } => urls.join(", "),
        Settings::Email { to, smarthost, .. } => format!(
            "{} via {}",
            to.join(", "),
            smarthost.as_deref().unwrap_or("")
        ),
    }
}

/// The Slack body with the title and text of the stored templates where they replace them.
fn slack_body(data: &Data, channel: &str, set: &TemplateSet) -> Result<Value, String> {
    let mut body = payloads::slack(data, channel);
    let attachment = &mut body["attachments"][0];
    if let Some(title) = templates::render_part(set, "slack", data, "title")? {
        attachment["fallback"] = Value::String(format!("{title} | {}", data.alerts_link()));
        attachment["title"] = Value::String(title);
    }
    if let Some(text) = templates::render_part(set, "slack", data, "text")? {
        attachment["text"] = Value::String(text);
    }
    Ok(body)
}

/// Subject, text and HTML of an e-mail, each from the stored templates where one replaces it.
fn email_parts(data: &Data, set: &TemplateSet) -> Result<(String, String, String), String> {
    let (mut subject, mut text, mut html) = payloads::email(data);
    for (part, value) in [
        ("subject", &mut subject),
        ("text", &mut text),
        ("html", &mut html),
    ] {
        if let Some(rendered) = templates::render_part(set, "email", data, part)? {
            *value = rendered;
        }
    }
    Ok((subject, text, html))
}

/// What the message parts of `kind` to `data.receiver` come to with `set` (for previews).
pub fn preview(kind: &str, data: &Data, set: &TemplateSet) -> Result<Value, String> {
    match kind {
        "slack" => slack_body(data, "", set),
        "email" => {
            let (subject, text, html) = email_parts(data, set)?;
            Ok(serde_json::json!({"subject": subject, "text": text, "html": html}))
        }
        other => Err(format!("{other} messages are JSON and are not templated")),
    }
}
