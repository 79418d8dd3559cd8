//! One rule of the editor: its fields, labels and annotations, lint warnings.

use leptos::prelude::*;
use serde_json::Value;

use super::draft::{GroupDraft, RuleDraft};

#[component]
pub(super) fn RuleCard(
    i: usize,
    draft: RwSignal<GroupDraft>,
    issues: RwSignal<Value>,
) -> impl IntoView {
    let get = move |f: fn(&RuleDraft) -> String| {
        move || draft.with(|d| d.rules.get(i).map(f).unwrap_or_default())
    };
    let set = move |f: fn(&mut RuleDraft, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            draft.update(|d| {
                if let Some(r) = d.rules.get_mut(i) {
                    f(r, v)
                }
            })
        }
    };
    let prefix = format!("rules[{i}].");
    let errors_for = {
        let prefix = prefix.clone();
        move |suffix: &'static str| {
            let field = format!("{prefix}{suffix}");
            issues.with(|v| {
                v["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["field"] == field.as_str())
                    .cloned()
            })
        }
    };
    let expr_error = {
        let errors_for = errors_for.clone();
        move || errors_for("expr")
    };
    let simple_error = move |suffix: &'static str| {
        let errors_for = errors_for.clone();
        move || {
            errors_for(suffix).map(|e| view! { <span class="field-error" data-field=suffix>{e["message"].as_str().unwrap_or("").to_owned()}</span> })
        }
    };
    let warnings = move || {
        issues.with(|v| {
            v["warnings"].as_array().into_iter().flatten().filter(|w| w["rule_index"] == i).map(|w| {
                view! { <li class="lint-warning" data-check=w["check"].as_str().unwrap_or("").to_owned()>{w["message"].as_str().unwrap_or("").to_owned()}</li> }
            }).collect_view()
        })
    };
    let is_alert = move || draft.with(|d| d.rules.get(i).is_some_and(|r| r.alert));
    let label_prefix = prefix.clone();
    view! {
        <fieldset class="rule-card card" data-index=i>
            <div class="inline-form form">
                <div class="field">
                    <label>"Type"</label>
                    <select class="rule-kind" on:change=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(r) = d.rules.get_mut(i) { r.alert = v == "alert" }) }>
                        <option value="alert" selected=is_alert>"Alerting"</option>
                        <option value="record" selected=move || !is_alert()>"Recording"</option>
                    </select>
                </div>
                <div class="field">
                    <label>{move || if is_alert() { "Alert name" } else { "Record (metric name)" }}</label>
                    <input class="rule-name" prop:value=get(|r| r.name.clone()) on:input=set(|r, v| r.name = v) />
                    {simple_error("alert")}
                    {simple_error("record")}
                </div>
                <div class="field" class:hidden=move || !is_alert()>
                    <label>"For"</label>
                    <input class="rule-for" placeholder="5m" prop:value=get(|r| r.for_.clone()) on:input=set(|r, v| r.for_ = v) />
                    {simple_error("for")}
                </div>
                <div class="field" class:hidden=move || !is_alert()>
                    <label>"Keep firing for"</label>
                    <input class="rule-keep" prop:value=get(|r| r.keep_firing_for.clone()) on:input=set(|r, v| r.keep_firing_for = v) />
                    {simple_error("keep_firing_for")}
                </div>
                <button type="button" class="danger remove-rule" on:click=move |_| {
                    if window().confirm_with_message("Remove this rule from the group?").unwrap_or(false) {
                        draft.update(|d| { if i < d.rules.len() { d.rules.remove(i); } })
                    }
                }>"Remove rule"</button>
            </div>
            <div class="field">
                <label>"PromQL expression"</label>
                <textarea class="rule-expr" rows="2" spellcheck="false" prop:value=get(|r| r.expr.clone()) on:input=set(|r, v| r.expr = v)></textarea>
                {move || expr_error().map(|e| {
                    let line = e["expr_line"].as_u64().unwrap_or(1) as usize;
                    let column = e["expr_column"].as_u64().unwrap_or(1) as usize;
                    let expr = draft.with(|d| d.rules.get(i).map(|r| r.expr.clone()).unwrap_or_default());
                    let text = expr.lines().nth(line - 1).unwrap_or("").to_owned();
                    let chars: Vec<char> = text.chars().collect();
                    let at = (column - 1).min(chars.len());
                    let before: String = chars[..at].iter().collect();
                    let mark: String = chars.get(at).map(|c| c.to_string()).unwrap_or_else(|| " ".into());
                    let after: String = chars.get(at + 1..).map(|s| s.iter().collect()).unwrap_or_default();
                    view! {
                        <div class="expr-error" data-line=line data-column=column role="alert">
                            <pre class="expr-marker"><span>{before}</span><mark>{mark}</mark><span>{after}</span></pre>
                            <span class="field-error">{e["message"].as_str().unwrap_or("").to_owned()}</span>
                        </div>
                    }
                })}
            </div>
            <Pairs title="Labels" kind="labels" i draft prefix=label_prefix.clone() issues />
            <div class:hidden=move || !is_alert()>
                <Pairs title="Annotations" kind="annotations" i draft prefix=label_prefix issues />
            </div>
            <ul class="lint-warnings">{warnings}</ul>
        </fieldset>
    }
}

/// Key/value rows for labels or annotations of rule `i`.
#[component]
pub(super) fn Pairs(
    title: &'static str,
    kind: &'static str,
    i: usize,
    draft: RwSignal<GroupDraft>,
    prefix: String,
    issues: RwSignal<Value>,
) -> impl IntoView {
    let rows = move || {
        draft.with(|d| {
            d.rules
                .get(i)
                .map(|r| {
                    if kind == "labels" {
                        r.labels.len()
                    } else {
                        r.annotations.len()
                    }
                })
                .unwrap_or(0)
        })
    };
    let edit = move |row: usize, key: bool, value: String| {
        draft.update(|d| {
            if let Some(r) = d.rules.get_mut(i) {
                let list = if kind == "labels" {
                    &mut r.labels
                } else {
                    &mut r.annotations
                };
                if let Some(p) = list.get_mut(row) {
                    if key {
                        p.0 = value
                    } else {
                        p.1 = value
                    }
                }
            }
        })
    };
    let read = move |row: usize, key: bool| {
        draft.with(|d| {
            d.rules
                .get(i)
                .and_then(|r| {
                    (if kind == "labels" {
                        &r.labels
                    } else {
                        &r.annotations
                    })
                    .get(row)
                })
                .map(|p| if key { p.0.clone() } else { p.1.clone() })
                .unwrap_or_default()
        })
    };
    view! {
        <div class=format!("pairs {kind}")>
            <label>{title}</label>
            <For each=move || 0..rows() key=|r| *r let:row>
                {
                    let prefix = prefix.clone();
                    view! {
                        <div class="pair-row">
                            <input class="pair-key" placeholder="name" prop:value=move || read(row, true) on:input=move |ev| edit(row, true, event_target_value(&ev)) />
                            <input class="pair-value" placeholder="value or {{ template }}" prop:value=move || read(row, false) on:input=move |ev| edit(row, false, event_target_value(&ev)) />
                            <button type="button" class="link" on:click=move |_| draft.update(|d| if let Some(r) = d.rules.get_mut(i) { let list = if kind == "labels" { &mut r.labels } else { &mut r.annotations }; if row < list.len() { list.remove(row); } })>"remove"</button>
                            {move || {
                                let key = read(row, true);
                                let field = format!("{prefix}{kind}.{key}");
                                issues.with(|v| v["errors"].as_array().into_iter().flatten().find(|e| e["field"] == field.as_str()).map(|e| view! { <span class="field-error">{e["message"].as_str().unwrap_or("").to_owned()}</span> }))
                            }}
                        </div>
                    }
                }
            </For>
            <button type="button" class="link add-pair" on:click=move |_| draft.update(|d| if let Some(r) = d.rules.get_mut(i) { if kind == "labels" { r.labels.push(Default::default()) } else { r.annotations.push(Default::default()) } })>{format!("add {}", &kind[..kind.len() - 1])}</button>
        </div>
    }
}
