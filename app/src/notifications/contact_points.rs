//! `/alerting/contact-points`: every contact point with what it sends to and why it is
//! disabled; for admins a form with the type's own fields (Slack, e-mail, webhook,
//! Alertmanager), the server's refusals beside the field they name, "Send test" with its
//! outcome, and the notification log below (failures marked).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::{json, Value};

use super::log::NotificationLog;
use super::templates::NotificationTemplates;
use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, field_error_under, form_error, text_field};
use crate::dto::Role;
use crate::session;

const TYPES: [&str; 4] = ["slack", "email", "webhook", "alertmanager"];

/// The form's fields, all types' at once (only the chosen type's are sent).
#[derive(Clone, Copy)]
struct Fields {
    editing: RwSignal<Option<i64>>,
    version: RwSignal<Option<i64>>,
    /// Secrets already stored (`secure_fields`): left empty, they are kept.
    secure: RwSignal<Vec<String>>,
    name: RwSignal<String>,
    kind: RwSignal<String>,
    send_resolved: RwSignal<bool>,
    url: RwSignal<String>,
    channel: RwSignal<String>,
    to: RwSignal<String>,
    from: RwSignal<String>,
    smarthost: RwSignal<String>,
    username: RwSignal<String>,
    password: RwSignal<String>,
    tls: RwSignal<String>,
    urls: RwSignal<String>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

impl Fields {
    fn new() -> Fields {
        let s = || RwSignal::new(String::new());
        Fields {
            editing: RwSignal::new(None),
            version: RwSignal::new(None),
            secure: RwSignal::new(Vec::new()),
            name: s(),
            kind: RwSignal::new("webhook".into()),
            send_resolved: RwSignal::new(true),
            url: s(),
            channel: s(),
            to: s(),
            from: s(),
            smarthost: s(),
            username: s(),
            password: s(),
            tls: RwSignal::new("starttls".into()),
            urls: s(),
        }
    }

    fn load(&self, cp: Option<&Value>) {
        let get = |k: &str| cp.map(|c| text_of(&c["settings"][k])).unwrap_or_default();
        self.editing.set(cp.and_then(|c| c["id"].as_i64()));
        self.version.set(cp.and_then(|c| c["version"].as_i64()));
        self.secure.set(
            cp.and_then(|c| c["secure_fields"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        );
        self.name
            .set(cp.map(|c| text_of(&c["name"])).unwrap_or_default());
        self.kind.set(
            cp.map(|c| text_of(&c["type"]))
                .unwrap_or_else(|| "webhook".into()),
        );
        self.send_resolved
            .set(cp.is_none_or(|c| c["send_resolved"].as_bool().unwrap_or(true)));
        self.url.set(get("url"));
        self.channel.set(get("channel"));
        self.to.set(get("to"));
        self.from.set(get("from"));
        self.smarthost.set(get("smarthost"));
        self.username.set(get("username"));
        self.password.set(String::new());
        let tls = get("tls");
        self.tls.set(if tls.is_empty() {
            "starttls".into()
        } else {
            tls
        });
        self.urls.set(get("urls"));
    }

    fn body(&self) -> Value {
        let v = |s: RwSignal<String>| s.get_untracked().trim().to_owned();
        let list = |s: RwSignal<String>| -> Vec<String> {
            s.get_untracked()
                .split([',', '\n'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let kind = self.kind.get_untracked();
        let mut settings = match kind.as_str() {
            "slack" => json!({ "channel": v(self.channel) }),
            "email" => json!({
                "to": list(self.to), "from": v(self.from), "smarthost": v(self.smarthost),
                "username": v(self.username), "tls": v(self.tls),
            }),
            "alertmanager" => json!({ "urls": list(self.urls) }),
            _ => json!({}),
        };
        // Secrets left empty keep what is stored; the webhook URL is not a secret.
        if matches!(kind.as_str(), "slack" | "webhook") && !v(self.url).is_empty() {
            settings["url"] = json!(v(self.url));
        }
        if kind == "email" && !self.password.get_untracked().is_empty() {
            settings["password"] = json!(self.password.get_untracked());
        }
        json!({
            "name": v(self.name),
            "type": kind,
            "settings": settings,
            "send_resolved": self.send_resolved.get_untracked(),
            "version": self.version.get_untracked(),
        })
    }
}

/// Where a contact point sends, in one line.
fn target(cp: &Value) -> String {
    let s = &cp["settings"];
    match cp["type"].as_str().unwrap_or_default() {
        "slack" => format!("Slack {}", text_of(&s["channel"])),
        "email" => format!("e-mail to {}", text_of(&s["to"])),
        "webhook" => text_of(&s["url"]),
        "alertmanager" => text_of(&s["urls"]),
        other => other.to_owned(),
    }
}

#[component]
pub fn ContactPoints() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let points = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    let log_reload = RwSignal::new(0u32);
    // The last test per contact point: Ok(what the receiver answered) or Err(why it failed).
    let tested = RwSignal::new(None::<(i64, Result<String, String>)>);
    let list_failure = RwSignal::new(None::<ApiFailure>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            points.set(Some(
                call("GET", "/api/v1/contact-points", None::<&()>).await,
            ));
        });
    });
    let fields = Fields::new();
    let rows = move || {
        match points.get() {
        None => view! { <tr><td colspan="5">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="5" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <tr><td colspan="5">"No contact points yet."</td></tr> }.into_any()
        }
        Some(Ok(list)) => list
            .into_iter()
            .map(|cp| {
                let id = cp["id"].as_i64().unwrap_or_default();
                let name = text_of(&cp["name"]);
                let disabled = cp["disabled"].as_bool().unwrap_or(false);
                let reason = text_of(&cp["disabled_reason"]);
                let for_edit = cp.clone();
                let test = move |_| {
                    tested.set(None);
                    spawn_local(async move {
                        let path = format!("/api/v1/contact-points/{id}/test");
                        let outcome = call::<Value>("POST", &path, None::<&()>).await;
                        tested.set(Some((
                            id,
                            outcome
                                .map(|v| {
                                    format!(
                                        "sent after {} attempt(s): {}",
                                        v["attempts"],
                                        text_of(&v["answer"])
                                    )
                                })
                                .map_err(|e| e.to_string()),
                        )));
                        log_reload.update(|n| *n += 1);
                    });
                };
                let remove = move |_| {
                    if window()
                        .confirm_with_message("Delete this contact point?")
                        .unwrap_or(false)
                    {
                        spawn_local(async move {
                            let path = format!("/api/v1/contact-points/{id}");
                            match call::<Value>("DELETE", &path, None::<&()>).await {
                                Ok(_) => reload.update(|n| *n += 1),
                                Err(e) => list_failure.set(Some(e)),
                            }
                        });
                    }
                };
                let result = move || {
                    tested.get().filter(|(t, _)| *t == id).map(|(_, r)| {
                        let (class, text) = match r {
                            Ok(m) => ("test-ok", format!("✓ {m}")),
                            Err(m) => ("test-failed", format!("✗ {m}")),
                        };
                        view! { <span class=format!("{class} test-result") role="status">{text}</span> }
                    })
                };
                view! {
                    <tr class="contact-point" data-name=name.clone() data-type=text_of(&cp["type"])>
                        <td>
                            <strong>{name.clone()}</strong>
                            {cp["provisioned"].as_bool().unwrap_or(false).then(|| view! { <span class="badge">"provisioned"</span> })}
                        </td>
                        <td>{text_of(&cp["type"])}</td>
                        <td><code>{target(&cp)}</code></td>
                        <td>{if disabled {
                            view! { <span class="test-failed cp-disabled">{format!("disabled: {reason}")}</span> }.into_any()
                        } else {
                            view! { <span class="test-ok">"enabled"</span> }.into_any()
                        }}</td>
                        <td class="actions">
                            {is_admin.then(|| view! {
                                <button type="button" class="edit-contact-point" on:click=move |_| fields.load(Some(&for_edit))>"Edit"</button>
                                <button type="button" class="test-contact-point" disabled=disabled on:click=test>"Send test"</button>
                                <button type="button" class="danger delete-contact-point" on:click=remove>"Delete"</button>
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
        <Title text="Contact points" />
        <h1>"Contact points"</h1>
        <p class="lead">"Where notifications go: Slack, e-mail, webhooks (Alertmanager's payload) and other Alertmanagers. \
            Secrets are stored encrypted and never shown again."</p>
        {form_error(list_failure)}
        <table class="grid" id="contact-points">
            <thead><tr><th>"Name"</th><th>"Type"</th><th>"Sends to"</th><th>"State"</th><th>"Actions"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {is_admin.then(|| view! { <ContactPointForm fields reload /> })}
        <NotificationTemplates />
        <NotificationLog reload=log_reload />
    }
}

#[component]
fn ContactPointForm(fields: Fields, reload: RwSignal<u32>) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = fields.body();
        let editing = fields.editing.get_untracked();
        spawn_local(async move {
            let result = match editing {
                Some(id) => {
                    call::<Value>("PUT", &format!("/api/v1/contact-points/{id}"), Some(&body)).await
                }
                None => call::<Value>("POST", "/api/v1/contact-points", Some(&body)).await,
            };
            match result {
                Ok(v) => {
                    failure.set(None);
                    saved.set(Some(format!("Saved “{}”.", text_of(&v["name"]))));
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
    let text =
        move |id, label, signal, field, kind| text_field(failure, id, label, signal, field, kind);
    let kind_is = move |k: &'static str| move || fields.kind.get() == k;
    let secret_label = move |secret: &'static str, label: &'static str| {
        move || {
            if fields.secure.get().iter().any(|s| s == secret) {
                format!("{label} (stored; leave empty to keep)")
            } else {
                label.to_owned()
            }
        }
    };
    view! {
        <form class="card" id="contact-point-form" on:submit=submit novalidate>
            <h2>{move || if fields.editing.get().is_some() { "Edit contact point" } else { "New contact point" }}</h2>
            {form_error(failure)}
            <div class="form-grid">
                {text("cp-name", "Name", fields.name, "name", "text")}
                <label for="cp-type">"Type"</label>
                <select id="cp-type" on:change=move |ev| fields.kind.set(event_target_value(&ev))>
                    {TYPES.map(|k| view! { <option value=k selected=move || fields.kind.get() == k>{k}</option> })}
                </select>
                {field_error(failure, "type")}
                <Show when=kind_is("slack")>
                    <label for="cp-slack-url">{secret_label("url", "Incoming webhook URL")}</label>
                    <input id="cp-slack-url" type="url" prop:value=move || fields.url.get() on:input=move |ev| fields.url.set(event_target_value(&ev)) />
                    {field_error(failure, "settings.url")}
                    {text("cp-channel", "Channel", fields.channel, "settings.channel", "text")}
                </Show>
                <Show when=kind_is("email")>
                    <label for="cp-to">"To (comma-separated)"</label>
                    <input id="cp-to" type="text" prop:value=move || fields.to.get() on:input=move |ev| fields.to.set(event_target_value(&ev)) />
                    {field_error_under(failure, "settings.to")}
                    {text("cp-from", "From", fields.from, "settings.from", "text")}
                    {text("cp-smarthost", "SMTP server (host:port)", fields.smarthost, "settings.smarthost", "text")}
                    {text("cp-username", "SMTP user name", fields.username, "settings.username", "text")}
                    <label for="cp-password">{secret_label("password", "SMTP password")}</label>
                    <input id="cp-password" type="password" prop:value=move || fields.password.get() on:input=move |ev| fields.password.set(event_target_value(&ev)) />
                    {field_error(failure, "settings.password")}
                    <label for="cp-tls">"TLS"</label>
                    <select id="cp-tls" on:change=move |ev| fields.tls.set(event_target_value(&ev))>
                        {["none", "starttls", "tls"].map(|k| view! { <option value=k selected=move || fields.tls.get() == k>{k}</option> })}
                    </select>
                    {field_error(failure, "settings.tls")}
                </Show>
                <Show when=kind_is("webhook")>
                    {text("cp-webhook-url", "URL", fields.url, "settings.url", "url")}
                </Show>
                <Show when=kind_is("alertmanager")>
                    <label for="cp-urls">"Alertmanager URLs (comma-separated)"</label>
                    <input id="cp-urls" type="text" prop:value=move || fields.urls.get() on:input=move |ev| fields.urls.set(event_target_value(&ev)) />
                    {field_error_under(failure, "settings.urls")}
                </Show>
                <label for="cp-send-resolved">"Notify when resolved"</label>
                <input id="cp-send-resolved" type="checkbox" prop:checked=move || fields.send_resolved.get()
                    on:change=move |ev| fields.send_resolved.set(event_target_checked(&ev)) />
            </div>
            <button type="submit" class="primary" id="save-contact-point">"Save"</button>
            <Show when=move || fields.editing.get().is_some()>
                <button type="button" on:click=move |_| fields.load(None)>"Cancel"</button>
            </Show>
            {move || saved.get().map(|m| view! { <p class="form-ok" id="contact-point-saved" role="status">{m}</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_where_each_type_sends() {
        let cp = json!({"type": "email", "settings": {"to": ["a@x", "b@x"]}});
        assert_eq!(target(&cp), "e-mail to a@x, b@x");
        let cp = json!({"type": "slack", "settings": {"channel": "#keiko-alerts"}});
        assert_eq!(target(&cp), "Slack #keiko-alerts");
    }
}
