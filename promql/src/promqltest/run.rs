//! Runs parsed test scripts against [`Engine`] over a [`MemStorage`] and judges each
//! `eval` as Prometheus's test harness does (values equal within 1e-6 relative, NaN equal
//! to NaN, annotations and errors matched by the `expect` lines).

use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};

use super::compare::compare;
use super::{Command, EvalCase, EvalTime, MessageMatch, Point, SeriesLine};
use crate::engine::Engine;
use crate::histogram::{CounterResetHint, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};
use crate::storage::MemStorage;
use crate::value::{stale_nan, HistogramSeries, Labels, QueryResult, Sample, Value, METRIC_NAME};
use std::collections::BTreeMap;

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
    let mut out = Vec::new();
    for c in commands {
        match c {
            Command::Clear => store.clear(),
            Command::Load {
                step_ms,
                nhcb,
                series,
            } => load(&mut store, *step_ms, *nhcb, series),
            Command::Eval(case) => out.push(CaseResult {
                line: case.line,
                query: case.query.clone(),
                outcome: judge(engine, &store, case),
            }),
        }
    }
    out
}

fn load(store: &mut MemStorage, step: i64, nhcb: bool, series: &[SeriesLine]) {
    for s in series {
        // The previous histogram of the series, for the counter reset hints a TSDB gives
        // samples read back (unknown after a float, reset or not-reset otherwise).
        let mut prev: Option<FloatHistogram> = None;
        for (i, p) in s.values.iter().enumerate() {
            let t = i as i64 * step;
            match p {
                Some(Point::Float(v)) => {
                    store.add_sample(&s.labels, t, *v);
                    prev = None;
                }
                Some(Point::Stale) => {
                    store.add_sample(&s.labels, t, stale_nan());
                    prev = None;
                }
                Some(Point::Histogram(h, _)) => {
                    let mut h = (**h).clone();
                    h.counter_reset_hint = stored_hint(&h, prev.as_ref());
                    store.add_histogram(&s.labels, t, h.clone());
                    prev = Some(h);
                }
                None => {}
            }
        }
    }
    if nhcb {
        for (labels, points) in custom_bucket_histograms(series, step) {
            for (t, h) in points {
                store.add_histogram(&labels, t, h);
            }
        }
    }
}

/// The counter reset hint a histogram has when read back from Prometheus's TSDB.
fn stored_hint(h: &FloatHistogram, prev: Option<&FloatHistogram>) -> CounterResetHint {
    match (h.counter_reset_hint, prev) {
        (CounterResetHint::Gauge, _) => CounterResetHint::Gauge,
        (CounterResetHint::Reset, _) => CounterResetHint::Reset,
        (_, None) => CounterResetHint::Unknown,
        (_, Some(p)) => {
            let mut probe = h.clone();
            probe.counter_reset_hint = CounterResetHint::Unknown;
            if probe.detect_reset(p) {
                CounterResetHint::Reset
            } else {
                CounterResetHint::NotReset
            }
        }
    }
}

/// Per base labels and time: buckets `(le, cumulative count)`, count and sum.
type ClassicParts = (Vec<(f64, f64)>, Option<f64>, Option<f64>);

/// `load_with_nhcb`: the native histograms with custom buckets made of each classic
/// histogram (`…_bucket` series with `le`, `…_count`, `…_sum`), by labels and time.
fn custom_bucket_histograms(
    series: &[SeriesLine],
    step: i64,
) -> Vec<(Labels, Vec<(i64, FloatHistogram)>)> {
    let mut by: BTreeMap<Labels, BTreeMap<i64, ClassicParts>> = BTreeMap::new();
    for s in series {
        let Some(name) = s.labels.metric_name() else {
            continue;
        };
        let (base, part) = if let Some(b) = name.strip_suffix("_bucket") {
            (b, 0)
        } else if let Some(b) = name.strip_suffix("_count") {
            (b, 1)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (b, 2)
        } else {
            continue;
        };
        let le = s.labels.get("le").and_then(super::parse_number);
        if part == 0 && le.is_none() {
            continue;
        }
        let mut l = s.labels.clone();
        l.remove("le");
        l.set(METRIC_NAME, base);
        let times = by.entry(l).or_default();
        for (i, p) in s.values.iter().enumerate() {
            let Some(Point::Float(v)) = p else { continue };
            let e = times.entry(i as i64 * step).or_default();
            match part {
                0 => e.0.push((le.unwrap_or(f64::INFINITY), *v)),
                1 => e.1 = Some(*v),
                _ => e.2 = Some(*v),
            }
        }
    }
    by.into_iter()
        .map(|(labels, times)| {
            let mut prev: Option<FloatHistogram> = None;
            let points = times
                .into_iter()
                .filter(|(_, (b, _, _))| !b.is_empty())
                .map(|(t, (buckets, count, sum))| {
                    let mut h = classic_to_custom(buckets, count, sum);
                    h.counter_reset_hint = stored_hint(&h, prev.as_ref());
                    prev = Some(h.clone());
                    (t, h)
                })
                .collect();
            (labels, points)
        })
        .collect()
}

/// A native histogram with custom buckets from cumulative classic buckets.
fn classic_to_custom(
    mut buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: Option<f64>,
) -> FloatHistogram {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut h = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        ..Default::default()
    };
    let mut before = 0.0;
    for (i, (le, c)) in buckets.iter().enumerate() {
        if le.is_finite() {
            h.custom_values.push(*le);
        }
        h.positive.insert(i as i32, c - before);
        before = *c;
    }
    h.count = count.unwrap_or(before);
    h.sum = sum.unwrap_or(0.0);
    h.compact();
    h
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

fn judge(engine: &Engine, store: &MemStorage, case: &EvalCase) -> CaseOutcome {
    let expr = match parser::parse(&case.query) {
        Ok(e) => e,
        Err(e) => {
            return match &case.fail {
                Some(MessageMatch::Any) => CaseOutcome::Passed,
                _ => CaseOutcome::Skipped(format!("the parser refuses the query: {e}")),
            }
        }
    };
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
    if let Err(e) = compare(case, &res.value, &res.histograms) {
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
    let hists: Vec<HistogramSeries> = res
        .histograms
        .into_iter()
        .filter_map(|mut s| {
            s.samples.retain(|p| p.0 == at);
            (!s.samples.is_empty()).then_some(s)
        })
        .collect();
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
            Some(s) => compare(case, &Value::Scalar { t: at, v: s.v }, &[]),
            None => Err("no scalar at the middle step".into()),
        },
        _ => compare(case, &Value::Vector(vec), &hists),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promqltest::compare::almost_equal;
    use crate::promqltest::parse_script;

    #[test]
    fn runs_a_small_script() {
        let script = "load 1m\n  m{a=\"1\"} 0+1x10\n  h {{schema:0 sum:1 count:1}}\n\neval instant at 5m m * 2\n  {a=\"1\"} 10\n\neval range from 0 to 2m step 1m m\n  m{a=\"1\"} 0 1 2\n\neval instant at 5m m\n  m{a=\"1\"} 6\n\neval instant at 0m h\n  h 1\n\neval instant at 0m h * 2\n  {} {{schema:0 sum:2 count:2}}\n";
        let cmds = parse_script(script).unwrap();
        let r = run(&cmds, &Engine::default());
        assert_eq!(r[0].outcome, CaseOutcome::Passed);
        assert_eq!(r[1].outcome, CaseOutcome::Passed);
        assert!(matches!(r[2].outcome, CaseOutcome::Failed(_)));
        // A histogram is not the float 1; twice it is a histogram of twice the counts.
        assert!(matches!(r[3].outcome, CaseOutcome::Failed(_)));
        assert_eq!(r[4].outcome, CaseOutcome::Passed);
    }

    #[test]
    fn nan_equals_nan_in_tests() {
        assert!(almost_equal(f64::NAN, f64::NAN));
        assert!(almost_equal(1.0, 1.0000000001));
        assert!(!almost_equal(1.0, 1.01));
    }
}
