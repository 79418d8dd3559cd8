//! `/alerting/escalation`: escalation policies — per severity, contact points notified one
//! after another (a delay each) until someone acknowledges the alert. The list for
//! everyone, for admins a form (name, matchers, steps, acknowledgement link lifetime) with
//! the server's refusals beside the field. A client of `/api/v1/escalation-policies`.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::{json, Value};

use super::policies::split_list;
use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error_under, form_error, text_field};
use crate::dto::Role;
use crate::session;

const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

/// One step of the form.
#[derive(Clone, Copy)]
struct StepRow {
    severity: RwSignal<String>,
    contact_point: RwSignal<String>,
    after: RwSignal<String>,
}

impl StepRow {
    fn new(severity: &str, contact_point: &str, after: &str) -> StepRow {
        StepRow {
            severity: RwSignal::new(severity.to_owned()),
            contact_point: RwSignal::new(contact_point.to_owned()),
            after: RwSignal::new(after.to_owned()),
        }
    }
}

/// Form rows → the API's `steps` (severity → steps, in the rows' order).
fn steps_body(rows: &[(String, String, String)]) -> Value {
    let mut steps: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (sev, cp, after) in rows {
        steps.entry(sev.trim().to_owned()).or_default().push(
            json!({"contact_point": cp.trim(), "after": if after.trim().is_empty() { "0s" } else { after.trim() }}),
        );
    }
    json!(steps)
}

/// A policy's chain in one line per severity: `critical: slack now → email after 10m`.
fn chain(p: &Value) -> Vec<(String, String)> {
    p["steps"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(sev, steps)| {
                    let text = steps
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|s| {
                            let after = s["after"].as_str().unwrap_or("0s");
                            let cp = s["contact_point"].as_str().unwrap_or_default();
                            if after
                                .trim_start_matches('0')
                                .trim_end_matches(['s', 'm', 'h'])
                                .is_empty()
                            {
                                format!("{cp} now")
                            } else {
                                format!("{cp} after {after}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" → ");
                    (sev.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[component]
pub fn Escalation() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let policies = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    let list_failure = RwSignal::new(None::<ApiFailure>);
    let editing = RwSignal::new(None::<Value>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            policies.set(Some(
                call("GET", "/api/v1/escalation-policies", None::<&()>).await,
            ));
        });
    });
    let rows = move || {
        match policies.get() {
        None => view! { <p>"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <p class="muted">"No escalation policies yet."</p> }.into_any()
        }
        Some(Ok(list)) => list
            .into_iter()
            .map(|p| {
                let id = p["id"].as_i64().unwrap_or_default();
                let name = p["name"].as_str().unwrap_or_default().to_owned();
                let matchers = p["matchers"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                let for_edit = p.clone();
                let remove = move |_| {
                    if window().confirm_with_message("Delete this escalation policy?").unwrap_or(false) {
                        spawn_local(async move {
                            let path = format!("/api/v1/escalation-policies/{id}");
                            match call::<Value>("DELETE", &path, None::<&()>).await {
                                Ok(_) => reload.update(|n| *n += 1),
                                Err(e) => list_failure.set(Some(e)),
                            }
                        });
                    }
                };
                view! {
                    <section class="card escalation-policy" data-name=name.clone()>
                        <h2>{name.clone()}
                            <span class="muted">{if matchers.is_empty() { " · every alert".to_owned() } else { format!(" · {matchers}") }}</span>
                        </h2>
                        <ul class="plain-list">
                            {chain(&p).into_iter().map(|(sev, text)| view! {
                                <li class="escalation-chain" data-severity=sev.clone()><strong>{sev.clone()}</strong>": "{text}</li>
                            }).collect_view()}
                        </ul>
                        <p class="muted">{format!("Acknowledgement links stay valid for {}.", p["ack_link_ttl"].as_str().unwrap_or("24h"))}</p>
                        {is_admin.then(|| view! {
                            <div class="actions">
                                <button type="button" class="edit-escalation" on:click=move |_| editing.set(Some(for_edit.clone()))>"Edit"</button>
                                <button type="button" class="danger delete-escalation" on:click=remove>"Delete"</button>
                            </div>
                        })}
                    </section>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <Title text="Escalation policies" />
        <h1>"Escalation policies"</h1>
        <p class="lead">"Per severity, who is notified and when, until someone acknowledges the alert \
            (on the alerts page or with the link in the notification)."</p>
        {form_error(list_failure)}
        <div id="escalation-policies">{rows}</div>
        {is_admin.then(|| view! {
            // Rebuilt for each policy taken into the form.
            {move || view! { <EscalationForm policy=editing.get() editing reload /> }}
        })}
    }
}

#[component]
fn EscalationForm(
    policy: Option<Value>,
    editing: RwSignal<Option<Value>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let p = policy.unwrap_or(Value::Null);
    let id = p["id"].as_i64();
    let version = p["version"].as_i64();
    let name = RwSignal::new(p["name"].as_str().unwrap_or_default().to_owned());
    let matchers = RwSignal::new(
        p["matchers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    );
    let ttl = RwSignal::new(p["ack_link_ttl"].as_str().unwrap_or("24h").to_owned());
    let mut initial: Vec<StepRow> = Vec::new();
    for (sev, steps) in p["steps"].as_object().into_iter().flatten() {
        for s in steps.as_array().into_iter().flatten() {
            initial.push(StepRow::new(
                sev,
                s["contact_point"].as_str().unwrap_or_default(),
                s["after"].as_str().unwrap_or("0s"),
            ));
        }
    }
    if initial.is_empty() {
        initial.push(StepRow::new("critical", "", "0s"));
    }
    let rows = RwSignal::new(initial);
    let receivers = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        super::load_contact_point_names(receivers);
    });
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let steps: Vec<(String, String, String)> = rows
            .get_untracked()
            .iter()
            .map(|r| {
                (
                    r.severity.get_untracked(),
                    r.contact_point.get_untracked(),
                    r.after.get_untracked(),
                )
            })
            .collect();
        let body = json!({
            "name": name.get_untracked(),
            "matchers": split_list(&matchers.get_untracked()),
            "steps": steps_body(&steps),
            "ack_link_ttl": ttl.get_untracked(),
            "version": version,
        });
        spawn_local(async move {
            let answer = match id {
                Some(id) => {
                    call::<Value>(
                        "PUT",
                        &format!("/api/v1/escalation-policies/{id}"),
                        Some(&body),
                    )
                    .await
                }
                None => call::<Value>("POST", "/api/v1/escalation-policies", Some(&body)).await,
            };
            match answer {
                Ok(v) => {
                    failure.set(None);
                    saved.set(Some(format!(
                        "Saved “{}”.",
                        v["name"].as_str().unwrap_or("")
                    )));
                    reload.update(|n| *n += 1);
                    if id.is_some() {
                        editing.set(None);
                    }
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
    view! {
        <form class="card" id="escalation-form" on:submit=submit novalidate>
            <h2>{if id.is_some() { "Edit escalation policy" } else { "New escalation policy" }}</h2>
            {form_error(failure)}
            <datalist id="escalation-receivers">
                {move || receivers.get().into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
            </datalist>
            <div class="form-grid">
                {text("escalation-name", "Name", name, "name", "text")}
                <label for="escalation-matchers">"Matchers (comma-separated; empty: every alert)"</label>
                <input id="escalation-matchers" type="text" prop:value=move || matchers.get() on:input=move |ev| matchers.set(event_target_value(&ev)) />
                {field_error_under(failure, "matchers")}
                {text("escalation-ttl", "Acknowledgement link valid for", ttl, "ack_link_ttl", "text")}
            </div>
            <h3>"Steps"</h3>
            {field_error_under(failure, "steps")}
            <table class="grid" id="escalation-steps">
                <thead><tr><th>"Severity"</th><th>"Contact point"</th><th>"After"</th><th></th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().enumerate().map(|(i, r)| view! {
                        <tr class="escalation-step" data-index=i>
                            <td><select class="step-severity" on:change=move |ev| r.severity.set(event_target_value(&ev))>
                                {SEVERITIES.map(|s| view! { <option value=s selected=move || r.severity.get() == s>{s}</option> })}
                            </select></td>
                            <td><input class="step-contact-point" type="text" list="escalation-receivers" prop:value=move || r.contact_point.get()
                                on:input=move |ev| r.contact_point.set(event_target_value(&ev)) /></td>
                            <td><input class="step-after" type="text" prop:value=move || r.after.get()
                                on:input=move |ev| r.after.set(event_target_value(&ev)) /></td>
                            <td><button type="button" class="danger remove-step" on:click=move |_| rows.update(|v| { if i < v.len() { v.remove(i); } })>"Remove"</button></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <button type="button" id="add-step" on:click=move |_| rows.update(|v| v.push(StepRow::new("critical", "", "10m")))>"Add step"</button>
            <div class="actions">
                <button type="submit" class="primary" id="save-escalation">"Save"</button>
                {id.is_some().then(|| view! { <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button> })}
            </div>
            {move || saved.get().map(|m| view! { <p class="form-ok" id="escalation-saved" role="status">{m}</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_steps_per_severity_in_order() {
        let rows = [
            ("critical".into(), "slack".into(), "".into()),
            ("warning".into(), "email".into(), "5m".into()),
            ("critical".into(), " email ".into(), "10m".into()),
        ];
        assert_eq!(
            steps_body(&rows),
            json!({"critical": [{"contact_point": "slack", "after": "0s"}, {"contact_point": "email", "after": "10m"}],
                   "warning": [{"contact_point": "email", "after": "5m"}]})
        );
        let p = json!({"steps": steps_body(&rows)});
        assert_eq!(
            chain(&p)[0],
            (
                "critical".to_owned(),
                "slack now → email after 10m".to_owned()
            )
        );
    }
}
