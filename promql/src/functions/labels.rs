//! Functions that rewrite labels or order a vector: `label_replace`, `label_join`, `sort`,
//! `sort_desc`, `sort_by_label` and `sort_by_label_desc`.

use std::cmp::Ordering;
use std::rc::Rc;

use regex::Regex;

use crate::aggregate::valid_label_name;
use crate::error::QueryError;
use crate::eval::{Evaluator, VSample, Val};
use crate::value::{Labels, METRIC_NAME};

use super::string_arg;
use super::FnCall;

/// The functions this module evaluates; `None` for any other name.
pub(super) fn eval(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Val>, QueryError> {
    let FnCall { name, args, ctx } = *call;
    Ok(Some(match name {
        "label_replace" => {
            let dst = string_arg(ev, args[1], ctx)?;
            let repl = string_arg(ev, args[2], ctx)?;
            let src = string_arg(ev, args[3], ctx)?;
            let re_src = string_arg(ev, args[4], ctx)?;
            let re = Regex::new(&format!("^(?s:{re_src})$")).map_err(|e| {
                QueryError::execution(format!(
                    "invalid regular expression in label_replace(): {e}"
                ))
            })?;
            if !valid_label_name(&dst) {
                return Err(QueryError::execution(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            let v = ev.eval_vector(args[0], ctx)?;
            relabel(
                v,
                |l| {
                    let value = l.get(&src).unwrap_or("");
                    let caps = re.captures(value)?;
                    let mut out = String::new();
                    caps.expand(&repl, &mut out);
                    let mut l = l.clone();
                    l.set(&dst, &out);
                    Some(l)
                },
                dst == METRIC_NAME,
            )
        }
        "label_join" => {
            let dst = string_arg(ev, args[1], ctx)?;
            let sep = string_arg(ev, args[2], ctx)?;
            let mut srcs = Vec::new();
            for a in &args[3..] {
                srcs.push(string_arg(ev, a, ctx)?);
            }
            if !valid_label_name(&dst) {
                return Err(QueryError::execution(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            let v = ev.eval_vector(args[0], ctx)?;
            relabel(
                v,
                |l| {
                    let joined: Vec<&str> = srcs.iter().map(|s| l.get(s).unwrap_or("")).collect();
                    let mut l = l.clone();
                    l.set(&dst, &joined.join(&sep));
                    Some(l)
                },
                dst == METRIC_NAME,
            )
        }
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
            if ev.query_step() > 0 {
                ev.warn("sort is ineffective for range queries since results are always ordered by labels".into());
            }
            let mut by = Vec::new();
            for a in &args[1..] {
                by.push(string_arg(ev, a, ctx)?);
            }
            let mut v = ev.eval_vector(args[0], ctx)?;
            for step in &mut v {
                match name {
                    "sort" | "sort_desc" => step.retain(|s| s.h.is_none()),
                    _ => {}
                }
                match name {
                    "sort" => step.sort_by(|a, b| by_value(a.v, b.v, false)),
                    "sort_desc" => step.sort_by(|a, b| by_value(a.v, b.v, true)),
                    _ => {
                        let desc = name == "sort_by_label_desc";
                        step.sort_by(|a, b| {
                            let o = by_labels(&a.labels, &b.labels, &by);
                            if desc {
                                o.reverse()
                            } else {
                                o
                            }
                        })
                    }
                }
            }
            Val::Vector(v)
        }
        _ => return Ok(None),
    }))
}

/// Rewrites every sample's labels with `f` (unchanged where it returns `None`). Setting
/// `__name__` explicitly keeps it in the result.
fn relabel(
    steps: Vec<Vec<VSample>>,
    f: impl Fn(&Labels) -> Option<Labels>,
    sets_name: bool,
) -> Val {
    let mut cache: std::collections::HashMap<Rc<Labels>, Rc<Labels>> = Default::default();
    Val::Vector(
        steps
            .into_iter()
            .map(|step| {
                step.into_iter()
                    .map(|s| {
                        let labels = cache
                            .entry(s.labels.clone())
                            .or_insert_with(|| {
                                f(&s.labels).map(Rc::new).unwrap_or(s.labels.clone())
                            })
                            .clone();
                        let drop_name =
                            s.drop_name && !(sets_name && labels.metric_name().is_some());
                        VSample {
                            labels,
                            v: s.v,
                            h: s.h,
                            drop_name,
                        }
                    })
                    .collect()
            })
            .collect(),
    )
}

/// Value order for `sort` (ascending) and `sort_desc`; NaN always last.
fn by_value(a: f64, b: f64, desc: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.partial_cmp(&a).unwrap(),
        _ => a.partial_cmp(&b).unwrap(),
    }
}

/// `sort_by_label` order: the named labels in natural order, then the whole label set.
fn by_labels(a: &Labels, b: &Labels, names: &[String]) -> Ordering {
    for n in names {
        let (x, y) = (a.get(n).unwrap_or(""), b.get(n).unwrap_or(""));
        if x == y {
            continue;
        }
        return if natural_less(x, y) {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    a.cmp(b)
}

/// Splits a string into runs of digits and runs of other characters.
fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = s.as_bytes();
    for i in 1..=b.len() {
        if i == b.len() || b[i].is_ascii_digit() != b[start].is_ascii_digit() {
            out.push(&s[start..i]);
            start = i;
        }
    }
    out
}

/// Natural order as the `natsort` package Prometheus uses: digit runs compare as numbers.
fn natural_less(a: &str, b: &str) -> bool {
    let (ca, cb) = (chunks(a), chunks(b));
    for (i, x) in ca.iter().enumerate() {
        let Some(y) = cb.get(i) else { return false };
        let equal = match (x.parse::<i64>(), y.parse::<i64>()) {
            (Ok(p), Ok(q)) if p != q => return p < q,
            (Ok(_), Ok(_)) => true,
            _ if x == y => true,
            _ => return x < y,
        };
        if equal {
            if i == ca.len() - 1 {
                return true;
            } else if i == cb.len() - 1 {
                return false;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers() {
        assert!(natural_less("a2", "a10"));
        assert!(!natural_less("a10", "a2"));
        assert!(natural_less("abc", "abd"));
    }

    #[test]
    fn sort_puts_nan_last_both_ways() {
        let mut v = [f64::NAN, 1.0, 3.0];
        v.sort_by(|a, b| by_value(*a, *b, true));
        assert_eq!(v[..2], [3.0, 1.0]);
        assert!(v[2].is_nan());
    }
}
