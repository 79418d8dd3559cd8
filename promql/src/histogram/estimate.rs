//! What functions estimate from a native histogram: quantiles (`histogram_quantile`), the
//! share of observations in a range (`histogram_fraction`) and the variance
//! (`histogram_stdvar`, `histogram_stddev`), interpolating within buckets as Prometheus does
//! (exponentially in exponential buckets, linearly in custom and zero buckets).

use super::{Bucket, FloatHistogram};
use crate::stats::kahan_inc;

/// What a quantile estimate noticed about NaN observations (counted in no bucket).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NanNotes {
    /// The result is NaN because of NaN observations.
    pub nan_result: bool,
    /// The result is skewed higher by NaN observations.
    pub skewed: bool,
}

/// The `q` quantile of the observations (Prometheus's `HistogramQuantile`).
pub fn quantile(q: f64, h: &FloatHistogram) -> (f64, NanNotes) {
    let mut notes = NanNotes::default();
    if q < 0.0 {
        return (f64::NEG_INFINITY, notes);
    }
    if q > 1.0 {
        return (f64::INFINITY, notes);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, notes);
    }
    let forward = h.sum.is_nan() || q < 0.5;
    let mut buckets = h.all_buckets();
    if !forward {
        buckets.reverse();
    }
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let mut count = 0.0;
    let mut pos = 0;
    let mut bucket = Bucket {
        lower: 0.0,
        upper: 0.0,
        count: 0.0,
    };
    while pos < buckets.len() {
        bucket = buckets[pos];
        pos += 1;
        if bucket.count == 0.0 {
            continue;
        }
        count += bucket.count;
        if count >= rank {
            break;
        }
    }
    if !h.uses_custom_buckets() && bucket.lower < 0.0 && bucket.upper > 0.0 {
        if h.negative.is_empty() && !h.positive.is_empty() {
            bucket.lower = 0.0;
        } else if h.positive.is_empty() && !h.negative.is_empty() {
            bucket.upper = 0.0;
        }
    } else if h.uses_custom_buckets() {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return (bucket.upper, notes);
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return (bucket.lower, notes);
        }
    }
    if count > h.count {
        count = h.count;
    }
    if count < rank {
        if h.sum.is_nan() {
            notes.nan_result = true;
            return (f64::NAN, notes);
        }
        return (bucket.upper, notes);
    }
    if forward {
        rank -= count - bucket.count;
    } else {
        rank = count - rank;
    }
    if h.sum.is_nan() {
        count += buckets[pos..].iter().map(|b| b.count).sum::<f64>();
        if count < h.count {
            notes.skewed = true;
        }
    }
    let fraction = rank / bucket.count;
    if h.uses_custom_buckets() || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        return (
            bucket.lower + (bucket.upper - bucket.lower) * fraction,
            notes,
        );
    }
    let log_lower = bucket.lower.abs().log2();
    let log_upper = bucket.upper.abs().log2();
    if bucket.lower > 0.0 {
        return (
            (log_lower + (log_upper - log_lower) * fraction).exp2(),
            notes,
        );
    }
    (
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2(),
        notes,
    )
}

/// The part of bucket `b`'s width at or below `v` (`lower < v < upper`).
fn fraction_below(b: &Bucket, v: f64, linear: bool) -> f64 {
    if linear {
        return (v - b.lower) / (b.upper - b.lower);
    }
    let (ll, lu, lv) = (b.lower.abs().log2(), b.upper.abs().log2(), v.abs().log2());
    if v > 0.0 {
        (lv - ll) / (lu - ll)
    } else {
        1.0 - (lv - lu) / (ll - lu)
    }
}

/// The share of observations between `lower` and `upper` (Prometheus's
/// `HistogramFraction`) and whether NaN observations were left out.
pub fn fraction(lower: f64, upper: f64, h: &FloatHistogram) -> (f64, bool) {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return (f64::NAN, false);
    }
    if lower >= upper {
        return (0.0, false);
    }
    let (mut count, mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let buckets = h.all_buckets();
    let mut pos = 0;
    while pos < buckets.len() {
        let mut b = buckets[pos];
        pos += 1;
        count += b.count;
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if h.negative.is_empty() && !h.positive.is_empty() {
                b.lower = 0.0;
            } else if h.positive.is_empty() && !h.negative.is_empty() {
                b.upper = 0.0;
            }
        }
        let linear = h.uses_custom_buckets() || zero_bucket;
        let interpolate = |v: f64| {
            if linear && b.lower == f64::NEG_INFINITY {
                b.count
            } else {
                rank + b.count * fraction_below(&b, v, linear)
            }
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interpolate(lower);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interpolate(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    let mut nan_excluded = false;
    if h.sum.is_nan() {
        count += buckets[pos..].iter().map(|b| b.count).sum::<f64>();
        nan_excluded = count < h.count;
    } else {
        count = h.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    ((upper_rank - lower_rank) / h.count, nan_excluded)
}

/// The variance of the observations, each bucket standing for its (geometric, for
/// exponential buckets) midpoint.
pub fn variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let (mut var, mut c) = (0.0, 0.0);
    for b in h.all_buckets() {
        if b.count == 0.0 {
            continue;
        }
        let val = if h.uses_custom_buckets() {
            (b.upper + b.lower) / 2.0
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let v = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 {
                -v
            } else {
                v
            }
        };
        let delta = val - mean;
        (var, c) = kahan_inc(b.count * delta * delta, var, c);
    }
    (var + c) / h.count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::Buckets;

    #[test]
    fn quantile_and_fraction_of_exponential_buckets() {
        // Buckets (0.5,1]:1 (1,2]:2 (2,4]:1.
        let h = FloatHistogram {
            count: 4.0,
            sum: 5.0,
            positive: Buckets::from([(0, 1.0), (1, 2.0), (2, 1.0)]),
            ..Default::default()
        };
        assert_eq!(quantile(1.0, &h).0, 4.0);
        assert!((quantile(0.5, &h).0 - std::f64::consts::SQRT_2).abs() < 1e-12);
        assert_eq!(fraction(0.0, 2.0, &h).0, 0.75);
    }
}
