//! The PromQL engine reads the embedded store through this adapter: promql-parser's
//! matchers become the store's, the store's series become the engine's.

use promql::{LabelMatcher, QueryError, Queryable, Series};
use promql_parser::label::MatchOp;

/// The embedded store as the engine's storage.
pub struct Store<'a>(pub &'a tsdb::Db);

/// promql-parser's matcher as the store's (its regex is anchored by the store).
pub fn store_matcher(m: &LabelMatcher) -> Result<tsdb::Matcher, QueryError> {
    let op = match &m.op {
        MatchOp::Equal => tsdb::MatchOp::Equal,
        MatchOp::NotEqual => tsdb::MatchOp::NotEqual,
        MatchOp::Re(_) => tsdb::MatchOp::Regex,
        MatchOp::NotRe(_) => tsdb::MatchOp::NotRegex,
    };
    tsdb::Matcher::new(op, m.name.clone(), m.value.clone())
        .map_err(|e| QueryError::bad_data(e.to_string()))
}

impl Queryable for Store<'_> {
    fn select(
        &self,
        matchers: &[LabelMatcher],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, QueryError> {
        let matchers = matchers
            .iter()
            .map(store_matcher)
            .collect::<Result<Vec<_>, _>>()?;
        let found = self
            .0
            .select(&matchers, start_ms, end_ms)
            .map_err(|e| match e {
                tsdb::Error::QueryTooLarge { .. } => QueryError::too_many_samples(),
                other => QueryError::execution(other.to_string()),
            })?;
        Ok(found
            .into_iter()
            .map(|s| Series {
                labels: promql::Labels::new(s.labels.iter()),
                // Moved, not copied: the two sample types have one layout, so this collect
                // reuses the allocation.
                samples: s.samples.into_iter().map(|x| (x.t, x.v)).collect(),
            })
            .collect())
    }
}
