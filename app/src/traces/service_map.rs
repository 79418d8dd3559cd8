//! The service map at `/explore/service-map`: services as boxes in columns by call depth,
//! calls as arrows, each with its request rate, error rate and p95 over the chosen range;
//! drawn as SVG on the server.

use std::collections::{BTreeMap, VecDeque};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::fetch::TraceFetcher;
use super::model::{red_text, ServiceMapView};
use super::range_select::RangeSelect;
use crate::components::chart_model::encode_pairs;
use crate::components::form::raw_text;

const NODE_W: f64 = 230.0;
const NODE_H: f64 = 58.0;
const COL_GAP: f64 = 150.0;
const ROW_GAP: f64 = 40.0;
const MARGIN: f64 = 20.0;

/// Where each service's box sits (top-left corner): column = the longest chain of calls
/// from a service nobody calls (bounded by the number of services, so cycles end).
pub fn positions(v: &ServiceMapView) -> BTreeMap<String, (f64, f64)> {
    let names: Vec<&str> = v.nodes.iter().map(|n| n.service.as_str()).collect();
    let mut column: BTreeMap<&str, usize> = names.iter().map(|n| (*n, 0)).collect();
    let called: std::collections::HashSet<&str> =
        v.edges.iter().map(|e| e.child.as_str()).collect();
    let mut queue: VecDeque<&str> = names
        .iter()
        .copied()
        .filter(|n| !called.contains(n))
        .collect();
    let limit = names.len();
    let mut steps = 0;
    while let Some(n) = queue.pop_front() {
        steps += 1;
        if steps > limit * limit + limit {
            break;
        }
        let depth = column.get(n).copied().unwrap_or(0);
        for e in v.edges.iter().filter(|e| e.parent == n) {
            let c = column.entry(e.child.as_str()).or_insert(0);
            if *c < depth + 1 && depth + 1 < limit.max(1) {
                *c = depth + 1;
                queue.push_back(e.child.as_str());
            }
        }
    }
    let mut rows_used: BTreeMap<usize, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for n in names {
        let col = column[n];
        let row = rows_used.entry(col).or_insert(0);
        out.insert(
            n.to_owned(),
            (
                MARGIN + col as f64 * (NODE_W + COL_GAP),
                MARGIN + *row as f64 * (NODE_H + ROW_GAP),
            ),
        );
        *row += 1;
    }
    out
}

#[component]
pub fn ServiceMapPage() -> impl IntoView {
    let params = use_query_map();
    let range = Memo::new(move |_| {
        let p = params.read();
        let get = |k: &str, d: &str| {
            p.get(k)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| d.to_owned())
        };
        (get("from", "now-1h"), get("to", "now"))
    });
    let navigate = use_navigate();
    let fetcher = TraceFetcher::new();
    let result = Resource::new(
        move || range.get(),
        move |(from, to)| fetcher.clone().service_map(from, to),
    );
    let search_link = move || {
        let (from, to) = range.get();
        format!(
            "/explore/traces?{}",
            encode_pairs(&[("from", from), ("to", to)])
        )
    };
    view! {
        <Title text="Service map" />
        <h1>"Service map"</h1>
        <nav class="tabs" aria-label="Traces views">
            <a href=search_link class="tab">"Search"</a>
            <a href="#" aria-current="page" class="tab active">"Service map"</a>
        </nav>
        <div class="traces-toolbar">
            <RangeSelect id="map-range" range=range on_pick=Callback::new(move |from: String| {
                let url = format!("/explore/service-map?{}", encode_pairs(&[("from", from), ("to", "now".into())]));
                navigate(&url, Default::default());
            }) />
        </div>
        <Transition fallback=|| view! { <p class="loading">"Drawing the map…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="panel-error" role="alert" data-testid="map-error">
                        <strong>"The map could not be drawn: "</strong>{e.to_string()}
                    </div>
                }.into_any(),
                Ok(v) => view! { <MapDrawing v=v /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn MapDrawing(v: ServiceMapView) -> impl IntoView {
    if v.nodes.is_empty() {
        return view! { <p class="hint" data-testid="map-empty">"No spans in this time range."</p> }
            .into_any();
    }
    let at = positions(&v);
    let width = at.values().map(|p| p.0).fold(0.0, f64::max) + NODE_W + MARGIN;
    let height = at.values().map(|p| p.1).fold(0.0, f64::max) + NODE_H + MARGIN;
    let edges = v
        .edges
        .iter()
        .filter_map(|e| {
            let (p, c) = (at.get(&e.parent)?, at.get(&e.child)?);
            let (x1, y1) = (p.0 + NODE_W, p.1 + NODE_H / 2.0);
            let (x2, y2) = (c.0, c.1 + NODE_H / 2.0);
            let text = red_text(v.rate(e.calls), e.calls, e.errors, e.p95_ms);
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 6.0);
            Some(view! {
                <g class="map-edge" class:error={e.errors > 0} data-parent=e.parent.clone() data-child=e.child.clone()
                    data-calls=e.calls.to_string() data-errors=e.errors.to_string()>
                    <title>{raw_text(format!("{} → {}: {} calls, {text}", e.parent, e.child, e.calls))}</title>
                    <line x1=format!("{x1:.1}") y1=format!("{y1:.1}") x2=format!("{x2:.1}") y2=format!("{y2:.1}")
                        marker-end="url(#map-arrow)" />
                    <text x=format!("{mx:.1}") y=format!("{my:.1}") text-anchor="middle">{text}</text>
                </g>
            })
        })
        .collect_view();
    let nodes = v
        .nodes
        .iter()
        .filter_map(|n| {
            let (x, y) = *at.get(&n.service)?;
            let text = red_text(v.rate(n.requests), n.requests, n.errors, n.p95_ms);
            Some(view! {
                    <g class="map-node" class:error={n.errors > 0} data-service=n.service.clone()
                        data-requests=n.requests.to_string() data-errors=n.errors.to_string()>
                        <title>{raw_text(format!("{}: {} requests, {text}", n.service, n.requests))}</title>
                        <rect x=format!("{x:.1}") y=format!("{y:.1}") width=NODE_W.to_string() height=NODE_H.to_string() rx="6" />
                        <text class="map-name" x=format!("{:.1}", x + 10.0) y=format!("{:.1}", y + 22.0)>{n.service.clone()}</text>
                        <text class="map-red" x=format!("{:.1}", x + 10.0) y=format!("{:.1}", y + 43.0)>{text}</text>
                    </g>
            })
        })
        .collect_view();
    let note = v.truncated.then(|| {
        view! { <p class="hint">"The range holds more spans than one map reads: the map shows the newest."</p> }
    });
    view! {
        <figure class="service-map" data-testid="service-map">
            <svg viewBox=format!("0 0 {width:.0} {height:.0}") width=format!("{width:.0}") role="img"
                aria-label="Services and the calls between them">
                <defs>
                    <marker id="map-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8"
                        markerHeight="8" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                </defs>
                {edges}
                {nodes}
            </svg>
            <figcaption class="hint">"Nodes: requests entering the service. Arrows: calls between services. Rates per second over the range."</figcaption>
        </figure>
        {note}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::model::{ServiceEdge, ServiceNode};

    #[test]
    fn callers_sit_left_of_what_they_call_even_with_a_cycle() {
        let node = |s: &str| ServiceNode {
            service: s.into(),
            ..Default::default()
        };
        let edge = |p: &str, c: &str| ServiceEdge {
            parent: p.into(),
            child: c.into(),
            ..Default::default()
        };
        let v = ServiceMapView {
            nodes: vec![node("db"), node("frontend"), node("pay")],
            edges: vec![
                edge("frontend", "pay"),
                edge("pay", "db"),
                edge("db", "pay"),
            ],
            ..Default::default()
        };
        let p = positions(&v);
        assert!(p["frontend"].0 < p["pay"].0);
        assert!(p["pay"].0 < p["db"].0);
    }
}
