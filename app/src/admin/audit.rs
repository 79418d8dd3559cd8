//! `/settings/audit`: the audit log.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::input_value;
use crate::api_client::{call, ApiFailure};
use crate::components::form::encode;
use crate::dto::AuditEntry;

#[component]
pub fn Audit() -> impl IntoView {
    let entries = RwSignal::new(None::<Result<Vec<AuditEntry>, ApiFailure>>);
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let object_type = RwSignal::new(String::new());
    let query = move || {
        let mut q = vec!["limit=200".to_owned()];
        for (k, v) in [
            ("actor", actor.get()),
            ("action", action.get()),
            ("object_type", object_type.get()),
        ] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", encode(v.trim())));
            }
        }
        format!("/api/v1/audit?{}", q.join("&"))
    };
    Effect::new(move |_| {
        let path = query();
        spawn_local(async move {
            entries.set(Some(
                call::<Vec<AuditEntry>>("GET", &path, None::<&()>).await,
            ));
        });
    });
    let filter_input = |id: &'static str, label: &'static str, sig: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id prop:value=move || sig.get() on:change=move |ev| sig.set(input_value(&ev)) />
            </div>
        }
    };
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="lead">
            "Every change made through the portal: who, when, what, before and after. Append-only."
        </p>
        <form class="form inline-form" on:submit=|ev| ev.prevent_default()>
            {filter_input("audit-actor", "Actor", actor)}
            {filter_input("audit-action", "Action", action)}
            {filter_input("audit-object", "Object type", object_type)}
        </form>
        <table class="grid" id="audit-table">
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Who"</th>
                    <th>"Action"</th>
                    <th>"Object"</th>
                    <th>"Before"</th>
                    <th>"After"</th>
                    <th>"Correlation ID"</th>
                    <th>"Client"</th>
                </tr>
            </thead>
            <tbody>
                {move || match entries.get() {
                    None => view! { <tr><td colspan="8">"Loading…"</td></tr> }.into_any(),
                    Some(Err(e)) => view! { <tr><td colspan="8" class="form-error">{e.message}</td></tr> }.into_any(),
                    Some(Ok(list)) => {
                        list.into_iter()
                            .map(|e| {
                                let show = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
                                view! {
                                    <tr class="audit-row">
                                        <td>{e.at}</td>
                                        <td>{format!("{} ({})", e.actor_login, e.actor_role)}</td>
                                        <td>{e.action}</td>
                                        <td>{format!("{} {}", e.object_type, e.object_id)}</td>
                                        <td><code>{show(e.before)}</code></td>
                                        <td><code>{show(e.after)}</code></td>
                                        <td><code>{e.correlation_id}</code></td>
                                        <td>{e.client_addr}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                }}
            </tbody>
        </table>
    }
}
