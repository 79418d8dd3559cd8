//! The trace pages' backend during server rendering: the same `trace_explore` functions as
//! the `/api/v1/traces/explore`, `/api/v1/traces/{id}` and `/api/v1/traces/graph` routes,
//! called directly, so the first HTML already holds the traces and the waterfall.

use std::sync::Arc;

use app::components::chart_model::backend::Answer;
use app::dto::SessionUser;
use app::traces::fetch::backend::{Backend, TraceBackend};
use app::traces::model::{ServiceMapView, Trace, TraceSearch, TraceSearchView};
use app::ApiFailure;

use crate::charts::time::now_seconds;
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::state::AppState;
use crate::trace_explore;

struct ServerTraces(AppState);

pub fn backend(state: AppState) -> Backend {
    Backend(Arc::new(ServerTraces(state)))
}

fn page_failure(e: Error) -> ApiFailure {
    let e = ApiError::from(e);
    ApiFailure {
        status: e.status.as_u16(),
        code: e.code.to_owned(),
        message: e.message,
        field: e.field,
    }
}

impl TraceBackend for ServerTraces {
    fn search(&self, _user: SessionUser, req: TraceSearch) -> Answer<TraceSearchView> {
        let state = self.0.clone();
        Box::pin(async move {
            let src = state.sources.traces(None).await.map_err(page_failure)?;
            trace_explore::search(src.as_ref(), &req, now_seconds())
                .await
                .map_err(page_failure)
        })
    }

    fn trace(&self, _user: SessionUser, id: String) -> Answer<Trace> {
        let state = self.0.clone();
        Box::pin(async move {
            let src = state.sources.traces(None).await.map_err(page_failure)?;
            trace_explore::trace(src.as_ref(), &id)
                .await
                .map_err(page_failure)
        })
    }

    fn service_map(&self, _user: SessionUser, from: String, to: String) -> Answer<ServiceMapView> {
        let state = self.0.clone();
        Box::pin(async move {
            let src = state.sources.traces(None).await.map_err(page_failure)?;
            trace_explore::map::service_map(src.as_ref(), &from, &to, now_seconds())
                .await
                .map_err(page_failure)
        })
    }
}
