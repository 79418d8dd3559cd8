//! Reading the portal's SVG charts back: the series polylines and, per pixel column, the
//! extremes they touch. Written independently of the server's code so tests check it.

use std::collections::{BTreeMap, BTreeSet};

/// The points of every series line (a `<polyline>` not drawn in the axis colour).
pub fn series_polylines(svg: &str) -> Vec<Vec<(i64, i64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|el| {
            let tag = el.split('>').next().unwrap_or("");
            !tag.contains("currentColor")
        })
        .map(|el| {
            let points = el
                .split("points=\"")
                .nth(1)
                .and_then(|p| p.split('"').next())
                .unwrap_or("");
            points
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').expect("x,y");
                    (x.parse().expect("x"), y.parse().expect("y"))
                })
                .collect()
        })
        .collect()
}

/// What a line chart lights up: per pixel column the lowest and highest y of the line
/// vertices there, and every line piece that goes from one column to another.
pub type Picture = (BTreeMap<i64, (i64, i64)>, BTreeSet<(i64, i64, i64, i64)>);

pub fn picture(svg: &str) -> Picture {
    let mut columns = BTreeMap::<i64, (i64, i64)>::new();
    let mut crossings = BTreeSet::new();
    for line in series_polylines(svg) {
        for (i, &(x, y)) in line.iter().enumerate() {
            let e = columns.entry(x).or_insert((y, y));
            e.0 = e.0.min(y);
            e.1 = e.1.max(y);
            if i > 0 && line[i - 1].0 != x {
                crossings.insert((line[i - 1].0, line[i - 1].1, x, y));
            }
        }
    }
    (columns, crossings)
}

/// A chart's plot area as the portal reports it (`plot` of a chart answer): where a value
/// should be drawn. Drawn points are rounded to whole pixels, so they sit less than 1 px
/// from [`Plot::pixel`].
pub struct Plot {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Plot {
    pub fn of(chart: &serde_json::Value) -> Plot {
        let p = &chart["plot"];
        let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("plot.{k} in {p}"));
        Plot {
            left: f("left"),
            right: f("right"),
            top: f("top"),
            bottom: f("bottom"),
            x0: f("x_min"),
            x1: f("x_max"),
            y0: f("y_min"),
            y1: f("y_max"),
        }
    }

    /// The SVG pixel of `(t, v)`.
    pub fn pixel(&self, t: f64, v: f64) -> (f64, f64) {
        (
            self.left + (self.right - self.left) * (t - self.x0) / (self.x1 - self.x0),
            self.bottom + (self.top - self.bottom) * (v - self.y0) / (self.y1 - self.y0),
        )
    }
}

/// The names of a chart answer's series, in drawing order.
pub fn series_names(chart: &serde_json::Value) -> Vec<&str> {
    chart["series"]
        .as_array()
        .expect("a chart answer has series")
        .iter()
        .map(|s| s["name"].as_str().expect("a series name"))
        .collect()
}
