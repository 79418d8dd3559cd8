//! One component per page. Pages whose capability has not been built yet say so plainly and
//! show no invented content.

use leptos::prelude::*;
use leptos_meta::Title;

/// A page whose feature is not built yet: says so, and says what it will hold.
#[component]
fn ComingLater(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <div class="notice" role="status">
            <strong>"Coming in a later release."</strong>
            " "
            {what}
        </div>
    }
}

#[component]
pub fn ExploreTraces() -> impl IntoView {
    view! {
        <ComingLater
            title="Explore traces"
            what="Find traces by service and span attributes such as agent.id and task.type."
        />
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <h1>"Page not found"</h1>
        <p>"There is no page at this address. " <a href="/">"Go to the start page."</a></p>
    }
}
