//! The functions a Prometheus alert template can call: Go's builtins (`printf`, `eq`, `len`,
//! `index`, …) and Prometheus's own (`humanize*`, `query`, `first`, `label`, `value`,
//! `toUpper`, `reReplaceAll`, …), with the outputs Prometheus documents. Numbers print as Go
//! prints them ([`go_float`], [`go_g`]).

use std::collections::BTreeMap;

use super::exec::{Exec, Value};

/// What an action prints: text/template writes a nil as `<no value>`.
pub fn print(v: &Value) -> String {
    match v {
        Value::Nil => "<no value>".into(),
        other => sprint(other),
    }
}

/// `fmt.Sprint` of one value (`%v`).
pub fn sprint(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => go_float(*f),
        Value::Str(s) => s.clone(),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", sprint(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::List(l) => format!("[{}]", l.iter().map(sprint).collect::<Vec<_>>().join(" ")),
        Value::Sample(labels, v) => {
            format!("&{{{} {}}}", sprint(&Value::labels(labels)), go_float(*v))
        }
        Value::Data(_) => "{…}".into(),
        Value::Time(t) => go_time(*t),
    }
}

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6
/// (strconv's `'g'` with the shortest precision decides with precision 6).
pub fn go_float(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    if !(-4..6).contains(&e) {
        go_exponent(mantissa, e)
    } else {
        format!("{v}")
    }
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

fn go_exponent(mantissa: &str, e: i32) -> String {
    let sign = if e < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", e.abs())
}

/// Go's `%.<prec>g`: `prec` significant digits, trailing zeros dropped, exponent form when
/// the exponent is below -4 or at least `prec`.
pub fn go_g(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, v);
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s.to_owned()
        }
    };
    if e < -4 || e >= prec as i32 {
        go_exponent(&trim(mantissa), e)
    } else {
        trim(&format!("{:.*}", (prec as i32 - 1 - e).max(0) as usize, v))
    }
}

/// Go's `%.<prec>e`.
fn go_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let sci = format!("{:.*e}", prec, v);
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    go_exponent(mantissa, e.parse().unwrap_or(0))
}

/// A `time.Time` as Go prints it: `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn go_time(secs: f64) -> String {
    let nanos = (secs * 1e9).round() as i64;
    let t = chrono::DateTime::from_timestamp(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    )
    .unwrap_or_default();
    let frac = t.format("%f").to_string();
    let frac = frac.trim_end_matches('0');
    let dot = if frac.is_empty() { "" } else { "." };
    format!("{}{dot}{frac} +0000 UTC", t.format("%Y-%m-%d %H:%M:%S"))
}

fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Time(t) => Ok(*t),
        Value::Str(s) => s
            .trim()
            .parse::<f64>()
            .or_else(|_| match s.trim() {
                "+Inf" | "Inf" | "inf" => Ok(f64::INFINITY),
                "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                _ => Err(()),
            })
            .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn scaled(mut v: f64, up: &[&str], down: &[&str], base: f64) -> String {
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in up {
            if v.abs() < base {
                break;
            }
            prefix = p;
            v /= base;
        }
    } else {
        for p in down {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= base;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

pub fn humanize(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    scaled(
        v,
        &["k", "M", "G", "T", "P", "E", "Z", "Y"],
        &["m", "u", "n", "p", "f", "a", "z", "y"],
        1000.0,
    )
}

pub fn humanize_1024(v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    scaled(
        v,
        &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"],
        &[],
        1024.0,
    )
}

pub fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", go_g(v, 4))
        };
    }
    format!(
        "{}s",
        scaled(v, &[], &["m", "u", "n", "p", "f", "a", "z", "y"], 1000.0)
    )
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

fn string(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => sprint(other),
    }
}

fn sample(v: &Value) -> Result<(&BTreeMap<String, String>, f64), String> {
    match v {
        Value::Sample(l, x) => Ok((l, *x)),
        other => Err(format!("expected a sample, got {}", other.type_name())),
    }
}

/// `eq`, `lt`, …: strings with strings, bools with bools, numbers with numbers. Unlike Go,
/// an integer literal compares with a float (`gt $value 80` works as `gt $value 80.0`).
fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    use Value::*;
    match (a, b) {
        (Str(x), Str(y)) => Ok(x.cmp(y)),
        (Bool(x), Bool(y)) => Ok(x.cmp(y)),
        (Int(_) | Float(_), Int(_) | Float(_)) => to_float(a)?
            .partial_cmp(&to_float(b)?)
            .ok_or_else(|| "incomparable values (NaN)".into()),
        _ => Err("incompatible types for comparison".into()),
    }
}

fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
}

/// Calls function `name` with evaluated `args`.
pub fn call(ex: &mut Exec<'_>, name: &str, args: Vec<Value>) -> Result<Value, String> {
    let one = |args: &[Value]| -> Result<Value, String> {
        arity(name, args, 1)?;
        Ok(args[0].clone())
    };
    let num = |args: &[Value]| -> Result<f64, String> { to_float(&one(args)?) };
    Ok(match name {
        "humanize" => Value::Str(humanize(num(&args)?)),
        "humanize1024" => Value::Str(humanize_1024(num(&args)?)),
        "humanizeDuration" => Value::Str(humanize_duration(num(&args)?)),
        "humanizePercentage" => Value::Str(format!("{}%", go_g(num(&args)? * 100.0, 4))),
        "humanizeTimestamp" => {
            let v = num(&args)?;
            Value::Str(if v.is_finite() {
                go_time(v)
            } else {
                go_g(v, 4)
            })
        }
        "toTime" => Value::Time(num(&args)?),
        "toUpper" => Value::Str(string(&one(&args)?).to_uppercase()),
        "toLower" => Value::Str(string(&one(&args)?).to_lowercase()),
        // Alertmanager's additions for notification templates.
        "trimSpace" => Value::Str(string(&one(&args)?).trim().to_owned()),
        "join" => {
            arity(name, &args, 2)?;
            match &args[0] {
                Value::List(items) => Value::Str(
                    items
                        .iter()
                        .map(string)
                        .collect::<Vec<_>>()
                        .join(&string(&args[1])),
                ),
                other => {
                    return Err(format!(
                        "wrong type for value; expected []string; got {}",
                        other.type_name()
                    ))
                }
            }
        }
        "stringSlice" => Value::List(args.iter().map(|a| Value::Str(string(a))).collect()),
        "title" => Value::Str(title(&string(&one(&args)?))),
        "safeHtml" => Value::Str(string(&one(&args)?)),
        "html" => Value::Str(html_escape(&args.iter().map(string).collect::<String>())),
        "urlquery" => Value::Str(url_escape(&args.iter().map(string).collect::<String>())),
        "js" => Value::Str(
            args.iter()
                .map(string)
                .collect::<String>()
                .escape_default()
                .to_string(),
        ),
        "match" => {
            arity(name, &args, 2)?;
            let re = regex::Regex::new(&string(&args[0])).map_err(|e| e.to_string())?;
            Value::Bool(re.is_match(&string(&args[1])))
        }
        "reReplaceAll" => {
            arity(name, &args, 3)?;
            let re = regex::Regex::new(&string(&args[0])).map_err(|e| e.to_string())?;
            Value::Str(
                re.replace_all(&string(&args[2]), string(&args[1]).as_str())
                    .into_owned(),
            )
        }
        "query" => {
            let q = string(&one(&args)?);
            Value::List(
                ex.querier
                    .query(&q)?
                    .into_iter()
                    .map(|(l, v)| Value::Sample(l, v))
                    .collect(),
            )
        }
        "first" => match one(&args)? {
            Value::List(l) => l
                .into_iter()
                .next()
                .ok_or("first() called on vector with no elements")?,
            other => return Err(format!("first() of {}", other.type_name())),
        },
        "label" => {
            arity(name, &args, 2)?;
            let (labels, _) = sample(&args[1])?;
            Value::Str(labels.get(&string(&args[0])).cloned().unwrap_or_default())
        }
        "value" => Value::Float(sample(&one(&args)?)?.1),
        "strvalue" => Value::Str(
            sample(&one(&args)?)?
                .0
                .get("__value__")
                .cloned()
                .unwrap_or_default(),
        ),
        "sortByLabel" => {
            arity(name, &args, 2)?;
            let key = string(&args[0]);
            let Value::List(mut l) = args[1].clone() else {
                return Err("sortByLabel needs a query result".into());
            };
            l.sort_by(|a, b| {
                let get = |v: &Value| match v {
                    Value::Sample(l, _) => l.get(&key).cloned().unwrap_or_default(),
                    _ => String::new(),
                };
                get(a).cmp(&get(b))
            });
            Value::List(l)
        }
        "stripPort" => Value::Str(strip_port(&string(&one(&args)?))),
        "stripDomain" => Value::Str(strip_domain(&string(&one(&args)?))),
        "args" => Value::Map(
            args.into_iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v))
                .collect(),
        ),
        "externalURL" => Value::Str(ex.external_url.clone()),
        "pathPrefix" => Value::Str(
            url::Url::parse(&ex.external_url)
                .map(|u| u.path().trim_end_matches('/').to_owned())
                .unwrap_or_default(),
        ),
        "graphLink" | "tableLink" => Value::Str(format!(
            "/graph?g0.expr={}&g0.tab={}",
            url_escape(&string(&one(&args)?)),
            u8::from(name == "tableLink")
        )),
        "parseDuration" => {
            let d = crate::promql_syntax::duration::PromDuration::parse(&string(&one(&args)?))?;
            Value::Float(d.seconds())
        }
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            };
            Value::Str(printf(&string(f), rest))
        }
        "print" | "println" => {
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                let both_strings =
                    i > 0 && matches!(a, Value::Str(_)) && matches!(args[i - 1], Value::Str(_));
                if i > 0 && (name == "println" || !both_strings) {
                    s.push(' ');
                }
                s.push_str(&sprint(a));
            }
            if name == "println" {
                s.push('\n');
            }
            Value::Str(s)
        }
        "not" => Value::Bool(!one(&args)?.truth()),
        "len" => Value::Int(match one(&args)? {
            Value::Str(s) => s.len(),
            Value::Map(m) => m.len(),
            Value::List(l) => l.len(),
            other => return Err(format!("len of type {}", other.type_name())),
        } as i64),
        "index" => {
            let Some((mut v, keys)) = args.split_first().map(|(a, b)| (a.clone(), b)) else {
                return Err("wrong number of args for index".into());
            };
            for k in keys {
                v = match (&v, k) {
                    (Value::Map(m), k) => m
                        .get(&string(k))
                        .cloned()
                        .unwrap_or(Value::Str(String::new())),
                    (Value::List(l), Value::Int(i)) => l
                        .get(usize::try_from(*i).map_err(|_| "index out of range")?)
                        .cloned()
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    _ => return Err(format!("can't index item of type {}", v.type_name())),
                };
            }
            v
        }
        "eq" => {
            let Some((a, rest)) = args.split_first() else {
                return Err("missing argument for comparison".into());
            };
            let mut eq = false;
            for b in rest {
                eq |= compare(a, b)? == std::cmp::Ordering::Equal;
            }
            Value::Bool(eq)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(name, &args, 2)?;
            let o = compare(&args[0], &args[1])?;
            use std::cmp::Ordering::*;
            Value::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            })
        }
        other => return Err(format!("function {other:?} is not supported here")),
    })
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        // Go's `strings.Title`: letters, digits and `_` continue a word.
        prev_letter = c.is_alphanumeric() || c == '_';
    }
    out
}

/// Go's `net.SplitHostPort`, or `None` when `s` has no port.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

fn strip_port(s: &str) -> String {
    split_host_port(s).map_or_else(|| s.to_owned(), |(h, _)| h.to_owned())
}

fn strip_domain(s: &str) -> String {
    let (host, port) = split_host_port(s).unwrap_or((s, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_owned();
    }
    let short = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        short.to_owned()
    } else {
        format!("{short}:{port}")
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %e %g %q %x %t %%`, with
/// flags `-`, `+`, `0`, space, width and precision.
pub fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space) = (false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(*d);
            chars.next();
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        let bad = || format!("%!{verb}({}={})", arg.type_name(), sprint(arg));
        let num_sign = |s: String, neg: bool| -> String {
            if !neg && plus {
                format!("+{s}")
            } else if !neg && space {
                format!(" {s}")
            } else {
                s
            }
        };
        let text = match (verb, arg) {
            ('v', _) => sprint(arg),
            ('s', Value::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('s', Value::Map(_) | Value::List(_) | Value::Sample(..) | Value::Time(_)) => {
                sprint(arg)
            }
            ('q', Value::Str(s)) => format!("{s:?}"),
            ('t', Value::Bool(b)) => b.to_string(),
            ('d', Value::Int(i)) => num_sign(i.to_string(), *i < 0),
            ('x', Value::Int(i)) => format!("{i:x}"),
            ('X', Value::Int(i)) => format!("{i:X}"),
            ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('c', Value::Int(i)) => char::from_u32(*i as u32)
                .map(String::from)
                .unwrap_or_default(),
            ('f' | 'F', Value::Float(v)) => num_sign(
                special(*v).unwrap_or_else(|| format!("{:.*}", prec.unwrap_or(6), v)),
                v.is_sign_negative(),
            ),
            ('e', Value::Float(v)) => num_sign(go_e(*v, prec.unwrap_or(6)), v.is_sign_negative()),
            ('g', Value::Float(v)) => num_sign(
                prec.map_or_else(|| go_float_g(*v), |p| go_g(*v, p)),
                v.is_sign_negative(),
            ),
            _ => bad(),
        };
        let width: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len >= width {
            out.push_str(&text);
        } else if minus {
            out.push_str(&text);
            out.push_str(&" ".repeat(width - len));
        } else if zero && matches!(verb, 'd' | 'f' | 'F' | 'e' | 'g') {
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(d) => (&text[..1], d),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(width - len));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&text);
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        out.push_str(
            &args[next..]
                .iter()
                .map(|a| format!("{}={}", a.type_name(), sprint(a)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(')');
    }
    out
}

/// Go's `%g` without precision: as `%v`.
fn go_float_g(v: f64) -> String {
    go_float(v)
}
