//! Notification templates (admins write, everyone reads) and their preview on the alerts
//! firing now. Each handler parses, calls one `notify` function and shapes the answer.

use app::dto::Role;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::error::Error;
use crate::gotemplate::TemplateSet;
use crate::http::errors::{ApiError, ApiJson};
use crate::notify::matchers::Labels;
use crate::notify::payloads::{fingerprint, Data};
use crate::notify::{senders, templates};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(
        Method::GET,
        "/api/v1/notification-templates",
        Role::Viewer,
        list,
    )
    .at(
        Method::POST,
        "/api/v1/notification-templates",
        Role::Admin,
        create,
    )
    .at(
        Method::POST,
        "/api/v1/notification-templates/preview",
        Role::Editor,
        preview,
    )
    .at(
        Method::GET,
        "/api/v1/notification-templates/{id}",
        Role::Viewer,
        get,
    )
    .at(
        Method::PUT,
        "/api/v1/notification-templates/{id}",
        Role::Admin,
        update,
    )
    .at(
        Method::DELETE,
        "/api/v1/notification-templates/{id}",
        Role::Admin,
        delete,
    )
}

fn view(t: &templates::NotificationTemplate) -> Value {
    let defines = t.defines();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    t.view(&defines)
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = templates::list(&state.db).await?;
    Ok(Json(all.iter().map(view).collect::<Vec<Value>>()).into_response())
}

async fn get(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(view(&templates::get(&state.db, id).await?)).into_response())
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<templates::TemplateBody>,
) -> Result<Response, ApiError> {
    let saved = templates::save(&state.db, &state.metrics, &actor, None, body).await?;
    Ok((StatusCode::CREATED, Json(view(&saved))).into_response())
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<templates::TemplateBody>,
) -> Result<Response, ApiError> {
    let saved = templates::save(&state.db, &state.metrics, &actor, Some(id), body).await?;
    Ok(Json(view(&saved)).into_response())
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    templates::delete(&state.db, &state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    /// `slack` or `email`.
    #[serde(rename = "type")]
    kind: String,
    /// The contact point the message would go to (its own templates apply).
    #[serde(default = "preview_receiver")]
    receiver: String,
    /// Unsaved edits: each replaces the stored template of its name, or is added.
    #[serde(default)]
    templates: Vec<UnsavedTemplate>,
    /// Preview with this firing alert only (as `/api/v1/alerts` gives it).
    fingerprint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsavedTemplate {
    name: String,
    body: String,
}

fn preview_receiver() -> String {
    "preview".into()
}

/// The message a contact point of `type` would get for the alerts firing now (or the one
/// named), built with the stored templates and the unsaved edits.
async fn preview(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Response, ApiError> {
    if !templates::PARTS.iter().any(|(kind, _)| *kind == body.kind) {
        return Err(Error::invalid(
            "type",
            "slack or email (the others are JSON, not templated)",
        )
        .into());
    }
    if body.templates.len() > 20 {
        return Err(Error::invalid("templates", "at most 20 unsaved templates").into());
    }
    for (i, t) in body.templates.iter().enumerate() {
        if t.body.len() > templates::MAX_BODY {
            return Err(Error::invalid(
                format!("templates[{i}].body"),
                format!("longer than {} bytes", templates::MAX_BODY),
            )
            .into());
        }
    }
    let stored = templates::list(&state.db).await?;
    let sources: Vec<(&str, &str)> = stored
        .iter()
        .filter(|s| !body.templates.iter().any(|t| t.name == s.name))
        .map(|s| (s.name.as_str(), s.body.as_str()))
        .chain(
            body.templates
                .iter()
                .map(|t| (t.name.as_str(), t.body.as_str())),
        )
        .collect();
    let set = TemplateSet::parse(sources).map_err(|e| Error::invalid("templates", e))?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut alerts = crate::alerting::views::firing_posted(state.alerting.as_deref(), now);
    if let Some(fp) = &body.fingerprint {
        let want = crate::notify::acks::parse_fingerprint("fingerprint", fp)?;
        alerts.retain(|a| fingerprint(&a.labels) == want);
        if alerts.is_empty() {
            return Err(Error::invalid("fingerprint", format!("no firing alert {fp}")).into());
        }
    }
    if alerts.is_empty() {
        return Err(Error::invalid(
            "fingerprint",
            "no alert is firing now; a preview is built from real firing alerts",
        )
        .into());
    }
    // Grouped by alertname when they share one, as the default policy groups.
    let names: std::collections::BTreeSet<&String> = alerts
        .iter()
        .filter_map(|a| a.labels.get("alertname"))
        .collect();
    let group: Labels = match names.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => Labels::from([("alertname".to_owned(), (*one).clone())]),
        _ => Labels::new(),
    };
    let external_url = state
        .notify
        .as_ref()
        .map(|n| n.options.external_url.clone())
        .unwrap_or_default();
    let count = alerts.len();
    let data = Data::new(&body.receiver, alerts, &group, &external_url, now);
    let message =
        senders::preview(&body.kind, &data, &set).map_err(|e| Error::invalid("templates", e))?;
    Ok(
        Json(json!({ "alerts": count, "status": data.status(), "message": message }))
            .into_response(),
    )
}
