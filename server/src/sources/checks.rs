//! What a caller may ask a metrics source, checked before the source is asked: `match[]`
//! selectors (at most 20, each within the PromQL limits), label names, the M4 width; the
//! connection test an admin runs from the data-source form; and the health check of a
//! source of any family that the home page shows.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::logs::LogQuery;
use super::registry::Client;
use super::{m4, InstantQuery, MetricsSource, RangeQuery, SourceError};
use crate::error::Error;

/// At most this many `match[]` selectors per request.
pub const MAX_SELECTORS: usize = 20;

/// Selectors of a request, refused whole when there are too many or one is too large.
pub fn selectors(matchers: Vec<String>) -> Result<Vec<String>, Error> {
    if matchers.len() > MAX_SELECTORS {
        return Err(Error::invalid("match[]", "at most 20 selectors"));
    }
    for m in &matchers {
        crate::promql_syntax::check_limits(m).map_err(|e| Error::invalid("match[]", e.message))?;
    }
    Ok(matchers)
}

/// A label name to list the values of (`__name__` for metric names), checked as `field`.
pub fn label_name(field: &'static str, name: &str) -> Result<(), Error> {
    if crate::promql_syntax::is_label_name(name) || name == "__name__" {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("`{name}` is not a label name"),
        ))
    }
}

/// An M4 width in pixels (1–10000), from the `width` parameter.
pub fn m4_width(given: &str) -> Result<usize, Error> {
    given
        .parse::<usize>()
        .ok()
        .filter(|w| (1..=10_000).contains(w))
        .ok_or_else(|| Error::invalid("width", "must be a whole number of pixels from 1 to 10000"))
}

/// A range query's matrix, and what M4 made of it: (points before, points after), when
/// the query's `start` and `end` are times M4 can map to pixel columns.
pub struct Downsampled {
    pub data: Value,
    pub points: Option<(usize, usize)>,
}

/// Asks `src` for a range and thins every series by M4 to `width` pixel columns.
pub async fn query_range_m4(
    src: &dyn MetricsSource,
    q: &RangeQuery,
    width: usize,
) -> Result<Downsampled, SourceError> {
    let mut data = src.query_range(q).await?;
    let points = match (seconds(&q.start), seconds(&q.end)) {
        (Some(s), Some(e)) => Some(downsample(&mut data, s, e, width)),
        _ => None,
    };
    Ok(Downsampled { data, points })
}

/// Unix seconds or RFC 3339, as Prometheus's `start` and `end` take them.
fn seconds(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis() as f64 / 1000.0)
    })
}

/// Applies M4 to every series of a range query's matrix; returns (points before, points
/// after).
pub fn downsample(data: &mut Value, start: f64, end: f64, width: usize) -> (usize, usize) {
    let (mut before, mut after) = (0, 0);
    for series in data["result"].as_array_mut().into_iter().flatten() {
        let Some(values) = series["values"].as_array() else {
            continue;
        };
        let points: Vec<(f64, f64)> = values
            .iter()
            .map(|v| {
                (
                    v[0].as_f64().unwrap_or(0.0),
                    v[1].as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(f64::NAN),
                )
            })
            .collect();
        let keep = m4::m4_indices(&points, start, end, width);
        before += values.len();
        after += keep.len();
        let kept: Vec<Value> = keep.into_iter().map(|i| values[i].clone()).collect();
        series["values"] = Value::Array(kept);
    }
    (before, after)
}

/// The outcome of "test connection": whether the source answered `1+1` with 2.
#[derive(Debug, Serialize)]
pub struct ConnectionTest {
    pub ok: bool,
    pub message: String,
    pub elapsed_ms: u64,
}

/// Asks the source `1+1` and says how that went.
pub async fn test_connection(src: &dyn MetricsSource) -> ConnectionTest {
    let started = Instant::now();
    let result = src
        .query(&InstantQuery {
            query: "1+1".into(),
            ..Default::default()
        })
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let (ok, message) = match result {
        Ok(data) if data["result"][1] == "2" => (true, "the source answered a query".to_owned()),
        Ok(data) => (false, format!("unexpected answer to 1+1: {data}")),
        Err(e) => (false, e.to_string()),
    };
    ConnectionTest {
        ok,
        message,
        elapsed_ms,
    }
}

/// How far back the health checks of log and trace sources look.
const HEALTH_WINDOW_SECONDS: f64 = 300.0;

/// Whether a source of any family answers one cheap real call within `timeout`: a metrics
/// source `1+1`, a log source the field names of the last five minutes, a trace source the
/// services of the last five minutes.
pub async fn health(client: &Client, timeout: Duration) -> ConnectionTest {
    let started = Instant::now();
    let end = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let start = end - HEALTH_WINDOW_SECONDS;
    let asked = async {
        match client {
            Client::Metrics(c) => {
                let t = test_connection(c.as_ref()).await;
                (t.ok, t.message)
            }
            Client::Logs(c) => {
                let q = LogQuery {
                    start,
                    end,
                    limit: 1,
                    ..Default::default()
                };
                answered(c.field_names(&q).await, "field names")
            }
            Client::Traces(c) => answered(c.services(start, end).await, "services"),
        }
    };
    let (ok, message) = match tokio::time::timeout(timeout, asked).await {
        Ok(outcome) => outcome,
        Err(_) => (
            false,
            format!("no answer within {} ms", timeout.as_millis()),
        ),
    };
    ConnectionTest {
        ok,
        message,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

/// `(ok, message)` of a listing call.
fn answered<T>(result: Result<Vec<T>, SourceError>, what: &str) -> (bool, String) {
    match result {
        Ok(list) => (true, format!("the source listed {} {what}", list.len())),
        Err(e) => (false, e.to_string()),
    }
}
