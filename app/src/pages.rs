//! One component per page. Pages whose capability has not been built yet say so plainly and
//! show no invented content.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Home" />
        <h1>"Keiko Observability Portal"</h1>
        <p class="lead">
            "Metrics, logs, traces, dashboards, alert rules and the team monitoring checklist \
             for Keiko — the FastAPI app, its AI agents and its MCP tool servers."
        </p>
        <section class="status">
            <h2>"What this release does"</h2>
            <ul>
                <li>
                    "Observes itself: " <a href="/metrics">"/metrics"</a>
                    " serves the keiko_* families, every request is logged as JSON with its \
                     correlation ID and traced with OpenTelemetry."
                </li>
                <li>
                    "Health: " <a href="/healthz">"/healthz"</a> " and "
                    <a href="/readyz">"/readyz"</a> "."
                </li>
            </ul>
            <p>
                "Dashboards, Explore, alert rules, the checklist and settings are each marked \
                 on their page with what is still to come."
            </p>
        </section>
        <crate::dashboards::RecentDashboards />
    }
}

/// A page whose feature is not built yet: says so, and says what it will hold.
#[component]
fn ComingLater(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <div class="notice" role="status">
            <strong>"Coming in a later release."</strong>
            " "
            {what}
        </div>
    }
}

#[component]
pub fn ExploreLogs() -> impl IntoView {
    view! {
        <ComingLater
            title="Explore logs"
            what="Search structured logs by correlation ID, level and logger."
        />
    }
}

#[component]
pub fn ExploreTraces() -> impl IntoView {
    view! {
        <ComingLater
            title="Explore traces"
            what="Find traces by service and span attributes such as agent.id and task.type."
        />
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <h1>"Page not found"</h1>
        <p>"There is no page at this address. " <a href="/">"Go to the start page."</a></p>
    }
}
