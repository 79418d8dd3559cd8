//! Runs parsed test scripts against [`Engine`] over a [`MemStorage`] and judges each
//! `eval` as Prometheus's test harness does (values equal within 1e-6 relative, NaN equal
//! to NaN, annotations and errors matched by the `expect` lines).

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};

use super::{Command, EvalCase, EvalTime, MessageMatch, Point, SeriesLine};
use crate::engine::Engine;
use crate::storage::{matches_all, MemStorage};
use crate::value::{stale_nan, Labels, QueryResult, Sample, Series, Value, METRIC_NAME};

/// What became of one `eval`.
#[derive(Clone, Debug, PartialEq)]
pub enum CaseOutcome {
    Passed,
    /// Why it failed.
    Failed(String),
    /// Why it was not evaluated (native histograms, a query the parser refuses).
    Skipped(String),
}

/// The outcome of the `eval` at `line`.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub line: usize,
    pub query: String,
    pub outcome: CaseOutcome,
}

/// Evaluates every `eval` of a script in order.
pub fn run(commands: &[Command], engine: &Engine) -> Vec<CaseResult> {
    let mut store = MemStorage::new();
    let mut histogram_series: Vec<Labels> = Vec::new();
    let mut out = Vec::new();
    for c in commands {
        match c {
            Command::Clear => {
                store.clear();
                histogram_series.clear();
            }
            Command::Load {
                step_ms,
                nhcb,
                series,
            } => load(&mut store, &mut histogram_series, *step_ms, *nhcb, series),
            Command::Eval(case) => out.push(CaseResult {
                line: case.line,
                query: case.query.clone(),
                outcome: judge(engine, &store, &histogram_series, case),
            }),
        }
    }
    out
}

fn load(
    store: &mut MemStorage,
    hist: &mut Vec<Labels>,
    step: i64,
    nhcb: bool,
    series: &[SeriesLine],
) {
    for s in series {
        for (i, p) in s.values.iter().enumerate() {
            let t = i as i64 * step;
            match p {
                Some(Point::Float(v)) => store.add_sample(&s.labels, t, *v),
                Some(Point::Stale) => store.add_sample(&s.labels, t, stale_nan()),
                Some(Point::Histogram) => hist.push(s.labels.clone()),
                None => {}
            }
        }
        if nhcb {
            // The native histogram with custom buckets made of this classic histogram.
            if let Some(base) = s
                .labels
                .metric_name()
                .and_then(|n| n.strip_suffix("_bucket"))
            {
                let mut l = s.labels.clone();
                l.remove("le");
                l.set(METRIC_NAME, base);
                hist.push(l);
            }
        }
    }
}

/// Finds whether any selector of a query matches a series holding native histograms.
struct HistogramReader<'h> {
    hist: &'h [Labels],
    found: bool,
}

impl ExprVisitor for HistogramReader<'_> {
    type Error = ();

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
        let v = match e {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
            _ => return Ok(true),
        };
        let mut ms = v.matchers.matchers.clone();
        if let Some(n) = &v.name {
            ms.push(Matcher::new(MatchOp::Equal, METRIC_NAME, n));
        }
        let groups: Vec<_> = if v.matchers.or_matchers.is_empty() {
            vec![ms]
        } else {
            v.matchers.or_matchers.clone()
        };
        self.found |= self
            .hist
            .iter()
            .any(|h| groups.iter().any(|g| matches_all(h, g)));
        Ok(!self.found)
    }
}

/// Finds calls of `start()`, `end()`, `step()` or `range()`, whose value depends on the
/// query's range (such a query gives other values when re-run in range mode).
struct QueryRangeReader(bool);

impl ExprVisitor for QueryRangeReader {
    type Error = ();

    fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
        if let Expr::Call(c) = e {
            self.0 |= matches!(c.func.name, "start" | "end" | "step" | "range");
        }
        Ok(!self.0)
    }
}

fn reads_query_range(e: &Expr) -> bool {
    let mut r = QueryRangeReader(false);
    let _ = walk_expr(&mut r, e);
    r.0
}

/// Whether the query reads any series holding native histograms.
fn reads_histograms(e: &Expr, hist: &[Labels]) -> bool {
    let mut r = HistogramReader { hist, found: false };
    let _ = walk_expr(&mut r, e);
    r.found
}

fn message_matches(m: &MessageMatch, msg: &str) -> bool {
    match m {
        MessageMatch::Any => true,
        MessageMatch::Exact(x) => x == msg,
        // Unanchored, as Go's regexp.MatchString.
        MessageMatch::Regex(r) => regex::Regex::new(r)
            .map(|re| re.is_match(msg))
            .unwrap_or(false),
    }
}

fn judge(engine: &Engine, store: &MemStorage, hist: &[Labels], case: &EvalCase) -> CaseOutcome {
    if case
        .series
        .iter()
        .any(|s| s.values.contains(&Some(Point::Histogram)))
    {
        return CaseOutcome::Skipped("expects native histograms".into());
    }
    let expr = match parser::parse(&case.query) {
        Ok(e) => e,
        Err(e) => {
            return match &case.fail {
                Some(MessageMatch::Any) => CaseOutcome::Passed,
                _ => CaseOutcome::Skipped(format!("the parser refuses the query: {e}")),
            }
        }
    };
    if reads_histograms(&expr, hist) {
        return CaseOutcome::Skipped("reads native histograms".into());
    }
    let res = match case.time {
        EvalTime::Instant { at_ms } => engine.exec(store, &expr, at_ms, at_ms, 0, None),
        EvalTime::Range {
            start_ms,
            end_ms,
            step_ms,
        } => engine.exec(store, &expr, start_ms, end_ms, step_ms, None),
    };
    let res = match (res, &case.fail) {
        (Err(e), Some(m)) => {
            return if message_matches(m, &e.message) {
                CaseOutcome::Passed
            } else {
                CaseOutcome::Failed(format!("error {:?} does not match {m:?}", e.message))
            }
        }
        (Err(e), None) => return CaseOutcome::Failed(format!("unexpected error: {}", e.message)),
        (Ok(_), Some(_)) => return CaseOutcome::Failed("expected an error, got a result".into()),
        (Ok(r), None) => r,
    };
    if let Err(e) = check_annotations(case, &res) {
        return CaseOutcome::Failed(e);
    }
    if let Err(e) = compare(case, &res.value) {
        return CaseOutcome::Failed(e);
    }
    match case.time {
        EvalTime::Instant { at_ms } => {
            match range_mode_check(engine, store, &expr, case, at_ms, &res.value) {
                Ok(()) => CaseOutcome::Passed,
                Err(e) => CaseOutcome::Failed(format!("in range mode: {e}")),
            }
        }
        EvalTime::Range { .. } => CaseOutcome::Passed,
    }
}

/// As Prometheus's harness does, evaluates an instant query again as a range query from
/// one minute before to one minute after, and compares the middle step with the expectation.
fn range_mode_check(
    engine: &Engine,
    store: &MemStorage,
    expr: &Expr,
    case: &EvalCase,
    at: i64,
    instant: &Value,
) -> Result<(), String> {
    if case.ordered
        || !matches!(instant, Value::Vector(_) | Value::Scalar { .. })
        || reads_query_range(expr)
    {
        return Ok(());
    }
    let res = engine
        .exec(store, expr, at - 60_000, at + 60_000, 60_000, None)
        .map_err(|e| e.message)?;
    let Value::Matrix(series) = res.value else {
        return Err("not a matrix".into());
    };
    let vec: Vec<Sample> = series
        .iter()
        .filter_map(|s| {
            let p = s.samples.iter().find(|p| p.0 == at)?;
            Some(Sample {
                labels: s.labels.clone(),
                t: at,
                v: p.1,
            })
        })
        .collect();
    match instant {
        Value::Scalar { .. } => match vec.first() {
            Some(s) => compare(case, &Value::Scalar { t: at, v: s.v }),
            None => Err("no scalar at the middle step".into()),
        },
        _ => compare(case, &Value::Vector(vec)),
    }
}

fn check_annotations(case: &EvalCase, res: &QueryResult) -> Result<(), String> {
    for (kind, expects, none, got) in [
        ("warn", &case.warn, case.no_warn, &res.warnings),
        ("info", &case.info, case.no_info, &res.infos),
    ] {
        if none && !got.is_empty() {
            return Err(format!("expected no {kind}, got {got:?}"));
        }
        for e in expects {
            if !got.iter().any(|g| message_matches(e, g)) {
                return Err(format!("expected {kind} {e:?}, got {got:?}"));
            }
        }
        if !expects.is_empty() {
            if let Some(g) = got
                .iter()
                .find(|g| !expects.iter().any(|e| message_matches(e, g)))
            {
                return Err(format!("unexpected {kind} {g:?}"));
            }
        }
    }
    Ok(())
}

/// Prometheus's test comparison: relative difference under 1e-6; NaN equals NaN.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    const EPSILON: f64 = 1e-6;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

/// The expected points of a series line laid over timestamps `start, start + step, …`.
fn expected_points(s: &SeriesLine, start: i64, step: i64) -> Result<Vec<(i64, f64)>, String> {
    let mut out = Vec::new();
    for (i, p) in s.values.iter().enumerate() {
        match p {
            None => {}
            Some(Point::Float(v)) => out.push((start + i as i64 * step, *v)),
            Some(Point::Stale) => return Err("expected stale marker".into()),
            Some(Point::Histogram) => return Err("expected histogram".into()),
        }
    }
    Ok(out)
}

fn compare_matrix(case: &EvalCase, got: &[Series], start: i64, step: i64) -> Result<(), String> {
    if got.len() != case.series.len() {
        return Err(format!(
            "expected {} series, got {}: {:?}",
            case.series.len(),
            got.len(),
            got.iter().map(|s| s.labels.to_string()).collect::<Vec<_>>()
        ));
    }
    for exp in &case.series {
        let want = expected_points(exp, start, step)?;
        let Some(g) = got.iter().find(|g| g.labels == exp.labels) else {
            return Err(format!("missing series {}", exp.labels));
        };
        let same = want.len() == g.samples.len()
            && want
                .iter()
                .zip(&g.samples)
                .all(|(w, x)| w.0 == x.0 && almost_equal(w.1, x.1));
        if !same {
            return Err(format!(
                "series {}: expected {want:?}, got {:?}",
                exp.labels, g.samples
            ));
        }
    }
    Ok(())
}

fn compare(case: &EvalCase, value: &Value) -> Result<(), String> {
    match value {
        Value::String { s, .. } => match &case.string {
            Some(x) if x == s => Ok(()),
            x => Err(format!("expected string {x:?}, got {s:?}")),
        },
        Value::Scalar { v, .. } => match case.scalar {
            Some(x) if almost_equal(x, *v) => Ok(()),
            x => Err(format!("expected scalar {x:?}, got {v}")),
        },
        Value::Vector(samples) => {
            if case.scalar.is_some() {
                return Err("expected a scalar, got a vector".into());
            }
            if samples.len() != case.series.len() {
                return Err(format!(
                    "expected {} samples, got {}: {:?}",
                    case.series.len(),
                    samples.len(),
                    samples
                        .iter()
                        .map(|s| format!("{} {}", s.labels, s.v))
                        .collect::<Vec<_>>()
                ));
            }
            for (i, exp) in case.series.iter().enumerate() {
                let want = match exp.values.as_slice() {
                    [Some(Point::Float(v))] => *v,
                    _ => return Err(format!("expected line for {} is not one value", exp.labels)),
                };
                let got = if case.ordered {
                    Some(&samples[i]).filter(|s| s.labels == exp.labels)
                } else {
                    samples.iter().find(|s| s.labels == exp.labels)
                };
                match got {
                    Some(s) if almost_equal(s.v, want) => {}
                    Some(s) => return Err(format!("{}: expected {want}, got {}", exp.labels, s.v)),
                    None => {
                        return Err(format!(
                            "missing or misplaced {}; got {:?}",
                            exp.labels,
                            samples
                                .iter()
                                .map(|s| s.labels.to_string())
                                .collect::<Vec<_>>()
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Matrix(series) => match case.time {
            EvalTime::Range {
                start_ms, step_ms, ..
            } => compare_matrix(case, series, start_ms, step_ms),
            EvalTime::Instant { .. } => match case.range_vector {
                Some((start, _, step)) => compare_matrix(case, series, start, step),
                None if series.is_empty() && case.series.is_empty() => Ok(()),
                None => Err("a range vector result needs `expect range vector`".into()),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::parse_script;

    #[test]
    fn runs_a_small_script() {
        let script = "load 1m\n  m{a=\"1\"} 0+1x10\n  h {{schema:0 sum:1 count:1}}\n\neval instant at 5m m * 2\n  {a=\"1\"} 10\n\neval range from 0 to 2m step 1m m\n  m{a=\"1\"} 0 1 2\n\neval instant at 5m m\n  m{a=\"1\"} 6\n\neval instant at 0m h\n  h 1\n";
        let cmds = parse_script(script).unwrap();
        let r = run(&cmds, &Engine::default());
        assert_eq!(r[0].outcome, CaseOutcome::Passed);
        assert_eq!(r[1].outcome, CaseOutcome::Passed);
        assert!(matches!(r[2].outcome, CaseOutcome::Failed(_)));
        assert!(matches!(r[3].outcome, CaseOutcome::Skipped(_)));
    }

    #[test]
    fn nan_equals_nan_in_tests() {
        assert!(almost_equal(f64::NAN, f64::NAN));
        assert!(almost_equal(1.0, 1.0000000001));
        assert!(!almost_equal(1.0, 1.01));
    }
}
