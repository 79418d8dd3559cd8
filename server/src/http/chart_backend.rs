//! The chart backend the pages use during server rendering: the same functions as the
//! `/api/v1/datasources/{id}/chart` and `/table` routes, called directly (no HTTP hop), so
//! the first HTML response already holds the SVG.

use std::sync::Arc;

use app::components::chart_model::backend::{Answer, Backend, ChartBackend};
use app::components::chart_model::ChartRequest;
use app::dto::{SessionUser, SourceOption};
use app::ApiFailure;

use crate::charts;
use crate::http::errors::ApiError;
use crate::sources::store;
use crate::state::AppState;

struct ServerCharts(AppState);

pub fn backend(state: AppState) -> Backend {
    Backend(Arc::new(ServerCharts(state)))
}

fn failure(e: impl Into<ApiError>) -> ApiFailure {
    let e: ApiError = e.into();
    ApiFailure {
        status: e.status.as_u16(),
        code: e.code.to_owned(),
        message: e.message,
        field: e.field,
    }
}

impl ChartBackend for ServerCharts {
    fn sources(&self, _user: SessionUser) -> Answer<Vec<SourceOption>> {
        let db = self.0.db.clone();
        Box::pin(async move {
            let rows = store::list(&db).await.map_err(failure)?;
            Ok(rows
                .into_iter()
                .filter(|r| r.family() == crate::sources::kind::Family::Metrics)
                .map(|r| SourceOption {
                    id: r.id,
                    name: r.name,
                    kind: r.kind,
                    url: r.url,
                    default: r.is_default,
                    family: r.family,
                })
                .collect())
        })
    }

    fn chart(
        &self,
        _user: SessionUser,
        source: i64,
        req: ChartRequest,
    ) -> Answer<app::components::chart_model::ChartView> {
        let state = self.0.clone();
        Box::pin(async move {
            let src = state.sources.metrics(Some(source)).await.map_err(failure)?;
            charts::chart(src.as_ref(), &req, charts::time::now_seconds())
                .await
                .map_err(failure)
        })
    }

    fn dashboard(
        &self,
        user: SessionUser,
        req: app::dashboards::model::DashboardRequest,
    ) -> Answer<app::dashboards::model::DashboardView> {
        let state = self.0.clone();
        Box::pin(async move {
            crate::dashboards::view::render_view(&state.db, &state.sources, user.id, &req)
                .await
                .map_err(failure)
        })
    }

    fn alerts_page(&self, _user: SessionUser) -> Answer<serde_json::Value> {
        let state = self.0.clone();
        Box::pin(async move {
            let rules = crate::alerting::views::prometheus_rules(
                &state.db,
                state.alerting.as_deref(),
                Some("alert"),
            )
            .await
            .map_err(failure)?;
            let alerts =
                crate::alerting::views::alerts(state.alerting.as_deref(), state.notify.as_deref());
            Ok(serde_json::json!({ "rules": rules, "alerts": alerts }))
        })
    }

    fn logs(
        &self,
        _user: SessionUser,
        req: app::components::log_model::LogsRequest,
    ) -> Answer<app::components::log_model::LogsView> {
        let state = self.0.clone();
        Box::pin(async move { explore_logs(&state, req).await.map_err(failure) })
    }

    fn table(
        &self,
        _user: SessionUser,
        source: i64,
        query: String,
        time: String,
    ) -> Answer<app::components::chart_model::TableView> {
        let state = self.0.clone();
        Box::pin(async move {
            let src = state.sources.metrics(Some(source)).await.map_err(failure)?;
            charts::table(
                src.as_ref(),
                &query,
                &time,
                "",
                "",
                charts::time::now_seconds(),
            )
            .await
            .map_err(failure)
        })
    }
}

/// Explore → Logs's first page: the lines, the histogram (about 100 buckets, as the
/// histogram route chooses when no step is given) and the fields of one search, from the
/// logs family's default source.
async fn explore_logs(
    state: &AppState,
    req: app::components::log_model::LogsRequest,
) -> Result<app::components::log_model::LogsView, crate::error::Error> {
    use crate::error::Error;
    use app::components::log_model::{FieldCount, LogHistogram, LogsView};
    let now = charts::time::now_seconds();
    let start = charts::time::resolve(&req.from, now).map_err(|m| Error::invalid("from", m))?;
    let end = charts::time::resolve(&req.to, now).map_err(|m| Error::invalid("to", m))?;
    if end <= start {
        return Err(Error::invalid("to", "`to` must be after `from`"));
    }
    let q = crate::sources::logs::LogQuery {
        query: req.query,
        start,
        end,
        limit: req.limit.clamp(1, 5_000),
        cursor: req.cursor,
    };
    let src = state.sources.logs(None).await?;
    let step = ((end - start) / 100.0).ceil().max(1.0);
    let (found, histogram, fields) =
        futures::future::join3(src.search(&q), src.histogram(&q, step), src.field_names(&q)).await;
    let (found, histogram, fields) = (found?, histogram?, fields?);
    Ok(LogsView {
        lines: found
            .records
            .into_iter()
            .map(crate::sources::logs::LogRecord::into_line)
            .collect(),
        next: found.next,
        histogram: LogHistogram {
            start: histogram.start,
            step: histogram.step,
            levels: histogram.levels,
            counts: histogram.counts,
        },
        fields: fields
            .into_iter()
            .map(|f| FieldCount {
                name: f.name,
                count: f.count,
            })
            .collect(),
    })
}
