//! Byte encodings of the WAL and the block files: LEB128 varints (zigzag for signed),
//! length-prefixed byte strings, and a reader that fails cleanly (`None`) past the end.

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_u(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Appends `v` zigzag-encoded.
pub(crate) fn put_i(out: &mut Vec<u8>, v: i64) {
    put_u(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A cursor over encoded bytes.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn done(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn u(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for (i, &b) in self.rest.iter().enumerate().take(10) {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Some(v);
            }
        }
        None
    }

    pub(crate) fn i(&mut self) -> Option<i64> {
        let z = self.u()?;
        Some(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// A varint used as a count of items of at least one byte each: bounded by what is
    /// left, so corrupt input never asks for a huge allocation.
    pub(crate) fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u()?).ok()?;
        (n <= self.rest.len()).then_some(n)
    }

    pub(crate) fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    pub(crate) fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_reads_past_the_end_fail() {
        let mut out = Vec::new();
        put_u(&mut out, u64::MAX);
        put_i(&mut out, i64::MIN);
        put_i(&mut out, -3);
        put_bytes(&mut out, "héllo".as_bytes());
        out.extend_from_slice(&7u32.to_le_bytes());
        let mut r = Reader::new(&out);
        assert_eq!(r.u(), Some(u64::MAX));
        assert_eq!(r.i(), Some(i64::MIN));
        assert_eq!(r.i(), Some(-3));
        assert_eq!(r.str(), Some("héllo"));
        assert_eq!(r.fixed::<4>().map(u32::from_le_bytes), Some(7));
        assert!(r.done());
        assert_eq!(r.byte(), None);
        let mut big = Vec::new();
        put_u(&mut big, 1 << 40);
        assert_eq!(Reader::new(&big).len(), None);
        assert_eq!(Reader::new(&[0x80, 0x80]).u(), None);
    }
}
