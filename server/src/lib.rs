//! The Keiko observability portal's server: configuration, telemetry, storage and the HTTP
//! surface. `main.rs` only parses the command line and calls [`serve`] or [`migrate`].

// Leptos view types of the rule editor nest deeply.
#![recursion_limit = "256"]

pub mod actor;
pub mod alerting;
pub mod audit;
pub mod charts;
pub mod checklist;
pub mod config;
pub mod cpu;
pub mod dashboards;
pub mod db;
pub mod embedded;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod gotemplate;
pub mod history;
pub mod home;
pub mod http;
pub mod identity;
pub mod logs;
pub mod markdown;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub mod promql_syntax;
pub mod rules;
pub mod sources;
pub mod state;
pub mod telemetry;
pub mod trace_explore;
pub mod traces;

use std::sync::Arc;

use anyhow::Context as _;
use leptos::config::LeptosOptions;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::AppState;

/// Leptos options for pages built by `make site` (see `.cargo/config.toml`).
fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(leptos::config::Env::PROD)
        .build()
}

/// Applies the database migrations and returns.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let pool = db::open(&config.database_path()).await?;
    pool.close().await;
    tracing::info!(path = %config.database_path().display(), "Database migrated");
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let db = db::open(&config.database_path()).await?;
    identity::users::bootstrap_admin(
        &db,
        &config.data_dir,
        std::env::var("KEIKO_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
    )
    .await
    .context("creating the first admin")?;
    if !config.site_root.join("pkg").join("keiko.wasm").exists() {
        tracing::warn!(
            site_root = %config.site_root.display(),
            "Site assets missing: pages render but will not hydrate; run `make site`"
        );
    }
    let embedded = embedded::EmbeddedStore::open(
        &config.data_dir.join("tsdb"),
        &embedded::Settings::from_config(&config),
    )
    .context("opening the embedded metrics store")?;
    embedded.spawn_maintenance();
    let metrics = Metrics::new();
    let log_store = logs::LogStore::open(
        &config.data_dir.join("logs"),
        logs::Settings::from_config(&config),
    )
    .context("opening the embedded log store")?;
    log_store.spawn_maintenance();
    for c in log_store.collectors() {
        metrics
            .register(c)
            .context("registering log store metrics")?;
    }
    logs::selflog::start(log_store.clone());
    let trace_store = traces::TraceStore::open(
        &config.data_dir.join("traces"),
        traces::Settings::from_config(&config),
    )
    .context("opening the embedded span store")?;
    trace_store.spawn_maintenance();
    for c in trace_store.collectors() {
        metrics
            .register(c)
            .context("registering span store metrics")?;
    }
    traces::selfspans::start(trace_store.clone());
    if let Some(forward) = config.fluent_forward_listen {
        let listener = tokio::net::TcpListener::bind(forward)
            .await
            .with_context(|| format!("binding the Fluentd forward listener {forward}"))?;
        tracing::info!(address = %forward, "Fluentd forward listener started");
        logs::forward::spawn(listener, log_store.clone());
    }
    if !config.remote_write_urls.is_empty() {
        let forwarder = embedded::forward::Forwarder::start(
            config
                .remote_write_urls
                .iter()
                .map(embedded::forward::ForwardTarget::new)
                .collect(),
            embedded::forward::ForwardOptions {
                queue_capacity: config.remote_write_queue_samples,
                allow_link_local: config.allow_link_local_sources,
                ..Default::default()
            },
        )
        .context("starting remote-write forwarding")?;
        for c in forwarder.collectors() {
            metrics
                .register(c)
                .context("registering remote-write metrics")?;
        }
        embedded.forward_to(forwarder);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let external_url = external_url(config.public_url.as_deref(), address);
    let scraper = embedded::scraper::Scraper::new(
        embedded.clone(),
        self_address(address),
        std::time::Duration::from_secs(config.self_scrape_interval_secs),
        config.metrics_token.clone(),
        config.scrape_config_file.clone(),
    );
    scraper
        .reload()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the scrape configuration")?;
    spawn_reload_on_hangup(scraper.clone());
    let secrets =
        sources::secrets::SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
    let source_registry = sources::registry::SourceRegistry::new(
        db.clone(),
        sources::registry::Access {
            secrets: secrets.clone(),
            max_bytes: config.source_max_bytes,
            allow_link_local: config.allow_link_local_sources,
            embedded: Some(embedded.clone()),
            logs: Some(log_store.clone()),
            traces: Some(trace_store.clone()),
        },
    );
    let alerting = alerting::Manager::start(alerting::Context::new(
        db.clone(),
        source_registry.clone(),
        Some(embedded.clone()),
        alerting::eval::TemplateContext {
            external_labels: config.external_labels.clone(),
            external_url: external_url.clone(),
        },
        alerting::Options::from_config(&config),
    ));
    for c in alerting.context().metrics.collectors() {
        metrics
            .register(c)
            .context("registering rule evaluation metrics")?;
    }
    let notifier = notify::Notifier::start(
        db.clone(),
        secrets.clone(),
        notify::Options {
            allow_link_local: config.allow_link_local_sources,
            external_url: external_url.clone(),
            ..Default::default()
        },
    )
    .await
    .context("starting notifications")?;
    for c in notifier.metrics.collectors() {
        metrics
            .register(c)
            .context("registering notification metrics")?;
    }
    let _ = alerting.context().sink.set(notifier.clone());
    let state = AppState {
        leptos_options: leptos_options(&config),
        config: Arc::new(config.clone()),
        db: db.clone(),
        metrics,
        secrets,
        sources: source_registry,
        sign_in_guard: Default::default(),
        token_uses: Default::default(),
        embedded: Some(embedded),
        logs: Some(log_store),
        traces: Some(trace_store),
        scraper: Some(scraper),
        alerting: Some(alerting),
        notify: Some(notifier),
    };
    state
        .token_uses
        .spawn(db.clone(), std::time::Duration::from_secs(5));
    dashboards::provision(&db, &state.metrics, config.provisioning_dir.as_deref()).await;
    if config.provision_seed_rules {
        match rules::provision::seed_rules(&db, &state.metrics).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(groups = n, "Provisioned the seed's alert rules"),
            Err(e) => {
                tracing::warn!(error = %e, error_type = "RuleProvisioning", "The seed's alert rules were not provisioned")
            }
        }
    }
    checklist::evidence::spawn_schedule(
        db.clone(),
        state.sources.clone(),
        std::time::Duration::from_secs(300),
    );
    tracing::info!(%address, data_dir = %config.data_dir.display(), "Listening");
    axum::serve(
        listener,
        http::app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")?;
    if let Err(err) = state.token_uses.flush(&db).await {
        tracing::warn!(error = %err, error_type = "DatabaseError", "Recording API token use failed");
    }
    db.close().await;
    tracing::info!("Stopped");
    Ok(())
}

/// Where the portal reaches itself: the bound address, loopback when bound to all.
fn self_address(bound: std::net::SocketAddr) -> String {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, bound.port()).to_string()
}

/// The URL notifications link back to (acknowledgement links, generator URLs,
/// `$externalURL`): `public_url`, else, as Prometheus and Alertmanager default their
/// `--web.external-url`, `http://` the host name (the bound address when one was given)
/// and the bound port, so a link in a notification is never a bare path.
fn external_url(public_url: Option<&str>, bound: std::net::SocketAddr) -> String {
    if let Some(u) = public_url {
        return u.trim_end_matches('/').to_owned();
    }
    if !bound.ip().is_unspecified() {
        return format!("http://{bound}");
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => format!("http://{h}:{}", bound.port()),
        None => format!("http://{}", self_address(bound)),
    }
}

/// SIGHUP reloads the scrape configuration, as it does Prometheus's.
fn spawn_reload_on_hangup(scraper: std::sync::Arc<embedded::scraper::Scraper>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hangups.recv().await.is_some() {
            if let Err(err) = scraper.reload() {
                tracing::warn!(error = %err, error_type = "ScrapeConfigError", "Reloading the scrape configuration failed; the previous one stays");
            }
        }
    });
    #[cfg(not(unix))]
    let _ = scraper;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("Shutdown signal received; draining requests");
}
