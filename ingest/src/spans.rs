//! Spans as every push protocol (OTLP traces, Zipkin v2) delivers them, flattened and
//! checked: [`SpanLine`]. A span that breaks a rule of [`SpanLimits`] (ids of the wrong
//! length, an end before its start, an unknown kind, attributes that are too large) is
//! refused on its own with a reason; storing the rest is the caller's.

use std::fmt::Write as _;

/// The type an attribute value had on the wire, kept so a reader can give it back typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttrType {
    #[default]
    Str,
    Int,
    Float,
    Bool,
    /// Bytes (base64), arrays and maps (JSON text).
    Other,
}

impl AttrType {
    /// Jaeger's name of the type (`string`, `int64`, `float64`, `bool`).
    pub fn jaeger_name(self) -> &'static str {
        match self {
            AttrType::Str | AttrType::Other => "string",
            AttrType::Int => "int64",
            AttrType::Float => "float64",
            AttrType::Bool => "bool",
        }
    }

    /// The inverse of [`AttrType::jaeger_name`] (`string` for anything else).
    pub fn from_jaeger_name(name: &str) -> AttrType {
        match name {
            "int64" => AttrType::Int,
            "float64" => AttrType::Float,
            "bool" => AttrType::Bool,
            _ => AttrType::Str,
        }
    }
}

/// One attribute: its key, its value as text, and its wire type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attr {
    pub key: String,
    pub value: String,
    pub kind: AttrType,
}

impl Attr {
    pub fn text(key: &str, value: &str) -> Attr {
        Attr {
            key: key.to_owned(),
            value: value.to_owned(),
            kind: AttrType::Str,
        }
    }
}

/// OTLP's span kinds (`SPAN_KIND_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// OTLP's number of the kind; `None` for numbers the specification does not define.
    pub fn from_otlp(n: i32) -> Option<SpanKind> {
        Some(match n {
            0 => SpanKind::Unspecified,
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => return None,
        })
    }

    /// Lowercase, as Jaeger spells `span.kind` (`server`, `client`, …; `unspecified`).
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    pub fn parse(s: &str) -> Option<SpanKind> {
        [
            SpanKind::Unspecified,
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

/// A span's status (`STATUS_CODE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanStatus {
    #[default]
    Unset,
    Ok,
    Error,
}

impl SpanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Unset => "unset",
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<SpanStatus> {
        match s {
            "unset" => Some(SpanStatus::Unset),
            "ok" => Some(SpanStatus::Ok),
            "error" => Some(SpanStatus::Error),
            _ => None,
        }
    }
}

/// An event (Zipkin: annotation) at a point in a span.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanEvent {
    pub time_ns: i64,
    pub name: String,
    pub attributes: Vec<Attr>,
}

/// A link to another span.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanLink {
    pub trace_id: String,
    pub span_id: String,
    pub attributes: Vec<Attr>,
}

/// One span, flattened. Ids are lowercase hex: trace ids 32 digits, span ids 16.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpanLine {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: SpanKind,
    /// Unix nanoseconds.
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: SpanStatus,
    pub status_message: String,
    /// The resource's `service.name`; `unknown_service` when it has none.
    pub service: String,
    /// Resource attributes other than `service.name`.
    pub resource: Vec<Attr>,
    /// The span's own attributes.
    pub attributes: Vec<Attr>,
    /// The instrumentation scope's name, when given.
    pub scope: String,
    pub events: Vec<SpanEvent>,
    pub links: Vec<SpanLink>,
}

impl SpanLine {
    pub fn duration_ns(&self) -> i64 {
        self.end_ns - self.start_ns
    }

    pub fn is_error(&self) -> bool {
        self.status == SpanStatus::Error
    }
}

/// Bounds on one span; a span beyond them is refused with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanLimits {
    /// Attributes of the span and its resource together, at most.
    pub max_attributes: usize,
    /// Longest attribute key, in bytes (the span store keeps some keys behind a 3-byte
    /// prefix, and takes names of at most 256 bytes).
    pub max_key_bytes: usize,
    /// Longest attribute value, in bytes.
    pub max_value_bytes: usize,
    /// Longest span name or service name, in bytes.
    pub max_name_bytes: usize,
    /// Events and links, at most, each.
    pub max_events: usize,
    /// A span as the span store keeps it, at most: [`stored_size_bound`], below the
    /// store's record limit (256 KiB) so that a span that passes is always stored.
    pub max_span_bytes: usize,
}

impl Default for SpanLimits {
    fn default() -> Self {
        SpanLimits {
            max_attributes: 100,
            max_key_bytes: 253,
            max_value_bytes: 16 << 10,
            max_name_bytes: 1024,
            max_events: 128,
            max_span_bytes: 200 << 10,
        }
    }
}

/// Bytes of `s` inside a JSON string (serde_json's escapes: `\"`, `\\`, `\n` and the
/// like take 2, other control characters 6).
fn json_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// An upper bound of the bytes span `s` takes as a record of the span store: its ids,
/// names and columns, its attributes under names prefixed by at most 3 bytes, their types,
/// the scope and status message, and its events and links as JSON (escapes included),
/// each with room to spare for its punctuation and numbers.
pub fn stored_size_bound(s: &SpanLine) -> usize {
    // Time, `rec`, ids, kind, duration, status: 8 + 4 + 32 + 16 + 16 + 11 + 8 + 5.
    const COLUMNS: usize = 128;
    // A name of the store's own (`otel.scope.name`, `@types`, …) and its value's framing.
    const FIELD: usize = 32;
    // An event's or link's JSON framing: `{"t":<20 digits>,"n":"","a":{}},` or the
    // link's `{"t":"","s":"","a":{}},` (its ids counted apart).
    const ITEM: usize = 48;
    // An attribute inside an event or link: `"":["","float64"],`.
    const ITEM_ATTR: usize = 24;
    let mut total = COLUMNS + s.service.len() + s.name.len();
    let mut typed = false;
    for a in s.attributes.iter().chain(&s.resource) {
        total += 3 + a.key.len() + a.value.len();
        if a.kind != AttrType::Str {
            typed = true;
            total += 3 + json_len(&a.key) + ITEM_ATTR;
        }
    }
    if typed {
        total += FIELD;
    }
    for text in [&s.scope, &s.status_message] {
        if !text.is_empty() {
            total += FIELD + text.len();
        }
    }
    let item_attrs = |attrs: &[Attr]| -> usize {
        attrs
            .iter()
            .map(|a| json_len(&a.key) + json_len(&a.value) + ITEM_ATTR)
            .sum()
    };
    if !s.events.is_empty() {
        total += FIELD;
        for e in &s.events {
            total += ITEM + json_len(&e.name) + item_attrs(&e.attributes);
        }
    }
    if !s.links.is_empty() {
        total += FIELD;
        for l in &s.links {
            total +=
                ITEM + json_len(&l.trace_id) + json_len(&l.span_id) + item_attrs(&l.attributes);
        }
    }
    total
}

/// Whether `s` is `len` lowercase hex digits, not all zero.
pub fn is_hex_id(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

impl SpanLimits {
    /// Checks one span; the error is the reason, without the span's position.
    pub fn check(&self, s: &SpanLine) -> Result<(), String> {
        if !is_hex_id(&s.trace_id, 32) {
            return Err(format!(
                "trace id {:?} is not 16 bytes (32 hex digits, not all zero)",
                crate::error::clip(&s.trace_id)
            ));
        }
        if !is_hex_id(&s.span_id, 16) {
            return Err(format!(
                "span id {:?} is not 8 bytes (16 hex digits, not all zero)",
                crate::error::clip(&s.span_id)
            ));
        }
        if !s.parent_span_id.is_empty() && !is_hex_id(&s.parent_span_id, 16) {
            return Err(format!(
                "parent span id {:?} is not 8 bytes (16 hex digits)",
                crate::error::clip(&s.parent_span_id)
            ));
        }
        if s.start_ns <= 0 {
            return Err("start time is missing".into());
        }
        if s.end_ns < s.start_ns {
            return Err(format!(
                "end time {} is before start time {}",
                s.end_ns, s.start_ns
            ));
        }
        if s.name.is_empty() {
            return Err("span name is empty".into());
        }
        for (what, v) in [("span name", &s.name), ("service name", &s.service)] {
            if v.len() > self.max_name_bytes {
                return Err(format!(
                    "{what} is {} bytes, at most {}",
                    v.len(),
                    self.max_name_bytes
                ));
            }
        }
        let attrs = s.attributes.len() + s.resource.len();
        if attrs > self.max_attributes {
            return Err(format!(
                "{attrs} attributes (span and resource), at most {}",
                self.max_attributes
            ));
        }
        if s.events.len() > self.max_events || s.links.len() > self.max_events {
            return Err(format!(
                "{} events and {} links, at most {} each",
                s.events.len(),
                s.links.len(),
                self.max_events
            ));
        }
        let all = s
            .attributes
            .iter()
            .chain(&s.resource)
            .chain(s.events.iter().flat_map(|e| &e.attributes))
            .chain(s.links.iter().flat_map(|l| &l.attributes));
        for a in all {
            if a.key.is_empty() {
                return Err("an attribute has an empty key".into());
            }
            if a.key.len() > self.max_key_bytes {
                return Err(format!(
                    "attribute key {:?} is {} bytes, at most {}",
                    crate::error::clip(&a.key),
                    a.key.len(),
                    self.max_key_bytes
                ));
            }
            if a.value.len() > self.max_value_bytes {
                return Err(format!(
                    "attribute {:?} is {} bytes, at most {}",
                    crate::error::clip(&a.key),
                    a.value.len(),
                    self.max_value_bytes
                ));
            }
        }
        for l in &s.links {
            if !is_hex_id(&l.trace_id, 32) || !is_hex_id(&l.span_id, 16) {
                return Err("a link's trace or span id has the wrong length".into());
            }
        }
        let stored = stored_size_bound(s);
        if stored > self.max_span_bytes {
            return Err(format!(
                "the span takes up to {stored} bytes stored (attributes, events and links \
                 as JSON), at most {}",
                self.max_span_bytes
            ));
        }
        Ok(())
    }
}

/// Spans decoded from one request: the ones kept, and how many were refused with the
/// first reasons.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodedSpans {
    pub spans: Vec<SpanLine>,
    pub rejected: i64,
    /// The first few reasons, each naming the span's position in the request.
    pub error_message: String,
}

impl DecodedSpans {
    /// Keeps `s` if it passes `limits`, else refuses it.
    pub(crate) fn offer(&mut self, index: usize, s: SpanLine, limits: &SpanLimits) {
        match limits.check(&s) {
            Ok(()) => self.spans.push(s),
            Err(reason) => self.refuse(index, &reason),
        }
    }

    /// Counts span `index` as refused and notes the reason (the first three are kept).
    pub(crate) fn refuse(&mut self, index: usize, reason: &str) {
        self.rejected += 1;
        if self.rejected <= 3 {
            if !self.error_message.is_empty() {
                self.error_message.push_str("; ");
            }
            let _ = write!(self.error_message, "span {index}: {reason}");
        } else if self.rejected == 4 {
            self.error_message.push_str("; …");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SpanLine {
        SpanLine {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            span_id: "eee19b7ec3c1b174".into(),
            name: "agent_task_execution".into(),
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_000_500_000_000,
            service: "keiko-agent".into(),
            ..Default::default()
        }
    }

    #[test]
    fn bad_spans_are_refused_with_the_reason() {
        let l = SpanLimits::default();
        assert_eq!(l.check(&good()), Ok(()));
        let mut s = good();
        s.trace_id = "abcd".into();
        assert!(l.check(&s).unwrap_err().contains("trace id"));
        let mut s = good();
        s.span_id = "0000000000000000".into();
        assert!(l.check(&s).unwrap_err().contains("span id"));
        let mut s = good();
        s.end_ns = s.start_ns - 1;
        assert!(l.check(&s).unwrap_err().contains("before start"));
        let mut s = good();
        s.attributes.push(Attr::text("blob", &"x".repeat(20_000)));
        assert!(l.check(&s).unwrap_err().contains("\"blob\" is 20000 bytes"));
        let mut d = DecodedSpans::default();
        for i in 0..6 {
            let mut s = good();
            if i % 2 == 1 {
                s.parent_span_id = "12".into();
            }
            d.offer(i, s, &l);
        }
        assert_eq!((d.spans.len(), d.rejected), (3, 3));
        assert!(
            d.error_message.starts_with("span 1: parent span id"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn kinds_and_ids() {
        assert_eq!(SpanKind::from_otlp(2), Some(SpanKind::Server));
        assert_eq!(SpanKind::from_otlp(9), None);
        assert_eq!(SpanKind::parse("CLIENT"), Some(SpanKind::Client));
        assert_eq!(hex(&[0, 171]), "00ab");
        assert!(is_hex_id("00000000000000ab", 16));
        assert!(!is_hex_id("00000000000000AB", 16));
    }
}
