//! The search's matches as dots: start time across, duration up (errors in red), drawn as
//! SVG in the first HTML; a click on a dot opens its trace.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::model::{duration_text, TraceSearchView};
use crate::components::chart::utc;
use crate::components::form::raw_text;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 220.0;
const PAD: f64 = 10.0;

/// A dot: its trace and where it sits in the `WIDTH` × `HEIGHT` box.
#[derive(Clone, Debug, PartialEq)]
pub struct Dot {
    pub trace_id: String,
    pub x: f64,
    pub y: f64,
    pub error: bool,
    pub label: String,
}

/// Dots for the matches: the range across, 0 to the longest duration up.
pub fn dots(v: &TraceSearchView) -> (Vec<Dot>, f64) {
    let longest = v
        .traces
        .iter()
        .map(|t| t.duration_ms)
        .fold(0.0_f64, f64::max)
        .max(0.001);
    let span = (v.end - v.start).max(1e-9);
    let dots = v
        .traces
        .iter()
        .map(|t| {
            let at = t.start_ns as f64 / 1e9;
            let fx = ((at - v.start) / span).clamp(0.0, 1.0);
            let fy = (t.duration_ms / longest).clamp(0.0, 1.0);
            Dot {
                trace_id: t.trace_id.clone(),
                x: PAD + fx * (WIDTH - 2.0 * PAD),
                y: HEIGHT - PAD - fy * (HEIGHT - 2.0 * PAD),
                error: t.error_count > 0,
                label: format!(
                    "{}: {} · {} · {}",
                    t.root_service,
                    t.root_operation,
                    duration_text(t.duration_ms),
                    utc(at)
                ),
            }
        })
        .collect();
    (dots, longest)
}

#[component]
pub fn Scatter(v: TraceSearchView) -> impl IntoView {
    let navigate = use_navigate();
    let (dots, longest) = dots(&v);
    let drawn = dots
        .into_iter()
        .map(|d| {
            let navigate = navigate.clone();
            let href = format!("/explore/traces/{}", d.trace_id);
            let label = d.label.clone();
            view! {
                <circle class="trace-dot" class:error=d.error data-trace-id=d.trace_id
                    cx=format!("{:.1}", d.x) cy=format!("{:.1}", d.y) r="5"
                    role="link" tabindex="0" aria-label=label
                    on:click=move |_| navigate(&href, Default::default())>
                    <title>{raw_text(d.label)}</title>
                </circle>
            }
        })
        .collect_view();
    view! {
        <figure class="trace-scatter">
            <div class="scatter-y">
                <span>{duration_text(longest)}</span>
                <span>"0"</span>
            </div>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img"
                aria-label="Trace duration over time">
                <line class="axis" x1=PAD.to_string() y1=(HEIGHT - PAD).to_string()
                    x2=(WIDTH - PAD).to_string() y2=(HEIGHT - PAD).to_string() />
                {drawn}
            </svg>
            <figcaption class="hist-axis">
                <span>{utc(v.start)}</span>
                <span>"Duration over time · click a dot to open its trace"</span>
                <span>{utc(v.end)}</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::model::TraceSummary;

    #[test]
    fn the_longest_trace_is_at_the_top_and_time_runs_across() {
        let t = |id: &str, at: f64, ms: f64, errors: usize| TraceSummary {
            trace_id: id.into(),
            start_ns: (at * 1e9) as i64,
            duration_ms: ms,
            error_count: errors,
            ..Default::default()
        };
        let v = TraceSearchView {
            traces: vec![t("a", 1000.0, 50.0, 0), t("b", 1100.0, 200.0, 1)],
            start: 1000.0,
            end: 1100.0,
            ..Default::default()
        };
        let (d, longest) = dots(&v);
        assert_eq!(longest, 200.0);
        assert_eq!((d[0].x, d[1].x), (PAD, WIDTH - PAD));
        assert_eq!(d[1].y, PAD);
        assert!(d[1].error && !d[0].error);
    }
}
