//! Authentication on every request, and CSRF protection for cookie sessions.
//!
//! Credentials, in order: `Authorization: Bearer <API token>`, `Authorization: Basic`
//! (login and password), the `keiko_session` cookie. Explicit credentials that are wrong
//! answer 401 at once. Without credentials only the public paths are served; pages redirect
//! to `/login`, everything else answers 401.
//!
//! CSRF: a change (POST/PUT/PATCH/DELETE) carried by a session cookie must bring the
//! session's `X-CSRF-Token`, or come from this origin (`Origin` equal to `Host`, which
//! browsers send with every form post and fetch). A foreign `Origin` is always refused.

use std::net::SocketAddr;

use app::dto::{Role, SessionUser};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;

use super::errors::ApiError;
use super::observe::CorrelationId;
use crate::actor::Actor;
use crate::identity::users::{self, SignInError, UserRow};
use crate::identity::{sessions, tokens};
use crate::state::AppState;

#[derive(Clone, Debug)]
pub enum Credential {
    Session { id: String, csrf_token: String },
    Token { id: i64 },
    Basic,
}

/// The authenticated caller of this request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub language: String,
    pub credential: Credential,
    /// An ingest-scoped token (or an anonymous pusher where config allows it): only the
    /// ingest routes answer it.
    pub ingest_only: bool,
}

/// Where metrics, logs and spans are pushed: the only routes an ingest-scoped caller may reach.
pub fn is_ingest(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/write"
            | "/v1/metrics"
            | "/api/v1/logs"
            | "/v1/logs"
            | "/loki/api/v1/push"
            | "/v1/traces"
            | "/api/v2/spans"
    ) || crate::http::errors::is_elastic(path)
}

impl Principal {
    fn new(user: &UserRow, role: Role, credential: Credential) -> Principal {
        Principal {
            user_id: user.id,
            login: user.login.clone(),
            name: user.name.clone(),
            role,
            language: user.language.clone(),
            credential,
            ingest_only: false,
        }
    }

    pub fn session_user(&self) -> SessionUser {
        SessionUser {
            id: self.user_id,
            login: self.login.clone(),
            name: self.name.clone(),
            role: self.role,
            language: self.language.clone(),
            csrf_token: match &self.credential {
                Credential::Session { csrf_token, .. } => Some(csrf_token.clone()),
                _ => None,
            },
        }
    }
}

/// Paths served without signing in.
fn is_public(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/login")
        || path.starts_with("/pkg/")
        // Acknowledgement links: the signed token is the credential.
        || path.starts_with("/ack/")
        || (path == "/api/v1/session" && method == Method::POST)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn client_addr(parts_ext: &axum::http::Extensions) -> String {
    parts_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `Some(true)` when `Origin` names this host, `Some(false)` when it names another,
/// `None` when there is no `Origin` header.
fn same_origin(headers: &HeaderMap) -> Option<bool> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    Some(host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host)))
}

fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError::unauthorized(message).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"keiko\""),
    );
    resp
}

pub fn sign_in_failure(err: SignInError) -> Response {
    match err {
        SignInError::Invalid => unauthorized("invalid login or password"),
        SignInError::Busy => ApiError::from(crate::cpu::Busy).into_response(),
        SignInError::Locked { retry_after_secs } => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "locked_out",
                format!("too many failed sign-ins; try again in {retry_after_secs} s"),
            )
            .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == sessions::COOKIE && !value.is_empty()).then(|| value.to_owned())
        })
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();

    if is_unsafe(&method) && same_origin(&headers) == Some(false) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "cross-origin request refused",
        )
        .into_response();
    }

    let mut principal = None;
    let mut metrics_scrape = false;
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(secret) = auth.strip_prefix("Bearer ") {
            let secret = secret.trim();
            if path == "/metrics"
                && state
                    .config
                    .metrics_token
                    .as_deref()
                    .is_some_and(|t| constant_time_eq(t, secret))
            {
                metrics_scrape = true;
            } else {
                match tokens::authenticate(&state.db, &state.token_uses, secret).await {
                    Ok(Some(used)) => {
                        let mut p = Principal::new(
                            &used.user,
                            used.role,
                            Credential::Token { id: used.id },
                        );
                        p.ingest_only = used.ingest_only;
                        principal = Some(p);
                    }
                    Ok(None) => {
                        state
                            .metrics
                            .security_event("token_rejected", "warning", "api_token");
                        return unauthorized("invalid, expired or revoked API token");
                    }
                    Err(err) => return ApiError::from(err).into_response(),
                }
            }
        } else if let Some(encoded) = auth.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return unauthorized("malformed Basic credentials");
            };
            let addr = client_addr(req.extensions());
            let attempt = users::Attempt {
                login,
                password,
                source: "basic_auth",
                client_addr: &addr,
                remember: true,
            };
            match users::sign_in(
                &state.db,
                &state.metrics,
                &state.sign_in_guard,
                state.lockout(),
                attempt,
            )
            .await
            {
                Ok(user) => principal = Some(Principal::new(&user, user.role(), Credential::Basic)),
                Err(err) => return sign_in_failure(err),
            }
        } else {
            return unauthorized("unsupported Authorization scheme; use Bearer or Basic");
        }
    } else if let Some(cookie) = session_cookie_value(&headers) {
        match sessions::lookup(&state.db, &cookie).await {
            Ok(Some(live)) => {
                let role = live.user.role();
                principal = Some(Principal::new(
                    &live.user,
                    role,
                    Credential::Session {
                        id: live.id,
                        csrf_token: live.csrf_token,
                    },
                ))
            }
            Ok(None) => {}
            Err(err) => return ApiError::from(err).into_response(),
        }
    }

    let public = is_public(&method, &path)
        || (path == "/metrics" && (state.config.metrics_token.is_none() || metrics_scrape));
    // Anonymous pushes, where the config allows them: a caller that may only push.
    if principal.is_none() && state.config.anonymous_ingest && is_ingest(&path) {
        principal = Some(Principal {
            user_id: 0,
            login: "anonymous-ingest".into(),
            name: "Anonymous ingest".into(),
            role: Role::Editor,
            language: String::new(),
            credential: Credential::Basic,
            ingest_only: true,
        });
    }
    if principal.as_ref().is_some_and(|p| p.ingest_only) && !is_ingest(&path) {
        return ApiError::forbidden(
            "this credential may only push metrics (/api/v1/write, /v1/metrics)",
        )
        .into_response();
    }
    let Some(principal) = principal else {
        if public {
            return next.run(req).await;
        }
        if crate::http::errors::is_api(&path) || path == "/metrics" {
            return unauthorized("sign in, or send an API token or Basic credentials");
        }
        let target = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let next_param: String = url_encode(target);
        return Redirect::to(&format!("/login?next={next_param}")).into_response();
    };

    if let Credential::Session { csrf_token, .. } = &principal.credential {
        if is_unsafe(&method) && path != "/api/v1/session" && path != "/login" {
            let header_ok = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| constant_time_eq(t, csrf_token));
            if !header_ok && same_origin(&headers) != Some(true) {
                state
                    .metrics
                    .security_event("csrf_rejected", "warning", "session");
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "missing or wrong X-CSRF-Token for a cookie-authenticated change",
                )
                .into_response();
            }
        }
    }

    tracing::Span::current().record("user_id", principal.user_id);
    req.extensions_mut().insert(principal.session_user());
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Rejects a route for callers below `min`: 401 without a principal, 403 below the role.
pub async fn require_role(State(min): State<Role>, req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        None => unauthorized("sign in first"),
        Some(p) if p.role < min => {
            ApiError::forbidden(format!("this needs the {min} role; you act as {}", p.role))
                .into_response()
        }
        Some(_) => next.run(req).await,
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .ok_or_else(|| ApiError::unauthorized("sign in first"))?;
        Ok(Actor {
            user_id: principal.user_id,
            login: principal.login.clone(),
            role: principal.role,
            correlation_id: parts
                .extensions
                .get::<CorrelationId>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
            client_addr: client_addr(&parts.extensions),
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("sign in first"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_compared_with_host() {
        let mut h = HeaderMap::new();
        assert_eq!(same_origin(&h), None);
        h.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        assert_eq!(same_origin(&h), Some(true));
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert_eq!(same_origin(&h), Some(false));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; keiko_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie_value(&h).as_deref(), Some("abc"));
    }

    #[test]
    fn login_redirect_targets_are_encoded() {
        assert_eq!(url_encode("/a b?x=1&y"), "/a%20b%3Fx%3D1%26y");
    }
}
