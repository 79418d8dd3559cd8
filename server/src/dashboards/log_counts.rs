//! Log counts as time series: a `log_count` target's query counted per interval by its logs
//! source's histogram — one series of all matching lines, or one per value of `split_by`
//! (the most common values first, at most [`MAX_LOG_COUNT_SERIES`]) — drawn by the same
//! charts as PromQL. Bounded: at most [`MAX_BUCKETS`] points per series (the bucket widens
//! to fit the range), and one histogram scan per series.

use super::model::Target;
use super::render::LogsResolve;
use crate::charts::series::Series;
use crate::charts::Named;
use crate::error::Error;
use crate::sources::logs::{LogHistogram, LogQuery};

pub use wire::dashboard::MAX_LOG_COUNT_SERIES;

/// Most buckets (points) of one log-count series.
pub const MAX_BUCKETS: f64 = 1_000.0;

/// The field names that split by severity (the histogram's own levels, one scan).
const LEVEL_FIELDS: [&str; 3] = ["level", "severity", "severity_text"];

/// Bucket widths a chart step is rounded up to (seconds): counts per round interval read
/// better than counts per 37 s.
const NICE: [f64; 17] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0,
];

/// The bucket width for a range of `span` seconds drawn at `step`: at least the target's
/// `interval` (a minimum, as Grafana's "Min interval"), at least the step rounded up to a
/// round width, and wide enough that the range holds at most [`MAX_BUCKETS`].
pub fn bucket_width(interval: Option<f64>, step: f64, span: f64) -> f64 {
    let step = NICE
        .iter()
        .copied()
        .find(|n| *n >= step)
        .unwrap_or_else(|| (step / 86400.0).ceil() * 86400.0);
    let wanted = interval.unwrap_or(0.0).max(step).max(1.0);
    wanted.max((span / MAX_BUCKETS).ceil())
}

/// A value in the log store's language: bare when it is a plain word, else a phrase.
pub fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !["and", "or", "not"].contains(&v.to_ascii_lowercase().as_str());
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn points(h: &LogHistogram, column: Option<usize>) -> Vec<(f64, f64)> {
    h.counts
        .iter()
        .enumerate()
        .map(|(i, bucket)| {
            let n: u64 = match column {
                Some(c) => bucket.get(c).copied().unwrap_or(0),
                None => bucket.iter().sum(),
            };
            (h.start + i as f64 * h.step, n as f64)
        })
        .collect()
}

fn named(
    labels: Vec<(String, String)>,
    points: Vec<(f64, f64)>,
    legend: &str,
    query: &str,
) -> Named {
    (
        Series { labels, points },
        (legend.to_owned(), query.to_owned()),
    )
}

/// The series of one log-count target (`query` is its text with variables filled in) over
/// `[start, end)`, drawn at `step` seconds; with the number of series there were before the
/// cut to [`MAX_LOG_COUNT_SERIES`], and the bucket width.
pub async fn series(
    logs: &LogsResolve,
    t: &Target,
    query: &str,
    legend: &str,
    (start, end, step): (f64, f64, f64),
) -> Result<(Vec<Named>, usize, f64), Error> {
    let interval = if t.interval.is_empty() {
        None
    } else {
        let d = crate::promql_syntax::duration::PromDuration::parse(&t.interval)
            .map_err(|m| Error::invalid("interval", m))?;
        Some(d.seconds())
    };
    let width = bucket_width(interval, step, end - start);
    // Buckets on multiples of their width, so a bucket counts the same lines at any zoom.
    let from = (start / width).floor() * width;
    let source = logs(t.datasource).await?;
    let q = LogQuery {
        query: query.to_owned(),
        start: from,
        end,
        limit: MAX_LOG_COUNT_SERIES,
        cursor: None,
    };
    let split = t.split_by.as_str();
    if split.is_empty() {
        let h = source.histogram(&q, width).await?;
        return Ok((
            vec![named(Vec::new(), points(&h, None), legend, query)],
            1,
            width,
        ));
    }
    if LEVEL_FIELDS.contains(&split) {
        let h = source.histogram(&q, width).await?;
        let mut out: Vec<(u64, Named)> = h
            .levels
            .iter()
            .enumerate()
            .map(|(c, level)| {
                let total: u64 = h
                    .counts
                    .iter()
                    .map(|b| b.get(c).copied().unwrap_or(0))
                    .sum();
                let labels = vec![(split.to_owned(), level.clone())];
                (total, named(labels, points(&h, Some(c)), legend, query))
            })
            .filter(|(total, _)| *total > 0)
            .collect();
        // The most lines first, as the other fields' values come.
        out.sort_by_key(|b| std::cmp::Reverse(b.0));
        let n = out.len();
        return Ok((out.into_iter().map(|(_, s)| s).collect(), n, width));
    }
    // One more than drawn: whether values were left out.
    let values = source
        .field_values(
            split,
            &LogQuery {
                limit: MAX_LOG_COUNT_SERIES + 1,
                ..q.clone()
            },
        )
        .await?;
    let distinct = values.len();
    let runs = values.iter().take(MAX_LOG_COUNT_SERIES).map(|v| {
        let source = source.clone();
        let one = LogQuery {
            query: if query.trim().is_empty() || query.trim() == "*" {
                format!("{split}:{}", quote(&v.name))
            } else {
                format!("({query}) AND {split}:{}", quote(&v.name))
            },
            ..q.clone()
        };
        async move {
            let h = source.histogram(&one, width).await?;
            Ok::<_, Error>(named(
                vec![(split.to_owned(), v.name.clone())],
                points(&h, None),
                legend,
                query,
            ))
        }
    });
    let mut out = Vec::new();
    for s in futures::future::join_all(runs).await {
        out.push(s?);
    }
    Ok((out, distinct, width))
}

/// `$var` in a log query: one value as a word or phrase, several as `(a OR b)`, "All"
/// without options as `*`.
pub fn fill_value(vals: &[String], any: &str) -> String {
    match vals {
        [] => String::new(),
        [one] if one == any => "*".into(),
        [one] => quote(one),
        many => format!(
            "({})",
            many.iter()
                .map(|v| quote(v))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    }
}

/// Which targets of a panel count logs (for the panel's body to pick its path).
pub fn any_log_counts(targets: &[Target]) -> bool {
    targets.iter().any(|t| !t.kind.is_promql())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_round_at_least_the_interval_and_few_enough() {
        assert_eq!(bucket_width(None, 37.0, 3600.0), 60.0);
        assert_eq!(bucket_width(Some(300.0), 37.0, 3600.0), 300.0);
        // 30 days at a 1 s minimum: widened to at most MAX_BUCKETS buckets.
        let w = bucket_width(Some(1.0), 1.0, 30.0 * 86400.0);
        assert!(30.0 * 86400.0 / w <= MAX_BUCKETS, "{w}");
    }

    #[test]
    fn values_are_quoted_for_the_log_language() {
        assert_eq!(quote("api"), "api");
        assert_eq!(quote("checkout service"), "\"checkout service\"");
        assert_eq!(quote("or"), "\"or\"");
        assert_eq!(
            fill_value(&["a".into(), "b c".into()], "\u{0}any"),
            "(a OR \"b c\")"
        );
    }
}
