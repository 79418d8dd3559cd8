//! Dashboards: the list (search, tags, folders, stars, import with its report, new), the
//! view at `/d/{uid}` (every panel drawn on the server and in the first HTML; time picker,
//! variables, refresh, zoom, full-screen panel, "explore this query"), and the editor
//! (add, move and resize panels with buttons or the keyboard, edit queries with a live
//! preview, save with a message, versions with restore, duplicate, delete, unlink).

use leptos::lazy;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::chart::Chart;
use crate::chart_model::{encode_pairs, ChartRequest};
use crate::dashboard_model::{
    DashboardRequest, DashboardView, GridPos, PanelBody, PanelView, StatValue, VariableView,
};
use crate::dto::Role;
use crate::explore::{pick_source, preset_of, zoom_times, Editor as QueryEditor, PRESETS};
use crate::fetch::Fetcher;
use crate::form::{encode, field_error, form_error};
use crate::grid_layout::{dragged, settle, DragMode, COLUMNS};
use crate::session;

const PAGE_WIDTH: u32 = 1200;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Summary {
    uid: String,
    title: String,
    folder: String,
    tags: Vec<String>,
    starred: bool,
    provisioned_from: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Recent {
    uid: String,
    title: String,
}

/// The signed-in user's recently viewed dashboards (the home page shows them).
#[component]
pub fn RecentDashboards() -> impl IntoView {
    let recent = RwSignal::new(Vec::<Recent>::new());
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(r) =
                call::<Vec<Recent>>("GET", "/api/v1/dashboards/recent", None::<&()>).await
            {
                recent.set(r);
            }
        });
    });
    move || {
        let r = recent.get();
        (!r.is_empty()).then(|| view! {
            <section class="recent" aria-label="Recently viewed">
                <h2>"Recently viewed dashboards"</h2>
                <ul class="inline-list" id="recent-dashboards">
                    {r.into_iter().map(|d| view! { <li><a href=format!("/d/{}", d.uid)>{d.title}</a></li> }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// `/dashboards`.
#[component]
pub fn DashboardList() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let search = RwSignal::new(String::new());
    let tag = RwSignal::new(String::new());
    let starred_only = RwSignal::new(false);
    let reload = RwSignal::new(0u32);
    let list = RwSignal::new(None::<Result<Vec<Summary>, ApiFailure>>);
    Effect::new(move |_| {
        reload.track();
        let path = format!(
            "/api/v1/dashboards?{}",
            encode_pairs(&[
                ("query", search.get()),
                ("tag", tag.get()),
                ("starred", starred_only.get().to_string()),
            ])
        );
        spawn_local(async move {
            list.set(Some(call("GET", &path, None::<&()>).await));
        });
    });
    let toggle_star = move |uid: String, on: bool| {
        spawn_local(async move {
            let method = if on { "POST" } else { "DELETE" };
            let path = format!("/api/v1/dashboards/{}/star", encode(&uid));
            if call::<Value>(method, &path, None::<&()>).await.is_ok() {
                reload.update(|n| *n += 1);
            }
        });
    };
    let rows = move || {
        match list.get() {
        None => view! { <tr><td colspan="4">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="4" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(items)) if items.is_empty() => view! { <tr><td colspan="4">"No dashboards match."</td></tr> }.into_any(),
        Some(Ok(items)) => items
            .into_iter()
            .map(|d| {
                let uid = d.uid.clone();
                let on = !d.starred;
                let tags = d
                    .tags
                    .iter()
                    .map(|t| {
                        let t2 = t.clone();
                        view! { <button type="button" class="tag" on:click=move |_| tag.set(t2.clone())>{t.clone()}</button> }
                    })
                    .collect_view();
                view! {
                    <tr data-uid=d.uid.clone()>
                        <td>
                            <button type="button" class="star" aria-pressed=if d.starred { "true" } else { "false" }
                                title=if d.starred { "Unstar" } else { "Star" }
                                on:click=move |_| toggle_star(uid.clone(), on)>
                                {if d.starred { "★" } else { "☆" }}
                            </button>
                        </td>
                        <td><a href=format!("/d/{}", d.uid)>{d.title.clone()}</a>
                            {d.provisioned_from.as_ref().map(|_| view! { <span class="badge">"provisioned"</span> })}
                        </td>
                        <td>{d.folder.clone()}</td>
                        <td>{tags}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <Title text="Dashboards" />
        <h1>"Dashboards"</h1>
        <RecentDashboards />
        <div class="toolbar">
            <input type="search" id="dashboard-search" placeholder="Search by title" prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev)) />
            <label><input type="checkbox" id="starred-only" on:change=move |ev| starred_only.set(event_target_checked(&ev)) /> " Starred"</label>
            {move || (!tag.get().is_empty()).then(|| view! {
                <button type="button" class="tag active" on:click=move |_| tag.set(String::new())>{format!("tag: {} ✕", tag.get())}</button>
            })}
        </div>
        <table class="grid" id="dashboards-table">
            <thead><tr><th></th><th>"Title"</th><th>"Folder"</th><th>"Tags"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {can_edit.then(|| view! { <NewDashboard /> <ImportDashboard /> })}
    }
}

#[component]
fn NewDashboard() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({ "dashboard": { "title": title.get_untracked() }, "message": "created" });
        let navigate = navigate.clone();
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/dashboards", Some(&body)).await {
                Ok(v) => navigate(
                    &format!("/d/{}?edit=1", v["uid"].as_str().unwrap_or("")),
                    Default::default(),
                ),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card inline-form" id="new-dashboard" on:submit=create>
            <h2>"New dashboard"</h2>
            <div class="field">
                <label for="new-title">"Title"</label>
                <input id="new-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev)) />
                {field_error(failure, "title")}
            </div>
            <button type="submit" class="primary">"Create"</button>
            {form_error(failure)}
        </form>
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct ReportEntry {
    kind: String,
    title: String,
    source_type: String,
    outcome: String,
    notes: Vec<String>,
}

#[component]
fn ImportDashboard() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let report = RwSignal::new(None::<(String, Vec<ReportEntry>, Value)>);
    let overwrite = RwSignal::new(false);
    let import = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        report.set(None);
        let parsed: Result<Value, _> = serde_json::from_str(&text.get_untracked());
        let body = match parsed {
            Ok(v) => v,
            Err(e) => {
                failure.set(Some(ApiFailure {
                    status: 400,
                    code: "invalid".into(),
                    message: format!("not JSON: {e}"),
                    field: Some("dashboard".into()),
                }));
                return;
            }
        };
        let path = if overwrite.get_untracked() {
            "/api/v1/dashboards/import?overwrite=true"
        } else {
            "/api/v1/dashboards/import"
        };
        spawn_local(async move {
            match call::<Value>("POST", path, Some(&body)).await {
                Ok(v) => {
                    failure.set(None);
                    let entries: Vec<ReportEntry> =
                        serde_json::from_value(v["report"].clone()).unwrap_or_default();
                    report.set(Some((
                        v["uid"].as_str().unwrap_or("").to_owned(),
                        entries,
                        v,
                    )));
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card" id="import-dashboard" on:submit=import>
            <h2>"Import"</h2>
            <p class="muted">"Paste Grafana dashboard JSON (any schema version, with or without the {\"dashboard\": …} wrapper) or a Keiko dashboard. The report lists what changed and what could not be converted."</p>
            <textarea id="import-json" rows="8" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <div class="import-options">
                <label for="import-file">"Or choose a file: "</label>
                <input id="import-file" type="file" accept=".json,application/json"
                    on:change=move |ev| {
                        #[cfg(feature = "hydrate")]
                        {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                spawn_local(async move {
                                    let read = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                                    text.set(read.ok().and_then(|v| v.as_string()).unwrap_or_default());
                                });
                            }
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = ev;
                    } />
                <label>
                    <input type="checkbox" id="import-overwrite" prop:checked=move || overwrite.get()
                        on:change=move |ev| overwrite.set(event_target_checked(&ev)) />
                    " Replace a dashboard with the same uid (its versions stay in the history)"
                </label>
            </div>
            {field_error(failure, "dashboard")}
            {move || failure.get().and_then(|f| f.field.filter(|x| x != "dashboard").map(|x| view! { <p class="field-error" data-field=x.clone()>{format!("{x}: {}", f.message)}</p> }))}
            {form_error(failure)}
            <button type="submit" class="primary" id="import-button">"Import"</button>
            {move || report.get().map(|(uid, entries, answer)| view! {
                <div class="import-report" id="import-report" role="status">
                    <p id="import-summary">
                        {if answer["overwritten"] == true { "Imported over the existing dashboard: " } else { "Imported: " }}
                        {format!(
                            "{} converted, {} changed, {} dropped. ",
                            answer["summary"]["converted"], answer["summary"]["changed"], answer["summary"]["dropped"]
                        )}
                        <a href=format!("/d/{uid}") id="open-imported">"Open the dashboard"</a>
                    </p>
                    <table class="grid">
                        <thead><tr><th>"What"</th><th>"Grafana type"</th><th>"Outcome"</th><th>"Notes"</th></tr></thead>
                        <tbody>
                            {entries.into_iter().map(|e| {
                                let class = format!("outcome-{}", e.outcome);
                                view! {
                                    <tr class=class>
                                        <td>{format!("{}: {}", e.kind, e.title)}</td>
                                        <td>{e.source_type}</td>
                                        <td>{e.outcome.replace('_', " ")}</td>
                                        <td>{e.notes.join("; ")}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
        </form>
    }
}

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
        // rendered in the browser only (after hydration), never by the server.
        <Show when=move || editing.get() && in_browser.get()>
            // Keyed on the uid: after "Duplicate" the editor must edit the copy.
            <Suspense fallback=|| view! { <p>"Loading the editor…"</p> }>
                {move || {
                    let uid = uid.get();
                    Suspend::new(async move { editor_view(uid, refresh).await })
                }}
            </Suspense>
        </Show>
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
    let variables = d
        .variables
        .clone()
        .into_iter()
        .map(|v| view! { <VariablePicker v=v change=Callback::new(move |(name, vals): (String, Vec<String>)| {
            // `var-NAME` repeats once per selected value.
            let key = format!("var-{name}");
            let mut q = query.get_untracked();
            q.remove(&key);
            for v in vals { q.insert(key.clone(), v); }
            go.run(url_with(&uid.get_value(), &q, &[]));
        }) /> })
        .collect_view();
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

#[component]
fn PanelBox(
    p: PanelView,
    full: bool,
    /// For a row: the URL that folds or unfolds it.
    fold: String,
    /// The dashboard's time range (from, to), for the Explore link.
    range: (String, String),
    change: Callback<Vec<(&'static str, Option<String>)>>,
) -> impl IntoView {
    let g = p.grid.clone();
    let style = if full {
        String::new()
    } else {
        format!(
            "grid-column:{} / span {};grid-row:{} / span {}",
            g.x + 1,
            g.w,
            g.y + 1,
            g.h
        )
    };
    let id = p.id;
    let explore = p.query.clone().map(|q| {
        let mut pairs = vec![("q", q), ("from", range.0.clone()), ("to", range.1.clone())];
        if let Some(ds) = p.datasource {
            pairs.push(("ds", ds.to_string()));
        }
        format!("/explore/metrics?{}", encode_pairs(&pairs))
    });
    if let PanelBody::Row { collapsed } = p.body {
        return view! {
            <div class="panel-row" style=style data-panel=id.to_string()>
                <h2>
                    <a class="row-fold" href=fold aria-expanded=if collapsed { "false" } else { "true" }>
                        {if collapsed { "▸ " } else { "▾ " }}{p.title.clone()}
                    </a>
                </h2>
            </div>
        }
        .into_any();
    }
    let no_data = || view! { <div class="panel-nodata" role="status">"No data"</div> }.into_any();
    let body = match p.body.clone() {
        PanelBody::Chart { chart } if chart.series.is_empty() => no_data(),
        PanelBody::Stat { values } | PanelBody::Gauge { values, .. } if values.is_empty() => no_data(),
        PanelBody::Table { table } if table.rows.is_empty() => no_data(),
        PanelBody::Chart { chart } => view! {
            <Chart view=chart focus=None
                on_zoom=Callback::new(move |range: (f64, f64)| {
                    let (from, to) = zoom_times(range);
                    change.run(vec![("from", Some(from)), ("to", Some(to))]);
                })
                on_focus=Callback::new(|_| {}) />
        }.into_any(),
        PanelBody::Stat { values } => {
            let named = values.len() > 1;
            view! { <div class="stat-values">{values.into_iter().map(|v| stat_view(v, named)).collect_view()}</div> }.into_any()
        }
        PanelBody::Gauge { values, min, max } => {
            let named = values.len() > 1;
            view! {
                <div class="stat-values">{values.into_iter().map(|v| gauge_view(v, min, max, named)).collect_view()}</div>
            }.into_any()
        }
        PanelBody::Table { table } => view! {
            <table class="grid panel-table">
                <thead><tr><th>"Series"</th><th class="num">"Value"</th></tr></thead>
                <tbody>{table.rows.into_iter().map(|r| view! { <tr><td>{r.series}</td><td class="num">{r.value}</td></tr> }).collect_view()}</tbody>
            </table>
        }.into_any(),
        // Rendered by the server from Markdown with raw HTML escaped: safe to insert.
        PanelBody::Text { html } => view! { <div class="panel-text" inner_html=html></div> }.into_any(),
        PanelBody::Unsupported { original } => view! {
            <p class="notice">{format!("Panel type “{original}” was not converted on import.")}</p>
        }.into_any(),
        PanelBody::Error { message } => view! { <div class="panel-error" role="alert">{message}</div> }.into_any(),
        PanelBody::Row { .. } => ().into_any(),
    };
    view! {
        <section class="panel" style=style data-panel=id.to_string() aria-label=p.title.clone()>
            <header class="panel-head">
                // The title's length sizes its font on the grid (style/main.css).
                <h3 style=chars_var(&p.title)>{p.title.clone()}</h3>
                <span class="panel-actions">
                    {(!full).then(|| view! {
                        <button type="button" class="panel-full" title="View" on:click=move |_| change.run(vec![("panel", Some(id.to_string()))])>"⤢"</button>
                    })}
                    {explore.map(|href| view! { <a class="panel-explore" href=href title="Explore this query">"Explore"</a> })}
                </span>
            </header>
            <div class="panel-body">{body}</div>
        </section>
    }
    .into_any()
}

/// `--chars:N`, the text's length, from which the CSS sizes its font to fit the width.
fn chars_var(text: &str) -> String {
    format!("--chars:{}", text.chars().count().max(1))
}

/// The value's style: its colour and its length (the font fits the cell's width).
fn value_style(v: &StatValue) -> String {
    format!("color:{};{}", v.color, chars_var(&v.value))
}

/// One value of a stat panel. The series name only when the panel shows several values
/// (Grafana's "auto" text mode): a single value has the panel's title above it.
fn stat_view(v: StatValue, named: bool) -> impl IntoView {
    let style = value_style(&v);
    view! {
        <div class="stat">
            <div class="stat-value" style=style data-raw=v.raw.to_string()>{v.value}</div>
            {named.then(|| view! { <div class="stat-name">{v.name}</div> })}
            {(!v.sparkline.is_empty()).then(|| view! {
                <svg class="sparkline" viewBox="0 0 100 30" preserveAspectRatio="none" aria-hidden="true">
                    <polyline points=v.sparkline fill="none" stroke="currentColor" stroke-width="1.5" />
                </svg>
            })}
        </div>
    }
}

/// A 180° gauge: the arc filled to the value's share of [min, max], in its colour; the
/// series name as in `stat_view`.
fn gauge_view(v: StatValue, min: f64, max: f64, named: bool) -> impl IntoView {
    let share = if max > min && v.raw.is_finite() {
        ((v.raw - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let angle = std::f64::consts::PI * (1.0 - share);
    let (x, y) = (50.0 + 40.0 * angle.cos(), 50.0 - 40.0 * angle.sin());
    let arc = format!("M10,50 A40,40 0 0,1 {x:.2},{y:.2}");
    let color = v.color.clone();
    let style = value_style(&v);
    view! {
        <div class="stat gauge">
            <svg viewBox="0 0 100 56" class="gauge-svg" role="img" aria-label=format!("{} of {}", v.value, max)>
                <path d="M10,50 A40,40 0 0,1 90,50" fill="none" stroke="currentColor" stroke-opacity="0.15" stroke-width="8" />
                <path d=arc fill="none" stroke=color stroke-width="8" />
            </svg>
            <div class="stat-value" style=style data-raw=v.raw.to_string()>{v.value}</div>
            {named.then(|| view! { <div class="stat-name">{v.name}</div> })}
        </div>
    }
}

#[derive(Clone, Debug, Deserialize)]
struct VersionInfo {
    version: i64,
    message: String,
    author: String,
    created_at: String,
}

/// The editor: works on the stored document (loaded fresh), saves with the version it
/// started from.
/// The dashboard editor, split out of the page's module: viewers never download it.
#[lazy]
fn editor_view(uid: String, refresh: Callback<()>) -> AnyView {
    view! { <Editor uid=uid refresh=refresh /> }.into_any()
}

#[component]
fn Editor(uid: String, refresh: Callback<()>) -> impl IntoView {
    let doc = RwSignal::new(None::<Value>);
    let version = RwSignal::new(0i64);
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let message = RwSignal::new(String::new());
    let selected = RwSignal::new(None::<usize>);
    let vars_problem = RwSignal::new(None::<String>);
    let versions = RwSignal::new(Vec::<VersionInfo>::new());
    // The diff shown: (version, its lines against the current document).
    let diff = RwSignal::new(None::<(i64, Vec<(&'static str, String)>)>);
    let provisioned = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let load = {
        let uid = uid.clone();
        move || {
            let uid = uid.clone();
            spawn_local(async move {
                if let Ok(v) = call::<Value>(
                    "GET",
                    &format!("/api/v1/dashboards/{}", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    version.set(v["version"].as_i64().unwrap_or(0));
                    provisioned.set(v["provisioned_from"].as_str().map(str::to_owned));
                    doc.set(Some(v["dashboard"].clone()));
                }
                if let Ok(list) = call::<Vec<VersionInfo>>(
                    "GET",
                    &format!("/api/v1/dashboards/{}/versions", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    versions.set(list);
                }
            });
        }
    };
    let load = StoredValue::new(load);
    Effect::new(move |_| load.with_value(|l| l()));

    let save = {
        let uid = uid.clone();
        move |_| {
            let Some(d) = doc.get_untracked() else { return };
            let body = json!({ "dashboard": d, "version": version.get_untracked(), "message": message.get_untracked() });
            let uid = uid.clone();
            spawn_local(async move {
                match call::<Value>(
                    "PUT",
                    &format!("/api/v1/dashboards/{}", encode(&uid)),
                    Some(&body),
                )
                .await
                {
                    Ok(v) => {
                        failure.set(None);
                        version.set(v["version"].as_i64().unwrap_or(0));
                        saved.set(Some(match v["warning"].as_str() {
                            Some(w) => format!("Saved as version {}. {w}", v["version"]),
                            None => format!("Saved as version {}.", v["version"]),
                        }));
                        message.set(String::new());
                        // The editor may have been closed while the request ran.
                        load.try_with_value(|l| l());
                        refresh.try_run(());
                    }
                    Err(e) => {
                        saved.set(None);
                        failure.set(Some(e));
                    }
                }
            });
        }
    };
    let add_panel = move |_| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                let panels = d["panels"].as_array().cloned().unwrap_or_default();
                let id = panels.iter().filter_map(|p| p["id"].as_u64()).max().unwrap_or(0) + 1;
                let y = panels
                    .iter()
                    .map(|p| p["grid"]["y"].as_u64().unwrap_or(0) + p["grid"]["h"].as_u64().unwrap_or(0))
                    .max()
                    .unwrap_or(0);
                let mut list = panels;
                list.push(json!({"id": id, "type": "timeseries", "title": format!("Panel {id}"),
                    "grid": {"x": 0, "y": y, "w": 12, "h": 8}, "targets": [{"expr": "up", "legend": ""}]}));
                selected.set(Some(list.len() - 1));
                d["panels"] = Value::Array(list);
            }
        });
    };
    let panel_list = move || {
        let Some(d) = doc.get() else {
            return view! { <p>"Loading…"</p> }.into_any();
        };
        d["panels"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let label = format!(
                    "{} ({}) at {},{} size {}×{}",
                    p["title"].as_str().unwrap_or(""),
                    p["type"].as_str().unwrap_or(""),
                    p["grid"]["x"], p["grid"]["y"], p["grid"]["w"], p["grid"]["h"]
                );
                view! {
                    <li>
                        <button type="button" class="select-panel" aria-pressed=move || if selected.get() == Some(i) { "true" } else { "false" }
                            on:click=move |_| if selected.get_untracked() != Some(i) { selected.set(Some(i)) }>{label}</button>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };
    let restore = {
        let uid = uid.clone();
        move |v: i64| {
            let uid = uid.clone();
            let confirmed = window()
                .confirm_with_message(&format!("Restore version {v}? It becomes a new version."))
                .unwrap_or(false);
            if !confirmed {
                return;
            }
            spawn_local(async move {
                let body = json!({ "version": version.get_untracked() });
                match call::<Value>(
                    "POST",
                    &format!("/api/v1/dashboards/{}/restore/{v}", encode(&uid)),
                    Some(&body),
                )
                .await
                {
                    Ok(_) => {
                        failure.set(None);
                        saved.set(Some(format!("Restored version {v}.")));
                        // The editor may have been closed while the request ran.
                        load.try_with_value(|l| l());
                        refresh.try_run(());
                    }
                    Err(e) => failure.set(Some(e)),
                }
            });
        }
    };
    let show_diff = {
        let uid = uid.clone();
        move |v: i64| {
            let uid = uid.clone();
            spawn_local(async move {
                let path = format!("/api/v1/dashboards/{}/versions/{v}", encode(&uid));
                if let Ok(old) = call::<Value>("GET", &path, None::<&()>).await {
                    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
                    let current = doc
                        .try_get_untracked()
                        .flatten()
                        .map(|d| pretty(&d))
                        .unwrap_or_default();
                    diff.set(Some((v, crate::rules::line_diff(&pretty(&old), &current))));
                }
            });
        }
    };
    let duplicate = {
        let uid = uid.clone();
        let navigate = navigate.clone();
        move |_| {
            let uid = uid.clone();
            let navigate = navigate.clone();
            spawn_local(async move {
                if let Ok(v) = call::<Value>(
                    "POST",
                    &format!("/api/v1/dashboards/{}/duplicate", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    navigate(
                        &format!("/d/{}?edit=1", v["uid"].as_str().unwrap_or("")),
                        Default::default(),
                    );
                }
            });
        }
    };
    let delete = {
        let uid = uid.clone();
        let navigate = navigate.clone();
        move |_| {
            if !window()
                .confirm_with_message("Delete this dashboard? Its versions go with it.")
                .unwrap_or(false)
            {
                return;
            }
            let uid = uid.clone();
            let navigate = navigate.clone();
            spawn_local(async move {
                match call::<Value>(
                    "DELETE",
                    &format!("/api/v1/dashboards/{}", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    Ok(_) => navigate("/dashboards", Default::default()),
                    Err(e) => failure.set(Some(e)),
                }
            });
        }
    };
    let unlink = {
        let uid = uid.clone();
        move |_| {
            let uid = uid.clone();
            spawn_local(async move {
                if call::<Value>(
                    "POST",
                    &format!("/api/v1/dashboards/{}/unlink", encode(&uid)),
                    None::<&()>,
                )
                .await
                .is_ok()
                {
                    provisioned.set(None);
                }
            });
        }
    };
    view! {
        <section class="card editor" id="dashboard-editor" aria-label="Dashboard editor">
            <h2>"Edit"</h2>
            {form_error(failure)}
            // Fields the variables form shows beside themselves are not repeated here.
            {move || failure.get().and_then(|f| f.field.clone().filter(|field| !field.starts_with("variables[")).map(|field| view! {
                <p class="field-error" data-field=field.clone()>{format!("{field}: {}", f.message)}</p>
            }))}
            <div class="editor-cols">
                <div>
                    <label for="dash-title">"Title"</label>
                    <input id="dash-title" prop:value=move || doc.get().map(|d| d["title"].as_str().unwrap_or("").to_owned()).unwrap_or_default()
                        on:input=move |ev| { let v = event_target_value(&ev); doc.update(|d| if let Some(d) = d.as_mut() { d["title"] = json!(v); }); } />
                    <VariablesForm doc=doc failure=failure />
                    <details class="variables-json">
                    <summary>"Variables as JSON"</summary>
                    <label for="dash-variables">"Variables (JSON list)"</label>
                    <textarea id="dash-variables" rows="4"
                        prop:value=move || doc.get().map(|d| serde_json::to_string_pretty(&d["variables"]).unwrap_or_default()).unwrap_or_default()
                        on:change=move |ev| {
                            match serde_json::from_str::<Value>(&event_target_value(&ev)) {
                                Ok(v) if v.is_array() => {
                                    vars_problem.set(None);
                                    doc.update(|d| if let Some(d) = d.as_mut() { d["variables"] = v; });
                                }
                                Ok(_) => vars_problem.set(Some("must be a JSON list of variables".into())),
                                Err(e) => vars_problem.set(Some(format!("not JSON: {e}"))),
                            }
                        }></textarea>
                    {move || vars_problem.get().map(|m| view! { <p class="field-error" data-field="variables">{m}</p> })}
                    </details>
                    <h3>"Panels"</h3>
                    <ul class="panel-list">{panel_list}</ul>
                    <button type="button" id="add-panel" on:click=add_panel>"Add panel"</button>
                    <LayoutMap doc=doc selected=selected />
                </div>
                <div>
                    {move || selected.get().map(|i| view! {
                        <PanelEditor index=i doc=doc
                            remove=Callback::new(move |i: usize| { doc.update(|d| if let Some(arr) = d.as_mut().and_then(|d| d["panels"].as_array_mut()) { if i < arr.len() { arr.remove(i); } }); selected.set(None); }) />
                    })}
                </div>
            </div>
            <div class="save-bar">
                <input id="save-message" placeholder="What changed (optional)" prop:value=move || message.get() on:input=move |ev| message.set(event_target_value(&ev)) />
                <button type="button" class="primary" id="save-dashboard" on:click=save>"Save"</button>
                <button type="button" id="duplicate-dashboard" on:click=duplicate>"Duplicate"</button>
                <button type="button" class="danger" id="delete-dashboard" on:click=delete>"Delete"</button>
                {move || provisioned.get().map(|_| view! { <button type="button" id="unlink-dashboard" on:click=unlink.clone()>"Unlink from its file"</button> })}
                {move || saved.get().map(|m| view! { <span class="saved" role="status" id="save-status">{m}</span> })}
            </div>
            <details class="versions" id="dashboard-versions">
                <summary>"Versions"</summary>
                <ul>
                    {move || versions.get().into_iter().map(|v| {
                        let restore = restore.clone();
                        let show_diff = show_diff.clone();
                        let n = v.version;
                        view! {
                            <li data-version=n.to_string()>
                                {format!("v{} · {} · {} · {}", v.version, v.created_at, v.author, v.message)}
                                " "
                                <button type="button" class="diff-version" on:click=move |_| show_diff(n)>"Diff"</button>
                                " "
                                <button type="button" class="restore-version" on:click=move |_| restore(n)>"Restore"</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                {move || diff.get().map(|(v, lines)| view! {
                    <div class="diff" id="version-diff">
                        <p>{format!("Version {v} (−) against the editor's document (+)")}</p>
                        <pre>{lines.into_iter().filter(|(tag, _)| *tag != "same").map(|(tag, line)| view! {
                            <div class=format!("diff-{tag}")>{format!("{} {line}", if tag == "del" { "-" } else { "+" })}</div>
                        }).collect_view()}</pre>
                    </div>
                })}
            </details>
        </section>
    }
}

/// One panel's settings: type, title, source, queries (each in the Explore editor, with a
/// live preview), legends, unit, and its
/// place on the grid — arrow buttons (or the arrow keys while the grid box has focus) move
/// it, the size buttons resize it.
#[component]
fn PanelEditor(
    index: usize,
    doc: RwSignal<Option<Value>>,
    remove: Callback<usize>,
) -> impl IntoView {
    let p = Memo::new(move |_| {
        doc.with(|d| d.as_ref().and_then(|d| d["panels"].get(index).cloned()))
            .unwrap_or(Value::Null)
    });
    let edit = move |f: &dyn Fn(&mut Value)| {
        doc.update(|d| {
            if let Some(p) = d.as_mut().and_then(|d| d["panels"].get_mut(index)) {
                f(p);
            }
        });
    };
    let set = move |path: &'static [&'static str], v: Value| {
        edit(&|p| {
            let mut at = p;
            for (k, key) in path.iter().enumerate() {
                if k + 1 == path.len() {
                    at[*key] = v.clone();
                } else {
                    at = &mut at[*key];
                }
            }
        });
    };
    // Keyboard and button moves follow the same rules as dragging on the layout map.
    let nudge = move |dx: i64, dy: i64, dw: i64, dh: i64| {
        doc.update(|d| {
            let Some(panels) = d.as_mut().and_then(|d| d["panels"].as_array_mut()) else {
                return;
            };
            let mut grids: Vec<GridPos> = panels.iter().map(grid_of).collect();
            let Some(start) = grids.get(index).cloned() else {
                return;
            };
            let moved = dragged(&start, DragMode::Move, dx, dy);
            grids[index] = dragged(&moved, DragMode::Resize, dw, dh);
            settle(&mut grids, index);
            for (p, g) in panels.iter_mut().zip(grids) {
                p["grid"] = json!(g);
            }
        });
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let (dx, dy) = match ev.key().as_str() {
            "ArrowLeft" => (-1, 0),
            "ArrowRight" => (1, 0),
            "ArrowUp" => (0, -1),
            "ArrowDown" => (0, 1),
            _ => return,
        };
        ev.prevent_default();
        if ev.shift_key() {
            nudge(0, 0, dx, dy);
        } else {
            nudge(dx, dy, 0, 0);
        }
    };
    // 1: the preview is drawn as soon as the panel is picked.
    let preview_at = RwSignal::new(1u32);
    let fetcher = Fetcher::new();
    let sources = Resource::new(|| (), {
        let f = fetcher.clone();
        move |_| f.clone().sources()
    });
    // The panel's source, else the default one: completion and preview ask it.
    let source = Memo::new(move |_| {
        let list = sources.get().and_then(Result::ok).unwrap_or_default();
        pick_source(p.with(|p| p["datasource"].as_i64()), &list)
    });
    // Every query of the panel drawn over the last hour, one chart each.
    let preview = Resource::new(
        move || preview_at.get(),
        move |n| {
            let f = fetcher.clone();
            let p = p.get_untracked();
            async move {
                if n == 0 {
                    return Vec::new();
                }
                let list = sources.await.unwrap_or_default();
                let Some(ds) = pick_source(p["datasource"].as_i64(), &list) else {
                    return Vec::new();
                };
                let mut charts = Vec::new();
                for (k, t) in p["targets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let req = ChartRequest {
                        query: t["expr"].as_str().unwrap_or("").to_owned(),
                        from: "now-1h".into(),
                        to: "now".into(),
                        width: 600,
                        height: 200,
                        unit: p["unit"].as_str().unwrap_or("").to_owned(),
                        legend: t["legend"].as_str().unwrap_or("").to_owned(),
                        ..Default::default()
                    };
                    charts.push((query_letter(k), f.clone().chart(ds, req).await));
                }
                charts
            }
        },
    );
    // A preview follows the queries as they are edited, once typing pauses.
    let typed = StoredValue::new(0u64);
    Effect::new(move |first: Option<()>| {
        p.with(|p| p["targets"].to_string());
        typed.update_value(|n| *n += 1);
        let ticket = typed.get_value();
        if first.is_some() {
            set_timeout(
                move || {
                    // The editor may be gone by now (another panel picked, page left).
                    if typed.try_get_value() == Some(ticket) {
                        preview_at.try_update(|n| *n += 1);
                    }
                },
                std::time::Duration::from_millis(600),
            );
        }
    });
    let target_count = Memo::new(move |_| p.with(|p| p["targets"].as_array().map_or(0, Vec::len)));
    let add_query = move |_| {
        edit(&|p| {
            if !p["targets"].is_array() {
                p["targets"] = json!([]);
            }
            if let Some(list) = p["targets"].as_array_mut() {
                list.push(json!({"expr": "", "legend": ""}));
            }
        })
    };
    let query_row = move |k: usize| {
        let draft = RwSignal::new(
            p.with_untracked(|p| p["targets"][k]["expr"].as_str().unwrap_or("").to_owned()),
        );
        Effect::new(move |_| {
            let v = draft.get();
            if p.with_untracked(|p| p["targets"][k]["expr"].as_str() != Some(v.as_str())) {
                edit(&|p| {
                    if p["targets"][k].is_object() {
                        p["targets"][k]["expr"] = json!(v.clone());
                    }
                });
            }
        });
        // And back: removing an earlier query shifts this row onto the next one's text.
        Effect::new(move |_| {
            let stored = p.with(|p| p["targets"][k]["expr"].as_str().map(str::to_owned));
            if let Some(stored) = stored {
                if draft.with_untracked(|d| *d != stored) {
                    draft.set(stored);
                }
            }
        });
        let legend_id = format!("panel-legend-{k}");
        view! {
            <div class="panel-target" data-query=k.to_string()>
                <h4>{format!("Query {}", query_letter(k))}</h4>
                <QueryEditor id=format!("panel-query-{k}") draft=draft source=source run=Callback::new(move |_| preview_at.update(|n| *n += 1)) />
                <label for=legend_id.clone()>"Legend"</label>
                <input id=legend_id prop:value=move || p.with(|p| p["targets"][k]["legend"].as_str().unwrap_or("").to_owned())
                    placeholder="{{label}} …"
                    on:change=move |ev| { let v = event_target_value(&ev); edit(&|p| { if p["targets"][k].is_object() { p["targets"][k]["legend"] = json!(v); } }); } />
                <button type="button" class="remove-query" on:click=move |_| edit(&|p| {
                    if let Some(list) = p["targets"].as_array_mut() { if k < list.len() { list.remove(k); } }
                })>"Remove query"</button>
            </div>
        }
    };
    let text_field = move |id: &'static str, label: &'static str, path: &'static [&'static str]| {
        let value = move || {
            let v = p.get();
            let mut at = &v;
            for k in path {
                at = &at[*k];
            }
            at.as_str().unwrap_or("").to_owned()
        };
        view! {
            <label for=id>{label}</label>
            <input id=id prop:value=value on:change=move |ev| set(path, json!(event_target_value(&ev))) />
        }
    };
    view! {
        <div class="panel-editor" id="panel-editor">
            <h3>{move || format!("Panel {}", p.get()["id"])}</h3>
            <div class="form-grid">
                {text_field("panel-title", "Title", &["title"])}
                <label for="panel-type">"Type"</label>
                <select id="panel-type" on:change=move |ev| set(&["type"], json!(event_target_value(&ev)))>
                    {["timeseries", "stat", "gauge", "table", "text", "row"].map(|k| view! {
                        <option value=k selected=move || p.get()["type"] == k>{k}</option>
                    })}
                </select>
                <label for="panel-source">"Data source"</label>
                <select id="panel-source" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set(&["datasource"], v.parse::<i64>().map(|id| json!(id)).unwrap_or(Value::Null));
                }>
                    <option value="" selected=move || p.get()["datasource"].is_null()>"Default source"</option>
                    <Transition fallback=|| ()>
                        {move || sources.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| {
                            let id = s.id;
                            view! { <option value=id.to_string() selected=move || p.get()["datasource"].as_i64() == Some(id)>{s.name}</option> }
                        }).collect_view()}
                    </Transition>
                </select>
                {text_field("panel-unit", "Unit", &["unit"])}
                <label for="panel-collapsed">"Row collapsed"</label>
                <input id="panel-collapsed" type="checkbox" prop:checked=move || p.get()["collapsed"].as_bool().unwrap_or(false)
                    on:change=move |ev| set(&["collapsed"], json!(event_target_checked(&ev))) />
                <label for="panel-text">"Text (Markdown)"</label>
                <textarea id="panel-text" rows="2" prop:value=move || p.get()["text"].as_str().unwrap_or("").to_owned()
                    on:change=move |ev| set(&["text"], json!(event_target_value(&ev)))></textarea>
            </div>
            <div class="panel-targets">
                <For each=move || 0..target_count.get() key=|k| *k children=query_row />
                <button type="button" id="add-query" on:click=add_query>"Add query"</button>
            </div>
            <div class="grid-controls" tabindex="0" id="grid-controls" on:keydown=on_key
                aria-label="Position: arrow keys move, Shift+arrow keys resize">
                <span id="grid-position">{move || { let g = p.get()["grid"].clone(); format!("x {} · y {} · w {} · h {}", g["x"], g["y"], g["w"], g["h"]) }}</span>
                <button type="button" id="move-left" on:click=move |_| nudge(-1, 0, 0, 0)>"←"</button>
                <button type="button" id="move-right" on:click=move |_| nudge(1, 0, 0, 0)>"→"</button>
                <button type="button" id="move-up" on:click=move |_| nudge(0, -1, 0, 0)>"↑"</button>
                <button type="button" id="move-down" on:click=move |_| nudge(0, 1, 0, 0)>"↓"</button>
                <button type="button" id="wider" on:click=move |_| nudge(0, 0, 1, 0)>"Wider"</button>
                <button type="button" id="narrower" on:click=move |_| nudge(0, 0, -1, 0)>"Narrower"</button>
                <button type="button" id="taller" on:click=move |_| nudge(0, 0, 0, 1)>"Taller"</button>
                <button type="button" id="shorter" on:click=move |_| nudge(0, 0, 0, -1)>"Shorter"</button>
            </div>
            <button type="button" id="preview-panel" on:click=move |_| preview_at.update(|n| *n += 1)>"Preview query"</button>
            <button type="button" class="danger" id="remove-panel" on:click=move |_| remove.run(index)>"Remove panel"</button>
            <Transition fallback=|| ()>
                {move || preview.get().map(|charts| charts.into_iter().map(|(letter, r)| view! {
                    <div class="preview-chart" data-query=letter>
                        {match r {
                            Ok(c) => view! { <Chart view=c focus=None on_zoom=Callback::new(|_| {}) on_focus=Callback::new(|_| {}) /> }.into_any(),
                            Err(e) => view! { <div class="panel-error" role="alert">{format!("{letter}: {e}")}</div> }.into_any(),
                        }}
                    </div>
                }).collect_view())}
            </Transition>
        </div>
    }
}

/// The dashboard's variables as a form, one fieldset each: name, kind, label, the query
/// (or list, or default), multi-select and "All". The server checks them on save; its
/// message appears beside the field it names (`variables[2].name`).
#[component]
fn VariablesForm(
    doc: RwSignal<Option<Value>>,
    failure: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    let set = move |i: usize, key: &'static str, v: Value| {
        doc.update(|d| {
            if let Some(var) = d.as_mut().and_then(|d| d["variables"].get_mut(i)) {
                var[key] = v;
            }
        });
    };
    let add = move |_| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                if !d["variables"].is_array() {
                    d["variables"] = json!([]);
                }
                if let Some(list) = d["variables"].as_array_mut() {
                    list.push(json!({"name": "", "type": "query", "query": "", "multi": false, "include_all": false, "current": []}));
                }
            }
        });
    };
    let remove = move |i: usize| {
        doc.update(|d| {
            if let Some(list) = d.as_mut().and_then(|d| d["variables"].as_array_mut()) {
                if i < list.len() {
                    list.remove(i);
                }
            }
        });
    };
    let problem =
        move |i: usize, key: &'static str| {
            move || {
                let field = format!("variables[{i}].{key}");
                failure.get().filter(|f| f.field.as_deref() == Some(field.as_str())).map(|f| {
                view! { <span class="field-error" data-field=field.clone()>{f.message}</span> }
            })
            }
        };
    // Fields read the document reactively; only adding or removing a variable re-creates
    // the fieldsets (so focus stays where the user is typing).
    let count = Memo::new(move |_| {
        doc.with(|d| {
            d.as_ref()
                .and_then(|d| d["variables"].as_array().map(Vec::len))
                .unwrap_or(0)
        })
    });
    let field = move |i: usize, key: &'static str| {
        move || {
            doc.with(|d| {
                d.as_ref()
                    .map(|d| d["variables"][i][key].clone())
                    .unwrap_or(Value::Null)
            })
        }
    };
    let row = move |i: usize| {
        let text = move |k: &'static str| move || field(i, k)().as_str().unwrap_or("").to_owned();
        let flag = move |k: &'static str| move || field(i, k)().as_bool().unwrap_or(false);
        let query_label = move || match text("type")().as_str() {
            "query" => "Query (label_values(metric, label))",
            "custom" => "Values (comma-separated)",
            "interval" => "Intervals (e.g. 1m,5m,1h)",
            _ => "Default value",
        };
        let id = move |k: &str| format!("var-{i}-{k}");
        view! {
            <fieldset class="variable-form" data-index=i.to_string()>
                <legend>{format!("Variable {}", i + 1)}</legend>
                <div class="form-grid">
                    <label for=id("name")>"Name"</label>
                    <span>
                        <input id=id("name") prop:value=text("name") on:change=move |ev| set(i, "name", json!(event_target_value(&ev))) />
                        {problem(i, "name")}
                    </span>
                    <label for=id("type")>"Kind"</label>
                    <select id=id("type") on:change=move |ev| set(i, "type", json!(event_target_value(&ev)))>
                        {["query", "custom", "interval", "text"].map(|k| view! { <option value=k selected=move || text("type")() == k>{k}</option> })}
                    </select>
                    <label for=id("label")>"Label"</label>
                    <input id=id("label") prop:value=text("label") on:change=move |ev| set(i, "label", json!(event_target_value(&ev))) />
                    <label for=id("query")>{query_label}</label>
                    <span>
                        <input id=id("query") prop:value=text("query") on:change=move |ev| set(i, "query", json!(event_target_value(&ev))) />
                        {problem(i, "query")}
                    </span>
                    <label for=id("multi")>"Multi-select"</label>
                    <input id=id("multi") type="checkbox" prop:checked=flag("multi")
                        on:change=move |ev| set(i, "multi", json!(event_target_checked(&ev))) />
                    <label for=id("all")>"Include All"</label>
                    <input id=id("all") type="checkbox" prop:checked=flag("include_all")
                        on:change=move |ev| set(i, "include_all", json!(event_target_checked(&ev))) />
                </div>
                <button type="button" class="remove-variable" on:click=move |_| remove(i)>"Remove variable"</button>
            </fieldset>
        }
    };
    view! {
        <h3>"Variables"</h3>
        <div id="variables-form">
            <For each=move || 0..count.get() key=|i| *i children=row />
        </div>
        <button type="button" id="add-variable" on:click=add>"Add variable"</button>
    }
}

/// Queries are named A, B, C… as in Grafana.
fn query_letter(k: usize) -> String {
    char::from_u32(u32::from(b'A') + (k % 26) as u32)
        .map(String::from)
        .unwrap_or_default()
}

/// A panel's place on the grid, from the editor's document.
fn grid_of(p: &Value) -> GridPos {
    serde_json::from_value(p["grid"].clone()).unwrap_or_default()
}

/// Grid rows on the layout map, in pixels.
const MAP_ROW_PX: f64 = 8.0;

/// The panels as boxes on the 24-column grid: drag a box to move its panel, drag its corner
/// to resize it (whole cells). Dropping pushes the panels it covers down. The arrow keys in
/// the panel editor do the same without a mouse.
#[component]
fn LayoutMap(doc: RwSignal<Option<Value>>, selected: RwSignal<Option<usize>>) -> impl IntoView {
    let map = NodeRef::<leptos::html::Div>::new();
    // The drag under way: panel, mode, pointer start, grid at the start.
    let drag = StoredValue::new(None::<(usize, DragMode, i32, i32, GridPos)>);
    let start = move |ev: leptos::ev::PointerEvent, i: usize, mode: DragMode| {
        ev.prevent_default();
        ev.stop_propagation();
        let Some(g) =
            doc.with_untracked(|d| d.as_ref().and_then(|d| d["panels"].get(i).map(grid_of)))
        else {
            return;
        };
        drag.set_value(Some((i, mode, ev.client_x(), ev.client_y(), g)));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let Some((i, mode, x0, y0, g)) = drag.get_value() else {
            return;
        };
        let width = map
            .get_untracked()
            .map(|m| m.client_width())
            .unwrap_or(0)
            .max(1);
        let col = f64::from(width) / f64::from(COLUMNS);
        let dx = (f64::from(ev.client_x() - x0) / col).round() as i64;
        let dy = (f64::from(ev.client_y() - y0) / MAP_ROW_PX).round() as i64;
        let next = dragged(&g, mode, dx, dy);
        let changed = doc.with_untracked(|d| {
            d.as_ref().and_then(|d| d["panels"].get(i).map(grid_of)) != Some(next.clone())
        });
        if changed {
            doc.update(|d| {
                if let Some(p) = d.as_mut().and_then(|d| d["panels"].get_mut(i)) {
                    p["grid"] = json!(next);
                }
            });
        }
    };
    let end = move |_| {
        let Some((i, ..)) = drag.get_value() else {
            return;
        };
        drag.set_value(None);
        // Picked when the drag ends, not when it starts: opening the panel editor changes
        // the page's height, which must not move the map under a pointer mid-drag.
        // Only a different panel rebuilds the panel editor.
        if selected.get_untracked() != Some(i) {
            selected.set(Some(i));
        }
        doc.update(|d| {
            let Some(panels) = d.as_mut().and_then(|d| d["panels"].as_array_mut()) else {
                return;
            };
            let mut grids: Vec<GridPos> = panels.iter().map(grid_of).collect();
            settle(&mut grids, i);
            for (p, g) in panels.iter_mut().zip(grids) {
                p["grid"] = json!(g);
            }
        });
    };
    let boxes = move || {
        doc.get()
            .map(|d| d["panels"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let g = grid_of(&p);
                let cols = f64::from(COLUMNS);
                let style = format!(
                    "left:{:.4}%;width:{:.4}%;top:{}px;height:{}px",
                    f64::from(g.x) / cols * 100.0,
                    f64::from(g.w) / cols * 100.0,
                    f64::from(g.y) * MAP_ROW_PX,
                    f64::from(g.h) * MAP_ROW_PX,
                );
                let title = p["title"].as_str().unwrap_or("").to_owned();
                let hint = format!("{title}: drag to move, drag the corner to resize");
                view! {
                    <div class="layout-box" class:row-box=p["type"] == "row" style=style data-index=i.to_string()
                        class:selected=move || selected.get() == Some(i)
                        title=hint
                        on:pointerdown=move |ev| start(ev, i, DragMode::Move)>
                        <span>{title}</span>
                        <span class="layout-resize" aria-hidden="true" on:pointerdown=move |ev| start(ev, i, DragMode::Resize)></span>
                    </div>
                }
            })
            .collect_view()
    };
    let height = move || {
        let bottom = doc.with(|d| {
            d.as_ref()
                .and_then(|d| {
                    d["panels"].as_array().map(|ps| {
                        ps.iter()
                            .map(|p| {
                                let g = grid_of(p);
                                g.y + g.h
                            })
                            .max()
                            .unwrap_or(0)
                    })
                })
                .unwrap_or(0)
        });
        // Room below the last panel to drag into.
        format!("height:{}px", f64::from(bottom + 8) * MAP_ROW_PX)
    };
    view! {
        <h3>"Layout"</h3>
        <div class="layout-map" id="layout-map" node_ref=map style=height
            on:pointermove=on_move on:pointerup=end on:pointerleave=end>
            {boxes}
        </div>
    }
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
