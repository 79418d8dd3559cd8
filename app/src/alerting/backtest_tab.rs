//! The editor's "Backtest" tab: one alerting rule of the editor (saved or not) run over a
//! past range with `POST /api/v1/rules/backtest`; beside the form, the timeline of when it
//! would have been pending and firing and the notifications it would have sent. A refusal
//! stands beside the field it names.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Value};

use super::draft::GroupDraft;
use super::timeline::{from_intervals, label_text, short_time, Timeline};
use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, field_error_under};
use crate::components::time_range::rfc3339_seconds;

/// Runs one API call of a tab: `running` while it runs, then its answer into `result` or
/// its refusal into `failure`.
pub(super) fn run_call(
    call: impl std::future::Future<Output = Result<Value, ApiFailure>> + 'static,
    result: RwSignal<Option<Value>>,
    failure: RwSignal<Option<ApiFailure>>,
    running: RwSignal<bool>,
) {
    running.set(true);
    spawn_local(async move {
        match call.await {
            Ok(v) => {
                failure.set(None);
                result.set(Some(v));
            }
            Err(e) => {
                result.set(None);
                failure.set(Some(e));
            }
        }
        running.set(false);
    });
}

#[component]
pub(super) fn BacktestTab(draft: RwSignal<GroupDraft>) -> impl IntoView {
    let rule = RwSignal::new(String::new());
    let start = RwSignal::new("now-6h".to_owned());
    let end = RwSignal::new("now".to_owned());
    let step = RwSignal::new(draft.with_untracked(|d| {
        Some(d.interval.trim().to_owned())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| "1m".into())
    }));
    let failure = RwSignal::new(None::<ApiFailure>);
    let result = RwSignal::new(None::<Value>);
    let running = RwSignal::new(false);
    let alerting = move || {
        draft.with(|d| {
            d.rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.alert)
                .map(|(i, r)| (i, r.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    let run = move |_| {
        let spec = draft.with_untracked(GroupDraft::to_spec);
        let chosen = rule.get_untracked().parse::<usize>().ok();
        let index = chosen
            .filter(|i| spec.rules.get(*i).is_some_and(|r| r.alert.is_some()))
            .or_else(|| spec.rules.iter().position(|r| r.alert.is_some()));
        let Some(index) = index else {
            failure.set(Some(ApiFailure {
                status: 400,
                code: "invalid".into(),
                message: "the group has no alerting rule to backtest".into(),
                field: Some("rule".into()),
            }));
            return;
        };
        let mut body = json!({
            "rule": spec.rules[index],
            "start": start.get_untracked().trim(),
            "end": end.get_untracked().trim(),
            "step": step.get_untracked().trim(),
        });
        if let Some(source) = spec.source {
            body["source"] = json!(source);
        }
        run_call(
            async move { call::<Value>("POST", "/api/v1/rules/backtest", Some(&body)).await },
            result,
            failure,
            running,
        );
    };
    view! {
        <div id="backtest" class="side-by-side">
            <div class="form backtest-form">
                <p class="muted">"Runs the rule as it is in the editor (saved or not) over a past range, with its real for and keep_firing_for."</p>
                <div class="field">
                    <label for="backtest-rule">"Rule"</label>
                    <select id="backtest-rule" on:change=move |ev| rule.set(event_target_value(&ev))>
                        {move || alerting().into_iter().map(|(i, n)| view! { <option value=i.to_string()>{n}</option> }).collect_view()}
                    </select>
                    {field_error_under(failure, "rule")}
                </div>
                <div class="field">
                    <label for="backtest-start">"From"</label>
                    <input id="backtest-start" prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev)) />
                    {field_error(failure, "start")}
                </div>
                <div class="field">
                    <label for="backtest-end">"To"</label>
                    <input id="backtest-end" prop:value=move || end.get() on:input=move |ev| end.set(event_target_value(&ev)) />
                    {field_error(failure, "end")}
                </div>
                <div class="field">
                    <label for="backtest-step">"Evaluation interval"</label>
                    <input id="backtest-step" prop:value=move || step.get() on:input=move |ev| step.set(event_target_value(&ev)) />
                    {field_error(failure, "step")}
                </div>
                {field_error(failure, "source")}
                <button type="button" class="primary" id="run-backtest" disabled=move || running.get() on:click=run>
                    {move || if running.get() { "Running…" } else { "Run backtest" }}
                </button>
                {move || failure.get().filter(|f| f.field.is_none()).map(|f| view! { <p class="form-error" id="backtest-error" role="alert">{f.message}</p> })}
            </div>
            <div class="backtest-result">
                {move || result.get().map(|r| view! { <BacktestResult r /> })}
            </div>
        </div>
    }
}

#[component]
fn BacktestResult(r: Value) -> impl IntoView {
    let alerts: Vec<Value> = r["alerts"].as_array().cloned().unwrap_or_default();
    let n = &r["notifications"];
    let summary = format!(
        "{} alerts, {} notifications ({} firing, {} repeated, {} resolved) in {} steps",
        alerts.len(),
        n["total"],
        n["firing"],
        n["repeats"],
        n["resolved"],
        r["steps"]
    );
    let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
    let (start_s, end_s) = (
        rfc3339_seconds(&text("start")).unwrap_or(0),
        rfc3339_seconds(&text("end")).unwrap_or(0),
    );
    let errors: Vec<String> = r["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| e.to_string())
        })
        .collect();
    let rows = alerts
        .iter()
        .map(|a| {
            view! {
                <tr class="backtest-alert">
                    <td class="labels">{label_text(&a["labels"])}</td>
                    <td>{a["intervals"].as_array().map(|i| i.len()).unwrap_or(0)}</td>
                    <td class="notifications">{a["notifications"].to_string()}</td>
                    <td>{a["receiver"].as_str().unwrap_or("—").to_owned()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div id="backtest-result" data-alerts=alerts.len() data-notifications=n["total"].to_string()>
            <p id="backtest-summary">{summary}</p>
            <Timeline rows=from_intervals(&alerts) start=start_s end=end_s
                start_text=short_time(&text("start")) end_text=short_time(&text("end")) />
            <table class="grid">
                <thead><tr><th>"Alert"</th><th>"Spans"</th><th>"Notifications"</th><th>"Contact point"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {(!errors.is_empty()).then(|| view! {
                <ul class="backtest-errors">{errors.into_iter().map(|e| view! { <li class="form-error">{e}</li> }).collect_view()}</ul>
            })}
        </div>
    }
}
