//! A dashboard drawn for one request: variables resolved (options from the source, the
//! selection from the URL), `$var` and `$__interval`-style placeholders filled in, and
//! every panel queried in parallel — a failing panel carries its own error.

use std::collections::HashMap;
use std::sync::Arc;

use app::components::chart_model::{ChartRequest, TableView};
use app::components::units::Unit;
use app::dashboards::model::{DashboardRequest, PanelBody, PanelView, StatValue, VariableView};

use super::model::TargetKind;
use super::model::{css_color, Dashboard, Panel, PanelKind, Reducer, Threshold, VariableKind};
use super::traces::{self as trace_panels, TracesResolve};
use super::{field, log_counts};
use crate::charts;
use crate::error::Error;
use crate::sources::logs::{LogQuery, LogSource};
use crate::sources::MetricsSource;

/// Assumed scrape interval for `$__rate_interval` (Grafana's default of 15 s).
const SCRAPE_SECS: f64 = 15.0;
const ROW_PX: u32 = 30;

/// Finds a source by id (`None`: the default one).
pub type Resolve = dyn Fn(Option<i64>) -> futures::future::BoxFuture<'static, Result<Arc<dyn MetricsSource>, Error>>
    + Send
    + Sync;

/// Finds a logs source by id (`None`: the logs family's default), for logs panels.
pub type LogsResolve = dyn Fn(Option<i64>) -> futures::future::BoxFuture<'static, Result<Arc<dyn LogSource>, Error>>
    + Send
    + Sync;

/// Lines a logs panel shows (the newest).
const LOG_PANEL_LINES: usize = 100;

/// The value of "All" when the variable has no options to list: any value (`.*`).
const ANY: &str = "\u{0}any";

/// Escapes regex metacharacters for use inside a PromQL string, as Grafana does for
/// Prometheus variables: the regex needs `\.`, and the PromQL string literal needs that
/// backslash doubled, so `a.b` becomes `a\\.b` in the query text.
pub fn regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            // A literal backslash: `\\` in the regex, each doubled in the string.
            '\\' => out.push_str(r"\\\\"),
            '"' => out.push_str("\\\""),
            c if ".+*?()|[]{}^$".contains(c) => {
                out.push_str(r"\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Fills `$name`, `${name}` and `[[name]]` with the selection (several values become
/// `(a|b)`), and the built-ins `$__interval`, `$__rate_interval`, `$__range`.
pub fn interpolate(
    expr: &str,
    values: &HashMap<String, Vec<String>>,
    step: f64,
    range: f64,
) -> String {
    interpolate_with(expr, values, step, range, &|vals| match vals.len() {
        0 => String::new(),
        1 if vals[0] == ANY => ".*".to_owned(),
        1 => regex_escape(&vals[0]),
        _ => format!(
            "({})",
            vals.iter()
                .map(|v| regex_escape(v))
                .collect::<Vec<_>>()
                .join("|")
        ),
    })
}

/// [`interpolate`] with the selection written by `fill` (PromQL regex, or the log
/// language's words and `OR`s).
fn interpolate_with(
    expr: &str,
    values: &HashMap<String, Vec<String>>,
    step: f64,
    range: f64,
    fill: &dyn Fn(&[String]) -> String,
) -> String {
    let mut builtins = vec![
        (
            "__rate_interval",
            format!("{}s", (step + SCRAPE_SECS).max(4.0 * SCRAPE_SECS).ceil()),
        ),
        ("__interval", format!("{}s", step.ceil().max(1.0))),
        ("__range", format!("{}s", range.round().max(1.0))),
    ];
    for (name, vals) in values {
        builtins.push((name.as_str(), fill(vals)));
    }
    // Longest names first so `$endpoint_name` is not taken for `$endpoint`.
    builtins.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = expr.to_owned();
    for (name, text) in &builtins {
        out = out.replace(&format!("${{{name}}}"), text);
        out = out.replace(&format!("[[{name}]]"), text);
    }
    // `$name` only where the name ends (not a prefix of a longer identifier).
    for (name, text) in &builtins {
        let pat = format!("${name}");
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&pat) {
            let after = &rest[i + pat.len()..];
            let ends = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            result.push_str(&rest[..i]);
            result.push_str(if ends { text } else { &pat });
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// `label_values(metric, label)` or `label_values(label)`.
fn parse_label_values(q: &str) -> Option<(Option<String>, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    match inner.rsplit_once(',') {
        Some((metric, label)) => Some((Some(metric.trim().to_owned()), label.trim().to_owned())),
        None => Some((None, inner.trim().to_owned())),
    }
}

async fn options_of(
    v: &super::model::Variable,
    resolve: &Resolve,
    values: &HashMap<String, Vec<String>>,
) -> Result<Vec<String>, String> {
    match v.kind {
        VariableKind::Custom | VariableKind::Interval => Ok(v
            .query
            .split(',')
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect()),
        VariableKind::Text => Ok(vec![v.query.clone()]),
        VariableKind::Query => {
            let q = interpolate(&v.query, values, 60.0, 3600.0);
            let (metric, label) = parse_label_values(&q)
                .ok_or_else(|| format!("`{}` is not label_values(…)", v.query))?;
            let source = resolve(v.datasource).await.map_err(|e| e.message())?;
            let data = match &metric {
                Some(m) => source.series(std::slice::from_ref(m), None, None).await,
                None => source.label_values(&label).await,
            }
            .map_err(|e| e.to_string())?;
            let mut out: Vec<String> = match metric {
                Some(_) => data
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s[label.as_str()].as_str().map(str::to_owned))
                    .collect(),
                None => data
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
            };
            out.sort();
            out.dedup();
            Ok(out)
        }
    }
}

fn reduce(points: &[(f64, f64)], r: Reducer) -> Option<f64> {
    let vals: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    if vals.is_empty() {
        return None;
    }
    Some(match r {
        Reducer::Last => *vals.last()?,
        Reducer::Mean => vals.iter().sum::<f64>() / vals.len() as f64,
        Reducer::Max => vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        Reducer::Min => vals.iter().cloned().fold(f64::INFINITY, f64::min),
    })
}

/// The colour of the highest threshold step at or below `v`.
pub fn threshold_color(steps: &[Threshold], v: f64) -> String {
    let mut color = None;
    for t in steps {
        match t.value {
            None => color = Some(&t.color),
            Some(limit) if v >= limit => color = Some(&t.color),
            _ => {}
        }
    }
    color.map_or_else(|| "currentColor".into(), |c| css_color(c))
}

/// A 100 × 30 polyline of the points (for stat sparklines).
fn sparkline(points: &[(f64, f64)]) -> String {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    if finite.len() < 2 {
        return String::new();
    }
    let (t0, t1) = (finite[0].0, finite[finite.len() - 1].0);
    let lo = finite.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = finite.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let span_t = (t1 - t0).max(1e-9);
    let span_v = if hi > lo { hi - lo } else { 1.0 };
    let step = (finite.len() / 100).max(1);
    finite
        .iter()
        .step_by(step)
        .map(|(t, v)| {
            format!(
                "{:.1},{:.1}",
                (t - t0) / span_t * 100.0,
                29.0 - (v - lo) / span_v * 28.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Ctx<'a> {
    resolve: &'a Resolve,
    logs: &'a LogsResolve,
    traces: &'a TracesResolve,
    /// The range in Unix seconds.
    start: f64,
    end: f64,
    values: HashMap<String, Vec<String>>,
    from: String,
    to: String,
    /// `to - from` in seconds, resolved once for every panel.
    range: f64,
    now: f64,
    page_width: u32,
    /// Rows whose saved fold this view flips.
    toggle: &'a [u32],
}

impl Ctx<'_> {
    fn collapsed(&self, row: &Panel) -> bool {
        row.collapsed != self.toggle.contains(&row.id)
    }

    /// A service, operation or attribute filter with `$var` filled in by the first value
    /// selected (All without options: nothing).
    fn plain(&self, text: &str) -> String {
        interpolate_with(text, &self.values, 60.0, self.range, &|v| {
            v.first()
                .filter(|x| x.as_str() != ANY)
                .cloned()
                .unwrap_or_default()
        })
    }
}

fn chart_request(ctx: &Ctx<'_>, p: &Panel, width: u32, height: u32) -> ChartRequest {
    ChartRequest {
        query: String::new(),
        from: ctx.from.clone(),
        to: ctx.to.clone(),
        step: None,
        // Stats and gauges reduce about 100 points (enough for a sparkline and a faithful
        // reduction) whatever their size.
        width: if matches!(p.kind, PanelKind::Stat | PanelKind::Gauge) {
            180
        } else {
            width.clamp(100, 4000)
        },
        height: height.clamp(80, 2000),
        unit: p.unit.clone(),
        legend: String::new(),
        focus: None,
        raw: false,
    }
}

/// The panel's `(query, legend)` pairs with variables and built-ins filled in for `req`.
fn targets_for(ctx: &Ctx<'_>, p: &Panel, req: &ChartRequest) -> Vec<(String, String)> {
    let step = charts::step_of(req, ctx.now).unwrap_or(60.0);
    p.targets
        .iter()
        .map(|t| {
            let expr = match t.kind {
                TargetKind::Promql => interpolate(&t.expr, &ctx.values, step, ctx.range),
                TargetKind::LogCount => {
                    interpolate_with(&t.expr, &ctx.values, step, ctx.range, &|v| {
                        log_counts::fill_value(v, ANY)
                    })
                }
                TargetKind::Red => trace_panels::describe(
                    &ctx.plain(&t.service),
                    &ctx.plain(&t.operation),
                    t.measure,
                ),
                TargetKind::TraceSearch => String::new(),
            };
            (expr, t.legend.clone())
        })
        .collect()
}

/// A chart panel's series drawn into one chart: PromQL targets from the panel's metrics
/// source, log-count targets from their logs source (counts per bucket), in target order.
async fn panel_chart(
    ctx: &Ctx<'_>,
    p: &Panel,
    req: &ChartRequest,
    targets: &[(String, String)],
    style: &(dyn Fn(&str) -> charts::Style + Sync),
) -> Result<app::components::chart_model::ChartView, Error> {
    if !log_counts::any_log_counts(&p.targets) {
        let source = (ctx.resolve)(p.datasource).await?;
        return charts::chart_many(source.as_ref(), targets, req, ctx.now, style).await;
    }
    // RED targets alone, of one unit, draw in that unit unless the panel names one.
    let red_unit = p
        .targets
        .iter()
        .map(|t| (t.kind == TargetKind::Red).then(|| t.measure.unit()))
        .collect::<Option<std::collections::BTreeSet<_>>>()
        .filter(|u| u.len() == 1 && p.unit.is_empty())
        .and_then(|u| u.into_iter().next());
    let red_req;
    let req = match red_unit {
        Some(unit) => {
            red_req = ChartRequest {
                unit: unit.to_owned(),
                ..req.clone()
            };
            &red_req
        }
        None => req,
    };
    let frame = charts::frame(req, ctx.now)?;
    let started = std::time::Instant::now();
    let runs = p
        .targets
        .iter()
        .zip(targets)
        .map(|(t, (query, legend))| async move {
            match t.kind {
                TargetKind::Promql => {
                    let source = (ctx.resolve)(p.datasource).await?;
                    let found =
                        charts::promql_series(source.as_ref(), query, legend, req, ctx.now).await?;
                    let n = found.len();
                    Ok::<_, Error>((found, n, 0.0))
                }
                TargetKind::LogCount => log_counts::series(ctx.logs, t, query, legend, frame).await,
                TargetKind::Red => {
                    let (service, operation) = (ctx.plain(&t.service), ctx.plain(&t.operation));
                    trace_panels::red_series(ctx.traces, t, (&service, &operation), legend, frame)
                        .await
                }
                TargetKind::TraceSearch => Err(Error::invalid(
                    "kind",
                    "a trace search is shown by a traces panel only",
                )),
            }
        });
    let mut all = Vec::new();
    let mut cut = Vec::new();
    let mut spacing = 0.0f64;
    for (t, answer) in p.targets.iter().zip(futures::future::join_all(runs).await) {
        let (found, distinct, width) = answer?;
        spacing = spacing.max(width);
        if t.kind == TargetKind::LogCount && distinct > found.len() {
            cut.push(format!(
                "`{}` has more than {} values of `{}`; the {} most common are drawn.",
                t.expr,
                log_counts::MAX_LOG_COUNT_SERIES,
                t.split_by,
                found.len()
            ));
        }
        all.extend(found);
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let queries = targets
        .iter()
        .map(|(q, _)| q.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut chart =
        charts::draw_series(all, queries, req, ctx.now, (elapsed_ms, spacing), style).await?;
    if !cut.is_empty() {
        cut.extend(chart.notice.take());
        chart.notice = Some(cut.join(" "));
    }
    Ok(chart)
}

async fn panel_body(
    ctx: &Ctx<'_>,
    p: &Panel,
    req: &ChartRequest,
    targets: &[(String, String)],
) -> Result<PanelBody, Error> {
    match p.kind {
        PanelKind::Text => Ok(PanelBody::Text {
            html: crate::markdown::render(&p.text),
        }),
        PanelKind::Row => Ok(PanelBody::Row {
            collapsed: ctx.collapsed(p),
        }),
        PanelKind::Unsupported => Ok(PanelBody::Unsupported {
            original: p.text.clone(),
        }),
        PanelKind::Logs => {
            let source = (ctx.logs)(p.datasource).await?;
            let q = LogQuery {
                query: targets.first().map(|(q, _)| q.clone()).unwrap_or_default(),
                start: ctx.start,
                end: ctx.end,
                limit: LOG_PANEL_LINES,
                cursor: None,
            };
            let found = source.search(&q).await?;
            Ok(PanelBody::Logs {
                lines: found
                    .records
                    .into_iter()
                    .map(crate::sources::logs::LogRecord::into_line)
                    .collect::<Vec<_>>()
                    .into(),
            })
        }
        PanelKind::Traces => {
            let t = p
                .targets
                .first()
                .ok_or_else(|| Error::invalid("targets", "a traces panel needs its search"))?;
            let filled = [
                ctx.plain(&t.service),
                ctx.plain(&t.operation),
                ctx.plain(&t.filters),
            ];
            let search = trace_panels::search_of(t, filled, (&ctx.from, &ctx.to));
            let (traces, explore) = trace_panels::search(ctx.traces, t, &search, ctx.now).await?;
            Ok(PanelBody::Traces {
                traces: traces.into(),
                explore,
            })
        }
        PanelKind::Timeseries => {
            let overrides = field::Overrides::compile(&p.overrides);
            let style = |name: &str| {
                let o = overrides.for_name(name);
                charts::Style {
                    name: o.display_name,
                    color: o.color.map(|c| css_color(&c)),
                }
            };
            let chart = panel_chart(ctx, p, req, targets, &style).await?;
            Ok(PanelBody::Chart { chart })
        }
        PanelKind::Table => {
            let source = (ctx.resolve)(p.datasource).await?;
            let mut table = TableView::default();
            for (q, legend) in targets {
                let t =
                    charts::table(source.as_ref(), q, &ctx.to, legend, &p.unit, ctx.now).await?;
                table.rows.extend(t.rows);
                table.inspector = t.inspector;
            }
            Ok(PanelBody::Table {
                table: table.into(),
            })
        }
        PanelKind::Stat | PanelKind::Gauge => {
            let chart = panel_chart(ctx, p, req, targets, &|_| charts::Style::default()).await?;
            let overrides = field::Overrides::compile(&p.overrides);
            let unit = if p.unit.is_empty() {
                chart.plot.unit
            } else {
                Unit::parse(&p.unit).unwrap_or_default()
            };
            let values: Vec<StatValue> = chart
                .series
                .iter()
                .take(12)
                .map(|s| {
                    let v = reduce(&s.points, p.reducer);
                    let custom = overrides.for_name(&s.name);
                    let unit = custom.unit.as_deref().and_then(Unit::parse).unwrap_or(unit);
                    let mapped = field::mapping_for(&p.mappings, v);
                    let value = match (mapped, v) {
                        (Some(m), _) => m.text.clone(),
                        (None, Some(v)) => unit.format(v),
                        (None, None) => "No data".into(),
                    };
                    let color = match (mapped.and_then(|m| m.color.as_deref()), &custom.color, v) {
                        (Some(c), _, _) => css_color(c),
                        (None, Some(c), _) => css_color(c),
                        (None, None, Some(v)) => threshold_color(&p.thresholds, v),
                        (None, None, None) => "currentColor".into(),
                    };
                    StatValue {
                        name: custom.display_name.unwrap_or_else(|| s.name.clone()),
                        value,
                        raw: v.unwrap_or(f64::NAN),
                        color,
                        sparkline: if p.kind == PanelKind::Stat {
                            sparkline(&s.points)
                        } else {
                            String::new()
                        },
                    }
                })
                .collect();
            if p.kind == PanelKind::Gauge {
                Ok(PanelBody::Gauge {
                    values: values.into(),
                    min: p.min.unwrap_or(0.0),
                    max: p.max.unwrap_or(100.0),
                })
            } else {
                Ok(PanelBody::Stat {
                    values: values.into(),
                })
            }
        }
    }
}

/// Renders `doc` for `req` (time range and variable values from the URL).
pub async fn render(
    doc: &Dashboard,
    req: &DashboardRequest,
    resolve: &Resolve,
    (logs, traces): (&LogsResolve, &TracesResolve),
    now: f64,
) -> Result<(Vec<VariableView>, Vec<PanelView>, String, String), Error> {
    let from = req.from.clone().unwrap_or_else(|| doc.time.from.clone());
    let to = req.to.clone().unwrap_or_else(|| doc.time.to.clone());
    let start = charts::time::resolve(&from, now).map_err(|m| Error::invalid("from", m))?;
    let end = charts::time::resolve(&to, now).map_err(|m| Error::invalid("to", m))?;
    if end <= start {
        return Err(Error::invalid("to", "must be later than `from`"));
    }
    let asked: HashMap<&str, &Vec<String>> =
        req.vars.iter().map(|(k, v)| (k.as_str(), v)).collect();

    // Variables in order: each may use the ones before it (chained variables).
    let mut values: HashMap<String, Vec<String>> = HashMap::new();
    let mut views = Vec::new();
    for v in &doc.variables {
        let (options, error) = match options_of(v, resolve, &values).await {
            Ok(o) => (o, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let wanted: Vec<String> = asked
            .get(v.name.as_str())
            .map(|w| (*w).clone())
            .unwrap_or_else(|| v.current.clone());
        let all = wanted.iter().any(|w| w == "$__all") && v.include_all;
        let mut current: Vec<String> = if all {
            vec!["$__all".into()]
        } else if v.kind == VariableKind::Text {
            wanted.into_iter().take(1).collect()
        } else {
            wanted.into_iter().filter(|w| options.contains(w)).collect()
        };
        if !v.multi && current.len() > 1 {
            current.truncate(1);
        }
        if current.is_empty() {
            if v.kind == VariableKind::Text {
                current = vec![v.query.clone()];
            } else if v.include_all {
                current = vec!["$__all".into()];
            } else if let Some(first) = options.first() {
                current = vec![first.clone()];
            }
        }
        let effective = if current.first().map(String::as_str) == Some("$__all") {
            if options.is_empty() {
                vec![ANY.to_owned()]
            } else {
                options.clone()
            }
        } else {
            current.clone()
        };
        values.insert(v.name.clone(), effective);
        views.push(VariableView {
            name: v.name.clone(),
            label: if v.label.is_empty() {
                v.name.clone()
            } else {
                v.label.clone()
            },
            kind: format!("{:?}", v.kind).to_lowercase(),
            multi: v.multi,
            include_all: v.include_all,
            options,
            current,
            error,
        });
    }
    let ctx = Ctx {
        resolve,
        logs,
        traces,
        start,
        end,
        values,
        from: from.clone(),
        to: to.clone(),
        range: end - start,
        now,
        page_width: req.width.clamp(320, 4000),
        toggle: &req.toggle,
    };
    // Rows fold away the panels below them (until the next row) when collapsed; the view
    // may flip a row's saved state (`toggle`).
    let mut hidden = std::collections::HashSet::new();
    let mut sorted: Vec<&Panel> = doc.panels.iter().collect();
    sorted.sort_by_key(|p| (p.grid.y, p.grid.x));
    let mut folding = false;
    for p in &sorted {
        if p.kind == PanelKind::Row {
            folding = ctx.collapsed(p);
        } else if folding {
            hidden.insert(p.id);
        }
    }
    let shown: Vec<&Panel> = sorted
        .into_iter()
        .filter(|p| !hidden.contains(&p.id))
        .filter(|p| req.panel.is_none_or(|only| only == p.id))
        .collect();
    let jobs = shown.iter().map(|p| {
        let ctx = &ctx;
        async move {
            let (width, height) = if req.panel.is_some() {
                (ctx.page_width, 520)
            } else {
                (
                    (ctx.page_width * p.grid.w / 24).saturating_sub(24),
                    (p.grid.h * ROW_PX).saturating_sub(44),
                )
            };
            let req = chart_request(ctx, p, width, height);
            let targets = targets_for(ctx, p, &req);
            let body = match panel_body(ctx, p, &req, &targets).await {
                Ok(b) => b,
                Err(e) => PanelBody::Error {
                    message: match e.field() {
                        Some("query") => format!("query: {}", e.message()),
                        _ => e.message(),
                    },
                },
            };
            PanelView {
                id: p.id,
                title: p.title.clone(),
                grid: p.grid.clone(),
                // What this panel ran, for "explore this query" (a trace kind links to
                // Explore → Traces from its body, or not at all).
                query: targets
                    .into_iter()
                    .next()
                    .filter(|_| !p.targets[0].kind.is_traces())
                    .map(|(q, _)| q),
                query_is_logs: p
                    .targets
                    .first()
                    .is_some_and(|t| t.kind == TargetKind::LogCount),
                datasource: p.datasource,
                body,
            }
        }
    });
    let panels = futures::future::join_all(jobs).await;
    Ok((views, panels, from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_fill_in_escaped_and_builtins_follow_the_step() {
        let mut v = HashMap::new();
        v.insert(
            "endpoint".to_owned(),
            vec!["/api/chat".to_owned(), "/a.b".to_owned()],
        );
        v.insert("method".to_owned(), vec!["GET".to_owned()]);
        let e = interpolate(
            "rate(x{endpoint=~\"$endpoint\", method=\"${method}\", m2=\"[[method]]\"}[$__rate_interval]) $endpointless",
            &v,
            30.0,
            3600.0,
        );
        assert_eq!(
            e,
            "rate(x{endpoint=~\"(/api/chat|/a\\\\.b)\", method=\"GET\", m2=\"GET\"}[60s]) $endpointless"
        );
        assert_eq!(
            interpolate("[$__interval] $__range", &v, 7.2, 86400.0),
            "[8s] 86400s"
        );
        // A backslash and a quote survive the regex and the PromQL string.
        assert_eq!(regex_escape(r#"a\b"c"#), r#"a\\\\b\"c"#);
    }

    #[test]
    fn thresholds_pick_the_highest_step_reached() {
        let steps = vec![
            Threshold {
                value: None,
                color: "green".into(),
            },
            Threshold {
                value: Some(80.0),
                color: "orange".into(),
            },
            Threshold {
                value: Some(90.0),
                color: "red".into(),
            },
        ];
        assert_eq!(threshold_color(&steps, 50.0), "#56A64B");
        assert_eq!(threshold_color(&steps, 85.0), "#FF9830");
        assert_eq!(threshold_color(&steps, 95.0), "#E02F44");
    }

    #[test]
    fn label_values_queries_parse() {
        assert_eq!(
            parse_label_values("label_values(up, job)"),
            Some((Some("up".into()), "job".into()))
        );
        assert_eq!(
            parse_label_values("label_values(job)"),
            Some((None, "job".into()))
        );
        assert_eq!(parse_label_values("query_result(up)"), None);
    }
}
