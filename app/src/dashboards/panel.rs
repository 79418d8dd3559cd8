//! One panel of the view: chart, stat, gauge, table, logs, traces, text, row, or its error.
//! Charts are drawn by the page's own module. Stat and gauge, table and traces panels are
//! markup alone: the server draws them, the page hydrates them as drawn, and their module
//! (`markup_module`, with their data's decoders: `Deferred`) is fetched only when the
//! browser draws one (`markup_body`). Logs panels are interactive: their module
//! (`logs_body`) is named in the page's preload links by the server, and the page loads it
//! before it hydrates (`preload_drawn_panels`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use leptos::lazy;
use leptos::prelude::*;

use crate::components::chart::{chart, utc};
use crate::components::chart_model::{encode_pairs, TableView};
use crate::components::correlate::{chosen_series, SeriesFilters};
use crate::components::form::{encode, escape_html as esc};
use crate::components::log_lines::LogList;
use crate::components::log_model::LogLine;
use crate::components::time_range::zoom_times;
use crate::dashboards::model::{Deferred, PanelBody, PanelView, StatValue};
use crate::traces::model::{duration_text, TraceSummary};

/// One panel (or row) of the board. The title bar and the bodies that need no code (text,
/// no data, errors) are markup written by plain functions (escaped) and set as inner HTML,
/// so a panel adds few view types to the page; charts are `Chart`s, the other kinds come
/// from their modules. `change` applies URL changes (full screen, zoom).
pub(super) fn panel_box(
    p: PanelView,
    full: bool,
    // For a row: the URL that folds or unfolds it.
    fold: String,
    // The dashboard's time range (from, to), for the Explore links.
    range: (String, String),
    change: Callback<Vec<(&'static str, Option<String>)>>,
) -> AnyView {
    let g = &p.grid;
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
    if let PanelBody::Row { collapsed } = p.body {
        let html = format!(
            "<h2><a class=\"row-fold\" href=\"{}\" aria-expanded=\"{}\">{}{}</a></h2>",
            esc(&fold),
            !collapsed,
            if collapsed { "▸ " } else { "▾ " },
            esc(&p.title)
        );
        return markup_at("panel-row", None, Some((style, id)), html);
    }
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
    let mut head = format!(
        "<h3 style=\"{}\">{}</h3><span class=\"panel-actions\">",
        chars_var(&p.title),
        esc(&p.title)
    );
    if !full {
        head.push_str("<button type=\"button\" class=\"panel-full\" title=\"View\">⤢</button>");
    }
    if let Some(href) = explore {
        head.push_str(&format!(
            "<a class=\"panel-explore\" href=\"{}\" title=\"Explore this query\">Explore</a>",
            esc(&href)
        ));
    }
    // Drawn by a module of its own that the page loads before it hydrates: the kind, as
    // `data-lazy` for `preload_drawn_panels`.
    let lazy_kind = matches!(p.body, PanelBody::Logs { .. }).then_some("logs");
    let body = match p.body {
        PanelBody::Chart { chart: view } if view.series.is_empty() => no_data(),
        PanelBody::Chart { chart: view } => {
            // The panel's range (zoomed in, it is the dashboard's) and its chosen series'
            // labels, as Explore → Logs and Explore → Traces filters: a legend click chooses
            // the series whose labels "Logs" and "Traces" carry.
            let labels: Vec<Vec<(String, String)>> =
                view.series.iter().map(|s| s.labels.clone()).collect();
            head.push_str(&correlation_links(&labels, &range, None));
            let on_focus = Callback::new(move |i: Option<usize>| {
                let selector = format!("[data-panel='{id}'] .panel-actions");
                if let Ok(Some(actions)) = document().query_selector(&selector) {
                    // The Explore link and the full-screen button stay; the two links change.
                    for class in [".panel-show-logs", ".panel-show-traces"] {
                        if let Ok(Some(link)) = actions.query_selector(class) {
                            link.remove();
                        }
                    }
                    let _ = actions
                        .insert_adjacent_html("beforeend", &correlation_links(&labels, &range, i));
                }
            });
            let on_zoom = Callback::new(move |range: (f64, f64)| {
                let (from, to) = zoom_times(range);
                change.run(vec![("from", Some(from)), ("to", Some(to))]);
            });
            chart(view, None, on_zoom, on_focus)
        }
        PanelBody::Stat { values } => markup_body(Markup::Stat(values, None)),
        PanelBody::Gauge { values, min, max } => {
            markup_body(Markup::Stat(values, Some((min, max))))
        }
        PanelBody::Table { table } => markup_body(Markup::Table(table)),
        PanelBody::Logs { lines } => from_module(Box::pin(logs_body(lines, range.clone()))),
        PanelBody::Traces { traces, .. } => markup_body(Markup::Traces(traces)),
        // Rendered by the server from Markdown with raw HTML escaped: safe to insert.
        PanelBody::Text { html } => markup("panel-text", None, html),
        PanelBody::Unsupported { original } => markup(
            "panel-unsupported",
            None,
            format!(
                "<p class=\"notice\">Panel type “{}” was not converted on import.</p>",
                esc(&original)
            ),
        ),
        PanelBody::Error { message } => failed(message),
        PanelBody::Row { .. } => no_data(),
    };
    head.push_str("</span>");
    let full_screen = move |ev: leptos::ev::MouseEvent| {
        if event_target::<leptos::web_sys::Element>(&ev)
            .closest(".panel-full")
            .ok()
            .flatten()
            .is_some()
        {
            change.run(vec![("panel", Some(id.to_string()))]);
        }
    };
    view! {
        <section class="panel" style=style data-panel=id.to_string() aria-label=p.title>
            // The title's length sizes its font on the grid (style/main.css).
            <header class="panel-head" inner_html=head on:click=full_screen></header>
            <div class="panel-body" data-lazy=lazy_kind>{body}</div>
        </section>
    }
    .into_any()
}

/// The "Logs" and "Traces" links of a chart's panel: its range, filtered by the labels of
/// the series chosen in its legend (`chosen`), or of its only series.
fn correlation_links(
    labels: &[Vec<(String, String)>],
    range: &(String, String),
    chosen: Option<usize>,
) -> String {
    let f = chosen_series(labels, chosen)
        .map(|l| SeriesFilters::of(l))
        .unwrap_or_default();
    let describe = esc(&f.describe());
    format!(
        "<a class=\"panel-show-logs\" href=\"{}\" title=\"Logs for this range {describe}\">Logs</a>\
         <a class=\"panel-show-traces\" href=\"{}\" title=\"Traces for this range {describe}\">Traces</a>",
        esc(&f.logs_url(range)),
        esc(&f.traces_url(range))
    )
}

/// A `<div>` holding markup: the server's (a text panel's, already safe) or written here
/// with every text escaped. One view type for every such body, and for rows.
fn markup(class: &'static str, role: Option<&'static str>, html: String) -> AnyView {
    markup_at(class, role, None, html)
}

/// `markup`, placed on the grid: `at` is the grid style and the panel's id.
fn markup_at(
    class: &'static str,
    role: Option<&'static str>,
    at: Option<(String, u32)>,
    html: String,
) -> AnyView {
    let (style, panel) = at.map_or((None, None), |(s, id)| (Some(s), Some(id.to_string())));
    view! { <div class=class role=role style=style data-panel=panel inner_html=html></div> }
        .into_any()
}

fn no_data() -> AnyView {
    markup("panel-nodata", Some("status"), "No data".into())
}

fn failed(message: String) -> AnyView {
    markup("panel-error", Some("alert"), esc(&message))
}

/// Before the page hydrates (the route's `preload`, which the router awaits before it
/// hydrates the page; harmless on a page without panels): loads the logs panels' module when
/// the server drew one, so that `from_module` draws it at once, as the server did.
#[cfg(feature = "hydrate")]
pub async fn preload_drawn_panels() {
    let drawn = document()
        .query_selector(".panel-body[data-lazy=logs]")
        .ok()
        .flatten()
        .is_some();
    if drawn {
        __preload_logs_body().await;
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

/// A body drawn as markup alone (stat and gauge, table, traces): once drawn, no code of
/// its kind runs.
enum Markup {
    Stat(Deferred<Vec<StatValue>>, Option<(f64, f64)>),
    Table(Deferred<TableView>),
    Traces(Deferred<Vec<TraceSummary>>),
}

impl Markup {
    fn draw(self) -> AnyView {
        match self {
            Markup::Stat(values, gauge) => stat_body(values, gauge),
            Markup::Table(table) => table_body(table),
            Markup::Traces(traces) => traces_body(traces),
        }
    }
}

/// The server draws a markup body with the plain functions (no `#[lazy]` call, so no
/// preload link: the first load does not fetch their module), and the page hydrates it as
/// the server drew it (a `markup` div, whose inner HTML hydration leaves alone). A later
/// draw in the browser (a refresh, a client-side navigation) runs `markup_module`, fetched
/// the first time.
fn markup_body(body: Markup) -> AnyView {
    if cfg!(feature = "ssr") {
        body.draw()
    } else if Owner::current_shared_context().is_some_and(|sc| sc.during_hydration()) {
        markup("panel-markup", None, String::new())
    } else {
        from_module(Box::pin(markup_module(body)))
    }
}

/// The stat, gauge, table and traces panels' code, one module for the three.
#[lazy]
fn markup_module(body: Markup) -> AnyView {
    body.draw()
}

/// A stat panel's values, or a gauge's (`gauge`: its min and max), as markup.
fn stat_body(values: Deferred<Vec<StatValue>>, gauge: Option<(f64, f64)>) -> AnyView {
    let values = match values {
        Deferred::Ready(v) => Ok(v),
        Deferred::Json(json) => super::decode::stat_values(json),
    };
    let values = match values {
        Err(e) => return failed(e),
        Ok(v) if v.is_empty() => return no_data(),
        Ok(v) => v,
    };
    let named = values.len() > 1;
    let html = values
        .iter()
        .map(|v| match gauge {
            None => stat_html(v, named),
            Some((min, max)) => gauge_html(v, min, max, named),
        })
        .collect();
    markup("stat-values", None, html)
}

/// An instant query's rows.
fn table_body(table: Deferred<TableView>) -> AnyView {
    let table = match table.take() {
        Err(e) => return failed(e),
        Ok(t) if t.rows.is_empty() => return no_data(),
        Ok(t) => t,
    };
    let mut html = String::from(
        "<table class=\"grid panel-table\"><thead><tr><th>Series</th><th class=\"num\">Value</th></tr></thead><tbody>",
    );
    for r in &table.rows {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.series),
            esc(&r.value)
        ));
    }
    html.push_str("</tbody></table>");
    markup("panel-table-holder", None, html)
}

/// A traces panel's rows: each opens its trace.
fn traces_body(traces: Deferred<Vec<TraceSummary>>) -> AnyView {
    let traces = match traces.take() {
        Err(e) => return failed(e),
        Ok(t) if t.is_empty() => return no_data(),
        Ok(t) => t,
    };
    let mut html = String::from(
        "<table class=\"data traces-list\"><thead><tr><th>Trace</th><th>Start (UTC)</th>\
         <th class=\"num\">Duration</th><th class=\"num\">Spans</th><th class=\"num\">Errors</th></tr></thead><tbody>",
    );
    for t in &traces {
        html.push_str(&format!(
            "<tr class=\"trace-row{}\" data-trace-id=\"{id}\"><td><a href=\"/explore/traces/{href}\">{}: {}</a></td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            if t.error_count > 0 { " has-error" } else { "" },
            esc(&t.root_service),
            esc(&t.root_operation),
            utc(t.start_ns as f64 / 1e9),
            esc(&duration_text(t.duration_ms)),
            t.span_count,
            t.error_count,
            id = esc(&t.trace_id),
            href = esc(&encode(&t.trace_id)),
        ));
    }
    html.push_str("</tbody></table>");
    markup("panel-traces", None, html)
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

/// `--chars:N`, the text's length, from which the CSS sizes its font to fit the width.
fn chars_var(text: &str) -> String {
    format!("--chars:{}", text.chars().count().max(1))
}

/// The value's style: its colour and its length (the font fits the cell's width).
fn value_style(v: &StatValue) -> String {
    format!("color:{};{}", v.color, chars_var(&v.value))
}

/// The value, and the series name only when the panel shows several values (Grafana's
/// "auto" text mode): a single value has the panel's title above it.
fn value_html(v: &StatValue, named: bool) -> String {
    let mut out = format!(
        "<div class=\"stat-value\" style=\"{}\" data-raw=\"{}\">{}</div>",
        esc(&value_style(v)),
        v.raw,
        esc(&v.value)
    );
    if named {
        out.push_str(&format!("<div class=\"stat-name\">{}</div>", esc(&v.name)));
    }
    out
}

/// One value of a stat panel, with its sparkline.
fn stat_html(v: &StatValue, named: bool) -> String {
    let mut out = format!("<div class=\"stat\">{}", value_html(v, named));
    if !v.sparkline.is_empty() {
        out.push_str(&format!(
            "<svg class=\"sparkline\" viewBox=\"0 0 100 30\" preserveAspectRatio=\"none\" aria-hidden=\"true\">\
             <polyline points=\"{}\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\"></polyline></svg>",
            esc(&v.sparkline)
        ));
    }
    out.push_str("</div>");
    out
}

/// A 180° gauge: the arc filled to the value's share of [min, max], in its colour; the
/// series name as in `stat_html`.
fn gauge_html(v: &StatValue, min: f64, max: f64, named: bool) -> String {
    let share = if max > min && v.raw.is_finite() {
        ((v.raw - min) / (max - min)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    // The value's arc is the background's half circle drawn to its share of the length
    // (no trigonometry: libm's `sin` and `cos` would weigh more than the gauge).
    format!(
        "<div class=\"stat gauge\"><svg viewBox=\"0 0 100 56\" class=\"gauge-svg\" role=\"img\" aria-label=\"{}\">\
         <path d=\"M10,50 A40,40 0 0,1 90,50\" fill=\"none\" stroke=\"currentColor\" stroke-opacity=\"0.15\" stroke-width=\"8\"></path>\
         <path d=\"M10,50 A40,40 0 0,1 90,50\" pathLength=\"100\" stroke-dasharray=\"{:.2} 100\" fill=\"none\" stroke=\"{}\" stroke-width=\"8\"></path></svg>{}</div>",
        esc(&format!("{} of {}", v.value, max)),
        share * 100.0,
        esc(&v.color),
        value_html(v, named)
    )
}
