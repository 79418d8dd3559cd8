//! Line charts drawn with plotters into SVG on the server, so the first paint shows data
//! with no JavaScript. M4 runs here, per pixel column of the plot area as plotters maps it,
//! which is what makes the downsampled picture identical to the raw one.

use app::components::chart_model::PlotArea;
use app::components::units::Unit;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::Series;

/// Axis, grid and label colours are written as `currentColor` so the chart follows the
/// page's theme; plotters only takes RGB, so these stand-ins are replaced after drawing.
const AXIS: RGBColor = RGBColor(1, 2, 3);
const GRID: RGBColor = RGBColor(4, 5, 6);

/// Grafana's classic palette: distinct on light and dark backgrounds.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x73, 0xBF, 0x69),
    RGBColor(0xF2, 0xCC, 0x0C),
    RGBColor(0x57, 0x94, 0xF2),
    RGBColor(0xFF, 0x78, 0x0A),
    RGBColor(0xF2, 0x49, 0x5C),
    RGBColor(0x5A, 0xA6, 0x4B),
    RGBColor(0xB8, 0x77, 0xD9),
    RGBColor(0x8A, 0xB8, 0xFF),
    RGBColor(0xCA, 0x95, 0x6A),
    RGBColor(0x96, 0xD9, 0x8D),
];

pub fn color_hex(i: usize) -> String {
    let RGBColor(r, g, b) = PALETTE[i % PALETTE.len()];
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// Reads `#rrggbb`.
pub fn parse_hex(c: &str) -> Option<RGBColor> {
    let hex = c.strip_prefix('#').filter(|h| h.len() == 6)?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some(RGBColor(byte(0)?, byte(2)?, byte(4)?))
}

pub struct Options {
    pub width: u32,
    pub height: u32,
    pub start: f64,
    pub end: f64,
    /// Gaps longer than this (seconds) break the line.
    pub gap: f64,
    pub unit: Unit,
    /// Keep every point (no M4).
    pub raw: bool,
    /// Per series, a colour instead of the palette's (a panel's override).
    pub colors: Vec<Option<RGBColor>>,
}

/// A drawn chart: the SVG text, where the plot area is, and per series the points drawn.
pub struct Rendered {
    pub svg: String,
    pub plot: PlotArea,
    pub drawn: Vec<Vec<(f64, f64)>>,
}

/// Which series to draw: `None` entries are left out (a legend isolating another one).
pub fn render(series: &[Option<&Series>], opts: &Options) -> Result<Rendered, String> {
    let (y_min, y_max) = y_range(series.iter().flatten().copied());
    let (x_min, x_max) = if opts.end > opts.start {
        (opts.start, opts.end)
    } else {
        (opts.start, opts.start + 1.0)
    };
    let span = x_max - x_min;
    let mut svg = String::new();
    let mut drawn = Vec::with_capacity(series.len());
    let plot;
    {
        let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin_top(8)
            .margin_right(12)
            .margin_left(4)
            .x_label_area_size(22)
            .y_label_area_size(62)
            .build_cartesian_2d(x_min..x_max, y_min..y_max)
            .map_err(|e| e.to_string())?;
        let label_font = ("sans-serif", 13).into_font().color(&AXIS);
        chart
            .configure_mesh()
            .x_labels(((opts.width / 110) as usize).max(2))
            .y_labels(((opts.height / 40) as usize).max(2))
            .x_label_formatter(&|x| time_label(*x, span))
            .y_label_formatter(&|y| opts.unit.format(*y))
            .axis_style(AXIS.mix(0.6))
            .bold_line_style(GRID.mix(0.25))
            .light_line_style(TRANSPARENT)
            .label_style(label_font.clone())
            .x_label_style(label_font.pos(Pos::new(HPos::Center, VPos::Top)))
            .draw()
            .map_err(|e| e.to_string())?;
        // The plot area as plotters maps values onto it (its corners), so the browser's
        // pixel-to-time mapping agrees with the drawing exactly.
        let (left, bottom) = chart.backend_coord(&(x_min, y_min));
        let (right, top) = chart.backend_coord(&(x_max, y_max));
        plot = PlotArea {
            svg_width: opts.width,
            svg_height: opts.height,
            left,
            right,
            top,
            bottom,
            x_min,
            x_max,
            y_min,
            y_max,
            unit: opts.unit,
        };
        for (i, s) in series.iter().enumerate() {
            let Some(s) = s else {
                drawn.push(Vec::new());
                continue;
            };
            let color = opts
                .colors
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(PALETTE[i % PALETTE.len()]);
            let mut kept = Vec::new();
            for segment in segments(&s.points, opts.gap) {
                let points: Vec<(f64, f64)> = if opts.raw {
                    segment.to_vec()
                } else {
                    let column = |t: f64| i64::from(chart.backend_coord(&(t, y_min)).0);
                    crate::sources::m4::m4_by(segment, column)
                        .into_iter()
                        .map(|i| segment[i])
                        .collect()
                };
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(1),
                    ))
                    .map_err(|e| e.to_string())?;
                kept.extend(points);
            }
            drawn.push(kept);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let svg = svg
        .replace("#010203", "currentColor")
        .replace("#040506", "currentColor")
        .replacen(
            "<svg ",
            "<svg class=\"chart-svg\" role=\"img\" aria-label=\"line chart\" ",
            1,
        );
    Ok(Rendered { svg, plot, drawn })
}

/// The value range of the drawn series, padded 5 %; from zero when that costs little.
fn y_range<'a>(series: impl Iterator<Item = &'a Series>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        for &(_, v) in &s.points {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    if lo > 0.0 && lo < 0.25 * hi {
        lo = 0.0;
    }
    let pad = (hi - lo) * 0.05;
    (if lo == 0.0 { 0.0 } else { lo - pad }, hi + pad)
}

/// Runs of finite points without a gap longer than `gap` seconds: each is one line.
fn segments(points: &[(f64, f64)], gap: f64) -> Vec<&[(f64, f64)]> {
    let mut out = Vec::new();
    let mut start = None::<usize>;
    for (i, &(t, v)) in points.iter().enumerate() {
        if !v.is_finite() {
            if let Some(s) = start.take() {
                out.push(&points[s..i]);
            }
            continue;
        }
        match start {
            None => start = Some(i),
            Some(s) if i > s && t - points[i - 1].0 > gap => {
                out.push(&points[s..i]);
                start = Some(i);
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&points[s..]);
    }
    out
}

/// A time-axis label: clock time for spans up to two days, else date and time (UTC).
fn time_label(t: f64, span: f64) -> String {
    let Some(at) = chrono::DateTime::from_timestamp(t.floor() as i64, 0) else {
        return String::new();
    };
    if span <= 2.0 * 86400.0 {
        at.format("%H:%M").to_string()
    } else if span <= 14.0 * 86400.0 {
        at.format("%m-%d %H:%M").to_string()
    } else {
        at.format("%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per pixel column the lowest and highest y, and the line pieces between columns.
    pub type Picture = (
        std::collections::BTreeMap<i64, (i64, i64)>,
        std::collections::BTreeSet<(i64, i64, i64, i64)>,
    );

    /// Per pixel column, the lowest and highest y a chart's polylines touch, and every line
    /// piece that crosses from one column to another: two SVGs with equal maps draw the same
    /// pixels. Used to check that M4 changes nothing visible.
    pub fn pixel_columns(svg: &str) -> Picture {
        let mut columns = std::collections::BTreeMap::<i64, (i64, i64)>::new();
        let mut crossings = std::collections::BTreeSet::new();
        for line in polylines(svg) {
            for (i, &(x, y)) in line.iter().enumerate() {
                let e = columns.entry(x).or_insert((y, y));
                e.0 = e.0.min(y);
                e.1 = e.1.max(y);
                if i > 0 {
                    let (px, py) = line[i - 1];
                    if px != x {
                        crossings.insert((px, py, x, y));
                    }
                }
            }
        }
        (columns, crossings)
    }

    /// The points of every series line (`<polyline>` not drawn in the axis colour) in an SVG.
    pub fn polylines(svg: &str) -> Vec<Vec<(i64, i64)>> {
        svg.split("<polyline")
            .skip(1)
            .filter(|el| !el.split('>').next().unwrap_or("").contains("currentColor"))
            .filter_map(|el| {
                let points = el.split("points=\"").nth(1)?.split('"').next()?;
                Some(
                    points
                        .split_whitespace()
                        .filter_map(|p| {
                            let (x, y) = p.split_once(',')?;
                            Some((x.parse::<f64>().ok()? as i64, y.parse::<f64>().ok()? as i64))
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn noisy(n: usize) -> Series {
        // A deterministic, spiky signal: M4 must keep every spike's pixel.
        let mut x: u64 = 42;
        let points = (0..n)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let spike = if (x >> 60) == 0 { 50.0 } else { 0.0 };
                (i as f64 * 15.0, ((x >> 33) % 1000) as f64 / 100.0 + spike)
            })
            .collect();
        Series {
            labels: vec![],
            points,
        }
    }

    fn opts(raw: bool, n: usize) -> Options {
        Options {
            width: 800,
            height: 300,
            start: 0.0,
            end: n as f64 * 15.0,
            gap: 60.0,
            unit: Unit::Short,
            raw,
            colors: Vec::new(),
        }
    }

    #[test]
    fn m4_draws_the_same_pixels_as_raw_data() {
        let s = noisy(20_000);
        let raw = render(&[Some(&s)], &opts(true, 20_000)).unwrap();
        let m4 = render(&[Some(&s)], &opts(false, 20_000)).unwrap();
        let columns = (raw.plot.right - raw.plot.left) as usize;
        assert!(
            m4.drawn[0].len() <= 4 * (columns + 1),
            "{}",
            m4.drawn[0].len()
        );
        assert!(m4.drawn[0].len() < s.points.len() / 5);
        let (columns_raw, crossings_raw) = pixel_columns(&raw.svg);
        assert!(columns_raw.len() > 700, "the line spans the plot area");
        assert_eq!((columns_raw, crossings_raw), pixel_columns(&m4.svg));
    }

    #[test]
    fn gaps_and_nan_break_lines() {
        let pts = vec![
            (0.0, 1.0),
            (15.0, 2.0),
            (200.0, 3.0),
            (215.0, f64::NAN),
            (230.0, 4.0),
        ];
        let segs = segments(&pts, 60.0);
        assert_eq!(segs.len(), 3);
        let s = Series {
            labels: vec![],
            points: pts,
        };
        let r = render(&[Some(&s)], &opts(true, 20)).unwrap();
        assert_eq!(polylines(&r.svg).len(), 3);
    }

    #[test]
    fn themes_follow_the_page_and_units_label_axes() {
        let s = Series {
            labels: vec![],
            points: vec![(0.0, 0.0), (100.0, 2048.0)],
        };
        let mut o = opts(true, 10);
        o.unit = Unit::Bytes;
        let r = render(&[Some(&s)], &o).unwrap();
        assert!(r.svg.contains("currentColor"));
        assert!(!r.svg.contains("#010203"));
        assert!(r.svg.contains("KiB"), "byte axis labels");
        assert!(r.plot.left > 0 && r.plot.right <= 800 && r.plot.top < r.plot.bottom);
    }
}
