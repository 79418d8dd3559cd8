//! Explore → Traces (#17) in headless Chromium against the real portal, with spans pushed
//! through the real OTLP/HTTP ingest route (`POST /v1/traces`, OTLP/JSON): the search by
//! service, attribute filters (`key>n`, `key=value`, exists), duration bounds and errors
//! only, kept in the URL; the duration-over-time scatter plot whose dots open their trace;
//! the trace view rendered on the server (waterfall with the critical path and errors
//! marked, subtrees that fold, span details with attributes, events, links and resource,
//! self time, the link to the trace's logs); the service map with RED on nodes and edges.

use std::time::Duration;

use e2e::api::{Client, ADMIN_PASSWORD};
use e2e::eventually;
use e2e::portal::Portal;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

/// The checkout trace: frontend → cart, frontend → payment (which fails) → its database.
const CHECKOUT: &str = "5b8aa5a2d2c872e8321cf37308d69df2";
/// A quick health check of the frontend, linked from the payment span.
const HEALTH: &str = "5b8aa5a2d2c872e8321cf37308d69df3";
const ROOT: &str = "1000000000000001";
const CALL_CART: &str = "1000000000000002";
const CART: &str = "1000000000000003";
const CALL_PAY: &str = "1000000000000004";
const PAY: &str = "1000000000000005";
const DB: &str = "1000000000000006";
const HEALTH_ROOT: &str = "2000000000000001";

fn attr(key: &str, value: Value) -> Value {
    let v = match &value {
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::Bool(b) => json!({"boolValue": b}),
        other => json!({"stringValue": other.as_str().unwrap_or_default()}),
    };
    json!({"key": key, "value": v})
}

/// A span starting `at_ms` after `t0` (Unix ns), lasting `ms`.
#[allow(clippy::too_many_arguments)]
fn span(
    trace: &str,
    id: &str,
    parent: &str,
    name: &str,
    kind: i64,
    t0: i64,
    at_ms: i64,
    ms: i64,
) -> Value {
    let start = t0 + at_ms * 1_000_000;
    json!({
        "traceId": trace, "spanId": id, "parentSpanId": parent, "name": name, "kind": kind,
        "startTimeUnixNano": start.to_string(),
        "endTimeUnixNano": (start + ms * 1_000_000).to_string(),
        "attributes": [],
    })
}

fn resource(service: &str, spans: Vec<Value>) -> Value {
    json!({
        "resource": {"attributes": [
            attr("service.name", json!(service)),
            attr("deployment.environment", json!("e2e")),
        ]},
        "scopeSpans": [{"scope": {"name": "browser-traces"}, "spans": spans}],
    })
}

/// Pushes the two traces (ten and five minutes ago) through `POST /v1/traces`.
async fn push_traces(client: &Client) {
    let now = (e2e::now_seconds() * 1e9) as i64;
    let t0 = now - 600_000_000_000;
    let t1 = now - 300_000_000_000;
    let mut root = span(CHECKOUT, ROOT, "", "GET /checkout", 2, t0, 0, 400);
    root["attributes"] = json!([
        attr("http.status_code", json!(200)),
        attr("agent.id", json!("agent-7"))
    ]);
    let mut cart = span(CHECKOUT, CART, CALL_CART, "GET /cart", 2, t0, 15, 40);
    cart["attributes"] = json!([attr("http.status_code", json!(200))]);
    let mut pay = span(CHECKOUT, PAY, CALL_PAY, "POST /pay", 2, t0, 80, 300);
    pay["attributes"] = json!([
        attr("http.status_code", json!(503)),
        attr("payment.provider", json!("acme")),
    ]);
    pay["status"] = json!({"code": 2, "message": "card processor timed out"});
    pay["events"] = json!([{
        "timeUnixNano": (t0 + 370_000_000).to_string(),
        "name": "exception",
        "attributes": [attr("exception.type", json!("TimeoutError"))],
    }]);
    pay["links"] = json!([{"traceId": HEALTH, "spanId": HEALTH_ROOT, "attributes": []}]);
    let mut db = span(CHECKOUT, DB, PAY, "SELECT orders", 3, t0, 100, 200);
    db["attributes"] = json!([attr("db.system", json!("postgresql"))]);
    let mut health = span(HEALTH, HEALTH_ROOT, "", "GET /health", 2, t1, 0, 5);
    health["attributes"] = json!([attr("http.status_code", json!(200))]);
    let body = json!({"resourceSpans": [
        resource("frontend", vec![
            root,
            span(CHECKOUT, CALL_CART, ROOT, "call cart", 3, t0, 10, 80),
            span(CHECKOUT, CALL_PAY, ROOT, "call payment", 3, t0, 70, 320),
            health,
        ]),
        resource("cart", vec![cart]),
        resource("payment", vec![pay, db]),
    ]});
    post_otlp(client, &body).await;
}

/// POSTs an OTLP/JSON body to `/v1/traces`; every span must be taken.
async fn post_otlp(client: &Client, body: &Value) {
    let r = client
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer
            .get("partialSuccess")
            .is_none_or(|p| p.get("rejectedSpans").is_none_or(|n| n == "0" || n == 0)),
        "{answer}"
    );
}

async fn start() -> (Portal, Browser) {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    push_traces(&portal.admin()).await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    (portal, browser)
}

async fn wait_url(browser: &Browser, what: &str, pred: impl Fn(&str) -> bool) -> String {
    eventually(Duration::from_secs(10), what, || async {
        let url = browser.current_url().await;
        pred(&url).then_some(url)
    })
    .await
}

async fn click(browser: &Browser, css: &str) {
    browser.click(&browser.find(css).await).await;
}

/// The trace ids of the result list, in page order.
async fn listed(browser: &Browser) -> Vec<String> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll('tr.trace-row')].map(e => e.dataset.traceId);",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
}

/// Types `text` into the (cleared) field `css`.
async fn fill(browser: &Browser, css: &str, text: &str) {
    let el = browser.find(css).await;
    browser.clear(&el).await;
    // Clearing fires no `input` event; the form's drafts listen for one.
    browser
        .execute(
            "document.querySelector(arguments[0]).dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(css)],
        )
        .await;
    if !text.is_empty() {
        browser.type_text(&el, text).await;
    }
}

async fn search(browser: &Browser, url_part: &str, expect: &[&str]) {
    click(browser, "#traces-run").await;
    wait_url(browser, url_part, |u| u.contains(url_part)).await;
    let want: Vec<String> = expect.iter().map(|s| s.to_string()).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = browser
            .execute(
                "const r = document.querySelector('[data-search]'); return !!r && r.dataset.search === location.search.slice(1);",
                vec![],
            )
            .await;
        let got = listed(browser).await;
        if fresh == true && got == want {
            return;
        }
        if std::time::Instant::now() > deadline {
            let page = browser
                .execute("return document.querySelector('main').innerText;", vec![])
                .await;
            panic!("{url_part}: listed {got:?}, not {want:?}; the page shows {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn search_by_service_attributes_duration_and_errors_kept_in_the_url_and_a_scatter_dot_opens_its_trace(
) {
    let (portal, browser) = start().await;
    // The page's own API: a duration bound, and a bad filter named.
    let (s, v) = portal
        .admin()
        .get("/api/v1/traces/explore?service=frontend&max=10ms")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["traces"][0]["trace_id"], HEALTH, "{v}");
    assert_eq!(v["traces"].as_array().map(Vec::len), Some(1), "{v}");
    let (s, v) = portal
        .admin()
        .get("/api/v1/traces/explore?filters=x%3Eabc")
        .await;
    assert_eq!(
        (s.as_u16(), &v["error"]["field"]),
        (400, &json!("filters")),
        "{v}"
    );
    browser
        .goto(&portal.url("/explore/traces?service=frontend"))
        .await;
    browser.wait_hydrated().await;
    // The first HTML already lists the frontend's two traces, newest first.
    assert_eq!(listed(&browser).await, [HEALTH, CHECKOUT]);
    assert_eq!(
        browser
            .text(&browser.find("[data-testid=traces-count]").await)
            .await,
        "2 traces"
    );

    // key=value over every service.
    fill(&browser, "#traces-service", "").await;
    fill(&browser, "#traces-filters", "agent.id=agent-7").await;
    search(&browser, "filters=agent.id%3Dagent-7", &[CHECKOUT]).await;
    // key<n and key>n: both frontend traces answered 200; the payment's span said 503.
    fill(&browser, "#traces-service", "frontend").await;
    fill(&browser, "#traces-filters", "http.status_code<300").await;
    search(
        &browser,
        "filters=http.status_code%3C300",
        &[HEALTH, CHECKOUT],
    )
    .await;
    fill(&browser, "#traces-service", "payment").await;
    fill(&browser, "#traces-filters", "http.status_code>499").await;
    search(&browser, "filters=http.status_code%3E499", &[CHECKOUT]).await;
    // A bare key: the attribute exists.
    fill(&browser, "#traces-filters", "db.system").await;
    search(&browser, "filters=db.system", &[CHECKOUT]).await;
    // A duration bound: the frontend's spans of at least 100 ms belong to the checkout.
    fill(&browser, "#traces-filters", "").await;
    fill(&browser, "#traces-service", "frontend").await;
    fill(&browser, "#traces-min", "100ms").await;
    search(&browser, "min=100ms", &[CHECKOUT]).await;
    // Errors only, with the operation: the payment's failed POST.
    fill(&browser, "#traces-min", "").await;
    fill(&browser, "#traces-service", "payment").await;
    fill(&browser, "#traces-operation", "POST /pay").await;
    click(&browser, "#traces-errors").await;
    search(&browser, "errors=1", &[CHECKOUT]).await;
    let url = browser.current_url().await;
    assert!(url.contains("operation=POST%20%2Fpay"), "{url}");
    // A bad filter is refused naming the field.
    fill(&browser, "#traces-filters", "http.status_code>abc").await;
    click(&browser, "#traces-run").await;
    let error = browser
        .wait_text("[data-testid=traces-error]", |t| !t.is_empty())
        .await;
    assert!(
        error.contains("filters") && error.contains("needs a number"),
        "{error}"
    );

    // The URL is the view: opened again, it shows the same search.
    browser
        .goto(&portal.url("/explore/traces?service=frontend&from=now-1h&to=now"))
        .await;
    browser.wait_hydrated().await;
    assert_eq!(listed(&browser).await, [HEALTH, CHECKOUT]);
    let field = browser
        .execute(
            "return document.querySelector('#traces-service').value;",
            vec![],
        )
        .await;
    assert_eq!(field, "frontend");

    // The scatter plot: one dot per trace, the failed one red; a click opens the trace.
    let dots = browser
        .execute(
            "return [...document.querySelectorAll('circle.trace-dot')].map(c => [c.dataset.traceId, c.classList.contains('error')]);",
            vec![],
        )
        .await;
    assert_eq!(dots, json!([[HEALTH, false], [CHECKOUT, true]]));
    click(
        &browser,
        &format!("circle.trace-dot[data-trace-id='{HEALTH}']"),
    )
    .await;
    wait_url(&browser, "the trace's page", |u| {
        u.ends_with(&format!("/explore/traces/{HEALTH}"))
    })
    .await;
    browser
        .wait_text("[data-testid=trace-title]", |t| {
            t == "frontend: GET /health"
        })
        .await;
    browser.close().await;
}

/// The span ids of the waterfall's visible rows, in page order.
async fn visible_rows(browser: &Browser) -> Vec<String> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll('.wf-row[data-span-id]')].filter(r => r.style.display !== 'none').map(r => r.dataset.spanId);",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
}

#[tokio::test]
async fn the_trace_view_is_server_rendered_folds_subtrees_marks_the_critical_path_and_shows_span_details(
) {
    let (portal, browser) = start().await;
    // The first HTML holds the waterfall (no script needed).
    let html = portal
        .admin()
        .html(&format!("/explore/traces/{CHECKOUT}"))
        .await;
    for id in [ROOT, CART, PAY, DB] {
        assert!(
            html.contains(&format!("data-span-id=\"{id}\"")),
            "span {id} in the first HTML"
        );
    }
    assert!(html.contains("POST /pay") && html.contains("Self time by service and operation"));
    browser
        .goto(&portal.url(&format!("/explore/traces/{CHECKOUT}")))
        .await;
    browser.wait_hydrated().await;
    assert_eq!(
        visible_rows(&browser).await,
        [ROOT, CALL_CART, CART, CALL_PAY, PAY, DB]
    );
    // The critical path: the root, the payment call it waited on, the payment, its query.
    let marked = browser
        .execute(
            "return [...document.querySelectorAll('.wf-row[data-span-id]')].map(r => [r.dataset.spanId, r.classList.contains('critical'), r.classList.contains('error')]);",
            vec![],
        )
        .await;
    assert_eq!(
        marked,
        json!([
            [ROOT, true, false],
            [CALL_CART, false, false],
            [CART, false, false],
            [CALL_PAY, true, false],
            [PAY, true, true],
            [DB, true, false]
        ])
    );

    // Folding the payment call hides its subtree; unfolding shows it again.
    let toggle = format!(".wf-row[data-span-id='{CALL_PAY}'] .wf-toggle");
    click(&browser, &toggle).await;
    eventually(Duration::from_secs(5), "the subtree folded", || async {
        (visible_rows(&browser).await == [ROOT, CALL_CART, CART, CALL_PAY]).then_some(())
    })
    .await;
    click(
        &browser,
        &format!(".wf-row[data-span-id='{ROOT}'] .wf-toggle"),
    )
    .await;
    eventually(Duration::from_secs(5), "the whole trace folded", || async {
        (visible_rows(&browser).await == [ROOT]).then_some(())
    })
    .await;
    click(
        &browser,
        &format!(".wf-row[data-span-id='{ROOT}'] .wf-toggle"),
    )
    .await;
    click(&browser, &toggle).await;
    eventually(Duration::from_secs(5), "the subtree unfolded", || async {
        (visible_rows(&browser).await.len() == 6).then_some(())
    })
    .await;

    // Span details: the payment's attributes, status, event, link and resource.
    click(&browser, &format!(".wf-row[data-span-id='{PAY}'] .wf-op")).await;
    let details = browser
        .wait_text(
            &format!("[data-testid=span-details][data-span-id='{PAY}']"),
            |t| !t.is_empty(),
        )
        .await;
    for want in [
        "payment.provider",
        "acme",
        "503",
        "card processor timed out",
        "exception",
        "TimeoutError",
        "deployment.environment",
        HEALTH,
    ] {
        assert!(details.contains(want), "{want} in {details}");
    }
    // The link opens the linked trace at its span.
    let link = browser
        .execute(
            "return document.querySelector('.span-link a').getAttribute('href');",
            vec![],
        )
        .await;
    assert_eq!(link, format!("/explore/traces/{HEALTH}?span={HEALTH_ROOT}"));

    // Self time per service and operation: the payment's 300 ms less its 200 ms query.
    let self_pay = browser
        .execute(
            "return document.querySelector(\"tr.self-time[data-service='payment'][data-operation='POST /pay'] .self-ms\").textContent;",
            vec![],
        )
        .await;
    assert_eq!(self_pay, "100.0ms");

    // "Logs for this trace" opens Explore → Logs on the trace id around its time.
    let logs = browser
        .execute(
            "return document.querySelector('#trace-logs').getAttribute('href');",
            vec![],
        )
        .await;
    let logs = logs.as_str().unwrap();
    assert!(
        logs.starts_with("/explore/logs?query=trace_id%3A") && logs.contains(CHECKOUT),
        "{logs}"
    );
    click(&browser, "#trace-logs").await;
    wait_url(&browser, "Explore → Logs", |u| {
        u.contains("/explore/logs?query=trace_id")
    })
    .await;
    browser.wait_hydrated().await;
    browser.find("#logs-query").await;

    // `?span=` (as a log line's span link writes it) opens that span's details.
    browser
        .goto(&portal.url(&format!("/explore/traces/{CHECKOUT}?span={DB}")))
        .await;
    browser.wait_hydrated().await;
    let details = browser
        .wait_text(
            &format!("[data-testid=span-details][data-span-id='{DB}']"),
            |t| !t.is_empty(),
        )
        .await;
    assert!(details.contains("postgresql"), "{details}");
    browser.close().await;
}

#[tokio::test]
async fn the_service_map_shows_services_and_calls_with_rate_errors_and_p95() {
    let (portal, browser) = start().await;
    browser
        .goto(&portal.url("/explore/traces?from=now-1h&to=now"))
        .await;
    browser.wait_hydrated().await;
    click(&browser, "#traces-map-tab").await;
    wait_url(&browser, "the service map", |u| {
        u.contains("/explore/service-map")
    })
    .await;
    browser.wait_hydrated().await;
    let nodes = eventually(Duration::from_secs(10), "the map's nodes", || async {
        let v = browser
            .execute(
                "return Object.fromEntries([...document.querySelectorAll('g.map-node')].map(g => [g.dataset.service, [g.dataset.requests, g.dataset.errors, g.querySelector('.map-red').textContent]]));",
                vec![],
            )
            .await;
        v.get("payment").is_some().then_some(v)
    })
    .await;
    // Requests entering each service: the frontend's two roots, one cart call, one failed
    // payment (its query stays inside the service).
    assert_eq!(nodes["frontend"][0], "2", "{nodes}");
    assert_eq!(nodes["cart"][0], "1", "{nodes}");
    assert_eq!(
        (nodes["payment"][0].as_str(), nodes["payment"][1].as_str()),
        (Some("1"), Some("1")),
        "{nodes}"
    );
    let red = nodes["payment"][2].as_str().unwrap();
    assert!(
        red.contains("100.0% err") && red.contains("p95 300.0ms"),
        "{red}"
    );
    let edges = browser
        .execute(
            "return [...document.querySelectorAll('g.map-edge')].map(g => [g.dataset.parent, g.dataset.child, g.dataset.calls, g.dataset.errors, g.querySelector('text').textContent]).filter(e => e[0] === 'frontend');",
            vec![],
        )
        .await;
    let edges = edges.as_array().unwrap();
    assert_eq!(edges.len(), 2, "{edges:?}");
    assert_eq!(
        edges[0].as_array().unwrap()[..4],
        [json!("frontend"), json!("cart"), json!("1"), json!("0")]
    );
    assert!(
        edges[0][4].as_str().unwrap().contains("p95 40.0ms"),
        "{edges:?}"
    );
    assert_eq!(
        edges[1].as_array().unwrap()[..4],
        [json!("frontend"), json!("payment"), json!("1"), json!("1")]
    );
    // The first HTML holds the drawing too.
    let html = portal
        .admin()
        .html("/explore/service-map?from=now-1h&to=now")
        .await;
    assert!(
        html.contains("data-service=\"payment\""),
        "the map in the first HTML"
    );
    // A shorter range leaves the ten-minute-old checkout out.
    browser
        .execute(
            "const s = document.querySelector('#map-range'); s.value = '5m'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await;
    wait_url(&browser, "the range in the URL", |u| {
        u.contains("from=now-5m")
    })
    .await;
    eventually(Duration::from_secs(10), "the payment gone from the map", || async {
        let v = browser
            .execute("return !!document.querySelector(\"g.map-node[data-service='payment']\") || !document.querySelector('[data-testid=service-map],[data-testid=map-empty]');", vec![])
            .await;
        (v == false).then_some(())
    })
    .await;
    browser.close().await;
}

/// A second checkout (eight minutes ago) whose payment took 660 ms, 560 of them its own.
const SLOW_CHECKOUT: &str = "5b8aa5a2d2c872e8321cf37308d69df4";

async fn push_slow_checkout(client: &Client) {
    let t0 = (e2e::now_seconds() * 1e9) as i64 - 480_000_000_000;
    let body = json!({"resourceSpans": [
        resource("frontend", vec![
            span(SLOW_CHECKOUT, "3000000000000001", "", "GET /checkout", 2, t0, 0, 700),
            span(SLOW_CHECKOUT, "3000000000000004", "3000000000000001", "call payment", 3, t0, 10, 680),
        ]),
        resource("payment", vec![
            span(SLOW_CHECKOUT, "3000000000000005", "3000000000000004", "POST /pay", 2, t0, 20, 660),
            span(SLOW_CHECKOUT, "3000000000000006", "3000000000000005", "SELECT orders", 3, t0, 30, 100),
        ]),
    ]});
    post_otlp(client, &body).await;
}

#[tokio::test]
async fn two_traces_of_one_operation_picked_in_the_list_compare_by_self_time() {
    let (portal, browser) = start().await;
    push_slow_checkout(&portal.admin()).await;
    browser
        .goto(&portal.url("/explore/traces?service=frontend&operation=GET%20%2Fcheckout"))
        .await;
    browser.wait_hydrated().await;
    assert_eq!(listed(&browser).await, [SLOW_CHECKOUT, CHECKOUT]);
    click(
        &browser,
        &format!("tr[data-trace-id='{CHECKOUT}'] .compare-pick"),
    )
    .await;
    assert!(browser.try_find("#traces-compare").await.is_none());
    click(
        &browser,
        &format!("tr[data-trace-id='{SLOW_CHECKOUT}'] .compare-pick"),
    )
    .await;
    click(&browser, "#traces-compare").await;
    wait_url(&browser, "the comparison", |u| {
        u.contains(&format!(
            "/explore/trace-compare?a={CHECKOUT}&b={SLOW_CHECKOUT}"
        ))
    })
    .await;
    browser
        .wait_text("[data-testid=compare-delta]", |t| t == "B − A: +300.0ms")
        .await;
    let rows = browser
        .execute(
            "return [...document.querySelectorAll('tr.compare-row')].map(r => [r.dataset.service, r.dataset.operation, r.querySelector('.delta').textContent]);",
            vec![],
        )
        .await;
    // The payment's own time grew most; its query got faster; the cart was not called.
    assert_eq!(
        rows[0],
        json!(["payment", "POST /pay", "+460.0ms"]),
        "{rows}"
    );
    assert_eq!(
        rows[1],
        json!(["payment", "SELECT orders", "−100.0ms"]),
        "{rows}"
    );
    let cart = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "cart")
        .cloned();
    assert_eq!(
        cart,
        Some(json!(["cart", "GET /cart", "−40.0ms"])),
        "{rows}"
    );
    // The first HTML holds the comparison too.
    let html = portal
        .admin()
        .html(&format!(
            "/explore/trace-compare?a={CHECKOUT}&b={SLOW_CHECKOUT}"
        ))
        .await;
    assert!(
        html.contains("+460.0ms"),
        "the comparison in the first HTML"
    );
    browser.close().await;
}
