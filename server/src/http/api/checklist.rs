//! Team checklists over HTTP: templates, a team's checklist (JSON, Markdown or CSV), item
//! changes with history, the teams × sections overview, and evidence on demand.

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::Api;
use crate::actor::Actor;
use crate::checklist::{self, evidence, ownership, ItemPatch, Lang};
use crate::http::auth::Principal;
use crate::http::errors::{ApiError, ApiJson};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.at(
        Method::GET,
        "/api/v1/checklist-templates",
        Role::Viewer,
        list_templates,
    )
    .at(
        Method::POST,
        "/api/v1/checklist-templates",
        Role::Admin,
        create_template,
    )
    .at(
        Method::PUT,
        "/api/v1/checklist-templates/{id}",
        Role::Admin,
        update_template,
    )
    .at(
        Method::GET,
        "/api/v1/checklist/overview",
        Role::Viewer,
        overview,
    )
    .at(
        Method::POST,
        "/api/v1/checklist/evidence",
        Role::Editor,
        run_evidence,
    )
    .at(
        Method::GET,
        "/api/v1/teams/{id}/checklist",
        Role::Viewer,
        team_checklist,
    )
    .at(
        Method::GET,
        "/api/v1/teams/{id}/ownership",
        Role::Viewer,
        get_ownership,
    )
    .at(
        Method::PUT,
        "/api/v1/teams/{id}/ownership",
        Role::Editor,
        set_ownership,
    )
    .at(
        Method::PATCH,
        "/api/v1/teams/{id}/checklist/items/{item}",
        Role::Editor,
        patch_item,
    )
    .at(
        Method::GET,
        "/api/v1/teams/{id}/checklist/items/{item}/history",
        Role::Viewer,
        item_history,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistQuery {
    /// Template id; the default template (the seed's) when absent.
    template: Option<i64>,
    /// `de` or `en`; the user's language when absent.
    lang: Option<Lang>,
    /// `json` (default), `md` or `csv`.
    format: Option<String>,
}

fn lang_of(principal: &Principal, requested: Option<Lang>) -> Lang {
    requested.unwrap_or(if principal.language == "en" {
        Lang::En
    } else {
        Lang::De
    })
}

fn query<T: serde::de::DeserializeOwned>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        let text = e.body_text();
        let field = text.split('`').nth(1).unwrap_or("query").to_owned();
        ApiError::invalid(field, text)
    })
}

async fn list_templates(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(checklist::templates(&state.db).await?).into_response())
}

async fn create_template(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<checklist::TemplateBody>,
) -> Result<Response, ApiError> {
    let t = checklist::save_template(&state.db, &state.metrics, &actor, None, body).await?;
    Ok((axum::http::StatusCode::CREATED, Json(t)).into_response())
}

async fn update_template(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<checklist::TemplateBody>,
) -> Result<Response, ApiError> {
    Ok(
        Json(checklist::save_template(&state.db, &state.metrics, &actor, Some(id), body).await?)
            .into_response(),
    )
}

async fn team_checklist(
    State(state): State<AppState>,
    principal: Principal,
    Path(team_id): Path<i64>,
    q: Result<Query<ChecklistQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let lang = lang_of(&principal, q.lang);
    let list = checklist::team_checklist(&state.db, team_id, q.template.unwrap_or(1), lang).await?;
    let format = checklist::Format::parse(q.format.as_deref())?;
    let content_type = match format {
        checklist::Format::Json => return Ok(Json(list).into_response()),
        checklist::Format::Markdown => "text/markdown; charset=utf-8",
        checklist::Format::Csv => "text/csv; charset=utf-8",
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        checklist::file_name(&list, format)
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        checklist::export(&list, format),
    )
        .into_response())
}

async fn patch_item(
    State(state): State<AppState>,
    actor: Actor,
    Path((team_id, item_id)): Path<(i64, i64)>,
    ApiJson(patch): ApiJson<ItemPatch>,
) -> Result<Response, ApiError> {
    Ok(Json(
        checklist::patch_item(&state.db, &state.metrics, &actor, team_id, item_id, patch).await?,
    )
    .into_response())
}

async fn item_history(
    State(state): State<AppState>,
    Path((team_id, item_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(Json(checklist::item_history(&state.db, team_id, item_id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverviewQuery {
    template: Option<i64>,
    lang: Option<Lang>,
}

async fn overview(
    State(state): State<AppState>,
    principal: Principal,
    q: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let lang = lang_of(&principal, q.lang);
    Ok(Json(checklist::overview(&state.db, q.template.unwrap_or(1), lang).await?).into_response())
}

/// Runs every team's checks now: one entry per (team, check), each with its `team_id`.
async fn run_evidence(State(state): State<AppState>) -> Result<Response, ApiError> {
    let results: Vec<Value> = evidence::evaluate_all(&state.db, &state.sources)
        .await?
        .into_iter()
        .flat_map(|(team_id, list)| {
            list.into_iter().map(move |e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["team_id"] = json!(team_id);
                v
            })
        })
        .collect();
    Ok(Json(results).into_response())
}

async fn get_ownership(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(Json(ownership::of_team(&state.db, id).await?).into_response())
}

async fn set_ownership(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ownership::Ownership>,
) -> Result<Response, ApiError> {
    Ok(Json(ownership::set(&state.db, &state.metrics, &actor, id, body).await?).into_response())
}
