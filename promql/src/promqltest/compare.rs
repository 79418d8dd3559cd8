//! How a result is compared with a case's expectation, as Prometheus's harness does:
//! floats equal within 1e-6 relative (NaN equal to NaN), native histograms compared after
//! dropping empty buckets, their counter reset hint only when the expectation names it.

use super::{EvalCase, EvalTime, Point, SeriesLine};
use crate::histogram::{Buckets, FloatHistogram};
use crate::value::{HistogramSeries, Labels, Series, Value};

/// Prometheus's test comparison: relative difference under 1e-6; NaN equals NaN.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || crate::stats::almost_equal(a, b, 1e-6)
}

/// A point of a result: a float or a histogram.
#[derive(Clone, Copy, Debug)]
enum Got<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

fn buckets_match(a: &Buckets, b: &Buckets) -> bool {
    let nonzero = |m: &Buckets| -> Vec<(i32, f64)> {
        m.iter()
            .filter(|(_, c)| **c != 0.0)
            .map(|(i, c)| (*i, *c))
            .collect()
    };
    let (a, b) = (nonzero(a), nonzero(b));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
}

/// Prometheus's `compareNativeHistogram` (after `Compact(0)` of both sides).
fn histograms_match(exp: &FloatHistogram, got: &FloatHistogram, hint_set: bool) -> bool {
    exp.schema == got.schema
        && almost_equal(exp.count, got.count)
        && almost_equal(exp.sum, got.sum)
        && (!exp.uses_custom_buckets() || exp.custom_values == got.custom_values)
        && exp.zero_threshold == got.zero_threshold
        && almost_equal(exp.zero_count, got.zero_count)
        && buckets_match(&exp.negative, &got.negative)
        && buckets_match(&exp.positive, &got.positive)
        && (!hint_set || exp.counter_reset_hint == got.counter_reset_hint)
}

fn point_matches(exp: &Point, got: Got) -> bool {
    match (exp, got) {
        (Point::Float(e), Got::F(g)) => almost_equal(*e, g),
        (Point::Histogram(e, hint_set), Got::H(g)) => histograms_match(e, g, *hint_set),
        _ => false,
    }
}

/// The expected points of a series line laid over timestamps `start, start + step, …`.
fn expected_points(s: &SeriesLine, start: i64, step: i64) -> Result<Vec<(i64, &Point)>, String> {
    let mut out = Vec::new();
    for (i, p) in s.values.iter().enumerate() {
        match p {
            None => {}
            Some(Point::Stale) => return Err("expected stale marker".into()),
            Some(p) => out.push((start + i as i64 * step, p)),
        }
    }
    Ok(out)
}

/// Series of floats and histograms merged by labels, points in time order.
fn merged<'a>(
    floats: &'a [Series],
    hists: &'a [HistogramSeries],
) -> Vec<(&'a Labels, Vec<(i64, Got<'a>)>)> {
    let mut out: Vec<(&Labels, Vec<(i64, Got)>)> = floats
        .iter()
        .map(|s| {
            (
                &s.labels,
                s.samples.iter().map(|p| (p.0, Got::F(p.1))).collect(),
            )
        })
        .collect();
    for h in hists {
        let pts = h.samples.iter().map(|p| (p.0, Got::H(&p.1)));
        match out.iter_mut().find(|(l, _)| *l == &h.labels) {
            Some((_, v)) => {
                v.extend(pts);
                v.sort_by_key(|p| p.0);
            }
            None => out.push((&h.labels, pts.collect())),
        }
    }
    out
}

fn compare_matrix(
    case: &EvalCase,
    got: &[(&Labels, Vec<(i64, Got)>)],
    start: i64,
    step: i64,
) -> Result<(), String> {
    if got.len() != case.series.len() {
        return Err(format!(
            "expected {} series, got {}: {:?}",
            case.series.len(),
            got.len(),
            got.iter().map(|s| s.0.to_string()).collect::<Vec<_>>()
        ));
    }
    for exp in &case.series {
        let want = expected_points(exp, start, step)?;
        let Some((_, g)) = got.iter().find(|g| *g.0 == exp.labels) else {
            return Err(format!("missing series {}", exp.labels));
        };
        let same = want.len() == g.len()
            && want
                .iter()
                .zip(g)
                .all(|(w, x)| w.0 == x.0 && point_matches(w.1, x.1));
        if !same {
            return Err(format!(
                "series {}: expected {want:?}, got {g:?}",
                exp.labels
            ));
        }
    }
    Ok(())
}

/// Compares a result (its floats in `value`, its histograms in `hists`) with the case.
pub(super) fn compare(
    case: &EvalCase,
    value: &Value,
    hists: &[HistogramSeries],
) -> Result<(), String> {
    match value {
        Value::String { s, .. } => match &case.string {
            Some(x) if x == s => Ok(()),
            x => Err(format!("expected string {x:?}, got {s:?}")),
        },
        Value::Scalar { v, .. } => match case.scalar {
            Some(x) if almost_equal(x, *v) => Ok(()),
            x => Err(format!("expected scalar {x:?}, got {v}")),
        },
        Value::Vector(samples) => {
            if case.scalar.is_some() {
                return Err("expected a scalar, got a vector".into());
            }
            let mut all: Vec<(&Labels, Got)> =
                samples.iter().map(|s| (&s.labels, Got::F(s.v))).collect();
            all.extend(
                hists
                    .iter()
                    .filter_map(|h| Some((&h.labels, Got::H(&h.samples.first()?.1)))),
            );
            if all.len() != case.series.len() {
                return Err(format!(
                    "expected {} samples, got {}: {:?}",
                    case.series.len(),
                    all.len(),
                    all.iter()
                        .map(|s| format!("{} {:?}", s.0, s.1))
                        .collect::<Vec<_>>()
                ));
            }
            for (i, exp) in case.series.iter().enumerate() {
                let want = match exp.values.as_slice() {
                    [Some(p)] => p,
                    _ => return Err(format!("expected line for {} is not one value", exp.labels)),
                };
                let got = if case.ordered {
                    Some(&all[i]).filter(|s| *s.0 == exp.labels)
                } else {
                    all.iter().find(|s| *s.0 == exp.labels)
                };
                match got {
                    Some(s) if point_matches(want, s.1) => {}
                    Some(s) => {
                        return Err(format!("{}: expected {want:?}, got {:?}", exp.labels, s.1))
                    }
                    None => {
                        return Err(format!(
                            "missing or misplaced {}; got {:?}",
                            exp.labels,
                            all.iter().map(|s| s.0.to_string()).collect::<Vec<_>>()
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Matrix(series) => {
            let got = merged(series, hists);
            match case.time {
                EvalTime::Range {
                    start_ms, step_ms, ..
                } => compare_matrix(case, &got, start_ms, step_ms),
                EvalTime::Instant { .. } => match case.range_vector {
                    Some((start, _, step)) => compare_matrix(case, &got, start, step),
                    None if got.is_empty() && case.series.is_empty() => Ok(()),
                    None => Err("a range vector result needs `expect range vector`".into()),
                },
            }
        }
    }
}
