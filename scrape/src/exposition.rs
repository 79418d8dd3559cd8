//! What the exposition parsers produce, their limits and errors, and [`parse`], which
//! picks a parser by `Content-Type`.

use std::collections::HashMap;
use std::fmt;

use crate::labels::Labels;

/// One sample read from an exposition, before any target labels or relabeling.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedSample {
    /// The series' labels, `__name__` included, sorted by name, empty values dropped.
    pub name_labels: Labels,
    /// The exposed timestamp in milliseconds, if the line had one.
    pub timestamp_ms: Option<i64>,
    /// The sample value (`NaN` and infinities included).
    pub value: f64,
    /// The exemplar after ` # ` (OpenMetrics only).
    pub exemplar: Option<ScrapedExemplar>,
}

/// An OpenMetrics exemplar: `# {trace_id="…"} value [timestamp]` after a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrapedExemplar {
    /// Its own labels (e.g. `trace_id`, `span_id`), sorted by name.
    pub labels: Labels,
    pub value: f64,
    /// Its timestamp in milliseconds, if it had one.
    pub timestamp_ms: Option<i64>,
}

/// A metric family's type as announced by `# TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// No `# TYPE` line, `untyped` (text format) or `unknown` (OpenMetrics).
    #[default]
    Unknown,
}

impl MetricType {
    /// The name Prometheus's `/api/v1/metadata` reports for this type.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `# TYPE`, `# HELP` and `# UNIT` of one metric family, as exposed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricMetadata {
    /// The family name as written in the metadata lines (for an OpenMetrics counter
    /// this is the name without `_total`).
    pub metric_family: String,
    pub metric_type: MetricType,
    pub help: String,
    pub unit: String,
}

/// The exposition format of a scrape body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4 (`text/plain`).
    PrometheusText,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header names, or `None` when it names neither.
    ///
    /// Parameters (`; version=…`, `; charset=…`) are ignored; the media type is
    /// compared case-insensitively.
    pub fn from_content_type(content_type: &str) -> Option<Format> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Some(Format::OpenMetrics)
        } else if media.eq_ignore_ascii_case("text/plain") {
            Some(Format::PrometheusText)
        } else {
            None
        }
    }

    /// The `Accept` header a scraper should send to be offered both formats,
    /// OpenMetrics first (as Prometheus does).
    pub const ACCEPT_HEADER: &'static str =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
}

/// Bounds on what a parser accepts, so a hostile or broken target cannot exhaust memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body, in bytes.
    pub max_body_bytes: usize,
    /// Longest line, in bytes, line ending excluded.
    pub max_line_bytes: usize,
    /// Most labels on one sample, `__name__` included.
    pub max_labels: usize,
    /// Longest label name, in bytes.
    pub max_label_name_bytes: usize,
    /// Longest label value (after unescaping), in bytes.
    pub max_label_value_bytes: usize,
    /// Most samples in one body.
    pub max_samples: usize,
}

impl Default for Limits {
    /// Generous bounds no sane exporter reaches: 64 MiB bodies, 1 MiB lines, 256 labels,
    /// 1 KiB label names, 64 KiB label values, a million samples.
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 << 20,
            max_line_bytes: 1 << 20,
            max_labels: 256,
            max_label_name_bytes: 1 << 10,
            max_label_value_bytes: 64 << 10,
            max_samples: 1_000_000,
        }
    }
}

/// Which of the [`Limits`] was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    BodyBytes,
    LineBytes,
    Labels,
    LabelNameBytes,
    LabelValueBytes,
    Samples,
}

impl Limit {
    fn describe(self) -> &'static str {
        match self {
            Limit::BodyBytes => "body size in bytes",
            Limit::LineBytes => "line length in bytes",
            Limit::Labels => "number of labels on a sample",
            Limit::LabelNameBytes => "label name length in bytes",
            Limit::LabelValueBytes => "label value length in bytes",
            Limit::Samples => "number of samples",
        }
    }
}

/// How parsing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The text does not follow the format; the message says what was expected.
    Syntax(String),
    /// A [`Limits`] bound was exceeded.
    LimitExceeded { limit: Limit, max: usize },
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// An OpenMetrics body did not end with `# EOF`.
    MissingEof,
    /// The `Content-Type` names a format this crate does not parse.
    UnsupportedContentType(String),
}

/// A parse failure and the 1-based line it happened on (0 when it concerns the whole body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(line: usize, kind: ParseErrorKind) -> Self {
        ParseError { line, kind }
    }

    pub(crate) fn syntax(line: usize, message: impl Into<String>) -> Self {
        ParseError::new(line, ParseErrorKind::Syntax(message.into()))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        match &self.kind {
            ParseErrorKind::Syntax(message) => f.write_str(message),
            ParseErrorKind::LimitExceeded { limit, max } => {
                write!(f, "{} exceeds the limit of {max}", limit.describe())
            }
            ParseErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ParseErrorKind::MissingEof => {
                f.write_str("OpenMetrics body does not end with \"# EOF\"")
            }
            ParseErrorKind::UnsupportedContentType(ct) => {
                write!(f, "unsupported Content-Type {ct:?}")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Options for [`parse_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    pub limits: Limits,
    /// The format for a missing or unrecognised `Content-Type`; `None` makes that an
    /// error (Prometheus 3 without `fallback_scrape_protocol`). Defaults to the text format.
    pub fallback: Option<Format>,
    /// Keep OpenMetrics `_created` samples of counters, histograms and summaries.
    /// Prometheus drops them by default; so does this crate.
    pub keep_created_samples: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            limits: Limits::default(),
            fallback: Some(Format::PrometheusText),
            keep_created_samples: false,
        }
    }
}

/// A parsed exposition: its samples in body order and its metric families' metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    pub samples: Vec<ScrapedSample>,
    /// One entry per family named in a `# TYPE`, `# HELP` or `# UNIT` line, in order of
    /// first appearance.
    pub metadata: Vec<MetricMetadata>,
}

impl Parsed {
    /// The metadata of the family a sample's metric name belongs to: the family of that
    /// exact name, else the one its name minus a conventional suffix (`_total`,
    /// `_bucket`, `_sum`, `_count`, `_created`, `_gcount`, `_gsum`, `_info`) names.
    pub fn metadata_for(&self, metric_name: &str) -> Option<&MetricMetadata> {
        const SUFFIXES: [&str; 8] = [
            "_total", "_bucket", "_sum", "_count", "_created", "_gcount", "_gsum", "_info",
        ];
        let find = |name: &str| self.metadata.iter().find(|m| m.metric_family == name);
        find(metric_name).or_else(|| {
            SUFFIXES
                .iter()
                .filter_map(|s| metric_name.strip_suffix(s))
                .find_map(find)
        })
    }
}

/// Parses a scrape body in the format its `Content-Type` names, with default options.
///
/// `application/openmetrics-text` selects OpenMetrics, `text/plain` (or no header, or
/// one naming another format) the Prometheus text format.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Parsed, ParseError> {
    parse_with(content_type, body, &ParseOptions::default())
}

/// [`parse`] with explicit options.
pub fn parse_with(
    content_type: Option<&str>,
    body: &[u8],
    options: &ParseOptions,
) -> Result<Parsed, ParseError> {
    let format = content_type
        .and_then(Format::from_content_type)
        .or(options.fallback)
        .ok_or_else(|| {
            ParseError::new(
                0,
                ParseErrorKind::UnsupportedContentType(content_type.unwrap_or("").to_owned()),
            )
        })?;
    match format {
        Format::PrometheusText => crate::text::parse_text(body, &options.limits),
        Format::OpenMetrics => crate::openmetrics::parse_openmetrics(body, options),
    }
}

/// Collects metadata lines, merging the `TYPE`, `HELP` and `UNIT` of each family.
#[derive(Default)]
pub(crate) struct MetadataBuilder {
    entries: Vec<MetricMetadata>,
    index: HashMap<String, usize>,
}

impl MetadataBuilder {
    pub(crate) fn entry(&mut self, family: &str) -> &mut MetricMetadata {
        let i = match self.index.get(family) {
            Some(&i) => i,
            None => {
                self.entries.push(MetricMetadata {
                    metric_family: family.to_owned(),
                    ..MetricMetadata::default()
                });
                self.index.insert(family.to_owned(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    pub(crate) fn get(&self, family: &str) -> Option<&MetricMetadata> {
        self.index.get(family).map(|&i| &self.entries[i])
    }

    pub(crate) fn finish(self) -> Vec<MetricMetadata> {
        self.entries
    }
}

/// Splits a body into `(line number, line)`, tolerating `\r\n`, enforcing the body and
/// line limits and UTF-8. A final newline does not yield an extra empty line.
pub(crate) fn lines<'a>(
    body: &'a [u8],
    limits: &Limits,
) -> Result<impl Iterator<Item = Result<(usize, &'a str), ParseError>> + 'a, ParseError> {
    if body.len() > limits.max_body_bytes {
        return Err(ParseError::new(
            0,
            ParseErrorKind::LimitExceeded {
                limit: Limit::BodyBytes,
                max: limits.max_body_bytes,
            },
        ));
    }
    let max_line = limits.max_line_bytes;
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    let pieces = if body.is_empty() {
        None
    } else {
        Some(body.split(|&b| b == b'\n'))
    };
    Ok(pieces
        .into_iter()
        .flatten()
        .enumerate()
        .map(move |(i, raw)| {
            let line_no = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.len() > max_line {
                return Err(ParseError::new(
                    line_no,
                    ParseErrorKind::LimitExceeded {
                        limit: Limit::LineBytes,
                        max: max_line,
                    },
                ));
            }
            std::str::from_utf8(raw)
                .map(|s| (line_no, s))
                .map_err(|_| ParseError::new(line_no, ParseErrorKind::InvalidUtf8))
        }))
}

/// The error for a sample beyond [`Limits::max_samples`].
pub(crate) fn check_sample_count(
    samples: &[ScrapedSample],
    limits: &Limits,
    line: usize,
) -> Result<(), ParseError> {
    if samples.len() >= limits.max_samples {
        return Err(ParseError::new(
            line,
            ParseErrorKind::LimitExceeded {
                limit: Limit::Samples,
                max: limits.max_samples,
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_selects_the_format() {
        let cases = [
            (
                "text/plain; version=0.0.4; charset=utf-8",
                Some(Format::PrometheusText),
            ),
            ("text/plain", Some(Format::PrometheusText)),
            (
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                Some(Format::OpenMetrics),
            ),
            ("Application/OpenMetrics-Text", Some(Format::OpenMetrics)),
            (
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily",
                None,
            ),
            ("", None),
        ];
        for (ct, want) in cases {
            assert_eq!(Format::from_content_type(ct), want, "{ct}");
        }
    }

    #[test]
    fn parse_dispatches_and_falls_back() {
        let om = parse(Some("application/openmetrics-text"), b"a 1\n# EOF\n").unwrap();
        assert_eq!(om.samples.len(), 1);
        // Read as text, "# EOF" is just a comment.
        assert!(parse(Some("text/plain"), b"a 1\n# EOF\n").is_ok());
        assert!(parse(None, b"a 1\n").is_ok());
        assert!(parse(Some("application/json"), b"a 1\n").is_ok());
        let strict = ParseOptions {
            fallback: None,
            ..ParseOptions::default()
        };
        let err = parse_with(Some("application/json"), b"a 1\n", &strict).unwrap_err();
        assert_eq!(
            err.kind,
            ParseErrorKind::UnsupportedContentType("application/json".into())
        );
        assert_eq!(
            err.to_string(),
            "unsupported Content-Type \"application/json\""
        );
    }

    #[test]
    fn body_limit() {
        let opts = ParseOptions {
            limits: Limits {
                max_body_bytes: 4,
                ..Limits::default()
            },
            ..ParseOptions::default()
        };
        let err = parse_with(None, b"abc 1\n", &opts).unwrap_err();
        assert_eq!(err.to_string(), "body size in bytes exceeds the limit of 4");
    }

    #[test]
    fn metadata_lookup_by_suffix() {
        let p = parse(
            Some("application/openmetrics-text"),
            b"# TYPE foo counter\n# HELP foo Foos.\nfoo_total 1\n# EOF\n",
        )
        .unwrap();
        let m = p.metadata_for("foo_total").unwrap();
        assert_eq!(m.metric_type, MetricType::Counter);
        assert_eq!(m.help, "Foos.");
        assert!(p.metadata_for("bar").is_none());
    }
}
