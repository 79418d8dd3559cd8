//! Histogram functions: `histogram_quantile`, `histogram_quantiles` and
//! `histogram_fraction` over native histograms and classic ones (series of cumulative `le`
//! buckets), and `histogram_count`, `histogram_sum`, `histogram_avg`, `histogram_stddev`
//! and `histogram_stdvar`, which read native histograms only (float samples give nothing).

use std::collections::HashMap;
use std::rc::Rc;

use crate::error::QueryError;
use crate::eval::{Evaluator, VSample, Val};
use crate::histogram::{estimate, FloatHistogram};
use crate::stats::{almost_equal, format_go_float, format_go_g};
use crate::value::Labels;

use super::string_arg;
use super::FnCall;

/// One bucket: its upper bound and cumulative count.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    upper: f64,
    count: f64,
}

/// Tolerance below which differences between cumulative counts are float noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Sorts by bound, merges equal bounds; `None` unless the last bucket is `+Inf`.
fn prepare(mut b: Vec<Bucket>) -> Option<Vec<Bucket>> {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if b.last().is_none_or(|l| l.upper != f64::INFINITY) {
        return None;
    }
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b {
        match out.last_mut() {
            Some(l) if l.upper == x.upper => l.count += x.count,
            _ => out.push(x),
        }
    }
    Some(out)
}

/// Removes decreases between buckets; returns whether a real (not float noise) one was fixed.
fn ensure_monotonic(b: &mut [Bucket]) -> bool {
    let mut forced = false;
    let mut prev = b[0].count;
    for x in b.iter_mut().skip(1) {
        let curr = x.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            x.count = prev;
            continue;
        }
        if curr < prev {
            x.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Prometheus's `BucketQuantile`: the quantile and whether monotonicity had to be forced.
fn bucket_quantile(q: f64, buckets: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    let Some(mut b) = prepare(buckets) else {
        return (f64::NAN, false);
    };
    let forced = ensure_monotonic(&mut b);
    if b.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = b[b.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let i = b[..b.len() - 1].partition_point(|x| x.count < rank);
    if i == b.len() - 1 {
        return (b[b.len() - 2].upper, forced);
    }
    if i == 0 && b[0].upper <= 0.0 {
        return (b[0].upper, forced);
    }
    let (mut start, end, mut count) = (0.0, b[i].upper, b[i].count);
    if i > 0 {
        start = b[i - 1].upper;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The estimated number of observations at or below `v`.
fn rank_at(v: f64, b: &[Bucket]) -> f64 {
    let mut rank = 0.0;
    for (i, x) in b.iter().enumerate() {
        let lower = if i > 0 {
            b[i - 1].upper
        } else if x.upper > 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        if v <= lower {
            return rank;
        }
        if v < x.upper {
            if lower == f64::NEG_INFINITY {
                return x.count;
            }
            if x.upper == f64::INFINITY {
                return rank;
            }
            return rank + (x.count - rank) * (v - lower) / (x.upper - lower);
        }
        if v == x.upper {
            return x.count;
        }
        rank = x.count;
    }
    rank
}

/// Prometheus's `BucketFraction`: the share of observations between `lower` and `upper`.
fn bucket_fraction(lower: f64, upper: f64, buckets: Vec<Bucket>) -> f64 {
    let Some(mut b) = prepare(buckets) else {
        return f64::NAN;
    };
    ensure_monotonic(&mut b);
    let count = b[b.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    (rank_at(upper, &b) - rank_at(lower, &b)) / count
}

/// Go's `strconv.ParseFloat` for `le` values.
fn parse_le(s: &str) -> Option<f64> {
    match s.trim_start_matches('+').to_ascii_lowercase().as_str() {
        "inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok().filter(|_| !s.contains(['_', ' '])),
    }
}

/// The label value `histogram_quantiles` gives a quantile: Go's shortest form, with `.0`
/// added to whole numbers (`0.0`, `0.25`, `1.0`).
fn quantile_label(q: f64) -> String {
    let s = format_go_float(q);
    if s.contains(['.', 'N', 'I', 'e']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Groups a step's bucket samples into histograms keyed by their labels without `le`.
fn histograms(ev: &mut Evaluator, step: &[VSample]) -> Vec<(Rc<Labels>, Vec<Bucket>)> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Rc<Labels>, Vec<Bucket>)> = Vec::new();
    for s in step.iter().filter(|s| s.h.is_none()) {
        let le = s.labels.get("le").unwrap_or("");
        let Some(upper) = parse_le(le) else {
            let name = s.labels.metric_name().unwrap_or("").to_string();
            ev.warn(format!(
                "bucket label \"le\" is missing or has a malformed value of \"{le}\" for metric name \"{name}\""
            ));
            continue;
        };
        let mut key = (*s.labels).clone();
        key.remove("le");
        let i = *index.entry(key.clone()).or_insert_with(|| {
            out.push((Rc::new(key), Vec::new()));
            out.len() - 1
        });
        out[i].1.push(Bucket { upper, count: s.v });
    }
    out
}

/// The functions this module evaluates; `None` for any other name.
pub(super) fn eval(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Val>, QueryError> {
    let FnCall { name, args, ctx } = *call;
    Ok(Some(match name {
        "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => {
            // Parameters (one value per step) and the label histogram_quantiles adds.
            let (vec_arg, label, params) = match name {
                "histogram_quantile" => (args[1], None, vec![ev.eval_scalar(args[0], ctx)?]),
                "histogram_fraction" => (
                    args[2],
                    None,
                    vec![ev.eval_scalar(args[0], ctx)?, ev.eval_scalar(args[1], ctx)?],
                ),
                _ => {
                    let label = string_arg(ev, args[1], ctx)?;
                    let mut ps = Vec::new();
                    for a in &args[2..] {
                        ps.push(ev.eval_scalar(a, ctx)?);
                    }
                    (args[0], Some(label), ps)
                }
            };
            if name != "histogram_fraction" {
                for q in params.iter().flatten() {
                    if !(0.0..=1.0).contains(q) {
                        ev.warn(format!(
                            "quantile value should be between 0 and 1, got {}",
                            format_go_g(*q)
                        ));
                    }
                }
            }
            let input = ev.eval_vector(vec_arg, ctx)?;
            let mut out = Vec::with_capacity(input.len());
            for (i, step) in input.into_iter().enumerate() {
                let mut res = Vec::new();
                let mut classic = histograms(ev, &step);
                // A native and a classic histogram of the same series: neither is used.
                let conflicts: Vec<Labels> = step
                    .iter()
                    .filter(|s| s.h.is_some() && classic.iter().any(|c| c.0 == s.labels))
                    .map(|s| (*s.labels).clone())
                    .collect();
                for c in &conflicts {
                    let metric = c.metric_name().unwrap_or("");
                    ev.warn(format!("vector contains a mix of classic and native histograms for metric name {metric:?}"));
                }
                classic.retain(|c| !conflicts.contains(&c.0));
                for p in &params {
                    for s in &step {
                        let Some(h) = &s.h else { continue };
                        if conflicts.contains(&s.labels) {
                            continue;
                        }
                        let metric = s.labels.metric_name().unwrap_or("");
                        let v = if name == "histogram_fraction" {
                            let (v, nan) = estimate::fraction(params[0][i], params[1][i], h);
                            if nan {
                                ev.info(format!("input to histogram_fraction has NaN observations, which are excluded from all fractions for metric name {metric:?}"));
                            }
                            v
                        } else {
                            let (v, notes) = estimate::quantile(p[i], h);
                            if notes.nan_result {
                                ev.info(format!("input to histogram_quantile has NaN observations, result is NaN for metric name {metric:?}"));
                            }
                            if notes.skewed {
                                ev.info(format!("input to histogram_quantile has NaN observations, result is skewed higher for metric name {metric:?}"));
                            }
                            v
                        };
                        let labels = match &label {
                            None => s.labels.clone(),
                            Some(l) => {
                                let mut x = (*s.labels).clone();
                                x.set(l, &quantile_label(p[i]));
                                Rc::new(x)
                            }
                        };
                        res.push(VSample::float(labels, v, true));
                    }
                    if name == "histogram_fraction" {
                        break;
                    }
                }
                for (labels, buckets) in classic {
                    let metric = labels.metric_name().unwrap_or("").to_string();
                    match name {
                        "histogram_fraction" => res.push(VSample::float(
                            labels,
                            bucket_fraction(params[0][i], params[1][i], buckets),
                            true,
                        )),
                        _ => {
                            for p in &params {
                                let (v, forced) = bucket_quantile(p[i], buckets.clone());
                                if forced {
                                    ev.info(format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"{metric}\""));
                                }
                                let labels = match &label {
                                    None => labels.clone(),
                                    Some(l) => {
                                        let mut x = (*labels).clone();
                                        x.set(l, &quantile_label(p[i]));
                                        Rc::new(x)
                                    }
                                };
                                res.push(VSample::float(labels, v, true));
                            }
                        }
                    }
                }
                out.push(res);
            }
            Val::Vector(out)
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            let v = ev.eval_vector(args[0], ctx)?;
            let of = |h: &FloatHistogram| match name {
                "histogram_count" => h.count,
                "histogram_sum" => h.sum,
                "histogram_avg" => h.sum / h.count,
                "histogram_stddev" => estimate::variance(h).sqrt(),
                _ => estimate::variance(h),
            };
            Val::Vector(
                v.into_iter()
                    .map(|step| {
                        step.into_iter()
                            .filter_map(|s| {
                                let h = s.h.as_ref()?;
                                Some(VSample::float(s.labels.clone(), of(h), true))
                            })
                            .collect()
                    })
                    .collect(),
            )
        }
        "start_timestamp" => {
            return Err(QueryError::bad_data(format!(
                "function {name:?} is not supported (this engine keeps no start timestamps)"
            )))
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates_within_a_bucket() {
        let h = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        assert_eq!(bucket_quantile(0.5, h.clone()).0, 1.0);
        assert_eq!(bucket_quantile(0.75, h).0, 1.5);
    }

    #[test]
    fn quantile_fixes_monotonicity() {
        let h = b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 10.0)]);
        assert!(bucket_quantile(0.5, h).1);
    }

    #[test]
    fn fraction_of_classic_buckets() {
        let h = b(&[(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (f64::INFINITY, 100.0)]);
        assert!((bucket_fraction(0.0, 1.5, h) - 0.02).abs() < 1e-12);
        let n = b(&[
            (-3.0, 10.0),
            (-2.0, 12.0),
            (-1.0, 15.0),
            (f64::INFINITY, 100.0),
        ]);
        assert!((bucket_fraction(-4.0, -2.0, n.clone()) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(f64::NEG_INFINITY, -1.5, n) - 0.135).abs() < 1e-12);
    }
}
