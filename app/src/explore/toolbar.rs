//! Data source, mode, time range and refresh above the editor.

use leptos::prelude::*;

use super::state::ExploreState;
use crate::components::chart::utc;
use crate::components::promql_editor::pick_source;
use crate::components::time_range::{local_input_to_rfc3339, to_local_input, PRESETS, REFRESH};
use crate::dto::SourceOption;

/// Data source, mode, time range and refresh.
#[component]
pub(super) fn Toolbar(
    list: Vec<SourceOption>,
    state: Memo<ExploreState>,
    go: Callback<ExploreState>,
    run: Callback<()>,
) -> impl IntoView {
    let from_input = RwSignal::new(to_local_input(&state.get_untracked().from));
    let to_input = RwSignal::new(to_local_input(&state.get_untracked().to));
    let range_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let st = state.get();
        from_input.set(to_local_input(&st.from));
        to_input.set(to_local_input(&st.to));
    });
    let apply_absolute = move |_| match (
        local_input_to_rfc3339(&from_input.get_untracked()),
        local_input_to_rfc3339(&to_input.get_untracked()),
    ) {
        (Some(f), Some(t)) if f < t => {
            range_error.set(None);
            let mut st = state.get_untracked();
            st.from = f;
            st.to = t;
            st.step = None;
            go.run(st);
        }
        (Some(_), Some(_)) => range_error.set(Some("“From” must be before “To”.".into())),
        _ => range_error.set(Some("Enter both times (UTC).".into())),
    };
    // Chosen from this list (not the page's `source` memo, which reads the resource
    // outside this transition).
    let options = list.clone();
    let active = Memo::new(move |_| pick_source(state.read().source, &options));
    let sources = list
        .into_iter()
        .map(|s| {
            let selected = move || active.get() == Some(s.id);
            view! { <option value=s.id.to_string() selected=selected>{s.name.clone()}</option> }
        })
        .collect_view();
    let presets = PRESETS
        .iter()
        .map(|(k, label)| view! { <option value=*k selected=move || state.read().preset() == *k>{*label}</option> })
        .collect_view();
    let refreshes = REFRESH
        .iter()
        .map(|(k, _)| view! { <option value=*k selected=move || state.read().refresh == *k>{*k}</option> })
        .collect_view();
    view! {
        <div class="toolbar explore-toolbar">
            <label>
                "Source "
                <select id="source-select" on:change=move |ev| {
                    let mut st = state.get_untracked();
                    st.source = event_target_value(&ev).parse().ok();
                    go.run(st);
                }>{sources}</select>
            </label>
            <fieldset class="mode">
                <legend class="visually-hidden">"Query type"</legend>
                <label>
                    <input type="radio" name="mode" id="mode-range" checked=move || !state.read().instant
                        on:change=move |_| { let mut st = state.get_untracked(); st.instant = false; go.run(st); } />
                    " Range"
                </label>
                <label>
                    <input type="radio" name="mode" id="mode-instant" checked=move || state.read().instant
                        on:change=move |_| { let mut st = state.get_untracked(); st.instant = true; go.run(st); } />
                    " Instant"
                </label>
            </fieldset>
            <label>
                "Time "
                <select id="time-preset" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if v != "custom" {
                        let mut st = state.get_untracked();
                        st.from = format!("now-{v}");
                        st.to = "now".into();
                        st.step = None;
                        go.run(st);
                    }
                }>
                    {presets}
                    <option value="custom" selected=move || state.read().preset() == "custom">"Absolute range"</option>
                </select>
            </label>
            <details class="absolute-range">
                <summary>"From / to (UTC)"</summary>
                <label>"From " <input type="datetime-local" id="time-from" prop:value=move || from_input.get()
                    on:input=move |ev| from_input.set(event_target_value(&ev)) /></label>
                <label>"To " <input type="datetime-local" id="time-to" prop:value=move || to_input.get()
                    on:input=move |ev| to_input.set(event_target_value(&ev)) /></label>
                <button type="button" id="apply-range" on:click=apply_absolute>"Apply"</button>
                {move || range_error.get().map(|m| view! { <span class="field-error" data-field="time">{m}</span> })}
            </details>
            <label>
                "Refresh "
                <select id="refresh-select" on:change=move |ev| {
                    let mut st = state.get_untracked();
                    st.refresh = event_target_value(&ev);
                    go.run(st);
                }>{refreshes}</select>
            </label>
            <span class="range-label" id="range-label">{move || describe_range(&state.read())}</span>
            <button type="button" class="primary" id="run-query" on:click=move |_| run.run(())>"Run"</button>
        </div>
    }
}

fn describe_range(st: &ExploreState) -> String {
    if let Some((_, label)) = PRESETS.iter().find(|(k, _)| *k == st.preset()) {
        return (*label).to_owned();
    }
    let show = |t: &str| {
        t.parse::<f64>()
            .map(|n| utc(if n > 1e11 { n / 1000.0 } else { n }))
            .unwrap_or_else(|_| t.to_owned())
    };
    format!("{} → {} UTC", show(&st.from), show(&st.to))
}
