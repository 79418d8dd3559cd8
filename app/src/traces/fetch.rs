//! Data for the trace pages: during server rendering the server's [`backend::TraceBackend`]
//! (put in the Leptos context) answers directly, so the first HTML holds the traces; in the
//! browser the same requests go to `/api/v1`.

#[cfg(feature = "hydrate")]
use crate::api_client::call;
use crate::api_client::ApiFailure;

use super::model::{ServiceMapView, Trace, TraceSearch, TraceSearchView};

#[derive(Clone)]
pub struct TraceFetcher {
    #[cfg(feature = "ssr")]
    inner: Option<(backend::Backend, crate::dto::SessionUser)>,
}

impl TraceFetcher {
    /// Call inside a component (it reads the context).
    pub fn new() -> TraceFetcher {
        TraceFetcher {
            #[cfg(feature = "ssr")]
            inner: leptos::prelude::use_context::<backend::Backend>().zip(crate::session::load()),
        }
    }

    pub async fn search(self, req: TraceSearch) -> Result<TraceSearchView, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((b, user)) = self.inner {
            return b.0.search(user, req).await;
        }
        browser(format!("/api/v1/traces/explore?{}", req.to_query_string())).await
    }

    pub async fn trace(self, id: String) -> Result<Trace, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((b, user)) = self.inner {
            return b.0.trace(user, id).await;
        }
        browser(format!(
            "/api/v1/traces/{}",
            crate::components::form::encode(&id)
        ))
        .await
    }

    pub async fn service_map(self, from: String, to: String) -> Result<ServiceMapView, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((b, user)) = self.inner {
            return b.0.service_map(user, from, to).await;
        }
        browser(format!(
            "/api/v1/traces/graph?{}",
            crate::components::chart_model::encode_pairs(&[("from", from), ("to", to)])
        ))
        .await
    }
}

impl Default for TraceFetcher {
    fn default() -> Self {
        TraceFetcher::new()
    }
}

/// Browser futures are not `Send`, which resources ask for; the browser runs one thread.
#[cfg(feature = "hydrate")]
fn browser<T: serde::de::DeserializeOwned>(
    path: String,
) -> send_wrapper::SendWrapper<impl std::future::Future<Output = Result<T, ApiFailure>>> {
    send_wrapper::SendWrapper::new(async move { call("GET", &path, None::<&()>).await })
}

/// Without the browser (a server render with no backend in the context) there is nothing
/// to ask.
#[cfg(not(feature = "hydrate"))]
async fn browser<T>(path: String) -> Result<T, ApiFailure> {
    Err(ApiFailure {
        status: 503,
        code: "unavailable".into(),
        message: format!("{path} cannot be fetched during server rendering"),
        field: None,
    })
}

/// What the server implements so pages render traces without an HTTP hop.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::sync::Arc;

    use crate::components::chart_model::backend::Answer;
    use crate::dto::SessionUser;
    use crate::traces::model::{ServiceMapView, Trace, TraceSearch, TraceSearchView};

    pub trait TraceBackend: Send + Sync {
        fn search(&self, user: SessionUser, req: TraceSearch) -> Answer<TraceSearchView>;
        /// 404 when the store does not have the trace.
        fn trace(&self, user: SessionUser, id: String) -> Answer<Trace>;
        fn service_map(
            &self,
            user: SessionUser,
            from: String,
            to: String,
        ) -> Answer<ServiceMapView>;
    }

    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn TraceBackend>);
}
