//! The query engine: options, instant and range queries, and the shape of their results.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr};

use crate::error::QueryError;
use crate::eval::{Annotations, Ctx, Evaluator, FloatSeriesPart, RangeAnswer, VSample, Val};
use crate::histogram::FloatHistogram;
use crate::storage::Queryable;
use crate::value::{HistogramSeries, Labels, QueryResult, Sample, Series, Value};

/// Limits and defaults of an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (Prometheus: 5m).
    pub lookback_delta_ms: i64,
    /// The most samples a query may load and hold (Prometheus: 50,000,000).
    pub max_samples: usize,
    /// How long a query may run; `None` for no limit (Prometheus: 2m).
    pub timeout: Option<Duration>,
    /// The most points a range query may return per series (Prometheus's API: 11,000).
    pub max_points_per_series: i64,
    /// The step of a subquery written without one, `x[5m:]` (Prometheus: the global
    /// evaluation interval, 1m by default).
    pub default_subquery_step_ms: i64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Some(Duration::from_secs(120)),
            max_points_per_series: 11_000,
            default_subquery_step_ms: 60 * 1000,
        }
    }
}

/// Evaluates PromQL against any [`Queryable`].
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

/// Parses a query as Prometheus does, reporting a syntax error as `bad_data`.
pub fn parse_query(query: &str) -> Result<Expr, QueryError> {
    parser::parse(query).map_err(QueryError::bad_data)
}

impl Engine {
    /// An engine with the given options.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t_ms`.
    pub fn instant_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        t_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        self.exec(storage, &parse_query(query)?, t_ms, t_ms, 0, None)
    }

    /// Evaluates `query` at `start_ms`, `start_ms + step_ms`, … up to `end_ms` included, as
    /// Prometheus's `query_range` does (no alignment of `start_ms` to the step).
    pub fn range_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        self.exec(
            storage,
            &parse_query(query)?,
            start_ms,
            end_ms,
            step_ms,
            None,
        )
    }

    /// Evaluates a parsed expression over `[start_ms, end_ms]` every `step_ms` (`step_ms` 0 and
    /// `start_ms == end_ms` for an instant query). If `cancel` becomes true the query stops
    /// with a `canceled` error.
    pub fn exec(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryResult, QueryError> {
        let instant = step_ms == 0 && start_ms == end_ms;
        if !instant {
            if step_ms <= 0 {
                return Err(QueryError::bad_data(
                    "zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            if end_ms < start_ms {
                return Err(QueryError::bad_data(
                    "end timestamp must not be before start time",
                ));
            }
            if (end_ms - start_ms) / step_ms >= self.opts.max_points_per_series {
                return Err(QueryError::bad_data(
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
                ));
            }
            let t = expr.value_type();
            if t != ValueType::Scalar && t != ValueType::Vector {
                return Err(QueryError::bad_data(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    type_name(t)
                )));
            }
        }
        let deadline = self.opts.timeout.map(|d| Instant::now() + d);
        let mut ev = Evaluator::new(
            storage,
            &self.opts,
            start_ms,
            end_ms,
            if instant { 0 } else { step_ms },
            deadline,
            cancel,
        );
        let ctx = Ctx::new(start_ms, end_ms, if instant { 0 } else { step_ms });
        let (value, histograms) = if instant {
            instant_value(ev.eval(expr, &ctx)?, start_ms)?
        } else {
            match ev.eval_range_query(expr, &ctx)? {
                RangeAnswer::Series(parts) => (Value::Matrix(assemble_floats(parts)?), Vec::new()),
                RangeAnswer::Steps(val) => range_value(val, &ctx)?,
            }
        };
        let Annotations { warnings, infos } = ev.annotations;
        Ok(QueryResult {
            value,
            warnings: warnings.into_iter().collect(),
            infos: infos.into_iter().collect(),
            histograms,
        })
    }
}

/// Float series of a range query's fast path ([`RangeAnswer::Series`]) under their final
/// labels, sorted by them, as [`merge_series`] assembles them; when dropping names makes
/// two series' labels equal, they go through [`merge_series`] (merged, or an error at a
/// common time).
fn assemble_floats(parts: Vec<FloatSeriesPart>) -> Result<Vec<Series>, QueryError> {
    let mut out: Vec<Series> = parts
        .into_iter()
        .map(|(labels, drop_name, samples)| Series {
            labels: if drop_name {
                labels.without_name()
            } else {
                Rc::unwrap_or_clone(labels)
            },
            samples,
        })
        .collect();
    // Usually in order and distinct already (a selector's series come in label order): one
    // pass of comparisons then, instead of a sort's and a search for equal neighbours.
    if out.is_sorted_by(|a, b| a.labels < b.labels) {
        return Ok(out);
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    if out.windows(2).all(|w| w[0].labels != w[1].labels) {
        return Ok(out);
    }
    let parts = out
        .into_iter()
        .map(|s| {
            let points = s
                .samples
                .into_iter()
                .map(|(t, v)| (t, Point::F(v)))
                .collect();
            (s.labels, false, points)
        })
        .collect();
    Ok(merge_series(parts)?.0)
}

/// The name Prometheus gives a value type in messages.
pub(crate) fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::Vector => "instant vector",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

/// The final labels of a sample or series: its own, without `__name__` if marked to drop it.
fn final_labels(labels: &Labels, drop_name: bool) -> Labels {
    if drop_name {
        labels.without_name()
    } else {
        labels.clone()
    }
}

/// A point of a result series: a float or a native histogram.
#[derive(Clone)]
enum Point {
    F(f64),
    H(Rc<FloatHistogram>),
}

/// Points `(t_ms, value)` in time order.
type Points = Vec<(i64, Point)>;

/// A series before names are dropped: its labels, whether to drop `__name__`, its points.
type SeriesPart = (Labels, bool, Points);

/// A result's float series and histogram series.
type Assembled = (Vec<Series>, Vec<HistogramSeries>);

/// Series under their final labels (names dropped where marked), merged when dropping
/// names made them equal; two points of one label set at one time are an error. Sorted by
/// labels. A series that needs no merging keeps its points in place when they are already
/// in time order (a range result's are), and is split into floats and histograms into
/// vectors allocated once.
fn merge_series(parts: Vec<SeriesPart>) -> Result<Assembled, QueryError> {
    let mut keyed: Vec<(Labels, Points)> = parts
        .into_iter()
        .map(|(labels, drop_name, points)| {
            let labels = if drop_name {
                labels.without_name()
            } else {
                labels
            };
            (labels, points)
        })
        .collect();
    // Stable: parts of one label set keep their order, as they are concatenated in it.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut floats: Vec<Series> = Vec::with_capacity(keyed.len());
    let mut hists: Vec<HistogramSeries> = Vec::new();
    let mut rest = keyed.into_iter().peekable();
    while let Some((labels, mut points)) = rest.next() {
        let mut merged = false;
        while let Some((_, more)) = rest.next_if(|next| next.0 == labels) {
            points.extend(more);
            merged = true;
        }
        if merged || points.windows(2).any(|w| w[0].0 > w[1].0) {
            points.sort_by_key(|p| p.0);
        }
        if points.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(QueryError::execution(DUPLICATE_LABELSET));
        }
        let n_floats = points.iter().filter(|p| matches!(p.1, Point::F(_))).count();
        let mut f = Vec::with_capacity(n_floats);
        let mut h = Vec::with_capacity(points.len() - n_floats);
        for (t, p) in points {
            match p {
                Point::F(v) => f.push((t, v)),
                Point::H(x) => h.push((t, (*x).clone())),
            }
        }
        match (f.is_empty(), h.is_empty()) {
            (false, false) => {
                floats.push(Series {
                    labels: labels.clone(),
                    samples: f,
                });
                hists.push(HistogramSeries { labels, samples: h });
            }
            (false, true) => floats.push(Series { labels, samples: f }),
            (true, false) => hists.push(HistogramSeries { labels, samples: h }),
            (true, true) => {}
        }
    }
    Ok((floats, hists))
}

fn sample_point(s: &VSample) -> Point {
    match &s.h {
        Some(h) => Point::H(h.clone()),
        None => Point::F(s.v),
    }
}

fn instant_value(val: Val, t: i64) -> Result<(Value, Vec<HistogramSeries>), QueryError> {
    Ok(match val {
        Val::Scalar(v) => (Value::Scalar { t, v: v[0] }, Vec::new()),
        Val::Str(s) => (Value::String { t, s }, Vec::new()),
        Val::Vector(mut steps) => {
            let step = steps.pop().unwrap_or_default();
            let mut seen: Vec<Labels> = step
                .iter()
                .map(|s| final_labels(&s.labels, s.drop_name))
                .collect();
            seen.sort();
            if seen.windows(2).any(|w| w[0] == w[1]) {
                return Err(QueryError::execution(DUPLICATE_LABELSET));
            }
            let mut out = Vec::new();
            let mut hists = Vec::new();
            for s in step {
                let labels = final_labels(&s.labels, s.drop_name);
                match s.h {
                    Some(h) => hists.push(HistogramSeries {
                        labels,
                        samples: vec![(t, (*h).clone())],
                    }),
                    None => out.push(Sample { labels, t, v: s.v }),
                }
            }
            (Value::Vector(out), hists)
        }
        Val::Matrix(series) => {
            let (f, h) = merge_series(
                series
                    .into_iter()
                    .map(|s| {
                        let mut pts: Points = s
                            .samples
                            .into_iter()
                            .map(|(t, v)| (t, Point::F(v)))
                            .collect();
                        pts.extend(s.histograms.into_iter().map(|(t, h)| (t, Point::H(h))));
                        ((*s.labels).clone(), s.drop_name, pts)
                    })
                    .collect(),
            )?;
            (Value::Matrix(f), h)
        }
    })
}

fn range_value(val: Val, ctx: &Ctx) -> Result<(Value, Vec<HistogramSeries>), QueryError> {
    Ok(match val {
        Val::Scalar(v) => (
            Value::Matrix(vec![Series {
                labels: Labels::empty(),
                samples: ctx.times().zip(v).collect(),
            }]),
            Vec::new(),
        ),
        Val::Vector(steps) => {
            // Points per series (by the address of its shared labels) and name flag, in step
            // order; the steps hold the `Rc`s, so addresses are not reused meanwhile.
            // A series usually sits at the same place in every step: that place's series of
            // the previous step is tried before the index. A first pass finds each sample's
            // series and counts them, so that each series' points are allocated once (grown
            // point by point they were reallocated ~11 times for 1,441 steps).
            let mut index: HashMap<(*const Labels, bool), usize> = HashMap::new();
            let mut heads: Vec<(Rc<Labels>, bool)> = Vec::new();
            let mut counts: Vec<usize> = Vec::new();
            let mut which: Vec<usize> = Vec::with_capacity(steps.iter().map(Vec::len).sum());
            let mut at: Vec<usize> = Vec::new();
            for step in steps.iter().take(ctx.len()) {
                for (j, s) in step.iter().enumerate() {
                    let hinted = at.get(j).copied().filter(|&i| {
                        Rc::ptr_eq(&heads[i].0, &s.labels) && heads[i].1 == s.drop_name
                    });
                    let i = match hinted {
                        Some(i) => i,
                        None => {
                            let key = (Rc::as_ptr(&s.labels), s.drop_name);
                            let i = *index.entry(key).or_insert_with(|| {
                                heads.push((s.labels.clone(), s.drop_name));
                                counts.push(0);
                                heads.len() - 1
                            });
                            if j < at.len() {
                                at[j] = i;
                            } else {
                                at.push(i);
                            }
                            i
                        }
                    };
                    counts[i] += 1;
                    which.push(i);
                }
            }
            let mut points: Vec<Points> = counts.into_iter().map(Vec::with_capacity).collect();
            let mut which = which.into_iter();
            for (t, step) in ctx.times().zip(steps) {
                for (s, i) in step.iter().zip(&mut which) {
                    points[i].push((t, sample_point(s)));
                }
            }
            let (f, h) = merge_series(
                heads
                    .into_iter()
                    .zip(points)
                    .map(|((l, d), samples)| (Rc::unwrap_or_clone(l), d, samples))
                    .collect(),
            )?;
            (Value::Matrix(f), h)
        }
        Val::Matrix(_) | Val::Str(_) => {
            return Err(QueryError::bad_data(
                "invalid expression type for range query, must be Scalar or instant Vector",
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;
    use crate::value::stale_nan;

    fn store() -> MemStorage {
        let mut s = MemStorage::new();
        let l = Labels::new([("__name__", "up"), ("job", "a")]);
        for i in 0..10 {
            s.add_sample(&l, i * 60_000, i as f64);
        }
        s
    }

    #[test]
    fn instant_and_range_queries() {
        let e = Engine::default();
        let s = store();
        let r = e.instant_query(&s, "up * 2", 120_000).unwrap();
        assert_eq!(
            r.value,
            Value::Vector(vec![Sample {
                labels: Labels::new([("job", "a")]),
                t: 120_000,
                v: 4.0
            }])
        );
        let r = e.range_query(&s, "up", 0, 120_000, 60_000).unwrap();
        let Value::Matrix(m) = r.value else { panic!() };
        assert_eq!(m[0].samples, vec![(0, 0.0), (60_000, 1.0), (120_000, 2.0)]);
    }

    /// A range query evaluated through per-step vectors, as every expression but a bare
    /// selector or a range function is.
    fn through_steps(
        s: &MemStorage,
        q: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, QueryError> {
        let opts = EngineOptions::default();
        let mut ev = Evaluator::new(s, &opts, start, end, step, None, None);
        let ctx = Ctx::new(start, end, step);
        let val = ev.eval(&parse_query(q)?, &ctx)?;
        let (value, histograms) = range_value(val, &ctx)?;
        let Annotations { warnings, infos } = ev.annotations;
        Ok(QueryResult {
            value,
            warnings: warnings.into_iter().collect(),
            infos: infos.into_iter().collect(),
            histograms,
        })
    }

    #[test]
    fn a_bare_selectors_series_equal_the_per_step_evaluation() {
        let mut s = MemStorage::new();
        // Out of label order, with gaps longer than the lookback, a stale marker, samples
        // off the step grid, a series ending before the range and one starting after it.
        let b = Labels::new([("__name__", "up"), ("job", "b")]);
        let a = Labels::new([("__name__", "up"), ("job", "a")]);
        let old = Labels::new([("__name__", "up"), ("job", "old")]);
        let late = Labels::new([("__name__", "up"), ("job", "late")]);
        for i in 0..40 {
            if !(10..20).contains(&i) {
                s.add_sample(&b, i * 45_000 + 7, i as f64 * 0.5);
            }
            s.add_sample(
                &a,
                i * 60_000,
                if i == 25 {
                    stale_nan()
                } else {
                    1.0 / (i + 1) as f64
                },
            );
        }
        s.add_sample(&old, -3_600_000, 1.0);
        s.add_sample(&late, 50_000_000, 1.0);
        let e = Engine::default();
        for q in [
            "up",
            "(up)",
            "up offset 3m",
            "up offset -2m",
            "up @ 600",
            "up{job=~\"a|b\"}",
            "{__name__=\"up\", job!=\"a\"}",
            "nothing",
        ] {
            for (start, end, step) in [(0, 1_800_000, 60_000), (-300_000, 2_400_000, 17_000)] {
                let fast = e.range_query(&s, q, start, end, step).unwrap();
                assert_eq!(fast, through_steps(&s, q, start, end, step).unwrap(), "{q}");
            }
        }
        // With native histograms among the series, both give the same floats and histograms.
        let h = Labels::new([("__name__", "up"), ("job", "h")]);
        for i in 0..10 {
            let hist = crate::histogram::FloatHistogram {
                count: i as f64,
                sum: 2.0 * i as f64,
                ..Default::default()
            };
            s.add_histogram(&h, i * 60_000, hist);
        }
        let fast = e.range_query(&s, "up", 0, 1_800_000, 60_000).unwrap();
        assert_eq!(fast, through_steps(&s, "up", 0, 1_800_000, 60_000).unwrap());
        assert_eq!(fast.histograms.len(), 1);
    }

    #[test]
    fn a_range_functions_series_equal_the_per_step_evaluation() {
        let mut s = MemStorage::new();
        // Counters with a reset and a gap, a gauge, and two names that become one label
        // set once dropped: apart in time (merged) and overlapping (an error).
        let a = Labels::new([("__name__", "x_total"), ("job", "a")]);
        let b = Labels::new([("__name__", "x_total"), ("job", "b")]);
        let g = Labels::new([("__name__", "gauge"), ("job", "a")]);
        let early = Labels::new([("__name__", "early_total"), ("job", "c")]);
        let late = Labels::new([("__name__", "late_total"), ("job", "c")]);
        for i in 0..60 {
            s.add_sample(&a, i * 30_000, if i < 30 { i * 3 } else { i - 30 } as f64);
            if !(20..35).contains(&i) {
                s.add_sample(&b, i * 30_000 + 11, (i * i) as f64);
            }
            s.add_sample(&g, i * 30_000, ((i * 7) % 11) as f64 - 5.0);
            if i < 20 {
                s.add_sample(&early, i * 30_000, i as f64);
            } else if i > 30 {
                s.add_sample(&late, i * 30_000, i as f64);
            }
        }
        let e = Engine::default();
        for q in [
            "rate(x_total[5m])",
            "(increase(x_total[3m]))",
            "delta(gauge[5m])",
            "irate(x_total[2m] offset 1m)",
            "rate(x_total[5m] @ 900)",
            "deriv(gauge[10m])",
            "predict_linear(gauge[10m], 60)",
            "resets(x_total[10m])",
            "changes(gauge[5m])",
            "avg_over_time(gauge[5m])",
            "quantile_over_time(0.9, gauge[5m])",
            "quantile_over_time(2, gauge[5m])",
            "last_over_time(gauge[5m])",
            "stddev_over_time(gauge[5m])",
            "present_over_time(x_total[1m])",
            "absent_over_time(x_total[1m])",
            "double_exponential_smoothing(gauge[10m], 0.5, 0.5)",
            "rate({job=\"c\"}[5m])",
            "sum_over_time({job=\"a\"}[5m])",
            "rate(gauge[5m])",
            "rate(nothing[5m])",
            "rate(rate(x_total[2m])[5m:1m])",
        ] {
            for (start, end, step) in [(0, 1_800_000, 60_000), (-300_000, 2_400_000, 17_000)] {
                let fast = e.range_query(&s, q, start, end, step);
                assert_eq!(fast, through_steps(&s, q, start, end, step), "{q}");
            }
        }
        // Overlapping series that become one label set: the same error both ways.
        let q = "sum_over_time({job=\"a\"}[5m])";
        assert!(
            matches!(e.range_query(&s, q, 0, 1_800_000, 60_000), Err(ref x) if x.kind == crate::error::ErrorKind::Execution)
        );
    }

    #[test]
    fn a_selector_or_range_function_over_floats_answers_a_range_query_as_series() {
        let mut s = store();
        let h = Labels::new([("__name__", "h"), ("job", "a")]);
        s.add_histogram(&h, 60_000, crate::histogram::FloatHistogram::default());
        let opts = EngineOptions::default();
        let ctx = Ctx::new(0, 600_000, 60_000);
        let answer = |q: &str| {
            let mut ev = Evaluator::new(&s, &opts, 0, 600_000, 60_000, None, None);
            match ev.eval_range_query(&parse_query(q).unwrap(), &ctx).unwrap() {
                RangeAnswer::Series(parts) => Some(parts.len()),
                RangeAnswer::Steps(_) => None,
            }
        };
        for q in [
            "up",
            "((up))",
            "rate(up[5m])",
            "(quantile_over_time(0.5, up[5m]))",
        ] {
            assert_eq!(answer(q), Some(1), "{q}");
        }
        for q in [
            "h",
            "rate(h[5m])",
            "absent_over_time(up[5m])",
            "sum(up)",
            "abs(up)",
        ] {
            assert_eq!(answer(q), None, "{q}");
        }
    }

    #[test]
    fn a_range_query_nested_too_deeply_is_bad_data_however_it_is_answered() {
        let e = Engine::default();
        for inner in ["up", "rate(up[5m])", "sum(up)"] {
            let q = format!("{}{inner}{}", "(".repeat(600), ")".repeat(600));
            let err = e.range_query(&store(), &q, 0, 600_000, 60_000).unwrap_err();
            assert_eq!(err.kind, crate::error::ErrorKind::BadData, "{inner}");
            assert!(
                err.message.contains("nested deeper"),
                "{inner}: {}",
                err.message
            );
        }
    }

    #[test]
    fn range_query_of_a_range_vector_is_bad_data() {
        let e = Engine::default();
        let err = e
            .range_query(&store(), "up[5m]", 0, 60_000, 60_000)
            .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::BadData);
    }

    fn vector(r: QueryResult) -> Vec<(String, f64)> {
        let Value::Vector(v) = r.value else {
            panic!("not a vector: {:?}", r.value)
        };
        v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect()
    }

    #[test]
    fn offset_and_at_modifiers() {
        let (e, s) = (Engine::default(), store());
        assert_eq!(
            vector(e.instant_query(&s, "up offset 2m", 300_000).unwrap())[0].1,
            3.0
        );
        assert_eq!(
            vector(e.instant_query(&s, "up @ 120", 540_000).unwrap())[0].1,
            2.0
        );
        assert_eq!(
            vector(e.instant_query(&s, "up @ 240 offset 1m", 0).unwrap())[0].1,
            3.0
        );
        let r = e.range_query(&s, "up @ end()", 0, 120_000, 60_000).unwrap();
        let Value::Matrix(m) = r.value else { panic!() };
        assert_eq!(m[0].samples, vec![(0, 2.0), (60_000, 2.0), (120_000, 2.0)]);
    }

    #[test]
    fn stale_marker_ends_a_series_and_lookback_bounds_it() {
        let mut s = store();
        let l = Labels::new([("__name__", "up"), ("job", "a")]);
        s.add_sample(&l, 600_000, crate::value::stale_nan());
        let e = Engine::default();
        assert!(vector(e.instant_query(&s, "up", 630_000).unwrap()).is_empty());
        // Without the marker the last sample (9m) is visible for five minutes.
        let s = store();
        assert_eq!(vector(e.instant_query(&s, "up", 839_000).unwrap()).len(), 1);
        assert!(vector(e.instant_query(&s, "up", 840_000).unwrap()).is_empty());
    }

    #[test]
    fn subqueries_and_range_functions() {
        let (e, s) = (Engine::default(), store());
        let r = e
            .instant_query(&s, "max_over_time(up[5m:1m])", 540_000)
            .unwrap();
        assert_eq!(vector(r), vec![(r#"{job="a"}"#.to_string(), 9.0)]);
        let r = e.instant_query(&s, "rate(up[5m])", 540_000).unwrap();
        assert!((vector(r.clone())[0].1 - 1.0 / 60.0).abs() < 1e-12);
        assert!(r.infos[0].starts_with("PromQL info: metric might not be a counter"));
    }

    #[test]
    fn errors_carry_their_kind() {
        let (e, s) = (Engine::default(), store());
        assert_eq!(
            e.instant_query(&s, "up{", 0).unwrap_err().kind,
            crate::error::ErrorKind::BadData
        );
        let many = e.instant_query(&s, "up * on() group_left up", 0);
        assert!(many.is_ok());
        let cancel = AtomicBool::new(true);
        let expr = parse_query("up").unwrap();
        let err = e.exec(&s, &expr, 0, 0, 0, Some(&cancel)).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Canceled);
        let e = Engine::new(EngineOptions {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        });
        assert_eq!(
            e.instant_query(&s, "up", 0).unwrap_err().kind,
            crate::error::ErrorKind::Timeout
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let (e, s) = (Engine::default(), store());
        let ok = format!("{}up{}", "(".repeat(450), ")".repeat(450));
        assert!(e.instant_query(&s, &ok, 0).is_ok());
        let chain = format!("up{}", " + sum(up)".repeat(240));
        assert!(e.instant_query(&s, &chain, 0).is_ok());
        let deep = format!("{}up{}", "-(".repeat(600), ")".repeat(600));
        assert_eq!(
            e.instant_query(&s, &deep, 0).unwrap_err().kind,
            crate::error::ErrorKind::BadData
        );
    }

    #[test]
    fn too_many_samples_fails() {
        let e = Engine::new(EngineOptions {
            max_samples: 5,
            ..Default::default()
        });
        let err = e
            .instant_query(&store(), "count_over_time(up[1h])", 600_000)
            .unwrap_err();
        assert_eq!(err, QueryError::too_many_samples());
    }
}
