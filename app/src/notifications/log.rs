//! The notification log as a table: what was sent to which contact point, when, how many
//! alerts, the attempts and the receiver's answer; failed deliveries are marked.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::api_client::{call, ApiFailure};

/// The newest 50 entries; reloaded whenever `reload` changes (after a test, on "Refresh").
#[component]
pub fn NotificationLog(reload: RwSignal<u32>) -> impl IntoView {
    let entries = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            entries.set(Some(
                call("GET", "/api/v1/notifications?limit=50", None::<&()>).await,
            ));
        });
    });
    let text = |v: &Value, k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let rows = move || {
        match entries.get() {
        None => view! { <tr><td colspan="7">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="7" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(list)) if list.is_empty() => {
            view! { <tr><td colspan="7" class="muted">"Nothing was notified yet."</td></tr> }.into_any()
        }
        Some(Ok(list)) => list
            .into_iter()
            .map(|e| {
                let failed = e["outcome"] != "sent";
                view! {
                    <tr class="log-entry" class:log-failed=failed data-receiver=text(&e, "receiver") data-outcome=text(&e, "outcome")>
                        <td>{text(&e, "at")}</td>
                        <td>{text(&e, "receiver")}<span class="muted">{format!(" ({})", text(&e, "type"))}</span></td>
                        <td><code>{text(&e, "target")}</code></td>
                        <td>{format!("{} · {} alert(s)", text(&e, "status"), text(&e, "alerts"))}</td>
                        <td>{text(&e, "attempts")}</td>
                        <td class=if failed { "test-failed" } else { "test-ok" }>{text(&e, "outcome")}</td>
                        <td class="log-answer">{text(&e, "answer")}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <section class="card" id="notification-log" aria-label="Notification log">
            <h2>"Notification log"
                <button type="button" class="small" id="refresh-log" on:click=move |_| reload.update(|n| *n += 1)>"Refresh"</button>
            </h2>
            <table class="grid">
                <thead><tr><th>"When"</th><th>"Contact point"</th><th>"Target"</th><th>"What"</th><th>"Attempts"</th><th>"Outcome"</th><th>"Answer"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}
