//! Evaluation of a parsed query over one segment (the head or a block): a set of rows.
//!
//! Body words use the segment's token index; phrases intersect their tokens' postings and
//! then check the run of tokens in the candidate bodies. `Keyword`/`Id` columns match whole
//! values (case-sensitive, wildcards allowed); attributes, whose type is unknown, also match
//! when the value's tokens hold the query's tokens as a run (`exception.message:timeout`).
//! [`may_match`] answers from bloom filters and the time range without reading sections.

use super::glob;
use super::parse::{Compare, FieldTest, Query, Text};
use crate::bitset::Bitset;
use crate::columns::{Segment, StrKey};
use crate::error::Error;
use crate::schema::{ColumnKind, FieldRef, Schema};
use crate::severity::parse_severity;
use crate::tokens::{contains_run, tokens};

/// False when no row of `seg` can match (decided without reading any section).
pub(crate) fn may_match(q: &Query, seg: &dyn Segment, schema: &Schema) -> bool {
    match q {
        Query::All | Query::Not(_) => true,
        Query::And(parts) => parts.iter().all(|p| may_match(p, seg, schema)),
        Query::Or(parts) => parts.iter().any(|p| may_match(p, seg, schema)),
        Query::Text(t) => text_may_match(t, seg),
        Query::Field { field, test } => match (schema.resolve(field), test) {
            (FieldRef::Body, FieldTest::Equals(t)) => text_may_match(t, seg),
            (FieldRef::Column(i), FieldTest::Equals(t))
                if schema.columns()[i].kind == ColumnKind::Id && !is_wildcard(t) =>
            {
                seg.may_have_id(i, t.as_str())
            }
            (FieldRef::Time, FieldTest::Range(op, bound)) => {
                let (lo, hi) = seg.time_range();
                match bound.parse::<i64>() {
                    Ok(b) => match op {
                        Compare::Lt | Compare::Le => op.holds(lo, b),
                        Compare::Gt | Compare::Ge => op.holds(hi, b),
                    },
                    Err(_) => true,
                }
            }
            _ => true,
        },
    }
}

fn is_wildcard(t: &Text) -> bool {
    matches!(t, Text::Word { wildcard: true, .. })
}

fn text_may_match(t: &Text, seg: &dyn Segment) -> bool {
    if is_wildcard(t) {
        return true;
    }
    tokens(t.as_str()).iter().all(|tok| seg.may_have_token(tok))
}

fn body_range_error(field: &str) -> Error {
    Error::InvalidQuery(format!(
        "`{field}` is text; ranges apply to numbers, severities and times"
    ))
}

/// A query ready to run over many segments: the predicates of its parts that test a
/// numeric column row by row are built once, here, not per segment. Building it fails
/// when a part can never be evaluated against the schema (a range over text, a severity
/// or integer that does not parse), so that a query is refused the same way whichever
/// segments a bloom filter or an empty part lets it skip.
pub(crate) struct Plan<'q> {
    query: &'q Query,
    node: Node<'q>,
}

enum Node<'q> {
    /// Index-backed parts first, then the row tests refining what they left.
    And {
        indexed: Vec<Plan<'q>>,
        scans: Vec<(&'q str, IntPredicate)>,
    },
    Or(Vec<Plan<'q>>),
    Not(Box<Plan<'q>>),
    /// A part tested row by row on its own (outside an `AND`).
    Rows(&'q str, IntPredicate),
    /// Everything else: evaluated from the query itself.
    Leaf,
}

impl<'q> Plan<'q> {
    pub(crate) fn new(q: &'q Query, schema: &Schema) -> Result<Plan<'q>, Error> {
        let node = match q {
            Query::And(parts) => {
                let mut scans = Vec::new();
                let mut indexed = Vec::new();
                for p in parts {
                    match row_test(p, schema) {
                        Some((field, test)) => {
                            scans.push((field, row_predicate(field, test, schema)?));
                        }
                        None => indexed.push(Self::new(p, schema)?),
                    }
                }
                Node::And { indexed, scans }
            }
            Query::Or(parts) => Node::Or(
                parts
                    .iter()
                    .map(|p| Self::new(p, schema))
                    .collect::<Result<_, _>>()?,
            ),
            Query::Not(inner) => Node::Not(Box::new(Self::new(inner, schema)?)),
            Query::Field {
                field,
                test: FieldTest::Range(..),
            } if matches!(schema.resolve(field), FieldRef::Body) => {
                return Err(body_range_error(field));
            }
            _ => match row_test(q, schema) {
                Some((field, test)) => Node::Rows(field, row_predicate(field, test, schema)?),
                None => Node::Leaf,
            },
        };
        Ok(Plan { query: q, node })
    }
}

/// The rows of `seg` that match the planned query.
pub(crate) fn eval(plan: &Plan<'_>, seg: &dyn Segment, schema: &Schema) -> Result<Bitset, Error> {
    let n = seg.len();
    match (&plan.node, plan.query) {
        (_, Query::All) => Ok(Bitset::full(n)),
        (Node::And { indexed, scans }, Query::And(parts)) => {
            // A part a bloom filter or the time range rules out empties the segment unread.
            if !parts.iter().all(|p| may_match(p, seg, schema)) {
                return Ok(Bitset::empty(n));
            }
            // Index-backed parts (postings, dictionaries) first; parts that test a column
            // row by row then refine what is left instead of scanning every row:
            // `level:ERROR AND "timeout"` reads the severity of the rows holding the word.
            let mut acc = Bitset::full(n);
            for p in indexed {
                acc.and(&eval(p, seg, schema)?);
                if acc.is_empty() {
                    return Ok(acc);
                }
            }
            for (field, pred) in scans {
                refine(&mut acc, field, pred, seg, schema)?;
                if acc.is_empty() {
                    break;
                }
            }
            Ok(acc)
        }
        (Node::Or(parts), _) => {
            let mut acc = Bitset::empty(n);
            for p in parts {
                if may_match(p.query, seg, schema) {
                    acc.or(&eval(p, seg, schema)?);
                }
            }
            Ok(acc)
        }
        (Node::Not(inner), _) => {
            let mut rows = eval(inner, seg, schema)?;
            rows.not();
            Ok(rows)
        }
        (Node::Rows(field, pred), _) => {
            let mut acc = Bitset::full(n);
            refine(&mut acc, field, pred, seg, schema)?;
            Ok(acc)
        }
        (_, Query::Text(t)) => text_rows(t, seg),
        (_, Query::Field { field, test }) => field_rows(field, test, seg, schema),
        (_, q) => Err(Error::InvalidQuery(format!("no plan for {q:?}"))),
    }
}

/// The field and test of a part evaluated by reading a numeric column row by row (times,
/// severities, integers); `None` for parts answered from an index or a dictionary.
fn row_test<'q>(q: &'q Query, schema: &Schema) -> Option<(&'q str, &'q FieldTest)> {
    let Query::Field { field, test } = q else {
        return None;
    };
    let scanned = match schema.resolve(field) {
        FieldRef::Time => true,
        FieldRef::Column(i) => matches!(
            schema.columns()[i].kind,
            ColumnKind::Severity | ColumnKind::Int
        ),
        FieldRef::Body | FieldRef::Attribute(_) => false,
    };
    scanned.then_some((field.as_str(), test))
}

/// Keeps the rows of `acc` whose column value passes `pred`, reading only those rows: the
/// same rows as [`field_rows`] of the [`row_test`] part intersected with `acc`.
fn refine(
    acc: &mut Bitset,
    field: &str,
    pred: &IntPredicate,
    seg: &dyn Segment,
    schema: &Schema,
) -> Result<(), Error> {
    match schema.resolve(field) {
        FieldRef::Time => {
            let times = seg.times()?;
            acc.retain(|r| pred(times[r]));
        }
        FieldRef::Column(i) => {
            let v = seg.ints(i)?;
            acc.retain(|r| v[r] != i64::MIN && pred(v[r]));
        }
        FieldRef::Body | FieldRef::Attribute(_) => unreachable!("row_test parts read columns"),
    }
    Ok(())
}

/// The predicate of a [`row_test`] part.
fn row_predicate(field: &str, test: &FieldTest, schema: &Schema) -> Result<IntPredicate, Error> {
    match schema.resolve(field) {
        FieldRef::Column(i) if schema.columns()[i].kind == ColumnKind::Severity => {
            severity_predicate(field, test)
        }
        _ => int_predicate(field, test),
    }
}

fn postings_set(seg: &dyn Segment, token: &str) -> Result<Bitset, Error> {
    let mut out = Bitset::empty(seg.len());
    for r in seg.postings(token)? {
        out.insert(r as usize);
    }
    Ok(out)
}

/// Rows whose body matches a word, wildcard word or phrase.
fn text_rows(t: &Text, seg: &dyn Segment) -> Result<Bitset, Error> {
    let n = seg.len();
    if let Text::Word {
        text,
        wildcard: true,
    } = t
    {
        // Each piece between non-token characters matches one token.
        let lower = text.to_lowercase();
        let mut acc = Bitset::full(n);
        let pieces = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*' || c == '?'))
            .filter(|p| !p.is_empty());
        for piece in pieces {
            let rows = if piece.contains(['*', '?']) {
                seg.postings_where(&|tok| glob(piece, tok))?
            } else {
                postings_set(seg, piece)?
            };
            acc.and(&rows);
        }
        return Ok(acc);
    }
    let toks = tokens(t.as_str());
    let Some(first) = toks.first() else {
        return Ok(Bitset::empty(n));
    };
    let mut acc = postings_set(seg, first)?;
    for tok in &toks[1..] {
        if acc.is_empty() {
            break;
        }
        acc.and(&postings_set(seg, tok)?);
    }
    if toks.len() > 1 {
        let mut verified = Bitset::empty(n);
        for row in acc.iter() {
            if contains_run(&tokens(&seg.body(row)?), &toks) {
                verified.insert(row);
            }
        }
        acc = verified;
    }
    Ok(acc)
}

fn field_rows(
    field: &str,
    test: &FieldTest,
    seg: &dyn Segment,
    schema: &Schema,
) -> Result<Bitset, Error> {
    let n = seg.len();
    match schema.resolve(field) {
        FieldRef::Body => match test {
            FieldTest::Equals(t) => text_rows(t, seg),
            FieldTest::Exists => Ok(Bitset::full(n)),
            FieldTest::Range(..) => Err(body_range_error(field)),
        },
        FieldRef::Time => {
            let times = seg.times()?;
            let pred = int_predicate(field, test)?;
            Ok(Bitset::from_fn(n, |r| pred(times[r])))
        }
        FieldRef::Column(i) => match schema.columns()[i].kind {
            ColumnKind::Severity => {
                let pred = severity_predicate(field, test)?;
                let v = seg.ints(i)?;
                Ok(Bitset::from_fn(n, |r| v[r] != i64::MIN && pred(v[r])))
            }
            ColumnKind::Int => {
                let pred = int_predicate(field, test)?;
                let v = seg.ints(i)?;
                Ok(Bitset::from_fn(n, |r| v[r] != i64::MIN && pred(v[r])))
            }
            ColumnKind::Id => match test {
                // A whole id: the segment's id index when it keeps one.
                FieldTest::Equals(t) if !is_wildcard(t) => match seg.id_rows(i, t.as_str())? {
                    Some(rows) => Ok(rows),
                    None => str_rows(seg, StrKey::Column(i), test, true),
                },
                _ => str_rows(seg, StrKey::Column(i), test, true),
            },
            ColumnKind::Keyword => str_rows(seg, StrKey::Column(i), test, true),
        },
        FieldRef::Attribute(name) => str_rows(seg, StrKey::Attribute(name), test, false),
    }
}

type IntPredicate = Box<dyn Fn(i64) -> bool>;

fn int_predicate(field: &str, test: &FieldTest) -> Result<IntPredicate, Error> {
    let num = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| Error::InvalidQuery(format!("`{field}` holds integers; {s:?} is not one")))
    };
    Ok(match test {
        FieldTest::Exists => Box::new(|_| true),
        FieldTest::Equals(t) if !is_wildcard(t) => {
            let want = num(t.as_str())?;
            Box::new(move |v| v == want)
        }
        FieldTest::Equals(_) => {
            return Err(Error::InvalidQuery(format!(
                "`{field}` holds integers; wildcards apply to text"
            )))
        }
        FieldTest::Range(op, b) => {
            let (op, b) = (*op, num(b)?);
            Box::new(move |v| op.holds(v, b))
        }
    })
}

fn severity_predicate(field: &str, test: &FieldTest) -> Result<IntPredicate, Error> {
    let band = |s: &str| {
        parse_severity(s)
            .map(|(lo, hi)| (i64::from(lo), i64::from(hi)))
            .ok_or_else(|| {
                Error::InvalidQuery(format!(
                    "`{field}`: {s:?} is not a severity (TRACE, DEBUG, INFO, WARNING/WARN, ERROR, CRITICAL/FATAL, or 1–24)"
                ))
            })
    };
    Ok(match test {
        FieldTest::Exists => Box::new(|_| true),
        FieldTest::Equals(t) if is_wildcard(t) => {
            let pattern = t.as_str().to_ascii_uppercase();
            Box::new(move |v| glob(&pattern, crate::severity::level_name(v)))
        }
        FieldTest::Equals(t) => {
            let (lo, hi) = band(t.as_str())?;
            Box::new(move |v| (lo..=hi).contains(&v))
        }
        FieldTest::Range(op, b) => {
            let (lo, hi) = band(b)?;
            match op {
                Compare::Ge => Box::new(move |v| v >= lo),
                Compare::Gt => Box::new(move |v| v > hi),
                Compare::Le => Box::new(move |v| v <= hi),
                Compare::Lt => Box::new(move |v| v < lo),
            }
        }
    })
}

/// Rows of a string column whose value passes `test`. `exact` columns match whole values
/// only; others also by a run of tokens.
fn str_rows(
    seg: &dyn Segment,
    key: StrKey<'_>,
    test: &FieldTest,
    exact: bool,
) -> Result<Bitset, Error> {
    let n = seg.len();
    let Some(col) = seg.strs(key)? else {
        return Ok(Bitset::empty(n));
    };
    if let (true, FieldTest::Equals(t)) = (exact, test) {
        if !is_wildcard(t) {
            // A whole-value match: one dictionary lookup, no pass over the dictionary.
            return Ok(match col.id_of(t.as_str()) {
                Some(id) => col.rows_with_id(id, n),
                None => Bitset::empty(n),
            });
        }
    }
    let passes = value_test(test, exact);
    let mask: Vec<bool> = col.values.iter().map(|v| passes(v)).collect();
    Ok(col.rows_with(&mask, n))
}

/// Whether one value of a string column passes `test` (`exact` columns match whole values
/// only; others also by a run of tokens): what [`str_rows`] asks of each dictionary value.
pub(crate) fn value_test<'t>(test: &'t FieldTest, exact: bool) -> Box<dyn Fn(&str) -> bool + 't> {
    match test {
        FieldTest::Exists => Box::new(|_| true),
        FieldTest::Equals(Text::Word {
            text,
            wildcard: true,
        }) => Box::new(move |v| glob(text, v)),
        FieldTest::Equals(t) => {
            let want = t.as_str();
            let toks = if exact { Vec::new() } else { tokens(want) };
            Box::new(move |v| v == want || (!toks.is_empty() && contains_run(&tokens(v), &toks)))
        }
        FieldTest::Range(op, bound) => {
            let op = *op;
            match bound.parse::<f64>() {
                Ok(b) => Box::new(move |v| v.parse::<f64>().is_ok_and(|x| op.holds(x, b))),
                Err(_) => Box::new(move |v| op.holds(v, bound.as_str())),
            }
        }
    }
}
