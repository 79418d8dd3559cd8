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
