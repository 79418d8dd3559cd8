//! `/d/{uid}`: the view (time picker, variables, refresh, zoom, full-screen panel); the
//! URL holds the view, and the editor is fetched when `?edit` is set.

use leptos::lazy;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use serde_json::Value;

use super::editor::editor_view;
use super::panel::{from_module, PanelBox};
use crate::api_client::call;
use crate::components::chart_model::encode_pairs;
use crate::components::form::encode;
use crate::components::time_range::{preset_of, PRESETS};
use crate::dashboards::model::{DashboardRequest, DashboardView, VariableView};
use crate::dto::Role;
use crate::fetch::Fetcher;
use crate::session;

const PAGE_WIDTH: u32 = 1200;

/// The query-string pairs of the current URL, with `changes` applied (`None` removes).
fn url_with(uid: &str, current: &ParamsMap, changes: &[(&str, Option<String>)]) -> String {
    let mut pairs: Vec<(String, String)> = current
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_owned()))
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    for (k, v) in changes {
        if let Some(v) = v {
            pairs.push(((*k).to_owned(), v.clone()));
        }
    }
    let refs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let qs = encode_pairs(&refs);
    if qs.is_empty() {
        format!("/d/{uid}")
    } else {
        format!("/d/{uid}?{qs}")
    }
}

/// The URL with row `id`'s fold flipped: `toggle` lists the rows this view shows the other
/// way round from the saved dashboard.
fn toggle_url(uid: &str, current: &ParamsMap, id: u32) -> String {
    let id = id.to_string();
    let mut pairs: Vec<(String, String)> = current
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_owned()))
        .collect();
    let before = pairs.len();
    pairs.retain(|(k, v)| !(k == "toggle" && *v == id));
    if pairs.len() == before {
        pairs.push(("toggle".into(), id));
    }
    let refs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    format!("/d/{uid}?{}", encode_pairs(&refs))
}

fn request_of(uid: String, q: &ParamsMap, width: u32) -> DashboardRequest {
    let mut vars: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in q {
        if let Some(name) = k.strip_prefix("var-") {
            match vars.iter_mut().find(|(n, _)| n == name) {
                Some((_, vals)) => vals.push(v.to_owned()),
                None => vars.push((name.to_owned(), vec![v.to_owned()])),
            }
        }
    }
    DashboardRequest {
        uid,
        from: q.get("from").filter(|v| !v.is_empty()),
        to: q.get("to").filter(|v| !v.is_empty()),
        vars,
        width,
        panel: q.get("panel").and_then(|p| p.parse().ok()),
        toggle: q
            .get_all("toggle")
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect(),
    }
}

/// `/d/{uid}`.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let uid = Memo::new(move |_| params.read().get("uid").unwrap_or_default());
    let request = Memo::new(move |_| request_of(uid.get(), &query.read(), PAGE_WIDTH));
    let editing = Memo::new(move |_| query.read().get("edit").is_some());
    let fetcher = Fetcher::new();
    let view = Resource::new(
        move || request.get(),
        move |r| {
            let f = fetcher.clone();
            async move { f.dashboard(r).await }
        },
    );
    let navigate = use_navigate();
    let go = Callback::new(move |url: String| navigate(&url, Default::default()));
    let refresh = Callback::new(move |_: ()| view.refetch());
    // Effects run only in the browser, after hydration.
    let in_browser = RwSignal::new(false);
    Effect::new(move |_| in_browser.set(true));
    view! {
        <Transition fallback=|| view! { <p>"Loading the dashboard…"</p> }>
            {move || view.get().map(|r| match r {
                Err(e) => view! {
                    <Title text="Dashboard" />
                    <h1>"Dashboard"</h1>
                    <p class="form-error" role="alert">{e.to_string()}</p>
                }.into_any(),
                Ok(d) => view! { <Board d=d query=query go=go editing=editing refresh=refresh /> }.into_any(),
            })}
        </Transition>
        // Outside the transition: re-rendering the board after a save keeps the editor's state.
        // The editor is a module of its own, fetched the first time a user edits; it is
        // rendered in the browser only (after hydration), never by the server. Keyed on the
        // uid: after "Duplicate" the editor must edit the copy.
        {move || (editing.get() && in_browser.get()).then(|| from_module(Box::pin(editor_view(uid.get(), refresh))))}
    }
}

#[component]
fn Board(
    d: DashboardView,
    query: Memo<ParamsMap>,
    go: Callback<String>,
    editing: Memo<bool>,
    refresh: Callback<()>,
) -> impl IntoView {
    let uid = StoredValue::new(d.uid.clone());
    let can_edit = session::has_role(Role::Editor);
    let change = move |changes: Vec<(&'static str, Option<String>)>| {
        go.run(url_with(&uid.get_value(), &query.get_untracked(), &changes));
    };
    let starred = RwSignal::new(d.starred);
    let star = move |_| {
        let on = !starred.get_untracked();
        spawn_local(async move {
            let path = format!("/api/v1/dashboards/{}/star", encode(&uid.get_value()));
            if call::<Value>(if on { "POST" } else { "DELETE" }, &path, None::<&()>)
                .await
                .is_ok()
            {
                starred.set(on);
            }
        });
    };
    // Auto-refresh from the URL (`refresh=30s`), else the dashboard's own setting.
    let refresh_choice = Memo::new({
        let default = d.refresh.clone();
        move |_| {
            query
                .read()
                .get("refresh")
                .unwrap_or_else(|| default.clone())
        }
    });
    Effect::new(move |_| {
        let secs = parse_secs(&refresh_choice.get());
        // Cleared when the setting changes and when the page goes away (a page that
        // re-renders must not leave its timer running).
        if secs > 0 {
            if let Ok(h) = set_interval_with_handle(
                move || refresh.run(()),
                std::time::Duration::from_secs(secs),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });
    let preset = preset_of(&d.from, &d.to);
    let presets = PRESETS
        .iter()
        .map(|(k, label)| view! { <option value=*k selected=preset == *k>{*label}</option> })
        .collect_view();
    let pick = Callback::new(move |(name, vals): (String, Vec<String>)| {
        // `var-NAME` repeats once per selected value.
        let key = format!("var-{name}");
        let mut q = query.get_untracked();
        q.remove(&key);
        for v in vals {
            q.insert(key.clone(), v);
        }
        go.run(url_with(&uid.get_value(), &q, &[]));
    });
    // Most dashboards have none: the pickers are a module of their own.
    let variables = (!d.variables.is_empty())
        .then(|| from_module(Box::pin(variable_pickers(d.variables.clone(), pick))));
    let full_screen = query.get_untracked().get("panel").is_some();
    let title = d.title.clone();
    let provisioned = d.provisioned_from.clone();
    let panels = d.panels.clone();
    // Explore links carry the dashboard's time range.
    let range = (d.from.clone(), d.to.clone());
    view! {
        <Title text=title.clone() />
        <div class="board-head">
            <h1 id="dashboard-title">{title.clone()}</h1>
            <button type="button" class="star" id="star-dashboard" aria-pressed=move || if starred.get() { "true" } else { "false" } on:click=star>
                {move || if starred.get() { "★ Starred" } else { "☆ Star" }}
            </button>
            {can_edit.then(|| view! {
                <button type="button" id="edit-dashboard" on:click=move |_| change(vec![("edit", if editing.get_untracked() { None } else { Some("1".into()) })])>
                    {move || if editing.get() { "Close editor" } else { "Edit" }}
                </button>
            })}
            <a class="button" href=format!("/api/v1/dashboards/{}/export", d.uid) download>"Export JSON"</a>
        </div>
        {provisioned.map(|file| view! {
            <p class="notice" role="status">{format!("Provisioned from {file}. You may edit it here; the file replaces it on the next start unless you unlink it in the editor.")}</p>
        })}
        <div class="toolbar board-toolbar">
            <label>"Time "
                <select id="board-time" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if v != "custom" { change(vec![("from", Some(format!("now-{v}"))), ("to", Some("now".into()))]); }
                }>
                    {presets}
                    <option value="custom" selected=preset == "custom">"Zoomed / absolute"</option>
                </select>
            </label>
            <label>"Refresh "
                <select id="board-refresh" on:change=move |ev| change(vec![("refresh", Some(event_target_value(&ev)))])>
                    {["", "10s", "30s", "1m", "5m"].map(|r| view! {
                        <option value=r selected=move || refresh_choice.get() == r>{if r.is_empty() { "off" } else { r }}</option>
                    })}
                </select>
            </label>
            <button type="button" id="board-reload" on:click=move |_| refresh.run(())>"↻ Refresh"</button>
            {variables}
            {full_screen.then(|| view! { <button type="button" id="exit-full" on:click=move |_| change(vec![("panel", None)])>"Back to the dashboard"</button> })}
        </div>
        <div class="board-grid" class:full-screen=full_screen>
            {panels.into_iter().map(|p| {
                let fold = toggle_url(&uid.get_value(), &query.get_untracked(), p.id);
                view! { <PanelBox p=p full=full_screen fold=fold range=range.clone() change=Callback::new(move |c: Vec<(&'static str, Option<String>)>| change(c)) /> }
            }).collect_view()}
        </div>
    }
}

fn parse_secs(r: &str) -> u64 {
    let r = r.trim();
    let (num, mult) = if let Some(n) = r.strip_suffix('s') {
        (n, 1)
    } else if let Some(n) = r.strip_suffix('m') {
        (n, 60)
    } else if let Some(n) = r.strip_suffix('h') {
        (n, 3600)
    } else {
        return 0;
    };
    num.parse::<u64>().map(|n| n * mult).unwrap_or(0)
}

/// The variables' pickers, in a module of their own (`preload_drawn_panels` loads it before
/// the page hydrates when the server drew pickers).
#[lazy]
pub(super) fn variable_pickers(
    vars: Vec<VariableView>,
    change: Callback<(String, Vec<String>)>,
) -> AnyView {
    vars.into_iter()
        .map(|v| view! { <VariablePicker v=v change=change /> })
        .collect_view()
        .into_any()
}

#[component]
fn VariablePicker(v: VariableView, change: Callback<(String, Vec<String>)>) -> impl IntoView {
    let name = v.name.clone();
    let id = format!("var-{}", v.name);
    let current = v.current.clone();
    let all = current.first().map(String::as_str) == Some("$__all");
    let mut options: Vec<(String, String)> = Vec::new();
    if v.include_all {
        options.push(("$__all".into(), "All".into()));
    }
    options.extend(v.options.iter().map(|o| (o.clone(), o.clone())));
    let error = v.error.clone();
    if v.kind == "text" {
        let value = current.first().cloned().unwrap_or_default();
        return view! {
            <label>{v.label.clone()} " "
                <input id=id value=value on:change=move |ev| change.run((name.clone(), vec![event_target_value(&ev)])) />
            </label>
        }
        .into_any();
    }
    let opts = options
        .into_iter()
        .map(|(value, label)| {
            let selected = current.contains(&value) || (all && value == "$__all");
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <label class="variable">{v.label.clone()} " "
            <select id=id multiple=v.multi on:change=move |ev| {
                let el: leptos::web_sys::HtmlSelectElement = event_target(&ev);
                let chosen = el.selected_options();
                let mut vals = Vec::new();
                for i in 0..chosen.length() {
                    if let Some(o) = chosen.item(i) {
                        if let Some(v) = o.get_attribute("value") { vals.push(v); }
                    }
                }
                change.run((name.clone(), vals));
            }>{opts}</select>
            {error.map(|e| view! { <span class="field-error">{e}</span> })}
        </label>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_other_state_and_repeat_variables() {
        let mut q = ParamsMap::new();
        q.insert("from", "now-6h".into());
        q.insert("var-endpoint", "/a".into());
        q.insert("var-endpoint", "/b".into());
        let url = url_with(
            "ops",
            &q,
            &[("from", Some("1000".into())), ("to", Some("2000".into()))],
        );
        assert_eq!(
            url,
            "/d/ops?var-endpoint=%2Fa&var-endpoint=%2Fb&from=1000&to=2000"
        );
        let r = request_of("ops".into(), &q, 1200);
        assert_eq!(
            r.vars,
            vec![(
                "endpoint".to_owned(),
                vec!["/a".to_owned(), "/b".to_owned()]
            )]
        );
        assert_eq!(parse_secs("30s"), 30);
        assert_eq!(parse_secs("5m"), 300);
        assert_eq!(parse_secs(""), 0);
    }
}
