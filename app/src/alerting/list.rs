//! `/alerting/rules`: groups by namespace, search, severity and label filters; each rule
//! with its health, state and last error from evaluation (`/api/v1/rules`).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::Value;

use super::import::ImportRules;
use super::{editor_href, severity_of, state_history_href};
use crate::api_client::{call, ApiFailure};
use crate::components::form::encode;
use crate::dto::Role;
use crate::session;

#[component]
pub fn RulesList() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let groups = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    Effect::new(move |_| {
        spawn_local(async move {
            groups.set(Some(
                call::<Vec<Value>>("GET", "/api/v1/rule-groups", None::<&()>).await,
            ));
        });
    });
    // What evaluation found, per group (namespace, name), rules in the group's order.
    let status = RwSignal::new(HashMap::<(String, String), Vec<Value>>::new());
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(answer) = call::<Value>("GET", "/api/v1/rules", None::<&()>).await {
                status.set(evaluation_by_group(&answer["data"]));
            }
        });
    });
    let search = RwSignal::new(String::new());
    let severity = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let matches = move |rule: &Value| {
        let q = search.get().to_lowercase();
        let name = rule
            .get("alert")
            .or(rule.get("record"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let expr = rule["expr"].as_str().unwrap_or("");
        let sev = severity.get();
        let lbl = label.get();
        (q.is_empty() || name.to_lowercase().contains(&q) || expr.to_lowercase().contains(&q))
            && (sev.is_empty() || severity_of(rule) == sev)
            && (lbl.trim().is_empty() || {
                let (k, v) = lbl.split_once('=').unwrap_or((lbl.as_str(), ""));
                rule["labels"][k.trim()]
                    .as_str()
                    .is_some_and(|have| v.trim().is_empty() || have == v.trim())
            })
    };
    view! {
        <Title text="Alert rules" />
        <h1>"Alert rules"</h1>
        <div class="toolbar">
            <input
                id="rule-search"
                placeholder="Search name or expression"
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            <select id="rule-severity" on:change=move |ev| severity.set(event_target_value(&ev))>
                <option value="">"Any severity"</option>
                <option value="critical">"critical"</option>
                <option value="warning">"warning"</option>
                <option value="info">"info"</option>
            </select>
            <input id="rule-label" placeholder="label=value" on:input=move |ev| label.set(event_target_value(&ev)) />
            {can_edit.then(|| view! { <a class="button primary" href="/alerting/rules/edit" id="new-group">"New group"</a> })}
            <a class="button" href="/api/v1/rules/export" download="keiko-rules.yml">"Export YAML"</a>
            {can_edit.then(|| view! { <ImportRules /> })}
        </div>
        <div id="rule-groups">
            {move || match groups.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p>"No rule groups yet. Create one or import a Prometheus rule file."</p> }.into_any()
                }
                Some(Ok(list)) => {
                    // Groups arrive ordered by namespace: one section per namespace.
                    let mut sections: Vec<(String, Vec<Value>)> = Vec::new();
                    for g in list {
                        let ns = g["namespace"].as_str().unwrap_or("default").to_owned();
                        match sections.last_mut() {
                            Some((last, groups)) if *last == ns => groups.push(g),
                            _ => sections.push((ns, vec![g])),
                        }
                    }
                    sections
                        .into_iter()
                        .map(|(ns, groups)| {
                            let export = format!("/api/v1/rules/export?namespace={}", encode(&ns));
                            view! {
                                <section class="rule-namespace" data-namespace=ns.clone()>
                                    <h2 class="namespace-title">
                                        <span class="muted">"Namespace "</span>{ns.clone()}
                                        <a class="button small" href=export download=format!("{ns}.rules.yml")>"Export"</a>
                                    </h2>
                                    {groups.into_iter().map(|g| group_card(&ns, g, matches, status)).collect_view()}
                                </section>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </div>
    }
}

/// `/api/v1/rules` data as each group's rules in order.
fn evaluation_by_group(data: &Value) -> HashMap<(String, String), Vec<Value>> {
    data["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            let key = (
                g["file"].as_str().unwrap_or_default().to_owned(),
                g["name"].as_str().unwrap_or_default().to_owned(),
            );
            (key, g["rules"].as_array().cloned().unwrap_or_default())
        })
        .collect()
}

/// A rule's health, state and last error as evaluation left them.
fn evaluation_cells(
    status: RwSignal<HashMap<(String, String), Vec<Value>>>,
    key: (String, String),
    index: usize,
    name: String,
) -> impl IntoView {
    move || {
        let s = status.with(|m| {
            m.get(&key)
                .and_then(|rules| rules.get(index))
                .filter(|r| r["name"] == name.as_str())
                .cloned()
        });
        let s = s.unwrap_or(Value::Null);
        let health = s["health"].as_str().unwrap_or("unknown").to_owned();
        let state = s["state"].as_str().unwrap_or("").to_owned();
        let error = s["lastError"].as_str().unwrap_or("").to_owned();
        view! {
            <td class="rule-health"><span class=format!("badge health-{health}")>{health.clone()}</span></td>
            <td class="rule-state">{(!state.is_empty()).then(|| view! { <span class=format!("badge state-{state}")>{state.clone()}</span> })}</td>
            <td class="rule-error">{(!error.is_empty()).then(|| view! { <span class="test-failed">{error.clone()}</span> })}</td>
        }
    }
}

/// One group of the list, its rules filtered by `matches`.
fn group_card(
    ns: &str,
    g: Value,
    matches: impl Fn(&Value) -> bool + Copy + 'static,
    status: RwSignal<HashMap<(String, String), Vec<Value>>>,
) -> impl IntoView {
    let name = g["name"].as_str().unwrap_or("").to_owned();
    let rules: Vec<Value> = g["rules"].as_array().cloned().unwrap_or_default();
    let href = editor_href(ns, &name);
    let name_of_group = name.clone();
    let warnings = g["warnings"].as_array().map(|w| w.len()).unwrap_or(0);
    view! {
        <section class="rule-group card" data-group=name.clone() data-namespace=ns.to_owned()>
            <h3>
                <a href=href>{name.clone()}</a>
                <span class="muted">{format!(" · {ns} · version {}", g["version"])}</span>
                {(warnings > 0).then(|| view! { <span class="lint-badge">{format!("{warnings} warnings")}</span> })}
            </h3>
            <table class="grid">
                <tbody>
                    {rules
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let shown = matches(&r);
                            let name = r.get("alert").or(r.get("record")).and_then(Value::as_str).unwrap_or("").to_owned();
                            let key = name.clone();
                            let key_name = name.clone();
                            let history = r.get("alert").is_some().then(|| state_history_href(ns, &name_of_group, &name));
                            view! {
                                <tr class="rule-row" data-rule=key class:hidden=!shown>
                                    <td>{if r.get("alert").is_some() { "alert" } else { "record" }}</td>
                                    <td><strong>{name}</strong></td>
                                    <td><code>{r["expr"].as_str().unwrap_or("").to_owned()}</code></td>
                                    <td>{severity_of(&r)}</td>
                                    {evaluation_cells(status, (ns.to_owned(), name_of_group.clone()), i, key_name.clone())}
                                    <td>{history.map(|h| view! { <a class="history-link" href=h>"State history"</a> })}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
