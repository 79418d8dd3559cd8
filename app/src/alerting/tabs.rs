//! The editor's YAML and history tabs.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};

use super::draft::GroupDraft;
use super::group_url;
use crate::api_client::call;
use crate::components::diff::line_diff;
use wire::rules::GroupSpec;

#[component]
pub(super) fn YamlTab(yaml: RwSignal<String>, draft: RwSignal<GroupDraft>) -> impl IntoView {
    // The server parses the YAML (the browser bundle carries no YAML parser).
    let edited = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let apply = move |_| {
        let Some(text) = edited.get_untracked() else {
            return;
        };
        let body = json!({ "yaml": text });
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/rules/validate", Some(&body)).await {
                Ok(v) if v["valid"] == true => {
                    let groups: Vec<GroupSpec> =
                        serde_json::from_value(v["groups"].clone()).unwrap_or_default();
                    match (groups.len() == 1).then(|| GroupDraft::from_spec(&groups[0])) {
                        Some(g) => {
                            draft.set(g);
                            edited.set(None);
                            problem.set(None);
                        }
                        None => problem.set(Some("the YAML must hold exactly one group".into())),
                    }
                }
                Ok(v) => problem.set(Some(
                    v["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| {
                            format!(
                                "line {}: {}",
                                e["line"],
                                e["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                Err(e) => problem.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <textarea id="yaml-text" rows="20" spellcheck="false" prop:value=move || edited.get().unwrap_or_else(|| yaml.get()) on:input=move |ev| edited.set(Some(event_target_value(&ev)))></textarea>
        <button type="button" id="apply-yaml" on:click=apply>"Apply YAML"</button>
        {move || problem.get().map(|p| view! { <p class="form-error" id="yaml-error">{p}</p> })}
    }
}

#[component]
pub(super) fn HistoryTab(
    namespace: String,
    name: String,
    current: RwSignal<String>,
    version: RwSignal<Option<i64>>,
    load: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let versions = RwSignal::new(Vec::<Value>::new());
    let selected = RwSignal::new(None::<(i64, String)>);
    let failure = RwSignal::new(None::<String>);
    let list_url = group_url(&namespace, &name, "/history");
    Effect::new(move |_| {
        version.track();
        let url = list_url.clone();
        spawn_local(async move {
            if let Ok(v) = call::<Vec<Value>>("GET", &url, None::<&()>).await {
                versions.set(v);
            }
        });
    });
    let (show_ns, show_name) = (namespace.clone(), name.clone());
    let show = move |v: i64| {
        let url = group_url(&show_ns, &show_name, &format!("/history/{v}"));
        spawn_local(async move {
            if let Ok(body) = call::<Value>("GET", &url, None::<&()>).await {
                selected.set(Some((v, body["yaml"].as_str().unwrap_or("").to_owned())));
            }
        });
    };
    let restore_name = name.clone();
    let restore = move |v: i64| {
        let n = restore_name.clone();
        let url = group_url(&namespace, &n, &format!("/restore/{v}"));
        let body = json!({ "version": version.get_untracked() });
        spawn_local(async move {
            match call::<Value>("POST", &url, Some(&body)).await {
                Ok(_) => {
                    selected.set(None);
                    load(n);
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    view! {
        <div id="history">
            <table class="grid">
                <thead><tr><th>"Version"</th><th>"Who"</th><th>"When"</th><th>"Message"</th><th></th></tr></thead>
                <tbody>
                    {move || versions.get().into_iter().map(|v| {
                        let n = v["version"].as_i64().unwrap_or(0);
                        let show = show.clone();
                        view! {
                            <tr class="history-row" data-version=n>
                                <td>{n}{if v["deleted"] == true { " (deleted)" } else { "" }}</td>
                                <td>{v["author"].as_str().unwrap_or("").to_owned()}</td>
                                <td>{v["at"].as_str().unwrap_or("").to_owned()}</td>
                                <td>{v["message"].as_str().unwrap_or("").to_owned()}</td>
                                <td>{(v["deleted"] != true).then(|| view! { <button type="button" class="show-version" on:click=move |_| show(n)>"Compare"</button> })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || failure.get().map(|f| view! { <p class="form-error">{f}</p> })}
            {move || selected.get().map(|(v, old)| {
                let restore = restore.clone();
                let diff = line_diff(&old, &current.get());
                view! {
                    <div class="card diff" id="version-diff">
                        <h3>{format!("Version {v} → current")}</h3>
                        <pre>{diff.into_iter().map(|(tag, line)| view! { <div class=format!("diff-{tag}")>{format!("{} {line}", match tag { "del" => "-", "add" => "+", _ => " " })}</div> }).collect_view()}</pre>
                        <button type="button" class="primary" id="restore-version" on:click=move |_| restore(v)>{format!("Restore version {v}")}</button>
                    </div>
                }
            })}
        </div>
    }
}
