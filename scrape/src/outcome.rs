//! What one scrape of a target turns into: the samples to store.
//!
//! [`process_scrape`] follows Prometheus's scrape loop. For each scraped sample:
//! target labels are added (a scraped label that conflicts is renamed
//! `exported_<name>`, unless `honor_labels`, where the scraped value wins);
//! `metric_relabel_configs` run (a dropped sample is skipped); the result must have a
//! valid `__name__` and label names and stay within `label_limit`,
//! `label_name_length_limit` and `label_value_length_limit`; timestamps are kept only
//! with `honor_timestamps`. More samples than `sample_limit` after relabeling, or any
//! invalid series, fails the whole scrape: nothing scraped is stored and `up` is 0.
//!
//! Every scrape, failed or not, also writes `up`, `scrape_duration_seconds`,
//! `scrape_samples_scraped`, `scrape_samples_post_metric_relabeling` and
//! `scrape_series_added` with the target's labels. `scrape_series_added` is
//! approximated as the series not written by the previous scrape (Prometheus counts
//! series new to its scrape cache, which is nearly the same). Series of the previous
//! scrape that are missing now (all of them when the scrape failed) get a StaleNaN.
//! Series with an exposed timestamp are not tracked for staleness, as in Prometheus.
//! A series repeated within one scrape is stored once (the first).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use crate::exposition::{parse_with, Format, MetricMetadata, ParseError, ParseOptions};
use crate::labels::{self, is_valid_label_name, is_valid_metric_name, Labels, METRIC_NAME};
use crate::relabel;
use crate::staleness::{disappeared, stale_nan, SeriesSet};
use crate::target::Target;

/// One sample to write to the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Sorted labels, `__name__` included.
    pub labels: Labels,
    pub timestamp_ms: i64,
    pub value: f64,
}

/// An exemplar to keep: the series it belongs to (after relabeling) and its own labels,
/// value and time (the scrape's when the exposition gave none).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub series: Labels,
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: i64,
}

/// What the HTTP request of a scrape gave.
#[derive(Debug, Clone, Copy)]
pub enum ScrapeResponse<'a> {
    /// A successful (2xx) response.
    Body {
        content_type: Option<&'a str>,
        body: &'a [u8],
    },
    /// The request failed (connection, timeout, non-2xx status, body too large…).
    Failed(&'a str),
}

/// One scrape of a target.
#[derive(Debug, Clone, Copy)]
pub struct Scrape<'a> {
    /// When the scrape started; the timestamp of every sample without its own.
    pub timestamp_ms: i64,
    /// How long it took, for `scrape_duration_seconds`.
    pub duration: Duration,
    pub response: ScrapeResponse<'a>,
}

/// Why a scrape counts as failed (`up` 0).
#[derive(Debug, Clone, PartialEq)]
pub enum ScrapeError {
    /// The request failed; the caller's message.
    Request(String),
    /// The body did not parse.
    Parse(ParseError),
    /// More samples than `sample_limit` after metric relabeling.
    SampleLimit { samples: usize, limit: u64 },
    /// A series that cannot be stored, or beyond a label limit; Prometheus's message.
    InvalidSeries(String),
}

impl fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScrapeError::Request(message) | ScrapeError::InvalidSeries(message) => {
                f.write_str(message)
            }
            ScrapeError::Parse(e) => write!(f, "parse error: {e}"),
            ScrapeError::SampleLimit { samples, limit } => write!(
                f,
                "sample limit exceeded: {samples} samples after metric relabeling, limit {limit}"
            ),
        }
    }
}

impl std::error::Error for ScrapeError {}

/// Everything one scrape produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// The scraped samples to store (none when the scrape failed).
    pub samples: Vec<Sample>,
    /// `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
    /// `scrape_samples_post_metric_relabeling`, `scrape_series_added`.
    pub report: Vec<Sample>,
    /// StaleNaN samples for series that disappeared.
    pub stale: Vec<Sample>,
    /// The series written, to pass as `previous` to the next scrape of this target.
    pub series: SeriesSet,
    /// The metric families' metadata, for `/api/v1/metadata`.
    pub metadata: Vec<MetricMetadata>,
    /// The scraped samples' exemplars (OpenMetrics), each with its series as stored.
    pub exemplars: Vec<Exemplar>,
    /// Why the scrape failed, if it did (also the targets API's `lastError`).
    pub error: Option<ScrapeError>,
}

impl Outcome {
    /// Whether the scrape succeeded (`up` 1).
    pub fn is_up(&self) -> bool {
        self.error.is_none()
    }

    /// All samples to write: scraped, report and staleness markers.
    pub fn into_samples(self) -> Vec<Sample> {
        let mut all = self.samples;
        all.extend(self.report);
        all.extend(self.stale);
        all
    }
}

/// The names of the synthetic series, in the order [`Outcome::report`] holds them.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Turns one scrape of `target` into what to store; `previous` is the
/// [`Outcome::series`] of its previous scrape (empty for the first).
pub fn process_scrape(target: &Target, scrape: Scrape<'_>, previous: &SeriesSet) -> Outcome {
    let mut outcome = Outcome::default();
    let mut counts = Counts::default();
    let result = match scrape.response {
        ScrapeResponse::Failed(message) => Err(ScrapeError::Request(message.to_owned())),
        ScrapeResponse::Body { content_type, body } => {
            let options = ParseOptions {
                fallback: target.fallback_format.or(Some(Format::PrometheusText)),
                ..ParseOptions::default()
            };
            parse_with(content_type, body, &options)
                .map_err(ScrapeError::Parse)
                .and_then(|parsed| {
                    outcome.metadata = parsed.metadata;
                    counts.scraped = parsed.samples.len();
                    append(
                        target,
                        parsed.samples,
                        scrape.timestamp_ms,
                        &mut outcome,
                        &mut counts,
                    )
                })
        }
    };
    if let Err(error) = result {
        outcome.samples.clear();
        outcome.exemplars.clear();
        outcome.series = SeriesSet::new();
        outcome.error = Some(error);
    }
    counts.series_added = outcome
        .series
        .iter()
        .filter(|s| !previous.contains(s))
        .count();
    outcome.stale = disappeared(previous, &outcome.series)
        .into_iter()
        .map(|labels| Sample {
            labels,
            timestamp_ms: scrape.timestamp_ms,
            value: stale_nan(),
        })
        .collect();
    let values = [
        if outcome.error.is_none() { 1.0 } else { 0.0 },
        scrape.duration.as_secs_f64(),
        counts.scraped as f64,
        counts.post_relabeling as f64,
        counts.series_added as f64,
    ];
    outcome.report = REPORT_SERIES
        .iter()
        .zip(values)
        .map(|(name, value)| Sample {
            labels: report_labels(target, name),
            timestamp_ms: scrape.timestamp_ms,
            value,
        })
        .collect();
    outcome
}

/// StaleNaN samples for everything a target wrote, for when it stops being scraped
/// (removed from the configuration): its last scrape's series and its report series.
pub fn end_of_run_markers(target: &Target, previous: &SeriesSet, timestamp_ms: i64) -> Vec<Sample> {
    let report = REPORT_SERIES.iter().map(|name| report_labels(target, name));
    disappeared(previous, &SeriesSet::new())
        .into_iter()
        .chain(report)
        .map(|labels| Sample {
            labels,
            timestamp_ms,
            value: stale_nan(),
        })
        .collect()
}

fn report_labels(target: &Target, name: &str) -> Labels {
    let mut labels = target.labels.clone();
    labels.push((METRIC_NAME.to_owned(), name.to_owned()));
    labels::normalize(labels)
}

#[derive(Default)]
struct Counts {
    scraped: usize,
    post_relabeling: usize,
    series_added: usize,
}

/// Labels, relabels, checks and collects the scraped samples.
fn append(
    target: &Target,
    scraped: Vec<crate::exposition::ScrapedSample>,
    scrape_ts: i64,
    outcome: &mut Outcome,
    counts: &mut Counts,
) -> Result<(), ScrapeError> {
    let mut seen: HashSet<Labels> = HashSet::new();
    for sample in scraped {
        let labels = with_target_labels(sample.name_labels, target);
        let Some(labels) = relabel::process(&labels, &target.metric_relabel_configs) else {
            continue;
        };
        if labels.is_empty() {
            continue;
        }
        check_series(&labels, target)?;
        if !seen.insert(labels.clone()) {
            continue;
        }
        counts.post_relabeling += 1;
        let timestamp_ms = match sample.timestamp_ms {
            Some(ts) if target.honor_timestamps => ts,
            _ => {
                outcome.series.insert(labels.clone());
                scrape_ts
            }
        };
        if let Some(e) = sample.exemplar {
            outcome.exemplars.push(Exemplar {
                series: labels.clone(),
                labels: e.labels,
                value: e.value,
                timestamp_ms: e.timestamp_ms.unwrap_or(scrape_ts),
            });
        }
        outcome.samples.push(Sample {
            labels,
            timestamp_ms,
            value: sample.value,
        });
    }
    let limit = target.limits.sample_limit;
    if limit > 0 && counts.post_relabeling as u64 > limit {
        return Err(ScrapeError::SampleLimit {
            samples: counts.post_relabeling,
            limit,
        });
    }
    Ok(())
}

/// Adds the target's labels to a scraped series, as Prometheus's `honor_labels` says.
fn with_target_labels(scraped: Labels, target: &Target) -> Labels {
    let mut lb: BTreeMap<String, String> = scraped.into_iter().collect();
    if target.honor_labels {
        for (name, value) in &target.labels {
            lb.entry(name.clone()).or_insert_with(|| value.clone());
        }
    } else {
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for (name, value) in &target.labels {
            if let Some(exposed) = lb.insert(name.clone(), value.clone()) {
                conflicts.push((name.clone(), exposed));
            }
        }
        conflicts.sort_by_key(|(name, _)| name.len());
        for (name, exposed) in conflicts {
            let mut new_name = format!("exported_{name}");
            while lb.contains_key(&new_name) {
                new_name = format!("exported_{new_name}");
            }
            lb.insert(new_name, exposed);
        }
    }
    lb.into_iter().collect()
}

/// Checks a series is storable and within the target's label limits, with
/// Prometheus's messages.
fn check_series(labels: &Labels, target: &Target) -> Result<(), ScrapeError> {
    let invalid = |m: String| Err(ScrapeError::InvalidSeries(m));
    let name = labels::get(labels, METRIC_NAME).unwrap_or("");
    if name.is_empty() {
        return invalid("__name__ label is missing".into());
    }
    if !is_valid_metric_name(name) || !labels.iter().all(|(n, _)| is_valid_label_name(n)) {
        return invalid(format!(
            "invalid metric name or label names: {}",
            labels::format(labels)
        ));
    }
    let metric: String = name.chars().take(50).collect();
    let limits = target.limits;
    if limits.label_limit > 0 && labels.len() as u64 > limits.label_limit {
        return invalid(format!(
            "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
            labels.len(),
            limits.label_limit
        ));
    }
    for (n, v) in labels {
        if limits.label_name_length_limit > 0 && n.len() as u64 > limits.label_name_length_limit {
            return invalid(format!(
                "label_name_length_limit exceeded (metric: {metric}, label name: {n}, length: {}, limit: {})",
                n.len(),
                limits.label_name_length_limit
            ));
        }
        if limits.label_value_length_limit > 0 && v.len() as u64 > limits.label_value_length_limit {
            return invalid(format!(
                "label_value_length_limit exceeded (metric: {metric}, label name: {n}, value: {:?}, length: {}, limit: {})",
                v.chars().take(50).collect::<String>(),
                v.len(),
                limits.label_value_length_limit
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ScrapeConfigFile;
    use crate::staleness::is_stale_nan;
    use crate::target::targets;

    fn target(job_extra: &str) -> Target {
        let yaml = format!(
            "scrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['h:9100'], labels: {{env: prod}}}}]\n{job_extra}"
        );
        targets(&ScrapeConfigFile::from_yaml(&yaml).unwrap()).remove(0)
    }

    fn scrape(body: &str) -> Scrape<'_> {
        scrape_as("text/plain; version=0.0.4", body.as_bytes())
    }

    fn scrape_as<'a>(content_type: &'a str, body: &'a [u8]) -> Scrape<'a> {
        Scrape {
            timestamp_ms: 5_000,
            duration: Duration::from_millis(250),
            response: ScrapeResponse::Body {
                content_type: Some(content_type),
                body,
            },
        }
    }

    fn shown(samples: &[Sample]) -> Vec<String> {
        samples
            .iter()
            .map(|s| {
                format!(
                    "{} {} @{}",
                    labels::format(&s.labels),
                    s.value,
                    s.timestamp_ms
                )
            })
            .collect()
    }

    fn report(o: &Outcome) -> Vec<f64> {
        o.report.iter().map(|s| s.value).collect()
    }

    #[test]
    fn target_labels_conflicts_and_timestamps() {
        let t = target("");
        let o = process_scrape(&t, scrape("a{env=\"x\"} 1\nb 2 1000\n"), &SeriesSet::new());
        assert_eq!(
            shown(&o.samples),
            [
                r#"a{env="prod", exported_env="x", instance="h:9100", job="node"} 1 @5000"#,
                r#"b{env="prod", instance="h:9100", job="node"} 2 @1000"#,
            ]
        );
        assert!(o.is_up());
        assert_eq!(report(&o), [1.0, 0.25, 2.0, 2.0, 1.0]);
        assert_eq!(
            shown(&o.report[..1]),
            [r#"up{env="prod", instance="h:9100", job="node"} 1 @5000"#]
        );
        assert_eq!(o.series.len(), 1, "the timestamped series is not tracked");
        assert!(o.stale.is_empty());
    }

    #[test]
    fn honor_labels_and_exported_chains() {
        let body = "a{job=\"scraped\",exported_job=\"e\"} 1\n";
        let o = process_scrape(
            &target("    honor_labels: true\n"),
            scrape(body),
            &SeriesSet::new(),
        );
        assert_eq!(
            shown(&o.samples),
            [r#"a{env="prod", exported_job="e", instance="h:9100", job="scraped"} 1 @5000"#]
        );
        let o = process_scrape(&target(""), scrape(body), &SeriesSet::new());
        assert_eq!(
            shown(&o.samples),
            [
                r#"a{env="prod", exported_exported_job="scraped", exported_job="e", instance="h:9100", job="node"} 1 @5000"#
            ]
        );
    }

    #[test]
    fn honor_timestamps_false_uses_the_scrape_time() {
        let o = process_scrape(
            &target("    honor_timestamps: false\n"),
            scrape("b 2 1000\n"),
            &SeriesSet::new(),
        );
        assert_eq!(o.samples[0].timestamp_ms, 5_000);
        assert_eq!(o.series.len(), 1);
    }

    #[test]
    fn exemplars_follow_their_series_through_relabeling() {
        let extra = "    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'dropped_.*', action: drop}\n      - {regex: env, action: labeldrop}\n";
        let body = "# TYPE r counter\n\
            r_total 3 # {trace_id=\"aa\"} 1 4.5\n\
            # TYPE dropped counter\n\
            dropped_total 1 # {trace_id=\"bb\"} 1\n\
            # TYPE h histogram\n\
            h_bucket{le=\"+Inf\"} 2 # {trace_id=\"cc\"} 0.2\n\
            h_count 2\n# EOF\n";
        let o = process_scrape(
            &target(extra),
            scrape_as(
                "application/openmetrics-text; version=1.0.0",
                body.as_bytes(),
            ),
            &SeriesSet::new(),
        );
        let kept: Vec<String> = o
            .exemplars
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} @{}",
                    labels::format(&e.series),
                    labels::format(&e.labels),
                    e.value,
                    e.timestamp_ms
                )
            })
            .collect();
        assert_eq!(
            kept,
            [
                r#"r_total{instance="h:9100", job="node"} {trace_id="aa"} 1 @4500"#,
                r#"h_bucket{instance="h:9100", job="node", le="+Inf"} {trace_id="cc"} 0.2 @5000"#,
            ]
        );
        let failed = process_scrape(
            &target("    sample_limit: 1\n"),
            scrape_as(
                "application/openmetrics-text; version=1.0.0",
                body.as_bytes(),
            ),
            &SeriesSet::new(),
        );
        assert!(!failed.is_up() && failed.exemplars.is_empty());
    }

    #[test]
    fn metric_relabeling_counts_and_drops() {
        let extra = "    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'go_.*', action: drop}\n      - {regex: env, action: labeldrop}\n";
        let o = process_scrape(
            &target(extra),
            scrape("go_x 1\ngo_y 1\nkeep 1\nkeep 2\n"),
            &SeriesSet::new(),
        );
        assert_eq!(
            shown(&o.samples),
            [r#"keep{instance="h:9100", job="node"} 1 @5000"#]
        );
        assert_eq!(
            report(&o)[2..],
            [4.0, 1.0, 1.0],
            "the repeated series is stored once"
        );
    }

    #[test]
    fn staleness_between_scrapes() {
        let t = target("");
        let first = process_scrape(&t, scrape("a 1\nc 1\n"), &SeriesSet::new());
        let second = process_scrape(&t, scrape("a 2\nd 1\n"), &first.series);
        assert_eq!(second.stale.len(), 1);
        assert!(is_stale_nan(second.stale[0].value));
        assert_eq!(labels::get(&second.stale[0].labels, METRIC_NAME), Some("c"));
        assert_eq!(second.stale[0].timestamp_ms, 5_000);
        assert_eq!(report(&second)[4], 1.0, "only d is new");
    }

    #[test]
    fn failures_store_nothing_and_mark_everything_stale() {
        let t = target("    sample_limit: 2\n");
        let first = process_scrape(&t, scrape("a 1\nb 1\n"), &SeriesSet::new());
        assert!(first.is_up());
        let over = process_scrape(&t, scrape("a 1\nb 1\nc 1\n"), &first.series);
        assert!(over.samples.is_empty());
        assert_eq!(over.stale.len(), 2);
        assert_eq!(report(&over), [0.0, 0.25, 3.0, 3.0, 0.0]);
        assert_eq!(
            over.error.as_ref().unwrap().to_string(),
            "sample limit exceeded: 3 samples after metric relabeling, limit 2"
        );
        let failed = Scrape {
            response: ScrapeResponse::Failed("connection refused"),
            ..scrape("")
        };
        let down = process_scrape(&t, failed, &first.series);
        assert_eq!(
            down.error,
            Some(ScrapeError::Request("connection refused".into()))
        );
        assert_eq!(report(&down), [0.0, 0.25, 0.0, 0.0, 0.0]);
        assert_eq!(down.stale.len(), 2);
        let bad = process_scrape(&t, scrape("a{\n"), &SeriesSet::new());
        assert!(matches!(bad.error, Some(ScrapeError::Parse(_))));
        assert_eq!(
            bad.error.unwrap().to_string(),
            "parse error: line 1: expected a label name at \"\""
        );
    }

    #[test]
    fn invalid_series_and_label_limits_fail_the_scrape() {
        let cases = [
            ("", "{\"my.metric\"} 1\n", "invalid metric name or label names: my.metric{env=\"prod\", instance=\"h:9100\", job=\"node\"}"),
            ("    label_limit: 4\n", "a{x=\"1\",y=\"2\"} 1\n", "label_limit exceeded (metric: a, number of labels: 6, limit: 4)"),
            ("    label_name_length_limit: 4\n", "a{longname=\"1\"} 1\n", "label_name_length_limit exceeded (metric: a, label name: __name__, length: 8, limit: 4)"),
            ("    label_value_length_limit: 4\n", "a 1\n", "label_value_length_limit exceeded (metric: a, label name: instance, value: \"h:9100\", length: 6, limit: 4)"),
            ("    metric_relabel_configs: [{regex: __name__, action: labeldrop}]\n", "a 1\n", "__name__ label is missing"),
        ];
        for (extra, body, want) in cases {
            let o = process_scrape(&target(extra), scrape(body), &SeriesSet::new());
            assert_eq!(
                o.error.map(|e| e.to_string()).as_deref(),
                Some(want),
                "{extra}"
            );
            assert!(o.samples.is_empty());
        }
    }

    #[test]
    fn openmetrics_and_fallback() {
        let t = target("");
        let om = scrape_as(
            "application/openmetrics-text; version=1.0.0",
            b"# TYPE c counter\nc_total 1 1.5\nc_created 1\n# EOF\n",
        );
        let o = process_scrape(&t, om, &SeriesSet::new());
        assert_eq!(
            shown(&o.samples),
            [r#"c_total{env="prod", instance="h:9100", job="node"} 1 @1500"#]
        );
        assert_eq!(o.metadata[0].metric_family, "c");
        let t = target("    fallback_scrape_protocol: OpenMetricsText1.0.0\n");
        let unknown = scrape_as("application/octet-stream", b"a 1\n");
        let o = process_scrape(&t, unknown, &SeriesSet::new());
        assert!(
            matches!(o.error, Some(ScrapeError::Parse(_))),
            "read as OpenMetrics: no # EOF"
        );
    }

    #[test]
    fn end_of_run() {
        let t = target("");
        let o = process_scrape(&t, scrape("a 1\n"), &SeriesSet::new());
        let markers = end_of_run_markers(&t, &o.series, 9_000);
        assert_eq!(markers.len(), 6);
        assert!(markers
            .iter()
            .all(|s| is_stale_nan(s.value) && s.timestamp_ms == 9_000));
        let all = o.into_samples();
        assert_eq!(all.len(), 6);
    }
}
