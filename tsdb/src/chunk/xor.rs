//! The XOR chunk: Gorilla compression of (timestamp, float) samples.
//!
//! Layout: `u16` big-endian sample count, then a bit stream:
//!
//! * sample 0: timestamp as a zigzag varint (byte-wise), value as its 64 raw bits;
//! * sample 1: timestamp delta as a zigzag varint, value XOR-encoded;
//! * sample n ≥ 2: delta-of-delta of the timestamp in one of five buckets —
//!   `0` (same delta), `10`+14 bits, `110`+17 bits, `1110`+20 bits, `1111`+64 bits
//!   (two's complement) — then the value XOR-encoded against the previous one:
//!   `0` if equal; else `1` and either `0` + the meaningful bits inside the previous
//!   leading/trailing-zero window, or `1` + 5 bits of leading zeros + 6 bits of
//!   meaningful-bit count (64 written as 0) + those bits.
//!
//! Values are compared and stored by bit pattern, so every NaN — including the staleness
//! marker — and ±Inf round-trip exactly. Regular scrapes (same interval) cost one bit per
//! timestamp; a value that does not change costs one bit.

use super::bstream::{BitReader, BitWriter};
use super::Sample;

/// Delta-of-delta buckets: (prefix bits, prefix length, payload bits).
const BUCKETS: [(u64, u32, u32); 3] = [(0b10, 2, 14), (0b110, 3, 17), (0b1110, 4, 20)];

/// Builds an XOR chunk one sample at a time.
#[derive(Clone, Debug)]
pub struct XorAppender {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    /// Leading zeros of the last XOR window; `u8::MAX` before the first window.
    leading: u8,
    trailing: u8,
}

impl Default for XorAppender {
    fn default() -> Self {
        Self::new()
    }
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        XorAppender {
            w: BitWriter::with_bytes(vec![0, 0]),
            num: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: u8::MAX,
            trailing: 0,
        }
    }

    /// Number of samples appended.
    pub fn len(&self) -> usize {
        usize::from(self.num)
    }

    /// True before the first sample.
    pub fn is_empty(&self) -> bool {
        self.num == 0
    }

    /// Size of the chunk in bytes so far.
    pub fn byte_len(&self) -> usize {
        self.w.bytes.len()
    }

    /// Appends a sample. Timestamps must increase; the caller checks that (a chunk never
    /// holds more than `u16::MAX` samples either).
    pub fn append(&mut self, t: i64, v: f64) {
        debug_assert!(self.num < u16::MAX);
        let bits = v.to_bits();
        match self.num {
            0 => {
                write_varint(&mut self.w, t);
                self.w.write_bits(bits, 64);
            }
            1 => {
                self.t_delta = t.wrapping_sub(self.t);
                write_varint(&mut self.w, self.t_delta);
                self.write_value(bits);
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.t_delta);
                self.write_dod(dod);
                self.t_delta = delta;
                self.write_value(bits);
            }
        }
        self.t = t;
        self.v = bits;
        self.num += 1;
        self.w.bytes[..2].copy_from_slice(&self.num.to_be_bytes());
    }

    fn write_dod(&mut self, dod: i64) {
        write_dod(&mut self.w, dod);
    }

    fn write_value(&mut self, bits: u64) {
        let xor = bits ^ self.v;
        if xor == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != u8::MAX && leading >= self.leading && trailing >= self.trailing {
            self.w.write_bit(false);
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write_bits(xor >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.w.write_bit(true);
            self.w.write_bits(u64::from(leading), 5);
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            self.w.write_bits(u64::from(sig) & 0x3f, 6);
            self.w.write_bits(xor >> trailing, sig);
        }
    }

    /// The chunk's bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.w.bytes
    }

    /// The finished chunk.
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.bytes
    }
}

/// A timestamp's delta-of-delta in one of the five buckets (see the module comment).
pub(super) fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
        return;
    }
    for (prefix, plen, nbits) in BUCKETS {
        let half = 1i64 << (nbits - 1);
        if (-half..half).contains(&dod) {
            w.write_bits(prefix, plen);
            w.write_bits(dod as u64 & ((1u64 << nbits) - 1), nbits);
            return;
        }
    }
    w.write_bits(0b1111, 4);
    w.write_bits(dod as u64, 64);
}

pub(super) fn read_dod(r: &mut BitReader<'_>) -> Option<i64> {
    let mut ones = 0;
    while ones < 4 && r.read_bit()? {
        ones += 1;
    }
    let nbits = match ones {
        0 => return Some(0),
        4 => return r.read_bits(64).map(|b| b as i64),
        n => BUCKETS[n - 1].2,
    };
    let raw = r.read_bits(nbits)?;
    Some(sign_extend(raw, nbits))
}

/// Sign-extends the low `nbits` of `raw` (a two's complement payload).
pub(super) fn sign_extend(raw: u64, nbits: u32) -> i64 {
    let shift = 64 - nbits;
    ((raw << shift) as i64) >> shift
}

/// Zigzag varint written byte-wise into the bit stream.
pub(super) fn write_varint(w: &mut BitWriter, v: i64) {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let b = (u & 0x7f) as u8;
        u >>= 7;
        if u == 0 {
            w.write_byte(b);
            return;
        }
        w.write_byte(b | 0x80);
    }
}

pub(super) fn read_varint(r: &mut BitReader<'_>) -> Option<i64> {
    let mut u = 0u64;
    for shift in (0..64).step_by(7) {
        let b = r.read_byte()?;
        u |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((u >> 1) as i64) ^ -((u & 1) as i64));
        }
    }
    None
}

/// Iterates the samples of an XOR chunk. A truncated or malformed chunk ends the iteration
/// early; [`XorIter::is_corrupt`] then tells it apart from a normal end.
#[derive(Clone, Debug)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    remaining: u16,
    read: u16,
    t: i64,
    t_delta: i64,
    v: u64,
    leading: u32,
    trailing: u32,
    corrupt: bool,
}

impl<'a> XorIter<'a> {
    /// Iterates `bytes` (a whole chunk, count header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (remaining, body) = match bytes {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => (0, &[][..]),
        };
        XorIter {
            r: BitReader::new(body),
            remaining,
            read: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            leading: 0,
            trailing: 0,
            corrupt: bytes.len() < 2,
        }
    }

    /// Whether iteration stopped on malformed data rather than at the end.
    pub fn is_corrupt(&self) -> bool {
        self.corrupt
    }

    fn decode(&mut self) -> Option<Sample> {
        match self.read {
            0 => {
                self.t = read_varint(&mut self.r)?;
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = read_varint(&mut self.r)?;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let dod = self.read_dod()?;
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        Some(Sample::new(self.t, f64::from_bits(self.v)))
    }

    fn read_dod(&mut self) -> Option<i64> {
        read_dod(&mut self.r)
    }

    fn read_value(&mut self) -> Option<()> {
        if !self.r.read_bit()? {
            return Some(());
        }
        if self.r.read_bit()? {
            self.leading = self.r.read_bits(5)? as u32;
            let mut sig = self.r.read_bits(6)? as u32;
            if sig == 0 {
                sig = 64;
            }
            if self.leading + sig > 64 {
                return None;
            }
            self.trailing = 64 - self.leading - sig;
        }
        let sig = 64 - self.leading - self.trailing;
        let bits = self.r.read_bits(sig)?;
        self.v ^= bits << self.trailing;
        Some(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = Sample;

    fn next(&mut self) -> Option<Sample> {
        if self.read >= self.remaining {
            return None;
        }
        match self.decode() {
            Some(s) => {
                self.read += 1;
                Some(s)
            }
            None => {
                self.corrupt = true;
                self.remaining = 0;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{is_stale_nan, STALE_NAN};
    use proptest::prelude::*;

    fn round_trip(samples: &[Sample]) -> Vec<u8> {
        let mut app = XorAppender::new();
        for s in samples {
            app.append(s.t, s.v);
        }
        let bytes = app.into_bytes();
        let mut it = XorIter::new(&bytes);
        let back: Vec<Sample> = it.by_ref().collect();
        assert!(!it.is_corrupt());
        assert_eq!(back, samples);
        bytes
    }

    #[test]
    fn special_values_round_trip_bit_exactly() {
        let samples: Vec<Sample> = [
            1.0,
            f64::NAN,
            STALE_NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            STALE_NAN,
        ]
        .iter()
        .enumerate()
        .map(|(i, &v)| Sample::new(1_000 + i as i64 * 15_000, v))
        .collect();
        let bytes = round_trip(&samples);
        let back: Vec<Sample> = XorIter::new(&bytes).collect();
        assert!(is_stale_nan(back[2].v) && is_stale_nan(back[9].v));
        assert!(!is_stale_nan(back[1].v));
    }

    #[test]
    fn irregular_and_extreme_timestamps() {
        let ts = [
            i64::MIN + 1,
            -5,
            0,
            1,
            3,
            10_000,
            10_001,
            1 << 40,
            (1 << 40) + (1 << 19),
            i64::MAX - 10,
            i64::MAX,
        ];
        let samples: Vec<Sample> = ts.iter().map(|&t| Sample::new(t, t as f64)).collect();
        round_trip(&samples);
    }

    #[test]
    fn regular_scrape_is_compact() {
        // 120 samples every 15 s of a slowly rising counter: about a byte a sample.
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample::new(1_700_000_000_000 + i * 15_000, (i * 3) as f64))
            .collect();
        let bytes = round_trip(&samples);
        assert!(bytes.len() < 200, "{} bytes", bytes.len());
    }

    #[test]
    fn truncated_chunk_reports_corruption() {
        let mut app = XorAppender::new();
        for i in 0..10 {
            app.append(i * 1000, i as f64 * 1.5);
        }
        let bytes = app.into_bytes();
        let mut it = XorIter::new(&bytes[..bytes.len() - 3]);
        let n = it.by_ref().count();
        assert!(n < 10);
        assert!(it.is_corrupt());
    }

    proptest! {
        #[test]
        fn arbitrary_samples_round_trip(
            start in any::<i64>(),
            deltas in proptest::collection::vec(1i64..1_000_000_000, 0..300),
            values in proptest::collection::vec(any::<u64>(), 300),
        ) {
            let mut t = start;
            let mut samples = vec![Sample::new(t, f64::from_bits(values[0]))];
            for (i, d) in deltas.iter().enumerate() {
                t = t.saturating_add(*d);
                if t == samples.last().unwrap().t { break; }
                samples.push(Sample::new(t, f64::from_bits(values[i % values.len()])));
            }
            samples.truncate(u16::MAX as usize);
            round_trip(&samples);
        }
    }
}
