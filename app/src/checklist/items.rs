//! One checklist item: state buttons, owner, due date, note, evidence, history.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use wire::checklist::{EvidenceStatus, HistoryEntry, ItemPatch, ItemView};

use super::STATES;
use crate::api_client::{call, ApiFailure};
use crate::components::form::field_error;
use crate::dto::UserView;

#[component]
pub(super) fn ItemRow(
    team_id: i64,
    item: ItemView,
    users: RwSignal<Vec<UserView>>,
    can_edit: bool,
    reload: RwSignal<u32>,
    shown: Signal<bool>,
) -> impl IntoView {
    let id = item.id;
    let state = item.state.clone();
    let failure = RwSignal::new(None::<ApiFailure>);
    let asking_reason = RwSignal::new(false);
    let reason = RwSignal::new(item.reason.clone());
    let history = RwSignal::new(None::<Vec<HistoryEntry>>);
    let send = move |body: ItemPatch| {
        spawn_local(async move {
            match call::<Value>(
                "PATCH",
                &format!("/api/v1/teams/{team_id}/checklist/items/{id}"),
                Some(&body),
            )
            .await
            {
                Ok(_) => {
                    failure.set(None);
                    asking_reason.set(false);
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let owner_id = item.owner.as_ref().map(|o| o.id);
    let evidence = item.evidence.clone();
    let warning = item.warning.clone();
    let overdue = item.overdue;
    let note_html = item.note_html.clone();
    let note = item.note.clone();
    let due = item.due_date.clone().unwrap_or_default();
    let links = item.evidence_links.clone();
    let links_text = links.join(" ");

    view! {
        <li class="checklist-item" data-item=id data-state=state.clone() class:hidden=move || !shown.get()>
            <div class="item-head">
                <div class="state-buttons" role="group" aria-label="State">
                    {STATES.iter().map(|(value, label)| {
                        let pressed = state == *value;
                        let value = *value;
                        view! {
                            <button type="button" class=format!("state-button state-{value}") aria-pressed=pressed.to_string() disabled=!can_edit
                                on:click=move |_| {
                                    if value == "not_applicable" {
                                        asking_reason.set(true);
                                    } else {
                                        send(ItemPatch { state: Some(value.to_owned()), ..Default::default() });
                                    }
                                }>
                                {*label}
                            </button>
                        }
                    }).collect_view()}
                </div>
                <span class="item-title"><strong>{item.title.clone()}</strong> " " {item.detail.clone()}</span>
                {overdue.then(|| view! { <span class="badge overdue">"overdue"</span> })}
                {evidence.map(|e| {
                    let text = match e.status {
                        EvidenceStatus::Verified => format!("evidence verified · {}", e.checked_at),
                        EvidenceStatus::Failing => format!("evidence failing since {}", e.failing_since.as_deref().unwrap_or("")),
                        EvidenceStatus::Unverifiable => e.detail.clone(),
                    };
                    let shown_detail = (e.status != EvidenceStatus::Unverifiable).then(|| view! { <span class="evidence-detail">{e.detail.clone()}</span> });
                    view! { <span class=format!("badge evidence-badge evidence-{}", e.status.as_str()) title=e.detail.clone()>{text}</span> {shown_detail} }
                })}
            </div>
            {warning.map(|w| view! { <p class="evidence-warning" role="alert">{w}</p> })}
            {move || asking_reason.get().then(|| view! {
                <div class="reason-form">
                    <label>"Why does this not apply?"</label>
                    <input class="reason-input" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev)) />
                    <button type="button" class="primary reason-save" on:click=move |_| send(ItemPatch { state: Some("not_applicable".into()), reason: Some(reason.get_untracked()), ..Default::default() })>"Mark not applicable"</button>
                    {field_error(failure, "reason")}
                </div>
            })}
            {(state == "not_applicable").then(|| view! { <p class="muted">"Not applicable: " {item.reason.clone()}</p> })}
            <div class="item-details">
                <label>"Owner"
                    <select class="owner-select" disabled=!can_edit on:change=move |ev| {
                        let v = event_target_value(&ev);
                        send(ItemPatch { owner_id: Some(v.parse::<i64>().ok()), ..Default::default() });
                    }>
                        <option value="">"—"</option>
                        {move || users.get().into_iter().map(|u| view! { <option value=u.id.to_string() selected=owner_id == Some(u.id)>{u.login}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Due"
                    <input type="date" class="due-input" value=due disabled=!can_edit on:change=move |ev| {
                        let v = event_target_value(&ev);
                        send(ItemPatch { due_date: Some(Some(v).filter(|v| !v.is_empty())), ..Default::default() });
                    } />
                </label>
                {field_error(failure, "due_date")}
                <details class="item-more">
                    <summary>"Note, links, history"</summary>
                    <div class="note-view" inner_html=note_html></div>
                    {can_edit.then(|| view! {
                        <textarea class="note-input" rows="3" placeholder="Markdown note" on:change=move |ev| send(ItemPatch { note: Some(event_target_value(&ev)), ..Default::default() })>{crate::components::form::raw_text(note.clone())}</textarea>
                        <input class="links-input" placeholder="https://… evidence links, space separated"
                            value=links_text.clone()
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                send(ItemPatch { evidence_links: Some(v.split_whitespace().map(str::to_owned).collect()), ..Default::default() });
                            } />
                        {field_error(failure, "evidence_links")}
                        {field_error(failure, "note")}
                    })}
                    <ul class="links">{links.into_iter().map(|l| view! { <li><a href=l.clone() rel="noopener noreferrer">{l.clone()}</a></li> }).collect_view()}</ul>
                    <button type="button" class="link show-history" on:click=move |_| {
                        spawn_local(async move {
                            if let Ok(h) = call::<Vec<HistoryEntry>>("GET", &format!("/api/v1/teams/{team_id}/checklist/items/{id}/history"), None::<&()>).await {
                                history.set(Some(h));
                            }
                        });
                    }>"Show history"</button>
                    {move || history.get().map(|h| view! {
                        <ol class="item-history">
                            {h.into_iter().map(|e| view! {
                                <li>{history_line(&e)}</li>
                            }).collect_view()}
                        </ol>
                    })}
                </details>
            </div>
            {move || failure.get().filter(|f| f.field.is_none()).map(|f| view! { <p class="form-error">{f.message}</p> })}
        </li>
    }
}

fn history_line(e: &HistoryEntry) -> String {
    format!("{} · {} changed {}", e.at, e.actor, e.changed.join(", "))
}
