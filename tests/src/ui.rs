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
