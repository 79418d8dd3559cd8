//! The pieces both exposition formats share: metric names, label sets in braces,
//! quoted strings, values, and metadata text.

use crate::exposition::{
    Format, Limit, Limits, MetadataBuilder, MetricType, ParseErrorKind, ScrapedExemplar,
    ScrapedSample,
};
use crate::labels::{Labels, METRIC_NAME};
use crate::openmetrics::seconds_to_ms;

type LexResult<T> = Result<T, ParseErrorKind>;

fn syntax<T>(message: impl Into<String>) -> LexResult<T> {
    Err(ParseErrorKind::Syntax(message.into()))
}

fn limit(limit: Limit, max: usize) -> ParseErrorKind {
    ParseErrorKind::LimitExceeded { limit, max }
}

/// A position in one line.
pub(crate) struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(line: &'a str) -> Self {
        Cursor { line, pos: 0 }
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips spaces and tabs; whether there were any.
    pub(crate) fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// The run of bytes up to the next space or tab (possibly empty).
    pub(crate) fn token(&mut self) -> &'a str {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }

    fn take_while(&mut self, first: fn(u8) -> bool, rest: fn(u8) -> bool) -> Option<&'a str> {
        let start = self.pos;
        match self.peek() {
            Some(b) if first(b) => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(b) if rest(b)) {
            self.pos += 1;
        }
        Some(&self.line[start..self.pos])
    }

    /// An unquoted metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub(crate) fn metric_name(&mut self) -> Option<&'a str> {
        self.take_while(
            |b| b.is_ascii_alphabetic() || b == b'_' || b == b':',
            |b| b.is_ascii_alphanumeric() || b == b'_' || b == b':',
        )
    }

    /// An unquoted label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn label_name(&mut self) -> Option<&'a str> {
        self.take_while(
            |b| b.is_ascii_alphabetic() || b == b'_',
            |b| b.is_ascii_alphanumeric() || b == b'_',
        )
    }

    /// A double-quoted string at the cursor, unescaped: `\\`, `\"` and `\n` are
    /// escapes; any other backslash pair is kept verbatim, as Prometheus does.
    /// Fails if the unescaped text would exceed `max` bytes.
    pub(crate) fn quoted(&mut self, max: usize, what: Limit) -> LexResult<String> {
        if !self.eat(b'"') {
            return syntax("expected '\"'");
        }
        let mut out = String::new();
        loop {
            let rest = self.rest();
            let Some(stop) = rest.find(['"', '\\']) else {
                return syntax("unterminated quoted string");
            };
            if out.len() + stop > max {
                return Err(limit(what, max));
            }
            out.push_str(&rest[..stop]);
            self.pos += stop;
            if self.eat(b'"') {
                return Ok(out);
            }
            self.pos += 1; // the backslash
            let Some(escaped) = self.rest().chars().next() else {
                return syntax("unterminated quoted string");
            };
            self.pos += escaped.len_utf8();
            match escaped {
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            if out.len() > max {
                return Err(limit(what, max));
            }
        }
    }

    /// A metric name for a metadata line: unquoted, or quoted (Prometheus 3's UTF-8 names).
    pub(crate) fn metadata_name(&mut self, limits: &Limits) -> LexResult<String> {
        if self.peek() == Some(b'"') {
            return self.quoted(limits.max_label_value_bytes, Limit::LabelValueBytes);
        }
        match self.metric_name() {
            Some(name) => Ok(name.to_owned()),
            None => syntax("expected a metric name"),
        }
    }

    /// The name and labels that start a sample line: `name`, `name{…}` or `{"name", …}`,
    /// and the blanks after them. Leaves the cursor at the value.
    pub(crate) fn series(&mut self, limits: &Limits) -> LexResult<Labels> {
        let mut labels: Labels = Vec::new();
        if let Some(name) = self.metric_name() {
            labels.push((METRIC_NAME.to_owned(), name.to_owned()));
        }
        let mut separated = self.skip_blanks();
        if self.eat(b'{') {
            self.label_pairs(limits, &mut labels)?;
            self.pos += 1; // the closing brace
            separated = true;
            self.skip_blanks();
        }
        if labels.first().is_none_or(|(n, _)| n != METRIC_NAME) {
            return syntax(format!(
                "expected a metric name at {:?}",
                excerpt(self.rest())
            ));
        }
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
            return syntax(format!("label name {:?} is not unique", w[0].0));
        }
        labels.retain(|(_, v)| !v.is_empty());
        if !separated && !self.is_at_end() {
            return syntax(format!(
                "expected a blank before the value at {:?}",
                excerpt(self.rest())
            ));
        }
        Ok(labels)
    }

    /// The inside of `{…}`, the opening brace already consumed.
    fn label_pairs(&mut self, limits: &Limits, labels: &mut Labels) -> LexResult<()> {
        loop {
            self.skip_blanks();
            if self.peek() == Some(b'}') {
                return Ok(());
            }
            let name = if self.peek() == Some(b'"') {
                let quoted = self.quoted(limits.max_label_name_bytes, Limit::LabelNameBytes)?;
                self.skip_blanks();
                if self.peek() != Some(b'=') {
                    // A bare quoted string is the metric name (Prometheus 3 syntax).
                    if !labels.is_empty() {
                        return syntax("metric name given twice");
                    }
                    labels.push((METRIC_NAME.to_owned(), quoted));
                    self.after_pair()?;
                    continue;
                }
                quoted
            } else {
                match self.label_name() {
                    Some(name) => name.to_owned(),
                    None => {
                        return syntax(format!(
                            "expected a label name at {:?}",
                            excerpt(self.rest())
                        ))
                    }
                }
            };
            if name.len() > limits.max_label_name_bytes {
                return Err(limit(Limit::LabelNameBytes, limits.max_label_name_bytes));
            }
            self.skip_blanks();
            if !self.eat(b'=') {
                return syntax(format!("expected '=' after label name {name:?}"));
            }
            self.skip_blanks();
            if self.peek() != Some(b'"') {
                return syntax(format!("expected a quoted value for label {name:?}"));
            }
            let value = self.quoted(limits.max_label_value_bytes, Limit::LabelValueBytes)?;
            labels.push((name, value));
            if labels.len() > limits.max_labels {
                return Err(limit(Limit::Labels, limits.max_labels));
            }
            self.after_pair()?;
        }
    }

    /// After a label pair: a comma (a trailing one is allowed) or the closing brace.
    fn after_pair(&mut self) -> LexResult<()> {
        self.skip_blanks();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'}') => Ok(()),
            _ => syntax(format!(
                "expected ',' or '}}' at {:?}",
                excerpt(self.rest())
            )),
        }
    }
}

/// Reads a sample line: `series value [timestamp]`, the timestamp in milliseconds
/// (text format) or seconds (OpenMetrics, where an exemplar may follow after `#`).
pub(crate) fn read_sample(
    cur: &mut Cursor<'_>,
    format: Format,
    limits: &Limits,
) -> LexResult<ScrapedSample> {
    let name_labels = cur.series(limits)?;
    let value = parse_value(cur.token())?;
    cur.skip_blanks();
    let exemplar_ok = format == Format::OpenMetrics;
    let timestamp_ms = match cur.peek() {
        None => None,
        Some(b'#') if exemplar_ok => None,
        Some(_) => {
            let token = cur.token();
            let ts = match format {
                Format::PrometheusText => token.parse::<i64>().ok(),
                Format::OpenMetrics => seconds_to_ms(token),
            };
            match ts {
                Some(ts) => Some(ts),
                None => return syntax(format!("invalid timestamp {:?}", excerpt(token))),
            }
        }
    };
    cur.skip_blanks();
    let exemplar = if exemplar_ok && cur.eat(b'#') {
        Some(read_exemplar(cur, limits)?)
    } else {
        None
    };
    if !cur.is_at_end() {
        return syntax(format!(
            "unexpected text after the sample: {:?}",
            excerpt(cur.rest())
        ));
    }
    Ok(ScrapedSample {
        name_labels,
        timestamp_ms,
        value,
        exemplar,
    })
}

/// The exemplar after a sample's ` #`: ` {labels} value [timestamp]`, the timestamp in
/// seconds. Leaves the cursor at the end of what it read.
fn read_exemplar(cur: &mut Cursor<'_>, limits: &Limits) -> LexResult<ScrapedExemplar> {
    if !cur.skip_blanks() || !cur.eat(b'{') {
        return syntax(format!(
            "expected an exemplar's labels ' {{…}}' after '#' at {:?}",
            excerpt(cur.rest())
        ));
    }
    let mut labels: Labels = Vec::new();
    cur.label_pairs(limits, &mut labels)?;
    cur.pos += 1; // the closing brace
    if labels.iter().any(|(n, _)| n == METRIC_NAME) {
        return syntax("an exemplar has labels, not a metric name");
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
        return syntax(format!("exemplar label name {:?} is not unique", w[0].0));
    }
    if !cur.skip_blanks() {
        return syntax("expected a blank before the exemplar's value");
    }
    let value = parse_value(cur.token())?;
    cur.skip_blanks();
    let timestamp_ms = if cur.is_at_end() {
        None
    } else {
        let token = cur.token();
        match seconds_to_ms(token) {
            Some(ts) => Some(ts),
            None => return syntax(format!("invalid exemplar timestamp {:?}", excerpt(token))),
        }
    };
    cur.skip_blanks();
    Ok(ScrapedExemplar {
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads the rest of a `# HELP`, `# TYPE` or `# UNIT` line (the keyword and the blank
/// after it already consumed) into `metadata`.
pub(crate) fn read_metadata(
    cur: &mut Cursor<'_>,
    keyword: &str,
    format: Format,
    metadata: &mut MetadataBuilder,
    limits: &Limits,
) -> LexResult<()> {
    let name = cur.metadata_name(limits)?;
    if !cur.skip_blanks() && !cur.is_at_end() {
        return syntax(format!("expected a blank after metric name {name:?}"));
    }
    if keyword == "HELP" {
        let quotes = format == Format::OpenMetrics;
        metadata.entry(&name).help = unescape_help(cur.rest(), quotes);
        return Ok(());
    }
    let word = cur.token();
    cur.skip_blanks();
    if !cur.is_at_end() {
        return syntax(format!(
            "unexpected text after the {} of {name:?}",
            keyword.to_ascii_lowercase()
        ));
    }
    if keyword == "UNIT" {
        if !word.is_empty() && !name.ends_with(&format!("_{word}")) {
            return syntax(format!("unit {word:?} is not a suffix of metric {name:?}"));
        }
        metadata.entry(&name).unit = word.to_owned();
        return Ok(());
    }
    let metric_type = match (word, format) {
        ("counter", _) => MetricType::Counter,
        ("gauge", _) => MetricType::Gauge,
        ("histogram", _) => MetricType::Histogram,
        ("summary", _) => MetricType::Summary,
        ("untyped", Format::PrometheusText) | ("unknown", Format::OpenMetrics) => {
            MetricType::Unknown
        }
        ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
        ("info", Format::OpenMetrics) => MetricType::Info,
        ("stateset", Format::OpenMetrics) => MetricType::StateSet,
        ("", _) => return syntax(format!("missing type for metric {name:?}")),
        (other, _) => return syntax(format!("invalid metric type {:?}", excerpt(other))),
    };
    metadata.entry(&name).metric_type = metric_type;
    Ok(())
}

/// Parses a sample value as Go's `strconv.ParseFloat` would for exposition values:
/// decimal and exponent forms, `NaN`, `Inf`, `+Inf`, `-Inf` (any case).
pub(crate) fn parse_value(token: &str) -> LexResult<f64> {
    // Rust accepts a few spellings Go does not ("infinity" is shared); both accept
    // the forms exporters write. Reject the empty token and stray characters.
    let ok_chars = token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    match token.parse::<f64>() {
        Ok(v) if ok_chars => Ok(v),
        _ if token.is_empty() => syntax("expected a value"),
        _ => syntax(format!("invalid value {:?}", excerpt(token))),
    }
}

/// Unescapes `# HELP` text: `\\` and `\n` always, `\"` too when `quotes` (OpenMetrics).
/// Other backslashes are kept.
pub(crate) fn unescape_help(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The start of `text`, for error messages that should not echo a huge line.
pub(crate) fn excerpt(text: &str) -> &str {
    const MAX: usize = 40;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(line: &str) -> LexResult<Labels> {
        Cursor::new(line).series(&Limits::default())
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_and_labels() {
        assert_eq!(series("up 1").unwrap(), l(&[("__name__", "up")]));
        assert_eq!(
            series(r#"a{z="1",b="2",} 1"#).unwrap(),
            l(&[("__name__", "a"), ("b", "2"), ("z", "1")])
        );
        assert_eq!(
            series(r#"a { b = "x" , c="" } 1"#).unwrap(),
            l(&[("__name__", "a"), ("b", "x")])
        );
        assert_eq!(
            series(r#"{"my.metric", "a.b"="c"} 1"#).unwrap(),
            l(&[("__name__", "my.metric"), ("a.b", "c")])
        );
    }

    #[test]
    fn escapes_in_label_values() {
        assert_eq!(
            series(r#"a{b="x\\y\"z\nw\tq"} 1"#).unwrap(),
            l(&[("__name__", "a"), ("b", "x\\y\"z\nw\\tq")])
        );
    }

    #[test]
    fn malformed_series() {
        for bad in [
            r#"{b="1"} 1"#,
            r#"a{b="1} 1"#,
            r#"a{b="1\"#,
            r#"a{b=1} 1"#,
            r#"a{b} 1"#,
            r#"a{"x", "y"} 1"#,
            r#"a{"x"} 1"#,
            r#"a{b="1",b="2"} 1"#,
            r#"a{__name__="b"} 1"#,
            r#"a{b="1" c="2"} 1"#,
            r#"a{9="1"} 1"#,
            "",
            "9 1",
        ] {
            assert!(series(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_limits() {
        let limits = Limits {
            max_labels: 2,
            max_label_name_bytes: 3,
            max_label_value_bytes: 3,
            ..Limits::default()
        };
        let run = |line: &str| Cursor::new(line).series(&limits).unwrap_err();
        assert_eq!(
            run(r#"a{b="1",c="2"}"#),
            ParseErrorKind::LimitExceeded {
                limit: Limit::Labels,
                max: 2
            }
        );
        assert_eq!(
            run(r#"a{long="1"}"#),
            ParseErrorKind::LimitExceeded {
                limit: Limit::LabelNameBytes,
                max: 3
            }
        );
        assert_eq!(
            run(r#"a{b="1234"}"#),
            ParseErrorKind::LimitExceeded {
                limit: Limit::LabelValueBytes,
                max: 3
            }
        );
        assert_eq!(
            run(r#"a{b="12\\\\"}"#),
            ParseErrorKind::LimitExceeded {
                limit: Limit::LabelValueBytes,
                max: 3
            }
        );
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("1.5e3").unwrap(), 1500.0);
        assert_eq!(parse_value("-0").unwrap(), 0.0);
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("+Inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_value("-Inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(parse_value("inf").unwrap(), f64::INFINITY);
        for bad in ["", "1,5", "one", "1e", "0x1p3x", "1_000"] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn help_unescaping() {
        assert_eq!(unescape_help(r#"a\\b\nc\"d\t"#, false), "a\\b\nc\\\"d\\t");
        assert_eq!(unescape_help(r#"a\"b\"#, true), "a\"b\\");
    }

    #[test]
    fn excerpt_respects_char_boundaries() {
        let s = "é".repeat(50);
        assert!(excerpt(&s).len() <= 40);
    }
}
