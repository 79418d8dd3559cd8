//! The source registry on the app state: hands out a client per stored source as the trait
//! of its family (`Arc<dyn MetricsSource>`, `Arc<dyn LogSource>`, `Arc<dyn TraceSource>`),
//! built once and kept warm while the source is unchanged, and knows each family's default.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::SqlitePool;

use super::embedded::EmbeddedSource;
use super::embedded_logs::EmbeddedLogs;
use super::embedded_traces::EmbeddedTraces;
use super::kind::{not_implemented, Family, SourceKind};
use super::logs::LogSource;
use super::prometheus::{Auth, PrometheusClient};
use super::secrets::SecretBox;
use super::store::{self, SourceRow};
use super::traces::TraceSource;
use super::MetricsSource;
use crate::embedded::EmbeddedStore;
use crate::error::Error;
use crate::logs::LogStore;
use crate::outbound;
use crate::traces::TraceStore;

/// What reaching stored sources needs: the secret box, the outbound limits and the
/// embedded store (when it runs).
#[derive(Clone)]
pub struct Access {
    pub secrets: SecretBox,
    pub max_bytes: usize,
    pub allow_link_local: bool,
    pub embedded: Option<Arc<EmbeddedStore>>,
    /// The embedded log store (when it runs): the built-in source of the logs family.
    pub logs: Option<Arc<LogStore>>,
    /// The embedded span store (when it runs): the built-in source of the traces family.
    pub traces: Option<Arc<TraceStore>>,
}

/// A built client, as the trait of the source's family.
#[derive(Clone)]
pub enum Client {
    Metrics(Arc<dyn MetricsSource>),
    Logs(Arc<dyn LogSource>),
    Traces(Arc<dyn TraceSource>),
}

/// The client for a stored source (decrypting its secret in memory only).
pub fn client(row: &SourceRow, access: &Access) -> Result<Client, Error> {
    let kind = row.kind().ok_or_else(|| {
        Error::invalid(
            "type",
            format!("`{}` is not a store type this version speaks", row.kind),
        )
    })?;
    match kind {
        SourceKind::Embedded if row.family() == Family::Logs => match &access.logs {
            Some(store) => Ok(Client::Logs(Arc::new(EmbeddedLogs(store.clone())))),
            None => Err(Error::invalid(
                "type",
                "the embedded log store is not running",
            )),
        },
        SourceKind::Embedded if row.family() == Family::Traces => match &access.traces {
            Some(store) => Ok(Client::Traces(Arc::new(EmbeddedTraces(store.clone())))),
            None => Err(Error::invalid(
                "type",
                "the embedded span store is not running",
            )),
        },
        SourceKind::Embedded => match &access.embedded {
            Some(store) => Ok(Client::Metrics(Arc::new(EmbeddedSource(store.clone())))),
            None => Err(Error::invalid("type", "the embedded store is not running")),
        },
        SourceKind::Prometheus => prometheus(row, access).map(Client::Metrics),
        other => Err(not_implemented(other)),
    }
}

fn prometheus(row: &SourceRow, access: &Access) -> Result<Arc<dyn MetricsSource>, Error> {
    let url = outbound::check_url(&row.url, access.allow_link_local)
        .map_err(|m| Error::invalid("url", m))?;
    let secret = row
        .secret
        .as_deref()
        .map(|s| access.secrets.open(s))
        .transpose()
        .map_err(Error::internal)?;
    let auth = match (row.auth_type.as_str(), secret) {
        ("basic", Some(password)) => Auth::Basic {
            username: row.username.clone(),
            password,
        },
        ("bearer", Some(token)) => Auth::Bearer(token),
        _ => Auth::None,
    };
    Ok(Arc::new(PrometheusClient::new(
        url,
        auth,
        Duration::from_millis(row.timeout_ms as u64),
        access.max_bytes,
        access.allow_link_local,
    )))
}

/// The metrics client of a row, or why the row has none.
pub fn metrics_client(row: &SourceRow, access: &Access) -> Result<Arc<dyn MetricsSource>, Error> {
    match client(row, access)? {
        Client::Metrics(c) => Ok(c),
        _ => Err(wrong_family(row, Family::Metrics)),
    }
}

fn wrong_family(row: &SourceRow, wanted: Family) -> Error {
    Error::invalid(
        "datasource",
        format!(
            "`{}` is a {} source, not a {wanted} source",
            row.name,
            row.family()
        ),
    )
}

impl Access {
    /// Every stored metrics source with its client (sources whose client cannot be made,
    /// e.g. a URL that the outbound rules now refuse, come with the reason instead).
    pub async fn all(
        &self,
        db: &SqlitePool,
    ) -> Result<Vec<(SourceRow, Result<Arc<dyn MetricsSource>, String>)>, Error> {
        Ok(store::list(db)
            .await?
            .into_iter()
            .filter(|row| row.family() == Family::Metrics)
            .map(|row| {
                let c = metrics_client(&row, self).map_err(|e| e.message());
                (row, c)
            })
            .collect())
    }
}

impl Access {
    /// Every stored source of every family with its client, as the trait of its family
    /// (sources whose client cannot be made come with the reason instead).
    pub async fn every(
        &self,
        db: &SqlitePool,
    ) -> Result<Vec<(SourceRow, Result<Client, String>)>, Error> {
        Ok(store::list(db)
            .await?
            .into_iter()
            .map(|row| {
                let c = client(&row, self).map_err(|e| e.message());
                (row, c)
            })
            .collect())
    }
}

/// Metrics clients one render asked for, by the id it asked with (`None`: the default).
type RenderClients = HashMap<Option<i64>, Arc<dyn MetricsSource>>;

/// Client per source id, with the `updated_at` it was built for.
type CachedClients = HashMap<i64, (String, Client)>;

/// Stored sources' clients and defaults. Clones share the cache.
#[derive(Clone)]
pub struct SourceRegistry {
    db: SqlitePool,
    access: Access,
    clients: Arc<Mutex<CachedClients>>,
}

impl SourceRegistry {
    pub fn new(db: SqlitePool, access: Access) -> SourceRegistry {
        SourceRegistry {
            db,
            access,
            clients: Default::default(),
        }
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Deletes source `id` (audited) and drops its client.
    pub async fn delete(
        &self,
        metrics: &crate::metrics::Metrics,
        actor: &crate::actor::Actor,
        id: i64,
    ) -> Result<(), Error> {
        store::delete(&self.db, metrics, actor, id).await?;
        self.forget(id);
        Ok(())
    }

    /// Drops the client of a changed or deleted source.
    pub fn forget(&self, id: i64) {
        if let Ok(mut map) = self.clients.lock() {
            map.remove(&id);
        }
    }

    /// The default source of a family: the one marked default, else the first by name.
    pub async fn default_id(&self, family: Family) -> Result<Option<i64>, Error> {
        store::default_id(&self.db, family).await
    }

    /// The client of source `id`, or of the family's default when `id` is `None`; reused
    /// while the source is unchanged (an edit, a new `updated_at`, builds a new one).
    async fn client(&self, id: Option<i64>, family: Family) -> Result<(SourceRow, Client), Error> {
        let id = match id {
            Some(id) => id,
            None => self.default_id(family).await?.ok_or_else(|| {
                Error::invalid(
                    "datasource",
                    format!("no {family} data source is configured; an admin adds one under Settings → Data sources"),
                )
            })?,
        };
        let row = store::get(&self.db, id).await?;
        if let Ok(map) = self.clients.lock() {
            if let Some((stamp, client)) = map.get(&row.id) {
                if *stamp == row.updated_at {
                    return Ok((row, client.clone()));
                }
            }
        }
        let client = client(&row, &self.access)?;
        if let Ok(mut map) = self.clients.lock() {
            map.insert(row.id, (row.updated_at.clone(), client.clone()));
        }
        Ok((row, client))
    }

    pub async fn metrics(&self, id: Option<i64>) -> Result<Arc<dyn MetricsSource>, Error> {
        match self.client(id, Family::Metrics).await? {
            (_, Client::Metrics(c)) => Ok(c),
            (row, _) => Err(wrong_family(&row, Family::Metrics)),
        }
    }

    pub async fn logs(&self, id: Option<i64>) -> Result<Arc<dyn LogSource>, Error> {
        match self.client(id, Family::Logs).await? {
            (_, Client::Logs(c)) => Ok(c),
            (row, _) => Err(wrong_family(&row, Family::Logs)),
        }
    }

    pub async fn traces(&self, id: Option<i64>) -> Result<Arc<dyn TraceSource>, Error> {
        match self.client(id, Family::Traces).await? {
            (_, Client::Traces(c)) => Ok(c),
            (row, _) => Err(wrong_family(&row, Family::Traces)),
        }
    }

    /// A resolver for one render of many panels: the default is looked up once and each
    /// source's client once, not once per panel.
    pub fn metrics_per_render(
        &self,
    ) -> impl Fn(Option<i64>) -> BoxFuture<'static, Result<Arc<dyn MetricsSource>, Error>>
           + Send
           + Sync
           + 'static {
        let registry = self.clone();
        let memo: Arc<Mutex<RenderClients>> = Default::default();
        move |id| {
            let registry = registry.clone();
            let memo = memo.clone();
            Box::pin(async move {
                if let Some(c) = memo.lock().ok().and_then(|m| m.get(&id).cloned()) {
                    return Ok(c);
                }
                let client = registry.metrics(id).await?;
                if let Ok(mut m) = memo.lock() {
                    m.insert(id, client.clone());
                }
                Ok(client)
            })
        }
    }
}
