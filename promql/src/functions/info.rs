//! The experimental `info(v, {selector})`: adds to each series the data labels of the info
//! series (default `target_info`) that share its identifying labels (`instance`, `job`).

use std::collections::HashMap;
use std::rc::Rc;

use promql_parser::label::{MatchOp, Matcher, Matchers};
use promql_parser::parser::{Expr, VectorSelector};

use super::FnCall;
use crate::error::QueryError;
use crate::eval::{Evaluator, VSample, Val};
use crate::storage::matches_all;
use crate::value::{Labels, METRIC_NAME};

/// The labels that tie a series to its info series.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The functions this module evaluates; `None` for any other name.
pub(super) fn eval(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Val>, QueryError> {
    let FnCall { name, args, ctx } = *call;
    if name != "info" {
        return Ok(None);
    }
    let (mut name_ms, data_ms): (Vec<Matcher>, Vec<Matcher>) = match args.get(1) {
        Some(Expr::VectorSelector(vs)) => {
            let mut ms = vs.matchers.matchers.clone();
            if let Some(n) = &vs.name {
                ms.push(Matcher::new(MatchOp::Equal, METRIC_NAME, n));
            }
            ms.into_iter().partition(|m| m.name == METRIC_NAME)
        }
        Some(_) => return Err(QueryError::bad_data("info() expects a label selector")),
        None => (Vec::new(), Vec::new()),
    };
    let positive = |m: &Matcher| matches!(m.op, MatchOp::Equal | MatchOp::Re(_));
    if name_ms.is_empty() {
        name_ms.push(Matcher::new(MatchOp::Equal, METRIC_NAME, "target_info"));
    } else if !name_ms.iter().any(positive) {
        let re = regex::Regex::new("^(?:.+_info)$").expect("a valid regex");
        name_ms.push(Matcher {
            op: MatchOp::Re(re),
            name: METRIC_NAME.into(),
            value: ".+_info".into(),
        });
    }
    let base = ev.eval_vector(args[0], ctx)?;
    let mut all = name_ms.clone();
    all.extend(data_ms.iter().cloned());
    let selector = VectorSelector::new(None, Matchers::new(all));
    // The info series at each step, valued with their sample's timestamp.
    let Val::Vector(infos) = ev.eval_vector_selector(&selector, ctx, true)? else {
        unreachable!("a selector gives a vector")
    };
    let mut out = Vec::with_capacity(base.len());
    for (step, infos) in base.into_iter().zip(infos) {
        let mut res = Vec::with_capacity(step.len());
        for b in step {
            if matches_all(&b.labels, &name_ms) {
                res.push(b);
                continue;
            }
            if let Some(labels) = enrich(&b.labels, &infos, &data_ms)? {
                res.push(VSample {
                    labels: Rc::new(labels),
                    v: b.v,
                    h: b.h.clone(),
                    drop_name: b.drop_name,
                });
            }
        }
        out.push(res);
    }
    Ok(Some(Val::Vector(out)))
}

/// The labels of `base` with its info series' data labels, or `None` if it must go.
fn enrich(
    base: &Labels,
    infos: &[VSample],
    data_ms: &[Matcher],
) -> Result<Option<Labels>, QueryError> {
    // Per info metric name, the matching series with the latest sample.
    let mut chosen: HashMap<&str, &VSample> = HashMap::new();
    for i in infos {
        if IDENTIFYING.iter().any(|l| i.labels.get(l) != base.get(l)) {
            continue;
        }
        let name = i.labels.metric_name().unwrap_or("");
        if chosen.get(name).is_none_or(|c| c.v < i.v) {
            chosen.insert(name, i);
        }
    }
    if chosen.is_empty() {
        return Ok(if data_ms.iter().all(|m| m.is_match("")) {
            Some(base.clone())
        } else {
            None
        });
    }
    let mut out = base.clone();
    let mut added: HashMap<&str, &str> = HashMap::new();
    let mut names: Vec<&&str> = chosen.keys().collect();
    names.sort();
    for n in names {
        for (l, v) in chosen[*n].labels.iter() {
            let wanted = if data_ms.is_empty() {
                l != METRIC_NAME && !IDENTIFYING.contains(&l)
            } else {
                data_ms.iter().any(|m| m.name == l)
            };
            if !wanted || base.get(l).is_some() {
                continue;
            }
            match added.get(l) {
                Some(prev) if *prev != v => {
                    return Err(QueryError::execution(format!(
                    "conflicting label: {l} has values {prev:?} and {v:?} in different info series"
                )))
                }
                _ => {
                    added.insert(l, v);
                    out.set(l, v);
                }
            }
        }
    }
    Ok(Some(out))
}
