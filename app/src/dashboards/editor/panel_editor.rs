//! The selected panel's fields, queries with a live preview, and its place on the grid.

use leptos::prelude::*;
use serde_json::{json, Value};

use super::{grid_of, query_letter};
use crate::components::chart::Chart;
use crate::components::chart_model::ChartRequest;
use crate::components::promql_editor::{pick_source, QueryEditor};
use crate::dashboards::grid_layout::{dragged, settle, DragMode};
use crate::dashboards::model::Grid;
use crate::fetch::Fetcher;

/// One panel's settings: type, title, source, queries (each in the Explore editor, with a
/// live preview), legends, unit, and its
/// place on the grid — arrow buttons (or the arrow keys while the grid box has focus) move
/// it, the size buttons resize it.
#[component]
pub(super) fn PanelEditor(
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
            let mut grids: Vec<Grid> = panels.iter().map(grid_of).collect();
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
