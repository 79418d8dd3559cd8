//! Byte encodings shared by the WAL, the index and the chunks file: varints, fixed-width
//! integers and length-prefixed strings, with a checked reader.

/// Appends encoded values to a byte vector.
#[derive(Debug, Default)]
pub(crate) struct Enc {
    pub(crate) buf: Vec<u8>,
}

impl Enc {
    pub(crate) fn uvarint(&mut self, mut u: u64) {
        while u >= 0x80 {
            self.buf.push((u as u8) | 0x80);
            u >>= 7;
        }
        self.buf.push(u as u8);
    }

    /// Zigzag-encoded signed varint.
    pub(crate) fn varint(&mut self, v: i64) {
        self.uvarint(((v << 1) ^ (v >> 63)) as u64);
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Length-prefixed bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.uvarint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
}

/// Reads values written by [`Enc`]; every read fails cleanly (`None`) past the end.
#[derive(Clone, Debug)]
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Dec { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn uvarint(&mut self) -> Option<u64> {
        let mut u = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            u |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(u);
            }
        }
        None
    }

    pub(crate) fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A varint used as a length or count, bounded by the bytes left (each item takes at
    /// least one byte), so corrupt input cannot ask for a huge allocation.
    pub(crate) fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        (n <= self.buf.len() - self.pos).then_some(n)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Length-prefixed bytes.
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut e = Enc::default();
        e.uvarint(u64::MAX);
        e.varint(i64::MIN);
        e.varint(-1);
        e.u32(7);
        e.u64(u64::MAX - 1);
        e.bytes(b"hello");
        let mut d = Dec::new(&e.buf);
        assert_eq!(d.uvarint(), Some(u64::MAX));
        assert_eq!(d.varint(), Some(i64::MIN));
        assert_eq!(d.varint(), Some(-1));
        assert_eq!(d.u32(), Some(7));
        assert_eq!(d.u64(), Some(u64::MAX - 1));
        assert_eq!(d.string().as_deref(), Some("hello"));
        assert!(d.is_empty());
        assert_eq!(d.u8(), None);
        // A count larger than what is left is refused.
        let mut e = Enc::default();
        e.uvarint(1000);
        assert_eq!(Dec::new(&e.buf).count(), None);
    }
}
