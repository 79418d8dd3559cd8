//! A small W3C WebDriver client over reqwest, driving Debian's Chromium through
//! chromedriver. One language, no extra dependency; it covers what the suites need.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::{eventually, free_port};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

#[derive(Clone, Debug)]
pub struct Element(pub String);

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // Its own process group, so Drop can end chromedriver and every Chromium process.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning chromedriver (apt-get install chromium-driver; make test does)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let status = format!("{base}/status");
        eventually(Duration::from_secs(20), "chromedriver to be ready", || {
            let http = http.clone();
            let status = status.clone();
            async move {
                let v: Value = http.get(&status).send().await.ok()?.json().await.ok()?;
                (v["value"]["ready"] == true).then_some(())
            }
        })
        .await;
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                        // Nothing may leave the machine: every name but the loopback fails to
                        // resolve, and any other traffic goes to a closed local port.
                        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                        "--proxy-server=http://127.0.0.1:9",
                        "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                        "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                        "--disable-breakpad", "--no-pings", "--metrics-recording-only",
                        "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
                        format!("--user-data-dir={}", profile.path().display()),
                    ]
                },
                "goog:loggingPrefs": { "browser": "ALL" }
            }}
        });
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("creating a WebDriver session")
            .json()
            .await
            .expect("WebDriver answers JSON");
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_owned();
        Browser {
            driver,
            base,
            session,
            http,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body)
            .await
            .unwrap_or_else(|(err, message)| panic!("WebDriver {path}: {err}: {message}"))
    }

    /// One WebDriver command; `Err((error, message))` when the driver refuses it.
    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, (String, Value)> {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp: Value = req
            .send()
            .await
            .expect("WebDriver request")
            .json()
            .await
            .expect("WebDriver answers JSON");
        if let Some(err) = resp["value"]["error"].as_str() {
            return Err((err.to_owned(), resp["value"]["message"].clone()));
        }
        Ok(resp["value"].clone())
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Empties Chromium's HTTP cache (DevTools `Network.clearBrowserCache`), so the next load
    /// fetches every file again: a cold load with the session cookie kept.
    pub async fn clear_cache(&self) {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Network.clearBrowserCache", "params": {} })),
        )
        .await;
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs a script in the page and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Finds the element now, or `None`.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let url = format!("{}/session/{}/element", self.base, self.session);
        let resp: Value = self
            .http
            .post(url)
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        resp["value"][ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_owned()))
    }

    /// Waits up to 20 s for the element.
    pub async fn find(&self, css: &str) -> Element {
        eventually(Duration::from_secs(20), &format!("element `{css}`"), || {
            self.try_find(css)
        })
        .await
    }

    pub async fn click(&self, el: &Element) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", el.0),
            Some(json!({})),
        )
        .await;
    }

    /// Runs one sequence of mouse actions (WebDriver Actions: real pointer input) that starts
    /// on the element `css` finds. A page may draw that element anew at any moment (a chart
    /// re-renders when its answer arrives), so the element is found again and the sequence
    /// retried while the driver answers that it went stale; only the first action names the
    /// element, the rest move relative to the pointer, so a retry never starts mid-gesture.
    async fn mouse_on(&self, css: &str, first: impl Fn(Value) -> Value, rest: Vec<Value>) {
        eventually(
            Duration::from_secs(20),
            &format!("pointer actions on `{css}`"),
            || async {
                let el = self.try_find(css).await?;
                let origin = json!({ ELEMENT_KEY: el.0 });
                let mut actions = vec![first(origin)];
                actions.extend(rest.iter().cloned());
                match self.try_mouse(actions).await {
                    Ok(_) => Some(()),
                    Err((err, _))
                        if err == "stale element reference" || err == "no such element" =>
                    {
                        // Lift any button a refused sequence may have left pressed.
                        let _ = self
                            .try_call(reqwest::Method::DELETE, "/actions", None)
                            .await;
                        None
                    }
                    Err((err, message)) => panic!("WebDriver /actions: {err}: {message}"),
                }
            },
        )
        .await
    }

    /// Runs one sequence of mouse actions (WebDriver Actions: real pointer input).
    async fn mouse(&self, actions: Vec<Value>) {
        if let Err((err, message)) = self.try_mouse(actions).await {
            panic!("WebDriver /actions: {err}: {message}");
        }
    }

    /// One sequence of mouse actions; the driver's refusal as `Err((error, message))`.
    async fn try_mouse(&self, actions: Vec<Value>) -> Result<Value, (String, Value)> {
        self.try_call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{
                "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
                "actions": actions
            }]})),
        )
        .await
    }

    /// Presses the mouse at `from_x` pixels right of the centre of the element `css` finds,
    /// moves to `to_x` and releases.
    pub async fn drag(&self, css: &str, from_x: i64, to_x: i64) {
        let half = (to_x - from_x) / 2;
        let by = |dx: i64| json!({ "type": "pointerMove", "duration": 100, "origin": "pointer", "x": dx, "y": 0 });
        self.mouse_on(
            css,
            |origin| json!({ "type": "pointerMove", "duration": 0, "origin": origin, "x": from_x, "y": 0 }),
            vec![
                json!({ "type": "pointerDown", "button": 0 }),
                by(half),
                by(to_x - from_x - half),
                json!({ "type": "pointerUp", "button": 0 }),
            ],
        )
        .await;
    }

    /// Presses the mouse on the element's centre, moves it by (`dx`, `dy`) pixels in four
    /// steps and releases: a drag in two dimensions (origin "pointer", so the moves do not
    /// follow the element as it is dragged).
    pub async fn drag_by(&self, el: &Element, dx: i64, dy: i64) {
        let origin = json!({ "element-6066-11e4-a52e-4f735466cecf": el.0 });
        // Actions do not scroll: bring the element into view first.
        self.execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![origin.clone()],
        )
        .await;
        let step = |n: i64| json!({ "type": "pointerMove", "duration": 60, "origin": "pointer", "x": n * dx / 4 - (n - 1) * dx / 4, "y": n * dy / 4 - (n - 1) * dy / 4 });
        self.mouse(vec![
            json!({ "type": "pointerMove", "duration": 0, "origin": origin, "x": 0, "y": 0 }),
            json!({ "type": "pointerDown", "button": 0 }),
            step(1),
            step(2),
            step(3),
            step(4),
            json!({ "type": "pointerUp", "button": 0 }),
        ])
        .await;
    }

    /// Resizes the window; headless, the page's viewport is the whole window.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// The browser's Back button.
    pub async fn back(&self) {
        self.call(reqwest::Method::POST, "/back", Some(json!({})))
            .await;
    }

    /// Moves the mouse to `x` pixels right of the centre of the element `css` finds.
    pub async fn hover(&self, css: &str, x: i64) {
        self.mouse_on(
            css,
            |origin| json!({ "type": "pointerMove", "duration": 50, "origin": origin, "x": x, "y": 0 }),
            vec![],
        )
        .await;
    }

    /// Saves a PNG of the viewport (for looking at a failure).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let b64 = data.as_str().expect("a base64 PNG");
        std::fs::write(path, base64_decode(b64)).expect("writing the screenshot");
    }

    /// Types into an input (appends to what it holds).
    pub async fn type_text(&self, el: &Element, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Empties an input or textarea.
    pub async fn clear(&self, el: &Element) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await;
    }

    /// Opens a new tab and returns its handle (the current tab stays active).
    pub async fn new_tab(&self) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/window/new",
                Some(json!({ "type": "tab" })),
            )
            .await;
        v["handle"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn current_tab(&self) -> String {
        self.call(reqwest::Method::GET, "/window", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn switch_to(&self, handle: &str) {
        self.call(
            reqwest::Method::POST,
            "/window",
            Some(json!({ "handle": handle })),
        )
        .await;
    }

    /// Waits until the element's text satisfies `pred`, and returns the text.
    pub async fn wait_text(&self, css: &str, pred: impl Fn(&str) -> bool) -> String {
        eventually(
            Duration::from_secs(20),
            &format!("text of `{css}`"),
            || async {
                // Read by selector each time: a re-rendered element never goes stale here.
                let v = self
                    .execute(
                        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                        vec![json!(css)],
                    )
                    .await;
                let text = v.as_str()?.to_owned();
                pred(&text).then_some(text)
            },
        )
        .await
    }

    /// Runs an async script: it must call `arguments[arguments.length - 1](result)`.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Signs in through the login form (works before hydration) and waits for the app.
    pub async fn sign_in(&self, base_url: &str, login: &str, password: &str) {
        self.goto(&format!("{base_url}/login")).await;
        let field = self.find("#login").await;
        self.type_text(&field, login).await;
        let field = self.find("#password").await;
        self.type_text(&field, password).await;
        let submit = self.find("#login-form button[type=submit]").await;
        self.click(&submit).await;
        // The form is a plain POST; the login page is hydrated already, so waiting for
        // hydration alone could return before the answer (and its session cookie) arrived, and
        // the test's next `goto` would cancel the sign-in. Wait until the browser has left
        // `/login` (the portal redirects to `next` or `/` on success).
        let url = eventually(Duration::from_secs(30), "the sign-in redirect", || async {
            let url = self.current_url().await;
            let path = url.split('?').next().unwrap_or_default().to_owned();
            (!path.ends_with("/login") || url.contains("error=")).then_some(url)
        })
        .await;
        assert!(
            !url.contains("error="),
            "signing in as {login} failed: {url}"
        );
        self.wait_hydrated().await;
    }

    pub async fn text(&self, el: &Element) -> String {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/text", el.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until the page has hydrated (the app marks `<body data-hydrated>`); if it does
    /// not within 15 s, fails with the browser's console errors.
    pub async fn wait_hydrated(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let v = self
                .execute("return document.body.dataset.hydrated === 'true';", vec![])
                .await;
            if v == Value::Bool(true) {
                return;
            }
            if std::time::Instant::now() > deadline {
                let errors = self.console_errors().await;
                panic!("the page did not hydrate within 15 s; console errors: {errors:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Browser console entries at level SEVERE (errors) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await;
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Ends the session and stops chromedriver. Call before asserting, so a failing test
    /// leaves no Chromium behind (Drop does the same on panic).
    pub async fn close(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        kill_group(&mut self.driver);
    }
}

fn kill_group(child: &mut Child) {
    // `--` matters: without it procps's kill reads "-1234" as options and can end up
    // signalling every process (pid -1).
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Standard base64 (WebDriver screenshots), without a dependency for one use.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}
