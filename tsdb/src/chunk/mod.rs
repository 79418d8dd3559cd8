//! Samples and their compressed encodings.
//!
//! Two encodings exist. [`xor`]: Gorilla-style delta-of-delta timestamps and XOR'd float
//! values, in the spirit of Prometheus's `chunkenc`; the head appends these. [`int`]: the
//! same timestamps with whole-number values stored as integer deltas; block writers use it
//! when it is smaller. A chunk's bytes start with the sample count (u16, big endian) followed
//! by the bit stream; the encoding byte is kept beside the bytes ([`Chunk`]).

mod bstream;
pub mod int;
pub mod xor;

pub use int::IntIter;
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

/// The encoding byte of an XOR chunk (stored with a chunk on disk).
pub const ENCODING_XOR: u8 = 1;

/// The encoding byte of an integer chunk.
pub const ENCODING_INT: u8 = 2;

/// Whether `encoding` is one this build reads.
pub fn is_known_encoding(encoding: u8) -> bool {
    matches!(encoding, ENCODING_XOR | ENCODING_INT)
}

/// The samples of a chunk of either encoding.
#[derive(Clone, Debug)]
pub enum ChunkIter<'a> {
    Xor(XorIter<'a>),
    Int(IntIter<'a>),
}

impl<'a> ChunkIter<'a> {
    /// Iterates `bytes` encoded with `encoding`; an unknown encoding reads as a corrupt,
    /// empty chunk.
    pub fn new(encoding: u8, bytes: &'a [u8]) -> Self {
        match encoding {
            ENCODING_INT => ChunkIter::Int(IntIter::new(bytes)),
            ENCODING_XOR => ChunkIter::Xor(XorIter::new(bytes)),
            _ => ChunkIter::Xor(XorIter::new(&[])),
        }
    }

    /// Whether iteration stopped on malformed data rather than at the end.
    pub fn is_corrupt(&self) -> bool {
        match self {
            ChunkIter::Xor(it) => it.is_corrupt(),
            ChunkIter::Int(it) => it.is_corrupt(),
        }
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        match self {
            ChunkIter::Xor(it) => it.next(),
            ChunkIter::Int(it) => it.next(),
        }
    }
}

/// The smaller encoding of an XOR chunk's samples: the integer chunk when every value is a
/// whole number and it takes fewer bytes, else the XOR chunk as it is.
pub fn compact_encoding(xor: &[u8]) -> (u8, Option<Vec<u8>>) {
    let mut it = XorIter::new(xor);
    let samples: Vec<Sample> = it.by_ref().collect();
    if it.is_corrupt() {
        return (ENCODING_XOR, None);
    }
    match int::encode(&samples) {
        Some(bytes) if bytes.len() < xor.len() => (ENCODING_INT, Some(bytes)),
        _ => (ENCODING_XOR, None),
    }
}

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
