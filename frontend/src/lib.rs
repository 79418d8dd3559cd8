//! The browser entry point: hydrates the server-rendered page with the same `App`.

// Leptos view types of the rule editor nest deeply.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronous hydration: a page whose route is a lazily loaded module (see
    // `app::App`) waits for that module, then hydrates. Only then is the page interactive.
    // (wasm-bindgen-futures drives this task; hydration sets up Leptos's executor itself.)
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        let app = leptos::mount::hydrate_from_async(body, app::App).await;
        app.forget();
        app::mark_hydrated();
    });
}
