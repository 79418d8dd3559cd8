//! What every request handler can reach.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;

use crate::config::Config;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: SqlitePool,
    pub metrics: Metrics,
    pub leptos_options: LeptosOptions,
    /// Encrypts and decrypts data-source secrets.
    pub secrets: crate::sources::secrets::SecretBox,
    /// Source clients by family (kept warm between requests) and each family's default.
    pub sources: crate::sources::registry::SourceRegistry,
    /// Sign-in lockout per login and address; verified Basic credentials.
    pub sign_in_guard: Arc<crate::identity::guard::SignInGuard>,
    /// `last_used_at` of API tokens, written in batches off the request path.
    pub token_uses: crate::identity::tokens::UseRecorder,
    /// The embedded metrics store.
    pub embedded: Option<Arc<crate::embedded::EmbeddedStore>>,
    /// The embedded log store (ingest writes here; queries go through `sources`).
    pub logs: Option<Arc<crate::logs::LogStore>>,
    /// The embedded span store (ingest writes here; queries go through `sources`).
    pub traces: Option<Arc<crate::traces::TraceStore>>,
    /// Its scrape loops.
    pub scraper: Option<Arc<crate::embedded::scraper::Scraper>>,
    /// The rule manager: evaluation of every stored rule group.
    pub alerting: Option<Arc<crate::alerting::Manager>>,
    /// Notifications: contact points, policy, silences and the dispatcher.
    pub notify: Option<Arc<crate::notify::Notifier>>,
}

impl AppState {
    pub fn lockout(&self) -> crate::identity::guard::Policy {
        crate::identity::guard::Policy {
            threshold: self.config.lockout_threshold,
            duration: std::time::Duration::from_secs(self.config.lockout_secs),
        }
    }

    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.config.session_ttl_secs as i64)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
