//! Samples and their compressed encodings.
//!
//! Only one encoding exists: [`xor`], Gorilla-style delta-of-delta timestamps and XOR'd
//! float values, in the spirit of Prometheus's `chunkenc`. A chunk's bytes start with the
//! sample count (u16, big endian) followed by the bit stream.

mod bstream;
pub mod xor;

pub use xor::{XorAppender, XorIter};

/// The bit pattern of Prometheus's staleness marker, a NaN that is not the usual one.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float. Compare with [`is_stale_nan`], never with `==`.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is exactly the staleness marker (not just any NaN).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// Samples a head chunk holds before a new one is cut (as Prometheus's default).
pub const SAMPLES_PER_CHUNK: usize = 120;

/// The encoding byte stored with a chunk on disk.
pub const ENCODING_XOR: u8 = 1;

/// One sample: a timestamp in milliseconds and a float value.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

impl Sample {
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }
}

/// Samples are equal when timestamps and value *bits* are equal, so NaNs (and the
/// staleness marker) compare equal to themselves.
impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

/// Encodes samples (strictly increasing timestamps) into XOR chunks of at most
/// [`SAMPLES_PER_CHUNK`] samples each, returning each chunk with its min and max time.
pub fn encode_chunks(samples: &[Sample]) -> Vec<(i64, i64, Vec<u8>)> {
    samples
        .chunks(SAMPLES_PER_CHUNK)
        .map(|part| {
            let mut app = XorAppender::new();
            for s in part {
                app.append(s.t, s.v);
            }
            (part[0].t, part[part.len() - 1].t, app.into_bytes())
        })
        .collect()
}
