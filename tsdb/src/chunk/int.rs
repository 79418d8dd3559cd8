//! The integer chunk: samples whose values are all whole numbers (most counters and many
//! gauges), stored as integers instead of XOR'd float bits.
//!
//! Blocks use it when it is smaller than the XOR chunk of the same samples (the head always
//! appends XOR chunks; a block writer converts). Layout: `u16` big-endian sample count, then
//! a bit stream:
//!
//! * one bit: `0` values are coded as deltas, `1` as deltas of deltas (the writer tries both
//!   and keeps the shorter: a steady counter prefers the second, a gauge the first);
//! * sample 0: timestamp as a zigzag varint, value as a zigzag varint;
//! * sample 1: timestamp delta as a zigzag varint, value delta as a zigzag varint;
//! * sample n ≥ 2: the timestamp's delta-of-delta exactly as in the XOR chunk, then the value's
//!   delta (or delta-of-delta) in one of seven buckets: `0` (zero), `10`+6 bits, `110`+9,
//!   `1110`+13, `11110`+20, `111110`+32, `111111`+64 (two's complement).
//!
//! A value qualifies when converting it to `i64` and back gives the same bits, so `-0.0`,
//! NaNs (the staleness marker too), infinities and fractions keep the XOR chunk.

use super::bstream::{BitReader, BitWriter};
use super::xor::{read_dod, read_varint, sign_extend, write_dod, write_varint};
use super::Sample;

/// Value buckets after the first two samples: (prefix bits, prefix length, payload bits).
const BUCKETS: [(u64, u32, u32); 5] = [
    (0b10, 2, 6),
    (0b110, 3, 9),
    (0b1110, 4, 13),
    (0b11110, 5, 20),
    (0b111110, 6, 32),
];

/// Magnitudes past this lose integer precision as `f64`; such values keep the XOR chunk.
const MAX_EXACT: i64 = 1 << 53;

/// The value as an integer when it is a whole number that round-trips bit for bit.
fn as_int(v: f64) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let i = v as i64;
    ((-MAX_EXACT..=MAX_EXACT).contains(&i) && (i as f64).to_bits() == v.to_bits()).then_some(i)
}

/// Encodes `samples` (strictly increasing timestamps, at most `u16::MAX`) as an integer
/// chunk, or `None` when a value is not a whole number.
pub fn encode(samples: &[Sample]) -> Option<Vec<u8>> {
    let values: Vec<i64> = samples.iter().map(|s| as_int(s.v)).collect::<Option<_>>()?;
    let count = u16::try_from(samples.len()).ok()?;
    let by_delta = encode_with(samples, &values, count, false);
    let by_dod = encode_with(samples, &values, count, true);
    Some(if by_dod.len() < by_delta.len() {
        by_dod
    } else {
        by_delta
    })
}

fn encode_with(samples: &[Sample], values: &[i64], count: u16, dod: bool) -> Vec<u8> {
    let mut w = BitWriter::with_bytes(count.to_be_bytes().to_vec());
    w.write_bit(dod);
    let (mut t_delta, mut v_delta) = (0i64, 0i64);
    for (i, (s, &v)) in samples.iter().zip(values).enumerate() {
        match i {
            0 => {
                write_varint(&mut w, s.t);
                write_varint(&mut w, v);
            }
            1 => {
                t_delta = s.t.wrapping_sub(samples[0].t);
                v_delta = v.wrapping_sub(values[0]);
                write_varint(&mut w, t_delta);
                write_varint(&mut w, v_delta);
            }
            _ => {
                let td = s.t.wrapping_sub(samples[i - 1].t);
                write_dod(&mut w, td.wrapping_sub(t_delta));
                t_delta = td;
                let vd = v.wrapping_sub(values[i - 1]);
                write_value(&mut w, if dod { vd.wrapping_sub(v_delta) } else { vd });
                v_delta = vd;
            }
        }
    }
    w.bytes
}

fn write_value(w: &mut BitWriter, x: i64) {
    if x == 0 {
        w.write_bit(false);
        return;
    }
    for (prefix, plen, nbits) in BUCKETS {
        let half = 1i64 << (nbits - 1);
        if (-half..half).contains(&x) {
            w.write_bits(prefix, plen);
            w.write_bits(x as u64 & ((1u64 << nbits) - 1), nbits);
            return;
        }
    }
    w.write_bits(0b111111, 6);
    w.write_bits(x as u64, 64);
}

fn read_value(r: &mut BitReader<'_>) -> Option<i64> {
    let mut ones = 0;
    while ones < 6 && r.read_bit()? {
        ones += 1;
    }
    let nbits = match ones {
        0 => return Some(0),
        6 => return r.read_bits(64).map(|b| b as i64),
        n => BUCKETS[n - 1].2,
    };
    Some(sign_extend(r.read_bits(nbits)?, nbits))
}

/// Iterates the samples of an integer chunk; like [`super::XorIter`], a malformed chunk ends
/// early and says so with [`IntIter::is_corrupt`].
#[derive(Clone, Debug)]
pub struct IntIter<'a> {
    r: BitReader<'a>,
    remaining: u16,
    read: u16,
    dod: bool,
    t: i64,
    t_delta: i64,
    v: i64,
    v_delta: i64,
    corrupt: bool,
}

impl<'a> IntIter<'a> {
    /// Iterates `bytes` (a whole chunk, count header included).
    pub fn new(bytes: &'a [u8]) -> Self {
        let (remaining, body) = match bytes {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => (0, &[][..]),
        };
        let mut r = BitReader::new(body);
        let dod = r.read_bit();
        IntIter {
            r,
            remaining: if dod.is_some() { remaining } else { 0 },
            read: 0,
            dod: dod.unwrap_or(false),
            t: 0,
            t_delta: 0,
            v: 0,
            v_delta: 0,
            corrupt: bytes.len() < 2 || (dod.is_none() && remaining > 0),
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
                self.v = read_varint(&mut self.r)?;
            }
            1 => {
                self.t_delta = read_varint(&mut self.r)?;
                self.t = self.t.wrapping_add(self.t_delta);
                self.v_delta = read_varint(&mut self.r)?;
                self.v = self.v.wrapping_add(self.v_delta);
            }
            _ => {
                self.t_delta = self.t_delta.wrapping_add(read_dod(&mut self.r)?);
                self.t = self.t.wrapping_add(self.t_delta);
                let x = read_value(&mut self.r)?;
                self.v_delta = if self.dod {
                    self.v_delta.wrapping_add(x)
                } else {
                    x
                };
                self.v = self.v.wrapping_add(self.v_delta);
            }
        }
        Some(Sample::new(self.t, self.v as f64))
    }
}

impl Iterator for IntIter<'_> {
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
    use crate::chunk::{XorAppender, STALE_NAN};
    use proptest::prelude::*;

    fn round_trip(samples: &[Sample]) -> Vec<u8> {
        let bytes = encode(samples).expect("whole numbers");
        let mut it = IntIter::new(&bytes);
        let back: Vec<Sample> = it.by_ref().collect();
        assert!(!it.is_corrupt());
        assert_eq!(back, samples);
        bytes
    }

    fn xor_len(samples: &[Sample]) -> usize {
        let mut app = XorAppender::new();
        for s in samples {
            app.append(s.t, s.v);
        }
        app.byte_len()
    }

    #[test]
    fn values_that_are_not_whole_numbers_are_refused() {
        for v in [
            0.5,
            f64::NAN,
            STALE_NAN,
            f64::INFINITY,
            -0.0,
            1e300,
            2f64.powi(60),
        ] {
            let samples = [Sample::new(1, 1.0), Sample::new(2, v)];
            assert!(encode(&samples).is_none(), "{v}");
        }
        round_trip(&[
            Sample::new(1, -(2f64.powi(53))),
            Sample::new(2, 2f64.powi(53)),
        ]);
    }

    #[test]
    fn a_steady_counter_is_smaller_than_its_xor_chunk() {
        // 120 samples every 30 s of a counter rising by 40 ± 39: the bench load's busiest.
        let mut v = 1_000_000i64;
        let samples: Vec<Sample> = (0..120)
            .map(|i| {
                v += 1 + (i * 7919 % 79);
                Sample::new(1_700_000_000_000 + i * 30_000, v as f64)
            })
            .collect();
        let bytes = round_trip(&samples);
        assert!(
            bytes.len() * 10 < xor_len(&samples) * 7,
            "{} vs {}",
            bytes.len(),
            xor_len(&samples)
        );
    }

    #[test]
    fn a_constant_series_costs_about_two_bits_a_sample() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample::new(1_700_000_000_000 + i * 15_000, 1.0))
            .collect();
        let bytes = round_trip(&samples);
        assert!(bytes.len() < 50, "{} bytes", bytes.len());
    }

    #[test]
    fn truncated_chunk_reports_corruption() {
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample::new(i * 1000, (i * i) as f64))
            .collect();
        let bytes = encode(&samples).unwrap();
        let mut it = IntIter::new(&bytes[..bytes.len() - 3]);
        assert!(it.by_ref().count() < 10);
        assert!(it.is_corrupt());
        assert!(IntIter::new(&[0, 3]).by_ref().next().is_none());
        assert!(IntIter::new(&[0, 3]).is_corrupt());
    }

    proptest! {
        #[test]
        fn arbitrary_whole_numbers_round_trip(
            start in any::<i64>(),
            deltas in proptest::collection::vec(1i64..1_000_000_000, 0..300),
            values in proptest::collection::vec(-MAX_EXACT..=MAX_EXACT, 300),
        ) {
            let mut t = start;
            let mut samples = vec![Sample::new(t, values[0] as f64)];
            for (i, d) in deltas.iter().enumerate() {
                t = t.saturating_add(*d);
                if t == samples.last().unwrap().t { break; }
                samples.push(Sample::new(t, values[(i + 1) % values.len()] as f64));
            }
            round_trip(&samples);
        }
    }
}
