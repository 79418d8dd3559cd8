//! "Syntax" beside the query bar: the query language's page (docs/LOG_QUERY.md, rendered by
//! the server at `GET /api/v1/logs/syntax`) in a disclosure, loaded when first opened.

use leptos::prelude::*;

/// The server's answer.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct Page {
    html: String,
}

#[component]
pub fn SyntaxHelp() -> impl IntoView {
    let page = RwSignal::new(None::<Result<String, String>>);
    let asked = StoredValue::new(false);
    view! {
        <details id="logs-syntax" class="logs-syntax" data-testid="logs-syntax"
            on:toggle=move |_| {
                if !asked.get_value() {
                    asked.set_value(true);
                    load(page);
                }
            }>
            <summary title="The query language: words, phrases, fields, ranges, levels, AND/OR/NOT">
                "Syntax"
            </summary>
            {move || match page.get() {
                None => view! { <p class="loading">"Loading the query language…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(html)) => view! { <div class="logs-syntax-page" inner_html=html></div> }.into_any(),
            }}
        </details>
    }
}

fn load(into: RwSignal<Option<Result<String, String>>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let answer = crate::api_client::call::<Page>("GET", "/api/v1/logs/syntax", None::<&()>)
            .await
            .map(|p| p.html)
            .map_err(|e| e.to_string());
        into.try_set(Some(answer));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = into;
}
