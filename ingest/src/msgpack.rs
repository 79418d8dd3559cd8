//! A bounded MessagePack reader (the whole format: nil, booleans, integers, floats, str,
//! bin, arrays, maps, ext) for Fluentd's forward protocol. It reads one value from the
//! front of a buffer and tells a value cut short by the end of the buffer (read more) from
//! bytes that are not MessagePack (close the connection). Nesting is limited to
//! [`MAX_DEPTH`] and no length is trusted beyond the bytes present, so a hostile length
//! cannot allocate.

/// Deepest nesting of arrays and maps accepted.
pub const MAX_DEPTH: usize = 32;

/// One MessagePack value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Ext(i8, Vec<u8>),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under the string key `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why no value was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The buffer ends inside a value: read more bytes and try again.
    Incomplete,
    /// Not MessagePack (or nested too deeply): the byte offset and what was wrong.
    Invalid(usize, String),
}

/// Reads one value from the front of `buf`; answers it and the bytes it took.
pub fn read(buf: &[u8]) -> Result<(Value, usize), ReadError> {
    let mut r = Reader { buf, pos: 0 };
    let v = r.value(0)?;
    Ok((v, r.pos))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Incomplete)?;
        if end > self.buf.len() {
            return Err(ReadError::Incomplete);
        }
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, bytes: usize) -> Result<u64, ReadError> {
        Ok(self
            .take(bytes)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn int(&mut self, bytes: usize) -> Result<i64, ReadError> {
        let u = self.uint(bytes)?;
        let shift = 64 - 8 * bytes as u32;
        Ok(((u << shift) as i64) >> shift)
    }

    fn str(&mut self, n: usize) -> Result<Value, ReadError> {
        let at = self.pos;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec())
            .map(Value::Str)
            .map_err(|_| ReadError::Invalid(at, "a str that is not UTF-8".into()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, ReadError> {
        // Every element takes at least one byte: a length beyond the buffer is a value cut
        // short, never an allocation.
        let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, ReadError> {
        let mut pairs = Vec::with_capacity(n.min((self.buf.len() - self.pos) / 2));
        for _ in 0..n {
            let k = self.value(depth + 1)?;
            let v = self.value(depth + 1)?;
            pairs.push((k, v));
        }
        Ok(Value::Map(pairs))
    }

    fn ext(&mut self, n: usize) -> Result<Value, ReadError> {
        let kind = self.byte()? as i8;
        Ok(Value::Ext(kind, self.take(n)?.to_vec()))
    }

    fn value(&mut self, depth: usize) -> Result<Value, ReadError> {
        if depth > MAX_DEPTH {
            return Err(ReadError::Invalid(
                self.pos,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let at = self.pos;
        let b = self.byte()?;
        let len = |r: &mut Self, bytes: usize| r.uint(bytes).map(|n| n as usize);
        Ok(match b {
            0x00..=0x7f => Value::UInt(u64::from(b)),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = len(self, 1 << (b - 0xc4))?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xc7..=0xc9 => {
                let n = len(self, 1 << (b - 0xc7))?;
                self.ext(n)?
            }
            0xca => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::UInt(self.uint(1 << (b - 0xcc))?),
            0xd0..=0xd3 => Value::Int(self.int(1 << (b - 0xd0))?),
            0xd4..=0xd8 => self.ext(1 << (b - 0xd4))?,
            0xd9..=0xdb => {
                let n = len(self, 1 << (b - 0xd9))?;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = len(self, 2 << (b - 0xdc))?;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = len(self, 2 << (b - 0xde))?;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::Int(i64::from(b as i8)),
            0xc1 => return Err(ReadError::Invalid(at, "byte 0xc1 is never used".into())),
        })
    }
}

/// Writes `{"ack": chunk}`, the forward protocol's acknowledgement.
pub fn ack(chunk: &str) -> Vec<u8> {
    let mut out = vec![0x81, 0xa3, b'a', b'c', b'k'];
    let n = chunk.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n < 256 {
        out.extend([0xd9, n as u8]);
    } else if n < 65_536 {
        out.push(0xda);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend((n as u32).to_be_bytes());
    }
    out.extend(chunk.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_kind_are_read_and_a_cut_value_asks_for_more() {
        // ["tag", 1700000000, {"k": -1, "f": 1.5, "b": true}, nil]
        let bytes = [
            0x94, 0xa3, b't', b'a', b'g', 0xce, 0x65, 0x53, 0xf1, 0x00, 0x83, 0xa1, b'k', 0xff,
            0xa1, b'f', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa1, b'b', 0xc3, 0xc0,
        ];
        let (v, used) = read(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        let Value::Array(items) = &v else {
            panic!("{v:?}")
        };
        assert_eq!(items[0], Value::Str("tag".into()));
        assert_eq!(items[1], Value::UInt(1_700_000_000));
        assert_eq!(items[2].get("k"), Some(&Value::Int(-1)));
        assert_eq!(items[2].get("f"), Some(&Value::Float(1.5)));
        assert_eq!(items[2].get("b"), Some(&Value::Bool(true)));
        for cut in 0..bytes.len() {
            assert_eq!(read(&bytes[..cut]), Err(ReadError::Incomplete), "{cut}");
        }
        // EventTime: ext 0 with 8 bytes.
        let (v, _) = read(&[0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 2]).unwrap();
        assert_eq!(v, Value::Ext(0, vec![0, 0, 0, 1, 0, 0, 0, 2]));
    }

    #[test]
    fn hostile_input_is_refused_without_allocating() {
        // An array claiming 4 G elements, with none present: more bytes are needed.
        assert_eq!(
            read(&[0xdd, 0xff, 0xff, 0xff, 0xff]),
            Err(ReadError::Incomplete)
        );
        assert!(matches!(read(&[0xc1]), Err(ReadError::Invalid(0, _))));
        let deep = vec![0x91; MAX_DEPTH + 2];
        assert!(matches!(read(&deep), Err(ReadError::Invalid(_, _))));
        assert_eq!(
            ack("c1"),
            vec![0x81, 0xa3, b'a', b'c', b'k', 0xa2, b'c', b'1']
        );
    }
}
