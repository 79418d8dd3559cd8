//! A query evaluated over records that are not (yet) in a store: the records of one batch
//! are indexed as a small head and the query runs over it, so a live tail matches exactly
//! as a search would.

use super::{eval, Plan, Query};
use crate::error::Error;
use crate::head::Head;
use crate::schema::{Record, Schema};

/// The positions in `records` of those that match `query`, ascending. Records must fit
/// `schema` (as every stored record does); a record that does not is never matched.
pub fn matching(schema: &Schema, query: &Query, records: &[Record]) -> Result<Vec<usize>, Error> {
    if matches!(query, Query::All) {
        return Ok((0..records.len()).collect());
    }
    let plan = Plan::new(query, schema)?;
    let mut head = Head::new(schema);
    let mut rows = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.check(schema, i).is_ok() {
            head.push(i as u64, r);
            rows.push(i);
        }
    }
    let hits = eval(&plan, &head, schema)?;
    Ok(hits.iter().map(|row| rows[row]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;
    use crate::schema::LogColumn;
    use crate::severity;

    #[test]
    fn a_batch_is_matched_as_a_search_would_match_it() {
        let records = vec![
            Record::log(1, severity::INFO, "api", "Request completed")
                .with(LogColumn::CorrelationId, "c-1"),
            Record::log(2, severity::ERROR, "api", "Timeout calling payment-service")
                .with(LogColumn::CorrelationId, "c-2"),
            Record::log(3, severity::WARNING, "billing", "Slow payment-service call")
                .attr("logger", "keiko.request"),
        ];
        let schema = Schema::logs();
        let q = |text: &str| matching(&schema, &parse(text).unwrap(), &records).unwrap();
        assert_eq!(q(""), vec![0, 1, 2]);
        assert_eq!(q(r#""payment-service""#), vec![1, 2]);
        assert_eq!(q("level:>=WARNING AND service:api"), vec![1]);
        assert_eq!(q("correlation_id:c-1 OR logger:keiko.request"), vec![0, 2]);
        assert_eq!(q("NOT timeout"), vec![0, 2]);
    }
}
