//! Functions of a range vector: `rate`, `increase`, `delta` and their instant variants,
//! `deriv`, `predict_linear`, `resets`, `changes`, every `*_over_time`, `absent_over_time`
//! and `double_exponential_smoothing`.

use std::rc::Rc;

use super::histogram_range::{with_histograms, Handled, Window};
use super::FnCall;
use crate::error::QueryError;
use crate::eval::{
    series_span, steps_reaching, window_capacities, Evaluator, FloatSeriesPart, RangeAnswer,
    RangeInput, RangeSeries, VSample, Val, WindowCursor,
};
use crate::stats::{format_go_g, kahan_inc, quantile, KahanSum, Mean, Variance};

/// The functions this module evaluates, one vector per step; `None` for any other name.
pub(super) fn eval(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Val>, QueryError> {
    let Some(args) = Args::evaluate(ev, call)? else {
        return Ok(None);
    };
    per_step(ev, call, &args).map(Some)
}

/// A function of this module as the whole expression of a range query: over floats only,
/// each series' points go straight into its result series in its one pass, without the
/// per-step vectors the engine would turn back into series; `absent_over_time`, or a
/// window holding native histograms, gives its per-step vectors. `None` for any other name.
pub(super) fn series(ev: &mut Evaluator, call: &FnCall) -> Result<Option<RangeAnswer>, QueryError> {
    let Some(args) = Args::evaluate(ev, call)? else {
        return Ok(None);
    };
    let Args {
        params,
        input,
        times,
        ends,
    } = &args;
    let name = call.name;
    if name == "absent_over_time" || input.series.iter().any(|s| !s.histograms.is_empty()) {
        return per_step(ev, call, &args).map(|v| Some(RangeAnswer::Steps(v)));
    }
    let mut out: Vec<FloatSeriesPart> = Vec::with_capacity(input.series.len());
    let mut non_counters: Vec<String> = Vec::new();
    for (i, series) in input.series.iter().enumerate() {
        ev.check()?;
        let mut not_counter = not_counter(series.labels.metric_name());
        let mut cursor = WindowCursor::default();
        let reach = series_span(&series.samples, &series.histograms)
            .map_or(0, |span| steps_reaching(ends, input.range, span).len());
        let mut points: Vec<(i64, f64)> = Vec::with_capacity(reach);
        for step in 0..times.len() {
            let at = args.at(step);
            let (w, _) = input.windows_from(i, at.te, &mut cursor);
            if w.is_empty() {
                continue;
            }
            if let Some(v) = float_value(name, w, &at, params, &mut not_counter, &mut non_counters)
            {
                points.push((at.t, v));
            }
        }
        if !points.is_empty() {
            out.push((series.labels.clone(), drops_name(name, series), points));
        }
    }
    report_non_counters(ev, non_counters);
    Ok(Some(RangeAnswer::Series(out)))
}

/// A range function's arguments, evaluated: its scalar parameters (one value per step),
/// its range vector, the steps' times and each step's window end (after `@` and
/// `offset`, the same for every series).
struct Args {
    params: Vec<Vec<f64>>,
    input: RangeInput,
    times: Vec<i64>,
    ends: Vec<i64>,
}

impl Args {
    /// The arguments of `call`, checked as Prometheus checks them; `None` if it is not a
    /// function of this module.
    fn evaluate(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Args>, QueryError> {
        let FnCall { name, args, ctx } = *call;
        let Some(matrix_pos) = matrix_arg(name) else {
            return Ok(None);
        };
        let mut params: Vec<Vec<f64>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i != matrix_pos {
                params.push(ev.eval_scalar(a, ctx)?);
            }
        }
        let input = ev.eval_range(args[matrix_pos], ctx)?;
        if name == "quantile_over_time" {
            for &q in &params[0] {
                if !(0.0..=1.0).contains(&q) {
                    ev.warn(format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_go_g(q)
                    ));
                }
            }
        }
        if matches!(name, "double_exponential_smoothing" | "holt_winters") {
            for (which, vals) in [("smoothing", &params[0]), ("trend", &params[1])] {
                if let Some(v) = vals.iter().find(|v| !(**v > 0.0 && **v < 1.0)) {
                    let sym = if which == "smoothing" { "sf" } else { "tf" };
                    return Err(QueryError::execution(format!(
                        "invalid {which} factor. Expected: 0 < {sym} < 1, got: {v:.6}"
                    )));
                }
            }
        }
        let times: Vec<i64> = ctx.times().collect();
        let ends: Vec<i64> = times.iter().map(|&t| input.eval_time(t)).collect();
        Ok(Some(Args {
            params,
            input,
            times,
            ends,
        }))
    }

    /// Where the step at index `step` is evaluated.
    fn at(&self, step: usize) -> Step {
        Step {
            t: self.times[step],
            te: self.ends[step],
            range: self.input.range,
            step,
        }
    }
}

/// Whether `name`'s results of `series` go without `__name__` (all but `last_over_time`
/// and `first_over_time` of a series that keeps it).
fn drops_name(name: &str, series: &RangeSeries) -> bool {
    !matches!(name, "last_over_time" | "first_over_time") || series.drop_name
}

/// A metric name that does not look like a counter's, for the info a counter function
/// gives about it.
fn not_counter(metric: Option<&str>) -> Option<&str> {
    metric.filter(|n| {
        !["_total", "_sum", "_count", "_bucket"]
            .iter()
            .any(|s| n.ends_with(s))
    })
}

/// The info that counter functions were given series whose names are not a counter's.
fn report_non_counters(ev: &mut Evaluator, mut non_counters: Vec<String>) {
    non_counters.sort();
    non_counters.dedup();
    for n in non_counters {
        ev.info(format!(
            "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
        ));
    }
}

/// A range function at every step: one pass per series over all steps (its points stay in
/// cache and its window slides forward), each step's samples kept in series order.
fn per_step(ev: &mut Evaluator, call: &FnCall, args: &Args) -> Result<Val, QueryError> {
    let Args {
        params,
        input,
        times,
        ends,
    } = args;
    let name = call.name;
    let mut out: Vec<Vec<VSample>> = step_capacities(input, ends)
        .into_iter()
        .map(Vec::with_capacity)
        .collect();
    let mut any = vec![false; times.len()];
    let mut non_counters: Vec<String> = Vec::new();
    for (i, series) in input.series.iter().enumerate() {
        ev.check()?;
        let metric = series.labels.metric_name();
        let drop_name = drops_name(name, series);
        let mut not_counter = not_counter(metric);
        let mut cursor = WindowCursor::default();
        for step in 0..times.len() {
            let at = args.at(step);
            let (w, hw) = input.windows_from(i, at.te, &mut cursor);
            if w.is_empty() && hw.is_empty() {
                continue;
            }
            any[step] = true;
            let res = &mut out[step];
            if !hw.is_empty() {
                let window = Window {
                    floats: w,
                    histograms: hw,
                    start: at.te - input.range,
                    end: at.te,
                };
                match with_histograms(ev, name, &window, metric.unwrap_or("")) {
                    Handled::FloatsOnly => {}
                    Handled::Nothing => continue,
                    Handled::Float(v) => {
                        res.push(VSample::float(series.labels.clone(), v, drop_name));
                        continue;
                    }
                    Handled::Histogram(h) => {
                        res.push(VSample::histogram(series.labels.clone(), h, drop_name));
                        continue;
                    }
                }
                if w.is_empty() {
                    continue;
                }
            }
            let v = float_value(name, w, &at, params, &mut not_counter, &mut non_counters);
            if let Some(v) = v {
                res.push(VSample::float(series.labels.clone(), v, drop_name));
            }
        }
    }
    if name == "absent_over_time" {
        let mut absent_labels = None;
        for (res, any) in out.iter_mut().zip(any) {
            if !any {
                let labels = absent_labels
                    .get_or_insert_with(|| Rc::new(super::absent_labels(call.args[0])))
                    .clone();
                res.push(VSample::float(labels, 1.0, false));
            }
        }
    }
    report_non_counters(ev, non_counters);
    Ok(Val::Vector(out))
}

/// The position of the range-vector argument of the range function `name` (`None`: not
/// one of them).
fn matrix_arg(name: &str) -> Option<usize> {
    Some(match name {
        "quantile_over_time" => 1,
        "rate"
        | "irate"
        | "increase"
        | "delta"
        | "idelta"
        | "deriv"
        | "predict_linear"
        | "resets"
        | "changes"
        | "avg_over_time"
        | "min_over_time"
        | "max_over_time"
        | "sum_over_time"
        | "count_over_time"
        | "stddev_over_time"
        | "stdvar_over_time"
        | "last_over_time"
        | "first_over_time"
        | "present_over_time"
        | "mad_over_time"
        | "ts_of_min_over_time"
        | "ts_of_max_over_time"
        | "ts_of_last_over_time"
        | "ts_of_first_over_time"
        | "absent_over_time"
        | "double_exponential_smoothing"
        | "holt_winters" => 0,
        _ => return None,
    })
}

/// Where a range function is evaluated: the step's time, its window's end (after `@` and
/// `offset`), the window's length, and the step's index (for scalar parameters).
struct Step {
    t: i64,
    te: i64,
    range: i64,
    step: usize,
}

/// A range function's float result over the floats `w` of one window (`None`: no sample).
/// A counter function's first window of two or more points of a series whose name is not
/// a counter's (`not_counter`, then cleared) records that name in `non_counters`.
fn float_value(
    name: &str,
    w: &[(i64, f64)],
    at: &Step,
    params: &[Vec<f64>],
    not_counter: &mut Option<&str>,
    non_counters: &mut Vec<String>,
) -> Option<f64> {
    match name {
        "rate" | "increase" | "delta" => {
            let counter = name != "delta";
            if counter && w.len() > 1 {
                if let Some(n) = not_counter.take() {
                    non_counters.push(n.to_string());
                }
            }
            extrapolated_rate(w, at.te - at.range, at.te, counter, name == "rate")
        }
        "irate" | "idelta" => instant_value(w, name == "irate"),
        "deriv" => (w.len() >= 2).then(|| linear_regression(w, w[0].0).0),
        "predict_linear" => (w.len() >= 2).then(|| {
            let (slope, intercept) = linear_regression(w, at.t);
            intercept + slope * params[0][at.step]
        }),
        "resets" => Some(w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64),
        "changes" => Some(
            w.windows(2)
                .filter(|p| !(p[1].1 == p[0].1 || (p[1].1.is_nan() && p[0].1.is_nan())))
                .count() as f64,
        ),
        "double_exponential_smoothing" | "holt_winters" => {
            smoothing(w, params[0][at.step], params[1][at.step])
        }
        "absent_over_time" => None,
        _ => Some(over_time(
            name,
            w,
            if name == "quantile_over_time" {
                params[0][at.step]
            } else {
                0.0
            },
        )),
    }
}

/// For each step whose window ends at `ends[i]`, how many series of `input` may have
/// points in its window ([`window_capacities`]). Each step's result is allocated once at
/// this size; growing 1,441 result vectors one sample at a time reallocated and copied
/// them ~13 times each at 5,000 series.
fn step_capacities(input: &RangeInput, ends: &[i64]) -> Vec<usize> {
    let spans = input
        .series
        .iter()
        .filter_map(|s| series_span(&s.samples, &s.histograms));
    window_capacities(ends, input.range, spans)
}

/// `rate`, `increase` and `delta`: the change over the window, extrapolated towards its
/// edges as Prometheus does; `None` with fewer than two points.
fn extrapolated_rate(
    w: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    counter: bool,
    per_second: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first_t, first_v) = w[0];
    let (last_t, last_v) = w[w.len() - 1];
    let mut result = last_v - first_v;
    if counter {
        let mut prev = first_v;
        for &(_, v) in &w[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let span = Extrapolation {
        first_t,
        last_t,
        points: w.len(),
        range_start,
        range_end,
    };
    Some(result * span.factor(first_v, result, counter, per_second))
}

/// Where the points of a `rate`/`increase`/`delta` window lie within it.
pub(super) struct Extrapolation {
    pub first_t: i64,
    pub last_t: i64,
    pub points: usize,
    pub range_start: i64,
    pub range_end: i64,
}

impl Extrapolation {
    /// What the change between the first and last point is multiplied by to cover the
    /// window (divided by its length for a rate). `first` and `change` are the first value
    /// and the change (counts for histograms), for not extrapolating a counter below zero.
    pub fn factor(&self, first: f64, change: f64, counter: bool, per_second: bool) -> f64 {
        let mut to_start = (self.first_t - self.range_start) as f64 / 1000.0;
        let mut to_end = (self.range_end - self.last_t) as f64 / 1000.0;
        let sampled = (self.last_t - self.first_t) as f64 / 1000.0;
        let avg = sampled / (self.points - 1) as f64;
        let threshold = avg * 1.1;
        if to_start >= threshold {
            to_start = avg / 2.0;
        }
        if counter && change > 0.0 && first >= 0.0 {
            let to_zero = sampled * (first / change);
            if to_zero < to_start {
                to_start = to_zero;
            }
        }
        if to_end >= threshold {
            to_end = avg / 2.0;
        }
        let mut factor = (sampled + to_start + to_end) / sampled;
        if per_second {
            factor /= (self.range_end - self.range_start) as f64 / 1000.0;
        }
        factor
    }
}

/// `irate` and `idelta`: from the last two points.
fn instant_value(w: &[(i64, f64)], rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (t0, v0) = w[w.len() - 2];
    let (t1, v1) = w[w.len() - 1];
    let mut v = v1;
    if !rate || v1 >= v0 || v1.is_nan() || v0.is_nan() {
        v = v1 - v0;
    }
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    if rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept at `intercept_t`, with x in seconds.
fn linear_regression(w: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init = w[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in w.iter().enumerate() {
        if const_y && i > 0 && v != init {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1000.0;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init);
    }
    let (sx, sy, sxy, sx2) = (sx + cx, sy + cy, sxy + cxy, sx2 + cx2);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// Double exponential smoothing (formerly `holt_winters`).
fn smoothing(w: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, w[0].1);
    let mut b = w[1].1 - w[0].1;
    for (i, &(_, v)) in w.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        (s0, s1) = (s1, x + y);
    }
    Some(s1)
}

/// The `*_over_time` aggregations of a non-empty window.
fn over_time(name: &str, w: &[(i64, f64)], q: f64) -> f64 {
    let values = || w.iter().map(|p| p.1);
    match name {
        "avg_over_time" => {
            let mut m = Mean::default();
            values().for_each(|v| m.add(v));
            m.value()
        }
        "sum_over_time" => {
            let mut s = KahanSum::default();
            values().for_each(|v| s.add(v));
            s.value()
        }
        "count_over_time" => w.len() as f64,
        "min_over_time" => values().fold(f64::NAN, |a, v| if v < a || a.is_nan() { v } else { a }),
        "max_over_time" => values().fold(f64::NAN, |a, v| if v > a || a.is_nan() { v } else { a }),
        "last_over_time" => w[w.len() - 1].1,
        "first_over_time" => w[0].1,
        "present_over_time" => 1.0,
        "ts_of_last_over_time" => w[w.len() - 1].0 as f64 / 1000.0,
        "ts_of_first_over_time" => w[0].0 as f64 / 1000.0,
        "ts_of_min_over_time" | "ts_of_max_over_time" => {
            let min = name == "ts_of_min_over_time";
            let mut best = (w[0].0, f64::NAN);
            for &(t, v) in w {
                let better = if min { v <= best.1 } else { v >= best.1 };
                if better || best.1.is_nan() {
                    best = (t, v);
                }
            }
            best.0 as f64 / 1000.0
        }
        "stddev_over_time" | "stdvar_over_time" => {
            let mut var = Variance::default();
            values().for_each(|v| var.add(v));
            if name == "stddev_over_time" {
                var.variance().sqrt()
            } else {
                var.variance()
            }
        }
        "quantile_over_time" => quantile(q, &mut values().collect::<Vec<_>>()),
        "mad_over_time" => {
            let mut vals: Vec<f64> = values().collect();
            if vals.iter().any(|v| v.is_nan()) {
                return f64::NAN;
            }
            let median = quantile(0.5, &mut vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
            quantile(0.5, &mut dev)
        }
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_extrapolates_to_window_edges() {
        let w: Vec<(i64, f64)> = (1..=10).map(|i| (i * 30_000, i as f64 * 3.0)).collect();
        // 300s window ending at 300s, first sample at 30s: extrapolated to zero at 0s.
        let r = extrapolated_rate(&w, 0, 300_000, true, true).unwrap();
        assert!((r - 0.1).abs() < 1e-12);
    }

    #[test]
    fn irate_uses_last_two_points() {
        assert_eq!(
            instant_value(&[(0, 1.0), (10_000, 5.0), (20_000, 7.0)], true),
            Some(0.2)
        );
        assert_eq!(instant_value(&[(0, 5.0), (10_000, 1.0)], true), Some(0.1));
    }

    #[test]
    fn regression_of_a_line() {
        let w = [(0, 1.0), (1000, 3.0), (2000, 5.0)];
        assert_eq!(linear_regression(&w, 0), (2.0, 1.0));
    }
}
