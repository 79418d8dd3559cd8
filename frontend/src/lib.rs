//! The browser entry point: hydrates the server-rendered page with the same `App`.

// Leptos view types of the rule editor nest deeply.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
