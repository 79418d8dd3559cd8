//! Aggregation operators: `sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`,
//! `quantile`, `count_values`, `topk`, `bottomk`, `limitk` and `limit_ratio`, with `by` and
//! `without` grouping.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use promql_parser::parser::{AggregateExpr, LabelModifier};

use crate::error::QueryError;
use crate::eval::{Ctx, Evaluator, VSample, Val};
use crate::histogram::{CounterResetHint, FloatHistogram};
use crate::stats::{format_go_float, format_go_g, quantile, KahanSum, Mean, Variance};
use crate::value::{is_metadata_label, Labels};

/// The labels of the group a sample falls in.
fn group_labels(l: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    let mut out = l.clone();
    match modifier {
        None => return Labels::empty(),
        Some(LabelModifier::Include(by)) => out.retain(|n| by.labels.iter().any(|b| b == n)),
        Some(LabelModifier::Exclude(without)) => {
            out.retain(|n| !is_metadata_label(n) && !without.labels.iter().any(|b| b == n))
        }
    }
    out
}

/// Groups a step's samples, keeping groups in order of first appearance. A group's labels
/// are one shared `Rc` for every series and step (see [`GroupKeys`]), so grouping compares
/// addresses, and the results of the steps share their labels.
fn group(
    step: &[VSample],
    modifier: &Option<LabelModifier>,
    keys: &mut GroupKeys,
) -> Vec<(Rc<Labels>, Vec<usize>)> {
    let mut index: HashMap<*const Labels, usize> = HashMap::new();
    let mut groups: Vec<(Rc<Labels>, Vec<usize>)> = Vec::new();
    for (i, s) in step.iter().enumerate() {
        let key = keys.group_of(&s.labels, modifier);
        match index.get(&Rc::as_ptr(&key)) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(Rc::as_ptr(&key), groups.len());
                groups.push((key, vec![i]));
            }
        }
    }
    groups
}

/// The group labels of the series an aggregation has seen: keyed by the address of the
/// series' labels (whose `Rc` is held so the address stays taken), each group's labels
/// made once and shared.
#[derive(Default)]
struct GroupKeys {
    by_series: HashMap<*const Labels, (Rc<Labels>, Rc<Labels>)>,
    groups: HashMap<Labels, Rc<Labels>>,
}

impl GroupKeys {
    /// The shared group labels of a series.
    fn group_of(&mut self, series: &Rc<Labels>, modifier: &Option<LabelModifier>) -> Rc<Labels> {
        if let Some((_, g)) = self.by_series.get(&Rc::as_ptr(series)) {
            return g.clone();
        }
        let g = self
            .groups
            .entry(group_labels(series, modifier))
            .or_insert_with_key(|l| Rc::new(l.clone()))
            .clone();
        self.by_series
            .insert(Rc::as_ptr(series), (series.clone(), g.clone()));
        g
    }
}

/// Whether `label` may be used as a label name.
pub(crate) fn valid_label_name(label: &str) -> bool {
    !label.is_empty() && std::str::from_utf8(label.as_bytes()).is_ok()
}

/// Evaluates an aggregation at every step.
pub(crate) fn eval_aggregate(
    ev: &mut Evaluator,
    a: &AggregateExpr,
    ctx: &Ctx,
) -> Result<Val, QueryError> {
    let op = a.op.to_string();
    let mut params: Vec<f64> = Vec::new();
    let mut label_param = String::new();
    if let Some(p) = &a.param {
        if op == "count_values" {
            match ev.eval(p, ctx)? {
                Val::Str(s) => label_param = s,
                _ => {
                    return Err(QueryError::bad_data(
                        "count_values needs a string parameter",
                    ))
                }
            }
            if !valid_label_name(&label_param) {
                return Err(QueryError::execution(format!(
                    "invalid label name {label_param:?}"
                )));
            }
        } else {
            params = ev.eval_scalar(p, ctx)?;
        }
    }
    let input = ev.eval_vector(&a.expr, ctx)?;
    let mut out = Vec::with_capacity(input.len());
    let mut keys = GroupKeys::default();
    for (i, step) in input.into_iter().enumerate() {
        ev.check()?;
        let param = params.get(i).copied().unwrap_or(f64::NAN);
        let groups = group(&step, &a.modifier, &mut keys);
        let mut res: Vec<VSample> = Vec::new();
        match op.as_str() {
            "topk" | "bottomk" | "limitk" => {
                if param.is_nan() {
                    return Err(QueryError::execution("Parameter value is NaN"));
                }
                let k = if param >= i64::MAX as f64 {
                    i64::MAX
                } else {
                    param as i64
                };
                if k < 1 {
                    out.push(res);
                    continue;
                }
                if op != "limitk" && step.iter().any(|s| s.h.is_some()) {
                    ev.info(format!("ignored histogram in {op} aggregation"));
                }
                for (_, members) in &groups {
                    let mut chosen: Vec<&VSample> = members
                        .iter()
                        .map(|&m| &step[m])
                        .filter(|s| op == "limitk" || s.h.is_none())
                        .collect();
                    if op != "limitk" {
                        let top = op == "topk";
                        chosen.sort_by(|x, y| better(x.v, y.v, top));
                    }
                    chosen.truncate(k.min(chosen.len() as i64) as usize);
                    res.extend(chosen.into_iter().cloned());
                }
            }
            "limit_ratio" => {
                if param.is_nan() {
                    return Err(QueryError::execution("Ratio value is NaN"));
                }
                let mut ratio = param;
                if !(-1.0..=1.0).contains(&ratio) {
                    let capped = ratio.clamp(-1.0, 1.0);
                    ev.warn(format!(
                        "ratio value should be between -1 and 1, got {}, capping to {}",
                        format_go_g(ratio),
                        format_go_g(capped)
                    ));
                    ratio = capped;
                }
                for s in &step {
                    let offset = crate::hash::labels_hash(&s.labels) as f64 / u64::MAX as f64;
                    if (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio) {
                        res.push(s.clone());
                    }
                }
            }
            "count_values" => {
                let mut counts: Vec<(Labels, f64)> = Vec::new();
                let mut index: HashMap<Labels, usize> = HashMap::new();
                for (key, members) in &groups {
                    for &m in members.iter().filter(|&&m| step[m].h.is_none()) {
                        let mut l = (**key).clone();
                        l.set(&label_param, &format_go_float(step[m].v));
                        match index.get(&l) {
                            Some(&c) => counts[c].1 += 1.0,
                            None => {
                                index.insert(l.clone(), counts.len());
                                counts.push((l, 1.0));
                            }
                        }
                    }
                }
                res.extend(
                    counts
                        .into_iter()
                        .map(|(l, c)| VSample::float(Rc::new(l), c, false)),
                );
            }
            _ => {
                if op == "quantile" && !(0.0..=1.0).contains(&param) {
                    ev.warn(format!(
                        "quantile value should be between 0 and 1, got {}",
                        format_go_g(param)
                    ));
                }
                for (labels, members) in groups {
                    // Grouping by a to-be-dropped `__name__` keeps it only until the end.
                    let drop_name = members.iter().any(|&m| step[m].drop_name);
                    let hists: Vec<&Rc<FloatHistogram>> =
                        members.iter().filter_map(|&m| step[m].h.as_ref()).collect();
                    let values: Vec<f64> = members
                        .iter()
                        .filter(|&&m| op == "count" || op == "group" || step[m].h.is_none())
                        .map(|&m| step[m].v)
                        .collect();
                    if !hists.is_empty() && matches!(op.as_str(), "sum" | "avg") {
                        if hists.len() < members.len() {
                            ev.warn(
                                "encountered a mix of histograms and floats for aggregation".into(),
                            );
                            continue;
                        }
                        let first = &step[members[0]];
                        let name = first.labels.metric_name().unwrap_or("").to_string();
                        if let Some(mut h) = sum_histograms(ev, &hists, &name) {
                            if op == "avg" {
                                h.div(hists.len() as f64);
                            }
                            h.compact();
                            res.push(VSample::histogram(labels, h, drop_name));
                        }
                        continue;
                    }
                    if !hists.is_empty() && !matches!(op.as_str(), "count" | "group") {
                        ev.info(format!("ignored histogram in {op} aggregation"));
                    }
                    if values.is_empty() {
                        continue;
                    }
                    let v = simple(&op, param, values)?;
                    res.push(VSample::float(labels, v, drop_name));
                }
            }
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

/// The sum of a group's histograms, with Prometheus's annotations; `None` when exponential
/// and custom buckets are mixed.
pub(crate) fn sum_histograms(
    ev: &mut Evaluator,
    hists: &[&Rc<FloatHistogram>],
    metric: &str,
) -> Option<FloatHistogram> {
    let mut sum = (*hists[0]).as_ref().clone();
    let (mut reset, mut not_reset, mut reconciled) = (false, false, false);
    for (i, h) in hists.iter().enumerate() {
        match h.counter_reset_hint {
            CounterResetHint::Reset => reset = true,
            CounterResetHint::NotReset => not_reset = true,
            _ => {}
        }
        if i == 0 {
            continue;
        }
        match sum.add(h) {
            Ok(c) => reconciled |= c.custom_buckets_reconciled,
            Err(_) => {
                ev.warn(format!("vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"));
                return None;
            }
        }
    }
    if reset && not_reset {
        ev.warn("conflicting counter resets during histogram aggregation".into());
    }
    if reconciled {
        ev.info("mismatched custom buckets were reconciled during aggregation".into());
    }
    Some(sum)
}

/// Orders samples best first for `topk` (`top`) or `bottomk`; NaN is always last.
fn better(x: f64, y: f64, top: bool) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if top => y.partial_cmp(&x).unwrap(),
        _ => x.partial_cmp(&y).unwrap(),
    }
}

/// The aggregations that reduce a group to one number.
fn simple(op: &str, param: f64, mut values: Vec<f64>) -> Result<f64, QueryError> {
    Ok(match op {
        "sum" => {
            let mut s = KahanSum::default();
            values.iter().for_each(|&v| s.add(v));
            s.value()
        }
        "avg" => {
            let mut m = Mean::default();
            values.iter().for_each(|&v| m.add(v));
            m.value()
        }
        "count" => values.len() as f64,
        "group" => 1.0,
        "min" => {
            values.iter().copied().fold(
                f64::NAN,
                |acc, v| if acc > v || acc.is_nan() { v } else { acc },
            )
        }
        "max" => {
            values.iter().copied().fold(
                f64::NAN,
                |acc, v| if acc < v || acc.is_nan() { v } else { acc },
            )
        }
        "stddev" | "stdvar" => {
            let mut var = Variance::default();
            values.iter().for_each(|&v| var.add(v));
            if op == "stddev" {
                var.variance().sqrt()
            } else {
                var.variance()
            }
        }
        "quantile" => quantile(param, &mut values),
        _ => return Err(QueryError::bad_data(format!("unknown aggregation {op}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_max_skip_nan() {
        assert_eq!(simple("min", 0.0, vec![f64::NAN, 2.0, 1.0]).unwrap(), 1.0);
        assert_eq!(simple("max", 0.0, vec![3.0, f64::NAN]).unwrap(), 3.0);
        assert!(simple("max", 0.0, vec![f64::NAN]).unwrap().is_nan());
    }

    #[test]
    fn grouping_by_and_without() {
        let l = Labels::new([("__name__", "m"), ("a", "1"), ("b", "2")]);
        let by = Some(LabelModifier::include(vec!["a"]));
        assert_eq!(group_labels(&l, &by), Labels::new([("a", "1")]));
        let without = Some(LabelModifier::exclude(vec!["a"]));
        assert_eq!(group_labels(&l, &without), Labels::new([("b", "2")]));
    }

    #[test]
    fn topk_order_puts_nan_last() {
        let mut v = [1.0, f64::NAN, 3.0];
        v.sort_by(|a, b| better(*a, *b, true));
        assert_eq!(v[..2], [3.0, 1.0]);
    }
}
