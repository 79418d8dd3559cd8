//! Fluentd's forward protocol (v1): one MessagePack array per event or batch, in the four
//! modes — Message `[tag, time, record, option?]`, Forward `[tag, [[time, record]…],
//! option?]`, PackedForward `[tag, bin, option?]` (the entries as a MessagePack stream) and
//! CompressedPackedForward (the same, gzip'd, `option.compressed = "gzip"`). Times are
//! integers (seconds) or EventTime (ext type 0: seconds and nanoseconds). `option.chunk`
//! asks for an acknowledgement once the entries are stored. Records come out as JSON
//! objects (bin as text, ext values left out), so the server maps them as JSON lines.

use std::io::Read;

use serde_json::{Map, Number, Value as Json};

use crate::msgpack::{read, ReadError, Value};

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct FluentEntry {
    /// Unix ns.
    pub time_ns: i64,
    pub record: Map<String, Json>,
}

/// One message of the stream: its tag, its entries and the chunk id to acknowledge.
#[derive(Clone, Debug, PartialEq)]
pub struct FluentMessage {
    pub tag: String,
    pub entries: Vec<FluentEntry>,
    pub chunk: Option<String>,
}

/// Decodes one message; `max_entries` bounds the entries and `max_bytes` the unpacked size
/// of a (Compressed)PackedForward payload.
pub fn decode_message(
    v: Value,
    max_entries: usize,
    max_bytes: usize,
) -> Result<FluentMessage, String> {
    let Value::Array(mut items) = v else {
        return Err("a forward message is an array [tag, …]".into());
    };
    if !(2..=4).contains(&items.len()) {
        return Err(format!(
            "a forward message has 2 to 4 elements, this one {}",
            items.len()
        ));
    }
    let tag = match items.remove(0) {
        Value::Str(s) => s,
        _ => return Err("the first element (the tag) is not a string".into()),
    };
    let second = items.remove(0);
    let is_time = matches!(second, Value::UInt(_) | Value::Int(_) | Value::Ext(0, _));
    let (entries, option) = if is_time {
        // Message: [tag, time, record, option?]
        if items.is_empty() {
            return Err("a Message-mode event has no record".into());
        }
        let record = items.remove(0);
        (vec![entry(second, record)?], items.pop())
    } else {
        let option = items.pop();
        let entries = match second {
            Value::Array(list) => {
                if list.len() > max_entries {
                    return Err(format!("more than {max_entries} entries"));
                }
                list.into_iter().map(pair).collect::<Result<Vec<_>, _>>()?
            }
            Value::Bin(bytes) => packed(bytes, option.as_ref(), max_entries, max_bytes)?,
            Value::Str(s) => packed(s.into_bytes(), option.as_ref(), max_entries, max_bytes)?,
            _ => return Err("the second element is neither a time, an array nor a bin".into()),
        };
        (entries, option)
    };
    let chunk = match option {
        None | Some(Value::Nil) => None,
        Some(o @ Value::Map(_)) => o.get("chunk").and_then(Value::as_str).map(str::to_owned),
        Some(_) => return Err("the option element is not a map".into()),
    };
    Ok(FluentMessage {
        tag,
        entries,
        chunk,
    })
}

/// The entries of a PackedForward payload (gunzipped first for CompressedPackedForward).
fn packed(
    bytes: Vec<u8>,
    option: Option<&Value>,
    max_entries: usize,
    max_bytes: usize,
) -> Result<Vec<FluentEntry>, String> {
    let bytes = match option.and_then(|o| o.get("compressed")) {
        None | Some(Value::Nil) => bytes,
        Some(Value::Str(c)) if c == "gzip" => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("the gzip payload cannot be read: {e}"))?;
            if out.len() > max_bytes {
                return Err(format!("the payload unpacks to over {max_bytes} bytes"));
            }
            out
        }
        Some(other) => return Err(format!("unknown compression {other:?}")),
    };
    let mut rest = &bytes[..];
    let mut entries = Vec::new();
    while !rest.is_empty() {
        if entries.len() >= max_entries {
            return Err(format!("more than {max_entries} entries"));
        }
        let (v, used) = read(rest).map_err(|e| match e {
            ReadError::Incomplete => "the packed entries end inside an entry".to_owned(),
            ReadError::Invalid(at, m) => format!("packed entries, byte {at}: {m}"),
        })?;
        entries.push(pair(v)?);
        rest = &rest[used..];
    }
    Ok(entries)
}

fn pair(v: Value) -> Result<FluentEntry, String> {
    match v {
        Value::Array(mut e) if e.len() == 2 => {
            let record = e.pop().expect("two");
            let time = e.pop().expect("two");
            entry(time, record)
        }
        _ => Err("an entry is an array [time, record]".into()),
    }
}

fn entry(time: Value, record: Value) -> Result<FluentEntry, String> {
    let time_ns = match time {
        Value::UInt(s) => i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000_000)),
        Value::Int(s) => s.checked_mul(1_000_000_000),
        Value::Ext(0, b) if b.len() == 8 => {
            let secs = i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let nanos = i64::from(u32::from_be_bytes([b[4], b[5], b[6], b[7]]));
            Some(secs * 1_000_000_000 + nanos)
        }
        _ => None,
    }
    .filter(|t| *t >= 0)
    .ok_or("an entry's time is neither seconds nor an EventTime")?;
    let Value::Map(pairs) = record else {
        return Err("an entry's record is not a map".into());
    };
    let mut out = Map::new();
    for (k, v) in pairs {
        let key = match k {
            Value::Str(s) => s,
            Value::Bin(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => return Err("a record key is not a string".into()),
        };
        if let Some(v) = json(v) {
            out.insert(key, v);
        }
    }
    Ok(FluentEntry {
        time_ns,
        record: out,
    })
}

/// A MessagePack value as JSON (`None` for ext values, which JSON has no word for).
fn json(v: Value) -> Option<Json> {
    Some(match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::UInt(u) => Json::from(u),
        Value::Float(f) => Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null),
        Value::Str(s) => Json::String(s),
        Value::Bin(b) => Json::String(String::from_utf8_lossy(&b).into_owned()),
        Value::Array(a) => Json::Array(a.into_iter().filter_map(json).collect()),
        Value::Map(m) => Json::Object(
            m.into_iter()
                .filter_map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) => s,
                        other => json(other)?.to_string(),
                    };
                    Some((key, json(v)?))
                })
                .collect(),
        ),
        Value::Ext(..) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn rec(msg: &str) -> Value {
        Value::Map(vec![(s("message"), s(msg))])
    }

    #[test]
    fn the_modes_decode_to_entries_with_their_chunk() {
        let m = decode_message(
            Value::Array(vec![s("app.web"), Value::UInt(1_700_000_000), rec("one")]),
            10,
            1 << 20,
        )
        .unwrap();
        assert_eq!(m.tag, "app.web");
        assert_eq!(m.entries[0].time_ns, 1_700_000_000_000_000_000);
        assert_eq!(m.entries[0].record["message"], "one");
        assert_eq!(m.chunk, None);

        let event_time = Value::Ext(0, vec![0x65, 0x53, 0xf1, 0x00, 0, 0, 0, 5]);
        let m = decode_message(
            Value::Array(vec![
                s("t"),
                Value::Array(vec![
                    Value::Array(vec![event_time, rec("a")]),
                    Value::Array(vec![Value::UInt(1), rec("b")]),
                ]),
                Value::Map(vec![(s("chunk"), s("c-1"))]),
            ]),
            10,
            1 << 20,
        )
        .unwrap();
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[0].time_ns, 1_700_000_000_000_000_005);
        assert_eq!(m.chunk.as_deref(), Some("c-1"));

        // PackedForward: [1, {"message": "p"}] twice as a stream.
        let one = [
            0x92, 0x01, 0x81, 0xa7, b'm', b'e', b's', b's', b'a', b'g', b'e', 0xa1, b'p',
        ];
        let stream: Vec<u8> = one.iter().chain(one.iter()).copied().collect();
        let m = decode_message(
            Value::Array(vec![s("t"), Value::Bin(stream.clone())]),
            10,
            1 << 20,
        )
        .unwrap();
        assert_eq!(m.entries.len(), 2);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &stream).unwrap();
        let m = decode_message(
            Value::Array(vec![
                s("t"),
                Value::Bin(gz.finish().unwrap()),
                Value::Map(vec![(s("compressed"), s("gzip")), (s("chunk"), s("z"))]),
            ]),
            10,
            1 << 20,
        )
        .unwrap();
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[1].record["message"], "p");
        assert!(
            decode_message(Value::Array(vec![s("t"), Value::Bin(stream)]), 1, 1 << 20).is_err()
        );
        assert!(decode_message(Value::Array(vec![Value::UInt(1), rec("x")]), 10, 1 << 20).is_err());
    }
}
