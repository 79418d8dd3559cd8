//! A small client for the portal's JSON API with the credentials a test chooses.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The admin password every test portal starts with (`KEIKO_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

#[derive(Clone, Debug)]
pub enum Auth {
    Anonymous,
    Basic(String, String),
    Bearer(String),
    /// A session cookie; with `csrf`, changes send `X-CSRF-Token`.
    Session {
        cookie: String,
        csrf: Option<String>,
    },
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub auth: Auth,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, auth: Auth) -> Client {
        Client {
            base: base.to_owned(),
            auth,
            // A request that hangs (a stream that never ends, a server that stopped
            // answering) fails its test after two minutes instead of stalling the whole run.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        match &self.auth {
            Auth::Anonymous => req,
            Auth::Basic(user, pw) => req.basic_auth(user, Some(pw)),
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Session { cookie, csrf } => {
                let req = req.header("cookie", format!("keiko_session={cookie}"));
                match csrf {
                    Some(t) if method != Method::GET => req.header("x-csrf-token", t),
                    _ => req,
                }
            }
        }
    }

    /// Sends a request (JSON body if given) and returns the status and the JSON body
    /// (`null` when the body is empty or not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request to the portal");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    /// A page's HTML as the server renders it (no script runs).
    pub async fn html(&self, path: &str) -> String {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("page request")
            .text()
            .await
            .expect("page body")
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// A new API token named `name` with the `ingest` scope only (pushes, reads nothing),
    /// made by this (admin) client; its secret.
    pub async fn ingest_token(&self, name: &str) -> String {
        let (s, token) = self
            .post(
                "/api/v1/tokens",
                json!({"name": name, "scopes": ["ingest"]}),
            )
            .await;
        assert_eq!(s, 201, "{token}");
        token["token"]
            .as_str()
            .expect("the token's secret")
            .to_owned()
    }

    /// POSTs newline-delimited JSON (log lines) as `application/x-ndjson`.
    pub async fn post_ndjson(&self, path: &str, body: String) -> (StatusCode, Value) {
        self.post_body(path, "application/x-ndjson", body).await
    }

    /// POSTs a body as `content_type`; the status and the JSON answer (`null` when none).
    pub async fn post_body(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let r = self
            .request(Method::POST, path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in through `POST /api/v1/session` and returns a session client (with CSRF).
    pub async fn sign_in(
        base: &str,
        login: &str,
        password: &str,
    ) -> Result<Client, (StatusCode, Value)> {
        let resp = reqwest::Client::new()
            .post(format!("{base}/api/v1/session"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("sign-in request");
        let status = resp.status();
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix("keiko_session=")
                    .map(|v| v.split(';').next().unwrap_or("").to_owned())
            });
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match (status.is_success(), cookie) {
            (true, Some(cookie)) => Ok(Client::new(
                base,
                Auth::Session {
                    cookie,
                    csrf: body["user"]["csrf_token"].as_str().map(str::to_owned),
                },
            )),
            _ => Err((status, body)),
        }
    }
}
