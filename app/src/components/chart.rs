//! A server-rendered chart made interactive: the SVG comes from the server (visible with no
//! JavaScript); once hydrated, an overlay adds a hover tooltip with every series' value, a
//! legend whose entries isolate a series, and drag-to-zoom; exemplars are points that open
//! their trace.

use leptos::ev::MouseEvent;
use leptos::prelude::*;

use crate::components::chart_model::{ChartView, SeriesView};

/// `YYYY-MM-DD HH:MM:SS` (UTC) for Unix seconds.
pub fn utc(t: f64) -> String {
    let secs = t.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The point of `series` nearest to time `t`, if one is within `tolerance` seconds: before
/// the first sample, after the last and inside a gap there is no value to show (the
/// nearest one would be shown as if it were there).
fn nearest(series: &SeriesView, t: f64, tolerance: f64) -> Option<(f64, f64)> {
    let pts = &series.points;
    if pts.is_empty() {
        return None;
    }
    let i = pts.partition_point(|p| p.0 < t);
    let candidates = [i.checked_sub(1), (i < pts.len()).then_some(i)];
    candidates
        .into_iter()
        .flatten()
        .map(|k| pts[k])
        .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
        .filter(|p| (p.0 - t).abs() <= tolerance)
}

#[derive(Clone, Debug, PartialEq)]
struct Hover {
    /// Horizontal position in percent of the chart's width.
    x_pct: f64,
    time: String,
    rows: Vec<(String, String, String)>,
}

/// The overlay's horizontal pixel in SVG units for a mouse event on it.
fn svg_x(ev: &MouseEvent, svg_width: u32) -> f64 {
    let el: leptos::web_sys::HtmlElement = event_target(ev);
    let shown = f64::from(el.client_width().max(1));
    f64::from(ev.offset_x()) * f64::from(svg_width) / shown
}

/// The chart with tooltip, legend and zoom. `on_zoom` gets the selected time range (Unix
/// seconds); `on_focus` the series index to isolate, or `None` to show all again.
#[component]
pub fn Chart(
    view: ChartView,
    focus: Option<usize>,
    #[prop(into)] on_zoom: Callback<(f64, f64)>,
    #[prop(into)] on_focus: Callback<Option<usize>>,
) -> impl IntoView {
    let plot = view.plot.clone();
    let series = StoredValue::new(view.series.clone());
    let hover = RwSignal::new(None::<Hover>);
    let drag = RwSignal::new(None::<(f64, f64)>);
    let (left, right) = (f64::from(plot.left), f64::from(plot.right));
    let svg_width = plot.svg_width;
    let pct = move |x: f64| x / f64::from(svg_width.max(1)) * 100.0;
    let plot_for_move = plot.clone();
    // A sample stands for its step (half on each side), and for at least one pixel when the
    // drawing has fewer points than steps (M4); farther away there is no data.
    let pixel_seconds = (view.inspector.end - view.inspector.start) / (right - left).max(1.0);
    let tolerance = (view.inspector.step / 2.0).max(pixel_seconds);
    let on_move = move |ev: MouseEvent| {
        let x = svg_x(&ev, svg_width);
        if let Some((start, _)) = drag.get_untracked() {
            drag.set(Some((start, x.clamp(left, right))));
        }
        if x < left || x > right {
            hover.set(None);
            return;
        }
        let t = plot_for_move.time_at(x);
        let unit = plot_for_move.unit;
        let rows = series.with_value(|all| {
            all.iter()
                .filter_map(|s| {
                    nearest(s, t, tolerance)
                        .map(|(_, v)| (s.color.clone(), s.name.clone(), unit.format(v)))
                })
                .collect::<Vec<_>>()
        });
        hover.set(Some(Hover {
            x_pct: pct(x),
            time: utc(t),
            rows,
        }));
    };
    let on_down = move |ev: MouseEvent| {
        let x = svg_x(&ev, svg_width);
        if ev.button() == 0 && x >= left && x <= right {
            ev.prevent_default();
            drag.set(Some((x, x)));
        }
    };
    let plot_for_up = plot.clone();
    let on_up = move |_: MouseEvent| {
        if let Some((a, b)) = drag.get_untracked() {
            drag.set(None);
            if (a - b).abs() >= 4.0 {
                let (t1, t2) = (plot_for_up.time_at(a.min(b)), plot_for_up.time_at(a.max(b)));
                on_zoom.run((t1, t2));
            }
        }
    };
    let selection = move || {
        drag.get()
            .filter(|(a, b)| (a - b).abs() >= 1.0)
            .map(|(a, b)| {
                let style = format!(
                    "left:{:.3}%;width:{:.3}%",
                    pct(a.min(b)),
                    pct((a - b).abs())
                );
                view! { <div class="chart-selection" style=style></div> }
            })
    };
    let tooltip = move || {
        hover.get().map(|h| {
            let side = if h.x_pct > 60.0 { "right" } else { "left" };
            let style = if side == "left" {
                format!("left:calc({:.3}% + 12px)", h.x_pct)
            } else {
                format!("right:calc({:.3}% + 12px)", 100.0 - h.x_pct)
            };
            let crosshair = format!("left:{:.3}%", h.x_pct);
            view! {
                <div class="chart-crosshair" style=crosshair></div>
                <div class="chart-tooltip" role="tooltip" style=style>
                    <div class="tooltip-time">{h.time}</div>
                    {h.rows.is_empty().then(|| view! { <div class="tooltip-empty">"No data"</div> })}
                    {h
                        .rows
                        .into_iter()
                        .map(|(color, name, value)| {
                            let swatch = format!("background:{color}");
                            view! {
                                <div class="tooltip-row">
                                    <span class="swatch" style=swatch></span>
                                    <span class="tooltip-name">{name}</span>
                                    <span class="tooltip-value">{value}</span>
                                </div>
                            }
                        })
                        .collect_view()}
                </div>
            }
        })
    };
    let legend = view
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let swatch = format!("background:{}", s.color);
            let active = focus.is_none_or(|f| f == i);
            let next = if focus == Some(i) { None } else { Some(i) };
            let title = if focus == Some(i) {
                "Show all series"
            } else {
                "Show only this series"
            };
            view! {
                <li>
                    <button
                        type="button"
                        class="legend-entry"
                        class:dimmed=!active
                        title=title
                        aria-pressed=if focus == Some(i) { "true" } else { "false" }
                        on:click=move |_| on_focus.run(next)
                    >
                        <span class="swatch" style=swatch></span>
                        {s.name.clone()}
                    </button>
                </li>
            }
        })
        .collect_view();
    // Exemplars as points over the overlay: each opens its trace.
    let unit = plot.unit;
    let exemplars = view
        .exemplars
        .iter()
        .filter_map(|e| {
            let (x, y) = plot.percent_at(e.t, e.value)?;
            let style = format!("left:{x:.3}%;top:{y:.3}%");
            let href = format!(
                "/explore/traces/{}",
                crate::components::form::encode(&e.trace_id)
            );
            let title = format!(
                "Exemplar {} UTC · {} · {} · trace {}",
                utc(e.t),
                unit.format(e.value),
                e.series,
                e.trace_id
            );
            Some(view! {
                <a class="chart-exemplar" href=href style=style title=title.clone() aria-label=title
                    data-trace-id=e.trace_id.clone()></a>
            })
        })
        .collect_view();
    let aspect = format!(
        "aspect-ratio:{} / {}",
        plot.svg_width.max(1),
        plot.svg_height.max(1)
    );
    view! {
        <div class="chart">
            <div class="chart-frame" style=aspect>
                <div class="chart-svg-holder" inner_html=view.svg.clone()></div>
                <div
                    class="chart-overlay"
                    data-testid="chart-overlay"
                    on:mousemove=on_move
                    on:mousedown=on_down
                    on:mouseup=on_up
                    on:mouseleave=move |_| {
                        hover.set(None);
                        drag.set(None);
                    }
                ></div>
                {exemplars}
                {selection}
                {tooltip}
            </div>
            {view.notice.clone().map(|n| view! { <p class="notice chart-notice" role="status">{n}</p> })}
            <ul class="legend">{legend}</ul>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_utc_times() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00");
    }

    #[test]
    fn finds_the_nearest_point() {
        let s = SeriesView {
            points: vec![(0.0, 1.0), (10.0, 2.0), (20.0, 3.0)],
            ..Default::default()
        };
        assert_eq!(nearest(&s, 12.0, 5.0), Some((10.0, 2.0)));
        assert_eq!(nearest(&s, 16.0, 5.0), Some((20.0, 3.0)));
        // After the last sample, before the first: nothing, not the nearest value.
        assert_eq!(nearest(&s, 99.0, 5.0), None);
        assert_eq!(nearest(&s, -6.0, 5.0), None);
    }

    #[test]
    fn shows_nothing_inside_a_gap() {
        let s = SeriesView {
            points: vec![(0.0, 1.0), (10.0, 2.0), (100.0, 3.0), (110.0, 4.0)],
            ..Default::default()
        };
        assert_eq!(nearest(&s, 55.0, 5.0), None);
        assert_eq!(nearest(&s, 14.0, 5.0), Some((10.0, 2.0)));
        assert_eq!(nearest(&s, 97.0, 5.0), Some((100.0, 3.0)));
    }
}
