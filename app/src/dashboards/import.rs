//! Importing a dashboard (native or Grafana JSON) with the report of what was converted.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde_json::Value;

use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, form_error};

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ReportEntry {
    kind: String,
    title: String,
    source_type: String,
    outcome: String,
    notes: Vec<String>,
}

#[component]
pub(super) fn ImportDashboard() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let report = RwSignal::new(None::<(String, Vec<ReportEntry>, Value)>);
    let overwrite = RwSignal::new(false);
    let import = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        report.set(None);
        let parsed: Result<Value, _> = serde_json::from_str(&text.get_untracked());
        let body = match parsed {
            Ok(v) => v,
            Err(e) => {
                failure.set(Some(ApiFailure {
                    status: 400,
                    code: "invalid".into(),
                    message: format!("not JSON: {e}"),
                    field: Some("dashboard".into()),
                }));
                return;
            }
        };
        let path = if overwrite.get_untracked() {
            "/api/v1/dashboards/import?overwrite=true"
        } else {
            "/api/v1/dashboards/import"
        };
        spawn_local(async move {
            match call::<Value>("POST", path, Some(&body)).await {
                Ok(v) => {
                    failure.set(None);
                    let entries: Vec<ReportEntry> =
                        serde_json::from_value(v["report"].clone()).unwrap_or_default();
                    report.set(Some((
                        v["uid"].as_str().unwrap_or("").to_owned(),
                        entries,
                        v,
                    )));
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card" id="import-dashboard" on:submit=import>
            <h2>"Import"</h2>
            <p class="muted">"Paste Grafana dashboard JSON (any schema version, with or without the {\"dashboard\": …} wrapper) or a Keiko dashboard. The report lists what changed and what could not be converted."</p>
            <textarea id="import-json" rows="8" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="import-options">
                <label for="import-file">"Or choose a file: "</label>
                <input id="import-file" type="file" accept=".json,application/json"
                    on:change=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                spawn_local(async move {
                                    let read = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                                    text.set(read.ok().and_then(|v| v.as_string()).unwrap_or_default());
                                });
                            }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    } />
                <label>
                    <input type="checkbox" id="import-overwrite" prop:checked=move || overwrite.get()
                        on:change=move |ev| overwrite.set(event_target_checked(&ev)) />
                    " Replace a dashboard with the same uid (its versions stay in the history)"
                </label>
            </div>
            {field_error(failure, "dashboard")}
            {move || failure.get().and_then(|f| f.field.filter(|x| x != "dashboard").map(|x| view! { <p class="field-error" data-field=x.clone()>{format!("{x}: {}", f.message)}</p> }))}
            {form_error(failure)}
            <button type="submit" class="primary" id="import-button">"Import"</button>
            {move || report.get().map(|(uid, entries, answer)| view! {
                <div class="import-report" id="import-report" role="status">
                    <p id="import-summary">
                        {if answer["overwritten"] == true { "Imported over the existing dashboard: " } else { "Imported: " }}
                        {format!(
                            "{} converted, {} changed, {} dropped. ",
                            answer["summary"]["converted"], answer["summary"]["changed"], answer["summary"]["dropped"]
                        )}
                        <a href=format!("/d/{uid}") id="open-imported">"Open the dashboard"</a>
                    </p>
                    <table class="grid">
                        <thead><tr><th>"What"</th><th>"Grafana type"</th><th>"Outcome"</th><th>"Notes"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| {
                                let class = format!("outcome-{}", e.outcome);
                                view! {
                                    <tr class=class>
                                        <td>{format!("{}: {}", e.kind, e.title)}</td>
                                        <td>{e.source_type}</td>
                                        <td>{e.outcome.replace('_', " ")}</td>
                                        <td>{e.notes.join("; ")}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </form>
    }
}
