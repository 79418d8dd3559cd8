//! The time range in which a query can match rows of a segment, from what the segment
//! keeps without reading a section: its time range, bloom filters, and (blocks of version
//! 2) the value summaries of low-cardinality columns and the bounds of `Int` columns.
//!
//! A search then skips a block whose matches would all be older than the page it has, even
//! when the block's own time range is wide: `service:api` in a block that also holds a few
//! young records of another service is bounded by the time of its `api` rows.

use super::eval::{may_match, value_test};
use super::parse::{Compare, FieldTest, Query};
use crate::columns::{Segment, StrKey};
use crate::schema::{ColumnKind, FieldRef, Schema};

/// `(lo, hi)`, inclusive: every row of `seg` matching `q` has its time in it; `None` when
/// no row can match.
pub(crate) fn time_bounds(q: &Query, seg: &dyn Segment, schema: &Schema) -> Option<(i64, i64)> {
    let whole = seg.time_range();
    match q {
        Query::All | Query::Not(_) => Some(whole),
        Query::And(parts) => parts.iter().try_fold(whole, |(lo, hi), p| {
            let (a, b) = time_bounds(p, seg, schema)?;
            let (lo, hi) = (lo.max(a), hi.min(b));
            (lo <= hi).then_some((lo, hi))
        }),
        Query::Or(parts) => parts
            .iter()
            .filter_map(|p| time_bounds(p, seg, schema))
            .reduce(|(a, b), (c, d)| (a.min(c), b.max(d))),
        Query::Text(_) => may_match(q, seg, schema).then_some(whole),
        Query::Field { field, test } => {
            if !may_match(q, seg, schema) {
                return None;
            }
            match schema.resolve(field) {
                FieldRef::Time => Some(time_test(test, whole)),
                FieldRef::Body => Some(whole),
                FieldRef::Column(i) => match schema.columns()[i].kind {
                    ColumnKind::Int => int_test(test, seg.int_bounds(i)).then_some(whole),
                    ColumnKind::Severity => Some(whole),
                    ColumnKind::Keyword | ColumnKind::Id => {
                        summary_bounds(seg, StrKey::Column(i), test, true, whole)
                    }
                },
                FieldRef::Attribute(name) => {
                    summary_bounds(seg, StrKey::Attribute(name), test, false, whole)
                }
            }
        }
    }
}

/// The union of the time ranges of the values passing `test`, when the segment has a
/// summary of the column; `whole` when it has none.
fn summary_bounds(
    seg: &dyn Segment,
    key: StrKey<'_>,
    test: &FieldTest,
    exact: bool,
    whole: (i64, i64),
) -> Option<(i64, i64)> {
    let Some(values) = seg.value_ranges(key) else {
        return Some(whole);
    };
    let passes = value_test(test, exact);
    values
        .iter()
        .filter(|v| passes(&v.value))
        .map(|v| (v.min_time, v.max_time))
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// Whether an `Int` column with values in `bounds` can pass `test` (true when unknown or
/// when the bound does not parse: evaluation reports that).
fn int_test(test: &FieldTest, bounds: Option<(i64, i64)>) -> bool {
    let Some((lo, hi)) = bounds else {
        return true;
    };
    match test {
        FieldTest::Exists => true,
        FieldTest::Equals(t) => t
            .as_str()
            .parse::<i64>()
            .map_or(true, |n| lo <= n && n <= hi),
        FieldTest::Range(op, b) => match b.parse::<i64>() {
            Ok(b) => match op {
                Compare::Lt | Compare::Le => op.holds(lo, b),
                Compare::Gt | Compare::Ge => op.holds(hi, b),
            },
            Err(_) => true,
        },
    }
}

/// `whole` narrowed by a test on the time itself.
fn time_test(test: &FieldTest, (lo, hi): (i64, i64)) -> (i64, i64) {
    let FieldTest::Range(op, b) = test else {
        return (lo, hi);
    };
    match (op, b.parse::<i64>()) {
        (Compare::Ge, Ok(b)) => (lo.max(b), hi),
        (Compare::Gt, Ok(b)) => (lo.max(b.saturating_add(1)), hi),
        (Compare::Le, Ok(b)) => (lo, hi.min(b)),
        (Compare::Lt, Ok(b)) => (lo, hi.min(b.saturating_sub(1))),
        _ => (lo, hi),
    }
}
