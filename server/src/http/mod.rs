//! The HTTP surface: routes, Leptos pages, and the tower layers around them.

mod ack_link;
mod api;
pub mod auth;
mod chart_backend;
pub mod errors;
mod health;
pub mod observe;
mod trace_backend;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes as _};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_request_body::MapRequestBodyLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;

/// Policy for responses that set none themselves (JSON, metrics, assets). HTML pages set
/// their own, with the per-response nonce of their hydration script.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

pub fn app(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let pkg_dir = state.config.site_root.join("pkg");
    let routes = generate_route_list(app::App);
    let charts = chart_backend::backend(state.clone());
    let traces = trace_backend::backend(state.clone());

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        // The bundle's names carry no content hash: browsers revalidate each time (a
        // `Last-Modified` check, answered 304 while unchanged) instead of running a stale
        // bundle after an upgrade.
        .nest_service(
            "/pkg",
            tower::ServiceBuilder::new()
                .layer(
                    tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                        axum::http::header::CACHE_CONTROL,
                        axum::http::HeaderValue::from_static("no-cache"),
                    ),
                )
                .service(ServeDir::new(pkg_dir)),
        )
        .route("/login", axum::routing::post(api::sign_in_form))
        .route("/logout", axum::routing::post(api::sign_out_form))
        // A section's own address lands on its first page, as Grafana's do.
        .route(
            "/settings",
            get(|| async { axum::response::Redirect::to("/settings/datasources") }),
        )
        .route(
            "/explore",
            get(|| async { axum::response::Redirect::to("/explore/metrics") }),
        )
        .route(
            "/alerting",
            get(|| async { axum::response::Redirect::to("/alerting/rules") }),
        )
        .merge(api::router())
        .merge(ack_link::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                leptos::prelude::provide_context(charts.clone());
                leptos::prelude::provide_context(traces.clone());
            },
            move || app::shell(options.clone()),
        )
        .fallback(errors::fallback)
        // `GET /` from an Elasticsearch client (no HTML asked for) answers cluster info.
        .layer(axum::middleware::from_fn(api::root_probe))
        // Each `layer` wraps everything above it: the first listed runs innermost, the
        // last runs first on the way in and last on the way out.
        .layer(
            ServiceBuilder::new()
                .layer(RequestBodyLimitLayer::new(state.config.body_limit_bytes))
                .layer(MapRequestBodyLayer::new(Body::new)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.config.request_timeout_secs),
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        ))
        .layer(CatchPanicLayer::custom(errors::panic_response))
        // Who is calling: sessions, tokens, Basic; CSRF for cookie sessions.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Uniform bodies for errors produced below (413, 408, 405, 500 from a panic).
        .layer(axum::middleware::from_fn(errors::uniform_errors))
        // Outermost: correlation id, request span, request metrics and the access log line,
        // so they see the final status of everything below, including caught panics.
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::observe,
        ))
        .with_state(state)
}
