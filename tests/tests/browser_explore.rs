//! Explore → Metrics and Settings → Data sources in headless Chromium against a real
//! Prometheus with known data: type a query, pick a completion, run, see the chart, hover,
//! isolate a series, drag to zoom (the URL changes), reload (the view comes back), switch
//! to an instant table, and manage a source through the form.

use std::time::Duration;

use e2e::api::ADMIN_PASSWORD;
use e2e::eventually;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::webdriver::Browser;
use serde_json::{json, Value};

fn data() -> (String, i64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // 40 minutes of samples 15 s apart, ending a few minutes ago (inside "Last 1 hour").
    let start = (now - 45 * 60) / 15 * 15;
    let mut om = String::from("# TYPE keiko_http_requests counter\n");
    for i in 0..160 {
        let t = start + 15 * i;
        om.push_str(&format!(
            "keiko_http_requests_total{{method=\"GET\",endpoint=\"/api/chat\"}} {} {t}\n",
            i * 3
        ));
        om.push_str(&format!(
            "keiko_http_requests_total{{method=\"POST\",endpoint=\"/api/agents\"}} {i} {t}\n"
        ));
    }
    // Another metric with a label that sorts before every label of the one above.
    om.push_str("# TYPE keiko_mcp_server_health gauge\n");
    for i in 0..160 {
        let t = start + 15 * i;
        om.push_str(&format!(
            "keiko_mcp_server_health{{cluster=\"eu\",server=\"tools\"}} 1 {t}\n"
        ));
    }
    om.push_str("# EOF\n");
    (om, start)
}

async fn chart_lines(browser: &Browser) -> i64 {
    browser
        .execute(
            "return [...document.querySelectorAll('.chart-svg polyline')].filter(p => !p.getAttribute('stroke').includes('currentColor')).length;",
            vec![],
        )
        .await
        .as_i64()
        .unwrap_or(-1)
}

#[tokio::test]
async fn query_completion_run_hover_isolate_zoom_and_reload() {
    let (om, _) = data();
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let (s, body) = portal
        .admin()
        .post(
            "/api/v1/datasources",
            json!({"name": "Prometheus", "type": "prometheus", "url": prom.url(), "default": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/explore/metrics")).await;
    browser.wait_hydrated().await;

    // Type part of a metric name; pick the completion.
    let editor = browser.find("#promql-input").await;
    browser.type_text(&editor, "keiko_http_req").await;
    let option = browser.find("#promql-input-suggestions .suggestion").await;
    assert_eq!(browser.text(&option).await, "keiko_http_requests_total");
    browser.click(&option).await;
    let value = browser
        .execute(
            "return document.querySelector('#promql-input').value;",
            vec![],
        )
        .await;
    assert_eq!(value, "keiko_http_requests_total");
    // Then a label name and a label value, completed the same way.
    browser.type_text(&editor, "{meth").await;
    let option = browser.find("#promql-input-suggestions .suggestion").await;
    assert_eq!(browser.text(&option).await, "method");
    browser.click(&option).await;
    browser.type_text(&editor, "=\"P").await;
    let option = eventually(Duration::from_secs(10), "the POST value", || async {
        let el = browser
            .try_find("#promql-input-suggestions .suggestion")
            .await?;
        (browser.text(&el).await == "POST").then_some(el)
    })
    .await;
    browser.click(&option).await;
    browser.type_text(&editor, "}").await;
    let value = browser
        .execute(
            "return document.querySelector('#promql-input').value;",
            vec![],
        )
        .await;
    assert_eq!(value, "keiko_http_requests_total{method=\"POST\"}");

    // Inside `metric{`, that metric's own labels come first (`cluster` of another metric
    // would sort before them).
    browser
        .execute(
            "const e = document.querySelector('#promql-input'); e.focus(); e.setSelectionRange(e.value.length, e.value.length);",
            vec![],
        )
        .await;
    browser.type_text(&editor, "\u{E003}").await; // Backspace: `…"POST"` + `}` typed again
    browser.type_text(&editor, ",").await;
    let offered = eventually(Duration::from_secs(10), "the metric's labels first", || async {
        let v = browser
            .execute(
                "return [...document.querySelectorAll('#promql-input-suggestions .suggestion')].map(s => s.textContent);",
                vec![],
            )
            .await;
        (v[0] == "endpoint" && v.as_array().is_some_and(|a| a.iter().any(|x| x == "cluster")))
            .then_some(v)
    })
    .await;
    assert_eq!(offered[1], "method", "{offered}");
    browser.type_text(&editor, "\u{E003}}").await; // back to the selector as it was

    // A mistake is flagged as you type, then cleared.
    browser.type_text(&editor, " +").await;
    let problem = browser
        .wait_text("#promql-input-problem", |t| t.contains("Line 1"))
        .await;
    assert!(problem.contains("column"), "{problem}");
    for _ in 0..2 {
        browser
            .execute(
                "const e = document.querySelector('#promql-input'); e.focus(); e.setSelectionRange(e.value.length, e.value.length);",
                vec![],
            )
            .await;
        browser.type_text(&editor, "\u{E003}").await; // Backspace
    }
    eventually(Duration::from_secs(10), "the problem to clear", || async {
        browser
            .try_find("#promql-input-problem")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Run: the chart appears and the URL holds the query.
    browser.click(&browser.find("#run-query").await).await;
    eventually(Duration::from_secs(10), "one line in the chart", || async {
        (chart_lines(&browser).await == 1).then_some(())
    })
    .await;
    let url = browser.current_url().await;
    assert!(
        url.contains("q=keiko_http_requests_total%7Bmethod%3D%22POST%22%7D"),
        "{url}"
    );
    // The run is in the history.
    browser
        .wait_text(".history-entry", |t| t.contains("method=\"POST\""))
        .await;

    // Back to both series to isolate one through the legend.
    browser
        .goto(&portal.url("/explore/metrics?q=keiko_http_requests_total&from=now-1h&to=now"))
        .await;
    browser.wait_hydrated().await;
    eventually(Duration::from_secs(10), "two lines", || async {
        (chart_lines(&browser).await == 2).then_some(())
    })
    .await;

    // Hover: the tooltip names both series with their values.
    // Hovering again on each try: under load a single pointer move can land before the
    // chart's handlers are attached (the chart re-renders when its answer arrives).
    let hover_until = |x: i64, want: &'static str| {
        let browser = &browser;
        async move {
            eventually(Duration::from_secs(15), want, || async {
                browser.hover("[data-testid=chart-overlay]", x).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                let text = browser
                    .execute(
                        "const e = document.querySelector('.chart-tooltip'); return e ? e.innerText : '';",
                        vec![],
                    )
                    .await;
                text.as_str()
                    .filter(|t| t.contains(want))
                    .map(str::to_owned)
            })
            .await
        }
    };
    let tip = hover_until(60, "GET").await;
    assert!(tip.contains("POST") && tip.contains(":"), "{tip}");
    // The values are those at that time: GET counts three times as fast as POST.
    let rows = browser
        .execute(
            "return [...document.querySelectorAll('.chart-tooltip .tooltip-row')].map(r => [r.querySelector('.tooltip-name').textContent, r.querySelector('.tooltip-value').textContent]);",
            vec![],
        )
        .await;
    let value_of = |method: &str| -> f64 {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r[0].as_str().unwrap().contains(method))
            .and_then(|r| r[1].as_str())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {method} value in {rows}"))
    };
    let (get, post) = (value_of("GET"), value_of("POST"));
    assert!(post > 0.0 && get == 3.0 * post, "GET {get}, POST {post}");
    // Before the first sample (the data starts 45 minutes ago in this hour): no values.
    let width = browser
        .execute(
            "return document.querySelector('[data-testid=chart-overlay]').clientWidth;",
            vec![],
        )
        .await
        .as_i64()
        .unwrap();
    hover_until(-(width / 2) + width * 15 / 100, "No data").await;
    let shown = browser
        .execute(
            "return document.querySelectorAll('.chart-tooltip .tooltip-row').length;",
            vec![],
        )
        .await;
    assert_eq!(shown, 0, "a value was shown where there is no data");
    hover_until(60, "GET").await;

    let legend = browser.find(".legend li:nth-child(2) .legend-entry").await;
    let isolated_name = browser.text(&legend).await;
    assert!(isolated_name.contains("GET"), "{isolated_name}");
    browser.click(&legend).await;
    eventually(
        Duration::from_secs(10),
        "focus in the URL and one line",
        || async {
            let url = browser.current_url().await;
            (url.contains("focus=1") && chart_lines(&browser).await == 1).then_some(())
        },
    )
    .await;
    browser
        .click(&browser.find(".legend li:nth-child(2) .legend-entry").await)
        .await;
    eventually(Duration::from_secs(10), "all series again", || async {
        let url = browser.current_url().await;
        (!url.contains("focus=") && chart_lines(&browser).await == 2).then_some(())
    })
    .await;

    // Drag to zoom: the URL gets an absolute range inside the old one.
    let before = browser.current_url().await;
    browser.drag("[data-testid=chart-overlay]", -150, 150).await;
    let zoomed = eventually(
        Duration::from_secs(10),
        "an absolute range in the URL",
        || async {
            let url = browser.current_url().await;
            (url != before && !url.contains("from=now")).then_some(url)
        },
    )
    .await;
    let param = |url: &str, key: &str| -> i64 {
        url.split(['?', '&'])
            .find_map(|p| p.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {url}"))
    };
    let (from, to) = (param(&zoomed, "from"), param(&zoomed, "to"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        from < to && to <= now_ms && from >= now_ms - 3_700_000,
        "{from}..{to}"
    );
    let span_min = (to - from) / 60_000;
    assert!(
        (15..=45).contains(&span_min),
        "about half an hour selected: {span_min} min"
    );
    eventually(Duration::from_secs(10), "the zoomed chart", || async {
        let label = browser.text(&browser.try_find("#range-label").await?).await;
        label.contains("UTC").then_some(())
    })
    .await;
    // The inspector follows the zoomed query once it has answered (not the hour before).
    let inspected: Value = eventually(Duration::from_secs(10), "the zoomed inspector", || async {
        let v = browser
            .execute(
                "const t = document.querySelector('#query-inspector dd:nth-of-type(2)').textContent;
                 const [a, b] = t.replace(' UTC', '').split(' → ').map(s => Date.parse(s.replace(' ', 'T') + 'Z'));
                 return [t, (b - a) / 60000];",
                vec![],
            )
            .await;
        (v[1].as_f64().is_some_and(|m| m < 55.0)).then(|| v[0].clone())
    })
    .await;

    // A reload reproduces the view: same range, same lines, drawn before any script runs.
    browser.goto(&zoomed).await;
    browser.wait_hydrated().await;
    assert_eq!(chart_lines(&browser).await, 2);
    let again: Value = browser
        .execute(
            "return document.querySelector('#query-inspector dd:nth-of-type(2)').textContent;",
            vec![],
        )
        .await;
    assert_eq!(inspected, again, "same range after reload");

    // Zoom out: twice the range around its middle; Back returns to the zoomed range.
    browser.click(&browser.find("#zoom-out").await).await;
    let wider = eventually(
        Duration::from_secs(10),
        "a wider range in the URL",
        || async {
            let url = browser.current_url().await;
            (url != zoomed && !url.contains("from=now")).then_some(url)
        },
    )
    .await;
    let (wfrom, wto) = (param(&wider, "from"), param(&wider, "to"));
    let (span, wspan) = (to - from, wto - wfrom);
    assert!(
        wfrom < from && wto >= to,
        "{wfrom}..{wto} around {from}..{to}"
    );
    assert!(
        wspan >= span * 3 / 2 && wspan <= span * 2 + 2,
        "about twice as wide: {span} → {wspan}"
    );
    browser.back().await;
    eventually(
        Duration::from_secs(10),
        "back to the zoomed range",
        || async { (browser.current_url().await == zoomed).then_some(()) },
    )
    .await;

    // Instant mode: a table of the latest values.
    browser.click(&browser.find("#mode-instant").await).await;
    eventually(Duration::from_secs(10), "the table", || async {
        let rows = browser
            .execute(
                "return document.querySelectorAll('.result-table tbody tr').length;",
                vec![],
            )
            .await;
        (rows == json!(2)).then_some(())
    })
    .await;
    assert!(browser.current_url().await.contains("mode=instant"));
    // A column per label, sortable by a click on its header (again to reverse).
    let heads = browser
        .execute(
            "return [...document.querySelectorAll('.result-table thead th')].map(t => t.textContent.replace(/[▲▼]/g, '').trim());",
            vec![],
        )
        .await;
    assert_eq!(heads, json!(["Metric", "endpoint", "method", "Value"]));
    let first_method = || async {
        browser
            .execute(
                "return document.querySelector('.result-table tbody tr td[data-column=method]').textContent;",
                vec![],
            )
            .await
    };
    // A click on the header sorts by it; another reverses.
    for first in ["GET", "POST"] {
        browser
            .click(
                &browser
                    .find(".result-table button[data-column=method]")
                    .await,
            )
            .await;
        eventually(Duration::from_secs(5), "sorted by method", || async {
            (first_method().await == json!(first)).then_some(())
        })
        .await;
    }

    // The time picker: a preset, then an absolute range (UTC), then auto-refresh — each in
    // the URL.
    let choose = |css: &'static str, value: &'static str| {
        let browser = &browser;
        async move {
            let el = browser.find(css).await;
            browser
                .execute(
                    "const s = arguments[0]; s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
                    vec![json!({"element-6066-11e4-a52e-4f735466cecf": el.0}), json!(value)],
                )
                .await;
        }
    };
    choose("#time-preset", "6h").await;
    eventually(Duration::from_secs(10), "the 6 h preset", || async {
        let url = browser.current_url().await;
        (url.contains("from=now-6h") && url.contains("to=now")).then_some(())
    })
    .await;
    browser
        .wait_text("#range-label", |t| t == "Last 6 hours")
        .await;
    browser
        .click(&browser.find(".absolute-range summary").await)
        .await;
    for (css, value) in [
        ("#time-from", "2026-01-02T03:04"),
        ("#time-to", "2026-01-02T05:06"),
    ] {
        let el = browser.find(css).await;
        browser
            .execute(
                "const i = arguments[0]; i.value = arguments[1]; i.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![json!({"element-6066-11e4-a52e-4f735466cecf": el.0}), json!(value)],
            )
            .await;
    }
    browser.click(&browser.find("#apply-range").await).await;
    eventually(Duration::from_secs(10), "the absolute range", || async {
        let url = browser.current_url().await;
        (url.contains("from=2026-01-02T03%3A04%3A00Z")
            && url.contains("to=2026-01-02T05%3A06%3A00Z"))
        .then_some(())
    })
    .await;
    choose("#refresh-select", "30s").await;
    eventually(Duration::from_secs(10), "refresh in the URL", || async {
        browser
            .current_url()
            .await
            .contains("refresh=30s")
            .then_some(())
    })
    .await;

    assert!(
        browser.console_errors().await.is_empty(),
        "{:?}",
        browser.console_errors().await
    );
    browser.close().await;
}

#[tokio::test]
async fn data_sources_are_added_tested_refused_with_reasons_and_deleted_in_the_ui() {
    let (om, _) = data();
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/settings/datasources")).await;
    browser.wait_hydrated().await;
    // A fresh portal lists its built-in store, the default, which cannot be deleted.
    let builtin = browser
        .wait_text("tr[data-kind=embedded]", |t| t.contains("Embedded"))
        .await;
    assert!(
        builtin.contains("default") && builtin.contains("built in"),
        "{builtin}"
    );
    assert!(browser
        .try_find("tr[data-kind=embedded] .delete-source")
        .await
        .is_none());
    let (s, before) = portal.admin().get("/api/v1/datasources").await;
    assert_eq!(s, 200, "{before}");
    assert_eq!(
        before.as_array().map(Vec::len),
        Some(3),
        "the built-in stores (metrics, logs and traces) only: {before}"
    );

    // A cloud-metadata address is refused beside the URL field; nothing is saved.
    browser
        .type_text(&browser.find("#source-name").await, "Metadata")
        .await;
    browser
        .type_text(
            &browser.find("#source-url").await,
            "http://169.254.169.254/",
        )
        .await;
    browser.click(&browser.find("#save-source").await).await;
    let msg = browser
        .wait_text(".field-error[data-field=url]", |t| !t.is_empty())
        .await;
    assert!(msg.contains("169.254"), "{msg}");
    let (s, list) = portal.admin().get("/api/v1/datasources").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list, before, "the refused source was not saved");

    // A real one is saved, tested and listed.
    browser.clear(&browser.find("#source-name").await).await;
    browser
        .type_text(&browser.find("#source-name").await, "Prometheus")
        .await;
    browser.clear(&browser.find("#source-url").await).await;
    browser
        .type_text(&browser.find("#source-url").await, &prom.url())
        .await;
    browser.click(&browser.find("#save-source").await).await;
    browser
        .wait_text("#sources-table", |t| t.contains("Prometheus"))
        .await;
    browser
        .click(
            &browser
                .find("tr[data-source=Prometheus] .test-source")
                .await,
        )
        .await;
    let result = browser
        .wait_text("[data-testid=test-result]", |t| !t.is_empty())
        .await;
    assert!(result.starts_with('✓'), "{result}");

    // Bearer auth without a token is refused beside the secret field.
    browser
        .click(
            &browser
                .find("tr[data-source=Prometheus] .edit-source")
                .await,
        )
        .await;
    let auth = browser.find("#source-auth").await;
    browser
        .execute(
            "const s = arguments[0]; s.value = 'bearer'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!({"element-6066-11e4-a52e-4f735466cecf": auth.0})],
        )
        .await;
    browser.click(&browser.find("#save-source").await).await;
    let msg = browser
        .wait_text(".field-error[data-field='auth.token']", |t| !t.is_empty())
        .await;
    assert!(msg.contains("token"), "{msg}");
    let (s, list) = portal.admin().get("/api/v1/datasources").await;
    assert_eq!(s, 200, "{list}");
    let prometheus = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Prometheus")
        .unwrap();
    assert_eq!(
        prometheus["auth"]["type"], "none",
        "the refused edit changed nothing"
    );

    // Delete, confirmed.
    browser
        .execute("window.confirm = () => true;", vec![])
        .await;
    browser
        .click(
            &browser
                .find("tr[data-source=Prometheus] .delete-source")
                .await,
        )
        .await;
    browser
        .wait_text("#sources-table", |t| !t.contains("Prometheus"))
        .await;
    browser.close().await;
    let (s, list) = portal.admin().get("/api/v1/datasources").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list, before, "only the built-in store is left");
}
