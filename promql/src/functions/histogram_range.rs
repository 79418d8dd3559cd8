//! Range functions over windows that hold native histograms: `rate`, `increase`, `delta`,
//! `irate`, `idelta`, `sum_over_time`, `avg_over_time`, `count_over_time`, the first/last
//! functions, `resets` and `changes`; the float-only functions ignore the histograms with
//! Prometheus's annotations.

use std::rc::Rc;

use super::range::Extrapolation;
use crate::aggregate::sum_histograms;
use crate::eval::Evaluator;
use crate::histogram::{CounterResetHint, FloatHistogram};

/// One series' points in the window of a step.
pub(super) struct Window<'a> {
    pub floats: &'a [(i64, f64)],
    pub histograms: &'a [(i64, Rc<FloatHistogram>)],
    pub start: i64,
    pub end: i64,
}

/// What a function made of a window with histograms.
pub(super) enum Handled {
    /// Evaluate the float points as usual (the histograms are ignored).
    FloatsOnly,
    /// No result for this series.
    Nothing,
    Float(f64),
    Histogram(FloatHistogram),
}

fn mixed_warning(ev: &mut Evaluator, metric: &str) -> Handled {
    ev.warn(format!(
        "encountered a mix of histograms and floats for metric name {metric:?}"
    ));
    Handled::Nothing
}

fn mixed_schemas(ev: &mut Evaluator, metric: &str) -> Option<FloatHistogram> {
    ev.warn(format!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"));
    None
}

/// A window's points merged in time order (`None` for a float, with its value).
fn merged<'a>(w: &Window<'a>) -> Vec<(i64, f64, Option<&'a Rc<FloatHistogram>>)> {
    let mut all: Vec<_> = w.floats.iter().map(|&(t, v)| (t, v, None)).collect();
    all.extend(w.histograms.iter().map(|(t, h)| (*t, 0.0, Some(h))));
    all.sort_by_key(|p| p.0);
    all
}

/// Evaluates function `name` over a window holding at least one histogram.
pub(super) fn with_histograms(ev: &mut Evaluator, name: &str, w: &Window, metric: &str) -> Handled {
    let hw = w.histograms;
    let mixed = !w.floats.is_empty();
    match name {
        "rate" | "increase" | "delta" => {
            if mixed {
                return mixed_warning(ev, metric);
            }
            if hw.len() < 2 {
                return Handled::Nothing;
            }
            let counter = name != "delta";
            let Some(mut h) = histogram_rate(ev, hw, counter, metric) else {
                return Handled::Nothing;
            };
            let span = Extrapolation {
                first_t: hw[0].0,
                last_t: hw[hw.len() - 1].0,
                points: hw.len(),
                range_start: w.start,
                range_end: w.end,
            };
            h.mul(span.factor(hw[0].1.count, h.count, counter, name == "rate"));
            Handled::Histogram(h)
        }
        "irate" | "idelta" => instant_value(ev, w, name == "irate", metric),
        "sum_over_time" | "avg_over_time" => {
            if mixed {
                return mixed_warning(ev, metric);
            }
            let all: Vec<&Rc<FloatHistogram>> = hw.iter().map(|p| &p.1).collect();
            match sum_histograms(ev, &all, metric) {
                Some(mut h) => {
                    if name == "avg_over_time" {
                        h.div(all.len() as f64);
                    }
                    h.compact();
                    Handled::Histogram(h)
                }
                None => Handled::Nothing,
            }
        }
        "count_over_time" => Handled::Float((w.floats.len() + hw.len()) as f64),
        "present_over_time" => Handled::Float(1.0),
        "last_over_time" | "first_over_time" => {
            let all = merged(w);
            let p = if name == "last_over_time" {
                all[all.len() - 1]
            } else {
                all[0]
            };
            match p.2 {
                Some(h) => Handled::Histogram((**h).clone()),
                None => Handled::Float(p.1),
            }
        }
        "ts_of_last_over_time" | "ts_of_first_over_time" => {
            let all = merged(w);
            let p = if name == "ts_of_last_over_time" {
                all[all.len() - 1]
            } else {
                all[0]
            };
            Handled::Float(p.0 as f64 / 1000.0)
        }
        "resets" | "changes" => {
            let all = merged(w);
            let mut n = 0;
            for pair in all.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                n += match (a.2, b.2) {
                    (Some(x), Some(y)) if name == "resets" => y.detect_reset(x) as usize,
                    (Some(x), Some(y)) => !y.equals(x) as usize,
                    (None, None) if name == "resets" => (b.1 < a.1) as usize,
                    (None, None) => (b.1 != a.1 && !(b.1.is_nan() && a.1.is_nan())) as usize,
                    _ => 1,
                };
            }
            Handled::Float(n as f64)
        }
        "absent_over_time" => Handled::Nothing,
        _ => {
            if !mixed {
                return Handled::Nothing;
            }
            ev.info(format!("ignored histograms in a range containing both floats and histograms for metric name {metric:?}"));
            Handled::FloatsOnly
        }
    }
}

/// The change between the first and last histogram, counter resets corrected for a
/// counter (Prometheus's `histogramRate`); `None` with a warning when it cannot be had.
fn histogram_rate(
    ev: &mut Evaluator,
    points: &[(i64, Rc<FloatHistogram>)],
    counter: bool,
    metric: &str,
) -> Option<FloatHistogram> {
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    let not_counter = || format!("this native histogram metric is not a counter: {metric:?}");
    let first = &points[0].1;
    let last = &points[points.len() - 1].1;
    if counter && (gauge(first) || gauge(last)) {
        ev.warn(not_counter());
    }
    let mut prev: FloatHistogram = (**first).clone();
    if counter {
        let second = &points[1].1;
        if second.detect_reset(first) {
            prev = FloatHistogram {
                schema: second.schema,
                custom_values: second.custom_values.clone(),
                ..Default::default()
            };
        }
    }
    if last.uses_custom_buckets() != prev.uses_custom_buckets() {
        return mixed_schemas(ev, metric);
    }
    let mut min_schema = last.schema.min(prev.schema);
    for (_, h) in &points[1..points.len() - 1] {
        if !counter {
            continue;
        }
        if gauge(h) {
            ev.warn(not_counter());
        }
        min_schema = min_schema.min(h.schema);
        if h.uses_custom_buckets() != prev.uses_custom_buckets() {
            return mixed_schemas(ev, metric);
        }
    }
    let mut h = last.copy_to_schema(min_schema);
    match h.sub(&prev) {
        Err(_) => return mixed_schemas(ev, metric),
        Ok(c) if c.custom_buckets_reconciled => {
            ev.info("mismatched custom buckets were reconciled during subtraction".into())
        }
        Ok(_) => {}
    }
    if counter {
        let mut before: &FloatHistogram = &prev;
        for (_, cur) in &points[1..] {
            if cur.detect_reset(before) {
                match h.add(before) {
                    Err(_) => return mixed_schemas(ev, metric),
                    Ok(c) if c.custom_buckets_reconciled => {
                        ev.info("mismatched custom buckets were reconciled during addition".into())
                    }
                    Ok(_) => {}
                }
            }
            before = cur;
        }
    } else if !(gauge(first) && gauge(last)) {
        ev.warn(format!(
            "this native histogram metric is not a gauge: {metric:?}"
        ));
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact();
    Some(h)
}

/// `irate` and `idelta` over the last two points, which must both be histograms.
fn instant_value(ev: &mut Evaluator, w: &Window, rate: bool, metric: &str) -> Handled {
    let all = merged(w);
    if all.len() < 2 {
        return Handled::Nothing;
    }
    let (a, b) = (all[all.len() - 2], all[all.len() - 1]);
    let interval = b.0 - a.0;
    if interval == 0 {
        return Handled::Nothing;
    }
    let (x, y) = match (a.2, b.2) {
        (None, None) => {
            let mut v = b.1;
            if !rate || b.1 >= a.1 || b.1.is_nan() || a.1.is_nan() {
                v = b.1 - a.1;
            }
            if rate {
                v /= interval as f64 / 1000.0;
            }
            return Handled::Float(v);
        }
        (Some(x), Some(y)) => (x, y),
        _ => return mixed_warning(ev, metric),
    };
    let gauge = |h: &FloatHistogram| h.counter_reset_hint == CounterResetHint::Gauge;
    if rate && (gauge(x) || gauge(y)) {
        ev.warn(format!(
            "this native histogram metric is not a counter: {metric:?}"
        ));
    }
    if !(rate || gauge(x) && gauge(y)) {
        ev.warn(format!(
            "this native histogram metric is not a gauge: {metric:?}"
        ));
    }
    let mut h = (**y).clone();
    if !rate || !y.detect_reset(x) {
        match h.sub(x) {
            Err(_) => {
                mixed_schemas(ev, metric);
                return Handled::Nothing;
            }
            Ok(c) if c.custom_buckets_reconciled => {
                ev.info("mismatched custom buckets were reconciled during subtraction".into())
            }
            Ok(_) => {}
        }
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact();
    if rate {
        h.div(interval as f64 / 1000.0);
    }
    Handled::Histogram(h)
}
