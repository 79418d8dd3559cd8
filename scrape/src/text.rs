//! The Prometheus text exposition format 0.0.4.
//!
//! ```text
//! # HELP http_requests_total Requests served.
//! # TYPE http_requests_total counter
//! http_requests_total{method="post",code="200"} 1027 1395066363000
//! ```
//!
//! Lines are samples, `# HELP` / `# TYPE` metadata, other comments, or blank. A
//! sample's optional timestamp is an integer in milliseconds. Histograms and
//! summaries are read as their plain `_bucket` / `_sum` / `_count` / quantile samples.
//! As in Prometheus's own parser, unknown backslash escapes in label values are kept
//! verbatim, and leading blanks on a line are tolerated.

use crate::exposition::{
    check_sample_count, lines, Format, Limits, MetadataBuilder, ParseError, Parsed,
};
use crate::lex::{read_metadata, read_sample, Cursor};

/// Parses a text-format body.
pub fn parse_text(body: &[u8], limits: &Limits) -> Result<Parsed, ParseError> {
    let mut samples = Vec::new();
    let mut metadata = MetadataBuilder::default();
    for line in lines(body, limits)? {
        let (no, line) = line?;
        let mut cur = Cursor::new(line);
        cur.skip_blanks();
        match cur.peek() {
            None => {}
            Some(b'#') => comment(cur, &mut metadata, limits).map_err(|e| at(no, e))?,
            Some(_) => {
                check_sample_count(&samples, limits, no)?;
                samples.push(
                    read_sample(&mut cur, Format::PrometheusText, limits).map_err(|e| at(no, e))?,
                );
            }
        }
    }
    Ok(Parsed {
        samples,
        metadata: metadata.finish(),
    })
}

fn at(line: usize, kind: crate::exposition::ParseErrorKind) -> ParseError {
    ParseError::new(line, kind)
}

type LineResult<T> = Result<T, crate::exposition::ParseErrorKind>;

/// A `#` line: `HELP` and `TYPE` are metadata, anything else is ignored.
fn comment(mut cur: Cursor<'_>, metadata: &mut MetadataBuilder, limits: &Limits) -> LineResult<()> {
    cur.eat(b'#');
    cur.skip_blanks();
    let keyword = cur.token();
    if !matches!(keyword, "HELP" | "TYPE") || !cur.skip_blanks() {
        return Ok(());
    }
    read_metadata(&mut cur, keyword, Format::PrometheusText, metadata, limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Limit, MetricType, ParseErrorKind};
    use crate::labels::format;

    fn parse(body: &str) -> Result<Parsed, ParseError> {
        parse_text(body.as_bytes(), &Limits::default())
    }

    fn names(p: &Parsed) -> Vec<String> {
        p.samples.iter().map(|s| format(&s.name_labels)).collect()
    }

    #[test]
    fn documentation_example() {
        // The example from the Prometheus exposition format documentation.
        let body = r#"# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
"#;
        let p = parse(body).unwrap();
        assert_eq!(p.samples.len(), 12);
        assert_eq!(
            names(&p)[0],
            r#"http_requests_total{code="200", method="post"}"#
        );
        assert_eq!(p.samples[0].timestamp_ms, Some(1395066363000));
        assert_eq!(p.samples[1].value, 3.0);
        assert_eq!(
            p.samples[2].name_labels[1],
            ("error".into(), "Cannot find file:\n\"FILE.TXT\"".into())
        );
        assert_eq!(
            p.samples[2].name_labels[2],
            ("path".into(), r"C:\DIR\FILE.TXT".into())
        );
        assert_eq!(p.samples[2].value, 1.458255915e9);
        assert_eq!(p.samples[3].timestamp_ms, None);
        assert_eq!(p.samples[4].value, f64::INFINITY);
        assert_eq!(p.samples[4].timestamp_ms, Some(-3982045));
        assert_eq!(p.samples[11].value, 2693.0);
        let families: Vec<_> = p
            .metadata
            .iter()
            .map(|m| (m.metric_family.as_str(), m.metric_type, m.help.as_str()))
            .collect();
        assert_eq!(
            families,
            vec![
                (
                    "http_requests_total",
                    MetricType::Counter,
                    "The total number of HTTP requests."
                ),
                (
                    "http_request_duration_seconds",
                    MetricType::Histogram,
                    "A histogram of the request duration."
                ),
                (
                    "rpc_duration_seconds",
                    MetricType::Summary,
                    "A summary of the RPC duration in seconds."
                ),
            ]
        );
    }

    #[test]
    fn crlf_blank_lines_and_comments() {
        let p = parse("# just a comment\r\n\r\n  \r\na 1\r\n#TYPE a gauge\r\nb{c=\"d\"} NaN\r\n")
            .unwrap();
        assert_eq!(names(&p), vec!["a", r#"b{c="d"}"#]);
        assert!(p.samples[1].value.is_nan());
        // Blanks between '#' and the keyword are optional.
        assert_eq!(p.metadata[0].metric_type, MetricType::Gauge);
    }

    #[test]
    fn untyped_and_help_escapes() {
        let p = parse("# TYPE a untyped\n# HELP a line\\nnext \\\\ \\\"q\\\"\na 1\n").unwrap();
        assert_eq!(p.metadata[0].metric_type, MetricType::Unknown);
        assert_eq!(p.metadata[0].help, "line\nnext \\ \\\"q\\\"");
        let p = parse("# HELP a\na 1\n").unwrap();
        assert_eq!(p.metadata[0].help, "");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("a 1\nb\n", 2, "expected a value"),
            ("a 1\nb x\n", 2, "invalid value \"x\""),
            ("a 1 2 3\n", 1, "unexpected text after the sample: \"3\""),
            ("a 1 1.5\n", 1, "invalid timestamp \"1.5\""),
            ("\n\n# TYPE a bogus\n", 3, "invalid metric type \"bogus\""),
            ("# TYPE a\n", 1, "missing type for metric \"a\""),
            ("a{b=\"c\"\n", 1, "expected ',' or '}' at \"\""),
            ("a{b=\"c\\\"} 1\n", 1, "unterminated quoted string"),
            (
                "a{b=\"1\",b=\"2\"} 1\n",
                1,
                "label name \"b\" is not unique",
            ),
            ("a 1 # exemplar\n", 1, "invalid timestamp \"#\""),
            ("a+1\n", 1, "expected a blank before the value at \"+1\""),
        ];
        for (body, line, message) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(err.line, line, "{body:?}");
            assert_eq!(
                err.to_string(),
                format!("line {line}: {message}"),
                "{body:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let err = parse_text(b"a 1\nb{c=\"\xff\"} 1\n", &Limits::default()).unwrap_err();
        assert_eq!(err, ParseError::new(2, ParseErrorKind::InvalidUtf8));
        assert_eq!(err.to_string(), "line 2: invalid UTF-8");
    }

    #[test]
    fn limits_name_what_was_exceeded() {
        let limits = Limits {
            max_line_bytes: 10,
            max_samples: 2,
            ..Limits::default()
        };
        let err = parse_text(b"a 1\nabcdefghijk 1\n", &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: line length in bytes exceeds the limit of 10"
        );
        let err = parse_text(b"a 1\nb 1\nc 1\n", &limits).unwrap_err();
        assert_eq!(
            err.kind,
            ParseErrorKind::LimitExceeded {
                limit: Limit::Samples,
                max: 2
            }
        );
        assert_eq!(err.line, 3);
    }

    #[test]
    fn huge_line_and_many_labels_are_refused() {
        let huge = format!("a{{b=\"{}\"}} 1\n", "x".repeat(2 << 20));
        let err = parse(&huge).unwrap_err();
        assert_eq!(
            err.kind,
            ParseErrorKind::LimitExceeded {
                limit: Limit::LineBytes,
                max: 1 << 20
            }
        );
        let many: Vec<String> = (0..300).map(|i| format!("l{i}=\"v\"")).collect();
        let err = parse(&format!("a{{{}}} 1\n", many.join(","))).unwrap_err();
        assert_eq!(
            err.kind,
            ParseErrorKind::LimitExceeded {
                limit: Limit::Labels,
                max: 256
            }
        );
    }

    #[test]
    fn empty_body() {
        assert_eq!(parse("").unwrap(), Parsed::default());
        assert_eq!(parse("\n").unwrap(), Parsed::default());
    }

    #[test]
    fn braces_need_no_blank_before_value() {
        let p = parse("a{b=\"c\"}1\n").unwrap();
        assert_eq!(p.samples[0].value, 1.0);
        // Digits continue a name: "a1" is a metric without a value.
        assert!(parse("a1\n").is_err());
        assert!(parse("a 1\n").is_ok());
    }
}
