//! The native histogram literals of test scripts:
//! `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:1
//! n_buckets:[1] n_offset:0 custom_values:[1 2] counter_reset_hint:gauge}}`, and the
//! expanding forms `{{…}}xN` and `{{…}}+{{…}}xN` (`-` for decreasing series).

use super::{parse_number, Point};
use crate::histogram::{Buckets, CounterResetHint, FloatHistogram};

/// A parsed literal and whether it named its counter reset hint.
fn parse_literal(body: &str) -> Result<(FloatHistogram, bool), String> {
    let mut h = FloatHistogram::default();
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let mut hint_set = false;
    let mut rest = body.trim();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once(':')
            .ok_or_else(|| format!("bad histogram field in {body:?}"))?;
        let after = after.trim_start();
        let (value, next) = if let Some(list) = after.strip_prefix('[') {
            let end = list.find(']').ok_or("unterminated bucket list")?;
            (&list[..end], &list[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let num = |v: &str| parse_number(v).ok_or_else(|| format!("bad number {v:?} in {body:?}"));
        let list =
            |v: &str| -> Result<Vec<f64>, String> { v.split_whitespace().map(num).collect() };
        match key.trim() {
            "schema" => h.schema = num(value)? as i32,
            "sum" => h.sum = num(value)?,
            "count" => h.count = num(value)?,
            "z_bucket" => h.zero_count = num(value)?,
            "z_bucket_w" => h.zero_threshold = num(value)?,
            "offset" => offset = num(value)? as i32,
            "n_offset" => n_offset = num(value)? as i32,
            "buckets" => pos = list(value)?,
            "n_buckets" => neg = list(value)?,
            "custom_values" => h.custom_values = list(value)?,
            "counter_reset_hint" => {
                hint_set = true;
                h.counter_reset_hint = match value {
                    "gauge" => CounterResetHint::Gauge,
                    "reset" => CounterResetHint::Reset,
                    "not_reset" => CounterResetHint::NotReset,
                    _ => CounterResetHint::Unknown,
                };
            }
            k => return Err(format!("unknown histogram field {k:?}")),
        }
        rest = next.trim_start();
    }
    let place = |counts: Vec<f64>, from: i32| -> Buckets {
        counts
            .into_iter()
            .enumerate()
            .map(|(i, c)| (from + i as i32, c))
            .collect()
    };
    h.positive = place(pos, offset);
    h.negative = place(neg, n_offset);
    Ok((h, hint_set))
}

/// Reads `{{…}}` at the start of `s`: the literal and the rest of `s`.
fn take_literal(s: &str) -> Result<((FloatHistogram, bool), &str), String> {
    let body = s.strip_prefix("{{").ok_or("expected {{")?;
    let end = body.find("}}").ok_or("unterminated histogram")?;
    Ok((parse_literal(&body[..end])?, &body[end + 2..]))
}

/// Parses one histogram item at the start of `s` (a literal, possibly expanding) and
/// returns its points and the rest of `s`.
pub(super) fn parse_histogram_item(s: &str) -> Result<(Vec<Option<Point>>, &str), String> {
    let ((first, hint_set), mut rest) = take_literal(s)?;
    let mut step: Option<(FloatHistogram, f64)> = None;
    if let Some(sign) = rest.chars().next().filter(|c| *c == '+' || *c == '-') {
        if rest[1..].starts_with("{{") {
            let ((inc, _), after) = take_literal(&rest[1..])?;
            step = Some((inc, if sign == '+' { 1.0 } else { -1.0 }));
            rest = after;
        }
    }
    let mut times = 0usize;
    if let Some(x) = rest.strip_prefix('x') {
        let digits = x.find(|c: char| !c.is_ascii_digit()).unwrap_or(x.len());
        times = x[..digits].parse().map_err(|_| "bad repetition")?;
        rest = &x[digits..];
    }
    let mut out = Vec::with_capacity(times + 1);
    let mut cur = first;
    for i in 0..=times {
        if i > 0 {
            if let Some((inc, sign)) = &step {
                let r = if *sign > 0.0 {
                    cur.add(inc)
                } else {
                    cur.sub(inc)
                };
                r.map_err(|_| "histograms of incompatible schemas in a series")?;
            }
        }
        out.push(Some(Point::Histogram(Box::new(cur.clone()), hint_set)));
    }
    Ok((out, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_fields() {
        let (h, set) = parse_literal(
            "schema:1 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] offset:1 n_buckets:[3] counter_reset_hint:gauge",
        )
        .unwrap();
        assert!(set);
        assert_eq!(h.schema, 1);
        assert_eq!(h.positive, Buckets::from([(1, 1.0), (2, 2.0)]));
        assert_eq!(h.negative, Buckets::from([(0, 3.0)]));
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    }

    #[test]
    fn expanding_series() {
        let (pts, rest) = parse_histogram_item("{{sum:1 count:1}}+{{sum:2 count:2}}x2 5").unwrap();
        assert_eq!(rest, " 5");
        assert_eq!(pts.len(), 3);
        let Some(Point::Histogram(h, _)) = &pts[2] else {
            panic!()
        };
        assert_eq!((h.sum, h.count), (5.0, 5.0));
    }
}
