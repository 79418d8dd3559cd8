//! The portal's user interface: Leptos components rendered on the server and hydrated in the
//! browser. Server-only code sits behind the `ssr` feature, browser-only code behind `hydrate`.

mod admin;
mod alerting;
mod api_client;
mod checklist;
pub mod components;
pub mod dashboards;
pub mod dto;
mod explore;
mod fetch;
mod home;
mod login;
mod logs;
mod nav;
mod notifications;
mod pages;
pub mod session;
mod settings;
mod theme;
pub mod traces;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

pub use api_client::ApiFailure;
pub use theme::Theme;

/// The HTML document around the app. Runs only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    security::provide_nonce_and_csp();
    let theme = theme::initial_theme();
    let session_json = session::to_json(&session::load());
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme.as_str()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="data:," />
                <script type="application/json" id=session::ELEMENT_ID inner_html=session_json></script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: the navigation frame and one route per page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(session::load());
    view! {
        <Stylesheet id="keiko" href="/pkg/keiko.css" />
        <Title formatter=|page: String| components::form::raw_text(format!("{page} · Keiko")) />
        <Router>
            // Without a session there is no sidebar: the page (sign-in) gets the whole width.
            <div class="frame" class:frame-bare=session::current().is_none()>
                {session::current().is_some().then(|| view! { <nav::Sidebar /> })}
                <main class="content" id="main">
                    <Routes fallback=pages::NotFound>
                        <Route path=path!("/") view={Lazy::<LazyHome>::new()} />
                        <Route path=path!("/dashboards") view={Lazy::<LazyDashboardList>::new()} />
                        <Route path=path!("/d/:uid") view={Lazy::<LazyDashboardPage>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/metrics") view={Lazy::<LazyExploreMetrics>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/logs") view={Lazy::<LazyExploreLogs>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/traces") view={Lazy::<LazyExploreTraces>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/traces/:trace_id") view={Lazy::<LazyTrace>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/service-map") view={Lazy::<LazyServiceMap>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/explore/trace-compare") view={Lazy::<LazyTraceCompare>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/alerting/rules") view={Lazy::<LazyRulesList>::new()} />
                        <Route path=path!("/alerting/rules/edit") view={Lazy::<LazyRuleEditor>::new()} />
                        <Route path=path!("/alerting/alerts") view={Lazy::<LazyAlerts>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/alerting/silences") view={Lazy::<LazySilences>::new()} />
                        <Route path=path!("/alerting/contact-points") view={Lazy::<LazyContactPoints>::new()} />
                        <Route path=path!("/alerting/policies") view={Lazy::<LazyPolicies>::new()} />
                        <Route path=path!("/alerting/escalation") view={Lazy::<LazyEscalation>::new()} />
                        <Route path=path!("/checklist") view={Lazy::<LazyChecklist>::new()} />
                        <Route path=path!("/settings/datasources") view={Lazy::<LazyDataSources>::new()} />
                        <Route path=path!("/settings/targets") view={Lazy::<LazyTargets>::new()} />
                        <Route path=path!("/settings/users") view={Lazy::<LazyUsers>::new()} />
                        <Route path=path!("/settings/teams") view={Lazy::<LazyTeams>::new()} />
                        <Route path=path!("/settings/audit") view={Lazy::<LazyAudit>::new()} />
                        <Route path=path!("/profile") view={Lazy::<LazyProfile>::new()} />
                        <Route path=path!("/login") view=login::Login />
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// Marks the page as interactive once hydration (with the page's own module) has finished:
/// `<body data-hydrated>` (tests wait for it) and the `keiko-hydrated` performance mark (for
/// real-user and benchmark timing). Called by the `frontend` crate.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
    if let Some(p) = window().performance() {
        let _ = p.mark("keiko-hydrated");
    }
}

/// Every page the navigation links to, with its path: the browser tests walk this list.
pub const NAV_PAGES: &[(&str, &str)] = &[
    ("/dashboards", "Dashboards"),
    ("/explore/metrics", "Metrics"),
    ("/explore/logs", "Logs"),
    ("/explore/traces", "Traces"),
    ("/alerting/alerts", "Alerts"),
    ("/alerting/rules", "Rules"),
    ("/alerting/silences", "Silences"),
    ("/alerting/contact-points", "Contact points"),
    ("/alerting/policies", "Notification policies"),
    ("/alerting/escalation", "Escalation"),
    ("/checklist", "Checklist"),
    ("/settings/datasources", "Data sources"),
    ("/settings/targets", "Scrape targets"),
    ("/settings/users", "Users"),
    ("/settings/teams", "Teams"),
    ("/settings/audit", "Audit log"),
];

#[cfg(feature = "ssr")]
mod security {
    use http::{header, HeaderValue};
    use leptos::prelude::*;

    /// Gives this response a fresh CSP nonce (Leptos puts it on its hydration script) and the
    /// matching `Content-Security-Policy` header.
    pub fn provide_nonce_and_csp() {
        leptos::nonce::provide_nonce();
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) {
            let policy = format!(
                "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
                 frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
            );
            if let Ok(value) = HeaderValue::from_str(&policy) {
                response.insert_header(header::CONTENT_SECURITY_POLICY, value);
            }
        }
    }
}

/// `/d/{uid}`: like the others, but loading it also loads the modules of the panel kinds
/// the server drew (the router awaits `preload` before it hydrates the page, and the page
/// must find them loaded: `dashboards::preload_drawn_panels`).
struct LazyDashboardPage;

impl LazyRoute for LazyDashboardPage {
    fn data() -> Self {
        Self
    }
    async fn view(_this: Self) -> AnyView {
        dashboards::dashboard_page_view().await
    }
    async fn preload() {
        #[cfg(feature = "hydrate")]
        {
            dashboards::__preload_dashboard_page_view().await;
            dashboards::preload_drawn_panels().await;
        }
    }
}

/// Each page's code is a chunk of its own, loaded when its route is first shown.
macro_rules! lazy_pages {
    ($($name:ident => $page:path),* $(,)?) => {$(
        struct $name;
        #[lazy_route]
        impl LazyRoute for $name {
            fn data() -> Self {
                Self
            }
            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_pages! {
    LazyHome => home::Home,
    LazyDashboardList => dashboards::DashboardList,
    LazyExploreMetrics => explore::ExploreMetrics,
    LazyExploreLogs => logs::ExploreLogs,
    LazyExploreTraces => traces::ExploreTraces,
    LazyTrace => traces::TracePage,
    LazyServiceMap => traces::ServiceMapPage,
    LazyTraceCompare => traces::ComparePage,
    LazyRulesList => alerting::RulesList,
    LazyRuleEditor => alerting::RuleEditor,
    LazyAlerts => alerting::AlertsPage,
    LazySilences => notifications::Silences,
    LazyContactPoints => notifications::ContactPoints,
    LazyPolicies => notifications::Policies,
    LazyEscalation => notifications::Escalation,
    LazyChecklist => checklist::Checklist,
    LazyDataSources => admin::DataSources,
    LazyTargets => admin::Targets,
    LazyUsers => admin::Users,
    LazyTeams => admin::Teams,
    LazyAudit => admin::Audit,
    LazyProfile => settings::Profile,
}
