//! A dashboard for the view page (`/d/{uid}`), as the API answers it and as server
//! rendering draws it: stored document, every panel rendered, the view recorded for
//! "recently viewed".

use app::dashboards::model::{DashboardRequest, DashboardView};
use sqlx::SqlitePool;

use super::store;
use crate::error::Error;
use crate::sources::registry::SourceRegistry;

/// Renders `req.uid` for user `user_id` (and records the view unless one panel is shown).
pub async fn render_view(
    db: &SqlitePool,
    sources: &SourceRegistry,
    user_id: i64,
    req: &DashboardRequest,
) -> Result<DashboardView, Error> {
    let stored = store::get(db, &req.uid).await?;
    let resolve = sources.metrics_per_render();
    let registry = sources.clone();
    let logs = move |id: Option<i64>| -> futures::future::BoxFuture<
        'static,
        Result<std::sync::Arc<dyn crate::sources::logs::LogSource>, Error>,
    > {
        let registry = registry.clone();
        Box::pin(async move { registry.logs(id).await })
    };
    let registry = sources.clone();
    let traces = move |id: Option<i64>| -> futures::future::BoxFuture<
        'static,
        Result<std::sync::Arc<dyn crate::sources::traces::TraceSource>, Error>,
    > {
        let registry = registry.clone();
        Box::pin(async move { registry.traces(id).await })
    };
    let (variables, panels, from, to) = super::render::render(
        &stored.dashboard,
        req,
        &resolve,
        (&logs, &traces),
        crate::charts::time::now_seconds(),
    )
    .await?;
    if req.panel.is_none() {
        store::record_view(db, user_id, &req.uid).await?;
    }
    let starred = store::is_starred(db, user_id, &req.uid).await?;
    let doc = stored.dashboard;
    Ok(DashboardView {
        uid: doc.uid,
        title: doc.title,
        folder: doc.folder,
        tags: doc.tags,
        version: stored.version,
        provisioned_from: stored.provisioned_from,
        starred,
        from,
        to,
        refresh: doc.refresh,
        variables,
        panels,
    })
}
