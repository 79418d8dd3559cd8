//! Correlation with no configuration (#17) in headless Chromium against the real portal:
//! one request with an `X-Correlation-ID` followed from its access-log line to its trace,
//! from the trace's span to every log line of the request and from a line of it without a
//! trace id to its traces, to its service's request-rate chart and back to the logs and
//! traces of that chart's range; "Show logs" / "Show traces" from Explore → Metrics and from a dashboard chart
//! carrying the chosen series' `job` and `instance`; an exemplar drawn on a chart opening
//! its trace. Metrics come through the real remote-write route, spans through OTLP/HTTP,
//! the portal's own through its self-scrape, logs and spans.

use std::time::Duration;

use e2e::api::{Client, ADMIN_PASSWORD};
use e2e::eventually;
use e2e::portal::Portal;
use e2e::remote_write;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

/// One series to remote-write: labels, samples `(t_ms, value)`, exemplars `(t_ms, value,
/// trace id)`.
type Series<'a> = (
    &'a [(&'a str, &'a str)],
    Vec<(i64, f64)>,
    Vec<(i64, f64, &'a str)>,
);

async fn remote_write(client: &Client, series: &[Series<'_>]) {
    let plain: Vec<remote_write::Series> = series
        .iter()
        .map(|(labels, samples, _)| remote_write::Series {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            samples: samples.clone(),
        })
        .collect();
    let mut request = remote_write::request(&plain);
    for (ts, (_, _, exemplars)) in request.timeseries.iter_mut().zip(series) {
        ts.exemplars = exemplars
            .iter()
            .map(|(t, v, id)| ingest::prompb::Exemplar {
                labels: vec![ingest::prompb::Label {
                    name: "trace_id".into(),
                    value: (*id).into(),
                }],
                value: *v,
                timestamp: *t,
            })
            .collect();
    }
    let (status, answer) = remote_write::push(client, remote_write::compress(&request)).await;
    assert_eq!(status, 204, "{answer}");
}

/// A counter every 15 s over the last 40 minutes.
fn counter(now_ms: i64, per_step: f64) -> Vec<(i64, f64)> {
    (0..160)
        .map(|i| (now_ms - (160 - i) * 15_000, per_step * i as f64))
        .collect()
}

async fn browser_for(portal: &Portal) -> Browser {
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser
}

async fn wait_url(browser: &Browser, what: &str, pred: impl Fn(&str) -> bool) -> String {
    eventually(Duration::from_secs(15), what, || async {
        let url = browser.current_url().await;
        pred(&url).then_some(url)
    })
    .await
}

/// The `href` of the first element matching `css`, once `pred` holds for it.
async fn href_when(browser: &Browser, css: &str, pred: impl Fn(&str) -> bool) -> String {
    eventually(Duration::from_secs(15), css, || async {
        let v = browser
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute('href') : null;",
                vec![json!(css)],
            )
            .await;
        v.as_str().filter(|h| pred(h)).map(str::to_owned)
    })
    .await
}

/// Opens `path` until `css` is on the page (data written a moment ago may need a reload:
/// the page is rendered on the server with what the stores held then).
async fn open_until(browser: &Browser, portal: &Portal, path: &str, css: &str) {
    eventually(Duration::from_secs(30), css, || async {
        browser.goto(&portal.url(path)).await;
        browser.wait_hydrated().await;
        browser.try_find(css).await.map(|_| ())
    })
    .await;
}

/// Decodes a link's query parameter.
fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Clicks, with the element scrolled to the middle of the window.
async fn click(browser: &Browser, css: &str) {
    e2e::ui::click(browser, css).await;
}

async fn texts(browser: &Browser, css: &str) -> Vec<String> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim());",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
}

#[tokio::test]
async fn one_request_is_followed_from_its_access_log_to_its_trace_to_its_rate_chart_and_back() {
    // The portal scrapes itself every second, so its request rate is charted at once.
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1")]).await;
    let admin = portal.admin();
    let cid = "e2e-follow-4711";
    let r = admin
        .request(Method::GET, "/api/v1/home")
        .header("x-correlation-id", cid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-correlation-id"], cid);
    let browser = browser_for(&portal).await;

    // Its access-log line in Explore → Logs, found by the correlation id…
    let by_request = format!("/explore/logs?query=correlation_id%3A{cid}&from=now-1h&to=now");
    open_until(&browser, &portal, &by_request, ".log-lines li").await;
    let messages = texts(&browser, ".log-lines li .log-message").await;
    assert!(
        messages.iter().any(|m| m == "Request completed"),
        "{messages:?}"
    );
    // … whose correlation link is the same search, and whose trace link opens the trace.
    click(&browser, ".log-lines li .log-toggle").await;
    let request_link = href_when(
        &browser,
        ".log-details a.log-link[data-field='correlation_id']",
        |_| true,
    )
    .await;
    assert_eq!(
        param(&request_link, "query").as_deref(),
        Some(&*format!("correlation_id:{cid}"))
    );
    let trace_link = href_when(&browser, ".log-lines li a.log-trace", |_| true).await;
    let trace_id = trace_link
        .strip_prefix("/explore/traces/")
        .expect("a trace link")
        .to_owned();
    assert_eq!(trace_id.len(), 32, "{trace_link}");
    // The span is stored by the batch exporter a few seconds after the request.
    open_until(
        &browser,
        &portal,
        &trace_link,
        "[data-testid='span-details']",
    )
    .await;
    let title = browser
        .text(&browser.find("[data-testid='trace-title']").await)
        .await;
    assert_eq!(title, "keiko-portal: GET /api/v1/home");
    let attributes = texts(&browser, "[data-testid='span-details'] td").await;
    assert!(attributes.iter().any(|t| t == cid), "{attributes:?}");

    // The span carries the request's correlation id: "Logs of this request" searches every
    // line of the request over the trace's time, beside the trace-id link.
    let request_logs = href_when(&browser, "a.span-request-logs", |_| true).await;
    assert_eq!(
        param(&request_logs, "query").as_deref(),
        Some(&*format!("correlation_id:{cid}"))
    );
    assert_eq!(
        href_when(&browser, "a.trace-request-logs", |_| true).await,
        request_logs
    );
    assert!(href_when(&browser, "a.span-logs", |_| true)
        .await
        .contains("trace_id"));
    click(&browser, "a.span-request-logs").await;
    wait_url(&browser, "Explore → Logs for the request", |u| {
        u.contains("/explore/logs?") && u.contains(cid)
    })
    .await;
    let messages = eventually(Duration::from_secs(15), "the request's lines", || async {
        let m = texts(&browser, ".log-lines li .log-message").await;
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert!(
        messages.iter().any(|m| m == "Request completed"),
        "{messages:?}"
    );
    // A line of the same request with no trace id (a worker that does not trace) links to
    // the traces whose spans carry its correlation id.
    let line = json!({"timestamp": e2e::rfc3339(e2e::now_seconds() as i64), "level": "INFO",
        "logger": "keiko.worker", "message": "Follow-up queued", "correlation_id": cid});
    let (s, answer) = admin
        .post_ndjson("/api/v1/logs?service=keiko-worker", format!("{line}\n"))
        .await;
    assert_eq!(s, 200, "{answer}");
    let worker = format!(
        "/explore/logs?query=correlation_id%3A{cid}%20AND%20service%3Akeiko-worker&from=now-1h&to=now"
    );
    open_until(
        &browser,
        &portal,
        &worker,
        ".log-lines li a.log-request-traces",
    )
    .await;
    assert!(browser
        .try_find(".log-lines li a.log-trace")
        .await
        .is_none());
    let traces_link = href_when(&browser, ".log-lines li a.log-request-traces", |_| true).await;
    assert_eq!(
        param(&traces_link, "filters").as_deref(),
        Some(&*format!("correlation_id={cid}"))
    );
    click(&browser, ".log-lines li a.log-request-traces").await;
    wait_url(&browser, "Explore → Traces for the request", |u| {
        u.contains("/explore/traces?") && u.contains(cid)
    })
    .await;
    eventually(
        Duration::from_secs(15),
        "the request's trace listed",
        || async {
            browser
                .try_find(&format!("tr.trace-row[data-trace-id='{trace_id}']"))
                .await
                .map(|_| ())
        },
    )
    .await;
    open_until(
        &browser,
        &portal,
        &trace_link,
        "[data-testid='span-details']",
    )
    .await;

    // From the span to its service's request rate around it…
    let rate = href_when(&browser, "a.span-rate", |_| true).await;
    assert_eq!(
        browser.text(&browser.find("a.span-rate").await).await,
        "Request rate of keiko-portal"
    );
    let query = param(&rate, "q").unwrap();
    assert!(query.contains("job=\"keiko-portal\""), "{query}");
    open_until(&browser, &portal, &rate, ".chart .legend-entry").await;
    assert_eq!(
        texts(&browser, ".chart .legend-entry").await,
        ["{job=\"keiko-portal\"}"]
    );
    // … and back: the chart's one series names the service for its logs and traces, over
    // the chart's range, which holds the request.
    let (from, to) = (param(&rate, "from").unwrap(), param(&rate, "to").unwrap());
    let logs = href_when(&browser, "#show-logs", |h| h.contains("service")).await;
    assert_eq!(
        param(&logs, "query").as_deref(),
        Some("service:keiko-portal")
    );
    assert_eq!(
        (param(&logs, "from"), param(&logs, "to")),
        (Some(from.clone()), Some(to.clone()))
    );
    let traces = href_when(&browser, "#show-traces", |h| h.contains("service")).await;
    assert_eq!(param(&traces, "service").as_deref(), Some("keiko-portal"));
    assert_eq!(param(&traces, "from"), Some(from.clone()));

    click(&browser, "#show-logs").await;
    wait_url(&browser, "Explore → Logs for the service", |u| {
        u.contains("/explore/logs?") && u.contains("service%3Akeiko-portal")
    })
    .await;
    let services = eventually(Duration::from_secs(15), "the service's lines", || async {
        let s = texts(&browser, ".log-lines li .log-service").await;
        (!s.is_empty()).then_some(s)
    })
    .await;
    assert!(services.iter().all(|s| s == "keiko-portal"), "{services:?}");
    // The request is among them: the same search narrowed to its correlation id.
    let narrowed = logs.replace(
        "query=service%3Akeiko-portal",
        &format!("query=service%3Akeiko-portal%20AND%20correlation_id%3A{cid}"),
    );
    open_until(&browser, &portal, &narrowed, ".log-lines li").await;
    assert!(texts(&browser, ".log-lines li .log-message")
        .await
        .iter()
        .any(|m| m == "Request completed"));

    // The chart again (a reload may have been needed above, so not by Back), then its
    // traces.
    open_until(&browser, &portal, &rate, ".chart .legend-entry").await;
    href_when(&browser, "#show-traces", |h| h.contains("service")).await;
    click(&browser, "#show-traces").await;
    wait_url(&browser, "Explore → Traces for the service", |u| {
        u.contains("/explore/traces?") && u.contains("service=keiko-portal")
    })
    .await;
    browser.wait_hydrated().await;
    let service = browser
        .execute(
            "return document.querySelector('#traces-service').value;",
            vec![],
        )
        .await;
    assert_eq!(service, json!("keiko-portal"));
    // The trace is in that search, narrowed to the request's correlation id.
    let narrowed = format!("{traces}&filters=correlation_id%3D{cid}");
    open_until(
        &browser,
        &portal,
        &narrowed,
        &format!("tr.trace-row[data-trace-id='{trace_id}']"),
    )
    .await;
    assert!(browser.console_errors().await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn show_logs_and_traces_carry_the_range_and_the_chosen_series_labels() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let now_ms = (e2e::now_seconds() * 1e3) as i64;
    let checkout: &[(&str, &str)] = &[
        ("__name__", "shop_requests_total"),
        ("job", "checkout"),
        ("instance", "10.0.0.1:8080"),
    ];
    let cart: &[(&str, &str)] = &[
        ("__name__", "shop_requests_total"),
        ("job", "cart"),
        ("instance", "10.0.0.2:8080"),
    ];
    remote_write(
        &admin,
        &[
            (checkout, counter(now_ms, 3.0), vec![]),
            (cart, counter(now_ms, 1.0), vec![]),
        ],
    )
    .await;
    let browser = browser_for(&portal).await;

    // Explore → Metrics: two series, none chosen: the links carry the range alone.
    browser
        .goto(&portal.url(
            "/explore/metrics?q=rate(shop_requests_total%5B5m%5D)&mode=range&from=now-1h&to=now",
        ))
        .await;
    browser.wait_hydrated().await;
    browser.find(".chart .legend-entry").await;
    let logs = href_when(&browser, "#show-logs", |_| true).await;
    assert_eq!(param(&logs, "query").as_deref(), Some(""));
    assert_eq!(param(&logs, "from").as_deref(), Some("now-1h"));
    // Choosing the checkout series puts its job and instance in both links.
    let entries = texts(&browser, ".chart .legend-entry").await;
    let i = entries
        .iter()
        .position(|e| e.contains("checkout"))
        .expect("a checkout entry");
    click(
        &browser,
        &format!(".legend li:nth-child({}) .legend-entry", i + 1),
    )
    .await;
    let logs = href_when(&browser, "#show-logs", |h| h.contains("checkout")).await;
    assert_eq!(
        param(&logs, "query").as_deref(),
        Some("service:checkout AND instance:\"10.0.0.1:8080\"")
    );
    let traces = href_when(&browser, "#show-traces", |h| h.contains("checkout")).await;
    assert_eq!(param(&traces, "service").as_deref(), Some("checkout"));
    assert_eq!(
        param(&traces, "filters").as_deref(),
        Some("service.instance.id=10.0.0.1:8080")
    );
    // Zoomed in, the links carry the zoomed range (the drag on the chart drawn for the
    // chosen series, which replaced the one before).
    browser
        .find(".chart .legend-entry[aria-pressed='true']")
        .await;
    browser
        .drag("[data-testid='chart-overlay']", -150, 150)
        .await;
    let zoomed = wait_url(&browser, "a zoomed range", |u| !u.contains("from=now-1h")).await;
    let from = param(&zoomed, "from").unwrap();
    assert!(from.parse::<i64>().is_ok(), "{zoomed}");
    let logs = href_when(&browser, "#show-logs", |h| {
        h.contains("checkout") && param(h, "from").as_deref() == Some(&*from)
    })
    .await;
    assert_eq!(param(&logs, "to"), param(&zoomed, "to"));
    click(&browser, "#show-traces").await;
    wait_url(&browser, "Explore → Traces", |u| {
        u.contains("/explore/traces?")
    })
    .await;
    browser.wait_hydrated().await;
    let form = browser
        .execute(
            "return [document.querySelector('#traces-service').value, document.querySelector('#traces-filters').value];",
            vec![],
        )
        .await;
    assert_eq!(
        form,
        json!(["checkout", "service.instance.id=10.0.0.1:8080"])
    );

    // A dashboard chart: its menu's Logs and Traces links, then the legend's choice.
    let grafana = json!({"title": "Shop", "uid": "shop", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
         "targets": [{"expr": "rate(shop_requests_total[5m])", "refId": "A"}]}
    ]});
    let (s, r) = admin.post("/api/v1/dashboards/import", grafana).await;
    assert_eq!(s, 201, "{r}");
    browser
        .goto(&portal.url("/d/shop?from=now-3h&to=now"))
        .await;
    browser.wait_hydrated().await;
    let panel = "[data-panel='1']";
    browser.find(&format!("{panel} .legend-entry")).await;
    let logs = href_when(&browser, &format!("{panel} a.panel-show-logs"), |_| true).await;
    assert_eq!(param(&logs, "query").as_deref(), Some(""));
    assert_eq!(param(&logs, "from").as_deref(), Some("now-3h"));
    let entries = texts(&browser, &format!("{panel} .legend-entry")).await;
    let i = entries.iter().position(|e| e.contains("cart")).unwrap();
    click(
        &browser,
        &format!("{panel} .legend li:nth-child({}) .legend-entry", i + 1),
    )
    .await;
    let logs = href_when(&browser, &format!("{panel} a.panel-show-logs"), |h| {
        h.contains("cart")
    })
    .await;
    assert_eq!(
        param(&logs, "query").as_deref(),
        Some("service:cart AND instance:\"10.0.0.2:8080\"")
    );
    let traces = href_when(&browser, &format!("{panel} a.panel-show-traces"), |h| {
        h.contains("cart")
    })
    .await;
    assert_eq!(param(&traces, "from").as_deref(), Some("now-3h"));
    assert_eq!(
        param(&traces, "filters").as_deref(),
        Some("service.instance.id=10.0.0.2:8080")
    );
    // The chosen entry is marked pressed.
    let pressed = browser
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute('aria-pressed'));",
            vec![json!(format!("{panel} .legend-entry"))],
        )
        .await;
    let mut want = vec![json!("false"); entries.len()];
    want[i] = json!("true");
    assert_eq!(pressed, Value::Array(want));
    browser.goto(&portal.url(&logs)).await;
    browser.wait_hydrated().await;
    let query = browser
        .execute(
            "return document.querySelector('#logs-query').value;",
            vec![],
        )
        .await;
    assert_eq!(query, json!("service:cart AND instance:\"10.0.0.2:8080\""));
    assert!(browser.console_errors().await.is_empty());
    browser.close().await;
}

/// A trace of one span of service `api`, `ago_ms` before now.
async fn push_trace(client: &Client, trace_id: &str, ago_ms: i64) {
    let end = ((e2e::now_seconds() * 1e3) as i64 - ago_ms) * 1_000_000;
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
        "scopeSpans": [{"scope": {"name": "browser-correlation"}, "spans": [{
            "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "GET /slow", "kind": 2,
            "startTimeUnixNano": (end - 420_000_000).to_string(),
            "endTimeUnixNano": end.to_string(), "attributes": [],
        }]}],
    }]});
    let r = client
        .request(Method::POST, "/v1/traces")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn an_exemplar_on_a_chart_opens_its_trace() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let now_ms = (e2e::now_seconds() * 1e3) as i64;
    let bucket: &[(&str, &str)] = &[
        ("__name__", "api_latency_seconds_bucket"),
        ("job", "api"),
        ("le", "0.5"),
    ];
    // One exemplar ten minutes ago, and one an hour and a half ago (outside the range).
    remote_write(
        &admin,
        &[(
            bucket,
            counter(now_ms, 2.0),
            vec![
                (now_ms - 5_400_000, 0.3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                (now_ms - 600_000, 0.42, trace_id),
            ],
        )],
    )
    .await;
    push_trace(&admin, trace_id, 600_000).await;
    let browser = browser_for(&portal).await;

    browser
        .goto(&portal.url(
            "/explore/metrics?q=rate(api_latency_seconds_bucket%5B5m%5D)&mode=range&from=now-1h&to=now",
        ))
        .await;
    browser.wait_hydrated().await;
    browser.find(".chart .legend-entry").await;
    let points = browser
        .execute(
            "return [...document.querySelectorAll('.chart .chart-exemplar')].map(e => [e.getAttribute('href'), e.getAttribute('title')]);",
            vec![],
        )
        .await;
    let points = points.as_array().unwrap();
    assert_eq!(points.len(), 1, "only the exemplar in range: {points:?}");
    assert_eq!(points[0][0], json!(format!("/explore/traces/{trace_id}")));
    let title = points[0][1].as_str().unwrap();
    assert!(
        title.contains("api_latency_seconds_bucket") && title.contains(trace_id),
        "{title}"
    );
    // The point sits inside the chart, about ten minutes before its right edge.
    let left = browser
        .execute(
            "return parseFloat(document.querySelector('.chart .chart-exemplar').style.left);",
            vec![],
        )
        .await
        .as_f64()
        .unwrap();
    assert!(left > 60.0 && left < 100.0, "{left}");
    click(&browser, ".chart .chart-exemplar").await;
    wait_url(&browser, "the exemplar's trace", |u| {
        u.ends_with(&format!("/explore/traces/{trace_id}"))
    })
    .await;
    let title = browser
        .wait_text("[data-testid='trace-title']", |t| !t.is_empty())
        .await;
    assert_eq!(title, "api: GET /slow");

    // A dashboard chart draws it too.
    let grafana = json!({"title": "API", "uid": "api-latency", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "timeseries", "title": "Latency buckets", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
         "targets": [{"expr": "rate(api_latency_seconds_bucket[5m])", "refId": "A"}]}
    ]});
    let (s, r) = admin.post("/api/v1/dashboards/import", grafana).await;
    assert_eq!(s, 201, "{r}");
    browser
        .goto(&portal.url("/d/api-latency?from=now-1h&to=now"))
        .await;
    browser.wait_hydrated().await;
    let link = href_when(&browser, "[data-panel='1'] .chart-exemplar", |_| true).await;
    assert_eq!(link, format!("/explore/traces/{trace_id}"));
    assert!(browser.console_errors().await.is_empty());
    browser.close().await;
}
