//! Charts: a range query against a metrics source, drawn to SVG on the server. The Explore
//! page and dashboard panels both come through [`chart`]; instant queries become tables.
//! The queries' exemplars come with the chart (`exemplars.rs`).

pub mod exemplars;
pub mod series;
pub mod svg;
pub mod time;

use std::time::Instant;

use app::components::chart_model::{
    ChartRequest, ChartView, Inspector, SeriesView, TableRow, TableView, MAX_EXEMPLARS, MAX_SERIES,
};
use app::components::units::Unit;

use crate::error::Error;
use crate::promql_syntax::PromQl;
use crate::sources::{InstantQuery, MetricsSource, RangeQuery, SourceError};

/// Prometheus refuses range queries of more than 11,000 points per series.
const MAX_POINTS: f64 = 11_000.0;

/// Parses every query on the CPU pool (a bad one costs parses of its prefixes).
async fn check_queries(queries: &[&str]) -> Result<(), Error> {
    let owned: Vec<String> = queries.iter().map(|q| (*q).to_owned()).collect();
    crate::cpu::run(move || {
        owned.iter().try_for_each(|q| {
            PromQl::parse(q).map(|_| ()).map_err(|e| {
                Error::invalid(
                    "query",
                    format!("line {}, column {}: {}", e.line, e.column, e.message),
                )
            })
        })
    })
    .await?
}

/// A validated chart request with times resolved.
struct Plan {
    start: f64,
    end: f64,
    step: f64,
    unit: Unit,
}

fn plan(req: &ChartRequest, now: f64) -> Result<Plan, Error> {
    let start = time::resolve(&req.from, now).map_err(|m| Error::invalid("from", m))?;
    let end = time::resolve(&req.to, now).map_err(|m| Error::invalid("to", m))?;
    if end <= start {
        return Err(Error::invalid("to", "must be later than `from`"));
    }
    if !(100..=4000).contains(&req.width) {
        return Err(Error::invalid("width", "must be 100 to 4000 pixels"));
    }
    if !(80..=2000).contains(&req.height) {
        return Err(Error::invalid("height", "must be 80 to 2000 pixels"));
    }
    let unit = if req.unit.is_empty() {
        Unit::guess(&req.query)
    } else {
        Unit::parse(&req.unit).ok_or_else(|| {
            Error::invalid(
                "unit",
                format!("`{}` is not a unit; use s, ms, bytes, percent, percentunit, short, reqps or none", req.unit),
            )
        })?
    };
    let step = match req.step {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(Error::invalid(
                "step",
                "must be a positive number of seconds",
            ))
        }
        Some(s) => s,
        // Plot-area width is about the chart width less the axis: one point per column.
        None => time::step_for(end - start, req.width.saturating_sub(80)),
    };
    if (end - start) / step > MAX_POINTS {
        return Err(Error::invalid(
            "step",
            format!(
                "{step} s over this range is more than {MAX_POINTS} points per series; use at least {} s",
                ((end - start) / MAX_POINTS).ceil()
            ),
        ));
    }
    Ok(Plan {
        start,
        end,
        step,
        unit,
    })
}

/// Runs `req` against `source` and draws it.
pub async fn chart(
    source: &dyn MetricsSource,
    req: &ChartRequest,
    now: f64,
) -> Result<ChartView, Error> {
    chart_many(
        source,
        &[(req.query.clone(), req.legend.clone())],
        req,
        now,
        &|_| Style::default(),
    )
    .await
}

/// How one series is shown instead of the defaults (a dashboard panel's overrides).
#[derive(Debug, Default)]
pub struct Style {
    pub name: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
}

/// The step a chart request will use (for `$__interval` before the queries run).
pub fn step_of(req: &ChartRequest, now: f64) -> Option<f64> {
    plan(req, now).ok().map(|p| p.step)
}

/// One series with the `(legend format, query)` that names it.
pub type Named = (series::Series, (String, String));

/// The range (Unix seconds) and step a chart request draws: `(start, end, step)`.
pub fn frame(req: &ChartRequest, now: f64) -> Result<(f64, f64, f64), Error> {
    plan(req, now).map(|p| (p.start, p.end, p.step))
}

/// Runs several `(query, legend format)` targets (run concurrently) into one chart; the
/// request's own `query` and `legend` are not used. `style` may rename and recolour a
/// series, given its display name.
pub async fn chart_many(
    source: &dyn MetricsSource,
    targets: &[(String, String)],
    req: &ChartRequest,
    now: f64,
    style: &(dyn Fn(&str) -> Style + Sync),
) -> Result<ChartView, Error> {
    let queries: Vec<&str> = targets.iter().map(|(q, _)| q.as_str()).collect();
    check_queries(&queries).await?;
    let plan = plan(req, now)?;
    let started = Instant::now();
    let runs = targets
        .iter()
        .map(|(query, legend)| range_series(source, query, legend, &plan));
    let marks = queries
        .iter()
        .map(|q| source.query_exemplars(q, plan.start, plan.end));
    let (answers, marks) = futures::future::join(
        futures::future::join_all(runs),
        futures::future::join_all(marks),
    )
    .await;
    let mut all = Vec::new();
    for answer in answers {
        all.extend(answer?);
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut view = draw(all, queries.join("\n"), req, &plan, elapsed_ms, style).await?;
    // Exemplars decorate the chart: a store that cannot answer them leaves them out.
    let marks: Vec<serde_json::Value> = marks.into_iter().filter_map(Result::ok).collect();
    view.exemplars = exemplars::points(&marks, plan.start, plan.end, MAX_EXEMPLARS);
    Ok(view)
}

/// One PromQL query's series over a chart request's range and step (checked first).
pub async fn promql_series(
    source: &dyn MetricsSource,
    query: &str,
    legend: &str,
    req: &ChartRequest,
    now: f64,
) -> Result<Vec<Named>, Error> {
    check_queries(&[query]).await?;
    let plan = plan(req, now)?;
    range_series(source, query, legend, &plan).await
}

async fn range_series(
    source: &dyn MetricsSource,
    query: &str,
    legend: &str,
    plan: &Plan,
) -> Result<Vec<Named>, Error> {
    let q = RangeQuery {
        query: query.to_owned(),
        start: plan.start.to_string(),
        end: plan.end.to_string(),
        step: plan.step.to_string(),
        timeout: None,
    };
    let data = source.query_range(&q).await?;
    let found = series::from_matrix(&data).map_err(SourceError::Garbage)?;
    Ok(found
        .into_iter()
        .map(|s| (s, (legend.to_owned(), query.to_owned())))
        .collect())
}

/// Draws series that were fetched already (PromQL, log counts, or both) into one chart:
/// at most [`MAX_SERIES`], the same axes, legend and units. `queries` is what the inspector
/// shows as the query text; `spacing` the widest distance of a series' points (log-count
/// buckets may be wider than the chart's step), so a line breaks only at missing points.
pub async fn draw_series(
    all: Vec<Named>,
    queries: String,
    req: &ChartRequest,
    now: f64,
    (elapsed_ms, spacing): (f64, f64),
    style: &(dyn Fn(&str) -> Style + Sync),
) -> Result<ChartView, Error> {
    let mut plan = plan(req, now)?;
    plan.step = plan.step.max(spacing);
    draw(all, queries, req, &plan, elapsed_ms, style).await
}

async fn draw(
    all: Vec<Named>,
    queries: String,
    req: &ChartRequest,
    plan: &Plan,
    elapsed_ms: f64,
    style: &(dyn Fn(&str) -> Style + Sync),
) -> Result<ChartView, Error> {
    let total = all.len();
    let (shown, legends): (Vec<series::Series>, Vec<(String, String)>) =
        all.into_iter().take(MAX_SERIES).unzip();
    if let Some(f) = req.focus {
        if f >= shown.len() {
            return Err(Error::invalid(
                "focus",
                format!("there are {} series; `focus` counts from 0", shown.len()),
            ));
        }
    }
    let points_returned = shown.iter().map(|s| s.points.len()).sum();
    let styles: Vec<(String, Style)> = shown
        .iter()
        .zip(&legends)
        .map(|(s, (legend, query))| {
            let name = s.display_name(legend, query);
            let style = style(&name);
            (name, style)
        })
        .collect();
    let options = svg::Options {
        width: req.width,
        height: req.height,
        start: plan.start,
        end: plan.end,
        gap: plan.step * 2.5,
        unit: plan.unit,
        raw: req.raw,
        colors: styles
            .iter()
            .map(|(_, st)| st.color.as_deref().and_then(svg::parse_hex))
            .collect(),
    };
    let focus = req.focus;
    // Drawing is CPU work: keep it off the threads that serve other requests.
    let (rendered, shown) = crate::cpu::run(move || {
        let picked: Vec<Option<&series::Series>> = shown
            .iter()
            .enumerate()
            .map(|(i, s)| (focus.is_none() || focus == Some(i)).then_some(s))
            .collect();
        let rendered = svg::render(&picked, &options);
        (rendered, shown)
    })
    .await?;
    let rendered =
        rendered.map_err(|e| Error::internal(anyhow::anyhow!("chart rendering failed: {e}")))?;
    let points_drawn = rendered.drawn.iter().map(Vec::len).sum();
    let series = shown
        .iter()
        .zip(rendered.drawn)
        .zip(styles)
        .enumerate()
        .map(|(i, ((s, drawn), (name, style)))| SeriesView {
            name: style.name.unwrap_or(name),
            labels: s.labels.clone(),
            color: style
                .color
                .filter(|c| svg::parse_hex(c).is_some())
                .unwrap_or_else(|| svg::color_hex(i)),
            points: drawn,
        })
        .collect();
    Ok(ChartView {
        svg: rendered.svg,
        plot: rendered.plot,
        series,
        total_series: total,
        notice: (total > MAX_SERIES).then(|| {
            format!(
                "Showing the first {MAX_SERIES} of {total} series. Narrow the query (add label matchers or aggregate with sum by (…)) to see the rest."
            )
        }),
        inspector: Inspector {
            query: queries,
            start: plan.start,
            end: plan.end,
            step: plan.step,
            elapsed_ms,
            series: total,
            points_returned,
            points_drawn,
            downsampling: if req.raw { "none" } else { "m4" }.into(),
        },
        exemplars: Vec::new(),
    })
}

/// Runs an instant query and lists its samples.
pub async fn table(
    source: &dyn MetricsSource,
    query: &str,
    at: &str,
    legend: &str,
    unit: &str,
    now: f64,
) -> Result<TableView, Error> {
    check_queries(&[query]).await?;
    let at = if at.is_empty() { "now" } else { at };
    let time = time::resolve(at, now).map_err(|m| Error::invalid("time", m))?;
    let unit = if unit.is_empty() {
        Unit::guess(query)
    } else {
        Unit::parse(unit)
            .ok_or_else(|| Error::invalid("unit", format!("`{unit}` is not a unit")))?
    };
    let started = Instant::now();
    let data = source
        .query(&InstantQuery {
            query: query.to_owned(),
            time: Some(time.to_string()),
            timeout: None,
        })
        .await?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let samples = series::from_vector(&data).map_err(SourceError::Garbage)?;
    let rows: Vec<TableRow> = samples
        .iter()
        .filter_map(|s| {
            let (_, v) = *s.points.first()?;
            Some(TableRow {
                series: s.display_name(legend, query),
                value: unit.format(v),
                raw: v,
                labels: s.labels.clone(),
            })
        })
        .collect();
    Ok(TableView {
        inspector: Inspector {
            query: query.to_owned(),
            start: time,
            end: time,
            step: 0.0,
            elapsed_ms,
            series: rows.len(),
            points_returned: rows.len(),
            points_drawn: rows.len(),
            downsampling: "none".into(),
        },
        rows,
    })
}
