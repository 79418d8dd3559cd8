//! The OpenMetrics 1.0 text format.
//!
//! ```text
//! # TYPE acme_http_router_request_seconds summary
//! # UNIT acme_http_router_request_seconds seconds
//! # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
//! acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
//! acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
//! acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
//! # EOF
//! ```
//!
//! Differences from the text format: the body must end with `# EOF`; the only comments
//! are `# HELP`, `# TYPE`, `# UNIT` and `# EOF`; timestamps are in seconds, with an
//! optional fraction; a sample may carry an exemplar after ` # `, which is ignored.
//! Counter families are named without `_total` in metadata while their samples keep
//! it, as Prometheus stores them. `_created` samples of counters, histograms and
//! summaries are dropped unless [`ParseOptions::keep_created_samples`] is set, as
//! Prometheus does by default.
//!
//! Tolerated beyond the specification (as Prometheus's parser tolerates them): blank
//! lines, runs of blanks between tokens, unknown backslash escapes in label values.

use crate::exposition::{
    check_sample_count, lines, Format, Limits, MetadataBuilder, MetricType, ParseError,
    ParseErrorKind, ParseOptions, Parsed, ScrapedSample,
};
use crate::labels::METRIC_NAME;
use crate::lex::{excerpt, parse_value, read_metadata, read_sample, Cursor};

type LineResult<T> = Result<T, ParseErrorKind>;

fn syntax<T>(message: impl Into<String>) -> LineResult<T> {
    Err(ParseErrorKind::Syntax(message.into()))
}

/// Parses an OpenMetrics body.
pub fn parse_openmetrics(body: &[u8], options: &ParseOptions) -> Result<Parsed, ParseError> {
    let limits = &options.limits;
    let mut samples = Vec::new();
    let mut metadata = MetadataBuilder::default();
    let mut eof = false;
    for line in lines(body, limits)? {
        let (no, line) = line?;
        if eof {
            return Err(ParseError::syntax(no, "unexpected content after \"# EOF\""));
        }
        let mut cur = Cursor::new(line);
        match cur.peek() {
            None => {}
            Some(b'#') => {
                eof = metadata_line(cur, &mut metadata, limits)
                    .map_err(|e| ParseError::new(no, e))?;
            }
            Some(_) => {
                let sample = read_sample(&mut cur, Format::OpenMetrics, limits)
                    .map_err(|e| ParseError::new(no, e))?;
                if !options.keep_created_samples && is_created_sample(&sample, &metadata) {
                    continue;
                }
                check_sample_count(&samples, limits, no)?;
                samples.push(sample);
            }
        }
    }
    if !eof {
        return Err(ParseError::new(0, ParseErrorKind::MissingEof));
    }
    Ok(Parsed {
        samples,
        metadata: metadata.finish(),
    })
}

/// Whether a sample is the `_created` series of a counter, histogram or summary family.
fn is_created_sample(sample: &ScrapedSample, metadata: &MetadataBuilder) -> bool {
    let name = sample
        .name_labels
        .iter()
        .find(|(n, _)| n == METRIC_NAME)
        .map_or("", |(_, v)| v.as_str());
    name.strip_suffix("_created")
        .and_then(|family| metadata.get(family))
        .is_some_and(|m| {
            matches!(
                m.metric_type,
                MetricType::Counter | MetricType::Histogram | MetricType::Summary
            )
        })
}

/// A `#` line; whether it was `# EOF`.
fn metadata_line(
    mut cur: Cursor<'_>,
    metadata: &mut MetadataBuilder,
    limits: &Limits,
) -> LineResult<bool> {
    if cur.rest() == "# EOF" {
        return Ok(true);
    }
    cur.eat(b'#');
    let blank = cur.skip_blanks();
    let keyword = cur.token();
    if !blank || !matches!(keyword, "HELP" | "TYPE" | "UNIT") || !cur.skip_blanks() {
        return syntax(format!(
            "invalid comment {:?}: OpenMetrics allows only \"# HELP\", \"# TYPE\", \"# UNIT\" and \"# EOF\"",
            excerpt(keyword)
        ));
    }
    read_metadata(&mut cur, keyword, Format::OpenMetrics, metadata, limits)?;
    Ok(false)
}

/// Converts an OpenMetrics timestamp (seconds, maybe fractional) to milliseconds,
/// truncating toward zero like Prometheus. Plain decimals are converted exactly
/// (`1520879607.789` is `1520879607789`, where a float product would give `…788`).
pub(crate) fn seconds_to_ms(token: &str) -> Option<i64> {
    let (negative, digits) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let is_decimal = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if is_decimal(whole) && is_decimal(frac) && !(whole.is_empty() && frac.is_empty()) {
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut millis = 0i64;
        for (i, b) in frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(3)
            .enumerate()
        {
            millis += i64::from(b - b'0') * [100, 10, 1][i];
        }
        let ms = whole.checked_mul(1000)?.checked_add(millis)?;
        return Some(if negative { -ms } else { ms });
    }
    let seconds = parse_value(token).ok()?;
    let ms = (seconds * 1000.0).trunc();
    (ms.is_finite() && ms.abs() < 9.2e18).then_some(ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{Limit, ScrapedExemplar};
    use crate::labels::format;

    fn parse(body: &str) -> Result<Parsed, ParseError> {
        parse_openmetrics(body.as_bytes(), &ParseOptions::default())
    }

    fn series(p: &Parsed) -> Vec<String> {
        p.samples
            .iter()
            .map(|s| {
                format!(
                    "{} {} {:?}",
                    format(&s.name_labels),
                    s.value,
                    s.timestamp_ms
                )
            })
            .collect()
    }

    #[test]
    fn specification_examples() {
        let body = r#"# TYPE acme_http_router_request_seconds summary
# UNIT acme_http_router_request_seconds seconds
# HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
# TYPE foo counter
foo_total 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67
foo_created 1520430000.123 1520879607.789
# TYPE bar info
bar_info{version="1.2"} 1
# TYPE state stateset
state{state="a"} 1
# TYPE g gaugehistogram
g_bucket{le="+Inf"} 3
g_gcount 3
g_gsum 1.5
# EOF
"#;
        let p = parse(body).unwrap();
        assert_eq!(
            series(&p),
            vec![
                r#"acme_http_router_request_seconds_sum{method="GET", path="/api/v1"} 9036.32 None"#,
                r#"acme_http_router_request_seconds_count{method="GET", path="/api/v1"} 807283 None"#,
                "foo_total 17 Some(1520879607789)",
                r#"bar_info{version="1.2"} 1 None"#,
                r#"state{state="a"} 1 None"#,
                r#"g_bucket{le="+Inf"} 3 None"#,
                "g_gcount 3 None",
                "g_gsum 1.5 None",
            ]
        );
        let m = &p.metadata[0];
        assert_eq!(m.metric_family, "acme_http_router_request_seconds");
        assert_eq!(m.metric_type, MetricType::Summary);
        assert_eq!(m.unit, "seconds");
        assert_eq!(m.help, "Latency though all of ACME's HTTP request router.");
        assert_eq!(p.metadata[1].metric_type, MetricType::Counter);
        assert_eq!(p.metadata[2].metric_type, MetricType::Info);
        assert_eq!(p.metadata[4].metric_type, MetricType::GaugeHistogram);
    }

    #[test]
    fn exemplars_are_read_with_their_labels_value_and_time() {
        let body = "# TYPE foo counter\n\
            foo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
            # TYPE h histogram\n\
            h_bucket{le=\"1\"} 3 # {span_id=\"b7\",trace_id=\"4bf9\"} 0.5 1520879607.5\n\
            h_bucket{le=\"+Inf\"} 4 #  {}  2\n\
            h_count 4\n# EOF\n";
        let p = parse(body).unwrap();
        let exemplars: Vec<_> = p.samples.iter().map(|s| s.exemplar.clone()).collect();
        let e = |labels: &[(&str, &str)], value, timestamp_ms| {
            Some(ScrapedExemplar {
                labels: labels
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
                value,
                timestamp_ms,
            })
        };
        assert_eq!(
            exemplars,
            vec![
                e(&[("trace_id", "KOO5S4vxi0o")], 0.67, None),
                e(
                    &[("span_id", "b7"), ("trace_id", "4bf9")],
                    0.5,
                    Some(1_520_879_607_500)
                ),
                e(&[], 2.0, None),
                None,
            ]
        );
        for bad in [
            "a_total 1 # trace_id=\"x\" 1\n# EOF\n",
            "a_total 1 # {trace_id=\"x\"}\n# EOF\n",
            "a_total 1 # {trace_id=\"x\"} 1 soon\n# EOF\n",
            "a_total 1 # {\"name\"} 1\n# EOF\n",
            "a_total 1 # {a=\"1\",a=\"2\"} 1\n# EOF\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn created_samples_can_be_kept() {
        let body =
            "# TYPE foo counter\nfoo_total 1\nfoo_created 2\n# TYPE g gauge\ng_created 3\n# EOF";
        assert_eq!(
            parse(body).unwrap().samples.len(),
            2,
            "gauge _created is a plain sample"
        );
        let keep = ParseOptions {
            keep_created_samples: true,
            ..ParseOptions::default()
        };
        assert_eq!(
            parse_openmetrics(body.as_bytes(), &keep)
                .unwrap()
                .samples
                .len(),
            3
        );
    }

    #[test]
    fn eof_is_required_and_final() {
        assert_eq!(parse("a 1\n").unwrap_err().kind, ParseErrorKind::MissingEof);
        assert_eq!(parse("").unwrap_err().kind, ParseErrorKind::MissingEof);
        assert!(parse("# EOF").is_ok());
        assert!(parse("# EOF\n").is_ok());
        assert!(parse("a 1\r\n# EOF\r\n").is_ok());
        let err = parse("# EOF\na 1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: unexpected content after \"# EOF\""
        );
    }

    #[test]
    fn errors() {
        let cases = [
            ("# a comment\n# EOF\n", 1, "invalid comment"),
            (
                "# TYPE a untyped\n# EOF\n",
                1,
                "invalid metric type \"untyped\"",
            ),
            (
                "# UNIT a_bytes seconds\n# EOF\n",
                1,
                "unit \"seconds\" is not a suffix of metric \"a_bytes\"",
            ),
            ("a 1 x\n# EOF\n", 1, "invalid timestamp \"x\""),
            (
                "a 1 1 2\n# EOF\n",
                1,
                "unexpected text after the sample: \"2\"",
            ),
            ("a{b=\"\\\n# EOF\n", 1, "unterminated quoted string"),
        ];
        for (body, line, message) in cases {
            let err = parse(body).unwrap_err();
            assert_eq!(err.line, line, "{body:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("line {line}: {message}")),
                "{err}"
            );
        }
    }

    #[test]
    fn timestamps_in_seconds() {
        assert_eq!(seconds_to_ms("1520879607.789"), Some(1520879607789));
        assert_eq!(seconds_to_ms("1"), Some(1000));
        assert_eq!(seconds_to_ms("-1.5"), Some(-1500));
        assert_eq!(seconds_to_ms(".0019"), Some(1));
        assert_eq!(seconds_to_ms("1.23456"), Some(1234));
        assert_eq!(seconds_to_ms("1.5e3"), Some(1_500_000));
        assert_eq!(seconds_to_ms("99999999999999999999"), None);
        assert_eq!(seconds_to_ms("1e300"), None);
        assert_eq!(seconds_to_ms("NaN"), None);
        assert_eq!(seconds_to_ms("."), None);
        assert_eq!(seconds_to_ms(""), None);
    }

    #[test]
    fn sample_limit() {
        let opts = ParseOptions {
            limits: Limits {
                max_samples: 1,
                ..Limits::default()
            },
            ..ParseOptions::default()
        };
        let err = parse_openmetrics(b"a 1\nb 2\n# EOF\n", &opts).unwrap_err();
        assert_eq!(
            err.kind,
            ParseErrorKind::LimitExceeded {
                limit: Limit::Samples,
                max: 1
            }
        );
    }
}
