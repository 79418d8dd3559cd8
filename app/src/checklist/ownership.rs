//! What a team owns (dashboards, rule namespaces, services): the scope of its evidence.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use wire::checklist::Ownership;

use crate::api_client::{call, ApiFailure};

#[component]
pub(super) fn Ownership(team_id: i64, can_edit: bool, reload: RwSignal<u32>) -> impl IntoView {
    let dashboards = RwSignal::new(String::new());
    let namespaces = RwSignal::new(String::new());
    let services = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let status = RwSignal::new(String::new());
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(o) = call::<Ownership>(
                "GET",
                &format!("/api/v1/teams/{team_id}/ownership"),
                None::<&()>,
            )
            .await
            {
                dashboards.set(o.dashboards.join(", "));
                namespaces.set(o.rule_namespaces.join(", "));
                services.set(o.services.join(", "));
            }
        });
    });
    let list = |s: String| -> Vec<String> {
        s.split([',', ' '])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let save = move |_| {
        let body = Ownership {
            dashboards: list(dashboards.get_untracked()),
            rule_namespaces: list(namespaces.get_untracked()),
            services: list(services.get_untracked()),
        };
        status.set("Saving…".into());
        spawn_local(async move {
            match call::<Value>(
                "PUT",
                &format!("/api/v1/teams/{team_id}/ownership"),
                Some(&body),
            )
            .await
            {
                Ok(_) => {
                    failure.set(None);
                    status.set("Saved; checking evidence…".into());
                    let checked =
                        call::<Value>("POST", "/api/v1/checklist/evidence", None::<&()>).await;
                    status.set(match checked {
                        Ok(_) => "Saved and checked".into(),
                        Err(e) => format!("Saved; checking failed: {}", e.message),
                    });
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    status.set(String::new());
                    failure.set(Some(e));
                }
            }
        });
    };
    // `services[1]` and the like: the message goes beside the list it names.
    let error_for = move |field: &'static str| {
        move || {
            failure.get().and_then(|f| {
                let named = f.field.as_deref()?;
                (named == field || named.starts_with(&format!("{field}[")))
                    .then(|| view! { <span class="field-error" data-field=named.to_owned()>{f.message.clone()}</span> })
            })
        }
    };
    let input = move |id: &'static str,
                      label: &'static str,
                      hint: &'static str,
                      value: RwSignal<String>,
                      field: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id placeholder=hint readonly=!can_edit prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev)) />
                {error_for(field)}
            </div>
        }
    };
    view! {
        <details class="card ownership" id="team-ownership">
            <summary>"What this team owns — the scope of its evidence"</summary>
            <div class="inline-form form">
                {input("own-dashboards", "Dashboards (uids)", "keiko-overview", dashboards, "dashboards")}
                {input("own-namespaces", "Rule namespaces", "default", namespaces, "rule_namespaces")}
                {input("own-services", "Services (job labels, exporters too)", "keiko, node", services, "services")}
            </div>
            {can_edit.then(|| view! { <button type="button" class="primary" id="own-save" on:click=save>"Save and check"</button> })}
            <span id="own-status" role="status">{move || status.get()}</span>
            {move || failure.get().filter(|f| f.field.is_none()).map(|f| view! { <p class="form-error">{f.message}</p> })}
        </details>
    }
}
