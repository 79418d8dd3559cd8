//! Users, sessions, API tokens, teams and the audit log over HTTP. Handlers parse and
//! answer; the rules live in `crate::identity` and `crate::audit`.

use app::dto::Role;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::Api;
use crate::actor::Actor;
use crate::audit::{self, AuditFilter};
use crate::db::timestamp;
use crate::http::auth::{Credential, Principal};
use crate::http::errors::{ApiError, ApiJson};
use crate::http::observe::CorrelationId;
use crate::identity::sign_in::{self, SignOut};
use crate::identity::users::{self, CreateUser, SignInError, UpdateUser, UserRow};
use crate::identity::{sessions, teams, tokens};
use crate::state::AppState;

pub(super) fn routes(api: Api) -> Api {
    api.public(Method::POST, "/api/v1/session", sign_in_json)
        .at(
            Method::DELETE,
            "/api/v1/session",
            Role::Viewer,
            sign_out_json,
        )
        .at(
            Method::DELETE,
            "/api/v1/sessions",
            Role::Viewer,
            sign_out_everywhere,
        )
        .at(Method::GET, "/api/v1/users", Role::Viewer, list_users)
        .at(Method::POST, "/api/v1/users", Role::Admin, create_user)
        .at(Method::GET, "/api/v1/users/me", Role::Viewer, me)
        .at(Method::GET, "/api/v1/users/{id}", Role::Viewer, get_user)
        // Viewers may PATCH themselves (name, own password); the rest needs Admin.
        .at(
            Method::PATCH,
            "/api/v1/users/{id}",
            Role::Viewer,
            update_user,
        )
        .at(
            Method::DELETE,
            "/api/v1/users/{id}",
            Role::Admin,
            delete_user,
        )
        .at(Method::GET, "/api/v1/tokens", Role::Viewer, list_tokens)
        .at(Method::POST, "/api/v1/tokens", Role::Viewer, create_token)
        .at(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            Role::Viewer,
            revoke_token,
        )
        .at(Method::GET, "/api/v1/teams", Role::Viewer, list_teams)
        .at(Method::POST, "/api/v1/teams", Role::Admin, create_team)
        .at(Method::GET, "/api/v1/teams/{id}", Role::Viewer, get_team)
        .at(
            Method::DELETE,
            "/api/v1/teams/{id}",
            Role::Admin,
            delete_team,
        )
        .at(
            Method::PUT,
            "/api/v1/teams/{id}/members/{user_id}",
            Role::Admin,
            add_member,
        )
        .at(
            Method::DELETE,
            "/api/v1/teams/{id}/members/{user_id}",
            Role::Admin,
            remove_member,
        )
        .at(Method::GET, "/api/v1/audit", Role::Admin, list_audit)
}

// ---- sessions ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    login: String,
    password: String,
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        sessions::COOKIE
    ))
    .expect("cookie text is ASCII")
}

/// Signs in and starts a session from a request; shared by the JSON API and the login form.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    extensions: (&CorrelationId, String),
    login: &str,
    password: &str,
    source: &str,
) -> Result<(UserRow, sessions::NewSession), SignInError> {
    let (correlation, addr) = extensions;
    let ctx = sign_in::Context {
        db: &state.db,
        metrics: &state.metrics,
        guard: &state.sign_in_guard,
        lockout: state.lockout(),
        session_ttl: state.session_ttl(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        correlation_id: &correlation.0,
    };
    let attempt = users::Attempt {
        login,
        password,
        source,
        client_addr: &addr,
        remember: false,
    };
    sign_in::sign_in(ctx, attempt).await
}

async fn sign_in_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    correlation: axum::Extension<CorrelationId>,
    conn: axum::extract::ConnectInfo<std::net::SocketAddr>,
    ApiJson(body): ApiJson<SignIn>,
) -> Response {
    let addr = conn.0.ip().to_string();
    match start_session(
        &state,
        &headers,
        (&correlation.0, addr),
        &body.login,
        &body.password,
        "api_session",
    )
    .await
    {
        Ok((user, session)) => {
            let cookie = session_cookie(
                &state,
                &session.cookie_value,
                state.config.session_ttl_secs as i64,
            );
            let body = json!({ "user": {
                "id": user.id, "login": user.login, "name": user.name, "role": user.role(),
                "csrf_token": session.csrf_token,
            }});
            ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
        }
        Err(err) => crate::http::auth::sign_in_failure(err),
    }
}

/// Ends the request's session (or every session of its user) and audits it.
async fn end_session(
    state: &AppState,
    principal: &Principal,
    actor: &Actor,
    everywhere: bool,
) -> Result<u64, ApiError> {
    let which = match &principal.credential {
        _ if everywhere => SignOut::Everywhere,
        Credential::Session { id, .. } => SignOut::This(Some(id)),
        _ => SignOut::This(None),
    };
    Ok(sign_in::sign_out(&state.db, &state.metrics, actor, which).await?)
}

async fn sign_out_json(
    State(state): State<AppState>,
    principal: Principal,
    actor: Actor,
) -> Result<Response, ApiError> {
    end_session(&state, &principal, &actor, false).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
        StatusCode::NO_CONTENT,
    )
        .into_response())
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    principal: Principal,
    actor: Actor,
) -> Result<Response, ApiError> {
    let ended = end_session(&state, &principal, &actor, true).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
        Json(json!({ "ended": ended })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Only same-site paths are followed after sign-in (no open redirect).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

/// `POST /login` from the login page's form: works without JavaScript.
pub async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    correlation: axum::Extension<CorrelationId>,
    conn: axum::extract::ConnectInfo<std::net::SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let addr = conn.0.ip().to_string();
    match start_session(
        &state,
        &headers,
        (&correlation.0, addr),
        &form.login,
        &form.password,
        "login_form",
    )
    .await
    {
        Ok((_, session)) => {
            let cookie = session_cookie(
                &state,
                &session.cookie_value,
                state.config.session_ttl_secs as i64,
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(err) => {
            let code = match err {
                SignInError::Invalid => "invalid".to_owned(),
                SignInError::Busy => "busy".to_owned(),
                SignInError::Locked { retry_after_secs } => {
                    format!("locked&retry={retry_after_secs}")
                }
            };
            let login: String = form
                .login
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "._@-".contains(*c))
                .collect();
            Redirect::to(&format!(
                "/login?error={code}&login={login}&next={}",
                crate::http::auth::url_encode(&next)
            ))
            .into_response()
        }
    }
}

/// `POST /logout` from the page's form.
pub async fn sign_out_form(
    State(state): State<AppState>,
    principal: Principal,
    actor: Actor,
) -> Response {
    if let Err(err) = end_session(&state, &principal, &actor, false).await {
        return err.into_response();
    }
    (
        [(header::SET_COOKIE, session_cookie(&state, "", 0))],
        Redirect::to("/login"),
    )
        .into_response()
}

// ---- users -------------------------------------------------------------------------------

async fn list_users(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(users::list(&state.db).await?).into_response())
}

async fn create_user(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let user = users::create(&state.db, &state.metrics, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn me(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let row = users::by_id(&state.db, principal.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let mut body = serde_json::to_value(users::view(&state.db, &row).await?).unwrap_or_default();
    // The role this request acts with (a token may act below its user's role).
    body["acting_role"] = json!(principal.role);
    body["csrf_token"] = json!(principal.session_user().csrf_token);
    Ok(Json(body).into_response())
}

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let row = users::by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(users::view(&state.db, &row).await?).into_response())
}

async fn update_user(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> Result<Response, ApiError> {
    Ok(Json(users::update(&state.db, &state.metrics, &actor, id, req).await?).into_response())
}

async fn delete_user(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    users::delete(&state.db, &state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- tokens ------------------------------------------------------------------------------

async fn list_tokens(State(state): State<AppState>, actor: Actor) -> Result<Response, ApiError> {
    Ok(Json(tokens::list(&state.db, actor.user_id).await?).into_response())
}

async fn create_token(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<tokens::CreateToken>,
) -> Result<Response, ApiError> {
    let created = tokens::create(&state.db, &state.metrics, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    tokens::revoke(&state.db, &state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- teams -------------------------------------------------------------------------------

async fn list_teams(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(teams::list(&state.db).await?).into_response())
}

async fn create_team(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(req): ApiJson<teams::CreateTeam>,
) -> Result<Response, ApiError> {
    let team = teams::create(&state.db, &state.metrics, &actor, req).await?;
    Ok((StatusCode::CREATED, Json(team)).into_response())
}

async fn get_team(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let team = teams::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    Ok(Json(team).into_response())
}

async fn delete_team(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    teams::delete(&state.db, &state.metrics, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(
        Json(teams::set_member(&state.db, &state.metrics, &actor, id, user_id, true).await?)
            .into_response(),
    )
}

async fn remove_member(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, user_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(
        Json(teams::set_member(&state.db, &state.metrics, &actor, id, user_id, false).await?)
            .into_response(),
    )
}

// ---- audit -------------------------------------------------------------------------------

fn normalise_time(field: &'static str, value: &mut Option<String>) -> Result<(), ApiError> {
    if let Some(v) = value.as_deref() {
        let t = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
            ApiError::invalid(field, "must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z")
        })?;
        *value = Some(timestamp(t.with_timezone(&chrono::Utc)));
    }
    Ok(())
}

async fn list_audit(
    State(state): State<AppState>,
    query: Result<Query<AuditFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(mut filter) = query.map_err(|e| {
        let text = e.body_text();
        let field = text.split('`').nth(1).unwrap_or("query").to_owned();
        ApiError::invalid(field, text)
    })?;
    normalise_time("since", &mut filter.since)?;
    normalise_time("until", &mut filter.until)?;
    Ok(Json(audit::list(&state.db, &filter).await?).into_response())
}
