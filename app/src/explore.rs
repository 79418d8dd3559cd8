//! Explore → Metrics: a PromQL editor with completion and validation as you type, range
//! (chart) or instant (table) runs, a time picker, auto-refresh, a query inspector and the
//! user's query history. Everything that defines the view lives in the URL, so a link (or
//! a reload) reproduces it; the chart is drawn on the server and arrives in the first HTML.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde::Deserialize;
use serde_json::json;

use crate::api_client::call;
use crate::chart::{utc, Chart};
use crate::chart_model::{encode_pairs, ChartRequest, ChartView, Inspector, TableView};
use crate::dto::SourceOption;
use crate::fetch::Fetcher;
use crate::promql_complete::{self as complete, Context};

/// Relative ranges offered by the time picker.
pub const PRESETS: &[(&str, &str)] = &[
    ("5m", "Last 5 minutes"),
    ("15m", "Last 15 minutes"),
    ("30m", "Last 30 minutes"),
    ("1h", "Last 1 hour"),
    ("3h", "Last 3 hours"),
    ("6h", "Last 6 hours"),
    ("12h", "Last 12 hours"),
    ("24h", "Last 24 hours"),
    ("2d", "Last 2 days"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

/// Auto-refresh choices (seconds; 0 is off).
pub const REFRESH: &[(&str, u32)] = &[
    ("off", 0),
    ("5s", 5),
    ("10s", 10),
    ("30s", 30),
    ("1m", 60),
    ("5m", 300),
];

const CHART_HEIGHT: u32 = 320;
const DEFAULT_WIDTH: u32 = 1000;

/// The view as the URL holds it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ExploreState {
    pub source: Option<i64>,
    pub query: String,
    pub instant: bool,
    pub from: String,
    pub to: String,
    pub refresh: String,
    pub step: Option<f64>,
    pub focus: Option<usize>,
    pub unit: String,
}

impl ExploreState {
    pub fn from_params(p: &ParamsMap) -> ExploreState {
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty());
        ExploreState {
            source: get("ds").and_then(|v| v.parse().ok()),
            query: get("q").unwrap_or_default(),
            instant: get("mode").as_deref() == Some("instant"),
            from: get("from").unwrap_or_else(|| "now-1h".into()),
            to: get("to").unwrap_or_else(|| "now".into()),
            refresh: get("refresh").unwrap_or_else(|| "off".into()),
            step: get("step").and_then(|v| v.parse().ok()),
            focus: get("focus").and_then(|v| v.parse().ok()),
            unit: get("unit").unwrap_or_default(),
        }
    }

    pub fn url(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(ds) = self.source {
            pairs.push(("ds", ds.to_string()));
        }
        pairs.push(("q", self.query.clone()));
        pairs.push((
            "mode",
            if self.instant { "instant" } else { "range" }.into(),
        ));
        pairs.push(("from", self.from.clone()));
        pairs.push(("to", self.to.clone()));
        if self.refresh != "off" && !self.refresh.is_empty() {
            pairs.push(("refresh", self.refresh.clone()));
        }
        if let Some(step) = self.step {
            pairs.push(("step", step.to_string()));
        }
        if let Some(focus) = self.focus {
            pairs.push(("focus", focus.to_string()));
        }
        if !self.unit.is_empty() {
            pairs.push(("unit", self.unit.clone()));
        }
        format!("/explore/metrics?{}", encode_pairs(&pairs))
    }

    fn preset(&self) -> String {
        preset_of(&self.from, &self.to)
    }
}

/// The time picker's preset for a range (`1h` for `now-1h`…`now`), or `custom`.
pub fn preset_of(from: &str, to: &str) -> String {
    match from.strip_prefix("now-") {
        Some(p) if to == "now" && PRESETS.iter().any(|(k, _)| *k == p) => p.to_owned(),
        _ => "custom".into(),
    }
}

/// A zoom selection (Unix seconds) as URL times (Unix milliseconds, as Grafana writes them).
pub fn zoom_times((t1, t2): (f64, f64)) -> (String, String) {
    let ms = |t: f64| format!("{}", (t * 1000.0).round() as i64);
    (ms(t1), ms(t2))
}

/// `2026-11-25T10:00` (a `datetime-local` value, read as UTC) → RFC 3339.
fn local_input_to_rfc3339(v: &str) -> Option<String> {
    let v = v.trim();
    if v.len() < 16 {
        return None;
    }
    Some(if v.len() == 16 {
        format!("{v}:00Z")
    } else {
        format!("{v}Z")
    })
}

/// A time from the URL as a `datetime-local` value (UTC), when it is absolute.
fn to_local_input(t: &str) -> String {
    if t.starts_with("now") {
        return String::new();
    }
    let secs = t
        .parse::<f64>()
        .map(|n| if n > 1e11 { n / 1000.0 } else { n });
    match secs {
        Ok(s) => utc(s).replace(' ', "T")[..16].to_owned(),
        Err(_) => t.trim_end_matches('Z').chars().take(16).collect(),
    }
}

#[derive(Clone, Debug, Deserialize)]
struct HistoryEntry {
    query: String,
    created_at: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Validation {
    valid: bool,
    #[serde(default)]
    message: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
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

    view! {
        <Title text="Explore metrics" />
        <h1>"Explore metrics"</h1>
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
        <Editor id="promql-input" draft=draft source=source run=run />
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
                                        <Chart view=c focus=focus on_zoom=on_zoom on_focus=on_focus />
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

/// Data source, mode, time range and refresh.
#[component]
fn Toolbar(
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

/// The source in use: the URL's, else the default one, else the first.
pub(crate) fn pick_source(chosen: Option<i64>, list: &[SourceOption]) -> Option<i64> {
    chosen
        .filter(|id| list.iter().any(|s| s.id == *id))
        .or_else(|| list.iter().find(|s| s.default).map(|s| s.id))
        .or_else(|| list.first().map(|s| s.id))
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

/// The PromQL editor: completion of metric names, label names and values from the source,
/// and validation as you type.
#[component]
pub fn Editor(
    /// The textarea's id; the suggestion list and the problem line are `{id}-suggestions`
    /// and `{id}-problem`.
    #[prop(into)]
    id: String,
    draft: RwSignal<String>,
    #[prop(into)] source: Signal<Option<i64>>,
    run: Callback<()>,
) -> impl IntoView {
    let list_id = format!("{id}-suggestions");
    let problem_id = format!("{id}-problem");
    let metric_names = RwSignal::new(Vec::<String>::new());
    let label_names = RwSignal::new(Vec::<String>::new());
    let label_values = RwSignal::new(std::collections::HashMap::<String, Vec<String>>::new());
    // The label names each metric's series carry (asked once per metric).
    let metric_labels = RwSignal::new(std::collections::HashMap::<String, Vec<String>>::new());
    let suggestions = RwSignal::new(Vec::<String>::new());
    let context = RwSignal::new(Context::Nothing);
    let cursor = RwSignal::new(0usize);
    let selected = RwSignal::new(0usize);
    let problem = RwSignal::new(None::<String>);
    let checks = RwSignal::new(0u64);
    let textarea = NodeRef::<leptos::html::Textarea>::new();

    Effect::new(move |_| {
        let Some(src) = source.get() else { return };
        spawn_local(async move {
            let names = format!("/api/v1/datasources/{src}/label/__name__/values");
            if let Ok(v) = call::<PromList>("GET", &names, None::<&()>).await {
                metric_names.set(v.data);
            }
            let labels = format!("/api/v1/datasources/{src}/labels");
            if let Ok(v) = call::<PromList>("GET", &labels, None::<&()>).await {
                label_names.set(v.data.into_iter().filter(|l| l != "__name__").collect());
            }
            label_values.set(Default::default());
            metric_labels.set(Default::default());
        });
    });

    let refresh_suggestions = move || {
        let text = draft.get_untracked();
        let at = cursor.get_untracked().min(text.len());
        let ctx = if text.is_char_boundary(at) {
            complete::context(&text[..at])
        } else {
            Context::Nothing
        };
        let list = match &ctx {
            Context::Metric { prefix } => {
                complete::filter(&metric_names.get_untracked(), prefix, 12)
            }
            Context::LabelName { metric, prefix } if !metric.is_empty() => {
                let known = metric_labels.with_untracked(|m| m.get(metric).cloned());
                match known {
                    // That metric's own labels first, then every other label name.
                    Some(own) => {
                        let mut list = complete::filter(&own, prefix, 12);
                        let rest: Vec<String> = label_names
                            .get_untracked()
                            .into_iter()
                            .filter(|l| !own.contains(l))
                            .collect();
                        let room = 12usize.saturating_sub(list.len());
                        list.extend(complete::filter(&rest, prefix, room));
                        list
                    }
                    None => {
                        if let Some(src) = source.get_untracked() {
                            let metric = metric.clone();
                            spawn_local(async move {
                                // Only the label names of that metric's series: a short
                                // answer however many series it has.
                                let path = format!(
                                    "/api/v1/datasources/{src}/labels?match[]={}",
                                    crate::form::encode(&metric)
                                );
                                if let Ok(v) = call::<PromList>("GET", &path, None::<&()>).await {
                                    let names: Vec<String> =
                                        v.data.into_iter().filter(|k| k != "__name__").collect();
                                    metric_labels.update(|m| {
                                        m.insert(metric, names);
                                    });
                                }
                            });
                        }
                        complete::filter(&label_names.get_untracked(), prefix, 12)
                    }
                }
            }
            Context::LabelName { prefix, .. } => {
                complete::filter(&label_names.get_untracked(), prefix, 12)
            }
            Context::LabelValue { label, prefix, .. } => {
                let known = label_values.with_untracked(|m| m.get(label).cloned());
                match known {
                    Some(values) => complete::filter(&values, prefix, 12),
                    None => {
                        if let Some(src) = source.get_untracked() {
                            let label = label.clone();
                            spawn_local(async move {
                                let path = format!(
                                    "/api/v1/datasources/{src}/label/{}/values",
                                    crate::form::encode(&label)
                                );
                                if let Ok(v) = call::<PromList>("GET", &path, None::<&()>).await {
                                    label_values.update(|m| {
                                        m.insert(label, v.data);
                                    });
                                }
                            });
                        }
                        Vec::new()
                    }
                }
            }
            Context::Nothing => Vec::new(),
        };
        context.set(ctx);
        selected.set(0);
        suggestions.set(list);
    };
    // Names fetched after a keystroke (a metric's labels, a label's values) show at once.
    Effect::new(move |prev: Option<()>| {
        metric_labels.track();
        label_values.track();
        let naming_labels = matches!(
            context.get_untracked(),
            Context::LabelName { .. } | Context::LabelValue { .. }
        );
        if prev.is_some() && naming_labels {
            refresh_suggestions();
        }
    });
    // New label values arriving complete the list the user is looking at.
    Effect::new(move |_| {
        label_values.track();
        if matches!(context.get_untracked(), Context::LabelValue { .. }) {
            refresh_suggestions();
        }
    });

    let validate =
        move |text: String| {
            checks.update(|n| *n += 1);
            let ticket = checks.get_untracked();
            if text.trim().is_empty() {
                problem.set(None);
                return;
            }
            spawn_local(async move {
                let path = format!(
                    "/api/v1/promql/validate?query={}",
                    crate::form::encode(&text)
                );
                if let Ok(v) = call::<Validation>("GET", &path, None::<&()>).await {
                    if checks.try_get_untracked() == Some(ticket) {
                        problem.set((!v.valid).then(|| {
                            format!("Line {}, column {}: {}", v.line, v.column, v.message)
                        }));
                    }
                }
            });
        };

    let pick = move |choice: String| {
        let text = draft.get_untracked();
        let (new_text, new_cursor) = complete::apply(
            &text,
            cursor.get_untracked(),
            &context.get_untracked(),
            &choice,
        );
        draft.set(new_text.clone());
        cursor.set(new_cursor);
        suggestions.set(Vec::new());
        validate(new_text);
        if let Some(el) = textarea.get_untracked() {
            el.set_value(&draft.get_untracked());
            let _ = el.focus();
            let at = new_cursor as u32;
            let _ = el.set_selection_range(at, at);
        }
    };

    let on_input = move |ev: leptos::ev::Event| {
        let el: leptos::web_sys::HtmlTextAreaElement = event_target(&ev);
        let text = el.value();
        let at = el
            .selection_start()
            .ok()
            .flatten()
            .unwrap_or(text.len() as u32) as usize;
        // selectionStart counts UTF-16 units; map to a byte offset.
        let byte_at = text
            .char_indices()
            .scan(0usize, |units, (i, c)| {
                let here = *units;
                *units += c.len_utf16();
                Some((i, here))
            })
            .find(|(_, units)| *units >= at)
            .map_or(text.len(), |(i, _)| i);
        draft.set(text.clone());
        cursor.set(byte_at);
        refresh_suggestions();
        validate(text);
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let open = !suggestions.read_untracked().is_empty();
        match ev.key().as_str() {
            "ArrowDown" if open => {
                ev.prevent_default();
                let n = suggestions.read_untracked().len();
                selected.update(|s| *s = (*s + 1) % n);
            }
            "ArrowUp" if open => {
                ev.prevent_default();
                let n = suggestions.read_untracked().len();
                selected.update(|s| *s = (*s + n - 1) % n);
            }
            "Enter" | "Tab" if open && !ev.shift_key() => {
                ev.prevent_default();
                let choice = suggestions
                    .read_untracked()
                    .get(selected.get_untracked())
                    .cloned();
                if let Some(c) = choice {
                    pick(c);
                }
            }
            "Escape" if open => suggestions.set(Vec::new()),
            "Enter" if ev.shift_key() || ev.ctrl_key() => {
                ev.prevent_default();
                suggestions.set(Vec::new());
                run.run(());
            }
            _ => {}
        }
    };

    view! {
        <div class="promql-editor">
            <label for=id.clone() class="visually-hidden">"PromQL query"</label>
            <textarea
                id=id.clone()
                node_ref=textarea
                rows="3"
                spellcheck="false"
                autocomplete="off"
                placeholder="PromQL, e.g. rate(keiko_http_requests_total[5m])"
                aria-autocomplete="list"
                aria-controls=list_id.clone()
                aria-invalid=move || if problem.read().is_some() { "true" } else { "false" }
                prop:value=move || draft.get()
                on:input=on_input
                on:keydown=on_keydown
                on:blur=move |_| {
                    // Let a click on a suggestion land first.
                    set_timeout(move || { suggestions.try_set(Vec::new()); }, std::time::Duration::from_millis(200));
                }
            >
                {crate::form::raw_text(draft.get_untracked())}
            </textarea>
            <ul id=list_id class="suggestions" role="listbox" hidden=move || suggestions.read().is_empty()>
                {move || {
                    suggestions
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let chosen = s.clone();
                            view! {
                                <li
                                    role="option"
                                    class="suggestion"
                                    aria-selected=move || if selected.get() == i { "true" } else { "false" }
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        pick(chosen.clone());
                                    }
                                >
                                    {s}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            {move || problem.get().map(|m| view! { <p class="field-error" data-field="query" id=problem_id.clone()>{m}</p> })}
        </div>
    }
}

#[derive(Clone, Debug, Deserialize)]
struct PromList {
    data: Vec<String>,
}

/// A query that ran and found nothing says so (an empty chart looks like a broken one).
#[component]
fn EmptyResult() -> impl IntoView {
    view! {
        <div class="empty-result" role="status" data-testid="empty-result">
            <strong>"No data. "</strong>
            "The query ran and returned no series in this time range: check the metric and \
             label names, or widen the range."
        </div>
    }
}

/// The label names of `rows` as table columns: `__name__` first (as "Metric"), then the
/// others alphabetically.
fn label_columns(rows: &[crate::chart_model::TableRow]) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.labels.iter().map(|(k, _)| k.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(i) = names.iter().position(|n| n == "__name__") {
        let name = names.remove(i);
        names.insert(0, name);
    }
    names
}

/// Rows sorted by a label column (`Some(name)`) or by value (`None`), ascending or not.
fn sorted_rows(
    mut rows: Vec<crate::chart_model::TableRow>,
    by: &Option<String>,
    ascending: bool,
) -> Vec<crate::chart_model::TableRow> {
    let label = |r: &crate::chart_model::TableRow, k: &str| {
        r.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    rows.sort_by(|a, b| {
        let order = match by {
            Some(k) => label(a, k).cmp(&label(b, k)),
            None => a.raw.total_cmp(&b.raw),
        };
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    rows
}

/// An instant query's answer: a column per label and the value, sorted by a click on a
/// column's header (again to reverse), as Grafana's and Prometheus's tables are.
#[component]
fn ResultTable(table: TableView) -> impl IntoView {
    let columns = label_columns(&table.rows);
    let rows = StoredValue::new(table.rows);
    // (column, ascending); `None` = the value.
    let sort = RwSignal::new((None::<String>, false));
    let header = move |key: Option<String>, title: String, numeric: bool| {
        let k = key.clone();
        let mark = move || {
            let (by, asc) = sort.get();
            if by == k {
                if asc {
                    " ▲"
                } else {
                    " ▼"
                }
            } else {
                ""
            }
        };
        let k = key.clone();
        let aria = move || {
            let (by, asc) = sort.get();
            if by == k {
                if asc {
                    "ascending"
                } else {
                    "descending"
                }
            } else {
                "none"
            }
        };
        view! {
            <th class:num=numeric aria-sort=aria>
                <button type="button" class="sort" data-column=key.clone().unwrap_or_else(|| "value".into())
                    on:click=move |_| sort.update(|(by, asc)| {
                        if *by == key { *asc = !*asc } else { *by = key.clone(); *asc = true }
                    })>
                    {title}{mark}
                </button>
            </th>
        }
    };
    let heads: Vec<_> = columns
        .iter()
        .map(|c| {
            let title = if c == "__name__" {
                "Metric".to_owned()
            } else {
                c.clone()
            };
            header(Some(c.clone()), title, false)
        })
        .collect();
    let cols = columns.clone();
    view! {
        <table class="grid result-table">
            <thead>
                <tr>
                    {heads}
                    {header(None, "Value".into(), true)}
                </tr>
            </thead>
            <tbody>
                {move || {
                    let (by, asc) = sort.get();
                    let cols = cols.clone();
                    sorted_rows(rows.get_value(), &by, asc)
                        .into_iter()
                        .map(|r| {
                            let cells = cols
                                .iter()
                                .map(|c| {
                                    let v = r.labels.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()).unwrap_or_default();
                                    view! { <td data-column=c.clone()>{v}</td> }
                                })
                                .collect_view();
                            view! { <tr title=r.series.clone()>{cells}<td class="num" data-column="value">{r.value}</td></tr> }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}

#[component]
fn InspectorView(info: Inspector) -> impl IntoView {
    let range = if info.step > 0.0 {
        format!("{} → {} UTC", utc(info.start), utc(info.end))
    } else {
        format!("at {} UTC", utc(info.end))
    };
    view! {
        <details class="inspector" id="query-inspector">
            <summary>"Query inspector"</summary>
            <dl>
                <dt>"Query sent"</dt>
                <dd><code>{info.query}</code></dd>
                <dt>"Range"</dt>
                <dd>{range}</dd>
                <dt>"Step"</dt>
                <dd data-testid="inspector-step">{format!("{} s", info.step)}</dd>
                <dt>"Time taken"</dt>
                <dd>{format!("{:.1} ms", info.elapsed_ms)}</dd>
                <dt>"Series returned"</dt>
                <dd data-testid="inspector-series">{info.series}</dd>
                <dt>"Points returned"</dt>
                <dd>{info.points_returned}</dd>
                <dt>"Points drawn"</dt>
                <dd>{format!("{} ({})", info.points_drawn, info.downsampling)}</dd>
            </dl>
        </details>
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::chart_model::TableRow;

    fn row(method: &str, raw: f64) -> TableRow {
        TableRow {
            series: method.into(),
            value: raw.to_string(),
            raw,
            labels: vec![
                ("__name__".into(), "x".into()),
                ("method".into(), method.into()),
            ],
        }
    }

    #[test]
    fn the_metric_column_comes_first_and_rows_sort_by_any_column() {
        let rows = vec![row("POST", 1.0), row("GET", 3.0), row("PUT", 2.0)];
        assert_eq!(label_columns(&rows), ["__name__", "method"]);
        let by = |k: Option<&str>, asc| {
            sorted_rows(rows.clone(), &k.map(str::to_owned), asc)
                .into_iter()
                .map(|r| r.series)
                .collect::<Vec<_>>()
        };
        assert_eq!(by(Some("method"), true), ["GET", "POST", "PUT"]);
        assert_eq!(by(Some("method"), false), ["PUT", "POST", "GET"]);
        assert_eq!(by(None, false), ["GET", "PUT", "POST"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_view() {
        let st = ExploreState {
            source: Some(3),
            query: "sum(rate(keiko_http_requests_total{method=\"POST\"}[5m]))".into(),
            instant: false,
            from: "now-6h".into(),
            to: "now".into(),
            refresh: "30s".into(),
            step: Some(15.0),
            focus: Some(1),
            unit: "reqps".into(),
        };
        let url = st.url();
        let query = url.split_once('?').unwrap().1;
        let mut map = ParamsMap::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            map.insert(k.to_string(), percent_decode(v));
        }
        assert_eq!(ExploreState::from_params(&map), st);
        assert_eq!(st.preset(), "6h");
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn absolute_inputs_become_rfc3339() {
        assert_eq!(
            local_input_to_rfc3339("2026-11-25T10:00").as_deref(),
            Some("2026-11-25T10:00:00Z")
        );
        assert_eq!(to_local_input("1700000000000"), "2023-11-14T22:13");
        assert_eq!(to_local_input("now-1h"), "");
    }
}
