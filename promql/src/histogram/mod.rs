//! Native histograms as PromQL evaluates them: float histograms with exponential buckets
//! (schemas -4 … 8) or custom bucket bounds (schema -53, "NHCB"), with Prometheus 3's
//! arithmetic (schemas and zero buckets reconciled on addition), counter reset detection
//! and the estimates functions make of them ([`estimate`]).
//!
//! Buckets are kept sparse, by index: bucket `i` of an exponential schema `s` holds the
//! observations in `(2^((i-1)/2^s), 2^(i/2^s)]` (mirrored for negative buckets); bucket `i` of a
//! custom-bucket histogram holds those in `(custom_values[i-1], custom_values[i]]`, the last
//! one up to `+Inf`.

pub mod estimate;
mod reconcile;

use std::collections::BTreeMap;

/// What a histogram says about a counter reset before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CounterResetHint {
    #[default]
    Unknown,
    Reset,
    NotReset,
    /// A gauge histogram: resets are not a thing.
    Gauge,
}

/// The schema of histograms with custom bucket bounds.
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Bucket counts by bucket index.
pub type Buckets = BTreeMap<i32, f64>;

/// A native histogram with float counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatHistogram {
    pub counter_reset_hint: CounterResetHint,
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive: Buckets,
    pub negative: Buckets,
    /// The upper bounds of the custom buckets (schema -53), `+Inf` left out.
    pub custom_values: Vec<f64>,
}

/// Two histograms cannot be combined: one has exponential, the other custom buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncompatibleSchemas;

/// What an addition or subtraction noticed besides its result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Combined {
    /// One side said "counter reset", the other "no counter reset".
    pub counter_reset_collision: bool,
    /// Custom bucket bounds differed and were reduced to the shared ones.
    pub custom_buckets_reconciled: bool,
}

/// One bucket with its bounds, as bucket iterators give it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

/// The upper bound of bucket `idx` of an exponential schema (Prometheus's `getBound`).
pub fn exponential_bound(idx: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = (idx as i64) << -schema;
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let per_octave = 1i64 << schema;
    let frac_idx = (idx as i64) & (per_octave - 1);
    let exp = ((idx as i64) >> schema) + 1;
    let frac = (frac_idx as f64 / per_octave as f64).exp2() / 2.0;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// `frac * 2^exp` without overflowing the intermediate power.
fn ldexp(frac: f64, exp: i64) -> f64 {
    let mut v = frac;
    let mut e = exp;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    v * 2f64.powi(e as i32)
}

/// The index a bucket gets when its schema is lowered from `from` to `to`.
pub fn target_index(idx: i32, from: i32, to: i32) -> i32 {
    ((idx - 1) >> (from - to)) + 1
}

/// Buckets merged into the lower schema `to`.
pub fn reduce_buckets(b: &Buckets, from: i32, to: i32) -> Buckets {
    if from == to {
        return b.clone();
    }
    let mut out = Buckets::new();
    for (&i, &c) in b {
        *out.entry(target_index(i, from, to)).or_insert(0.0) += c;
    }
    out
}

impl FloatHistogram {
    /// Whether this histogram has custom bucket bounds.
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// The upper bound of bucket `idx` (positive side).
    pub fn bound(&self, idx: i32) -> f64 {
        if self.uses_custom_buckets() {
            let len = self.custom_values.len() as i32;
            if idx >= len {
                f64::INFINITY
            } else if idx < 0 {
                f64::NEG_INFINITY
            } else {
                self.custom_values[idx as usize]
            }
        } else {
            exponential_bound(idx, self.schema)
        }
    }

    /// A copy with its buckets merged into the lower schema `to` (custom buckets unchanged).
    pub fn copy_to_schema(&self, to: i32) -> FloatHistogram {
        let mut h = self.clone();
        if !h.uses_custom_buckets() && to < h.schema {
            h.positive = reduce_buckets(&h.positive, h.schema, to);
            h.negative = reduce_buckets(&h.negative, h.schema, to);
            h.schema = to;
        }
        h
    }

    /// Scales every count and the sum by `factor`.
    pub fn mul(&mut self, factor: f64) -> &mut Self {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        self.positive.values_mut().for_each(|c| *c *= factor);
        self.negative.values_mut().for_each(|c| *c *= factor);
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }

    /// Divides every count and the sum by `d`; dividing by zero removes all buckets.
    pub fn div(&mut self, d: f64) -> &mut Self {
        self.zero_count /= d;
        self.count /= d;
        self.sum /= d;
        if d == 0.0 {
            self.positive.clear();
            self.negative.clear();
            return self;
        }
        self.positive.values_mut().for_each(|c| *c /= d);
        self.negative.values_mut().for_each(|c| *c /= d);
        if d < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
        self
    }

    /// Removes empty buckets (Prometheus's `Compact(0)`).
    pub fn compact(&mut self) -> &mut Self {
        self.positive.retain(|_, c| *c != 0.0);
        self.negative.retain(|_, c| *c != 0.0);
        self
    }

    /// Whether any count, the sum or a bound is infinite.
    pub fn has_overflow(&self) -> bool {
        [self.zero_count, self.count, self.sum]
            .iter()
            .chain(self.positive.values())
            .chain(self.negative.values())
            .chain(self.custom_values.iter())
            .any(|v| v.is_infinite())
    }

    /// Exact equality of the data (bit patterns of the numbers; the hint does not count).
    pub fn equals(&self, o: &FloatHistogram) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
        let same_buckets = |a: &Buckets, b: &Buckets| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && same(*x.1, *y.1))
        };
        self.schema == o.schema
            && same(self.count, o.count)
            && same(self.sum, o.sum)
            && (self.uses_custom_buckets()
                || (same(self.zero_threshold, o.zero_threshold)
                    && same(self.zero_count, o.zero_count)
                    && same_buckets(&self.negative, &o.negative)))
            && self.custom_values == o.custom_values
            && same_buckets(&self.positive, &o.positive)
    }

    /// The buckets of one side in ascending order of index, with their bounds.
    fn side_buckets(&self, positive: bool) -> Vec<Bucket> {
        let src = if positive {
            &self.positive
        } else {
            &self.negative
        };
        src.iter()
            .map(|(&i, &count)| {
                let (lo, up) = (self.bound(i - 1), self.bound(i));
                if positive {
                    Bucket {
                        lower: lo,
                        upper: up,
                        count,
                    }
                } else {
                    Bucket {
                        lower: -up,
                        upper: -lo,
                        count,
                    }
                }
            })
            .collect()
    }

    /// Every bucket (negative, zero if populated, positive) in ascending order of value,
    /// bounds next to the zero bucket clamped to the zero threshold.
    pub fn all_buckets(&self) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self.side_buckets(false).into_iter().rev().collect();
        if self.zero_count > 0.0 {
            out.push(Bucket {
                lower: -self.zero_threshold,
                upper: self.zero_threshold,
                count: self.zero_count,
            });
        }
        out.extend(self.side_buckets(true));
        let zt = self.zero_threshold;
        for b in &mut out {
            if b.upper < 0.0 && b.upper > -zt {
                b.upper = -zt;
            }
            if b.lower > 0.0 && b.lower < zt {
                b.lower = zt;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_of_exponential_schemas() {
        assert_eq!(exponential_bound(1, 0), 2.0);
        assert_eq!(exponential_bound(0, 0), 1.0);
        assert_eq!(exponential_bound(-1, 0), 0.5);
        assert_eq!(exponential_bound(1, -1), 4.0);
        assert!((exponential_bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(target_index(3, 1, 0), 2);
        assert_eq!(target_index(-1, 1, 0), 0);
    }

    #[test]
    fn all_buckets_run_in_order() {
        let h = FloatHistogram {
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive: Buckets::from([(0, 2.0), (1, 3.0)]),
            negative: Buckets::from([(0, 4.0), (1, 5.0)]),
            ..Default::default()
        };
        let b = h.all_buckets();
        assert_eq!(b[0].lower, -2.0);
        assert_eq!(b[2].count, 1.0);
        assert_eq!(b[4].upper, 2.0);
    }
}
