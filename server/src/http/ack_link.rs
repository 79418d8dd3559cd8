//! The acknowledgement link of an escalation notification: `GET /ack/{token}` shows what
//! would be acknowledged and a button (opening a link acknowledges nothing, so mail
//! scanners and link previews cannot); `POST /ack/{token}` acknowledges. Anyone holding a
//! valid link may use it once; used, expired, forged or stale links answer 4xx pages.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::errors::ApiError;
use crate::http::observe::CorrelationId;
use crate::notify::acks::{self, LinkError};
use crate::state::AppState;
use app::components::form::escape_html;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ack/{token}", get(confirm).post(acknowledge))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        t = escape_html(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn refused(err: LinkError) -> Response {
    let status = match &err {
        LinkError::Malformed => StatusCode::BAD_REQUEST,
        LinkError::Forged => StatusCode::FORBIDDEN,
        LinkError::Used => StatusCode::CONFLICT,
        LinkError::Expired | LinkError::NotActive => StatusCode::GONE,
        LinkError::Other(_) => {
            let LinkError::Other(e) = err else {
                unreachable!()
            };
            return ApiError::from(e).into_response();
        }
    };
    page(
        status,
        "Alert not acknowledged",
        &format!("<p>{}</p>", escape_html(&err.message())),
    )
}

fn labels_list(labels: &crate::notify::matchers::Labels) -> String {
    let items: String = labels
        .iter()
        .map(|(k, v)| {
            format!(
                "<li><code>{}=\"{}\"</code></li>",
                escape_html(k),
                escape_html(v)
            )
        })
        .collect();
    format!("<ul>{items}</ul>")
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(notifier) = state.notify.clone() else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Notifications are not running",
            "",
        );
    };
    let active = acks::token_fingerprint(&token)
        .and_then(|fp| crate::alerting::views::find_active(state.alerting.as_deref(), fp));
    match notifier.check_link(&token, active.as_ref()).await {
        Err(err) => refused(err),
        Ok(claim) => {
            let labels = active.map(|a| labels_list(&a.labels)).unwrap_or_default();
            page(
                StatusCode::OK,
                "Acknowledge this alert?",
                &format!(
                    "{labels}<p>Acknowledging stops its escalation. The link was sent to {}.</p>\
                     <form method=\"post\"><label>Your name <input name=\"name\" maxlength=\"100\"></label> \
                     <button type=\"submit\">Acknowledge</button></form>",
                    escape_html(&claim.receiver)
                ),
            )
        }
    }
}

async fn acknowledge(
    State(state): State<AppState>,
    Path(token): Path<String>,
    extensions: axum::http::Extensions,
    body: String,
) -> Response {
    let Some(notifier) = state.notify.clone() else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Notifications are not running",
            "",
        );
    };
    let name = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.into_owned());
    let active = acks::token_fingerprint(&token)
        .and_then(|fp| crate::alerting::views::find_active(state.alerting.as_deref(), fp));
    let outcome = notifier
        .ack_by_link(
            &state.metrics,
            &token,
            name.as_deref(),
            active.as_ref(),
            extensions
                .get::<CorrelationId>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            crate::http::auth::client_addr(&extensions),
        )
        .await;
    match outcome {
        Err(err) => refused(err),
        Ok(ack) => page(
            StatusCode::OK,
            "Alert acknowledged",
            &format!(
                "{}<p id=\"ack-confirmed\">Acknowledged by {} at {}.</p>",
                active.map(|a| labels_list(&a.labels)).unwrap_or_default(),
                escape_html(&ack.by),
                escape_html(&ack.at)
            ),
        ),
    }
}
