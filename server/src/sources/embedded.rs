//! The embedded metrics store as a [`MetricsSource`]: called in-process (no HTTP hop),
//! answering the same `data` shapes the Prometheus HTTP API does.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::Value;

use super::{InstantQuery, MetricsSource, RangeQuery, SourceError};
use crate::embedded::{now_ms, params, EmbeddedStore, QueryFailure};

pub struct EmbeddedSource(pub Arc<EmbeddedStore>);

fn failure(f: QueryFailure) -> SourceError {
    match f.kind {
        "bad_data" => SourceError::BadQuery(f.message),
        "timeout" => SourceError::Timeout(0),
        _ => SourceError::Upstream(f.message),
    }
}

fn bad(message: String) -> SourceError {
    SourceError::BadQuery(message)
}

fn time_or(text: Option<&str>, default: i64) -> Result<i64, SourceError> {
    text.filter(|t| !t.is_empty())
        .map(params::time_ms)
        .transpose()
        .map(|t| t.unwrap_or(default))
        .map_err(bad)
}

impl MetricsSource for EmbeddedSource {
    fn query<'a>(&'a self, q: &'a InstantQuery) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let t = time_or(q.time.as_deref(), now_ms())?;
            let answer = self.0.instant(q.query.clone(), t).await.map_err(failure)?;
            Ok(answer.data())
        })
    }

    fn query_range<'a>(&'a self, q: &'a RangeQuery) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let start = params::time_ms(&q.start).map_err(bad)?;
            let end = params::time_ms(&q.end).map_err(bad)?;
            let step = params::duration_ms(&q.step).map_err(bad)?;
            let answer = self
                .0
                .range(q.query.clone(), start, end, step)
                .await
                .map_err(failure)?;
            Ok(answer.data())
        })
    }

    fn series<'a>(
        &'a self,
        matchers: &'a [String],
        start: Option<&'a str>,
        end: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let start = time_or(start, i64::MIN)?;
            let end = time_or(end, i64::MAX)?;
            self.0
                .series(matchers.to_vec(), start, end)
                .await
                .map_err(failure)
        })
    }

    fn label_names<'a>(
        &'a self,
        matchers: &'a [String],
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            self.0
                .label_names(matchers.to_vec(), i64::MIN, i64::MAX)
                .await
                .map_err(failure)
        })
    }

    fn label_values<'a>(&'a self, label: &'a str) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            self.0
                .label_values(label.to_owned(), Vec::new(), i64::MIN, i64::MAX)
                .await
                .map_err(failure)
        })
    }

    fn query_exemplars<'a>(
        &'a self,
        query: &'a str,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        let ms = |t: f64| (t * 1000.0).round() as i64;
        Box::pin(async move {
            self.0
                .query_exemplars(query, ms(start), ms(end))
                .map_err(failure)
        })
    }

    fn metadata<'a>(&'a self) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move { Ok(self.0.metadata()) })
    }
}
