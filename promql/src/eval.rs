//! The evaluator: walks the syntax tree once for all steps of a query, reading selectors
//! from storage, and hands operators, aggregations and functions to their modules.
//!
//! Every instant-vector expression evaluates to one vector per step ([`Val::Vector`]);
//! range selectors and subqueries become a [`RangeInput`] from which functions take the
//! window of each step. The whole expression of a range query may instead give its result
//! series straight ([`Evaluator::eval_range_query`]). `__name__` is removed late, as
//! Prometheus 3 does: a sample only carries [`VSample::drop_name`] until the result is
//! assembled.

use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use crate::engine::EngineOptions;
use crate::error::QueryError;
use crate::histogram::{CounterResetHint, FloatHistogram};
use crate::storage::{LabelMatcher, Queryable};
use crate::value::{is_stale_nan, Labels, METRIC_NAME};
use crate::{aggregate, binary, functions};

/// One sample of an instant vector during evaluation: a float `v`, or a native histogram
/// `h` (then `v` means nothing).
#[derive(Clone, Debug)]
pub(crate) struct VSample {
    pub labels: Rc<Labels>,
    pub v: f64,
    pub h: Option<Rc<FloatHistogram>>,
    /// Whether `__name__` goes when the result is assembled (Prometheus 3's delayed removal).
    pub drop_name: bool,
}

impl VSample {
    /// A float sample.
    pub fn float(labels: Rc<Labels>, v: f64, drop_name: bool) -> VSample {
        VSample {
            labels,
            v,
            h: None,
            drop_name,
        }
    }

    /// A histogram sample.
    pub fn histogram(labels: Rc<Labels>, h: FloatHistogram, drop_name: bool) -> VSample {
        VSample {
            labels,
            v: 0.0,
            h: Some(Rc::new(h)),
            drop_name,
        }
    }
}

/// A native histogram point `(t_ms, histogram)`.
pub(crate) type HPoint = (i64, Rc<FloatHistogram>);

/// Native histogram points `(t_ms, histogram)` in time order.
pub(crate) type HPoints = Vec<HPoint>;

/// One series of a range vector: its float and histogram points in time order, stale
/// markers removed.
#[derive(Clone, Debug)]
pub(crate) struct RangeSeries {
    pub labels: Rc<Labels>,
    pub samples: Vec<(i64, f64)>,
    pub histograms: HPoints,
    pub drop_name: bool,
}

/// A value during evaluation; scalars and vectors hold one entry per step.
#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Vector(Vec<Vec<VSample>>),
    /// A range vector; only the result of an instant query.
    Matrix(Vec<RangeSeries>),
    Str(String),
}

/// The steps an expression is evaluated at: `start`, `start + step`, … `end`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Ctx {
    pub fn new(start: i64, end: i64, step: i64) -> Ctx {
        Ctx { start, end, step }
    }

    /// How many steps there are.
    pub fn len(&self) -> usize {
        if self.step <= 0 || self.end < self.start {
            1
        } else {
            ((self.end - self.start) / self.step + 1) as usize
        }
    }

    /// The timestamps of the steps.
    pub fn times(&self) -> impl Iterator<Item = i64> {
        let (start, step) = (self.start, self.step);
        (0..self.len() as i64).map(move |i| start + i * step)
    }
}

/// The warnings and infos a query collects, without repeats.
#[derive(Debug, Default)]
pub(crate) struct Annotations {
    pub warnings: BTreeSet<String>,
    pub infos: BTreeSet<String>,
}

/// A range vector argument: every point it may need, and how a step maps to its window.
#[derive(Debug)]
pub(crate) struct RangeInput {
    pub series: Vec<RangeSeries>,
    pub range: i64,
    at: Option<i64>,
    offset: i64,
}

impl RangeInput {
    /// The end of the window for a step at `t` (after `@` and `offset`).
    pub fn eval_time(&self, t: i64) -> i64 {
        self.at.unwrap_or(t) - self.offset
    }

    /// The points of series `i` in the window `(te - range, te]` of the step at `t`.
    pub fn window(&self, i: usize, t: i64) -> &[(i64, f64)] {
        let te = self.eval_time(t);
        let s = &self.series[i].samples;
        let from = s.partition_point(|p| p.0 <= te - self.range);
        let to = s.partition_point(|p| p.0 <= te);
        &s[from..to.max(from)]
    }

    /// The histogram points of series `i` in the window of the step at `t`.
    pub fn histogram_window(&self, i: usize, t: i64) -> &[(i64, Rc<FloatHistogram>)] {
        let te = self.eval_time(t);
        let s = &self.series[i].histograms;
        let from = s.partition_point(|p| p.0 <= te - self.range);
        let to = s.partition_point(|p| p.0 <= te);
        &s[from..to.max(from)]
    }

    /// The float and histogram points of series `i` in the window ending at `te` (a step's
    /// [`RangeInput::eval_time`]), as [`RangeInput::window`] and
    /// [`RangeInput::histogram_window`] give them, found from where `cursor` left the
    /// previous step's window of the same series: steps in time order cost one pass over
    /// the series instead of a search per step.
    pub fn windows_from(
        &self,
        i: usize,
        te: i64,
        cursor: &mut WindowCursor,
    ) -> (&[(i64, f64)], &[HPoint]) {
        let series = &self.series[i];
        let (s, h) = (&series.samples, &series.histograms);
        cursor.from = after(s, cursor.from, te - self.range);
        cursor.to = after(s, cursor.to, te);
        cursor.hfrom = after(h, cursor.hfrom, te - self.range);
        cursor.hto = after(h, cursor.hto, te);
        (
            &s[cursor.from..cursor.to.max(cursor.from)],
            &h[cursor.hfrom..cursor.hto.max(cursor.hfrom)],
        )
    }
}

/// Where [`RangeInput::windows_from`] left one series' window: the indices just after the
/// points at or before the window's start and end, for floats and histograms.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WindowCursor {
    from: usize,
    to: usize,
    hfrom: usize,
    hto: usize,
}

/// The index of the first point of time-ordered `s` after `bound`, searched forward from
/// `hint` (a previous answer for an earlier bound); a few steps are walked, beyond that or
/// if the hint is of no use the slice is searched.
fn after<T>(s: &[(i64, T)], hint: usize, bound: i64) -> usize {
    const WALK: usize = 8;
    if hint == 0 || hint > s.len() || s[hint - 1].0 > bound {
        return s.partition_point(|p| p.0 <= bound);
    }
    let mut k = hint;
    while k < s.len() && s[k].0 <= bound {
        k += 1;
        if k - hint == WALK {
            return k + s[k..].partition_point(|p| p.0 <= bound);
        }
    }
    k
}

/// A selected series: its labels, float points (stale markers included) and histograms.
pub(crate) struct Selected {
    pub labels: Labels,
    pub floats: Vec<(i64, f64)>,
    pub histograms: HPoints,
}

/// A subquery's histogram with its reset / not-reset hint made unknown: a subquery may
/// skip or repeat samples, so the hint no longer holds (as in Prometheus).
fn unknown_reset(h: Rc<FloatHistogram>) -> Rc<FloatHistogram> {
    match h.counter_reset_hint {
        CounterResetHint::Reset | CounterResetHint::NotReset => {
            let mut h = (*h).clone();
            h.counter_reset_hint = CounterResetHint::Unknown;
            Rc::new(h)
        }
        _ => h,
    }
}

/// The entry of `labels` in `m`, made empty if missing.
fn selected_entry<'m>(
    m: &'m mut std::collections::BTreeMap<Labels, Selected>,
    labels: &Labels,
) -> &'m mut Selected {
    m.entry(labels.clone()).or_insert_with(|| Selected {
        labels: labels.clone(),
        floats: Vec::new(),
        histograms: Vec::new(),
    })
}

/// How deeply expressions may nest: evaluation recurses once per level, and the bound keeps
/// a hostile query from exhausting the stack (real queries stay far below it).
const MAX_DEPTH: usize = 500;

/// A float result series of a range query: its labels, whether `__name__` goes, its points.
pub(crate) type FloatSeriesPart = (Rc<Labels>, bool, Vec<(i64, f64)>);

/// What the whole expression of a range query evaluates to (see
/// [`Evaluator::eval_range_query`]).
pub(crate) enum RangeAnswer {
    /// Float series, each from one pass over its points, in any order.
    Series(Vec<FloatSeriesPart>),
    /// One value per step, as [`Evaluator::eval`] gives it.
    Steps(Val),
}

/// The state of one query's evaluation.
pub(crate) struct Evaluator<'a> {
    storage: &'a dyn Queryable,
    pub opts: &'a EngineOptions,
    query_start: i64,
    query_end: i64,
    query_step: i64,
    samples: usize,
    /// How deep in the syntax tree evaluation is (bounded by [`MAX_DEPTH`]).
    depth: usize,
    deadline: Option<Instant>,
    cancel: Option<&'a AtomicBool>,
    pub annotations: Annotations,
}

/// Milliseconds since the epoch of an `@` time (which may be before 1970).
fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(
        storage: &'a dyn Queryable,
        opts: &'a EngineOptions,
        query_start: i64,
        query_end: i64,
        query_step: i64,
        deadline: Option<Instant>,
        cancel: Option<&'a AtomicBool>,
    ) -> Self {
        Evaluator {
            storage,
            opts,
            query_start,
            query_end,
            query_step,
            samples: 0,
            depth: 0,
            deadline,
            cancel,
            annotations: Annotations::default(),
        }
    }

    /// The query's start (ms), for `@ start()` and `start()`.
    pub fn query_start(&self) -> i64 {
        self.query_start
    }

    /// The query's end (ms).
    pub fn query_end(&self) -> i64 {
        self.query_end
    }

    /// The query's step (ms; 0 for an instant query).
    pub fn query_step(&self) -> i64 {
        self.query_step
    }

    /// Fails if the query was cancelled or ran out of time.
    pub fn check(&self) -> Result<(), QueryError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(QueryError::canceled("expression evaluation"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(QueryError::timeout("expression evaluation"));
        }
        Ok(())
    }

    /// Accounts for `n` more samples held, failing over the limit.
    pub fn hold(&mut self, n: usize) -> Result<(), QueryError> {
        self.samples += n;
        if self.samples > self.opts.max_samples {
            return Err(QueryError::too_many_samples());
        }
        Ok(())
    }

    pub fn warn(&mut self, msg: String) {
        self.annotations
            .warnings
            .insert(format!("PromQL warning: {msg}"));
    }

    pub fn info(&mut self, msg: String) {
        self.annotations.infos.insert(format!("PromQL info: {msg}"));
    }

    /// Evaluates `expr` at every step of `ctx`.
    pub fn eval(&mut self, expr: &Expr, ctx: &Ctx) -> Result<Val, QueryError> {
        self.nested(|ev| ev.eval_node(expr, ctx))
    }

    /// Evaluates the whole expression of a range query at every step of `ctx`. A bare
    /// selector ([`Evaluator::selector_series`]) and a range function (`rate(x[5m])`,
    /// [`functions::call_series`]), under any parentheses, give their float series straight,
    /// one pass over each series' points, without the per-step vectors the engine would
    /// turn back into series; anything else, or either of those where native histograms
    /// are involved, gives its per-step value as [`Evaluator::eval`] does.
    pub fn eval_range_query(&mut self, expr: &Expr, ctx: &Ctx) -> Result<RangeAnswer, QueryError> {
        self.nested(|ev| match expr {
            Expr::Paren(p) => ev.eval_range_query(&p.expr, ctx),
            Expr::VectorSelector(vs) => ev.selector_series(vs, ctx),
            Expr::Call(c) => functions::call_series(ev, c, ctx),
            _ => ev.eval_node(expr, ctx).map(RangeAnswer::Steps),
        })
    }

    /// Runs `eval` one level deeper in the syntax tree, failing beyond [`MAX_DEPTH`] or
    /// when the query was cancelled or ran out of time.
    #[inline]
    fn nested<T>(
        &mut self,
        eval: impl FnOnce(&mut Self) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        self.check()?;
        if self.depth >= MAX_DEPTH {
            return Err(QueryError::bad_data(format!(
                "expression nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth += 1;
        let res = eval(self);
        self.depth -= 1;
        res
    }

    fn eval_node(&mut self, expr: &Expr, ctx: &Ctx) -> Result<Val, QueryError> {
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; ctx.len()])),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, ctx),
            Expr::Unary(u) => Ok(match self.eval(&u.expr, ctx)? {
                Val::Scalar(v) => Val::Scalar(v.into_iter().map(|x| -x).collect()),
                Val::Vector(steps) => Val::Vector(
                    steps
                        .into_iter()
                        .map(|step| {
                            step.into_iter()
                                .map(|s| VSample {
                                    labels: s.labels,
                                    v: -s.v,
                                    h: s.h.map(|h| {
                                        let mut h = (*h).clone();
                                        h.mul(-1.0);
                                        Rc::new(h)
                                    }),
                                    drop_name: true,
                                })
                                .collect()
                        })
                        .collect(),
                ),
                _ => {
                    return Err(QueryError::bad_data(
                        "unary expression on a non-numeric value",
                    ))
                }
            }),
            Expr::Binary(b) => binary::eval_binary(self, b, ctx),
            Expr::Aggregate(a) => aggregate::eval_aggregate(self, a, ctx),
            Expr::Call(c) => functions::eval_call(self, c, ctx),
            Expr::VectorSelector(vs) => self.eval_vector_selector(vs, ctx, false),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let input = self.eval_range(expr, ctx)?;
                let t = ctx.start;
                let series = (0..input.series.len())
                    .map(|i| RangeSeries {
                        labels: input.series[i].labels.clone(),
                        samples: input.window(i, t).to_vec(),
                        histograms: input.histogram_window(i, t).to_vec(),
                        drop_name: input.series[i].drop_name,
                    })
                    .collect();
                Ok(Val::Matrix(series))
            }
            Expr::Extension(_) => Err(QueryError::bad_data(
                "extension expressions are not supported",
            )),
        }
    }

    /// Evaluates an expression that must give an instant vector.
    pub fn eval_vector(&mut self, expr: &Expr, ctx: &Ctx) -> Result<Vec<Vec<VSample>>, QueryError> {
        match self.eval(expr, ctx)? {
            Val::Vector(v) => Ok(v),
            _ => Err(QueryError::bad_data("expected an instant vector")),
        }
    }

    /// Evaluates an expression that must give a scalar.
    pub fn eval_scalar(&mut self, expr: &Expr, ctx: &Ctx) -> Result<Vec<f64>, QueryError> {
        match self.eval(expr, ctx)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(QueryError::bad_data("expected a scalar")),
        }
    }

    /// The time an `@` modifier pins evaluation to, if any.
    fn resolve_at(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(system_time_ms(t)),
        }
    }

    /// Reads the series a selector matches with samples in `[lo, hi]`.
    fn select(
        &mut self,
        vs: &VectorSelector,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<Selected>, QueryError> {
        let name: Option<Matcher> = vs
            .name
            .as_ref()
            .map(|n| Matcher::new(MatchOp::Equal, METRIC_NAME, n));
        let mut groups: Vec<Vec<LabelMatcher>> = Vec::new();
        if vs.matchers.or_matchers.is_empty() {
            groups.push(vs.matchers.matchers.clone());
        } else {
            groups.extend(vs.matchers.or_matchers.iter().cloned());
        }
        // Series by labels (`a or b` selectors may match a series twice).
        let mut by_labels: std::collections::BTreeMap<Labels, Selected> =
            std::collections::BTreeMap::new();
        for mut g in groups {
            g.extend(name.clone());
            for s in self.storage.select(&g, lo, hi)? {
                let e = selected_entry(&mut by_labels, &s.labels);
                if e.floats.is_empty() {
                    e.floats = s.samples;
                }
            }
            for s in self.storage.select_histograms(&g, lo, hi)? {
                let e = selected_entry(&mut by_labels, &s.labels);
                if e.histograms.is_empty() {
                    e.histograms = s
                        .samples
                        .into_iter()
                        .map(|(t, h)| (t, Rc::new(h)))
                        .collect();
                }
            }
        }
        let out: Vec<Selected> = by_labels.into_values().collect();
        self.hold(
            out.iter()
                .map(|s| s.floats.len() + s.histograms.len())
                .sum(),
        )?;
        self.check()?;
        Ok(out)
    }

    /// An instant selector: at each step the latest sample within the lookback delta,
    /// unless it is a stale marker. With `timestamps`, the value is the sample's time in
    /// seconds (for `timestamp()`).
    pub fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        ctx: &Ctx,
        timestamps: bool,
    ) -> Result<Val, QueryError> {
        let (series, te) = self.select_for_steps(vs, ctx)?;
        self.selected_steps(series, ctx, te, timestamps)
    }

    /// The series an instant selector reads for the steps of `ctx`, and the function from a
    /// step's time to its evaluation time (after `@` and `offset`).
    fn select_for_steps(
        &mut self,
        vs: &VectorSelector,
        ctx: &Ctx,
    ) -> Result<(Vec<Selected>, impl Fn(i64) -> i64 + Copy), QueryError> {
        let at = self.resolve_at(&vs.at);
        let offset = offset_ms(&vs.offset);
        let te = move |t: i64| at.unwrap_or(t) - offset;
        let lookback = self.opts.lookback_delta_ms;
        let series = self.select(vs, te(ctx.start) - lookback, te(ctx.end))?;
        Ok((series, te))
    }

    /// A range query whose whole expression is an instant selector: each series' points go
    /// straight into its result series in one forward walk, without the per-step vectors
    /// the general path builds and the engine turns back into series (half of a small
    /// selector query's evaluation). A series without points is left out, as there. When
    /// a selected series holds native histograms the per-step vectors are returned instead.
    fn selector_series(
        &mut self,
        vs: &VectorSelector,
        ctx: &Ctx,
    ) -> Result<RangeAnswer, QueryError> {
        let (series, te) = self.select_for_steps(vs, ctx)?;
        if series.iter().any(|s| !s.histograms.is_empty()) {
            return self
                .selected_steps(series, ctx, te, false)
                .map(RangeAnswer::Steps);
        }
        let lookback = self.opts.lookback_delta_ms;
        let ends: Vec<i64> = ctx.times().map(te).collect();
        let mut out = Vec::with_capacity(series.len());
        let mut held = 0;
        for s in series {
            self.check()?;
            let floats = &s.floats;
            // Only the steps whose lookback window can reach the series (floats only here).
            let Some(span) = series_span(floats, &s.histograms) else {
                continue;
            };
            let steps = steps_reaching(&ends, lookback, span);
            let mut points = Vec::with_capacity(steps.len());
            let mut fi = 0;
            for (i, &e) in ends.iter().enumerate().take(steps.end).skip(steps.start) {
                while fi < floats.len() && floats[fi].0 <= e {
                    fi += 1;
                }
                let Some(&(ft, v)) = fi.checked_sub(1).map(|k| &floats[k]) else {
                    continue;
                };
                if ft <= e - lookback || is_stale_nan(v) {
                    continue;
                }
                points.push((ctx.start + i as i64 * ctx.step, v));
            }
            held += points.len();
            if !points.is_empty() {
                out.push((Rc::new(s.labels), false, points));
            }
        }
        self.hold(held)?;
        Ok(RangeAnswer::Series(out))
    }

    /// The per-step vectors of selected `series`: at each step the latest sample at or
    /// before its evaluation time `te(t)`, within the lookback delta, unless a stale marker.
    fn selected_steps(
        &mut self,
        series: Vec<Selected>,
        ctx: &Ctx,
        te: impl Fn(i64) -> i64 + Copy,
        timestamps: bool,
    ) -> Result<Val, QueryError> {
        let lookback = self.opts.lookback_delta_ms;
        // Each step's vector allocated once, at the number of series that can have a sample
        // in its lookback window (grown one sample at a time, 1,441 step vectors were
        // reallocated ~4 times each for 9 series: 8 % of a small query's time).
        let ends: Vec<i64> = ctx.times().map(te).collect();
        let spans = series
            .iter()
            .filter_map(|s| series_span(&s.floats, &s.histograms));
        let mut out: Vec<Vec<VSample>> = window_capacities(&ends, lookback, spans)
            .into_iter()
            .map(Vec::with_capacity)
            .collect();
        let mut held = 0;
        for s in series {
            self.check()?;
            let labels = Rc::new(s.labels);
            // Evaluation times never decrease from step to step (`@` holds them still), so
            // the samples at or before each are found by moving forward, not by searching.
            let (mut fi, mut hi) = (0, 0);
            for (i, t) in ctx.times().enumerate() {
                let te = te(t);
                while fi < s.floats.len() && s.floats[fi].0 <= te {
                    fi += 1;
                }
                while hi < s.histograms.len() && s.histograms[hi].0 <= te {
                    hi += 1;
                }
                let float = (fi > 0).then(|| s.floats[fi - 1]);
                let hist = (hi > 0).then(|| &s.histograms[hi - 1]);
                let sample = match (float, hist) {
                    (Some((ft, v)), h) if h.is_none_or(|h| h.0 < ft) => {
                        if ft <= te - lookback || is_stale_nan(v) {
                            continue;
                        }
                        let v = if timestamps { ft as f64 / 1000.0 } else { v };
                        VSample::float(labels.clone(), v, false)
                    }
                    (_, Some((ht, h))) => {
                        if *ht <= te - lookback {
                            continue;
                        }
                        if timestamps {
                            VSample::float(labels.clone(), *ht as f64 / 1000.0, false)
                        } else {
                            VSample {
                                labels: labels.clone(),
                                v: 0.0,
                                h: Some(h.clone()),
                                drop_name: false,
                            }
                        }
                    }
                    _ => continue,
                };
                out[i].push(sample);
                held += 1;
            }
        }
        self.hold(held)?;
        Ok(Val::Vector(out))
    }

    /// Evaluates a range selector or subquery for all steps of `ctx`.
    pub fn eval_range(&mut self, expr: &Expr, ctx: &Ctx) -> Result<RangeInput, QueryError> {
        match expr {
            Expr::Paren(p) => self.eval_range(&p.expr, ctx),
            Expr::MatrixSelector(ms) => {
                let at = self.resolve_at(&ms.vs.at);
                let offset = offset_ms(&ms.vs.offset);
                let range = ms.range.as_millis() as i64;
                let mut input = RangeInput {
                    series: Vec::new(),
                    range,
                    at,
                    offset,
                };
                let (lo, hi) = (input.eval_time(ctx.start) - range, input.eval_time(ctx.end));
                for s in self.select(&ms.vs, lo, hi)? {
                    let samples: Vec<(i64, f64)> = s
                        .floats
                        .into_iter()
                        .filter(|p| !is_stale_nan(p.1))
                        .collect();
                    input.series.push(RangeSeries {
                        labels: Rc::new(s.labels),
                        samples,
                        histograms: s.histograms,
                        drop_name: false,
                    });
                }
                Ok(input)
            }
            Expr::Subquery(sq) => {
                let at = self.resolve_at(&sq.at);
                let offset = offset_ms(&sq.offset);
                let range = sq.range.as_millis() as i64;
                let step = match sq.step {
                    Some(s) if !s.is_zero() => s.as_millis() as i64,
                    _ => self.opts.default_subquery_step_ms,
                };
                let mut input = RangeInput {
                    series: Vec::new(),
                    range,
                    at,
                    offset,
                };
                let (first, last) = (input.eval_time(ctx.start), input.eval_time(ctx.end));
                let lo = first - range;
                let mut start = step * lo.div_euclid(step);
                if start < lo {
                    start += step;
                }
                if start > last {
                    return Ok(input);
                }
                let inner = Ctx::new(start, last, step);
                // Every step of a subquery may hold samples: refuse absurd resolutions before
                // allocating per-step results.
                if (last - start) / step >= self.opts.max_samples as i64 {
                    return Err(QueryError::too_many_samples());
                }
                let times: Vec<i64> = inner.times().collect();
                match self.eval(&sq.expr, &inner)? {
                    Val::Scalar(v) => {
                        input.series.push(RangeSeries {
                            labels: Rc::new(Labels::empty()),
                            samples: times.into_iter().zip(v).collect(),
                            histograms: Vec::new(),
                            drop_name: false,
                        });
                    }
                    Val::Vector(steps) => {
                        let mut index: std::collections::HashMap<Rc<Labels>, usize> =
                            std::collections::HashMap::new();
                        for (t, step) in times.into_iter().zip(steps) {
                            for s in step {
                                let i = *index.entry(s.labels.clone()).or_insert_with(|| {
                                    input.series.push(RangeSeries {
                                        labels: s.labels.clone(),
                                        samples: Vec::new(),
                                        histograms: Vec::new(),
                                        drop_name: s.drop_name,
                                    });
                                    input.series.len() - 1
                                });
                                match s.h {
                                    Some(h) => {
                                        input.series[i].histograms.push((t, unknown_reset(h)))
                                    }
                                    None => input.series[i].samples.push((t, s.v)),
                                }
                            }
                        }
                        input.series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    _ => return Err(QueryError::bad_data("subquery of a non-numeric value")),
                }
                Ok(input)
            }
            _ => Err(QueryError::bad_data("expected a range vector")),
        }
    }
}

/// The first and last time of a series' floats and histograms (`None` when it has none).
pub(crate) fn series_span<F, H>(
    floats: &[(i64, F)],
    histograms: &[(i64, H)],
) -> Option<(i64, i64)> {
    let first = [floats.first().map(|p| p.0), histograms.first().map(|p| p.0)];
    let last = [floats.last().map(|p| p.0), histograms.last().map(|p| p.0)];
    Some((
        first.into_iter().flatten().min()?,
        last.into_iter().flatten().max()?,
    ))
}

/// The steps whose windows can hold a point of a series spanning `(first, last)`, as
/// indices into `ends`, the steps' window ends (sorted: steps go forward, `@` holds them
/// still), each window reaching back `window` ms and open there, `(end - window, end]`:
/// from the first step whose window end is at or after the series' first point to the
/// last whose window start is before its last point. Empty when there is none.
pub(crate) fn steps_reaching(ends: &[i64], window: i64, (first, last): (i64, i64)) -> Range<usize> {
    let from = ends.partition_point(|&e| e < first);
    let to = ends.partition_point(|&e| e - window < last);
    from..to.max(from)
}

/// For each step whose window ends at `ends[i]` (sorted) and reaches back `window` ms, how
/// many of the series spanning `spans` (first and last time) may have points in it: the
/// steps [`steps_reaching`] each series (+1 and -1 in a difference array). Each step's
/// result is allocated once at this size: growing 1,441 step vectors one sample at a time
/// reallocated and copied each of them many times.
pub(crate) fn window_capacities(
    ends: &[i64],
    window: i64,
    spans: impl Iterator<Item = (i64, i64)>,
) -> Vec<usize> {
    let mut delta = vec![0isize; ends.len() + 1];
    for span in spans {
        let steps = steps_reaching(ends, window, span);
        if !steps.is_empty() {
            delta[steps.start] += 1;
            delta[steps.end] -= 1;
        }
    }
    let mut n = 0isize;
    delta[..ends.len()]
        .iter()
        .map(|d| {
            n += d;
            n.max(0) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_cover_start_to_end() {
        let c = Ctx::new(0, 100, 30);
        assert_eq!(c.times().collect::<Vec<_>>(), [0, 30, 60, 90]);
        assert_eq!(Ctx::new(5, 5, 0).len(), 1);
    }

    #[test]
    fn the_steps_reaching_a_series_are_those_whose_window_holds_part_of_its_span() {
        // Steps every 10 ms, a window of 25 ms open at its start; and a step held still by `@`.
        let forward: Vec<i64> = (0..12).map(|i| i * 10).collect();
        let held = [50; 6];
        for ends in [&forward[..], &held[..]] {
            for first in -40..140 {
                for last in (first..150).step_by(7) {
                    let expected: Vec<usize> = (0..ends.len())
                        .filter(|&i| ends[i] >= first && ends[i] - 25 < last)
                        .collect();
                    let got: Vec<usize> = steps_reaching(ends, 25, (first, last)).collect();
                    assert_eq!(got, expected, "{ends:?} ({first}, {last})");
                }
            }
        }
        // A point exactly at a window's start is outside it.
        assert!(steps_reaching(&[100], 25, (0, 75)).is_empty());
        assert_eq!(steps_reaching(&[100], 25, (0, 76)), 0..1);
    }

    #[test]
    fn windows_are_left_open() {
        let input = RangeInput {
            series: vec![RangeSeries {
                labels: Rc::new(Labels::empty()),
                samples: vec![(0, 1.0), (10, 2.0), (20, 3.0)],
                histograms: Vec::new(),
                drop_name: false,
            }],
            range: 10,
            at: None,
            offset: 0,
        };
        assert_eq!(input.window(0, 20), &[(20, 3.0)]);
        assert_eq!(input.window(0, 15), &[(10, 2.0)]);
    }

    #[test]
    fn sliding_windows_match_searched_ones() {
        let samples: Vec<(i64, f64)> = (0..200).map(|i| (i * 7 + i % 3, i as f64)).collect();
        for (range, step) in [(30, 5), (100, 1), (5, 50), (1, 3), (500, 200)] {
            let input = RangeInput {
                series: vec![RangeSeries {
                    labels: Rc::new(Labels::empty()),
                    samples: samples.clone(),
                    histograms: Vec::new(),
                    drop_name: false,
                }],
                range,
                at: None,
                offset: 0,
            };
            let mut cursor = WindowCursor::default();
            let mut t = -100;
            while t < 1600 {
                let te = input.eval_time(t);
                assert_eq!(input.windows_from(0, te, &mut cursor).0, input.window(0, t));
                t += step;
            }
            // A step back in time (as with `@`) still finds its window.
            assert_eq!(
                input.windows_from(0, input.eval_time(40), &mut cursor).0,
                input.window(0, 40)
            );
        }
    }
}
