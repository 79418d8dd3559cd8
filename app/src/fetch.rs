//! Data for pages that render charts on the server: during server rendering the chart
//! backend (provided by the server in the Leptos context) answers directly; in the browser
//! the same requests go to `/api/v1`. Both paths end in the same server functions.

use crate::api_client::{call, ApiFailure};
use crate::components::chart_model::{ChartRequest, ChartView, TableView};
use crate::dto::SourceOption;

#[derive(Clone)]
pub struct Fetcher {
    #[cfg(feature = "ssr")]
    inner: Option<(
        crate::components::chart_model::backend::Backend,
        crate::dto::SessionUser,
    )>,
}

impl Fetcher {
    /// Call inside a component (it reads the context).
    pub fn new() -> Fetcher {
        Fetcher {
            #[cfg(feature = "ssr")]
            inner:
                leptos::prelude::use_context::<crate::components::chart_model::backend::Backend>()
                    .zip(crate::session::load()),
        }
    }

    pub async fn sources(self) -> Result<Vec<SourceOption>, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.sources(user).await;
        }
        // Charts query metrics sources only (the server's backend filters the same way).
        let all: Vec<SourceOption> =
            in_browser(call("GET", "/api/v1/datasources", None::<&()>)).await?;
        Ok(all.into_iter().filter(|s| s.family == "metrics").collect())
    }

    pub async fn chart(self, source: i64, req: ChartRequest) -> Result<ChartView, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.chart(user, source, req).await;
        }
        let path = format!(
            "/api/v1/datasources/{source}/chart?{}",
            req.to_query_string()
        );
        in_browser(call("GET", &path, None::<&()>)).await
    }

    pub async fn dashboard(
        self,
        req: crate::dashboards::model::DashboardRequest,
    ) -> Result<crate::dashboards::model::DashboardView, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.dashboard(user, req).await;
        }
        let path = format!(
            "/api/v1/dashboards/{}/render?{}",
            crate::components::form::encode(&req.uid),
            req.to_query_string()
        );
        in_browser(call("GET", &path, None::<&()>)).await
    }

    /// `{"rules": data of GET /api/v1/rules?type=alert, "alerts": data of GET /api/v1/alerts}`.
    pub async fn alerts_page(self) -> Result<serde_json::Value, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.alerts_page(user).await;
        }
        in_browser(async {
            let rules: serde_json::Value =
                call("GET", "/api/v1/rules?type=alert", None::<&()>).await?;
            let alerts: serde_json::Value = call("GET", "/api/v1/alerts", None::<&()>).await?;
            Ok(serde_json::json!({ "rules": rules["data"], "alerts": alerts["data"] }))
        })
        .await
    }

    /// A page of log lines with the histogram and the fields of the same search.
    pub async fn logs(
        self,
        req: crate::components::log_model::LogsRequest,
    ) -> Result<crate::components::log_model::LogsView, ApiFailure> {
        use crate::components::log_model::{FieldCount, LogHistogram, LogLine, LogsView};
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.logs(user, req).await;
        }
        #[derive(serde::Deserialize)]
        struct Page {
            lines: Vec<LogLine>,
            next: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Fields {
            fields: Vec<FieldCount>,
        }
        let (paged, plain) = (req.to_query_string(true), req.to_query_string(false));
        in_browser(async move {
            let page: Page =
                call("GET", &format!("/api/v1/logs/query?{paged}"), None::<&()>).await?;
            let histogram: LogHistogram = call(
                "GET",
                &format!("/api/v1/logs/histogram?{plain}"),
                None::<&()>,
            )
            .await?;
            let fields: Fields =
                call("GET", &format!("/api/v1/logs/fields?{plain}"), None::<&()>).await?;
            Ok(LogsView {
                lines: page.lines,
                next: page.next,
                histogram,
                fields: fields.fields,
            })
        })
        .await
    }

    pub async fn table(
        self,
        source: i64,
        query: String,
        time: String,
    ) -> Result<TableView, ApiFailure> {
        #[cfg(feature = "ssr")]
        if let Some((backend, user)) = self.inner {
            return backend.0.table(user, source, query, time).await;
        }
        let path = format!(
            "/api/v1/datasources/{source}/table?{}",
            crate::components::chart_model::encode_pairs(&[("query", query), ("time", time)])
        );
        in_browser(call("GET", &path, None::<&()>)).await
    }
}

/// Browser futures (fetch) are not `Send`, which resources ask for; the browser runs one
/// thread, so wrapping them is sound there.
#[cfg(feature = "hydrate")]
fn in_browser<F: std::future::Future>(f: F) -> send_wrapper::SendWrapper<F> {
    send_wrapper::SendWrapper::new(f)
}

#[cfg(not(feature = "hydrate"))]
fn in_browser<F: std::future::Future>(f: F) -> F {
    f
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new()
    }
}
