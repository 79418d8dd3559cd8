//! Uploading a Prometheus rule file into a namespace.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::api_client::ApiFailure;
use crate::components::form::encode;

/// Upload a Prometheus rule file into a namespace (by default named after the file): a dry
/// run first, saying which rules it adds, changes and removes, then the import.
#[component]
pub(super) fn ImportRules() -> impl IntoView {
    let report = RwSignal::new(None::<Result<Value, ApiFailure>>);
    let pending = RwSignal::new(None::<String>);
    let namespace = RwSignal::new(String::from("default"));
    let send = move |yaml: String, dry_run: bool| {
        spawn_local(async move {
            let path = format!(
                "/api/v1/rules/import?dry_run={dry_run}&namespace={}",
                encode(&namespace.get_untracked())
            );
            let result = raw_post(&path, yaml).await;
            let done = !dry_run && result.is_ok();
            report.set(Some(result));
            if done {
                pending.set(None);
                let _ = window().location().reload();
            }
        });
    };
    view! {
        <label class="button" for="rule-file">"Import file…"</label>
        <input
            id="rule-file"
            type="file"
            accept=".yml,.yaml"
            class="visually-hidden"
            on:change=move |ev| {
                #[cfg(feature = "hydrate")]
                {
                    let input: web_sys::HtmlInputElement = event_target(&ev);
                    if let Some(file) = input.files().and_then(|f| f.get(0)) {
                        namespace.set(super::namespace_of_file(&file.name()));
                        spawn_local(async move {
                            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|v| v.as_string()).unwrap_or_default();
                            pending.set(Some(text.clone()));
                            send(text, true);
                        });
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = ev;
            }
        />
        {move || pending.get().is_some().then(|| view! {
            <div class="field import-namespace">
                <label for="import-namespace">"Into namespace"</label>
                <input id="import-namespace" prop:value=move || namespace.get()
                    on:change=move |ev| {
                        namespace.set(event_target_value(&ev));
                        if let Some(y) = pending.get_untracked() { send(y, true) }
                    } />
            </div>
        })}
        {move || report.get().map(|r| match r {
            Ok(v) => {
                let dry_run = v["dry_run"] == true;
                let counts = &v["rules"];
                let summary = format!(
                    "{} rules added, {} changed, {} removed, {} unchanged",
                    counts["added"], counts["changed"], counts["removed"], counts["unchanged"]
                );
                let untouched: Vec<String> = v["not_in_file"].as_array().into_iter().flatten().filter_map(|n| n.as_str().map(str::to_owned)).collect();
                view! {
                    <div class="import-report card" id="rule-import-report">
                        <strong>{if dry_run { "Import preview" } else { "Imported" }}</strong>
                        <p id="rule-import-summary">{summary}</p>
                        <ul>
                            {v["groups"].as_array().cloned().unwrap_or_default().into_iter().map(|g| {
                                let rules: Vec<Value> = g["rules"].as_array().cloned().unwrap_or_default();
                                view! {
                                    <li class="import-group" data-group=g["name"].as_str().unwrap_or("").to_owned()>
                                        {format!("{}: {}", g["name"].as_str().unwrap_or(""), g["status"].as_str().unwrap_or(""))}
                                        <ul>
                                            {rules.into_iter().filter(|r| r["status"] != "unchanged").map(|r| {
                                                let status = r["status"].as_str().unwrap_or("").to_owned();
                                                view! {
                                                    <li class=format!("import-rule rule-{status}") data-rule=r["name"].as_str().unwrap_or("").to_owned()>
                                                        {format!("{} {} ({})", status, r["name"].as_str().unwrap_or(""), r["type"].as_str().unwrap_or(""))}
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {(!untouched.is_empty()).then(|| view! {
                            <p class="muted" id="rule-import-untouched">{format!("Not in the file, left as they are: {}", untouched.join(", "))}</p>
                        })}
                        {dry_run.then(|| view! {
                            <button type="button" class="primary" id="rule-import-confirm" on:click=move |_| { if let Some(y) = pending.get_untracked() { send(y, false) } }>"Import"</button>
                        })}
                    </div>
                }.into_any()
            }
            Err(e) => view! {
                <div class="form-error card" id="rule-import-error">
                    {e.field.clone().map(|f| format!("{f}: ")).unwrap_or_default()}{e.message.clone()}
                </div>
            }.into_any(),
        })}
    }
}

/// POSTs a raw YAML body.
async fn raw_post(path: &str, body: String) -> Result<Value, ApiFailure> {
    crate::api_client::call_raw("POST", path, "application/yaml", body).await
}
