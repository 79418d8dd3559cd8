//! OTLP attribute values as label values, spelled as the OpenTelemetry Collector's
//! `pcommon.Value.AsString` spells them (which is what Prometheus's receiver stores).

use std::fmt::Write as _;

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};

/// The label value of an attribute: strings as they are, booleans and integers in decimal,
/// doubles as JavaScript prints numbers, bytes in base64, arrays and maps as JSON (map keys
/// sorted); an absent value is the empty string (which drops the label).
pub(crate) fn value_string(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(other) => {
            let mut out = String::new();
            write_value(&mut out, other, false);
            out
        }
    }
}

/// Writes `value`; `quoted` says whether strings (and bytes) are written as JSON strings.
fn write_value(out: &mut String, value: &Value, quoted: bool) {
    match value {
        Value::StringValue(s) if quoted => write_json_string(out, s),
        Value::StringValue(s) => out.push_str(s),
        Value::BoolValue(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::IntValue(i) => {
            let _ = write!(out, "{i}");
        }
        Value::DoubleValue(d) => out.push_str(&format_double(*d)),
        Value::BytesValue(b) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            if quoted {
                write_json_string(out, &encoded);
            } else {
                out.push_str(&encoded);
            }
        }
        Value::ArrayValue(array) => {
            out.push('[');
            for (i, item) in array.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_nested(out, item.value.as_ref());
            }
            out.push(']');
        }
        Value::KvlistValue(list) => write_map(out, &list.values),
        // Indices into a dictionary only profiles carry; nothing to resolve them against.
        Value::StringValueStrindex(i) => {
            let _ = write!(out, "{i}");
        }
    }
}

/// A value inside an array or map, where absence is JSON `null`.
fn write_nested(out: &mut String, value: Option<&Value>) {
    match value {
        None => out.push_str("null"),
        Some(v) => write_value(out, v, true),
    }
}

/// A map as a JSON object, keys sorted, the last of duplicate keys winning.
fn write_map(out: &mut String, entries: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = entries.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted.reverse();
    sorted.dedup_by(|a, b| a.key == b.key);
    sorted.reverse();
    out.push('{');
    for (i, kv) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, &kv.key);
        out.push(':');
        write_nested(out, kv.value.as_ref().and_then(|v| v.value.as_ref()));
    }
    out.push('}');
}

/// A JSON string as Go's `encoding/json` writes it (HTML-sensitive characters escaped).
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A double as ECMAScript prints numbers: plain decimals between 1e-6 and 1e21, exponent
/// notation outside (`1e+21`, `1.5e-7`); non-finite values as Go prints them.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let abs = d.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{d:e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        };
    }
    format!("{d}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn any(v: Value) -> AnyValue {
        AnyValue { value: Some(v) }
    }

    fn kv(key: &str, v: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(any(v)),
            ..Default::default()
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(value_string(None), "");
        assert_eq!(value_string(Some(&AnyValue { value: None })), "");
        assert_eq!(
            value_string(Some(&any(Value::StringValue("a<b".into())))),
            "a<b"
        );
        assert_eq!(value_string(Some(&any(Value::BoolValue(true)))), "true");
        assert_eq!(value_string(Some(&any(Value::IntValue(-42)))), "-42");
        assert_eq!(value_string(Some(&any(Value::DoubleValue(1.5)))), "1.5");
        assert_eq!(
            value_string(Some(&any(Value::BytesValue(b"hi".to_vec())))),
            "aGk="
        );
    }

    #[test]
    fn doubles_print_as_javascript_numbers() {
        assert_eq!(format_double(10.0), "10");
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(1e21), "1e+21");
        assert_eq!(format_double(1e20), "100000000000000000000");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
        assert_eq!(format_double(0.000001), "0.000001");
        assert_eq!(format_double(f64::INFINITY), "+Inf");
    }

    #[test]
    fn arrays_and_maps_are_json() {
        let array = any(Value::ArrayValue(ArrayValue {
            values: vec![
                any(Value::StringValue("x\"y".into())),
                any(Value::IntValue(1)),
                AnyValue { value: None },
                any(Value::BytesValue(vec![0xff])),
            ],
        }));
        assert_eq!(value_string(Some(&array)), r#"["x\"y",1,null,"/w=="]"#);
        let map = any(Value::KvlistValue(KeyValueList {
            values: vec![
                kv("b", Value::DoubleValue(2.5)),
                kv("a", Value::StringValue("<&>".into())),
                kv("b", Value::BoolValue(false)),
            ],
        }));
        assert_eq!(
            value_string(Some(&map)),
            r#"{"a":"\u003c\u0026\u003e","b":false}"#
        );
    }
}
