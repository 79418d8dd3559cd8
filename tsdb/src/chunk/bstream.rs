//! A stream of bits, most significant bit first, over bytes.

/// Appends bits to a byte vector.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    pub(crate) bytes: Vec<u8>,
    /// Unused low bits of the last byte (0 when the last byte is full or there is none).
    free: u32,
}

impl BitWriter {
    pub(crate) fn with_bytes(bytes: Vec<u8>) -> Self {
        BitWriter { bytes, free: 0 }
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            *self.bytes.last_mut().expect("pushed above") |= 1 << self.free;
        }
    }

    /// Writes the low `n` bits of `v` (n ≤ 64), most significant first.
    pub(crate) fn write_bits(&mut self, v: u64, mut n: u32) {
        debug_assert!(n <= 64);
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            *self.bytes.last_mut().expect("pushed above") |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }

    pub(crate) fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }
}

/// Reads bits written by [`BitWriter`].
#[derive(Clone, Debug)]
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start of `bytes`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    /// Reads `n` bits (n ≤ 64) as the low bits of the result.
    pub(crate) fn read_bits(&mut self, mut n: u32) -> Option<u64> {
        debug_assert!(n <= 64);
        if self.pos + n as usize > self.bytes.len() * 8 {
            return None;
        }
        let mut v = 0u64;
        while n > 0 {
            let byte = self.bytes[self.pos / 8];
            let offset = (self.pos % 8) as u32;
            let avail = 8 - offset;
            let take = n.min(avail);
            let bits = (byte >> (avail - take)) & (((1u16 << take) - 1) as u8);
            v = if take == 64 { 0 } else { v << take } | u64::from(bits);
            self.pos += take as usize;
            n -= take;
        }
        Some(v)
    }

    pub(crate) fn read_byte(&mut self) -> Option<u8> {
        self.read_bits(8).map(|b| b as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::default();
        let items: Vec<(u64, u32)> = vec![
            (1, 1),
            (0, 1),
            (0x3fff, 14),
            (u64::MAX, 64),
            (5, 3),
            (0, 64),
        ];
        for &(v, n) in &items {
            w.write_bits(v, n);
        }
        w.write_bit(true);
        let mut r = BitReader::new(&w.bytes);
        for &(v, n) in &items {
            assert_eq!(r.read_bits(n), Some(v), "{v} in {n} bits");
        }
        assert_eq!(r.read_bit(), Some(true));
    }
}
