//! Binary operators: arithmetic, comparisons (filtering or `bool`), `atan2`, the set
//! operators `and`/`or`/`unless`, and vector matching (`on`, `ignoring`, `group_left`,
//! `group_right`) with Prometheus's errors for ambiguous matches.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::error::QueryError;
use crate::eval::{Ctx, Evaluator, VSample, Val};
use crate::histogram::{CounterResetHint, FloatHistogram};
use crate::value::{is_metadata_label, Labels, METRIC_NAME};

/// Whether `op` is one of the comparison operators.
fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

/// Applies `op` to two floats: the value and whether the sample is kept (comparisons keep
/// the left value when true).
pub(crate) fn apply(op: &str, l: f64, r: f64) -> (f64, bool) {
    match op {
        "+" => (l + r, true),
        "-" => (l - r, true),
        "*" => (l * r, true),
        "/" => (l / r, true),
        "%" => (l % r, true),
        "^" => (l.powf(r), true),
        "atan2" => (l.atan2(r), true),
        "==" => (l, l == r),
        "!=" => (l, l != r),
        ">" => (l, l > r),
        "<" => (l, l < r),
        ">=" => (l, l >= r),
        "<=" => (l, l <= r),
        _ => (f64::NAN, false),
    }
}

/// A value of either kind, as an operand.
type Operand<'a> = (f64, Option<&'a Rc<FloatHistogram>>);

/// A result: float, histogram (then the float means nothing) and whether it is kept.
type Outcome = (f64, Option<Rc<FloatHistogram>>, bool);

fn kind(h: Option<&Rc<FloatHistogram>>) -> &'static str {
    if h.is_some() {
        "histogram"
    } else {
        "float"
    }
}

/// A copy of `h` changed by `f` and compacted.
fn changed(h: &FloatHistogram, f: impl FnOnce(&mut FloatHistogram)) -> Rc<FloatHistogram> {
    let mut h = h.clone();
    f(&mut h);
    h.compact();
    Rc::new(h)
}

/// `op` between two values, each a float or a native histogram (Prometheus's
/// `vectorElemBinop`); `None` when the operation is undefined for the types (an info) or
/// the histograms' bucket kinds differ (a warning).
pub(crate) fn apply_values(
    ev: &mut Evaluator,
    op: &str,
    l: Operand,
    r: Operand,
) -> Option<Outcome> {
    match (l.1, r.1, op) {
        (None, None, _) => {
            let (v, keep) = apply(op, l.0, r.0);
            Some((v, None, keep))
        }
        (None, Some(h), "*") => Some((
            0.0,
            Some(changed(h, |h| {
                h.mul(l.0);
            })),
            true,
        )),
        (Some(h), None, "*") => Some((
            0.0,
            Some(changed(h, |h| {
                h.mul(r.0);
            })),
            true,
        )),
        (Some(h), None, "/") => Some((
            0.0,
            Some(changed(h, |h| {
                h.div(r.0);
            })),
            true,
        )),
        (Some(a), Some(b), "+" | "-") => {
            let mut res = (**a).clone();
            let combined = if op == "+" { res.add(b) } else { res.sub(b) };
            let what = if op == "+" { "addition" } else { "subtraction" };
            match combined {
                Err(_) => {
                    ev.warn(format!(
                        "incompatible bucket layout encountered for binary operator {op}"
                    ));
                    None
                }
                Ok(c) => {
                    if op == "-" {
                        res.counter_reset_hint = CounterResetHint::Gauge;
                    }
                    if c.counter_reset_collision {
                        ev.warn(format!(
                            "conflicting counter resets during histogram {what}"
                        ));
                    }
                    if c.custom_buckets_reconciled {
                        ev.info(format!(
                            "mismatched custom buckets were reconciled during {what}"
                        ));
                    }
                    res.compact();
                    Some((0.0, Some(Rc::new(res)), true))
                }
            }
        }
        (Some(a), Some(b), "==" | "!=") => {
            Some((0.0, Some(a.clone()), a.equals(b) == (op == "==")))
        }
        _ => {
            ev.info(format!(
                "incompatible sample types encountered for binary operator {op:?}: {} {op} {}",
                kind(l.1),
                kind(r.1)
            ));
            None
        }
    }
}

/// Evaluates a binary expression at every step.
pub(crate) fn eval_binary(
    ev: &mut Evaluator,
    b: &BinaryExpr,
    ctx: &Ctx,
) -> Result<Val, QueryError> {
    let op = b.op.to_string();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = ev.eval(&b.lhs, ctx)?;
    let rhs = ev.eval(&b.rhs, ctx)?;
    Ok(match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => Val::Scalar(
            l.into_iter()
                .zip(r)
                .map(|(a, b)| {
                    let (v, keep) = apply(&op, a, b);
                    if is_comparison(&op) {
                        if keep {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        v
                    }
                })
                .collect(),
        ),
        (Val::Vector(l), Val::Scalar(r)) => Val::Vector(
            l.into_iter()
                .zip(r)
                .map(|(step, s)| vector_scalar(ev, &op, step, s, false, return_bool))
                .collect(),
        ),
        (Val::Scalar(l), Val::Vector(r)) => Val::Vector(
            r.into_iter()
                .zip(l)
                .map(|(step, s)| vector_scalar(ev, &op, step, s, true, return_bool))
                .collect(),
        ),
        (Val::Vector(l), Val::Vector(r)) => {
            let card = b.modifier.as_ref().map(|m| m.card.clone());
            let matching = b.modifier.as_ref().and_then(|m| m.matching.clone());
            let mut m = Matching::new(matching.as_ref(), card);
            if let Some(f) = b.modifier.as_ref().map(|m| &m.fill_values) {
                (m.fill_many, m.fill_one) = (f.lhs, f.rhs);
            }
            let mut out = Vec::with_capacity(l.len());
            for (ls, rs) in l.into_iter().zip(r) {
                ev.check()?;
                out.push(match op.as_str() {
                    "and" => and(&m, ls, &rs),
                    "or" => or(&m, ls, rs),
                    "unless" => unless(&m, ls, &rs),
                    _ => vector_vector(ev, &op, &m, ls, rs, return_bool)?,
                });
            }
            Val::Vector(out)
        }
        _ => {
            return Err(QueryError::bad_data(format!(
                "invalid operands for binary operator {op}"
            )))
        }
    })
}

fn vector_scalar(
    ev: &mut Evaluator,
    op: &str,
    step: Vec<VSample>,
    s: f64,
    swap: bool,
    return_bool: bool,
) -> Vec<VSample> {
    let comparison = is_comparison(op);
    step.into_iter()
        .filter_map(|mut x| {
            let xv: Operand = (x.v, x.h.as_ref());
            let (l, r) = if swap {
                ((s, None), xv)
            } else {
                (xv, (s, None))
            };
            let (mut v, mut h, keep) = apply_values(ev, op, l, r)?;
            if comparison && swap {
                (v, h) = (x.v, x.h.clone());
            }
            if return_bool {
                x.v = if keep { 1.0 } else { 0.0 };
                x.h = None;
                x.drop_name = true;
                return Some(x);
            }
            if !keep {
                return None;
            }
            x.v = v;
            x.h = h;
            if !comparison {
                x.drop_name = true;
            }
            Some(x)
        })
        .collect()
}

/// How two vectors are matched.
struct Matching {
    /// `on(...)` rather than `ignoring(...)`.
    on: bool,
    /// The labels named by `on`/`ignoring`, sorted.
    names: Vec<String>,
    card: VectorMatchCardinality,
    /// `fill_left(v)` (or `fill`): the value of a missing sample on the "many" side (the
    /// left one, or the right one with `group_right`).
    fill_many: Option<f64>,
    /// `fill_right(v)` (or `fill`): the value of a missing sample on the "one" side.
    fill_one: Option<f64>,
    /// Signatures by series (see [`Matching::signature`]).
    cache: RefCell<SignatureCache>,
    /// Result labels by pair of series (see [`Matching::result`]).
    results: RefCell<ResultCache>,
}

/// Result labels of the pairs an operation matches.
/// The result labels of one pair of series (holding both sides' `Rc`s so that their
/// addresses, the key, are not reused).
struct PairResult {
    _sides: (Rc<Labels>, Rc<Labels>),
    labels: Rc<Labels>,
    id: usize,
}

#[derive(Default)]
struct ResultCache {
    /// Labels and their id per pair of series, keyed by the addresses of both sides' labels.
    by_pair: HashMap<(*const Labels, *const Labels), PairResult>,
    /// Result label sets interned as small ids (equal sets, equal ids).
    ids: HashMap<Rc<Labels>, usize>,
}

/// Signatures of the series an operation sees.
#[derive(Default)]
struct SignatureCache {
    /// The signature id of each series, keyed by the address of its labels.
    by_series: HashMap<*const Labels, (Rc<Labels>, usize)>,
    /// Signatures interned as small ids.
    ids: HashMap<String, usize>,
}

impl Matching {
    fn new(m: Option<&LabelModifier>, card: Option<VectorMatchCardinality>) -> Matching {
        let (on, mut names) = match m {
            Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            None => (false, Vec::new()),
        };
        names.sort();
        Matching {
            on,
            names,
            card: card.unwrap_or(VectorMatchCardinality::OneToOne),
            fill_many: None,
            fill_one: None,
            cache: RefCell::default(),
            results: RefCell::default(),
        }
    }

    /// The key samples are matched by, computed once per series of the operation.
    fn signature(&self, l: &Rc<Labels>) -> usize {
        let mut cache = self.cache.borrow_mut();
        let SignatureCache { by_series, ids } = &mut *cache;
        // The cache holds the `Rc`, so the address cannot be reused while it is a key.
        by_series
            .entry(Rc::as_ptr(l))
            .or_insert_with(|| {
                let next = ids.len();
                (
                    l.clone(),
                    *ids.entry(self.compute_signature(l)).or_insert(next),
                )
            })
            .1
    }

    fn compute_signature(&self, l: &Labels) -> String {
        let mut key = String::new();
        for (n, v) in l.iter() {
            let named = self.names.iter().any(|x| x == n);
            let keep = if self.on {
                named
            } else {
                !named && n != METRIC_NAME
            };
            if keep {
                key.push_str(n);
                key.push('\u{ff}');
                key.push_str(v);
                key.push('\u{ff}');
            }
        }
        key
    }

    /// The labels of the result of a matched pair, computed once per pair of series.
    fn result(
        &self,
        op: &str,
        include: &[String],
        l: &Rc<Labels>,
        r: &Rc<Labels>,
    ) -> (Rc<Labels>, usize) {
        let mut cache = self.results.borrow_mut();
        let ResultCache { by_pair, ids } = &mut *cache;
        let entry = by_pair
            .entry((Rc::as_ptr(l), Rc::as_ptr(r)))
            .or_insert_with(|| {
                let labels = Rc::new(result_labels(op, self, include, l, r));
                let next = ids.len();
                let id = *ids.entry(labels.clone()).or_insert(next);
                PairResult {
                    _sides: (l.clone(), r.clone()),
                    labels,
                    id,
                }
            });
        (entry.labels.clone(), entry.id)
    }

    /// The labels the signature is made of (for error messages).
    fn matched_labels(&self, l: &Labels) -> Labels {
        let mut out = l.clone();
        out.retain(|n| {
            let named = self.names.iter().any(|x| x == n);
            if self.on {
                named
            } else {
                !named && n != METRIC_NAME
            }
        });
        out
    }
}

fn and(m: &Matching, l: Vec<VSample>, r: &[VSample]) -> Vec<VSample> {
    let sigs: HashSet<usize> = r.iter().map(|s| m.signature(&s.labels)).collect();
    l.into_iter()
        .filter(|s| sigs.contains(&m.signature(&s.labels)))
        .collect()
}

fn or(m: &Matching, mut l: Vec<VSample>, r: Vec<VSample>) -> Vec<VSample> {
    let sigs: HashSet<usize> = l.iter().map(|s| m.signature(&s.labels)).collect();
    l.extend(
        r.into_iter()
            .filter(|s| !sigs.contains(&m.signature(&s.labels))),
    );
    l
}

fn unless(m: &Matching, l: Vec<VSample>, r: &[VSample]) -> Vec<VSample> {
    let sigs: HashSet<usize> = r.iter().map(|s| m.signature(&s.labels)).collect();
    l.into_iter()
        .filter(|s| !sigs.contains(&m.signature(&s.labels)))
        .collect()
}

fn vector_vector(
    ev: &mut Evaluator,
    op: &str,
    m: &Matching,
    lhs: Vec<VSample>,
    rhs: Vec<VSample>,
    return_bool: bool,
) -> Result<Vec<VSample>, QueryError> {
    if (lhs.is_empty() || rhs.is_empty()) && m.fill_many.is_none() && m.fill_one.is_none() {
        return Ok(Vec::new());
    }
    let (include, swapped) = match &m.card {
        VectorMatchCardinality::ManyToOne(l) => (l.labels.clone(), false),
        VectorMatchCardinality::OneToMany(l) => (l.labels.clone(), true),
        _ => (Vec::new(), false),
    };
    let one_to_one = matches!(m.card, VectorMatchCardinality::OneToOne);
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_by_sig: HashMap<usize, &VSample> = HashMap::new();
    for s in &one {
        let sig = m.signature(&s.labels);
        if let Some(dup) = one_by_sig.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(QueryError::execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                m.matched_labels(&s.labels).to_braced_string(),
                s.labels.to_braced_string(),
                dup.labels.to_braced_string()
            )));
        }
        one_by_sig.insert(sig, s);
    }
    // Match groups seen, and (match group, result labels) pairs seen.
    let mut matched: HashSet<usize> = HashSet::new();
    let mut results: HashSet<(usize, usize)> = HashSet::new();
    let mut out = Vec::new();
    for ls in &many {
        let sig = m.signature(&ls.labels);
        let Some(rs) = one_by_sig.get(&sig) else {
            continue;
        };
        let (lv, rv): (Operand, Operand) = ((ls.v, ls.h.as_ref()), (rs.v, rs.h.as_ref()));
        let (fl, fr) = if swapped { (rv, lv) } else { (lv, rv) };
        let applied = apply_values(ev, op, fl, fr);
        let (labels, id) = m.result(op, &include, &ls.labels, &rs.labels);
        // Ambiguous matches are errors even when a comparison filters the pair away.
        if !matched.insert(sig) && one_to_one {
            return Err(QueryError::execution(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
            ));
        }
        if !results.insert((sig, id)) {
            return Err(QueryError::execution(
                "multiple matches for labels: grouping labels must ensure unique matches",
            ));
        }
        let Some((mut v, mut h, keep)) = applied else {
            continue;
        };
        if return_bool {
            v = if keep { 1.0 } else { 0.0 };
            h = None;
        } else if !keep {
            continue;
        }
        out.push(VSample {
            labels,
            v,
            h,
            drop_name: return_bool || ls.drop_name,
        });
    }
    // The experimental fill modifiers: a missing partner takes the fill value.
    let result = |fl: f64, fr: f64| {
        let (v, keep) = apply(op, fl, fr);
        match (return_bool, keep) {
            (true, _) => Some(if keep { 1.0 } else { 0.0 }),
            (false, true) => Some(v),
            (false, false) => None,
        }
    };
    if let Some(f) = m.fill_one {
        for ls in many
            .iter()
            .filter(|s| !one_by_sig.contains_key(&m.signature(&s.labels)))
        {
            let (fl, fr) = if swapped { (f, ls.v) } else { (ls.v, f) };
            if let Some(v) = result(fl, fr).filter(|_| ls.h.is_none()) {
                let labels = result_labels(op, m, &include, &ls.labels, &Labels::empty());
                out.push(VSample::float(
                    Rc::new(labels),
                    v,
                    return_bool || ls.drop_name,
                ));
            }
        }
    }
    if let Some(f) = m.fill_many {
        let many_sigs: HashSet<usize> = many.iter().map(|s| m.signature(&s.labels)).collect();
        for rs in one
            .iter()
            .filter(|s| !many_sigs.contains(&m.signature(&s.labels)))
        {
            let (fl, fr) = if swapped { (rs.v, f) } else { (f, rs.v) };
            if let Some(v) = result(fl, fr).filter(|_| rs.h.is_none()) {
                let synthetic = m.matched_labels(&rs.labels);
                let labels = result_labels(op, m, &include, &synthetic, &rs.labels);
                out.push(VSample::float(Rc::new(labels), v, return_bool));
            }
        }
    }
    Ok(out)
}

/// The labels of a matched pair's result (Prometheus's `resultMetric`).
fn result_labels(op: &str, m: &Matching, include: &[String], l: &Labels, r: &Labels) -> Labels {
    let mut out = l.clone();
    if !is_comparison(op) {
        out.retain(|n| !is_metadata_label(n));
    }
    if matches!(m.card, VectorMatchCardinality::OneToOne) {
        if m.on {
            out.retain(|n| m.names.iter().any(|x| x == n));
        } else {
            out.retain(|n| !m.names.iter().any(|x| x == n));
        }
    }
    for name in include {
        match r.get(name) {
            Some(v) => {
                let v = v.to_string();
                out.set(name, &v)
            }
            None => out.remove(name),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_follows_prometheus() {
        assert_eq!(apply("%", -7.0, 3.0).0, -1.0);
        assert_eq!(apply(">", 1.0, 2.0), (1.0, false));
        assert!(apply("/", 0.0, 0.0).0.is_nan());
        assert_eq!(apply("^", 2.0, 10.0).0, 1024.0);
    }

    #[test]
    fn signatures_ignore_the_name_unless_on_names_it() {
        let l = Rc::new(Labels::new([("__name__", "a"), ("x", "1"), ("y", "2")]));
        let r = Rc::new(Labels::new([("__name__", "b"), ("x", "1"), ("y", "2")]));
        let m = Matching::new(None, None);
        assert_eq!(m.signature(&l), m.signature(&r));
        let on = Matching::new(Some(&LabelModifier::include(vec!["__name__"])), None);
        assert_ne!(on.signature(&l), on.signature(&r));
    }
}
