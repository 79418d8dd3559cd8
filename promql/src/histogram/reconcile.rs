//! Combining two histograms: addition and subtraction (schemas lowered to the coarser one,
//! zero buckets widened to cover both, custom bounds reduced to the shared ones) and the
//! detection of a counter reset between two samples.

use super::{
    reduce_buckets, Buckets, Combined, CounterResetHint, FloatHistogram, IncompatibleSchemas,
};

/// The bounds both lists hold.
fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Custom buckets re-laid onto the coarser `target` bounds.
fn map_custom(b: &Buckets, bounds: &[f64], target: &[f64]) -> Buckets {
    let mut out = Buckets::new();
    for (&i, &c) in b {
        let idx = match bounds.get(i as usize) {
            Some(&up) => target.iter().position(|&t| t >= up).unwrap_or(target.len()),
            None => target.len(),
        };
        *out.entry(idx as i32).or_insert(0.0) += c;
    }
    out
}

fn add_buckets(into: &mut Buckets, from: &Buckets, sign: f64, skip: impl Fn(i32) -> bool) {
    for (&i, &c) in from {
        if !skip(i) {
            *into.entry(i).or_insert(0.0) += sign * c;
        }
    }
}

impl FloatHistogram {
    /// Adds `other` into `self` (Prometheus's `FloatHistogram.Add`).
    pub fn add(&mut self, other: &FloatHistogram) -> Result<Combined, IncompatibleSchemas> {
        self.combine(other, 1.0)
    }

    /// Subtracts `other` from `self` (Prometheus's `FloatHistogram.Sub`).
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<Combined, IncompatibleSchemas> {
        self.combine(other, -1.0)
    }

    fn combine(
        &mut self,
        other: &FloatHistogram,
        sign: f64,
    ) -> Result<Combined, IncompatibleSchemas> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(IncompatibleSchemas);
        }
        let mut res = Combined {
            counter_reset_collision: self.adjust_counter_reset(other),
            custom_buckets_reconciled: false,
        };
        self.count += sign * other.count;
        self.sum += sign * other.sum;
        if self.uses_custom_buckets() {
            if self.custom_values == other.custom_values {
                add_buckets(&mut self.positive, &other.positive, sign, |_| false);
            } else {
                res.custom_buckets_reconciled = true;
                let target = intersect_bounds(&self.custom_values, &other.custom_values);
                let mut mine = map_custom(&self.positive, &self.custom_values, &target);
                let theirs = map_custom(&other.positive, &other.custom_values, &target);
                add_buckets(&mut mine, &theirs, sign, |_| false);
                mine.retain(|_, c| *c != 0.0);
                self.positive = mine;
                self.custom_values = target;
            }
            return Ok(res);
        }
        let other_zero = self.reconcile_zero_buckets(other);
        self.zero_count += sign * other_zero;
        let (mut pos, mut neg) = (other.positive.clone(), other.negative.clone());
        if other.schema < self.schema {
            self.positive = reduce_buckets(&self.positive, self.schema, other.schema);
            self.negative = reduce_buckets(&self.negative, self.schema, other.schema);
            self.schema = other.schema;
        } else if other.schema > self.schema {
            pos = reduce_buckets(&pos, other.schema, self.schema);
            neg = reduce_buckets(&neg, other.schema, self.schema);
        }
        let zt = self.zero_threshold;
        let schema = self.schema;
        let inside_zero = |i: i32| super::exponential_bound(i, schema) <= zt;
        add_buckets(&mut self.positive, &pos, sign, inside_zero);
        add_buckets(&mut self.negative, &neg, sign, inside_zero);
        Ok(res)
    }

    /// Prometheus's `adjustCounterReset`: the hint of a sum; true on a collision.
    fn adjust_counter_reset(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        match (self.counter_reset_hint, other.counter_reset_hint) {
            (a, b) if a == b => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    /// The zero count this histogram would have with the zero bucket widened to `larger`,
    /// and the threshold actually reached (moved up to a bucket bound when it would cut a
    /// populated bucket).
    fn zero_count_for_larger_threshold(&self, larger: f64) -> (f64, f64) {
        let mut larger = larger;
        if larger == self.zero_threshold {
            return (self.zero_count, larger);
        }
        'outer: loop {
            let mut count = self.zero_count;
            for (&i, &c) in &self.positive {
                let (lo, up) = (self.bound(i - 1), self.bound(i));
                if lo >= larger {
                    break;
                }
                count += c;
                if up > larger {
                    if c != 0.0 {
                        larger = up;
                    }
                    break;
                }
            }
            for (&i, &c) in &self.negative {
                let (lo, up) = (-self.bound(i), -self.bound(i - 1));
                if up <= -larger {
                    break;
                }
                count += c;
                if lo < -larger {
                    if c != 0.0 {
                        larger = -lo;
                        continue 'outer;
                    }
                    break;
                }
            }
            return (count, larger);
        }
    }

    /// Widens the zero buckets of `self` (in place) and of `other` (returned as the zero
    /// count it would have) until both have the same threshold.
    fn reconcile_zero_buckets(&mut self, other: &FloatHistogram) -> f64 {
        let mut other_count = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        while other_threshold != self.zero_threshold {
            if self.zero_threshold > other_threshold {
                (other_count, other_threshold) =
                    other.zero_count_for_larger_threshold(self.zero_threshold);
            }
            if other_threshold > self.zero_threshold {
                (self.zero_count, self.zero_threshold) =
                    self.zero_count_for_larger_threshold(other_threshold);
                let zt = self.zero_threshold;
                let schema = self.schema;
                let below = |i: &i32| super::exponential_bound(*i - 1, schema) < zt;
                self.positive.retain(|i, _| !below(i));
                self.negative.retain(|i, _| !below(i));
            }
        }
        other_count
    }

    /// Whether a counter was reset between `previous` and this histogram (Prometheus's
    /// `DetectReset`).
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::Reset => return true,
            CounterResetHint::NotReset => return false,
            _ => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if self.custom_values != previous.custom_values {
                let target = intersect_bounds(&self.custom_values, &previous.custom_values);
                let cur = map_custom(&self.positive, &self.custom_values, &target);
                let prev = map_custom(&previous.positive, &previous.custom_values, &target);
                return buckets_decreased(&cur, &prev);
            }
        }
        if self.schema > previous.schema {
            return true;
        }
        if self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (prev_zero, threshold) = previous.zero_count_for_larger_threshold(self.zero_threshold);
        if threshold != self.zero_threshold || self.zero_count < prev_zero {
            return true;
        }
        let (zt, schema, custom) = (self.zero_threshold, self.schema, self.uses_custom_buckets());
        let relevant = |from: i32, b: &Buckets| -> Buckets {
            if custom {
                return b.clone();
            }
            let mut r = reduce_buckets(b, from, schema);
            r.retain(|i, _| super::exponential_bound(*i, schema) > zt);
            r
        };
        buckets_decreased(
            &relevant(schema, &self.positive),
            &relevant(previous.schema, &previous.positive),
        ) || buckets_decreased(
            &relevant(schema, &self.negative),
            &relevant(previous.schema, &previous.negative),
        )
    }
}

/// Whether some bucket of `prev` is populated and missing or smaller in `cur`.
fn buckets_decreased(cur: &Buckets, prev: &Buckets) -> bool {
    prev.iter().any(|(i, &p)| match cur.get(i) {
        Some(&c) => c < p,
        None => p != 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(schema: i32, pos: &[(i32, f64)]) -> FloatHistogram {
        let positive: Buckets = pos.iter().copied().collect();
        let count = positive.values().sum();
        FloatHistogram {
            schema,
            count,
            positive,
            ..Default::default()
        }
    }

    #[test]
    fn addition_lowers_the_schema() {
        let mut a = h(1, &[(1, 1.0), (2, 2.0)]);
        a.add(&h(0, &[(1, 4.0)])).unwrap();
        assert_eq!(a.schema, 0);
        assert_eq!(a.positive, Buckets::from([(1, 7.0)]));
    }

    #[test]
    fn resets_are_seen_in_buckets() {
        let prev = h(0, &[(0, 2.0), (1, 2.0)]);
        assert!(h(0, &[(0, 4.0)]).detect_reset(&prev));
        assert!(!h(0, &[(0, 2.0), (1, 3.0)]).detect_reset(&prev));
    }

    #[test]
    fn custom_bounds_are_intersected() {
        let mut a = FloatHistogram {
            schema: -53,
            custom_values: vec![1.0, 2.0, 3.0],
            ..h(-53, &[(0, 1.0), (1, 1.0), (2, 1.0)])
        };
        let b = FloatHistogram {
            custom_values: vec![2.0],
            ..h(-53, &[(0, 1.0)])
        };
        let r = a.add(&b).unwrap();
        assert!(r.custom_buckets_reconciled);
        assert_eq!(a.custom_values, vec![2.0]);
        assert_eq!(a.positive, Buckets::from([(0, 3.0), (1, 1.0)]));
    }
}
