//! The JSON API under `/api/v1`. Every route is registered through [`Api::at`] with the
//! lowest role that may call it, so the role check cannot be forgotten and
//! `GET /api/v1/meta/routes` can list every route (the role-matrix test compares that list
//! with its own table).

mod checklist;
mod dashboards;
mod datasources;
mod elastic;
mod escalation;
mod history;
mod home;
mod identity;
mod ingest;
mod jaeger;
mod log_lines;
mod logs;
mod logs_tail;
mod notification_templates;
mod notifications;
mod prometheus;
mod rules;
mod trace_views;
mod traces;

pub use identity::{sign_in_form, sign_out_form};

use app::dto::Role;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter};
use axum::{Json, Router};
use serde::Serialize;

use super::auth::require_role;
use crate::state::AppState;

#[derive(Clone, Debug, Serialize)]
pub struct RouteInfo {
    pub method: &'static str,
    pub path: &'static str,
    /// `null` for public routes.
    pub min_role: Option<Role>,
}

struct Api {
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
}

impl Api {
    fn new() -> Api {
        Api {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Registers `handler` for `method path`, callable by `min_role` and above.
    fn at<H, T>(mut self, method: Method, path: &'static str, min_role: Role, handler: H) -> Api
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.routes.push(RouteInfo {
            method: method_name(&method),
            path,
            min_role: Some(min_role),
        });
        let route = on(method_filter(&method), handler)
            .layer(axum::middleware::from_fn_with_state(min_role, require_role));
        self.router = self.router.route(path, route);
        self
    }

    /// Registers a route anyone may call (signing in).
    fn public<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Api
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.routes.push(RouteInfo {
            method: method_name(&method),
            path,
            min_role: None,
        });
        self.router = self.router.route(path, on(method_filter(&method), handler));
        self
    }
}

fn method_filter(m: &Method) -> MethodFilter {
    MethodFilter::try_from(m.clone()).expect("a routable method")
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

pub use elastic::root_probe;

pub fn router() -> Router<AppState> {
    let api = escalation::routes(logs::routes(notifications::routes(ingest::routes(
        prometheus::routes(dashboards::routes(history::routes(datasources::routes(
            checklist::routes(rules::routes(identity::routes(home::routes(
                jaeger::routes(traces::routes(Api::new())),
            )))),
        )))),
    ))));
    let api = notification_templates::routes(api);
    let mut api = trace_views::routes(elastic::routes(api));
    api.routes.push(RouteInfo {
        method: "GET",
        path: "/api/v1/meta/routes",
        min_role: Some(Role::Viewer),
    });
    let listing = api.routes.clone();
    api.router.route(
        "/api/v1/meta/routes",
        axum::routing::get(move || async move { Json(listing) }).layer(
            axum::middleware::from_fn_with_state(Role::Viewer, require_role),
        ),
    )
}
