//! PromQL functions: dispatch by name to the modules holding each family.
//!
//! - [`range`]: functions of a range vector (`rate`, `*_over_time`, …), with
//!   [`histogram_range`] for windows holding native histograms;
//! - [`math`]: per-sample arithmetic, clamping, rounding and calendar functions;
//! - [`labels`]: `label_replace`, `label_join`, sorting;
//! - [`histogram`]: `histogram_quantile` and `histogram_fraction` over classic buckets;
//! - [`info`]: the experimental `info()`.

mod histogram;
mod histogram_range;
mod info;
mod labels;
mod math;
mod range;

use std::rc::Rc;

use promql_parser::label::MatchOp;
use promql_parser::parser::{Call, Expr};

use crate::error::QueryError;
use crate::eval::{Ctx, Evaluator, RangeAnswer, VSample, Val};
use crate::value::{Labels, METRIC_NAME};

/// A call as the function families see it.
#[derive(Clone, Copy)]
pub(crate) struct FnCall<'a, 'e> {
    pub name: &'a str,
    pub args: &'a [&'e Expr],
    pub ctx: &'a Ctx,
}

/// A call that is the whole expression of a range query: a range function's float series
/// straight from its pass over each series ([`range::series`]), any other function's
/// per-step value.
pub(crate) fn call_series(
    ev: &mut Evaluator,
    c: &Call,
    ctx: &Ctx,
) -> Result<RangeAnswer, QueryError> {
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    let call = FnCall {
        name: c.func.name,
        args: &args,
        ctx,
    };
    match range::series(ev, &call)? {
        Some(answer) => Ok(answer),
        None => eval_call(ev, c, ctx).map(RangeAnswer::Steps),
    }
}

/// Evaluates a function call at every step.
pub(crate) fn eval_call(ev: &mut Evaluator, c: &Call, ctx: &Ctx) -> Result<Val, QueryError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    let call = FnCall {
        name,
        args: &args,
        ctx,
    };
    for family in [
        range::eval,
        math::eval,
        labels::eval,
        histogram::eval,
        info::eval,
    ] {
        if let Some(v) = family(ev, &call)? {
            return Ok(v);
        }
    }
    match name {
        "time" => Ok(Val::Scalar(
            ctx.times().map(|t| t as f64 / 1000.0).collect(),
        )),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; ctx.len()])),
        "start" => Ok(Val::Scalar(vec![
            ev.query_start() as f64 / 1000.0;
            ctx.len()
        ])),
        "end" => Ok(Val::Scalar(vec![ev.query_end() as f64 / 1000.0; ctx.len()])),
        "step" => Ok(Val::Scalar(vec![
            ev.query_step() as f64 / 1000.0;
            ctx.len()
        ])),
        "range" => Ok(Val::Scalar(vec![
            (ev.query_end() - ev.query_start()) as f64
                / 1000.0;
            ctx.len()
        ])),
        "vector" => {
            let s = ev.eval_scalar(args[0], ctx)?;
            let labels = Rc::new(Labels::empty());
            Ok(Val::Vector(
                s.into_iter()
                    .map(|v| vec![VSample::float(labels.clone(), v, false)])
                    .collect(),
            ))
        }
        "scalar" => {
            let v = ev.eval_vector(args[0], ctx)?;
            Ok(Val::Scalar(
                v.into_iter()
                    .map(|s| {
                        let floats: Vec<&VSample> = s.iter().filter(|x| x.h.is_none()).collect();
                        if floats.len() == 1 {
                            floats[0].v
                        } else {
                            f64::NAN
                        }
                    })
                    .collect(),
            ))
        }
        "absent" => {
            let v = ev.eval_vector(args[0], ctx)?;
            let labels = Rc::new(absent_labels(args[0]));
            Ok(Val::Vector(
                v.into_iter()
                    .map(|s| {
                        if s.is_empty() {
                            vec![VSample::float(labels.clone(), 1.0, false)]
                        } else {
                            Vec::new()
                        }
                    })
                    .collect(),
            ))
        }
        "min_of" | "max_of" => {
            let a = ev.eval_scalar(args[0], ctx)?;
            let b = ev.eval_scalar(args[1], ctx)?;
            let f = if name == "min_of" {
                math::go_min
            } else {
                math::go_max
            };
            Ok(Val::Scalar(
                a.into_iter().zip(b).map(|(x, y)| f(x, y)).collect(),
            ))
        }
        _ => Err(QueryError::bad_data(format!(
            "function {name:?} is not supported"
        ))),
    }
}

/// The labels `absent`/`absent_over_time` give their answer: the selector's equality
/// matchers, except names matched more than once or other than by equality.
pub(crate) fn absent_labels(arg: &Expr) -> Labels {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut out = Labels::empty();
    let mut has: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !has.contains(&m.name.as_str()) {
            out.set(&m.name, &m.value);
            has.push(&m.name);
        } else {
            out.remove(&m.name);
        }
    }
    out
}

/// Applies `f` to every float sample of a vector argument, marking `__name__` to drop;
/// histogram samples are left out, as Prometheus's float functions do.
pub(crate) fn map_samples(steps: Vec<Vec<VSample>>, mut f: impl FnMut(usize, f64) -> f64) -> Val {
    Val::Vector(
        steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                step.into_iter()
                    .filter(|s| s.h.is_none())
                    .map(|s| VSample::float(s.labels, f(i, s.v), true))
                    .collect()
            })
            .collect(),
    )
}

/// A scalar argument, or `default` when absent.
pub(crate) fn optional_scalar(
    ev: &mut Evaluator,
    arg: Option<&&Expr>,
    ctx: &Ctx,
    default: f64,
) -> Result<Vec<f64>, QueryError> {
    match arg {
        Some(e) => ev.eval_scalar(e, ctx),
        None => Ok(vec![default; ctx.len()]),
    }
}

/// A string argument.
pub(crate) fn string_arg(ev: &mut Evaluator, arg: &Expr, ctx: &Ctx) -> Result<String, QueryError> {
    match ev.eval(arg, ctx)? {
        Val::Str(s) => Ok(s),
        _ => Err(QueryError::bad_data("expected a string argument")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_labels_keep_single_equalities() {
        let e = promql_parser::parser::parse(r#"x{a="1", b=~"2", c="3", c="4"}"#).unwrap();
        assert_eq!(absent_labels(&e), Labels::new([("a", "1")]));
    }
}
