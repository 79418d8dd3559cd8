//! The dashboard editor: a module of its own (`#[lazy]`), fetched after hydration when
//! `?edit` is set; viewers never download it. It edits the typed document
//! (`wire::dashboard::Dashboard`, one signal): the panel editor, the variables form and the
//! layout map read and write that copy, and "Save" sends it for the server to check.

mod layout_map;
mod panel_editor;
mod variables_form;

use leptos::lazy;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::components::form::{encode, form_error};
use crate::dashboards::grid_layout::settle;
use layout_map::LayoutMap;
use panel_editor::PanelEditor;
use variables_form::VariablesForm;
use wire::dashboard::{Dashboard, Grid, Panel, PanelKind, Target, Variable};

/// A stored dashboard as `GET /api/v1/dashboards/{uid}` answers.
#[derive(Clone, Debug, Deserialize)]
struct StoredDashboard {
    dashboard: Dashboard,
    version: i64,
    provisioned_from: Option<String>,
}

/// What a save answers.
#[derive(Clone, Debug, Deserialize)]
struct Saved {
    version: i64,
    warning: Option<String>,
}

/// What "Duplicate" answers: the copy's uid.
#[derive(Clone, Debug, Deserialize)]
struct Copied {
    uid: String,
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
pub(super) fn editor_view(uid: String, refresh: Callback<()>) -> AnyView {
    view! { <Editor uid=uid refresh=refresh /> }.into_any()
}

#[component]
fn Editor(uid: String, refresh: Callback<()>) -> impl IntoView {
    let doc = RwSignal::new(None::<Dashboard>);
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
                if let Ok(s) = call::<StoredDashboard>(
                    "GET",
                    &format!("/api/v1/dashboards/{}", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    version.set(s.version);
                    provisioned.set(s.provisioned_from);
                    doc.set(Some(s.dashboard));
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
                match call::<Saved>(
                    "PUT",
                    &format!("/api/v1/dashboards/{}", encode(&uid)),
                    Some(&body),
                )
                .await
                {
                    Ok(v) => {
                        failure.set(None);
                        version.set(v.version);
                        saved.set(Some(match v.warning {
                            Some(w) => format!("Saved as version {}. {w}", v.version),
                            None => format!("Saved as version {}.", v.version),
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
                d.panels.push(new_panel(&d.panels));
                selected.set(Some(d.panels.len() - 1));
            }
        });
    };
    let panel_list = move || {
        let Some(d) = doc.get() else {
            return view! { <p>"Loading…"</p> }.into_any();
        };
        d.panels
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let g = &p.grid;
                let label = format!(
                    "{} ({}) at {},{} size {}×{}",
                    p.title,
                    p.kind.as_str(),
                    g.x, g.y, g.w, g.h
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
                    // Through `Value`, as the old version is: both with their keys sorted.
                    let current = doc
                        .try_get_untracked()
                        .flatten()
                        .and_then(|d| serde_json::to_value(d).ok())
                        .map(|d| pretty(&d))
                        .unwrap_or_default();
                    diff.set(Some((
                        v,
                        crate::components::diff::line_diff(&pretty(&old), &current),
                    )));
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
                if let Ok(copy) = call::<Copied>(
                    "POST",
                    &format!("/api/v1/dashboards/{}/duplicate", encode(&uid)),
                    None::<&()>,
                )
                .await
                {
                    navigate(&format!("/d/{}?edit=1", copy.uid), Default::default());
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
                    <input id="dash-title" prop:value=move || doc.with(|d| d.as_ref().map(|d| d.title.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); doc.update(|d| if let Some(d) = d.as_mut() { d.title = v; }); } />
                    <VariablesForm doc=doc failure=failure />
                    <details class="variables-json">
                    <summary>"Variables as JSON"</summary>
                    <label for="dash-variables">"Variables (JSON list)"</label>
                    <textarea id="dash-variables" rows="4"
                        prop:value=move || doc.with(|d| d.as_ref().map(|d| serde_json::to_string_pretty(&d.variables).unwrap_or_default()).unwrap_or_default())
                        on:change=move |ev| match variables_of(&event_target_value(&ev)) {
                            Ok(list) => {
                                vars_problem.set(None);
                                doc.update(|d| if let Some(d) = d.as_mut() { d.variables = list; });
                            }
                            Err(m) => vars_problem.set(Some(m)),
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
                            remove=Callback::new(move |i: usize| { doc.update(|d| if let Some(d) = d.as_mut() { if i < d.panels.len() { d.panels.remove(i); } }); selected.set(None); }) />
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

/// Queries are named A, B, C… as in Grafana.
pub(super) fn query_letter(k: usize) -> String {
    char::from_u32(u32::from(b'A') + (k % 26) as u32)
        .map(String::from)
        .unwrap_or_default()
}

/// After panel `fixed` was placed, pushes the panels it covers down (`grid_layout::settle`
/// on the document's panels).
pub(super) fn settle_panels(panels: &mut [Panel], fixed: usize) {
    let mut grids: Vec<Grid> = panels.iter().map(|p| p.grid.clone()).collect();
    settle(&mut grids, fixed);
    for (p, g) in panels.iter_mut().zip(grids) {
        p.grid = g;
    }
}

/// A new panel below the others: the next free id, half the width, `up` as its query.
fn new_panel(panels: &[Panel]) -> Panel {
    let id = panels.iter().map(|p| p.id).max().unwrap_or(0) + 1;
    let y = panels
        .iter()
        .map(|p| p.grid.y + p.grid.h)
        .max()
        .unwrap_or(0);
    Panel {
        id,
        kind: PanelKind::Timeseries,
        title: format!("Panel {id}"),
        grid: Grid {
            x: 0,
            y,
            w: 12,
            h: 8,
        },
        datasource: None,
        targets: vec![Target {
            expr: "up".into(),
            ..Target::default()
        }],
        unit: String::new(),
        min: None,
        max: None,
        thresholds: Vec::new(),
        reducer: Default::default(),
        text: String::new(),
        collapsed: false,
        mappings: Vec::new(),
        overrides: Vec::new(),
    }
}

/// The variables typed as JSON (the form's other view), or what is wrong with the text.
fn variables_of(text: &str) -> Result<Vec<Variable>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_array() => {
            serde_json::from_value(v).map_err(|e| format!("not a list of variables: {e}"))
        }
        Ok(_) => Err("must be a JSON list of variables".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_panel_takes_the_next_id_below_the_others() {
        let first = new_panel(&[]);
        assert_eq!((first.id, first.grid.y), (1, 0));
        let mut moved = first.clone();
        moved.grid.y = 4;
        let second = new_panel(&[moved]);
        assert_eq!((second.id, second.grid.y), (2, 12));
    }

    #[test]
    fn variables_as_json_are_read_or_refused_with_the_reason() {
        let list = variables_of(r#"[{"name": "job", "type": "custom", "query": "a,b"}]"#).unwrap();
        assert_eq!(list[0].name, "job");
        assert_eq!(
            variables_of("{}").unwrap_err(),
            "must be a JSON list of variables"
        );
        assert!(variables_of("[").unwrap_err().starts_with("not JSON"));
        assert!(variables_of(r#"[{"name": "x", "type": "nope"}]"#)
            .unwrap_err()
            .starts_with("not a list of variables"));
    }
}
