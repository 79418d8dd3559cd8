//! What the browser suites do on every page: sign in and open a page, set a field as typing
//! does, click an element scrolled to the middle of the window.

use serde_json::json;

use crate::api::ADMIN_PASSWORD;
use crate::portal::Portal;
use crate::webdriver::Browser;

/// A browser signed in as the admin, on `path`, hydrated.
pub async fn signed_in(portal: &Portal, path: &str) -> Browser {
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url(path)).await;
    browser.wait_hydrated().await;
    browser
}

/// Sets a field's value and fires `input` and `change`, as typing and choosing do (works on
/// filled fields and selects too).
pub async fn set_value(browser: &Browser, css: &str, value: &str) {
    browser.find(css).await;
    let done = browser
        .execute(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', {bubbles: true})); \
             e.dispatchEvent(new Event('change', {bubbles: true})); return e.value;",
            vec![json!(css), json!(value)],
        )
        .await;
    assert_eq!(done, json!(value), "{css}");
}

/// Clicks an element after scrolling it to the middle of the window (a sticky bar at an
/// edge would take a click there).
pub async fn click(browser: &Browser, css: &str) {
    let el = browser.find(css).await;
    browser
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            vec![json!(css)],
        )
        .await;
    browser.click(&el).await;
}

/// How many elements match.
pub async fn count(browser: &Browser, css: &str) -> u64 {
    browser
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(css)],
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

/// A dashboard panel's chart once its legend satisfies `ready` (waited for up to 20 s): the
/// legend's names and how many series lines the SVG draws (axes and grid left out).
pub async fn panel_series(
    browser: &Browser,
    panel: u32,
    ready: impl Fn(&[String]) -> bool,
) -> (Vec<String>, u64) {
    let at = format!("[data-panel='{panel}']");
    browser.find(&format!("{at} .chart-svg")).await;
    let names = crate::eventually(
        std::time::Duration::from_secs(20),
        "the panel's legend",
        || async {
            let names: Vec<String> = browser
                .execute(
                    "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim());",
                    vec![json!(format!("{at} .legend-entry"))],
                )
                .await
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            ready(&names).then_some(names)
        },
    )
    .await;
    let lines = browser
        .execute(
            "return [...document.querySelectorAll(arguments[0])].filter(p => !p.getAttribute('stroke').includes('currentColor')).length;",
            vec![json!(format!("{at} .chart-svg polyline"))],
        )
        .await
        .as_u64()
        .unwrap_or(0);
    (names, lines)
}
