//! A reader of Prometheus's PromQL test scripts (`promql/promqltest/testdata/*.test`) and a
//! runner that evaluates them with this crate's engine ([`run`]).
//!
//! The language: `load <step>` followed by series lines in the expanding notation
//! (`0+10x100`, `_`, `stale`, `Inf`, native histogram literals `{{…}}`), `clear`, and
//! `eval instant at <t> <query>` / `eval range from <t> to <t> step <d> <query>` followed by
//! `expect …` lines and the expected series. The older `eval_fail`, `eval_ordered`,
//! `eval_warn`, `eval_info` and `expected_fail_message|regexp` forms are read too.
//! A line that is empty or a comment ends a command, as in Prometheus. Lines of start
//! timestamps (`metric{…}@st …`) are read and ignored: the engine keeps none.

mod compare;
mod histogram_notation;
mod run;

pub use run::{run, CaseOutcome, CaseResult};

use crate::histogram::FloatHistogram;
use crate::value::{Labels, METRIC_NAME};

/// One value of a series line.
#[derive(Clone, Debug, PartialEq)]
pub enum Point {
    Float(f64),
    /// `stale`: a stale marker.
    Stale,
    /// A native histogram literal (`{{…}}`) and whether it names its counter reset hint
    /// (only then does a comparison look at the hint).
    Histogram(Box<FloatHistogram>, bool),
}

/// A series line: labels and one entry per step (`None` for `_`).
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesLine {
    pub labels: Labels,
    pub values: Vec<Option<Point>>,
}

/// How an expected message is matched.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageMatch {
    Any,
    Exact(String),
    Regex(String),
}

/// When an `eval` is evaluated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EvalTime {
    Instant {
        at_ms: i64,
    },
    Range {
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    },
}

/// One `eval` case and what it expects.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalCase {
    /// 1-based line of the `eval` line.
    pub line: usize,
    pub query: String,
    pub time: EvalTime,
    /// `Some` if the query must fail.
    pub fail: Option<MessageMatch>,
    pub warn: Vec<MessageMatch>,
    pub info: Vec<MessageMatch>,
    pub no_warn: bool,
    pub no_info: bool,
    pub ordered: bool,
    /// `expect string "…"`.
    pub string: Option<String>,
    /// `expect range vector from … to … step …` (an instant query of a range vector).
    pub range_vector: Option<(i64, i64, i64)>,
    /// A single number line: the expected scalar.
    pub scalar: Option<f64>,
    pub series: Vec<SeriesLine>,
}

/// A command of a script.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `load` (`nhcb`: `load_with_nhcb`, which also makes native histograms of the buckets).
    Load {
        step_ms: i64,
        nhcb: bool,
        series: Vec<SeriesLine>,
    },
    Clear,
    Eval(Box<EvalCase>),
}

/// Parses a duration such as `5m`, `1h30m`, `10s53ms`, `-1m` or `0` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if body == "0" {
        return Ok(0);
    }
    let mut total: i64 = 0;
    let mut rest = body;
    if rest.is_empty() {
        return Err(format!("bad duration {s:?}"));
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(format!("bad duration {s:?}")),
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    Ok(if neg { -total } else { total })
}

/// Parses a number as Go's `strconv.ParseFloat` (with `Inf`, `NaN` in any case).
pub fn parse_number(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, body) = match lower.as_bytes().first() {
        Some(b'-') => (-1.0, &lower[1..]),
        Some(b'+') => (1.0, &lower[1..]),
        _ => (1.0, &lower[..]),
    };
    match body {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.is_empty() || !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    body.parse::<f64>().ok().map(|v| sign * v)
}

/// Splits a series line into its metric part and the rest.
fn split_metric(line: &str) -> (&str, &str) {
    let mut in_quote: Option<char> = None;
    let mut depth = 0;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if let Some(q) = in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                in_quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => in_quote = Some(c),
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&line[..=i], line[i + 1..].trim());
                }
            }
            c if c.is_whitespace() && depth == 0 => return (&line[..i], line[i..].trim()),
            _ => {}
        }
    }
    (line, "")
}

/// Reads a quoted string at the start of `s`; returns it and the rest.
fn read_quoted(s: &str) -> Result<(String, &str), String> {
    let q = s.chars().next().ok_or("expected a string")?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Ok((out, &s[1 + i + 1..]));
        }
        if c == '\\' && q != '`' {
            match chars.next().map(|x| x.1) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('\'') => out.push('\''),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    Err(format!("unterminated string in {s:?}"))
}

/// Parses `name{a="b", …}`, `{__name__="x"}`, `{"utf8.name", a="b"}` or a bare name.
pub fn parse_labels(metric: &str) -> Result<Labels, String> {
    let metric = metric.trim();
    let (name, body) = match metric.find('{') {
        Some(i) => (&metric[..i], Some(&metric[i + 1..metric.len() - 1])),
        None => (metric, None),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push((METRIC_NAME.into(), name.into()));
    }
    let mut rest = body.unwrap_or("").trim();
    while !rest.is_empty() {
        let (label, after) = if rest.starts_with(['"', '`', '\'']) {
            read_quoted(rest)?
        } else {
            let end = rest
                .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
                .unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        let after = after.trim_start();
        if let Some(v) = after.strip_prefix('=') {
            let (value, after) = read_quoted(v.trim_start())?;
            pairs.push((label, value));
            rest = after.trim_start();
        } else {
            // A lone quoted string is the metric name.
            pairs.push((METRIC_NAME.into(), label));
            rest = after;
        }
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(Labels::new(pairs))
}

/// Expands the values of a series line.
pub fn parse_values(s: &str) -> Result<Vec<Option<Point>>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            let (points, after) = histogram_notation::parse_histogram_item(rest)?;
            out.extend(points);
            rest = after.trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let item = &rest[..end];
        rest = rest[end..].trim_start();
        out.extend(expand_item(item)?);
    }
    Ok(out)
}

fn expand_item(item: &str) -> Result<Vec<Option<Point>>, String> {
    if item == "_" {
        return Ok(vec![None]);
    }
    if item == "stale" {
        return Ok(vec![Some(Point::Stale)]);
    }
    if let Some(v) = parse_number(item) {
        return Ok(vec![Some(Point::Float(v))]);
    }
    let (base, times) = item
        .rsplit_once('x')
        .ok_or_else(|| format!("bad value {item:?}"))?;
    let times: usize = times.parse().map_err(|_| format!("bad value {item:?}"))?;
    if base == "_" {
        return Ok(vec![None; times]);
    }
    if base == "stale" {
        return Ok(vec![Some(Point::Stale); times]);
    }
    // Find the operator between start and increment (not a sign or exponent sign).
    let bytes = base.as_bytes();
    let op = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (start, inc) = match op {
        Some(i) => {
            let start = parse_number(&base[..i]).ok_or_else(|| format!("bad value {item:?}"))?;
            let inc = parse_number(&base[i + 1..]).ok_or_else(|| format!("bad value {item:?}"))?;
            (start, if bytes[i] == b'-' { -inc } else { inc })
        }
        None => (
            parse_number(base).ok_or_else(|| format!("bad value {item:?}"))?,
            0.0,
        ),
    };
    let mut v = start;
    let mut out = Vec::with_capacity(times + 1);
    for _ in 0..=times {
        out.push(Some(Point::Float(v)));
        v += inc;
    }
    Ok(out)
}

/// Parses a series line; `None` for a line of start timestamps (`metric{…}@st …`), which
/// this engine does not keep.
fn parse_series_line(line: &str) -> Result<Option<SeriesLine>, String> {
    let (metric, values) = split_metric(line);
    if values.starts_with("@st") || metric.ends_with("@st") {
        return Ok(None);
    }
    Ok(Some(SeriesLine {
        labels: parse_labels(metric)?,
        values: parse_values(values)?,
    }))
}

/// Parses `fail`, `warn msg: …`, `info regex: …` etc. after `expect `.
fn parse_message(rest: &str) -> MessageMatch {
    let rest = rest.trim();
    if let Some(m) = rest.strip_prefix("msg:") {
        MessageMatch::Exact(unquote_message(m.trim()))
    } else if let Some(r) = rest.strip_prefix("regex:") {
        MessageMatch::Regex(unquote_message(r.trim()))
    } else {
        MessageMatch::Any
    }
}

/// Messages may be written in double quotes (Go-style escapes) or bare.
fn unquote_message(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        if let Ok((v, rest)) = read_quoted(s) {
            if rest.is_empty() {
                return v;
            }
        }
    }
    s.to_string()
}

/// Parses the `eval …` line after the command word.
fn parse_eval_header(rest: &str, line: usize) -> Result<(EvalTime, String), String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let err = || format!("line {line}: malformed eval {rest:?}");
    let after = |n: usize| -> String {
        let mut r = rest.trim_start();
        for _ in 0..n {
            r = r[r.find(char::is_whitespace).unwrap_or(r.len())..].trim_start();
        }
        r.to_string()
    };
    match words.first() {
        Some(&"instant") if words.get(1) == Some(&"at") => {
            let at = parse_duration_ms(words.get(2).ok_or_else(err)?)?;
            Ok((EvalTime::Instant { at_ms: at }, after(3)))
        }
        Some(&"range")
            if words.get(1) == Some(&"from")
                && words.get(3) == Some(&"to")
                && words.get(5) == Some(&"step") =>
        {
            let start_ms = parse_duration_ms(words[2])?;
            let end_ms = parse_duration_ms(words[4])?;
            let step_ms = parse_duration_ms(words.get(6).ok_or_else(err)?)?;
            Ok((
                EvalTime::Range {
                    start_ms,
                    end_ms,
                    step_ms,
                },
                after(7),
            ))
        }
        _ => Err(err()),
    }
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim())
        .map(|l| if l.starts_with('#') { "" } else { l })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        i += 1;
        if l.is_empty() {
            continue;
        }
        let (word, rest) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        // The lines of a load's or an eval's block, up to an empty line or comment.
        let mut block: Vec<&str> = Vec::new();
        while word != "clear" && i < lines.len() && !lines[i].is_empty() {
            block.push(lines[i]);
            i += 1;
        }
        match word {
            "clear" => cmds.push(Command::Clear),
            "load" | "load_with_nhcb" => {
                let step_ms = parse_duration_ms(rest.trim())?;
                let mut series = Vec::new();
                for b in &block {
                    series.extend(parse_series_line(b)?);
                }
                cmds.push(Command::Load {
                    step_ms,
                    nhcb: word == "load_with_nhcb",
                    series,
                });
            }
            "eval" | "eval_fail" | "eval_warn" | "eval_info" | "eval_ordered" => {
                let line = i - block.len();
                let (time, query) = parse_eval_header(rest, line)?;
                let mut case = EvalCase {
                    line,
                    query,
                    time,
                    fail: (word == "eval_fail").then_some(MessageMatch::Any),
                    warn: if word == "eval_warn" {
                        vec![MessageMatch::Any]
                    } else {
                        vec![]
                    },
                    info: if word == "eval_info" {
                        vec![MessageMatch::Any]
                    } else {
                        vec![]
                    },
                    no_warn: false,
                    no_info: false,
                    ordered: word == "eval_ordered",
                    string: None,
                    range_vector: None,
                    scalar: None,
                    series: Vec::new(),
                };
                for b in &block {
                    parse_eval_line(&mut case, b)?;
                }
                cmds.push(Command::Eval(Box::new(case)));
            }
            _ => return Err(format!("line {}: unknown command {l:?}", i - block.len())),
        }
    }
    Ok(cmds)
}

fn parse_eval_line(case: &mut EvalCase, b: &str) -> Result<(), String> {
    if let Some(e) = b.strip_prefix("expect ") {
        let e = e.trim();
        let (kind, rest) = e.split_once(char::is_whitespace).unwrap_or((e, ""));
        match kind {
            "fail" => case.fail = Some(parse_message(rest)),
            "warn" => case.warn.push(parse_message(rest)),
            "info" => case.info.push(parse_message(rest)),
            "no_warn" => case.no_warn = true,
            "no_info" => case.no_info = true,
            "ordered" => case.ordered = true,
            "string" => case.string = Some(read_quoted(rest.trim())?.0),
            "range" => {
                let w: Vec<&str> = rest.split_whitespace().collect();
                if w.len() != 7 || w[0] != "vector" {
                    return Err(format!("malformed {b:?}"));
                }
                case.range_vector = Some((
                    parse_duration_ms(w[2])?,
                    parse_duration_ms(w[4])?,
                    parse_duration_ms(w[6])?,
                ));
            }
            _ => return Err(format!("unknown expectation {b:?}")),
        }
    } else if let Some(m) = b.strip_prefix("expected_fail_message ") {
        case.fail = Some(MessageMatch::Exact(m.trim().to_string()));
    } else if let Some(r) = b.strip_prefix("expected_fail_regexp ") {
        case.fail = Some(MessageMatch::Regex(r.trim().to_string()));
    } else if let Some(v) = parse_number(b) {
        case.scalar = Some(v);
    } else {
        case.series.extend(parse_series_line(b)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("10s53ms"), Ok(10_053));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
    }

    #[test]
    fn expanding_notation() {
        let f = |v: f64| Some(Point::Float(v));
        assert_eq!(
            parse_values("0+10x2 _ stale -1-1x1").unwrap(),
            vec![
                f(0.0),
                f(10.0),
                f(20.0),
                None,
                Some(Point::Stale),
                f(-1.0),
                f(-2.0)
            ]
        );
        assert_eq!(
            parse_values("1e3 _x2 Inf").unwrap(),
            vec![f(1000.0), None, None, f(f64::INFINITY)]
        );
        assert_eq!(parse_values("{{schema:0 sum:1}}x2 3").unwrap().len(), 4);
    }

    #[test]
    fn labels_in_all_forms() {
        assert_eq!(
            parse_labels(r#"m{a="b", c="d"}"#).unwrap(),
            Labels::new([("__name__", "m"), ("a", "b"), ("c", "d")])
        );
        assert_eq!(
            parse_labels(r#"{"x.y", a="1"}"#).unwrap(),
            Labels::new([("__name__", "x.y"), ("a", "1")])
        );
        assert_eq!(parse_labels("{}").unwrap(), Labels::empty());
    }

    #[test]
    fn a_script() {
        let s = "load 1m\n  m{a=\"1\"} 1 2\n\n# c\neval instant at 1m m\n  expect warn msg: x\n  m{a=\"1\"} 2\n\neval_fail range from 0 to 1m step 30s m\n\nclear\n";
        let cmds = parse_script(s).unwrap();
        assert_eq!(cmds.len(), 4);
        let Command::Eval(e) = &cmds[1] else { panic!() };
        assert_eq!(e.line, 5);
        assert_eq!(e.warn, vec![MessageMatch::Exact("x".into())]);
        assert_eq!(e.series.len(), 1);
        let Command::Eval(e) = &cmds[2] else { panic!() };
        assert_eq!(e.fail, Some(MessageMatch::Any));
        assert_eq!(
            e.time,
            EvalTime::Range {
                start_ms: 0,
                end_ms: 60_000,
                step_ms: 30_000
            }
        );
    }
}
