//! One trace at `/explore/traces/{trace_id}`: the waterfall (rendered on the server; a
//! subtree folds with its toggle; the critical path highlighted; errors marked), the chosen
//! span's details (`?span=` picks one, as links from log lines do), self time per service
//! and operation, and links to the trace's logs and, when a span carries a correlation id,
//! to every log line of the request.

use std::collections::HashSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::fetch::TraceFetcher;
use super::layout::{layout, Layout};
use super::model::{duration_text, Span, Trace};
use crate::components::chart::utc;
use crate::components::chart_model::encode_pairs;
use crate::components::correlate::{correlation_id_of, request_logs_url, request_rate_url};

#[component]
pub fn TracePage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("trace_id").unwrap_or_default());
    let fetcher = TraceFetcher::new();
    let result = Resource::new(move || id.get(), move |id| fetcher.clone().trace(id));
    let wanted_span = Memo::new(move |_| query.read().get("span"));
    view! {
        <Title text="Trace" />
        <p class="crumbs"><a href="/explore/traces">"Explore traces"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading the trace…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <h1>"Trace"</h1>
                    <div class="panel-error" role="alert" data-testid="trace-error">
                        <strong>"The trace could not be shown: "</strong>{e.to_string()}
                    </div>
                }.into_any(),
                Ok(t) => view! { <TraceBody trace=t wanted=wanted_span.get_untracked() /> }.into_any(),
            })}
        </Transition>
    }
}

/// A trace's (or span's) time as Explore → Logs takes a range: Unix milliseconds, a
/// minute either side, as log lines are written around their spans.
pub fn logs_range(start_ns: i64, end_ns: i64) -> (String, String) {
    let ms = |ns: i64| (ns / 1_000_000).to_string();
    (
        ms(start_ns.saturating_sub(60_000_000_000)),
        ms(end_ns.saturating_add(60_000_000_000)),
    )
}

/// Where the trace's logs are: Explore → Logs with `trace_id:<id>` (and `span_id:<id>`
/// for one span) over [`logs_range`].
pub fn logs_link(trace_id: &str, start_ns: i64, end_ns: i64, span_id: Option<&str>) -> String {
    let query = match span_id {
        Some(s) => format!("trace_id:{trace_id} AND span_id:{s}"),
        None => format!("trace_id:{trace_id}"),
    };
    let (from, to) = logs_range(start_ns, end_ns);
    format!(
        "/explore/logs?{}",
        encode_pairs(&[("query", query), ("from", from), ("to", to)])
    )
}

/// The request a trace serves: the correlation id of its root span, else of the first
/// span that has one (see [`correlation_id_of`]).
pub fn trace_correlation_id(trace: &Trace, root: Option<&Span>) -> Option<String> {
    root.into_iter()
        .chain(&trace.spans)
        .find_map(|s| correlation_id_of(&s.attributes, &s.resource))
}

/// " · Logs of this request": every log line of request `id` over `range`.
fn request_logs_anchor(id: &str, range: &(String, String), class: &'static str) -> impl IntoView {
    let href = request_logs_url(id, range);
    view! {
        " · "
        <a class=class href=href title=format!("correlation_id {id}")>"Logs of this request"</a>
    }
}

#[component]
fn TraceBody(trace: Trace, wanted: Option<String>) -> impl IntoView {
    let l = layout(&trace);
    let root = l.rows.first().map(|r| trace.spans[r.span].clone());
    let title = root
        .as_ref()
        .map(|s| format!("{}: {}", s.service, s.operation))
        .unwrap_or_else(|| "Trace".into());
    let services = trace
        .spans
        .iter()
        .map(|s| s.service.as_str())
        .collect::<HashSet<_>>()
        .len();
    let errors = trace.spans.iter().filter(|s| s.error).count();
    let end_ns = l.start_ns + l.duration_ns;
    let logs = logs_link(&trace.trace_id, l.start_ns, end_ns, None);
    // The request's lines over the trace's time, whichever span names the request.
    let range = logs_range(l.start_ns, end_ns);
    let request = trace_correlation_id(&trace, root.as_ref());
    let request_logs = request
        .clone()
        .map(|id| request_logs_anchor(&id, &range, "trace-request-logs"));
    let first = wanted
        .and_then(|w| trace.spans.iter().position(|s| s.span_id == w))
        .or_else(|| l.rows.first().map(|r| r.span));
    let selected = RwSignal::new(first);
    let trace = StoredValue::new(trace);
    let summary = format!(
        "{} · {} spans · {} services · {} errors · started {} UTC",
        duration_text(l.duration_ns as f64 / 1e6),
        l.rows.len(),
        services,
        errors,
        utc(l.start_ns as f64 / 1e9)
    );
    let trace_id = trace.with_value(|t| t.trace_id.clone());
    view! {
        <h1 data-testid="trace-title">{title}</h1>
        <p class="trace-meta">
            <span class="mono" data-testid="trace-id">{trace_id}</span>" · "{summary}" · "
            <a id="trace-logs" href=logs>"Logs for this trace"</a>
            {request_logs}
        </p>
        <Waterfall l=l.clone() trace=trace selected=selected />
        {move || selected.get().map(|i| {
            let span = trace.with_value(|t| t.spans[i].clone());
            view! { <SpanDetails span=span request=request.clone() range=range.clone() /> }
        })}
        <SelfTimes l=l />
    }
}

#[component]
fn Waterfall(
    l: Layout,
    trace: StoredValue<Trace>,
    selected: RwSignal<Option<usize>>,
) -> impl IntoView {
    let collapsed = RwSignal::new(HashSet::<usize>::new());
    let parents: Vec<Option<usize>> = l.rows.iter().map(|r| r.parent_row).collect();
    let parents = StoredValue::new(parents);
    // A row is hidden when any row above it in its subtree is folded.
    let hidden = move |row: usize| {
        let folded = collapsed.read();
        parents.with_value(|p| {
            let mut at = p[row];
            let mut steps = 0;
            while let Some(r) = at {
                if folded.contains(&r) {
                    return true;
                }
                at = p[r];
                steps += 1;
                if steps > p.len() {
                    break;
                }
            }
            false
        })
    };
    let ticks = (0..=4)
        .map(|i| {
            let ms = l.duration_ns as f64 / 1e6 * f64::from(i) / 4.0;
            view! { <span style=format!("left:{}%", i * 25)>{duration_text(ms)}</span> }
        })
        .collect_view();
    let rows = l
        .rows
        .iter()
        .enumerate()
        .map(|(row, r)| {
            let s: Span = trace.with_value(|t| t.spans[r.span].clone());
            let span_index = r.span;
            let has_children = r.children > 0;
            let label = format!("{} {}", s.service, s.operation);
            let duration = duration_text(s.duration_ns as f64 / 1e6);
            view! {
                <div class="wf-row" role="row" data-span-id=s.span_id.clone() data-depth=r.depth.to_string()
                    class:critical=r.critical class:error=s.error
                    class:selected=move || selected.get() == Some(span_index)
                    style:display=move || if hidden(row) { "none" } else { "" }
                    on:click=move |_| selected.set(Some(span_index))>
                    <div class="wf-name" style=format!("padding-left:{}px", 4 + r.depth * 14)>
                        {has_children.then(|| view! {
                            <button type="button" class="wf-toggle"
                                aria-expanded=move || if collapsed.read().contains(&row) { "false" } else { "true" }
                                aria-label=format!("Fold or unfold the {} spans under {label}", r.children)
                                on:click=move |ev| {
                                    ev.stop_propagation();
                                    collapsed.update(|c| if !c.remove(&row) { c.insert(row); });
                                }>
                                {move || if collapsed.read().contains(&row) { "▸" } else { "▾" }}
                            </button>
                        })}
                        {s.error.then(|| view! { <span class="wf-error" title="Error status">"!"</span> })}
                        <span class="wf-service">{s.service.clone()}</span>
                        " "
                        <span class="wf-op">{s.operation.clone()}</span>
                    </div>
                    <div class="wf-track">
                        <div class="wf-bar" style=format!("left:{:.3}%;width:{:.3}%", r.left_pct, r.width_pct)
                            title=format!("{duration}, self {}", duration_text(r.self_ns as f64 / 1e6))></div>
                        <span class="wf-dur" style=format!("left:{:.3}%", (r.left_pct + r.width_pct).min(92.0))>{duration.clone()}</span>
                    </div>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="waterfall" role="table" aria-label="Spans over time" data-testid="waterfall">
            <div class="wf-row wf-head" role="row">
                <div class="wf-name">"Service and operation"</div>
                <div class="wf-track wf-ticks">{ticks}</div>
            </div>
            {rows}
            <p class="hint">"Highlighted: the critical path. Red: spans with an error status."</p>
        </section>
    }
}

fn pairs_table(
    caption: &'static str,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> impl IntoView {
    let rows: Vec<_> = pairs.into_iter().collect();
    (!rows.is_empty()).then(|| {
        view! {
            <table class="data kv">
                <caption>{caption}</caption>
                <tbody>
                    {rows.into_iter().map(|(k, v)| view! {
                        <tr><th scope="row">{k}</th><td>{v}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
    })
}

/// One span's details; `request` is the trace's correlation id, for a span that names
/// none itself, and `range` the trace's logs range.
#[component]
fn SpanDetails(span: Span, request: Option<String>, range: (String, String)) -> impl IntoView {
    let mut general = vec![
        ("span id".to_owned(), span.span_id.clone()),
        ("service".to_owned(), span.service.clone()),
        ("operation".to_owned(), span.operation.clone()),
        ("kind".to_owned(), span.kind.clone()),
        ("start".to_owned(), utc(span.start_ns as f64 / 1e9)),
        (
            "duration".to_owned(),
            duration_text(span.duration_ns as f64 / 1e6),
        ),
        (
            "status".to_owned(),
            if span.error { "error" } else { "ok / unset" }.to_owned(),
        ),
    ];
    if let Some(p) = &span.parent_span_id {
        general.push(("parent".to_owned(), p.clone()));
    }
    if let Some(m) = &span.status_message {
        general.push(("status message".to_owned(), m.clone()));
    }
    let events = span
        .events
        .iter()
        .map(|e| {
            let offset = duration_text((e.time_ns - span.start_ns) as f64 / 1e6);
            let attrs = e
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            view! { <li class="span-event"><strong>{e.name.clone()}</strong>" at +"{offset}" "<span class="mono">{attrs}</span></li> }
        })
        .collect_view();
    let links = span
        .links
        .iter()
        .map(|k| {
            let href = format!("/explore/traces/{}?span={}", k.trace_id, k.span_id);
            view! { <li class="span-link"><a href=href>{format!("{} / {}", k.trace_id, k.span_id)}</a></li> }
        })
        .collect_view();
    let logs = logs_link(
        &span.trace_id,
        span.start_ns,
        span.end_ns(),
        Some(&span.span_id),
    );
    let request_logs = correlation_id_of(&span.attributes, &span.resource)
        .or(request)
        .map(|id| request_logs_anchor(&id, &range, "span-request-logs"));
    // The service's request rate a quarter of an hour either side of the span.
    let ms = |ns: i64| (ns / 1_000_000).to_string();
    let rate = request_rate_url(
        &span.service,
        &(
            ms(span.start_ns - 900_000_000_000),
            ms(span.end_ns() + 900_000_000_000),
        ),
    );
    view! {
        <section class="span-details" data-testid="span-details" data-span-id=span.span_id.clone()>
            <h2>{format!("{} · {}", span.service, span.operation)}</h2>
            <p>
                <a class="span-logs" href=logs>"Logs for this span"</a>
                {request_logs}" · "
                <a class="span-rate" href=rate>{format!("Request rate of {}", span.service)}</a>
            </p>
            {pairs_table("Span", general)}
            {pairs_table("Attributes", span.attributes.clone())}
            {pairs_table("Resource", span.resource.clone())}
            {(!span.events.is_empty()).then(|| view! { <h3>"Events"</h3><ul class="span-events">{events}</ul> })}
            {(!span.links.is_empty()).then(|| view! { <h3>"Links"</h3><ul class="span-links">{links}</ul> })}
        </section>
    }
}

#[component]
fn SelfTimes(l: Layout) -> impl IntoView {
    let total = l.duration_ns.max(1) as f64;
    let rows = l
        .self_times
        .into_iter()
        .map(|s| {
            let (service, operation) = (s.service.clone(), s.operation.clone());
            view! {
                <tr class="self-time" data-service=service data-operation=operation>
                    <td>{s.service}</td>
                    <td>{s.operation}</td>
                    <td class="num">{s.spans}</td>
                    <td class="num">{duration_text(s.total_ns as f64 / 1e6)}</td>
                    <td class="num self-ms">{duration_text(s.self_ns as f64 / 1e6)}</td>
                    <td class="num">{format!("{:.1}%", s.self_ns as f64 * 100.0 / total)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="self-times">
            <h2>"Self time by service and operation"</h2>
            <table class="data">
                <thead>
                    <tr><th>"Service"</th><th>"Operation"</th><th class="num">"Spans"</th>
                        <th class="num">"Total"</th><th class="num">"Self"</th><th class="num">"% of trace"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, attrs: &[(&str, &str)]) -> Span {
        Span {
            span_id: id.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_trace_serves_its_root_spans_request_else_the_first_span_naming_one() {
        let trace = Trace {
            trace_id: "t".into(),
            spans: vec![
                span("a", &[]),
                span("b", &[("correlation.id", "from-child")]),
                span("root", &[("correlation_id", "from-root")]),
            ],
        };
        let root = trace.spans[2].clone();
        assert_eq!(
            trace_correlation_id(&trace, Some(&root)).as_deref(),
            Some("from-root")
        );
        assert_eq!(
            trace_correlation_id(&trace, Some(&trace.spans[0])).as_deref(),
            Some("from-child")
        );
        let bare = Trace {
            trace_id: "t".into(),
            spans: vec![span("a", &[])],
        };
        assert_eq!(trace_correlation_id(&bare, bare.spans.first()), None);
    }

    #[test]
    fn logs_links_cover_the_trace_and_a_minute_either_side() {
        let (start, end) = (1_700_000_000_000_000_000, 1_700_000_000_500_000_000);
        assert_eq!(
            logs_range(start, end),
            ("1699999940000".to_owned(), "1700000060500".to_owned())
        );
        assert_eq!(
            logs_link("abc", start, end, Some("s1")),
            "/explore/logs?query=trace_id%3Aabc%20AND%20span_id%3As1&from=1699999940000&to=1700000060500"
        );
        let request = request_logs_url("req-1", &logs_range(start, end));
        assert_eq!(
            request,
            "/explore/logs?query=correlation_id%3Areq-1&from=1699999940000&to=1700000060500"
        );
    }
}
