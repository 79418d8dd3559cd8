//! The browser side of the JSON API: the admin and profile pages are API clients of the
//! same `/api/v1` routes that automation uses, so the UI can do nothing the API refuses.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// An API error as the pages show it: the field (if any) and the message.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiFailure {
    fn from_body(status: u16, body: &Value) -> ApiFailure {
        let e = &body["error"];
        ApiFailure {
            status,
            code: e["code"].as_str().unwrap_or("error").to_owned(),
            message: e["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("the server answered {status}")),
            field: e["field"].as_str().map(str::to_owned),
        }
    }

    /// The message for `field`, if this failure is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Calls the API from the browser with the session cookie and the CSRF token.
pub async fn call<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, ApiFailure> {
    let (status, text) = transport(
        method,
        path,
        body.map(|b| serde_json::to_string(b).unwrap_or_default()),
    )
    .await?;
    if !(200..300).contains(&status) {
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        return Err(ApiFailure::from_body(status, &value));
    }
    // Straight from the text, not through a `Value`: the same `from_str` code decodes the
    // data a page's resources carry in the server-rendered HTML, so each answer type is
    // compiled into the browser bundle once instead of twice.
    let text = if text.is_empty() {
        "null"
    } else {
        text.as_str()
    };
    serde_json::from_str(text).map_err(|e| ApiFailure {
        status,
        code: "decode".into(),
        message: format!("unexpected answer from the server: {e}"),
        field: None,
    })
}

/// Calls the API with a raw body of `content_type` (e.g. a YAML rule file).
pub async fn call_raw(
    method: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> Result<Value, ApiFailure> {
    let (status, text) = transport_with(method, path, Some((content_type, body))).await?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        return Err(ApiFailure::from_body(status, &value));
    }
    Ok(value)
}

async fn transport(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, String), ApiFailure> {
    transport_with(method, path, body.map(|b| ("application/json", b))).await
}

#[cfg(feature = "hydrate")]
async fn transport_with(
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
) -> Result<(u16, String), ApiFailure> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let offline = |what: &str| ApiFailure {
        status: 0,
        code: "network".into(),
        message: format!("the portal could not be reached ({what})"),
        field: None,
    };
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(|_| offline("headers"))?;
    let _ = headers.set("accept", "application/json");
    if let Some(token) = crate::session::load().and_then(|u| u.csrf_token) {
        let _ = headers.set("x-csrf-token", &token);
    }
    if let Some((content_type, body)) = &body {
        let _ = headers.set("content-type", content_type);
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request =
        web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| offline("request"))?;
    let window = web_sys::window().ok_or_else(|| offline("window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| offline("fetch"))?
        .dyn_into()
        .map_err(|_| offline("response"))?;
    let text = JsFuture::from(response.text().map_err(|_| offline("body"))?)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    Ok((response.status(), text))
}

/// On the server the pages never call the API over HTTP: their data loads after hydration.
#[cfg(not(feature = "hydrate"))]
async fn transport_with(
    _method: &str,
    _path: &str,
    _body: Option<(&str, String)>,
) -> Result<(u16, String), ApiFailure> {
    Err(ApiFailure {
        status: 0,
        code: "server".into(),
        message: "not available during server rendering".into(),
        field: None,
    })
}
