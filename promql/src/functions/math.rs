//! Per-sample functions: arithmetic and trigonometry, `round`, `clamp*`, `timestamp`, and
//! the calendar functions (`hour`, `day_of_week`, …) over Unix seconds in UTC.

use promql_parser::parser::Expr;

use crate::error::QueryError;
use crate::eval::{Evaluator, Val};

use super::FnCall;
use super::{map_samples, optional_scalar};

/// Go's `math.Max`: NaN wins, and +0 beats -0.
pub(crate) fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: NaN wins, and -0 beats +0.
pub(crate) fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

fn simple(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |v: f64| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v
            }
        },
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |v: f64| v * 180.0 / std::f64::consts::PI,
        "rad" => |v: f64| v * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

/// The civil date of a day count since 1970-01-01: (year, month 1–12, day 1–31).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar function of Unix seconds `v`, as Go's `time.Unix(int64(v), 0).UTC()`.
fn calendar(name: &str, v: f64) -> f64 {
    if v.is_nan() || v.is_infinite() {
        return f64::NAN;
    }
    let secs = v.trunc() as i64;
    let days = secs.div_euclid(86_400);
    let in_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    (match name {
        "year" => y,
        "month" => m as i64,
        "day_of_month" => d as i64,
        "day_of_week" => (days + 4).rem_euclid(7),
        "day_of_year" => (1..m).map(|mm| days_in_month(y, mm) as i64).sum::<i64>() + d as i64,
        "days_in_month" => days_in_month(y, m) as i64,
        "hour" => in_day / 3600,
        "minute" => in_day % 3600 / 60,
        _ => return f64::NAN,
    }) as f64
}

/// The functions this module evaluates; `None` for any other name.
pub(super) fn eval(ev: &mut Evaluator, call: &FnCall) -> Result<Option<Val>, QueryError> {
    let FnCall { name, args, ctx } = *call;
    if let Some(f) = simple(name) {
        let v = ev.eval_vector(args[0], ctx)?;
        return Ok(Some(map_samples(v, |_, x| f(x))));
    }
    Ok(Some(match name {
        "round" => {
            let to = optional_scalar(ev, args.get(1), ctx, 1.0)?;
            let v = ev.eval_vector(args[0], ctx)?;
            map_samples(v, |i, x| {
                let inv = 1.0 / to[i];
                (x * inv + 0.5).floor() / inv
            })
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let v = ev.eval_vector(args[0], ctx)?;
            let (lo, hi) = match name {
                "clamp" => (ev.eval_scalar(args[1], ctx)?, ev.eval_scalar(args[2], ctx)?),
                "clamp_min" => (ev.eval_scalar(args[1], ctx)?, vec![f64::NAN; ctx.len()]),
                _ => (vec![f64::NAN; ctx.len()], ev.eval_scalar(args[1], ctx)?),
            };
            let mut out = map_samples(v, |i, x| match name {
                "clamp" => go_max(lo[i], go_min(hi[i], x)),
                "clamp_min" => go_max(lo[i], x),
                _ => go_min(hi[i], x),
            });
            if name == "clamp" {
                if let Val::Vector(steps) = &mut out {
                    for (i, step) in steps.iter_mut().enumerate() {
                        if hi[i] < lo[i] {
                            step.clear();
                        }
                    }
                }
            }
            out
        }
        "timestamp" => {
            let mut arg = args[0];
            while let Expr::Paren(p) = arg {
                arg = &p.expr;
            }
            match arg {
                Expr::VectorSelector(vs) => {
                    let Val::Vector(v) = ev.eval_vector_selector(vs, ctx, true)? else {
                        unreachable!()
                    };
                    map_samples(v, |_, x| x)
                }
                _ => {
                    let mut v = ev.eval_vector(arg, ctx)?;
                    // The time of histogram samples too.
                    v.iter_mut().flatten().for_each(|s| s.h = None);
                    let times: Vec<f64> = ctx.times().map(|t| t as f64 / 1000.0).collect();
                    map_samples(v, |i, _| times[i])
                }
            }
        }
        "year" | "month" | "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month"
        | "hour" | "minute" => match args.first() {
            Some(a) => {
                let v = ev.eval_vector(a, ctx)?;
                map_samples(v, |_, x| calendar(name, x))
            }
            None => {
                let labels = std::rc::Rc::new(crate::value::Labels::empty());
                Val::Vector(
                    ctx.times()
                        .map(|t| {
                            vec![crate::eval::VSample::float(
                                labels.clone(),
                                calendar(name, t as f64 / 1000.0),
                                false,
                            )]
                        })
                        .collect(),
                )
            }
        },
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_matches_go() {
        // 2024-02-29 13:45:00 UTC, a Thursday.
        let t = 1_709_214_300.0;
        assert_eq!(calendar("year", t), 2024.0);
        assert_eq!(calendar("month", t), 2.0);
        assert_eq!(calendar("day_of_month", t), 29.0);
        assert_eq!(calendar("day_of_week", t), 4.0);
        assert_eq!(calendar("day_of_year", t), 60.0);
        assert_eq!(calendar("days_in_month", t), 29.0);
        assert_eq!(calendar("hour", t), 13.0);
        assert_eq!(calendar("minute", t), 45.0);
        assert_eq!(calendar("year", -1.0), 1969.0);
    }

    #[test]
    fn go_min_max_propagate_nan() {
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert_eq!(go_min(1.0, 2.0), 1.0);
    }
}
