//! The dashboard page (`/d/{uid}`) cut as Leptos islands: only what a user can touch on that
//! page hydrates — each panel's chart (tooltip, legend focus, drag-to-zoom), the toolbar
//! (time range, auto-refresh, reload, star) and the variable pickers. Everything else (the
//! layout, titles, stat and gauge panels, tables) would stay server-rendered HTML.
//!
//! It exists to be weighed against the lazy-route split (`scripts/measure_islands.sh`), not
//! to be served. It does not link the `app` crate (its lazy pages export their split points,
//! and exports keep all their code alive); it compiles the app's chart files themselves.

use leptos::prelude::*;

// The app's own chart: the component, its model and units, compiled here as they are
// (under `components`, the path they use for each other).
#[path = "../../../app/src/components/chart.rs"]
#[allow(dead_code)]
mod chart;
#[path = "../../../app/src/components/chart_model.rs"]
#[allow(dead_code)]
mod chart_model;
#[path = "../../../app/src/components/units.rs"]
#[allow(dead_code)]
mod units;
/// `chart_model` builds query strings with the app's form helper (not used by the chart).
mod form {
    pub fn encode(s: &str) -> String {
        String::from(js_sys::encode_uri_component(s))
    }
}
mod components {
    pub(crate) use super::{chart_model, form, units};
}

use components::chart_model::ChartView;

fn go(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(url);
    }
}

/// A panel's chart, as the dashboard page shows it: tooltip, legend focus, drag-to-zoom
/// (a zoom navigates to the new range).
#[island]
fn PanelChart(view: ChartView, uid: String) -> impl IntoView {
    let focus = RwSignal::new(None::<usize>);
    let chart = StoredValue::new(view);
    let uid = StoredValue::new(uid);
    move || {
        view! {
            <chart::Chart
                view=chart.get_value()
                focus=focus.get()
                on_zoom=move |(from, to): (f64, f64)| {
                    go(&format!(
                        "/d/{}?from={}&to={}",
                        uid.get_value(),
                        (from * 1000.0) as i64,
                        (to * 1000.0) as i64
                    ))
                }
                on_focus=move |i| focus.set(i)
            />
        }
    }
}

/// Time range, auto-refresh, reload and star.
#[island]
fn BoardToolbar(uid: String, starred: bool, refresh: String) -> impl IntoView {
    let starred = RwSignal::new(starred);
    let uid = StoredValue::new(uid);
    let secs: u64 = refresh.trim_end_matches('s').parse().unwrap_or(0);
    Effect::new(move |_| {
        if secs > 0 {
            if let Ok(h) = set_interval_with_handle(
                || {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                },
                std::time::Duration::from_secs(secs),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });
    let star = move |_| {
        let on = !starred.get_untracked();
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/dashboards/{}/star", uid.get_value());
            let method = if on { "POST" } else { "DELETE" };
            if star_request(method, &path).await {
                starred.set(on);
            }
        });
    };
    view! {
        <button type="button" class="star" aria-pressed=move || starred.get().to_string() on:click=star>
            {move || if starred.get() { "★ Starred" } else { "☆ Star" }}
        </button>
        <select on:change=move |ev| go(&format!("/d/{}?from=now-{}&to=now", uid.get_value(), event_target_value(&ev)))>
            {["5m", "15m", "1h", "6h", "24h", "7d"].map(|r| view! { <option value=r>{r}</option> })}
        </select>
        <select on:change=move |ev| go(&format!("/d/{}?refresh={}", uid.get_value(), event_target_value(&ev)))>
            {["", "10s", "30s", "1m", "5m"].map(|r| view! { <option value=r>{r}</option> })}
        </select>
        <button type="button" on:click=move |_| {
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }>"↻ Refresh"</button>
    }
}

/// A dashboard variable's values (several when the variable allows it).
#[island]
fn VariablePicker(uid: String, name: String, options: Vec<String>, multi: bool) -> impl IntoView {
    view! {
        <select multiple=multi on:change=move |ev| {
            go(&format!("/d/{uid}?var-{name}={}", event_target_value(&ev)))
        }>
            {options.into_iter().map(|o| { let label = o.clone(); view! { <option value=o>{label}</option> } }).collect_view()}
        </select>
    }
}

async fn star_request(method: &str, path: &str) -> bool {
    use wasm_bindgen::JsCast;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let Some(w) = web_sys::window() else { return false };
    let Ok(answer) = wasm_bindgen_futures::JsFuture::from(w.fetch_with_str_and_init(path, &init)).await else {
        return false;
    };
    answer.dyn_into::<web_sys::Response>().is_ok_and(|r| r.ok())
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
