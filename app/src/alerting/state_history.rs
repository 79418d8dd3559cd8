//! The editor's "State history" tab: for each alerting rule of the group, a timeline of when
//! its alerts were pending and firing and the list of state changes (newest first) with
//! labels and value, from `GET /api/v1/rule-groups/{name}/state-history`; refreshed every
//! 5 seconds while the tab is open.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::draft::GroupDraft;
use super::group_url;
use super::timeline::{from_transitions, label_text, short_time, Timeline};
use crate::api_client::call;
use crate::components::time_range::rfc3339_seconds;

/// Browser clock, Unix seconds.
fn now_secs() -> i64 {
    (leptos::web_sys::js_sys::Date::now() / 1000.0) as i64
}

#[component]
pub(super) fn StateHistoryTab(
    namespace: String,
    name: String,
    draft: RwSignal<GroupDraft>,
) -> impl IntoView {
    let answer = RwSignal::new(None::<Value>);
    let failure = RwSignal::new(None::<String>);
    let url = group_url(&namespace, &name, "/state-history");
    let fetch = move || {
        let url = url.clone();
        spawn_local(async move {
            match call::<Value>("GET", &url, None::<&()>).await {
                Ok(v) => {
                    failure.set(None);
                    answer.set(Some(v));
                }
                Err(e) => failure.set(Some(e.message)),
            }
        });
    };
    Effect::new(move |_| {
        fetch();
        let again = fetch.clone();
        // Cleared when the tab closes.
        if let Ok(h) = set_interval_with_handle(again, std::time::Duration::from_secs(5)) {
            on_cleanup(move || h.clear());
        }
    });
    let rules = move || {
        draft.with(|d| {
            d.rules
                .iter()
                .filter(|r| r.alert && !r.name.is_empty())
                .map(|r| r.name.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div id="state-history">
            <p class="muted">"Every state change of every alert of this group's alerting rules: pending, firing, resolved (a pending alert that goes away before firing: inactive)."</p>
            {move || failure.get().map(|f| view! { <p class="form-error">{f}</p> })}
            {move || answer.get().map(|a| {
                let all: Vec<Value> = a["transitions"].as_array().cloned().unwrap_or_default();
                rules().into_iter().map(|rule| {
                    let mine: Vec<Value> = all.iter().filter(|t| t["rule"] == rule.as_str()).cloned().collect();
                    view! { <RuleHistory rule transitions=mine /> }
                }).collect_view()
            })}
        </div>
    }
}

#[component]
fn RuleHistory(rule: String, transitions: Vec<Value>) -> impl IntoView {
    let now = now_secs();
    let first = transitions
        .first()
        .and_then(|t| t["at"].as_str())
        .and_then(rfc3339_seconds)
        .unwrap_or(now - 3600);
    // From the first change (a little before it, so its bar shows) until now.
    let start = first - ((now - first) / 50).max(1);
    let rows = from_transitions(&transitions, now);
    let start_text = transitions
        .first()
        .and_then(|t| t["at"].as_str())
        .map(short_time)
        .unwrap_or_else(|| "1 hour ago".into());
    let list = transitions
        .iter()
        .rev()
        .take(200)
        .map(|t| {
            let to = t["to"].as_str().unwrap_or_default().to_owned();
            let from = t["from"].as_str().unwrap_or_default().to_owned();
            view! {
                <tr class="transition" data-to=to.clone() data-from=from.clone()>
                    <td>{short_time(t["at"].as_str().unwrap_or_default())}</td>
                    <td><span class=format!("badge state-{from}")>{from.clone()}</span>" → "<span class=format!("badge state-{to}")>{to.clone()}</span></td>
                    <td class="labels">{label_text(&t["labels"])}</td>
                    <td class="value">{t["value"].as_str().unwrap_or_default().to_owned()}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = transitions.is_empty();
    view! {
        <section class="card state-history-rule" id=format!("state-history-{rule}") data-rule=rule.clone() data-count=transitions.len()>
            <h3>{rule.clone()}</h3>
            {if empty {
                view! { <p class="muted no-transitions">"No state changes yet."</p> }.into_any()
            } else {
                view! {
                    <Timeline rows start end=now start_text end_text="now".to_owned() />
                    <table class="grid transitions">
                        <thead><tr><th>"When (UTC)"</th><th>"Change"</th><th>"Labels"</th><th>"Value"</th></tr></thead>
                        <tbody>{list}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
