//! One panel of the view: chart, stat, gauge, table, logs, traces, text, row, or its error.
//! Charts are drawn by the page's own module; stat and gauge, table, logs and traces panels
//! by modules of their own (`#[lazy]`, with their data's decoders: `Deferred`), so a
//! dashboard fetches only the code of the kinds it shows. The server names the modules of
//! the kinds it drew in the page's preload links, and the page loads them before it
//! hydrates (`preload_drawn_panels`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use leptos::lazy;
use leptos::prelude::*;

use crate::components::chart::{utc, Chart};
use crate::components::chart_model::{encode_pairs, TableView};
use crate::components::correlate::{chosen_series, SeriesFilters};
use crate::components::log_lines::LogList;
use crate::components::log_model::LogLine;
use crate::components::time_range::zoom_times;
use crate::dashboards::model::{Deferred, PanelBody, PanelView, StatValue};
use crate::traces::model::{duration_text, TraceSummary};

#[component]
pub(super) fn PanelBox(
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
    let is_logs = matches!(p.body, PanelBody::Logs { .. }) || p.query_is_logs;
    let explore = if let PanelBody::Traces { explore, .. } = &p.body {
        Some(explore.clone())
    } else if is_logs {
        let q = p.query.clone().unwrap_or_default();
        let pairs = [
            ("query", q),
            ("from", range.0.clone()),
            ("to", range.1.clone()),
        ];
        Some(format!("/explore/logs?{}", encode_pairs(&pairs)))
    } else {
        p.query.clone().map(|q| {
            let mut pairs = vec![("q", q), ("from", range.0.clone()), ("to", range.1.clone())];
            if let Some(ds) = p.datasource {
                pairs.push(("ds", ds.to_string()));
            }
            format!("/explore/metrics?{}", encode_pairs(&pairs))
        })
    };
    let chosen = RwSignal::new(None::<usize>);
    // The panel's range (zoomed in, it is the dashboard's) and its chosen series' labels,
    // as Explore → Logs and Explore → Traces filters.
    let correlate = match &p.body {
        PanelBody::Chart { chart } if !chart.series.is_empty() => {
            let labels: Vec<Vec<(String, String)>> =
                chart.series.iter().map(|s| s.labels.clone()).collect();
            let range = range.clone();
            Some(move || {
                let f = chosen_series(&labels, chosen.get())
                    .map(|l| SeriesFilters::of(l))
                    .unwrap_or_default();
                (f.logs_url(&range), f.traces_url(&range), f.describe())
            })
        }
        _ => None,
    };
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
    // Drawn by a module of its own: the kind, as `data-lazy` for `preload_drawn_panels`.
    let lazy_kind = match &p.body {
        PanelBody::Stat { .. } | PanelBody::Gauge { .. } => Some("stat"),
        PanelBody::Table { .. } => Some("table"),
        PanelBody::Logs { .. } => Some("logs"),
        PanelBody::Traces { .. } => Some("traces"),
        _ => None,
    };
    let body = match p.body.clone() {
        PanelBody::Chart { chart } if chart.series.is_empty() => no_data(),
        // A legend click chooses the series whose labels "Logs" and "Traces" carry.
        PanelBody::Chart { chart } => (move || {
            view! {
                <Chart view=chart.clone() focus=chosen.get()
                    on_zoom=Callback::new(move |range: (f64, f64)| {
                        let (from, to) = zoom_times(range);
                        change.run(vec![("from", Some(from)), ("to", Some(to))]);
                    })
                    on_focus=Callback::new(move |i| chosen.set(i)) />
            }
        })
        .into_any(),
        PanelBody::Stat { values } => from_module(Box::pin(stat_body(values, None))),
        PanelBody::Gauge { values, min, max } => {
            from_module(Box::pin(stat_body(values, Some((min, max)))))
        }
        PanelBody::Table { table } => from_module(Box::pin(table_body(table))),
        PanelBody::Logs { lines } => from_module(Box::pin(logs_body(lines, range.clone()))),
        PanelBody::Traces { traces, .. } => from_module(Box::pin(traces_body(traces))),
        // Rendered by the server from Markdown with raw HTML escaped: safe to insert.
        PanelBody::Text { html } => {
            view! { <div class="panel-text" inner_html=html></div> }.into_any()
        }
        PanelBody::Unsupported { original } => view! {
            <p class="notice">{format!("Panel type “{original}” was not converted on import.")}</p>
        }
        .into_any(),
        PanelBody::Error { message } => failed(message),
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
                    {correlate.map(|links| {
                        let links = Memo::new(move |_| links());
                        view! {
                            <a class="panel-show-logs" href=move || links.get().0 title=move || format!("Logs for this range {}", links.get().2)>"Logs"</a>
                            <a class="panel-show-traces" href=move || links.get().1 title=move || format!("Traces for this range {}", links.get().2)>"Traces"</a>
                        }
                    })}
                </span>
            </header>
            <div class="panel-body" data-lazy=lazy_kind>{body}</div>
        </section>
    }
    .into_any()
}

fn no_data() -> AnyView {
    view! { <div class="panel-nodata" role="status">"No data"</div> }.into_any()
}

fn failed(message: String) -> AnyView {
    view! { <div class="panel-error" role="alert">{message}</div> }.into_any()
}

/// Before the page hydrates (the route's `preload`, which the router awaits before it
/// hydrates the page; harmless on a page without panels): loads the modules of the panel
/// kinds the server drew, so that `from_module` draws each at once, as the server did.
#[cfg(feature = "hydrate")]
pub async fn preload_drawn_panels() {
    let drawn = |kind: &str| {
        document()
            .query_selector(&format!(".panel-body[data-lazy={kind}]"))
            .ok()
            .flatten()
            .is_some()
    };
    if drawn("stat") {
        __preload_stat_body().await;
    }
    if drawn("table") {
        __preload_table_body().await;
    }
    if drawn("logs") {
        __preload_logs_body().await;
    }
    if drawn("traces") {
        __preload_traces_body().await;
    }
    // A variable's picker is `#var-NAME`.
    if document()
        .query_selector("[id^='var-']")
        .ok()
        .flatten()
        .is_some()
    {
        super::page::__preload_variable_pickers().await;
    }
}

/// A panel body from its module: drawn at once when the module is loaded (always on the
/// server, and in the browser while the page hydrates: `preload_drawn_panels`), else (after
/// a client-side navigation) when it has loaded. Hydration needs the former: a `Suspend`
/// inside the page's `Transition` does not hydrate the server's markup.
/// (One function for every kind: a generic one would be compiled once per kind.)
pub(super) fn from_module(mut body: Pin<Box<dyn Future<Output = AnyView> + Send>>) -> AnyView {
    let mut cx = Context::from_waker(Waker::noop());
    match body.as_mut().poll(&mut cx) {
        Poll::Ready(view) => view,
        Poll::Pending => Suspend::new(body).into_any(),
    }
}

/// A stat panel's values, or a gauge's (`gauge`: its min and max).
#[lazy]
fn stat_body(values: Deferred<Vec<StatValue>>, gauge: Option<(f64, f64)>) -> AnyView {
    let values = match values.take() {
        Err(e) => return failed(e),
        Ok(v) if v.is_empty() => return no_data(),
        Ok(v) => v,
    };
    let named = values.len() > 1;
    match gauge {
        None => view! { <div class="stat-values">{values.into_iter().map(|v| stat_view(v, named)).collect_view()}</div> }.into_any(),
        Some((min, max)) => view! {
            <div class="stat-values">{values.into_iter().map(|v| gauge_view(v, min, max, named)).collect_view()}</div>
        }.into_any(),
    }
}

/// An instant query's rows.
#[lazy]
fn table_body(table: Deferred<TableView>) -> AnyView {
    let table = match table.take() {
        Err(e) => return failed(e),
        Ok(t) if t.rows.is_empty() => return no_data(),
        Ok(t) => t,
    };
    view! {
        <table class="grid panel-table">
            <thead><tr><th>"Series"</th><th class="num">"Value"</th></tr></thead>
            <tbody>{table.rows.into_iter().map(|r| view! { <tr><td>{r.series}</td><td class="num">{r.value}</td></tr> }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// A logs panel's lines, as Explore → Logs shows them.
#[lazy]
fn logs_body(lines: Deferred<Vec<LogLine>>, range: (String, String)) -> AnyView {
    match lines.take() {
        Err(e) => failed(e),
        Ok(lines) if lines.is_empty() => no_data(),
        Ok(lines) => {
            view! { <div class="panel-logs"><LogList lines=lines range=range /></div> }.into_any()
        }
    }
}

/// A traces panel's rows: each opens its trace.
#[lazy]
fn traces_body(traces: Deferred<Vec<TraceSummary>>) -> AnyView {
    let traces = match traces.take() {
        Err(e) => return failed(e),
        Ok(t) if t.is_empty() => return no_data(),
        Ok(t) => t,
    };
    let rows = traces
        .into_iter()
        .map(|t| {
            let href = format!("/explore/traces/{}", t.trace_id);
            view! {
                <tr class="trace-row" data-trace-id=t.trace_id.clone() class:has-error={t.error_count > 0}>
                    <td><a href=href>{format!("{}: {}", t.root_service, t.root_operation)}</a></td>
                    <td>{utc(t.start_ns as f64 / 1e9)}</td>
                    <td class="num">{duration_text(t.duration_ms)}</td>
                    <td class="num">{t.span_count}</td>
                    <td class="num">{t.error_count}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="panel-traces">
            <table class="data traces-list">
                <thead>
                    <tr><th>"Trace"</th><th>"Start (UTC)"</th><th class="num">"Duration"</th>
                        <th class="num">"Spans"</th><th class="num">"Errors"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
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
