//! Exemplars of the embedded store (`tsdb::Exemplars`: in memory, at most 100,000, the
//! oldest first out): kept from remote-write and OTLP pushes, read by Prometheus's
//! `/api/v1/query_exemplars` — the series of every selector in a PromQL expression, their
//! exemplars in a time range.

use promql_parser::parser::Expr;
use serde_json::{json, Value};

use super::json::number;
use super::{queryable, EmbeddedStore, QueryFailure};

/// Exemplars one answer holds, at most.
pub const MAX_ANSWER: usize = 10_000;
/// Selectors one query may hold, at most.
const MAX_SELECTORS: usize = 100;

impl EmbeddedStore {
    /// Keeps pushed exemplars (a series' out-of-order or duplicate ones are left out, as
    /// Prometheus does); returns how many were kept.
    pub fn add_exemplars(&self, list: &[ingest::ExemplarSample]) -> usize {
        let mut kept = 0;
        for e in list {
            let Ok(series) = tsdb::Labels::new(e.series.iter().cloned()) else {
                continue;
            };
            let exemplar = tsdb::Exemplar {
                labels: e.labels.clone(),
                value: e.value,
                t_ms: e.t_ms,
            };
            kept += usize::from(self.exemplars.add(&series, exemplar).is_ok());
        }
        kept
    }

    /// `/api/v1/query_exemplars`' `data`: the exemplars in `[start_ms, end_ms]` of the
    /// series the selectors of `query` select.
    pub fn query_exemplars(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Value, QueryFailure> {
        crate::promql_syntax::check_limits(query).map_err(|e| {
            QueryFailure::bad_data(format!("invalid parameter \"query\": {}", e.message))
        })?;
        let expr = promql_parser::parser::parse(query)
            .map_err(|e| QueryFailure::bad_data(format!("invalid parameter \"query\": {e}")))?;
        if end_ms < start_ms {
            return Err(QueryFailure::bad_data(
                "end timestamp must not be before start timestamp",
            ));
        }
        let mut selectors = Vec::new();
        // Iterative: the expression's depth is bounded by `check_limits`, the walk needs no
        // stack of its own either way.
        let mut todo = vec![&expr];
        while let Some(e) = todo.pop() {
            let vs = match e {
                Expr::VectorSelector(vs) => vs,
                Expr::MatrixSelector(ms) => &ms.vs,
                Expr::Aggregate(a) => {
                    todo.push(&a.expr);
                    todo.extend(a.param.as_deref());
                    continue;
                }
                Expr::Unary(u) => {
                    todo.push(&u.expr);
                    continue;
                }
                Expr::Binary(b) => {
                    todo.push(&b.lhs);
                    todo.push(&b.rhs);
                    continue;
                }
                Expr::Paren(p) => {
                    todo.push(&p.expr);
                    continue;
                }
                Expr::Subquery(s) => {
                    todo.push(&s.expr);
                    continue;
                }
                Expr::Call(c) => {
                    todo.extend(c.args.args.iter().map(|a| &**a));
                    continue;
                }
                _ => continue,
            };
            let mut matchers = Vec::new();
            if let Some(name) = &vs.name {
                matchers.push(tsdb::Matcher::equal("__name__", name.clone()));
            }
            for m in vs.matchers.matchers.iter() {
                matchers.push(queryable::store_matcher(m)?);
            }
            selectors.push(matchers);
            if selectors.len() > MAX_SELECTORS {
                return Err(QueryFailure::bad_data(format!(
                    "invalid parameter \"query\": at most {MAX_SELECTORS} selectors"
                )));
            }
        }
        let found = self
            .exemplars
            .query(&selectors, start_ms, end_ms, MAX_ANSWER);
        Ok(Value::Array(
            found
                .into_iter()
                .map(|(series, list)| {
                    let labels: serde_json::Map<String, Value> = series
                        .iter()
                        .map(|(k, v)| (k.to_owned(), json!(v)))
                        .collect();
                    let exemplars: Vec<Value> = list
                        .into_iter()
                        .map(|e| {
                            let own: serde_json::Map<String, Value> =
                                e.labels.into_iter().map(|(k, v)| (k, json!(v))).collect();
                            json!({
                                "labels": own,
                                "value": number(e.value),
                                "timestamp": e.t_ms as f64 / 1e3,
                            })
                        })
                        .collect();
                    json!({"seriesLabels": labels, "exemplars": exemplars})
                })
                .collect(),
        ))
    }
}
