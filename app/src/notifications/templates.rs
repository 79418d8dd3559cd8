//! Notification templates on the contact points page: the stored templates (name, the
//! `define`s they hold, version, who changed them), a form to write one (admins) and a
//! preview of the Slack or e-mail message the alerts firing now would give with the edit,
//! saved or not (editors). A client of `/api/v1/notification-templates` and `…/preview`;
//! a refusal (a template that does not parse, a taken name, a stale version) stands beside
//! the field it names.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, field_error_under, form_error};
use crate::dto::Role;
use crate::session;

const EXAMPLE: &str = "{{ define \"slack.default.title\" }}[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ end }}";

#[component]
pub(super) fn NotificationTemplates() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let can_preview = session::has_role(Role::Editor);
    let list = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            list.set(Some(
                call("GET", "/api/v1/notification-templates", None::<&()>).await,
            ));
        });
    });
    let editing = RwSignal::new(None::<(i64, i64)>);
    let name = RwSignal::new(String::new());
    let body = RwSignal::new(EXAMPLE.to_owned());
    let list_failure = RwSignal::new(None::<ApiFailure>);
    let delete = move |id: i64| {
        spawn_local(async move {
            let path = format!("/api/v1/notification-templates/{id}");
            match call::<Value>("DELETE", &path, None::<&()>).await {
                Ok(_) => {
                    list_failure.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => list_failure.set(Some(e)),
            }
        });
    };
    let rows = move || {
        match list.get() {
        None => view! { <tr><td colspan="5">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="5" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(all)) if all.is_empty() => {
            view! { <tr><td colspan="5" class="muted">"No templates: the built-in messages are sent."</td></tr> }.into_any()
        }
        Some(Ok(all)) => all
            .into_iter()
            .map(|t| {
                let id = t["id"].as_i64().unwrap_or(0);
                let version = t["version"].as_i64().unwrap_or(0);
                let tname = t["name"].as_str().unwrap_or_default().to_owned();
                let tbody = t["body"].as_str().unwrap_or_default().to_owned();
                let defines = t["defines"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let edit_name = tname.clone();
                view! {
                    <tr class="template-row" data-name=tname.clone() data-version=version>
                        <td>{tname.clone()}</td>
                        <td><code class="template-defines">{defines}</code></td>
                        <td>{version}</td>
                        <td>{t["updated_by"].as_str().unwrap_or_default().to_owned()}</td>
                        <td>
                            <button type="button" class="small edit-template" on:click=move |_| {
                                editing.set(Some((id, version)));
                                name.set(edit_name.clone());
                                body.set(tbody.clone());
                            }>{if is_admin { "Edit" } else { "Show" }}</button>
                            {is_admin.then(|| view! {
                                <button type="button" class="small danger delete-template" on:click=move |_| delete(id)>"Delete"</button>
                            })}
                        </td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <section id="notification-templates" aria-label="Notification templates">
            <h2>"Notification templates"</h2>
            <p class="muted">"Go templates of {{ define }} blocks, as Alertmanager's template files. A define named slack.default.title, slack.default.text, email.default.subject, email.default.text or email.default.html replaces that part of every message of its type; slack.<contact point>.title (and so on) only that contact point's."</p>
            {form_error(list_failure)}
            <table class="grid" id="templates">
                <thead><tr><th>"Name"</th><th>"Defines"</th><th>"Version"</th><th>"Changed by"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {can_preview.then(|| view! { <TemplateForm editing name body reload is_admin /> })}
        </section>
    }
}

#[component]
fn TemplateForm(
    editing: RwSignal<Option<(i64, i64)>>,
    name: RwSignal<String>,
    body: RwSignal<String>,
    reload: RwSignal<u32>,
    is_admin: bool,
) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let kind = RwSignal::new("slack".to_owned());
    let preview = RwSignal::new(None::<Value>);
    let save = move |_| {
        let current = editing.get_untracked();
        let mut payload =
            json!({ "name": name.get_untracked().trim(), "body": body.get_untracked() });
        if let Some((_, v)) = current {
            payload["version"] = json!(v);
        }
        spawn_local(async move {
            let result = match current {
                Some((id, _)) => {
                    let path = format!("/api/v1/notification-templates/{id}");
                    call::<Value>("PUT", &path, Some(&payload)).await
                }
                None => {
                    call::<Value>("POST", "/api/v1/notification-templates", Some(&payload)).await
                }
            };
            match result {
                Ok(t) => {
                    failure.set(None);
                    editing.set(t["id"].as_i64().zip(t["version"].as_i64()));
                    saved.set(Some(format!(
                        "Template {} saved (version {}).",
                        t["name"].as_str().unwrap_or_default(),
                        t["version"]
                    )));
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    saved.set(None);
                    failure.set(Some(e));
                }
            }
        });
    };
    let run_preview = move |_| {
        let payload = json!({
            "type": kind.get_untracked(),
            "templates": [{ "name": name.get_untracked().trim(), "body": body.get_untracked() }],
        });
        spawn_local(async move {
            match call::<Value>(
                "POST",
                "/api/v1/notification-templates/preview",
                Some(&payload),
            )
            .await
            {
                Ok(v) => {
                    failure.set(None);
                    preview.set(Some(v));
                }
                Err(e) => {
                    preview.set(None);
                    failure.set(Some(e));
                }
            }
        });
    };
    let new_template = move |_| {
        editing.set(None);
        name.set(String::new());
        body.set(EXAMPLE.to_owned());
        failure.set(None);
        saved.set(None);
    };
    view! {
        <div class="card side-by-side" id="template-editor">
            <div class="form">
                <h3>{move || if editing.get().is_some() { "Edit template" } else { "New template" }}</h3>
                {form_error(failure)}
                <label for="tpl-name">"Name"</label>
                <input id="tpl-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                {field_error(failure, "name")}
                <label for="tpl-body">"Template"</label>
                <textarea id="tpl-body" rows="12" spellcheck="false" prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                {field_error(failure, "body")}
                {field_error_under(failure, "templates")}
                <div class="actions">
                    <label for="tpl-preview-type">"Preview as "</label>
                    <select id="tpl-preview-type" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="slack">"Slack"</option>
                        <option value="email">"E-mail"</option>
                    </select>
                    <button type="button" id="preview-template" on:click=run_preview>"Preview on the alerts firing now"</button>
                    {is_admin.then(|| view! {
                        <button type="button" class="primary" id="save-template" on:click=save>"Save template"</button>
                        <button type="button" id="new-template" on:click=new_template>"New"</button>
                    })}
                </div>
                {field_error(failure, "fingerprint")}
                {move || saved.get().map(|m| view! { <p class="form-ok" id="template-saved" role="status">{m}</p> })}
            </div>
            <div id="template-preview-pane">
                {move || preview.get().map(|p| {
                    let parts: Vec<(String, String)> = p["message"].as_object().into_iter().flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| serde_json::to_string_pretty(v).unwrap_or_default())))
                        .collect();
                    view! {
                        <div id="template-preview" data-status=p["status"].as_str().unwrap_or_default().to_owned()>
                            <p class="muted">{format!("{} firing alert(s), status {}", p["alerts"], p["status"].as_str().unwrap_or_default())}</p>
                            {parts.into_iter().map(|(k, v)| view! {
                                <h4>{k.clone()}</h4>
                                <pre class="template-part" data-part=k>{v}</pre>
                            }).collect_view()}
                        </div>
                    }
                })}
            </div>
        </div>
    }
}
