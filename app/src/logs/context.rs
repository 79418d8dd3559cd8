//! Context: the lines just before and after one line from the same stream (its service,
//! and its instance when it names one), newest first around the line itself, as
//! `GET /api/v1/logs/lines/{id}/context` finds them.

use leptos::prelude::*;

use crate::components::log_lines::LogList;
use crate::components::log_model::LogLine;

/// Lines shown on each side.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const AROUND: usize = 5;

/// The server's answer: the stream's query and the lines on each side, newest first.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
struct Around {
    #[serde(default)]
    scope: String,
    before: Vec<LogLine>,
    after: Vec<LogLine>,
}

#[component]
pub fn ContextView(
    line: LogLine,
    range: (String, String),
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let around = RwSignal::new(None::<Result<Around, String>>);
    load(line.id.clone(), around);
    let this = vec![line];
    let scope = move || match around.get() {
        Some(Ok(a)) if a.scope.is_empty() => "all lines".to_owned(),
        Some(Ok(a)) => a.scope,
        _ => String::new(),
    };
    view! {
        <section class="log-context" role="dialog" aria-label="Context" data-testid="log-context">
            <header class="log-context-head">
                <h2>"Context"</h2>
                <span class="hint">{scope}</span>
                <button type="button" class="log-context-close" on:click=move |_| on_close.run(())>"Close"</button>
            </header>
            {move || match around.get() {
                None => view! { <p class="loading">"Loading the lines around…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(a)) => {
                    let range = range.clone();
                    view! {
                        <div class="context-after"><LogList lines=a.after range=range.clone() /></div>
                        <div class="context-line"><LogList lines=this.clone() range=range.clone() /></div>
                        <div class="context-before"><LogList lines=a.before range=range /></div>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

fn load(id: String, into: RwSignal<Option<Result<Around, String>>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let path = format!(
            "/api/v1/logs/lines/{}/context?before={AROUND}&after={AROUND}",
            crate::components::form::encode(&id)
        );
        let answer = crate::api_client::call::<Around>("GET", &path, None::<&()>)
            .await
            .map_err(|e| e.to_string());
        into.try_set(Some(answer));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, into);
}
