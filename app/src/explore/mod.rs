//! Explore → Metrics: a PromQL editor with completion and validation as you type, range
//! (chart) or instant (table) runs, a time picker, auto-refresh, a query inspector and the
//! user's query history. Everything that defines the view lives in the URL, so a link (or
//! a reload) reproduces it; the chart is drawn on the server and arrives in the first HTML.

mod results;
mod state;
mod toolbar;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::Deserialize;
use serde_json::json;

use crate::api_client::call;
use crate::components::chart::chart;
use crate::components::chart_model::{ChartRequest, ChartView, TableView};
use crate::components::correlate::{chosen_series, SeriesFilters};
use crate::components::promql_editor::{pick_source, QueryEditor};
use crate::components::time_range::{zoom_times, REFRESH};
use crate::fetch::Fetcher;
use results::{EmptyResult, InspectorView, ResultTable};
use state::ExploreState;
use toolbar::Toolbar;

const CHART_HEIGHT: u32 = 320;
const DEFAULT_WIDTH: u32 = 1000;

#[derive(Clone, Debug, Deserialize)]
struct HistoryEntry {
    query: String,
    created_at: String,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize)]
enum Outcome {
    Chart(ChartView),
    Table(TableView),
}

#[component]
pub fn ExploreMetrics() -> impl IntoView {
    let params = use_query_map();
    let state = Memo::new(move |_| ExploreState::from_params(&params.read()));
    let navigate = use_navigate();
    let go = Callback::new(move |s: ExploreState| navigate(&s.url(), Default::default()));

    let fetcher = Fetcher::new();
    let sources = {
        let f = fetcher.clone();
        Resource::new(|| (), move |_| f.clone().sources())
    };
    let source = Memo::new(move |_| {
        let chosen = state.read().source;
        sources
            .get()
            .and_then(|r| r.ok())
            .and_then(|list| pick_source(chosen, &list))
    });
    let width = RwSignal::new(DEFAULT_WIDTH);
    let result = {
        let f = fetcher.clone();
        Resource::new(
            move || (state.get(), width.get()),
            move |(st, w)| {
                let f = f.clone();
                async move {
                    // Awaited here (not read from `source`) so server rendering waits for
                    // both answers before it sends the page.
                    let list = sources.await.ok()?;
                    let src = pick_source(st.source, &list)?;
                    if st.query.trim().is_empty() {
                        return None;
                    }
                    Some(if st.instant {
                        f.table(src, st.query.clone(), st.to.clone())
                            .await
                            .map(Outcome::Table)
                    } else {
                        let req = ChartRequest {
                            query: st.query.clone(),
                            from: st.from.clone(),
                            to: st.to.clone(),
                            step: st.step,
                            width: w,
                            height: CHART_HEIGHT,
                            unit: st.unit.clone(),
                            legend: String::new(),
                            focus: st.focus,
                            raw: false,
                        };
                        f.chart(src, req).await.map(Outcome::Chart)
                    })
                }
            },
        )
    };

    // Auto-refresh: re-run while a relative range is shown.
    Effect::new(move |_| {
        let st = state.get();
        let secs = REFRESH
            .iter()
            .find(|(k, _)| *k == st.refresh)
            .map_or(0, |(_, s)| *s);
        // Cleared when the setting changes and when the page goes away (a page that
        // re-renders must not leave its timer running).
        if secs > 0 {
            if let Ok(h) = set_interval_with_handle(
                move || result.refetch(),
                std::time::Duration::from_secs(u64::from(secs)),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });

    // The chart is drawn for the width it really has (the server assumed DEFAULT_WIDTH).
    let results_ref = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = results_ref.get() {
            let w = el.client_width();
            if w > 200 && (w - DEFAULT_WIDTH as i32).abs() > 40 {
                width.set(w as u32);
            }
        }
    });

    let draft = RwSignal::new(state.get_untracked().query);
    // Only a new query in the URL replaces the draft (a time or mode change keeps what the
    // user is typing).
    let url_query = Memo::new(move |_| state.read().query.clone());
    Effect::new(move |_| draft.set(url_query.get()));
    let history = RwSignal::new(Vec::<HistoryEntry>::new());
    let load_history = move || {
        if let Some(src) = source.get_untracked() {
            spawn_local(async move {
                let path = format!("/api/v1/query-history?datasource_id={src}&limit=20");
                if let Ok(list) = call::<Vec<HistoryEntry>>("GET", &path, None::<&()>).await {
                    history.try_set(list);
                }
            });
        }
    };
    Effect::new(move |_| {
        source.track();
        load_history();
    });

    let run = Callback::new(move |_: ()| {
        let mut st = state.get_untracked();
        st.query = draft.get_untracked().trim().to_owned();
        st.source = source.get_untracked();
        if st.query.is_empty() {
            return;
        }
        if st.query != state.get_untracked().query {
            st.focus = None;
        }
        let (query, src) = (st.query.clone(), st.source);
        let same = st == state.get_untracked();
        go.run(st);
        if same {
            result.refetch();
        }
        spawn_local(async move {
            let body = json!({ "query": query, "datasource_id": src });
            let _ = call::<serde_json::Value>("POST", "/api/v1/query-history", Some(&body)).await;
            load_history();
        });
    });

    let on_zoom = Callback::new(move |(t1, t2): (f64, f64)| {
        let mut st = state.get_untracked();
        (st.from, st.to) = zoom_times((t1, t2));
        st.step = None;
        go.run(st);
    });
    let on_focus = Callback::new(move |focus: Option<usize>| {
        let mut st = state.get_untracked();
        st.focus = focus;
        go.run(st);
    });

    // The chosen series' filters, set after hydration (the server renders the range
    // alone, so the first HTML and the hydrated page agree).
    let filters = RwSignal::new(SeriesFilters::default());
    Effect::new(move |_| {
        let focus = state.read().focus;
        let chosen = match result.get() {
            Some(Some(Ok(Outcome::Chart(c)))) => {
                chosen_series(&c.series, focus).map(|s| SeriesFilters::of(&s.labels))
            }
            _ => None,
        };
        filters.set(chosen.unwrap_or_default());
    });
    let range = move || {
        let st = state.read();
        (st.from.clone(), st.to.clone())
    };

    view! {
        <Title text="Explore metrics" />
        <h1>"Explore metrics"</h1>
        // The same time range in Explore → Logs and Explore → Traces (what is behind a
        // spike), filtered by the chosen series' labels once the chart is there.
        <p class="explore-links">
            <a id="show-logs" href=move || filters.read().logs_url(&range())
                title=move || filters.read().describe()>"Show logs for this range"</a>
            <a id="show-traces" href=move || filters.read().traces_url(&range())
                title=move || filters.read().describe()>"Show traces for this range"</a>
        </p>
        <Transition fallback=|| view! { <p>"Loading data sources…"</p> }>
            {move || {
                sources
                    .get()
                    .map(|r| match r {
                        Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <div class="notice" role="status">
                                "No metrics data source yet. An admin adds one under "
                                <a href="/settings/datasources">"Settings → Data sources"</a> "."
                            </div>
                        }
                            .into_any(),
                        Ok(list) => view! {
                            <Toolbar list=list state=state go=go run=run />
                        }
                            .into_any(),
                    })
            }}
        </Transition>
        <QueryEditor id="promql-input" draft=draft source=source run=run />
        <div class="explore-body">
            <section class="results" node_ref=results_ref aria-live="polite">
                <Transition fallback=|| view! { <p class="loading">"Running…"</p> }>
                    {move || {
                        result
                            .get()
                            .map(|r| match r {
                                None => view! {
                                    <p class="hint">"Write a PromQL query and press Run (or Shift+Enter)."</p>
                                }
                                    .into_any(),
                                Some(Err(e)) => view! {
                                    <div class="panel-error" role="alert" data-testid="query-error">
                                        <strong>"The query failed: "</strong>
                                        {e.to_string()}
                                    </div>
                                }
                                    .into_any(),
                                Some(Ok(Outcome::Chart(c))) if c.series.is_empty() => {
                                    let inspector = c.inspector.clone();
                                    view! { <EmptyResult /> <InspectorView info=inspector /> }.into_any()
                                }
                                Some(Ok(Outcome::Table(t))) if t.rows.is_empty() => {
                                    let inspector = t.inspector.clone();
                                    view! { <EmptyResult /> <InspectorView info=inspector /> }.into_any()
                                }
                                Some(Ok(Outcome::Chart(c))) => {
                                    let inspector = c.inspector.clone();
                                    let focus = state.get_untracked().focus;
                                    // Twice the range around its middle (not past now); the
                                    // browser's Back returns to the range before.
                                    let (start, end) = (inspector.start, inspector.end);
                                    let zoom_out = move |_| {
                                        let half = (end - start) / 2.0;
                                        let now = leptos::web_sys::js_sys::Date::now() / 1000.0;
                                        on_zoom.run((start - half, (end + half).min(now.max(end))));
                                    };
                                    view! {
                                        <div class="chart-tools">
                                            <button type="button" id="zoom-out" title="Twice the time range" on:click=zoom_out>"Zoom out"</button>
                                        </div>
                                        {chart(c, focus, on_zoom, on_focus)}
                                        <InspectorView info=inspector />
                                    }
                                        .into_any()
                                }
                                Some(Ok(Outcome::Table(t))) => {
                                    let inspector = t.inspector.clone();
                                    view! {
                                        <ResultTable table=t />
                                        <InspectorView info=inspector />
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Transition>
            </section>
            <aside class="history" aria-label="Query history">
                <h2>"History"</h2>
                <ul class="history-list">
                    {move || {
                        history
                            .get()
                            .into_iter()
                            .map(|h| {
                                let q = h.query.clone();
                                view! {
                                    <li>
                                        <button
                                            type="button"
                                            class="history-entry"
                                            title=h.created_at.clone()
                                            on:click=move |_| {
                                                draft.set(q.clone());
                                                run.run(());
                                            }
                                        >
                                            <code>{h.query.clone()}</code>
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </aside>
        </div>
    }
}
