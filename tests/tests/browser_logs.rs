//! Explore → Logs in headless Chromium against the real portal, with lines pushed through
//! the real ingest API (`POST /api/v1/logs`, the seed's StructuredFormatter shape): the
//! first HTML holds the lines; search; the histogram narrows the range; a facet click edits
//! the query; a line expands to its fields with links to its trace and its request; the
//! context around a line; the URL keeps the view; "show logs" from Explore → Metrics; live
//! tail; the query language's page beside the query bar; and a Grafana `logs` panel
//! imported onto a dashboard.

use std::time::Duration;

use e2e::api::{Client, ADMIN_PASSWORD};
use e2e::eventually;
use e2e::portal::Portal;
use e2e::webdriver::Browser;
use reqwest::Method;
use serde_json::{json, Value};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID: &str = "00f067aa0ba902b7";
/// Every line of the test carries this module, so the portal's own lines stay out.
const QUERY: &str = "module:checkout_flow";

/// A seed-shaped record at Unix milliseconds `at` (the store reads a Unix time by its
/// magnitude, as it reads RFC 3339).
fn record(at: i64, level: &str, message: &str, correlation_id: &str) -> Value {
    json!({
        "timestamp": at,
        "level": level,
        "logger": "keiko.request",
        "message": message,
        "module": "checkout_flow",
        "function": "dispatch",
        "line": 42,
        "correlation_id": correlation_id,
    })
}

async fn push(client: &Client, service: &str, records: &[Value]) {
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let r = client
        .request(Method::POST, &format!("/api/v1/logs?service={service}"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], records.len(), "{answer}");
}

/// Twelve INFO lines of `api` ten seconds apart (request `req-a`), then a WARNING and an
/// ERROR of `billing` (request `req-b`; the error with a trace and an exception).
async fn push_known_lines(client: &Client) {
    let now = (e2e::now_seconds() * 1000.0) as i64;
    let api: Vec<Value> = (0..12)
        .map(|i| {
            record(
                now - 300_000 + i * 10_000,
                "INFO",
                &format!("Request {i} completed"),
                "req-a",
            )
        })
        .collect();
    push(client, "api", &api).await;
    let mut error = record(
        now - 100_000,
        "ERROR",
        "Timeout calling payment-service",
        "req-b",
    );
    error["trace_id"] = json!(TRACE_ID);
    error["span_id"] = json!(SPAN_ID);
    error["exception"] = json!({"type": "TimeoutError", "message": "read timed out"});
    let warning = record(
        now - 120_000,
        "WARNING",
        "Slow call to payment-service",
        "req-b",
    );
    push(client, "billing", &[warning, error]).await;
}

async fn start() -> (Portal, Browser) {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    push_known_lines(&portal.admin()).await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    (portal, browser)
}

/// The messages of the lines under `css` (a list), in page order.
async fn messages(browser: &Browser, css: &str) -> Vec<String> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll(arguments[0] + ' .log-line .log-message')].map(e => e.textContent);",
            vec![json!(css)],
        )
        .await;
    serde_json::from_value(v).unwrap_or_default()
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

/// Opens the search again (as a reload or a shared link would) and waits for its lines.
async fn reopen(browser: &Browser, url: &str) {
    browser.goto(url).await;
    browser.wait_hydrated().await;
    browser
        .wait_text("[data-testid=logs-count]", |t| t == "14 newest lines")
        .await;
}

/// The first list of lines on the page (the first page of the search).
const FIRST_PAGE: &str = ".logs-results ol.log-lines:first-of-type";

#[tokio::test]
async fn search_histogram_facets_expand_links_context_and_the_url() {
    let (portal, browser) = start().await;
    browser.goto(&portal.url("/explore/logs")).await;
    browser.wait_hydrated().await;

    // Search: type a query and run it; the URL holds it, the lines come newest first with
    // their level's colour.
    let input = browser.find("#logs-query").await;
    // Live validation: a syntax error is named with its position while typing …
    browser.type_text(&input, "level:>= AND x").await;
    let error = browser
        .wait_text("#logs-query-error", |t| !t.is_empty())
        .await;
    assert!(error.contains("at byte 9"), "{error}");
    // … and goes away once the query parses.
    browser.clear(&input).await;
    // Completion: the start of a field name offers the field, then its values.
    browser.type_text(&input, "modu").await;
    browser
        .wait_text("#logs-suggestions", |t| t == "module:")
        .await;
    click(&browser, "#logs-suggestions .suggestion").await;
    browser
        .wait_text("#logs-suggestions", |t| t.contains("module:checkout_flow"))
        .await;
    browser
        .execute(
            "[...document.querySelectorAll('#logs-suggestions .suggestion')].find(b => b.textContent === arguments[0]).click();",
            vec![json!(QUERY)],
        )
        .await;
    let typed = browser
        .execute(
            "return document.querySelector('#logs-query').value;",
            vec![],
        )
        .await;
    assert_eq!(typed, json!(QUERY));
    browser.wait_text("#logs-query-error", str::is_empty).await;
    click(&browser, "#logs-run").await;
    let searched = wait_url(&browser, "the query in the URL", |u| {
        u.contains("query=module%3Acheckout_flow")
    })
    .await;
    browser
        .wait_text("[data-testid=logs-count]", |t| t == "14 newest lines")
        .await;
    let shown = messages(&browser, FIRST_PAGE).await;
    assert_eq!(
        shown[..3],
        [
            "Timeout calling payment-service",
            "Slow call to payment-service",
            "Request 11 completed"
        ]
    );
    let classes = browser
        .execute(
            "return [...document.querySelectorAll('.log-line')].slice(0, 3).map(e => e.className);",
            vec![],
        )
        .await;
    assert_eq!(
        classes,
        json!([
            "log-line sev-error",
            "log-line sev-warning",
            "log-line sev-info"
        ])
    );

    // The first HTML (server rendering, no script) already holds the lines.
    let html = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch(location.href).then(r => r.text()).then(done);",
            vec![],
        )
        .await;
    let html = html.as_str().unwrap();
    assert!(
        html.contains("Timeout calling payment-service") && html.contains("log-line sev-error"),
        "the server-rendered page holds the lines"
    );
    assert!(
        html.contains("class=\"log-histogram\""),
        "and the histogram"
    );

    // The histogram counts the matches; a click on a bar narrows the range to it.
    let total = browser
        .execute(
            "return document.querySelector('.log-histogram').dataset.total;",
            vec![],
        )
        .await;
    assert_eq!(total, json!("14"));
    let bar_count = browser
        .execute(
            "const bars = [...document.querySelectorAll('.hist-bar')].filter(b => b.dataset.count !== '0'); \
             return bars[bars.length - 1].dataset.count;",
            vec![],
        )
        .await;
    let bar_count: usize = bar_count.as_str().unwrap().parse().unwrap();
    let bucket = browser
        .execute(
            "const bars = [...document.querySelectorAll('.hist-bar')].filter(b => b.dataset.count !== '0'); \
             return bars[bars.length - 1].dataset.bucket;",
            vec![],
        )
        .await;
    let bar = browser
        .find(&format!(
            ".hist-bar[data-bucket='{}'] .hist-hit",
            bucket.as_str().unwrap()
        ))
        .await;
    browser.click(&bar).await;
    let zoomed = wait_url(&browser, "the bar's range in the URL", |u| {
        !u.contains("from=now") && u.contains("from=") && u.contains("query=module")
    })
    .await;
    browser
        .wait_text("[data-testid=logs-count]", |t| {
            t == format!("{bar_count} newest lines")
        })
        .await;
    assert!(zoomed.contains("to=1"), "{zoomed}");

    // The URL keeps the view: reloading the search brings back the query and the lines.
    reopen(&browser, &searched).await;
    let value = browser
        .execute(
            "return document.querySelector('#logs-query').value;",
            vec![],
        )
        .await;
    assert_eq!(value, json!(QUERY));

    // Brushing: pressing on one bar and letting go on another narrows the range to the
    // bars between (several buckets, whole ones).
    let step = browser
        .execute(
            "const b = document.querySelector('.hist-bar'); return b.dataset.end - b.dataset.start;",
            vec![],
        )
        .await
        .as_f64()
        .unwrap();
    browser.drag(".log-histogram svg", -200, 200).await;
    let brushed = wait_url(&browser, "the brushed range in the URL", |u| {
        !u.contains("from=now") && u.contains("query=module")
    })
    .await;
    let param = |name: &str| -> f64 {
        brushed
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    let buckets = (param("to") - param("from")) / 1000.0 / step;
    assert!(
        buckets > 5.0 && (buckets - buckets.round()).abs() < 0.01,
        "{buckets} buckets: {brushed}"
    );
    reopen(&browser, &searched).await;

    // Facets: open a field, filter its value in; the query says so and only those lines stay.
    click(&browser, ".log-field[data-field='service'] .field-name").await;
    let billing = ".log-field[data-field='service'] li[data-value='billing']";
    let count = browser
        .wait_text(&format!("{billing} .count"), |t| t == "2")
        .await;
    assert_eq!(count, "2");
    click(&browser, &format!("{billing} .filter-in")).await;
    wait_url(&browser, "the filter in the query", |u| {
        u.contains("AND%20service%3Abilling")
    })
    .await;
    browser
        .wait_text("[data-testid=logs-count]", |t| t == "2 newest lines")
        .await;
    // … and out.
    reopen(&browser, &searched).await;
    click(&browser, ".log-field[data-field='service'] .field-name").await;
    click(&browser, &format!("{billing} .filter-out")).await;
    wait_url(&browser, "the exclusion in the query", |u| {
        u.contains("AND%20NOT%20service%3Abilling")
    })
    .await;
    browser
        .wait_text("[data-testid=logs-count]", |t| t == "12 newest lines")
        .await;

    // Expand: the error line shows every field, the JSON, and links for its trace and
    // its request.
    reopen(&browser, &searched).await;
    click(
        &browser,
        &format!("{FIRST_PAGE} > li:nth-child(1) .log-toggle"),
    )
    .await;
    let exception = browser
        .wait_text(
            ".log-details tr[data-field='exception.type'] .log-field-value",
            |t| !t.is_empty(),
        )
        .await;
    assert_eq!(exception, "TimeoutError");
    let json_text = browser
        .wait_text(".log-details .log-json", |t| !t.is_empty())
        .await;
    let copied: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(copied["correlation_id"], "req-b");
    assert_eq!(copied["level"], "ERROR");
    click(&browser, ".log-details .log-copy").await;
    browser
        .wait_text(".log-details .log-copy", |t| t != "Copy")
        .await;
    let request_link = browser
        .execute(
            "return document.querySelector(\".log-details a.log-link[data-field='correlation_id']\").getAttribute('href');",
            vec![],
        )
        .await;
    assert!(
        request_link
            .as_str()
            .unwrap()
            .starts_with("/explore/logs?query=correlation_id%3Areq-b&from=now-1h&to=now"),
        "{request_link}"
    );
    click(&browser, ".log-details a.log-link[data-field='trace_id']").await;
    wait_url(&browser, "the trace's page", |u| {
        u.ends_with(&format!("/explore/traces/{TRACE_ID}"))
    })
    .await;
    // The traces page for one id comes with the traces issue; until then it is a 404,
    // whose console message is not this page's.
    browser.console_errors().await;

    // Context: the five lines before and after a line of the same service.
    reopen(&browser, &searched).await;
    // Newest first: error, warning, requests 11 … 0; request 6 is the eighth line.
    let row = format!("{FIRST_PAGE} > li:nth-child(8)");
    click(&browser, &format!("{row} .log-toggle")).await;
    click(&browser, &format!("{row} .log-context-button")).await;
    eventually(Duration::from_secs(10), "the context lines", || async {
        let before = messages(&browser, ".log-context .context-before").await;
        let after = messages(&browser, ".log-context .context-after").await;
        (before.len() == 5 && after.len() == 5).then_some((before, after))
    })
    .await;
    let before = messages(&browser, ".log-context .context-before").await;
    let after = messages(&browser, ".log-context .context-after").await;
    let names = |r: std::ops::RangeInclusive<i32>| -> Vec<String> {
        r.rev().map(|i| format!("Request {i} completed")).collect()
    };
    assert_eq!(before, names(1..=5));
    assert_eq!(after, names(7..=11));
    assert_eq!(
        messages(&browser, ".log-context .context-line").await,
        ["Request 6 completed"]
    );

    // Explore → Metrics links to the logs of its range.
    browser
        .goto(&portal.url("/explore/metrics?q=up&from=now-6h&to=now"))
        .await;
    browser.wait_hydrated().await;
    click(&browser, "#show-logs").await;
    wait_url(&browser, "Explore → Logs with the range", |u| {
        u.contains("/explore/logs?") && u.contains("from=now-6h") && u.contains("to=now")
    })
    .await;
    let range = eventually(Duration::from_secs(10), "the range picker", || async {
        let v = browser
            .execute(
                "return document.querySelector('#logs-range').value;",
                vec![],
            )
            .await;
        (v == json!("6h")).then_some(v)
    })
    .await;
    assert_eq!(range, json!("6h"));
    assert!(browser.console_errors().await.is_empty());
    browser.close().await;
}

#[tokio::test]
async fn the_syntax_help_beside_the_query_bar_shows_the_query_language_whose_examples_run() {
    let (portal, browser) = start().await;
    browser.goto(&portal.url("/explore/logs")).await;
    browser.wait_hydrated().await;
    // Closed, the help has not been loaded.
    assert!(browser
        .try_find("#logs-syntax .logs-syntax-page")
        .await
        .is_none());
    click(&browser, "#logs-syntax > summary").await;
    browser
        .wait_text("#logs-syntax .logs-syntax-page h1", |t| {
            t == "Log query language"
        })
        .await;
    let page = browser
        .execute(
            "return document.querySelector('#logs-syntax .logs-syntax-page').textContent;",
            vec![],
        )
        .await;
    let page = page.as_str().unwrap_or_default();
    for part in [
        "level:>=WARNING",
        "correlation_id",
        "TRACE < DEBUG < INFO",
        "at byte 9",
    ] {
        assert!(page.contains(part), "{part:?} is not on the syntax page");
    }
    // Its field table is a table, and its long examples wrap instead of widening the page.
    assert!(browser.try_find("#logs-syntax table code").await.is_some());
    let wider = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await;
    assert_eq!(wider, json!(0), "the open help widens the page");

    // An example copied from the page finds what it says: the one ERROR with "timeout".
    let example = browser
        .execute(
            "return [...document.querySelectorAll('#logs-syntax code.language-query')] \
               .flatMap(c => c.textContent.split('\\n')) \
               .find(l => l === arguments[0]) || null;",
            vec![json!(r#"level:ERROR AND "timeout""#)],
        )
        .await;
    let example = example.as_str().expect("the example on the syntax page");
    let input = browser.find("#logs-query").await;
    browser.clear(&input).await;
    browser
        .type_text(&input, &format!("{QUERY} AND {example}"))
        .await;
    click(&browser, "#logs-run").await;
    eventually(
        Duration::from_secs(10),
        "the example's one line",
        || async {
            let found = messages(&browser, FIRST_PAGE).await;
            (found == ["Timeout calling payment-service"]).then_some(())
        },
    )
    .await;
    browser.close().await;
}

#[tokio::test]
async fn live_tail_shows_new_lines_newest_first_and_counts_them_while_paused() {
    let (portal, browser) = start().await;
    browser
        .goto(&portal.url("/explore/logs?query=service%3Atailed&live=1"))
        .await;
    browser.wait_hydrated().await;
    // Lines are pushed only once the stream listens.
    browser.find(".live-tail[data-connected='true']").await;
    let admin = portal.admin();
    let now = (e2e::now_seconds() * 1000.0) as i64;
    let lines: Vec<Value> = (0..3)
        .map(|i| record(now + i, "INFO", &format!("tailed {i}"), "req-t"))
        .collect();
    push(&admin, "tailed", &lines).await;
    // A line of another service is not part of this tail.
    push(
        &admin,
        "other",
        &[record(now, "INFO", "not tailed", "req-o")],
    )
    .await;
    let shown = eventually(Duration::from_secs(10), "the tailed lines", || async {
        let m = messages(&browser, ".live-tail").await;
        (m.len() == 3).then_some(m)
    })
    .await;
    assert_eq!(shown, ["tailed 2", "tailed 1", "tailed 0"]);

    // Paused: new lines are counted, not shown; resumed: they show again.
    click(&browser, "#tail-pause").await;
    browser.wait_text("#tail-pause", |t| t == "Resume").await;
    push(
        &admin,
        "tailed",
        &[record(now + 10, "INFO", "while paused", "req-t")],
    )
    .await;
    browser
        .wait_text("[data-testid=tail-status]", |t| t.contains("1 skipped"))
        .await;
    click(&browser, "#tail-pause").await;
    push(
        &admin,
        "tailed",
        &[record(now + 20, "WARNING", "after resume", "req-t")],
    )
    .await;
    let shown = eventually(
        Duration::from_secs(10),
        "the line after resuming",
        || async {
            let m = messages(&browser, ".live-tail").await;
            (m.len() == 4).then_some(m)
        },
    )
    .await;
    assert_eq!(shown[0], "after resume");
    assert!(!shown
        .iter()
        .any(|m| m == "while paused" || m == "not tailed"));

    // Turning live off returns to the search.
    click(&browser, "#logs-live").await;
    wait_url(&browser, "live off in the URL", |u| !u.contains("live=1")).await;
    browser
        .wait_text("[data-testid=logs-count]", |t| t == "5 newest lines")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_grafana_logs_panel_imports_and_shows_its_lines_on_the_dashboard() {
    let (portal, browser) = start().await;
    let grafana = json!({"title": "Checkout logs", "uid": "checkout-logs", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "logs", "title": "Billing problems", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 10},
         "datasource": {"type": "loki", "uid": "loki"},
         "targets": [{"refId": "A", "expr": "{service=\"billing\", module=\"checkout_flow\"} |= \"payment\""}]}
    ]});
    let (s, r) = portal
        .admin()
        .post("/api/v1/dashboards/import", grafana)
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, doc) = portal.admin().get("/api/v1/dashboards/checkout-logs").await;
    assert_eq!(s, 200, "{doc}");
    let panel = doc["dashboard"]["panels"][0].clone();
    let panel = if panel.is_null() {
        doc["panels"][0].clone()
    } else {
        panel
    };
    assert_eq!(panel["type"], "logs", "{doc}");
    assert_eq!(
        panel["targets"][0]["expr"],
        "service:billing AND module:checkout_flow AND \"payment\""
    );

    browser
        .goto(&portal.url("/d/checkout-logs?from=now-1h&to=now"))
        .await;
    browser.wait_hydrated().await;
    let shown = eventually(Duration::from_secs(10), "the panel's lines", || async {
        let m = messages(&browser, "[data-panel='1'] .panel-logs").await;
        (m.len() == 2).then_some(m)
    })
    .await;
    assert_eq!(
        shown,
        [
            "Timeout calling payment-service",
            "Slow call to payment-service"
        ]
    );
    let explore = browser
        .execute(
            "return document.querySelector(\"[data-panel='1'] .panel-explore\").getAttribute('href');",
            vec![],
        )
        .await;
    assert!(
        explore
            .as_str()
            .unwrap()
            .starts_with("/explore/logs?query="),
        "{explore}"
    );
    browser.close().await;
}
