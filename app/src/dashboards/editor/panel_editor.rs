//! The selected panel's fields, queries with a live preview, and its place on the grid. A
//! query is PromQL (in the Explore editor), "Logs (count)": a log query whose matching
//! lines are counted per interval, optionally split by a field, or "Traces (RED)": a
//! service's (or operation's) request rate, errors or duration percentile. A traces
//! panel's one query is its trace search (service, operation, attribute filters, duration
//! bounds, errors only, limit).

use leptos::prelude::*;
use wire::dashboard::{Dashboard, Panel, PanelKind, RedMeasure, Target, TargetKind};

use super::{query_letter, settle_panels};
use crate::components::chart::chart;
use crate::components::chart_model::ChartRequest;
use crate::components::promql_editor::{pick_source, QueryEditor};
use crate::dashboards::grid_layout::{dragged, DragMode};
use crate::fetch::Fetcher;

/// One panel's settings: type, title, source, queries (each in the Explore editor, with a
/// live preview), legends, unit, and its place on the grid — arrow buttons (or the arrow
/// keys while the grid box has focus) move it, the size buttons resize it.
#[component]
pub(super) fn PanelEditor(
    index: usize,
    doc: RwSignal<Option<Dashboard>>,
    remove: Callback<usize>,
) -> impl IntoView {
    let p = Memo::new(move |_| doc.with(|d| d.as_ref().and_then(|d| d.panels.get(index).cloned())));
    // Changes the panel (if it is still there).
    let edit = move |change: Box<dyn FnOnce(&mut Panel)>| {
        doc.update(|d| {
            if let Some(p) = d.as_mut().and_then(|d| d.panels.get_mut(index)) {
                change(p);
            }
        });
    };
    // A value of the panel, read reactively (its default once the panel is gone).
    let read = move |get: fn(&Panel) -> String| {
        move || p.with(|p| p.as_ref().map(get).unwrap_or_default())
    };
    // Keyboard and button moves follow the same rules as dragging on the layout map.
    let nudge = move |dx: i64, dy: i64, dw: i64, dh: i64| {
        doc.update(|d| {
            let Some(d) = d.as_mut() else { return };
            let Some(start) = d.panels.get(index).map(|p| p.grid.clone()) else {
                return;
            };
            let moved = dragged(&start, DragMode::Move, dx, dy);
            d.panels[index].grid = dragged(&moved, DragMode::Resize, dw, dh);
            settle_panels(&mut d.panels, index);
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
        pick_source(p.with(|p| p.as_ref().and_then(|p| p.datasource)), &list)
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
                let Some(p) = p else {
                    return Vec::new();
                };
                // A logs (traces) panel's query is in the log store's language (a trace
                // search), not PromQL: the view shows its lines; there is no chart to preview.
                if matches!(p.kind, PanelKind::Logs | PanelKind::Traces) {
                    return Vec::new();
                }
                let Some(ds) = pick_source(p.datasource, &list) else {
                    return Vec::new();
                };
                let mut charts = Vec::new();
                for (k, t) in p.targets.iter().enumerate() {
                    // Log counts are drawn by the dashboard's render path (the view), not
                    // by the PromQL chart API the preview asks.
                    if !t.kind.is_promql() {
                        continue;
                    }
                    let req = ChartRequest {
                        query: t.expr.clone(),
                        from: "now-1h".into(),
                        to: "now".into(),
                        width: 600,
                        height: 200,
                        unit: p.unit.clone(),
                        legend: t.legend.clone(),
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
        p.track();
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
    let target_count = Memo::new(move |_| p.with(|p| p.as_ref().map_or(0, |p| p.targets.len())));
    let add_query = move |_| edit(Box::new(|p| p.targets.push(Target::default())));
    // Query `k`'s text, if the panel has it.
    let expr_of = move |k: usize| {
        p.with_untracked(|p| {
            p.as_ref()
                .and_then(|p| p.targets.get(k))
                .map(|t| t.expr.clone())
        })
    };
    let query_row = move |k: usize| {
        let draft = RwSignal::new(expr_of(k).unwrap_or_default());
        Effect::new(move |_| {
            let v = draft.get();
            if expr_of(k).as_ref() != Some(&v) {
                edit(Box::new(move |p| {
                    if let Some(t) = p.targets.get_mut(k) {
                        t.expr = v;
                    }
                }));
            }
        });
        // And back: removing an earlier query shifts this row onto the next one's text.
        Effect::new(move |_| {
            let stored = p.with(|p| {
                p.as_ref()
                    .and_then(|p| p.targets.get(k))
                    .map(|t| t.expr.clone())
            });
            if let Some(stored) = stored {
                if draft.with_untracked(|d| *d != stored) {
                    draft.set(stored);
                }
            }
        });
        let legend_id = format!("panel-legend-{k}");
        let kind_id = format!("panel-query-kind-{k}");
        let target = move |get: fn(&Target) -> String| {
            move || {
                p.with(|p| {
                    p.as_ref()
                        .and_then(|p| p.targets.get(k))
                        .map(get)
                        .unwrap_or_default()
                })
            }
        };
        let kind = Memo::new(move |_| {
            p.with(|p| {
                p.as_ref()
                    .and_then(|p| p.targets.get(k))
                    .map(|t| t.kind)
                    .unwrap_or_default()
            })
        });
        let set_kind = move |ev: leptos::ev::Event| {
            let Some(new) = TargetKind::parse(&event_target_value(&ev)) else {
                return;
            };
            edit(Box::new(move |p| {
                if let Some(t) = p.targets.get_mut(k) {
                    switch_kind(t, new);
                }
            }));
        };
        // A text field of the target, written on change.
        let text_field = move |id: String,
                               label: &'static str,
                               placeholder: &'static str,
                               get: fn(&Target) -> String,
                               set: fn(&mut Target, String)| {
            view! {
                <label for=id.clone()>{label}</label>
                <input id=id prop:value=target(get) placeholder=placeholder
                    on:change=move |ev| { let v = event_target_value(&ev).trim().to_owned(); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { set(t, v); })); } />
            }
        };
        let service_fields = move || {
            view! {
                {text_field(format!("panel-service-{k}"), "Service", "checkout, $service …", |t| t.service.clone(), |t, v| t.service = v)}
                {text_field(format!("panel-operation-{k}"), "Operation", "empty: every operation", |t| t.operation.clone(), |t, v| t.operation = v)}
            }
        };
        // RED of a service: which series.
        let red_fields = move || {
            let measure_id = format!("panel-measure-{k}");
            let measure = move || {
                p.with(|p| {
                    p.as_ref()
                        .and_then(|p| p.targets.get(k))
                        .map(|t| t.measure)
                        .unwrap_or_default()
                })
            };
            view! {
                {service_fields()}
                <label for=measure_id.clone()>"Series"</label>
                <select id=measure_id on:change=move |ev| {
                    if let Some(m) = RedMeasure::parse(&event_target_value(&ev)) {
                        edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.measure = m; }));
                    }
                }>
                    {RedMeasure::ALL.map(|m| view! { <option value=m.as_str() selected=move || measure() == m>{m.label()}</option> })}
                </select>
                <p class="hint">"From the span store's per-minute counts: without an operation, the requests entering the service."</p>
            }
        };
        // A traces panel's search, as Explore → Traces takes it.
        let search_fields = move || {
            let (errors_id, limit_id) = (
                format!("panel-trace-errors-{k}"),
                format!("panel-trace-limit-{k}"),
            );
            view! {
                {service_fields()}
                {text_field(format!("panel-trace-filters-{k}"), "Attributes", "http.status_code>499 agent.id=a-1", |t| t.filters.clone(), |t, v| t.filters = v)}
                {text_field(format!("panel-trace-min-{k}"), "Min duration", "250ms", |t| t.min_duration.clone(), |t, v| t.min_duration = v)}
                {text_field(format!("panel-trace-max-{k}"), "Max duration", "2s", |t| t.max_duration.clone(), |t, v| t.max_duration = v)}
                <label for=errors_id.clone()>"Errors only"</label>
                <input id=errors_id type="checkbox" prop:checked=move || p.with(|p| p.as_ref().and_then(|p| p.targets.get(k)).is_some_and(|t| t.errors_only))
                    on:change=move |ev| { let on = event_target_checked(&ev); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.errors_only = on; })); } />
                <label for=limit_id.clone()>"Limit"</label>
                <input id=limit_id type="number" min="1" max=wire::dashboard::MAX_TRACE_LIMIT.to_string()
                    prop:value=target(|t| if t.limit == 0 { String::new() } else { t.limit.to_string() })
                    placeholder=wire::dashboard::DEFAULT_TRACE_LIMIT.to_string()
                    on:change=move |ev| { let n = event_target_value(&ev).trim().parse().unwrap_or(0); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.limit = n; })); } />
            }
        };
        // A log count's own fields: the query (the log store's language), split and bucket.
        let log_fields = move || {
            let (query_id, split_id, interval_id) = (
                format!("panel-log-query-{k}"),
                format!("panel-split-by-{k}"),
                format!("panel-interval-{k}"),
            );
            view! {
                <label for=query_id.clone()>"Log query"</label>
                <textarea id=query_id class="log-count-query" rows="2" prop:value=move || draft.get()
                    placeholder="level:ERROR AND \"timeout\""
                    on:input=move |ev| draft.set(event_target_value(&ev))></textarea>
                <label for=split_id.clone()>"Split by field"</label>
                <input id=split_id prop:value=target(|t| t.split_by.clone()) placeholder="level, service … (empty: one series)"
                    on:change=move |ev| { let v = event_target_value(&ev).trim().to_owned(); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.split_by = v; })); } />
                <label for=interval_id.clone()>"Min interval"</label>
                <input id=interval_id prop:value=target(|t| t.interval.clone()) placeholder="1m (empty: the chart's step)"
                    on:change=move |ev| { let v = event_target_value(&ev).trim().to_owned(); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.interval = v; })); } />
                <p class="hint">"Lines matching the query are counted per interval and drawn as a time series when the dashboard is viewed."</p>
            }
        };
        view! {
            <div class="panel-target" data-query=k.to_string()>
                <h4>{format!("Query {}", query_letter(k))}</h4>
                <label for=kind_id.clone()>"Query type"</label>
                <select id=kind_id on:change=set_kind>
                    {[(TargetKind::Promql, "PromQL"), (TargetKind::LogCount, "Logs (count)"), (TargetKind::Red, "Traces (RED)"), (TargetKind::TraceSearch, "Trace search")]
                        .map(|(v, label)| view! { <option value=v.as_str() selected=move || kind.get() == v>{label}</option> })}
                </select>
                {move || match kind.get() {
                    TargetKind::Promql => view! { <QueryEditor id=format!("panel-query-{k}") draft=draft source=source run=Callback::new(move |_| preview_at.update(|n| *n += 1)) /> }.into_any(),
                    TargetKind::LogCount => log_fields().into_any(),
                    TargetKind::Red => red_fields().into_any(),
                    TargetKind::TraceSearch => search_fields().into_any(),
                }}
                <label for=legend_id.clone()>"Legend"</label>
                <input id=legend_id prop:value=move || p.with(|p| p.as_ref().and_then(|p| p.targets.get(k)).map(|t| t.legend.clone()).unwrap_or_default())
                    placeholder="{{label}} …"
                    on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |p| if let Some(t) = p.targets.get_mut(k) { t.legend = v; })); } />
                <button type="button" class="remove-query" on:click=move |_| edit(Box::new(move |p| {
                    if k < p.targets.len() { p.targets.remove(k); }
                }))>"Remove query"</button>
            </div>
        }
    };
    view! {
        <div class="panel-editor" id="panel-editor">
            <h3>{move || p.with(|p| p.as_ref().map(|p| format!("Panel {}", p.id)).unwrap_or_default())}</h3>
            <div class="form-grid">
                <label for="panel-title">"Title"</label>
                <input id="panel-title" prop:value=read(|p| p.title.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |p| p.title = v)) } />
                <label for="panel-type">"Type"</label>
                <select id="panel-type" on:change=move |ev| {
                    if let Some(k) = PanelKind::parse(&event_target_value(&ev)) {
                        edit(Box::new(move |p| {
                            // A traces panel's one query is its search; other panels have none.
                            let searches = p.targets.iter().any(|t| t.kind == TargetKind::TraceSearch);
                            if k == PanelKind::Traces && !(p.targets.len() == 1 && searches) {
                                p.targets = vec![Target { kind: TargetKind::TraceSearch, ..Target::default() }];
                            } else if k != PanelKind::Traces && searches {
                                p.targets.retain(|t| t.kind != TargetKind::TraceSearch);
                            }
                            p.kind = k;
                        }));
                    }
                }>
                    {PanelKind::EDITABLE.map(|k| view! {
                        <option value=k.as_str() selected=move || p.with(|p| p.as_ref().map(|p| p.kind)) == Some(k)>{k.as_str()}</option>
                    })}
                </select>
                <label for="panel-source">"Data source"</label>
                <select id="panel-source" on:change=move |ev| {
                    let id = event_target_value(&ev).parse::<i64>().ok();
                    edit(Box::new(move |p| p.datasource = id));
                }>
                    <option value="" selected=move || p.with(|p| p.as_ref().is_none_or(|p| p.datasource.is_none()))>"Default source"</option>
                    <Transition fallback=|| ()>
                        {move || sources.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|s| {
                            let id = s.id;
                            view! { <option value=id.to_string() selected=move || p.with(|p| p.as_ref().and_then(|p| p.datasource)) == Some(id)>{s.name}</option> }
                        }).collect_view()}
                    </Transition>
                </select>
                <label for="panel-unit">"Unit"</label>
                <input id="panel-unit" prop:value=read(|p| p.unit.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |p| p.unit = v)) } />
                <label for="panel-collapsed">"Row collapsed"</label>
                <input id="panel-collapsed" type="checkbox" prop:checked=move || p.with(|p| p.as_ref().is_some_and(|p| p.collapsed))
                    on:change=move |ev| { let on = event_target_checked(&ev); edit(Box::new(move |p| p.collapsed = on)) } />
                <label for="panel-text">"Text (Markdown)"</label>
                <textarea id="panel-text" rows="2" prop:value=read(|p| p.text.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |p| p.text = v)) }></textarea>
            </div>
            <div class="panel-targets">
                <For each=move || 0..target_count.get() key=|k| *k children=query_row />
                <button type="button" id="add-query" on:click=add_query>"Add query"</button>
            </div>
            <div class="grid-controls" tabindex="0" id="grid-controls" on:keydown=on_key
                aria-label="Position: arrow keys move, Shift+arrow keys resize">
                <span id="grid-position">{move || p.with(|p| p.as_ref().map(|p| { let g = &p.grid; format!("x {} · y {} · w {} · h {}", g.x, g.y, g.w, g.h) }).unwrap_or_default())}</span>
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
                            Ok(c) => chart(c, None, Callback::new(|_| {}), Callback::new(|_| {})),
                            Err(e) => view! { <div class="panel-error" role="alert">{format!("{letter}: {e}")}</div> }.into_any(),
                        }}
                    </div>
                }).collect_view())}
            </Transition>
        </div>
    }
}

/// A target made another kind: what both kinds have is kept (the text of PromQL and log
/// counts, a traces source, service and operation), the rest is cleared.
fn switch_kind(t: &mut Target, new: TargetKind) {
    let old = std::mem::take(t);
    let textual = |k: TargetKind| matches!(k, TargetKind::Promql | TargetKind::LogCount);
    *t = Target {
        kind: new,
        legend: old.legend,
        ..Target::default()
    };
    if textual(old.kind) && textual(new) {
        t.expr = old.expr;
    }
    if new == TargetKind::LogCount && old.kind == TargetKind::LogCount {
        (t.split_by, t.interval) = (old.split_by, old.interval);
    }
    if new.is_traces() && old.kind.is_traces() {
        (t.service, t.operation, t.datasource) = (old.service, old.operation, old.datasource);
    }
}
