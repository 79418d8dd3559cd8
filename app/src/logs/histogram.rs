//! The volume histogram: lines per interval stacked by level, drawn as SVG in the first
//! HTML. A click on a bar narrows the range to that interval; pressing on one bar and
//! letting go on another narrows it to the bars between.

use leptos::prelude::*;

use crate::components::chart::utc;
use crate::components::log_model::{severity_color, LogHistogram};

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 100.0;

/// One drawn bar: where it is, its time span and its stacked segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub start: f64,
    pub end: f64,
    pub total: u64,
    /// `(y, height, colour)` from the bottom up.
    pub segments: Vec<(f64, f64, &'static str)>,
}

/// The bars for `h` in a `WIDTH` × `HEIGHT` box (the tallest bar fills it).
pub fn bars(h: &LogHistogram) -> Vec<Bar> {
    let n = h.counts.len();
    if n == 0 {
        return Vec::new();
    }
    let max = h
        .counts
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / n as f64;
    h.counts
        .iter()
        .enumerate()
        .map(|(i, counts)| {
            let mut y = HEIGHT;
            let segments = counts
                .iter()
                .zip(&h.levels)
                .filter(|(c, _)| **c > 0)
                .map(|(c, level)| {
                    let height = *c as f64 / max * HEIGHT;
                    y -= height;
                    (y, height, severity_color(level))
                })
                .collect();
            let start = h.start + i as f64 * h.step;
            Bar {
                x: i as f64 * slot,
                width: slot,
                start,
                end: start + h.step,
                total: counts.iter().sum(),
                segments,
            }
        })
        .collect()
}

#[component]
pub fn Histogram(h: LogHistogram, #[prop(into)] on_range: Callback<(f64, f64)>) -> impl IntoView {
    let bars = bars(&h);
    let total: u64 = bars.iter().map(|b| b.total).sum();
    let pressed = RwSignal::new(None::<usize>);
    let spans: Vec<(f64, f64)> = bars.iter().map(|b| (b.start, b.end)).collect();
    let spans = StoredValue::new(spans);
    let release = move |j: usize| {
        if let Some(i) = pressed.get_untracked() {
            pressed.set(None);
            let (lo, hi) = (i.min(j), i.max(j));
            let range = spans.with_value(|s| (s[lo].0, s[hi].1));
            on_range.run(range);
        }
    };
    let (first, last) = (
        bars.first().map(|b| utc(b.start)).unwrap_or_default(),
        bars.last().map(|b| utc(b.end)).unwrap_or_default(),
    );
    let gap = (bars.first().map_or(0.0, |b| b.width) * 0.1).min(2.0);
    let drawn = bars
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let label = format!("{} – {}: {} lines", utc(b.start), utc(b.end), b.total);
            let w = (b.width - gap).max(0.5);
            view! {
                <g class="hist-bar" data-bucket=i.to_string() data-count=b.total.to_string()
                    data-start=b.start.to_string() data-end=b.end.to_string()
                    class:pressed=move || pressed.get() == Some(i)
                    aria-label=label
                    on:mousedown=move |ev| {
                        ev.prevent_default();
                        pressed.set(Some(i));
                    }
                    on:mouseup=move |_| release(i)>
                    <rect class="hist-hit" x=format!("{:.2}", b.x) y="0" width=format!("{:.2}", b.width)
                        height=HEIGHT.to_string() fill="transparent" />
                    {b.segments.into_iter().map(|(y, height, color)| view! {
                        <rect x=format!("{:.2}", b.x) y=format!("{y:.2}") width=format!("{w:.2}")
                            height=format!("{height:.2}") fill=color />
                    }).collect_view()}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="log-histogram" data-total=total.to_string()>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img"
                aria-label="Lines over time by level"
                on:mouseleave=move |_| pressed.set(None)>
                {drawn}
            </svg>
            <figcaption class="hist-axis">
                <span>{first}</span>
                <span>{format!("{total} lines")}</span>
                <span>{last}</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_levels_and_the_tallest_fills_the_box() {
        let h = LogHistogram {
            start: 1000.0,
            step: 60.0,
            levels: vec!["INFO".into(), "ERROR".into()],
            counts: vec![vec![2, 2], vec![1, 0], vec![0, 0]],
        };
        let b = bars(&h);
        assert_eq!(b.len(), 3);
        assert_eq!((b[1].start, b[1].end), (1060.0, 1120.0));
        assert_eq!(b[0].total, 4);
        // INFO at the bottom (y 50..100), ERROR on top (0..50).
        assert_eq!(b[0].segments[0], (50.0, 50.0, "#3274d9"));
        assert_eq!(b[0].segments[1], (0.0, 50.0, "#e02f44"));
        assert!(b[2].segments.is_empty());
    }
}
