//! The range picker of the trace pages: the time picker's presets, or "Custom range" when
//! the URL holds another range; picking a preset hands `now-<preset>` on.

use leptos::prelude::*;

use crate::components::time_range::{preset_of, PRESETS};

#[component]
pub fn RangeSelect(
    id: &'static str,
    /// `(from, to)` as the URL holds them.
    #[prop(into)]
    range: Signal<(String, String)>,
    /// Called with the new `from` (`to` becomes `now`).
    #[prop(into)]
    on_pick: Callback<String>,
) -> impl IntoView {
    let preset = move || {
        let (f, t) = range.get();
        preset_of(&f, &t)
    };
    view! {
        <label>"Range"
            <select id=id on:change=move |ev| {
                let v = event_target_value(&ev);
                if v != "custom" {
                    on_pick.run(format!("now-{v}"));
                }
            }>
                {move || (preset() == "custom").then(|| view! {
                    <option value="custom" selected=true>"Custom range"</option>
                })}
                {PRESETS.iter().map(|(k, label)| view! {
                    <option value=*k selected=move || preset() == *k>{*label}</option>
                }).collect_view()}
            </select>
        </label>
    }
}
