//! A server-rendered chart made interactive: the SVG comes from the server (visible with no
//! JavaScript); once hydrated, a hover tooltip with every series' value, a legend whose
//! entries isolate a series, and drag-to-zoom; exemplars are points that open their trace.
//!
//! The markup is one string (`chart_html`, every text escaped) set as the chart's inner
//! HTML, and one handler (`ChartState::on_event`) reads the pointer's position and writes
//! the tooltip and the selection back as markup: the browser's code for a chart is a few
//! plain functions, not a view and a signal per part (issue #13's page weight).

use std::cell::Cell;
use std::fmt::Write;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, MouseEvent};

use crate::components::chart_model::{ChartView, SeriesView};
use crate::components::form::{encode, escape_html as esc};

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

/// The markup inside `<div class="chart">`: the frame with the server's SVG, the overlay
/// that takes the pointer, the exemplars and the layer the tooltip and the selection are
/// written into; the notice; the legend (`focus`: the series shown alone).
pub fn chart_html(view: &ChartView, focus: Option<usize>) -> String {
    let plot = &view.plot;
    let mut out = String::with_capacity(view.svg.len() + 512 * (1 + view.series.len()));
    let _ = write!(
        out,
        "<div class=\"chart-frame\" style=\"aspect-ratio:{} / {}\">\
         <div class=\"chart-svg-holder\">{}</div>\
         <div class=\"chart-overlay\" data-testid=\"chart-overlay\"></div>",
        plot.svg_width.max(1),
        plot.svg_height.max(1),
        view.svg
    );
    for e in &view.exemplars {
        let Some((x, y)) = plot.percent_at(e.t, e.value) else {
            continue;
        };
        let title = esc(&format!(
            "Exemplar {} UTC · {} · {} · trace {}",
            utc(e.t),
            plot.unit.format(e.value),
            e.series,
            e.trace_id
        ));
        let _ = write!(
            out,
            "<a class=\"chart-exemplar\" href=\"/explore/traces/{}\" style=\"left:{x:.3}%;top:{y:.3}%\" \
             title=\"{title}\" aria-label=\"{title}\" data-trace-id=\"{}\"></a>",
            esc(&encode(&e.trace_id)),
            esc(&e.trace_id)
        );
    }
    out.push_str("<div class=\"chart-live\"></div></div>");
    if let Some(n) = &view.notice {
        let _ = write!(
            out,
            "<p class=\"notice chart-notice\" role=\"status\">{}</p>",
            esc(n)
        );
    }
    out.push_str("<ul class=\"legend\">");
    for (i, s) in view.series.iter().enumerate() {
        let (class, title, pressed) = legend_state(focus, i);
        let _ = write!(
            out,
            "<li><button type=\"button\" class=\"{class}\" title=\"{title}\" aria-pressed=\"{pressed}\" \
             data-i=\"{i}\"><span class=\"swatch\" style=\"background:{}\"></span>{}</button></li>",
            esc(&s.color),
            esc(&s.name)
        );
    }
    out.push_str("</ul>");
    out
}

/// A legend entry's class, title and `aria-pressed` when `focus` is the series shown alone.
fn legend_state(focus: Option<usize>, i: usize) -> (&'static str, &'static str, &'static str) {
    match focus {
        Some(f) if f == i => ("legend-entry", "Show all series", "true"),
        Some(_) => ("legend-entry dimmed", "Show only this series", "false"),
        None => ("legend-entry", "Show only this series", "false"),
    }
}

/// What a pointer event on a chart asks of its page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChartAction {
    /// The time range selected by dragging (Unix seconds).
    Zoom(f64, f64),
    /// The series to show alone, or `None` for all of them.
    Focus(Option<usize>),
}

/// A drawn chart's data and what the pointer is doing on it.
pub struct ChartState {
    view: ChartView,
    /// Seconds one side of a point within which the tooltip shows it.
    tolerance: f64,
    drag: Cell<Option<(f64, f64)>>,
    focus: Cell<Option<usize>>,
}

impl ChartState {
    pub fn new(view: ChartView, focus: Option<usize>) -> Self {
        let plot = &view.plot;
        // A sample stands for its step (half on each side), and for at least one pixel when
        // the drawing has fewer points than steps (M4); farther away there is no data.
        let pixel_seconds = (view.inspector.end - view.inspector.start)
            / f64::from(plot.right - plot.left).max(1.0);
        let tolerance = (view.inspector.step / 2.0).max(pixel_seconds);
        Self {
            view,
            tolerance,
            drag: Cell::new(None),
            focus: Cell::new(focus),
        }
    }

    /// Handles `mousemove`, `mousedown`, `mouseup`, `mouseout` and `click` inside the chart
    /// whose `<div class="chart">` is `root`: draws the tooltip and the selection, restyles
    /// the legend, and says when the page must zoom or isolate a series.
    pub fn on_event(&self, root: &Element, ev: &MouseEvent) -> Option<ChartAction> {
        let target: Element = ev.target()?.dyn_into().ok()?;
        let kind = ev.type_();
        if kind == "click" {
            let entry = target.closest(".legend-entry").ok()??;
            let i: usize = entry.get_attribute("data-i")?.parse().ok()?;
            let next = if self.focus.get() == Some(i) {
                None
            } else {
                Some(i)
            };
            self.focus.set(next);
            for k in 0..self.view.series.len() {
                if let Ok(Some(el)) = root.query_selector(&format!(".legend-entry[data-i='{k}']")) {
                    let (class, title, pressed) = legend_state(next, k);
                    let _ = el.set_attribute("class", class);
                    let _ = el.set_attribute("title", title);
                    let _ = el.set_attribute("aria-pressed", pressed);
                }
            }
            return Some(ChartAction::Focus(next));
        }
        if !target.class_list().contains("chart-overlay") {
            return None;
        }
        let plot = &self.view.plot;
        let (left, right) = (f64::from(plot.left), f64::from(plot.right));
        // The pointer's horizontal pixel in SVG units.
        let shown = f64::from(target.client_width().max(1));
        let x = f64::from(ev.offset_x()) * f64::from(plot.svg_width) / shown;
        let mut action = None;
        let mut hover = x >= left && x <= right;
        match kind.as_str() {
            "mousemove" => {
                if let Some((start, _)) = self.drag.get() {
                    self.drag.set(Some((start, x.clamp(left, right))));
                }
            }
            "mousedown" => {
                if ev.button() == 0 && hover {
                    ev.prevent_default();
                    self.drag.set(Some((x, x)));
                }
            }
            "mouseup" => {
                if let Some((a, b)) = self.drag.take() {
                    if (a - b).abs() >= 4.0 {
                        let (t1, t2) = (plot.time_at(a.min(b)), plot.time_at(a.max(b)));
                        action = Some(ChartAction::Zoom(t1, t2));
                    }
                }
            }
            _ => {
                // Left the overlay.
                self.drag.set(None);
                hover = false;
            }
        }
        let mut live = String::new();
        if let Some((a, b)) = self.drag.get().filter(|(a, b)| (a - b).abs() >= 1.0) {
            let _ = write!(
                live,
                "<div class=\"chart-selection\" style=\"left:{:.3}%;width:{:.3}%\"></div>",
                self.pct(a.min(b)),
                self.pct((a - b).abs())
            );
        }
        if hover {
            self.tooltip(x, &mut live);
        }
        if let Ok(Some(layer)) = root.query_selector(".chart-live") {
            layer.set_inner_html(&live);
        }
        action
    }

    /// `x` (SVG pixels) in percent of the chart's width.
    fn pct(&self, x: f64) -> f64 {
        x / f64::from(self.view.plot.svg_width.max(1)) * 100.0
    }

    /// The crosshair and the tooltip at `x`: the time and each series' value there.
    fn tooltip(&self, x: f64, out: &mut String) {
        let plot = &self.view.plot;
        let t = plot.time_at(x);
        let x_pct = self.pct(x);
        let side = if x_pct > 60.0 {
            format!("right:calc({:.3}% + 12px)", 100.0 - x_pct)
        } else {
            format!("left:calc({x_pct:.3}% + 12px)")
        };
        let _ = write!(
            out,
            "<div class=\"chart-crosshair\" style=\"left:{x_pct:.3}%\"></div>\
             <div class=\"chart-tooltip\" role=\"tooltip\" style=\"{side}\">\
             <div class=\"tooltip-time\">{}</div>",
            utc(t)
        );
        let mut rows = 0;
        for s in &self.view.series {
            if let Some((_, v)) = nearest(s, t, self.tolerance) {
                rows += 1;
                let _ = write!(
                    out,
                    "<div class=\"tooltip-row\"><span class=\"swatch\" style=\"background:{}\"></span>\
                     <span class=\"tooltip-name\">{}</span><span class=\"tooltip-value\">{}</span></div>",
                    esc(&s.color),
                    esc(&s.name),
                    esc(&plot.unit.format(v))
                );
            }
        }
        if rows == 0 {
            out.push_str("<div class=\"tooltip-empty\">No data</div>");
        }
        out.push_str("</div>");
    }
}

/// The handler of a chart's pointer events (one closure type for all five events): runs
/// `on_action` with what the chart asks. `root` is found from the event, so the same handler
/// serves a chart that is a `<div class="chart">` of its own and one inside a panel's markup.
pub fn chart_handler(
    state: Rc<ChartState>,
    on_action: impl Fn(ChartAction) + Clone + 'static,
) -> impl FnMut(MouseEvent) + Clone + 'static {
    move |ev: MouseEvent| {
        let root = ev
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|t| t.closest(".chart").ok().flatten());
        if let Some(action) = root.and_then(|root| state.on_event(&root, &ev)) {
            on_action(action);
        }
    }
}

/// The chart with tooltip, legend and zoom. `on_zoom` gets the selected time range (Unix
/// seconds); `on_focus` the series index to isolate, or `None` to show all again.
pub fn chart(
    view: ChartView,
    focus: Option<usize>,
    on_zoom: Callback<(f64, f64)>,
    on_focus: Callback<Option<usize>>,
) -> AnyView {
    let html = chart_html(&view, focus);
    let handler = chart_handler(Rc::new(ChartState::new(view, focus)), move |a| match a {
        ChartAction::Zoom(t1, t2) => on_zoom.run((t1, t2)),
        ChartAction::Focus(f) => on_focus.run(f),
    });
    view! {
        <div class="chart" inner_html=html on:mousemove=handler.clone() on:mousedown=handler.clone()
            on:mouseup=handler.clone() on:mouseout=handler.clone() on:click=handler></div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_text_of_the_markup() {
        let view = ChartView {
            svg: "<svg></svg>".into(),
            series: vec![
                SeriesView {
                    name: "a<b>\"".into(),
                    color: "#123".into(),
                    ..Default::default()
                },
                SeriesView {
                    name: "two".into(),
                    color: "#456".into(),
                    ..Default::default()
                },
            ],
            notice: Some("<i>cut</i>".into()),
            ..Default::default()
        };
        let html = chart_html(&view, Some(1));
        assert!(html.contains("<svg></svg>"), "the server's SVG as it is");
        assert!(html.contains("a&lt;b&gt;&quot;</button>"), "{html}");
        assert!(html.contains("&lt;i&gt;cut&lt;/i&gt;"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<i>"), "{html}");
        // Series 1 alone: the other entry dimmed, this one pressed.
        assert!(html.contains("class=\"legend-entry dimmed\" title=\"Show only this series\" aria-pressed=\"false\" data-i=\"0\""));
        assert!(html.contains(
            "class=\"legend-entry\" title=\"Show all series\" aria-pressed=\"true\" data-i=\"1\""
        ));
    }

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
