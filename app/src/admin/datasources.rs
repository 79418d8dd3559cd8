//! Settings → Data sources: the list for everyone, and for admins a form to add, edit,
//! test and delete sources. Secrets are write-only: the page never sees them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, form_error, text_field};
use crate::dto::Role;
use crate::session;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct SourceDetail {
    id: i64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    url: String,
    auth: Value,
    timeout_ms: i64,
    default: bool,
    version: i64,
}

#[derive(Clone, Debug, Deserialize)]
struct TestResult {
    ok: bool,
    message: String,
    elapsed_ms: u64,
}

/// The form's fields.
#[derive(Clone, Copy)]
struct Fields {
    editing: RwSignal<Option<i64>>,
    /// The version of the source being edited (sent back for optimistic locking).
    version: RwSignal<Option<i64>>,
    name: RwSignal<String>,
    url: RwSignal<String>,
    auth: RwSignal<String>,
    username: RwSignal<String>,
    secret: RwSignal<String>,
    timeout: RwSignal<String>,
    default: RwSignal<bool>,
}

impl Fields {
    fn new() -> Fields {
        Fields {
            editing: RwSignal::new(None),
            version: RwSignal::new(None),
            name: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
            auth: RwSignal::new("none".into()),
            username: RwSignal::new(String::new()),
            secret: RwSignal::new(String::new()),
            timeout: RwSignal::new("30000".into()),
            default: RwSignal::new(false),
        }
    }

    fn load(&self, s: Option<&SourceDetail>) {
        self.editing.set(s.map(|s| s.id));
        self.version.set(s.map(|s| s.version));
        self.name.set(s.map(|s| s.name.clone()).unwrap_or_default());
        self.url.set(s.map(|s| s.url.clone()).unwrap_or_default());
        self.auth.set(
            s.and_then(|s| s.auth["type"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "none".into()),
        );
        self.username.set(
            s.and_then(|s| s.auth["username"].as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
        self.secret.set(String::new());
        self.timeout
            .set(s.map_or(30000, |s| s.timeout_ms).to_string());
        self.default.set(s.is_some_and(|s| s.default));
    }

    fn body(&self) -> Value {
        let kind = self.auth.get_untracked();
        let secret = self.secret.get_untracked();
        let mut auth = json!({ "type": kind });
        match kind.as_str() {
            "basic" => {
                auth["username"] = json!(self.username.get_untracked());
                if !secret.is_empty() {
                    auth["password"] = json!(secret);
                }
            }
            "bearer" if !secret.is_empty() => auth["token"] = json!(secret),
            _ => {}
        }
        let timeout = self.timeout.get_untracked();
        json!({
            "name": self.name.get_untracked(),
            "type": "prometheus",
            "url": self.url.get_untracked(),
            "auth": auth,
            "timeout_ms": timeout.trim().parse::<i64>().map(Value::from).unwrap_or(Value::String(timeout)),
            "default": self.default.get_untracked(),
            "version": self.version.get_untracked(),
        })
    }
}

#[component]
pub fn DataSources() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let sources = RwSignal::new(None::<Result<Vec<SourceDetail>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    let tested = RwSignal::new(None::<(i64, TestResult)>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            sources.set(Some(call("GET", "/api/v1/datasources", None::<&()>).await));
        });
    });
    let fields = Fields::new();
    let list_failure = RwSignal::new(None::<ApiFailure>);

    let rows = move || {
        match sources.get() {
        None => view! { <tr><td colspan="5">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="5" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <tr><td colspan="5">"No data sources yet."</td></tr>
        }
            .into_any(),
        Some(Ok(list)) => list
            .into_iter()
            .map(|s| {
                let id = s.id;
                let for_edit = s.clone();
                let test = move |_| {
                    spawn_local(async move {
                        let path = format!("/api/v1/datasources/{id}/test");
                        match call::<TestResult>("POST", &path, None::<&()>).await {
                            Ok(r) => tested.set(Some((id, r))),
                            Err(e) => list_failure.set(Some(e)),
                        }
                    });
                };
                let remove = move |_| {
                    let ok = window()
                        .confirm_with_message("Delete this data source? Panels that use it stop working.")
                        .unwrap_or(false);
                    if ok {
                        spawn_local(async move {
                            let path = format!("/api/v1/datasources/{id}");
                            match call::<Value>("DELETE", &path, None::<&()>).await {
                                Ok(_) => reload.update(|n| *n += 1),
                                Err(e) => list_failure.set(Some(e)),
                            }
                        });
                    }
                };
                let result = move || {
                    tested.get().filter(|(t, _)| *t == id).map(|(_, r)| {
                        let class = if r.ok { "test-ok" } else { "test-failed" };
                        view! {
                            <span class=class role="status" data-testid="test-result">
                                {if r.ok { "✓ " } else { "✗ " }}
                                {r.message}
                                {format!(" ({} ms)", r.elapsed_ms)}
                            </span>
                        }
                    })
                };
                let explore = format!("/explore/metrics?ds={id}");
                let built_in = s.kind == "embedded";
                // The built-in store is never edited or deleted; it can be made the default.
                let (name, version, is_default) = (s.name.clone(), s.version, s.default);
                let make_default = move |_| {
                    let body = json!({"name": name, "type": "embedded", "url": "", "default": true, "version": version});
                    spawn_local(async move {
                        match call::<Value>("PUT", &format!("/api/v1/datasources/{id}"), Some(&body)).await {
                            Ok(_) => reload.update(|n| *n += 1),
                            Err(e) => list_failure.set(Some(e)),
                        }
                    });
                };
                view! {
                    <tr data-source=s.name.clone() data-kind=s.kind.clone()>
                        <td>
                            <a href=explore>{s.name.clone()}</a>
                            {s.default.then(|| view! { <span class="badge">"default"</span> })}
                            {built_in.then(|| view! { <span class="badge">"built in"</span> })}
                        </td>
                        <td>{if built_in { view! { <span class="muted">"the portal's own metrics store"</span> }.into_any() } else { view! { <code>{s.url.clone()}</code> }.into_any() }}</td>
                        <td>{s.auth["type"].as_str().unwrap_or("none").to_owned()}</td>
                        <td>{format!("{} ms", s.timeout_ms)}</td>
                        <td class="actions">
                            {is_admin.then(|| view! {
                                <button type="button" class="test-source" on:click=test>"Test connection"</button>
                                {(!built_in).then(|| view! {
                                    <button type="button" class="edit-source" on:click=move |_| fields.load(Some(&for_edit))>"Edit"</button>
                                    <button type="button" class="danger delete-source" on:click=remove>"Delete"</button>
                                })}
                                {(built_in && !is_default).then(|| view! {
                                    <button type="button" class="default-source" on:click=make_default>"Make default"</button>
                                })}
                            })}
                            {result}
                        </td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };

    view! {
        <Title text="Data sources" />
        <h1>"Data sources"</h1>
        <p class="lead">
            "The portal's own embedded store (built in), and Prometheus-API stores (Prometheus, VictoriaMetrics, Thanos, Mimir). Secrets are \
             stored encrypted and never shown again."
        </p>
        {form_error(list_failure)}
        <table class="grid" id="sources-table">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"URL"</th>
                    <th>"Auth"</th>
                    <th>"Timeout"</th>
                    <th>"Actions"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {is_admin.then(|| view! { <SourceForm fields reload /> })}
    }
}

#[component]
fn SourceForm(fields: Fields, reload: RwSignal<u32>) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = fields.body();
        let editing = fields.editing.get_untracked();
        spawn_local(async move {
            let result = match editing {
                Some(id) => {
                    call::<Value>("PUT", &format!("/api/v1/datasources/{id}"), Some(&body)).await
                }
                None => call::<Value>("POST", "/api/v1/datasources", Some(&body)).await,
            };
            match result {
                Ok(v) => {
                    failure.set(None);
                    if fields.editing.get_untracked().is_some() {
                        fields.version.set(v["version"].as_i64());
                    }
                    saved.set(Some(format!(
                        "Saved “{}”.",
                        v["name"].as_str().unwrap_or("")
                    )));
                    fields.load(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    saved.set(None);
                    failure.set(Some(e));
                }
            }
        });
    };
    let heading = move || {
        if fields.editing.get().is_some() {
            "Edit data source"
        } else {
            "Add a data source"
        }
    };
    let text =
        move |id, label, signal, field, kind| text_field(failure, id, label, signal, field, kind);
    view! {
        <form class="card source-form" id="source-form" on:submit=submit novalidate>
            <h2>{heading}</h2>
            {form_error(failure)}
            <div class="form-grid">
                {text("source-name", "Name", fields.name, "name", "text")}
                {text("source-url", "URL", fields.url, "url", "url")}
                <label for="source-auth">"Authentication"</label>
                <select id="source-auth" on:change=move |ev| fields.auth.set(event_target_value(&ev))>
                    {["none", "basic", "bearer"].map(|k| view! {
                        <option value=k selected=move || fields.auth.get() == k>{k}</option>
                    })}
                </select>
                {field_error(failure, "auth.type")}
                <Show when=move || fields.auth.get() == "basic">
                    {text("source-username", "User name", fields.username, "auth.username", "text")}
                </Show>
                <Show when=move || fields.auth.get() != "none">
                    {text("source-secret", "Password or token (leave empty to keep)", fields.secret, "auth.password", "password")}
                    {field_error(failure, "auth.token")}
                </Show>
                {text("source-timeout", "Timeout (ms)", fields.timeout, "timeout_ms", "text")}
                <label for="source-default">"Default source"</label>
                <input id="source-default" type="checkbox" prop:checked=move || fields.default.get()
                    on:change=move |ev| fields.default.set(event_target_checked(&ev)) />
            </div>
            <button type="submit" class="primary" id="save-source">"Save"</button>
            <Show when=move || fields.editing.get().is_some()>
                <button type="button" on:click=move |_| fields.load(None)>"Cancel"</button>
            </Show>
            {move || saved.get().map(|m| view! { <p class="saved" role="status">{m}</p> })}
        </form>
    }
}
