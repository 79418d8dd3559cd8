//! Log records from JSON: the seed's `StructuredFormatter` shape (`timestamp`, `level`,
//! `logger`, `message`, `module`, `function`, `line`, `correlation_id`, `exception`) maps to
//! the store's columns and attributes with no configuration; any other key becomes an
//! attribute (nested objects flattened with dots, `exception.type`).

use logstore::{severity, LimitExceeded, LogColumn, Record, Value as Col};
use serde_json::{Map, Value};

/// What one ingest request may carry, from the configuration; each limit is named by its
/// configuration key when it refuses something. The limits on a record once read (its
/// size, fields, field names) and on the whole batch are the store's own
/// ([`Limits::store`]), checked by the store's code alone: a record by
/// `logstore::Limits::check_record` here, the batch at append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `logs_max_line_bytes`: the longest line (a JSON line, a bulk document) and the
    /// largest record once read, in bytes.
    pub line_bytes: usize,
    /// `logs_max_lines_per_request`: most lines (records, bulk actions, forward entries).
    pub lines: usize,
    /// `logs_max_fields_per_line`: most attributes on one line.
    pub fields: usize,
    /// `logs_max_field_name_bytes`: the longest field name, in bytes.
    pub field_name_bytes: usize,
    /// `logs_max_request_bytes`: most bytes of records (once read) one append stores.
    pub request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let store = logstore::Limits::default();
        Limits {
            line_bytes: store.max_record_bytes,
            lines: store.max_batch_records,
            fields: store.max_fields_per_record,
            field_name_bytes: store.max_field_name_bytes,
            request_bytes: store.max_batch_bytes,
        }
    }
}

impl Limits {
    pub const LINE_BYTES: &'static str = "logs_max_line_bytes";
    pub const LINES: &'static str = "logs_max_lines_per_request";
    pub const FIELDS: &'static str = "logs_max_fields_per_line";
    pub const FIELD_NAME_BYTES: &'static str = "logs_max_field_name_bytes";
    pub const REQUEST_BYTES: &'static str = "logs_max_request_bytes";

    pub fn from_config(config: &crate::config::Config) -> Limits {
        Limits {
            line_bytes: config.logs_max_line_bytes,
            lines: config.logs_max_lines_per_request,
            fields: config.logs_max_fields_per_line,
            field_name_bytes: config.logs_max_field_name_bytes,
            request_bytes: config.logs_max_request_bytes,
        }
    }

    /// The store's limits: the configured ones. A batch may hold more records than a
    /// request (the portal's own lines are written in batches of the store's default
    /// size), never more bytes.
    pub fn store(&self) -> logstore::Limits {
        let defaults = logstore::Limits::default();
        logstore::Limits {
            max_record_bytes: self.line_bytes,
            max_fields_per_record: self.fields,
            max_field_name_bytes: self.field_name_bytes,
            max_batch_records: self.lines.max(defaults.max_batch_records),
            max_batch_bytes: self.request_bytes,
            ..defaults
        }
    }

    /// A refusal by one of the store's limits, named by its configuration key.
    pub fn refusal(exceeded: &LimitExceeded) -> Refusal {
        let LimitExceeded {
            limit, max, actual, ..
        } = *exceeded;
        let (key, what) = match limit {
            "max_record_bytes" => (Self::LINE_BYTES, format!("{actual} bytes once read")),
            "max_fields_per_record" => (Self::FIELDS, format!("{actual} fields")),
            "max_field_name_bytes" => (
                Self::FIELD_NAME_BYTES,
                format!("a field name of {actual} bytes"),
            ),
            "max_batch_records" => (Self::LINES, format!("{actual} lines in one batch")),
            "max_batch_bytes" => (
                Self::REQUEST_BYTES,
                format!("{actual} bytes of lines in one batch"),
            ),
            // A limit the configuration does not set: the store's own name.
            other => (other, actual.to_string()),
        };
        Refusal::over(key, what, max)
    }

    /// A line of `bytes` as read from the request.
    pub fn check_line(&self, bytes: usize) -> Result<(), Refusal> {
        if bytes > self.line_bytes {
            return Err(Refusal::over(
                Self::LINE_BYTES,
                format!("{bytes} bytes"),
                self.line_bytes,
            ));
        }
        Ok(())
    }

    /// Before taking line number `n` (1-based) of a request.
    pub fn check_count(&self, n: usize) -> Result<(), Refusal> {
        if n > self.lines {
            return Err(Refusal::over(
                Self::LINES,
                format!("more than {} lines in one request", self.lines),
                self.lines,
            ));
        }
        Ok(())
    }
}

/// Why a record was refused, and the limit (a configuration key) it broke when it was a
/// limit rather than malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub limit: Option<&'static str>,
}

impl Refusal {
    fn over(limit: &'static str, what: String, max: usize) -> Refusal {
        Refusal {
            message: format!("{what}, over the limit {limit} = {max}"),
            limit: Some(limit),
        }
    }
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal {
            message,
            limit: None,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Keys that name a column or the body; any of these not used for its column is kept as
/// an attribute under `attributes.<key>` (the store refuses attributes by these names).
const RESERVED: [&str; 14] = [
    "time",
    "timestamp",
    "body",
    "message",
    "msg",
    "level",
    "severity",
    "service",
    "service.name",
    "trace_id",
    "trace.id",
    "span_id",
    "span.id",
    "correlation_id",
];

/// A line refused, with its 1-based number (and the limit it broke, if one did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
    pub limit: Option<&'static str>,
}

impl LineError {
    pub fn new(line: usize, refusal: impl Into<Refusal>) -> LineError {
        let Refusal { message, limit } = refusal.into();
        LineError {
            line,
            message,
            limit,
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses JSON lines (one object per line; blank lines skipped) into records; the first
/// bad line refuses the whole body. `service` is used where a line names none; `now`
/// (Unix ns) where it has no time.
pub fn parse_json_lines(
    body: &[u8],
    service: &str,
    now: i64,
    limits: &Limits,
) -> Result<Vec<Record>, LineError> {
    let mut out = Vec::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let bad = |refusal: Refusal| LineError::new(line, refusal);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        limits.check_line(raw.len()).map_err(bad)?;
        limits.check_count(out.len() + 1).map_err(bad)?;
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| bad(format!("not JSON: {e}").into()))?;
        let Value::Object(object) = value else {
            return Err(bad(String::from("not a JSON object").into()));
        };
        out.push(from_object(object, service, now, limits).map_err(bad)?);
    }
    Ok(out)
}

/// One JSON object as a record, within `limits` (the store's record limits: size, fields,
/// field names).
pub fn from_object(
    mut o: Map<String, Value>,
    service: &str,
    now: i64,
    limits: &Limits,
) -> Result<Record, Refusal> {
    let time = match take_first(&mut o, &["timestamp", "time", "@timestamp"]) {
        Some(v) => parse_time(&v).ok_or_else(|| {
            Refusal::from(format!(
                "field `timestamp`: {v} is not an RFC 3339 time or a Unix time"
            ))
        })?,
        None => now,
    };
    let mut record = Record::log(time, severity::INFO, service, "");
    record.values[LogColumn::Severity as usize] = Col::Absent;
    if service.is_empty() {
        record.values[LogColumn::Service as usize] = Col::Absent;
    }
    if let Some(level) = take_first(&mut o, &["level", "levelname", "severity"]) {
        match severity_of(&level) {
            Some(n) => record.values[LogColumn::Severity as usize] = Col::Int(i64::from(n)),
            None => record.attributes.push(("level_text".into(), text(&level))),
        }
    }
    if let Some(body) = take_first(&mut o, &["message", "msg", "body"]) {
        record.body = text(&body);
    }
    if let Some(s) = take_first(&mut o, &["service", "service.name", "service_name"]) {
        let s = text(&s);
        if !s.is_empty() {
            record.values[LogColumn::Service as usize] = Col::Str(s);
        }
    }
    for (keys, column) in [
        (&["correlation_id"][..], LogColumn::CorrelationId),
        (&["trace_id", "trace.id"][..], LogColumn::TraceId),
        (&["span_id", "span.id"][..], LogColumn::SpanId),
    ] {
        if let Some(v) = take_first(&mut o, keys) {
            let v = text(&v);
            if !v.is_empty() {
                record.values[column as usize] = Col::Str(v);
            }
        }
    }
    for (key, value) in o {
        flatten(&mut record.attributes, key, value);
    }
    limits
        .store()
        .check_record(&record)
        .map_err(|e| Limits::refusal(&e))?;
    Ok(record)
}

/// One OTLP log record as a store record: its attributes as keys of a JSON record (so
/// `correlation_id`, `exception.*` and the rest map as in JSON lines), then the OTLP
/// fields on top. `service` is used when the resource names none.
pub fn from_otlp(
    line: ingest::LogLine,
    service: &str,
    now: i64,
    limits: &Limits,
) -> Result<Record, Refusal> {
    let mut o: Map<String, Value> = line
        .attributes
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    // OTel's names for what the seed's formatter calls logger, function, line and module
    // (older and newer semantic conventions).
    for (otel, seed) in [
        ("otel.scope.name", "logger"),
        ("code.function.name", "function"),
        ("code.function", "function"),
        ("code.line.number", "line"),
        ("code.lineno", "line"),
    ] {
        if !o.contains_key(seed) {
            if let Some(v) = o.remove(otel) {
                o.insert(seed.into(), v);
            }
        }
    }
    for path in ["code.file.path", "code.filepath"] {
        if let Some(Value::String(p)) = o.get(path) {
            let file = p.rsplit(['/', '\\']).next().unwrap_or(p);
            let module = file.strip_suffix(".py").unwrap_or(file).to_owned();
            o.entry("module").or_insert(Value::String(module));
        }
    }
    if line.time_ns > 0 {
        o.insert("timestamp".into(), Value::from(line.time_ns));
    }
    if (1..=24).contains(&line.severity_number) {
        o.insert("level".into(), Value::from(line.severity_number));
    } else if !line.severity_text.is_empty() {
        o.insert("level".into(), Value::String(line.severity_text));
    }
    o.insert("message".into(), Value::String(line.body));
    for (key, value) in [
        ("service", line.service),
        ("trace_id", line.trace_id),
        ("span_id", line.span_id),
    ] {
        if !value.is_empty() {
            o.insert(key.into(), Value::String(value));
        }
    }
    from_object(o, service, now, limits)
}

/// OTLP log records sorted into those to store and those refused, for the partial success.
#[derive(Debug, Default)]
pub struct OtlpSorted {
    pub kept: Vec<Record>,
    /// Records refused, and how many of them broke a limit.
    pub rejected: i64,
    pub over_limit: usize,
    /// The first refusal, naming its record's index in the request.
    pub reason: String,
}

/// OTLP log records as store records; those that cannot be stored (too many fields, too
/// large, a bad time) are counted and the first reason given, for the partial success.
pub fn from_otlp_lines(
    lines: Vec<ingest::LogLine>,
    service: &str,
    now: i64,
    limits: &Limits,
) -> OtlpSorted {
    let mut out = OtlpSorted::default();
    for (i, line) in lines.into_iter().enumerate() {
        match from_otlp(line, service, now, limits) {
            Ok(r) => out.kept.push(r),
            Err(e) => {
                out.rejected += 1;
                out.over_limit += usize::from(e.limit.is_some());
                if out.reason.is_empty() {
                    out.reason = format!("log record {i}: {e}");
                }
            }
        }
    }
    out
}

/// One Loki entry as a store record: a line that is a JSON object is read as a JSON record
/// (the seed's formatter behind a Loki handler needs no configuration), any other line is
/// the body; stream labels and structured metadata fill in what the line does not say
/// (`service_name`, `service`, `job` or `app` → service; `level`, `severity`,
/// `detected_level` → severity; the rest → attributes).
pub fn from_loki(
    entry: ingest::LokiEntry,
    service: &str,
    limits: &Limits,
) -> Result<Record, Refusal> {
    let mut o = match serde_json::from_str::<Value>(&entry.line) {
        Ok(Value::Object(o)) => o,
        _ => {
            let mut o = Map::new();
            o.insert("message".into(), Value::String(entry.line));
            o
        }
    };
    if !o.contains_key("timestamp") && !o.contains_key("time") {
        o.insert("timestamp".into(), Value::from(entry.time_ns.max(0) as u64));
    }
    let has_level = ["level", "levelname", "severity"]
        .iter()
        .any(|k| o.contains_key(*k));
    let has_service = ["service", "service.name", "service_name"]
        .iter()
        .any(|k| o.contains_key(*k));
    for (k, v) in entry.labels.into_iter().chain(entry.metadata) {
        let key = match k.as_str() {
            "service_name" | "service" | "job" | "app" if !has_service => "service".to_owned(),
            "level" | "severity" | "detected_level" if !has_level => "level".to_owned(),
            _ => k,
        };
        o.entry(key).or_insert(Value::String(v));
    }
    from_object(o, service, 0, limits)
}

/// The first of `keys` present (and not null), removed from `o`.
fn take_first(o: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    keys.iter()
        .find_map(|k| o.remove(*k).filter(|v| !v.is_null()))
}

/// A severity number from a level name (`WARNING`, `warn`, `ERROR2`) or number (1–24).
pub fn severity_of(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().filter(|n| (1..=24).contains(n)).map(|n| n as u8),
        Value::String(s) => severity::parse_severity(s.trim()).map(|(low, _)| low),
        _ => None,
    }
}

/// Unix ns from RFC 3339 text or a Unix time in s, ms, µs or ns (by magnitude).
pub fn parse_time(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .or_else(|| s.trim().parse::<f64>().ok().and_then(unix_number)),
        // Nanoseconds as integers keep every digit (an f64 would round them).
        Value::Number(n) => match n.as_u64() {
            Some(ns) if ns >= 100_000_000_000_000_000 => i64::try_from(ns).ok(),
            _ => n.as_f64().and_then(unix_number),
        },
        _ => None,
    }
}

fn unix_number(n: f64) -> Option<i64> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let ns = if n < 1e11 {
        n * 1e9
    } else if n < 1e14 {
        n * 1e6
    } else if n < 1e17 {
        n * 1e3
    } else {
        n
    };
    (ns < i64::MAX as f64).then_some(ns as i64)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Adds `value` under `key`, flattening objects with dots; reserved names are kept under
/// `attributes.<key>`, repeated names keep the first value.
fn flatten(out: &mut Vec<(String, String)>, key: String, value: Value) {
    match value {
        Value::Null => {}
        Value::Object(o) => {
            for (k, v) in o {
                flatten(out, format!("{key}.{k}"), v);
            }
        }
        other => {
            let key = if RESERVED.contains(&key.as_str()) {
                format!("attributes.{key}")
            } else {
                key
            };
            if !key.is_empty() && !out.iter().any(|(k, _)| *k == key) {
                out.push((key, text(&other)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_formatter_lines_map_to_columns_and_attributes() {
        let line = br#"{"timestamp":"2025-12-01T10:00:00.123Z","level":"WARNING","logger":"keiko.request","message":"Slow request","module":"middleware","function":"dispatch","line":42,"correlation_id":"c-1","exception":{"type":"TimeoutError","message":"boom"},"user_id":"u7"}"#;
        let r = parse_json_lines(line, "api", 0, &Limits::default())
            .unwrap()
            .remove(0);
        assert_eq!(r.time, 1_764_583_200_123_000_000);
        assert_eq!(r.values[0], Col::Int(13));
        assert_eq!(r.values[1], Col::Str("api".into()));
        assert_eq!(r.values[4], Col::Str("c-1".into()));
        assert_eq!(r.body, "Slow request");
        assert_eq!(r.attribute("logger"), Some("keiko.request"));
        assert_eq!(r.attribute("line"), Some("42"));
        assert_eq!(r.attribute("exception.type"), Some("TimeoutError"));
        assert_eq!(r.attribute("user_id"), Some("u7"));
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let body = b"{\"message\":\"a\"}\n\n{\"message\":\"b\"\n";
        let e = parse_json_lines(body, "x", 0, &Limits::default()).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_json_lines(b"[1]", "x", 0, &Limits::default()).unwrap_err();
        assert_eq!(e.to_string(), "line 1: not a JSON object");
        let e = parse_json_lines(br#"{"timestamp":"yesterday"}"#, "x", 0, &Limits::default())
            .unwrap_err();
        assert!(e.message.contains("timestamp"), "{e}");
    }

    #[test]
    fn times_in_any_unit_and_a_line_service() {
        assert_eq!(
            parse_time(&Value::from(1_700_000_000)),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_time(&Value::from(1_700_000_000_000u64)),
            Some(1_700_000_000_000_000_000)
        );
        let r = parse_json_lines(
            br#"{"msg":"x","service":"billing","level":"nope"}"#,
            "d",
            5,
            &Limits::default(),
        )
        .unwrap()
        .remove(0);
        assert_eq!(r.time, 5);
        assert_eq!(r.values[1], Col::Str("billing".into()));
        assert_eq!(r.attribute("level_text"), Some("nope"));
    }

    #[test]
    fn the_store_s_limits_are_the_configured_ones_and_its_refusals_name_the_keys() {
        let limits = Limits {
            line_bytes: 1000,
            lines: 7,
            fields: 5,
            field_name_bytes: 20,
            request_bytes: 4000,
        };
        let store = limits.store();
        assert_eq!(
            (
                store.max_record_bytes,
                store.max_fields_per_record,
                store.max_field_name_bytes,
                store.max_batch_bytes
            ),
            (1000, 5, 20, 4000)
        );
        // The portal's own lines come in batches of the store's default size.
        assert_eq!(
            store.max_batch_records,
            logstore::Limits::default().max_batch_records
        );
        let key = |limit: &'static str| {
            Limits::refusal(&LimitExceeded {
                limit,
                max: 1,
                actual: 2,
                record: None,
            })
            .limit
        };
        assert_eq!(key("max_record_bytes"), Some(Limits::LINE_BYTES));
        assert_eq!(key("max_fields_per_record"), Some(Limits::FIELDS));
        assert_eq!(key("max_field_name_bytes"), Some(Limits::FIELD_NAME_BYTES));
        assert_eq!(key("max_batch_records"), Some(Limits::LINES));
        assert_eq!(key("max_batch_bytes"), Some(Limits::REQUEST_BYTES));
    }

    #[test]
    fn each_limit_refuses_naming_its_configuration_key() {
        let limits = Limits {
            line_bytes: 300,
            lines: 2,
            fields: 3,
            field_name_bytes: 10,
            request_bytes: 300,
        };
        let line = |extra: &str| format!(r#"{{"message":"m"{extra}}}"#);
        let refused = |body: String, key: &'static str| {
            let e = parse_json_lines(body.as_bytes(), "x", 0, &limits).unwrap_err();
            assert_eq!(e.limit, Some(key), "{e}");
            e
        };
        let e = refused([line(""), line(""), line("")].join("\n"), Limits::LINES);
        assert_eq!(e.line, 3);
        let long = line(&format!(r#","pad":"{}""#, "x".repeat(400)));
        let e = refused(long, Limits::LINE_BYTES);
        assert!(
            e.message
                .ends_with("over the limit logs_max_line_bytes = 300"),
            "{e}"
        );
        let e = refused(line(r#","a":1,"b":2,"c":3,"d":4"#), Limits::FIELDS);
        assert!(e.message.starts_with("4 fields"), "{e}");
        let e = refused(line(r#","a_long_field_name":1"#), Limits::FIELD_NAME_BYTES);
        assert_eq!(
            e.message,
            "a field name of 17 bytes, over the limit logs_max_field_name_bytes = 10"
        );
        // Malformed input is no limit.
        let e = parse_json_lines(b"{", "x", 0, &limits).unwrap_err();
        assert_eq!(e.limit, None);
        // A record within the line size as JSON but not once read cannot happen for JSON
        // lines; for OTLP it is checked on the record.
        let otlp = ingest::LogLine {
            body: "y".repeat(400),
            ..Default::default()
        };
        let sorted = from_otlp_lines(vec![otlp, ingest::LogLine::default()], "s", 1, &limits);
        assert_eq!(
            (sorted.kept.len(), sorted.rejected, sorted.over_limit),
            (1, 1, 1)
        );
        assert!(
            sorted.reason.starts_with("log record 0: "),
            "{}",
            sorted.reason
        );
    }
}
