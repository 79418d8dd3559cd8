//! Alert rules pages: the list (search, severity and label filters) and the editor (a field
//! per part, live validation with the error's place marked, lint warnings beside each rule,
//! a YAML tab, history with diff and restore, conflict handling, Ctrl/Cmd+S). Both are
//! clients of `/api/v1/rule-groups` and `/api/v1/rules/validate`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::{json, Map, Value};

use crate::api_client::{call, ApiFailure};
use crate::dto::Role;
use crate::form::encode;
use crate::session;

/// One rule as the editor holds it (labels as ordered rows).
#[derive(Clone, Debug, Default, PartialEq)]
struct RuleDraft {
    alert: bool,
    name: String,
    expr: String,
    for_: String,
    keep_firing_for: String,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct GroupDraft {
    name: String,
    interval: String,
    limit: String,
    rules: Vec<RuleDraft>,
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

impl GroupDraft {
    fn from_json(v: &Value) -> GroupDraft {
        GroupDraft {
            name: text(v, "name"),
            interval: text(v, "interval"),
            limit: text(v, "limit"),
            rules: v["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| RuleDraft {
                    alert: r.get("record").is_none(),
                    name: if r.get("record").is_some() {
                        text(r, "record")
                    } else {
                        text(r, "alert")
                    },
                    expr: text(r, "expr"),
                    for_: text(r, "for"),
                    keep_firing_for: text(r, "keep_firing_for"),
                    labels: pairs(&r["labels"]),
                    annotations: pairs(&r["annotations"]),
                })
                .collect(),
        }
    }

    /// The group in the API's (and Prometheus's) shape.
    fn to_json(&self) -> Value {
        let map = |rows: &[(String, String)]| {
            Value::Object(
                rows.iter()
                    .filter(|(k, _)| !k.is_empty())
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<Map<_, _>>(),
            )
        };
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut o = Map::new();
                o.insert(
                    (if r.alert { "alert" } else { "record" }).into(),
                    json!(r.name),
                );
                o.insert("expr".into(), json!(r.expr));
                if r.alert && !r.for_.trim().is_empty() {
                    o.insert("for".into(), json!(r.for_.trim()));
                }
                if r.alert && !r.keep_firing_for.trim().is_empty() {
                    o.insert("keep_firing_for".into(), json!(r.keep_firing_for.trim()));
                }
                if !r.labels.is_empty() {
                    o.insert("labels".into(), map(&r.labels));
                }
                if r.alert && !r.annotations.is_empty() {
                    o.insert("annotations".into(), map(&r.annotations));
                }
                Value::Object(o)
            })
            .collect();
        let mut g = json!({ "name": self.name, "rules": rules });
        if !self.interval.trim().is_empty() {
            g["interval"] = json!(self.interval.trim());
        }
        if let Ok(limit) = self.limit.trim().parse::<u64>() {
            g["limit"] = json!(limit);
        }
        g
    }
}

fn severity_of(rule: &Value) -> String {
    rule["labels"]["severity"].as_str().unwrap_or("").to_owned()
}

/// The API address of a group (`suffix`: `""`, `/history`, `/history/3`, `/restore/3`).
fn group_url(namespace: &str, name: &str, suffix: &str) -> String {
    format!(
        "/api/v1/rule-groups/{}{suffix}?namespace={}",
        encode(name),
        encode(namespace)
    )
}

/// The editor's address for a group.
fn editor_href(namespace: &str, name: &str) -> String {
    format!(
        "/alerting/rules/edit?namespace={}&group={}",
        encode(namespace),
        encode(name)
    )
}

/// A namespace named after an uploaded rule file: its name without `.yml`/`.yaml`, every
/// character a namespace cannot hold replaced by `-`.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn namespace_of_file(file: &str) -> String {
    let stem = file
        .strip_suffix(".yml")
        .or_else(|| file.strip_suffix(".yaml"))
        .unwrap_or(file);
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if clean.trim_matches('.').is_empty() {
        "default".into()
    } else {
        clean
    }
}

// ---- list ----------------------------------------------------------------------------------

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
                                    {groups.into_iter().map(|g| group_card(&ns, g, matches)).collect_view()}
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

/// One group of the list, its rules filtered by `matches`.
fn group_card(
    ns: &str,
    g: Value,
    matches: impl Fn(&Value) -> bool + Copy + 'static,
) -> impl IntoView {
    let name = g["name"].as_str().unwrap_or("").to_owned();
    let rules: Vec<Value> = g["rules"].as_array().cloned().unwrap_or_default();
    let href = editor_href(ns, &name);
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
                        .map(|r| {
                            let shown = matches(&r);
                            let name = r.get("alert").or(r.get("record")).and_then(Value::as_str).unwrap_or("").to_owned();
                            let key = name.clone();
                            view! {
                                <tr class="rule-row" data-rule=key class:hidden=!shown>
                                    <td>{if r.get("alert").is_some() { "alert" } else { "record" }}</td>
                                    <td><strong>{name}</strong></td>
                                    <td><code>{r["expr"].as_str().unwrap_or("").to_owned()}</code></td>
                                    <td>{severity_of(&r)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// Upload a Prometheus rule file into a namespace (by default named after the file): a dry
/// run first, saying which rules it adds, changes and removes, then the import.
#[component]
fn ImportRules() -> impl IntoView {
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
                        namespace.set(namespace_of_file(&file.name()));
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

// ---- editor --------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    Form,
    Yaml,
    History,
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
    let tab = RwSignal::new(Tab::Form);
    let yaml = RwSignal::new(String::new());
    let saved_name = RwSignal::new(existing.clone());

    let load = move |name: String| {
        spawn_local(async move {
            match call::<Value>(
                "GET",
                &group_url(&namespace.get_untracked(), &name, ""),
                None::<&()>,
            )
            .await
            {
                Ok(g) => {
                    draft.set(GroupDraft::from_json(&g));
                    version.set(g["version"].as_i64());
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
        let body = json!({ "group": draft.with(GroupDraft::to_json) });
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
        let mut body = draft.with_untracked(GroupDraft::to_json);
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

#[component]
fn RuleCard(i: usize, draft: RwSignal<GroupDraft>, issues: RwSignal<Value>) -> impl IntoView {
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
fn Pairs(
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

#[component]
fn YamlTab(yaml: RwSignal<String>, draft: RwSignal<GroupDraft>) -> impl IntoView {
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
                    let groups = v["groups"].as_array().cloned().unwrap_or_default();
                    match (groups.len() == 1).then(|| GroupDraft::from_json(&groups[0])) {
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
fn HistoryTab(
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

/// A line diff (longest common subsequence): `("same"|"del"|"add", line)`.
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<(&'static str, String)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(("same", a[i].to_owned()));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(("add", b[j].to_owned()));
            j += 1;
        } else {
            out.push(("del", a[i].to_owned()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_round_trips_through_the_api_shape() {
        let v = json!({"name": "g", "interval": "1m", "rules": [
            {"alert": "A", "expr": "up == 0", "for": "5m", "labels": {"severity": "critical"}, "annotations": {"summary": "s"}},
            {"record": "job:up:sum", "expr": "sum by (job) (up)"}
        ]});
        assert_eq!(GroupDraft::from_json(&v).to_json(), v);
    }

    #[test]
    fn an_uploaded_file_names_its_namespace() {
        assert_eq!(namespace_of_file("mysql-exporter.yml"), "mysql-exporter");
        assert_eq!(
            namespace_of_file("node exporter (1).yaml"),
            "node-exporter--1-"
        );
        assert_eq!(namespace_of_file("...yml"), "default");
    }

    #[test]
    fn the_line_diff_marks_changes() {
        let d = line_diff("a\nb\nc", "a\nx\nc");
        assert_eq!(
            d,
            [
                ("same", "a".into()),
                ("add", "x".into()),
                ("del", "b".into()),
                ("same", "c".into())
            ]
        );
    }
}
