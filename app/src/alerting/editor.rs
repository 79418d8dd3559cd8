//! `/alerting/rules/edit`: the rule group editor.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::{json, Value};

use super::backtest_tab::BacktestTab;
use super::draft::{GroupDraft, RuleDraft, StoredGroup};
use super::rule_card::RuleCard;
use super::state_history::StateHistoryTab;
use super::tabs::{HistoryTab, YamlTab};
use super::tests_tab::TestsTab;
use super::{editor_href, group_url};
use crate::api_client::{call, ApiFailure};
use crate::dto::Role;
use crate::session;

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Form,
    Yaml,
    History,
    StateHistory,
    Backtest,
    Tests,
}

#[component]
pub fn RuleEditor() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let query = use_query_map();
    let existing = query.with_untracked(|q| q.get("group"));
    let namespace = RwSignal::new(
        query
            .with_untracked(|q| q.get("namespace"))
            .unwrap_or_else(|| "default".into()),
    );
    let draft = RwSignal::new(GroupDraft {
        rules: vec![RuleDraft {
            alert: true,
            ..Default::default()
        }],
        ..Default::default()
    });
    let version = RwSignal::new(None::<i64>);
    let loaded = RwSignal::new(existing.is_none());
    let failure = RwSignal::new(None::<ApiFailure>);
    let issues = RwSignal::new(Value::Null);
    let status = RwSignal::new(String::new());
    let conflict = RwSignal::new(None::<Value>);
    // `?tab=` opens another tab first (links to a rule's state history use it).
    let tab = RwSignal::new(match query.with_untracked(|q| q.get("tab")).as_deref() {
        Some("yaml") => Tab::Yaml,
        Some("history") => Tab::History,
        Some("state-history") => Tab::StateHistory,
        Some("backtest") => Tab::Backtest,
        Some("tests") => Tab::Tests,
        _ => Tab::Form,
    });
    let yaml = RwSignal::new(String::new());
    let saved_name = RwSignal::new(existing.clone());

    let load = move |name: String| {
        spawn_local(async move {
            match call::<StoredGroup>(
                "GET",
                &group_url(&namespace.get_untracked(), &name, ""),
                None::<&()>,
            )
            .await
            {
                Ok(g) => {
                    draft.set(GroupDraft::from_spec(&g.group));
                    version.set(Some(g.version));
                    conflict.set(None);
                    loaded.set(true);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    if let Some(name) = existing.clone() {
        Effect::new(move |_| load(name.clone()));
    }

    // Live validation: every change is checked; an answer for an older draft is dropped.
    let seq = StoredValue::new(0u64);
    Effect::new(move |_| {
        let body = json!({ "group": draft.with(GroupDraft::to_spec) });
        if !loaded.get() {
            return;
        }
        let n = seq.get_value() + 1;
        seq.set_value(n);
        spawn_local(async move {
            if let Ok(v) = call::<Value>("POST", "/api/v1/rules/validate", Some(&body)).await {
                if seq.get_value() == n {
                    if let Some(y) = v["yaml"].as_str() {
                        yaml.set(y.to_owned());
                    }
                    issues.set(v);
                }
            }
        });
    });

    let navigate = use_navigate();
    let change_message = RwSignal::new(String::new());
    let save = move || {
        let mut body =
            serde_json::to_value(draft.with_untracked(GroupDraft::to_spec)).unwrap_or_default();
        let current = version.get_untracked();
        let name = saved_name.get_untracked();
        if let Some(v) = current {
            body["version"] = json!(v);
        }
        let ns = namespace.get_untracked();
        body["namespace"] = json!(ns);
        let note = change_message.get_untracked();
        if !note.trim().is_empty() {
            body["message"] = json!(note.trim());
        }
        let navigate = navigate.clone();
        status.set("Saving…".into());
        spawn_local(async move {
            let result = match &name {
                Some(n) => call::<Value>("PUT", &group_url(&ns, n, ""), Some(&body)).await,
                None => call::<Value>("POST", "/api/v1/rule-groups", Some(&body)).await,
            };
            match result {
                Ok(g) => {
                    failure.set(None);
                    conflict.set(None);
                    change_message.set(String::new());
                    version.set(g["version"].as_i64());
                    status.set(format!("Saved version {}", g["version"]));
                    if name.is_none() {
                        let n = g["name"].as_str().unwrap_or_default().to_owned();
                        saved_name.set(Some(n.clone()));
                        navigate(&editor_href(&ns, &n), Default::default());
                    }
                }
                Err(e) if e.status == 409 => {
                    status.set(String::new());
                    if let Some(n) = &name {
                        let theirs = call::<Value>("GET", &group_url(&ns, n, ""), None::<&()>)
                            .await
                            .ok();
                        conflict.set(theirs);
                    }
                    failure.set(Some(e));
                }
                Err(e) => {
                    status.set(String::new());
                    // The server's refusal goes beside the rule and field it names (the
                    // same place live validation uses), and the page scrolls to it.
                    if let Some(field) = e.field.clone() {
                        issues.update(|v| {
                            let entry = json!({ "field": field, "message": e.message });
                            match v["errors"].as_array_mut() {
                                Some(errors) => errors.insert(0, entry),
                                None => v["errors"] = json!([entry]),
                            }
                        });
                        set_timeout(
                            move || {
                                let target = document()
                                    .query_selector(&format!(
                                        ".field-error[data-field=\"{field}\"]"
                                    ))
                                    .ok()
                                    .flatten()
                                    .or_else(|| {
                                        document().query_selector(".field-error").ok().flatten()
                                    });
                                if let Some(el) = target {
                                    el.scroll_into_view();
                                }
                            },
                            std::time::Duration::from_millis(50),
                        );
                    }
                    failure.set(Some(e));
                }
            }
        });
    };
    let save_key = save.clone();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
            ev.prevent_default();
            if can_edit {
                save_key();
            }
        }
    };
    let delete_group = move |_| {
        let Some(name) = saved_name.get_untracked() else {
            return;
        };
        if !window()
            .confirm_with_message(&format!("Delete the rule group {name}? Its history stays."))
            .unwrap_or(false)
        {
            return;
        }
        let v = version.get_untracked().unwrap_or(0);
        spawn_local(async move {
            match call::<Value>(
                "DELETE",
                &format!(
                    "{}&version={v}",
                    group_url(&namespace.get_untracked(), &name, "")
                ),
                None::<&()>,
            )
            .await
            {
                Ok(_) => {
                    let _ = window().location().set_href("/alerting/rules");
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let field_issue = move |field: String| {
        move || {
            issues.with(|v| {
                v["errors"].as_array().and_then(|errs| errs.iter().find(|e| e["field"] == field.as_str())).map(|e| {
                    view! { <span class="field-error" data-field=field.clone()>{e["message"].as_str().unwrap_or("").to_owned()}</span> }
                })
            })
        }
    };
    let save_button = save.clone();

    view! {
        <Title text="Edit rules" />
        <div class="rule-editor" on:keydown=on_key>
            <h1>{move || saved_name.get().map(|n| format!("Rule group {n}")).unwrap_or_else(|| "New rule group".into())}</h1>
            <div class="tabs" role="tablist">
                <button type="button" role="tab" id="tab-form" class:active=move || tab.get() == Tab::Form on:click=move |_| tab.set(Tab::Form)>"Rules"</button>
                <button type="button" role="tab" id="tab-yaml" class:active=move || tab.get() == Tab::Yaml on:click=move |_| tab.set(Tab::Yaml)>"YAML"</button>
                <button type="button" role="tab" id="tab-history" class:active=move || tab.get() == Tab::History on:click=move |_| tab.set(Tab::History)>"History"</button>
                <button type="button" role="tab" id="tab-state-history" class:active=move || tab.get() == Tab::StateHistory on:click=move |_| tab.set(Tab::StateHistory)>"State history"</button>
                <button type="button" role="tab" id="tab-backtest" class:active=move || tab.get() == Tab::Backtest on:click=move |_| tab.set(Tab::Backtest)>"Backtest"</button>
                <button type="button" role="tab" id="tab-tests" class:active=move || tab.get() == Tab::Tests on:click=move |_| tab.set(Tab::Tests)>"Tests"</button>
            </div>
            {move || failure.get().map(|f| view! {
                <p class="form-error" id="save-error" role="alert">
                    {if f.status == 400 || f.status == 422 { format!("Not saved: {}", f.message) } else { f.message }}
                </p>
            })}
            {move || conflict.get().map(|theirs| {
                let their_yaml = theirs["yaml"].as_str().unwrap_or("").to_owned();
                let their_version = theirs["version"].as_i64();
                view! {
                    <div class="conflict card" id="conflict" role="alert">
                        <h2>{format!("Someone saved version {} while you edited", theirs["version"])}</h2>
                        <div class="side-by-side">
                            <div><h3>"Theirs (saved)"</h3><pre class="yaml" id="conflict-theirs">{their_yaml}</pre></div>
                            <div><h3>"Yours (not saved)"</h3><pre class="yaml" id="conflict-yours">{move || yaml.get()}</pre></div>
                        </div>
                        <button type="button" id="load-theirs" on:click=move |_| { if let Some(n) = saved_name.get_untracked() { load(n) } }>"Discard mine, load theirs"</button>
                        <button type="button" id="keep-mine" class="primary" on:click=move |_| { version.set(their_version); conflict.set(None); failure.set(None); }>"Keep mine (save over theirs next)"</button>
                    </div>
                }
            })}
            <div class="group-fields" class:hidden=move || tab.get() != Tab::Form>
                <div class="inline-form form">
                    <div class="field">
                        <label for="group-namespace">"Namespace"</label>
                        <input id="group-namespace" prop:value=move || namespace.get() readonly=move || saved_name.get().is_some()
                            on:input=move |ev| namespace.set(event_target_value(&ev)) />
                        {field_issue("namespace".into())}
                    </div>
                    <div class="field">
                        <label for="group-name">"Group name"</label>
                        <input id="group-name" prop:value=move || draft.with(|d| d.name.clone()) readonly=move || saved_name.get().is_some()
                            on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev)) />
                        {field_issue("name".into())}
                    </div>
                    <div class="field">
                        <label for="group-interval">"Interval"</label>
                        <input id="group-interval" placeholder="1m" prop:value=move || draft.with(|d| d.interval.clone())
                            on:input=move |ev| draft.update(|d| d.interval = event_target_value(&ev)) />
                        {field_issue("interval".into())}
                    </div>
                    <div class="field">
                        <label for="group-limit">"Limit"</label>
                        <input id="group-limit" placeholder="0" prop:value=move || draft.with(|d| d.limit.clone())
                            on:input=move |ev| draft.update(|d| d.limit = event_target_value(&ev)) />
                    </div>
                </div>
                <For each=move || 0..draft.with(|d| d.rules.len()) key=|i| *i let:i>
                    <RuleCard i draft issues />
                </For>
                <button type="button" id="add-rule" on:click=move |_| draft.update(|d| d.rules.push(RuleDraft { alert: true, ..Default::default() }))>"Add rule"</button>
            </div>
            <div class:hidden=move || tab.get() != Tab::Yaml>
                <p class="muted">"Exactly what export writes for this group. Edit and apply; it is validated the same way."</p>
                <YamlTab yaml draft />
            </div>
            {move || (tab.get() == Tab::History).then(|| saved_name.get().map(|n| view! { <HistoryTab namespace=namespace.get_untracked() name=n current=yaml version load /> }))}
            {move || (tab.get() == Tab::StateHistory).then(|| saved_name.get().map(|n| view! { <StateHistoryTab namespace=namespace.get_untracked() name=n draft /> }))}
            // Kept mounted once opened, so switching back to the rules keeps inputs and results.
            <div class:hidden=move || tab.get() != Tab::Backtest>{move || loaded.get().then(|| view! { <BacktestTab draft /> })}</div>
            <div class:hidden=move || tab.get() != Tab::Tests>{move || loaded.get().then(|| view! { <TestsTab draft /> })}</div>
            <div class="save-bar">
                {can_edit.then(|| view! {
                    <label class="save-message">"Change note "
                        <input type="text" id="save-message" maxlength="500" placeholder="What changed and why (optional)"
                            prop:value=move || change_message.get()
                            on:input=move |ev| change_message.set(event_target_value(&ev)) />
                    </label>
                    <button type="button" class="primary" id="save-group" on:click={let s = save_button.clone(); move |_| s()}>"Save (Ctrl+S)"</button>
                    {move || saved_name.get().is_some().then(|| view! { <button type="button" class="danger" id="delete-group" on:click=delete_group>"Delete group"</button> })}
                })}
                <span id="save-status" role="status">{move || status.get()}</span>
            </div>
        </div>
    }
}
