//! A block's index file: symbol table, series with their chunk references, postings.
//!
//! # Layout
//!
//! ```text
//! index   := magic "KTSI" | version u8 (1) | section(symbols) | section(series) | section(postings)
//! section := len: u64 LE | payload | crc32(payload): u32 LE
//! symbols := uvarint #symbols | (bytes)*                          sorted, unique strings
//! series  := uvarint #series | series*                            sorted by label set
//! series  := uvarint #labels | (uvarint name sym | uvarint value sym)*
//!            | uvarint #chunks | (varint mint-prev maxt | uvarint maxt-mint
//!              | varint offset-prev end | uvarint len)*       (prev: 0 for the first chunk)
//! postings:= uvarint #names | (uvarint name sym | uvarint #values
//!            | (uvarint value sym | uvarint #ids | uvarint id delta*)*)*
//! ```
//!
//! Series ids in postings are positions in the series section. Chunk offsets and lengths
//! point into the block's chunks file. The whole index is read and checked at open (it is
//! small next to the chunks, which stay on disk and are read on demand).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::encoding::{Dec, Enc};
use crate::error::Error;
use crate::labels::Labels;
use crate::postings::MemPostings;

const MAGIC: &[u8; 4] = b"KTSI";
const VERSION: u8 = 1;

/// Where a chunk is in the chunks file, and its time range (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    pub(crate) offset: u64,
    pub(crate) len: u32,
}

/// One series of the index.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct IndexSeries {
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<ChunkMeta>,
}

/// Encodes an index of `series` (sorted by labels).
pub(crate) fn encode(series: &[IndexSeries]) -> Vec<u8> {
    let mut symbols = BTreeSet::new();
    for s in series {
        for (n, v) in s.labels.iter() {
            symbols.insert(n);
            symbols.insert(v);
        }
    }
    let sym_ids: BTreeMap<&str, u64> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u64))
        .collect();
    let mut out = Enc::default();
    out.buf.extend_from_slice(MAGIC);
    out.u8(VERSION);

    let mut e = Enc::default();
    e.uvarint(symbols.len() as u64);
    for s in &symbols {
        e.bytes(s.as_bytes());
    }
    section(&mut out, &e.buf);

    let mut e = Enc::default();
    let mut postings: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
    e.uvarint(series.len() as u64);
    for (id, s) in series.iter().enumerate() {
        e.uvarint(s.labels.len() as u64);
        for (n, v) in s.labels.iter() {
            e.uvarint(sym_ids[n]);
            e.uvarint(sym_ids[v]);
            postings.entry((n, v)).or_default().push(id as u64);
        }
        e.uvarint(s.chunks.len() as u64);
        // Each chunk relative to the previous one: its start after the previous end, its
        // offset after the previous chunk's bytes (usually 0).
        let (mut prev_maxt, mut next_offset) = (0i64, 0u64);
        for c in &s.chunks {
            e.varint(c.mint.wrapping_sub(prev_maxt));
            e.uvarint(c.maxt.wrapping_sub(c.mint) as u64);
            e.varint(c.offset.wrapping_sub(next_offset) as i64);
            e.uvarint(u64::from(c.len));
            prev_maxt = c.maxt;
            next_offset = c.offset + u64::from(c.len);
        }
    }
    section(&mut out, &e.buf);

    let mut by_name: BTreeMap<&str, Vec<(&str, Vec<u64>)>> = BTreeMap::new();
    for ((n, v), ids) in postings {
        by_name.entry(n).or_default().push((v, ids));
    }
    let mut e = Enc::default();
    e.uvarint(by_name.len() as u64);
    for (n, values) in &by_name {
        e.uvarint(sym_ids[n]);
        e.uvarint(values.len() as u64);
        for (v, ids) in values {
            e.uvarint(sym_ids[v]);
            e.uvarint(ids.len() as u64);
            let mut prev = 0;
            for &id in ids {
                e.uvarint(id - prev);
                prev = id;
            }
        }
    }
    section(&mut out, &e.buf);
    out.buf
}

fn section(out: &mut Enc, payload: &[u8]) {
    out.u64(payload.len() as u64);
    out.buf.extend_from_slice(payload);
    out.u32(crc32fast::hash(payload));
}

/// A block's index, decoded.
#[derive(Debug, Default)]
pub(crate) struct BlockIndex {
    pub(crate) series: Vec<IndexSeries>,
    pub(crate) postings: MemPostings,
}

impl BlockIndex {
    /// Decodes and checks an index file's bytes (`path` is for error messages).
    pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<BlockIndex, Error> {
        let bad = |what: &str| Error::corrupt(path, what.to_owned());
        let mut d = Dec::new(bytes);
        if d.take(4) != Some(&MAGIC[..]) || d.u8() != Some(VERSION) {
            return Err(bad("not an index file of a known version"));
        }
        let mut sections = Vec::new();
        for name in ["symbols", "series", "postings"] {
            let len = d.u64().and_then(|l| usize::try_from(l).ok());
            let payload = len.and_then(|l| d.take(l));
            let crc = d.u32();
            match (payload, crc) {
                (Some(p), Some(c)) if crc32fast::hash(p) == c => sections.push(p),
                _ => {
                    return Err(bad(&format!(
                        "{name} section truncated or fails its checksum"
                    )))
                }
            }
        }
        let mut d = Dec::new(sections[0]);
        let n = d.count().ok_or_else(|| bad("symbols"))?;
        let mut symbols = Vec::with_capacity(n);
        for _ in 0..n {
            symbols.push(d.string().ok_or_else(|| bad("symbols"))?);
        }
        let sym = |d: &mut Dec<'_>| -> Option<&String> {
            symbols.get(usize::try_from(d.uvarint()?).ok()?)
        };

        let mut d = Dec::new(sections[1]);
        let series = (|| -> Option<Vec<IndexSeries>> {
            let n = d.count()?;
            let mut series = Vec::with_capacity(n);
            for _ in 0..n {
                let nl = d.count()?;
                let mut pairs = Vec::with_capacity(nl);
                for _ in 0..nl {
                    pairs.push((sym(&mut d)?.clone(), sym(&mut d)?.clone()));
                }
                if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
                    return None;
                }
                let nc = d.count()?;
                let mut chunks = Vec::with_capacity(nc);
                let (mut prev_maxt, mut next_offset) = (0i64, 0u64);
                for _ in 0..nc {
                    let mint = prev_maxt.wrapping_add(d.varint()?);
                    let maxt = mint.wrapping_add(d.uvarint()? as i64);
                    let offset = next_offset.wrapping_add(d.varint()? as u64);
                    let len = u32::try_from(d.uvarint()?).ok()?;
                    chunks.push(ChunkMeta {
                        mint,
                        maxt,
                        offset,
                        len,
                    });
                    prev_maxt = maxt;
                    next_offset = offset.checked_add(u64::from(len))?;
                }
                series.push(IndexSeries {
                    labels: Labels::from_sorted_unchecked(pairs),
                    chunks,
                });
            }
            Some(series)
        })()
        .ok_or_else(|| bad("series section does not decode"))?;

        let mut d = Dec::new(sections[2]);
        let mut postings = MemPostings::default();
        (|| -> Option<()> {
            for _ in 0..d.count()? {
                let name = sym(&mut d)?;
                for _ in 0..d.count()? {
                    let value = sym(&mut d)?;
                    let n = d.count()?;
                    let mut ids = Vec::with_capacity(n);
                    let mut prev = 0u64;
                    for _ in 0..n {
                        prev = prev.checked_add(d.uvarint()?)?;
                        if prev >= series.len() as u64 {
                            return None;
                        }
                        ids.push(prev);
                    }
                    postings.insert_list(name, value, ids);
                }
            }
            Some(())
        })()
        .ok_or_else(|| bad("postings section does not decode"))?;
        postings.set_all((0..series.len() as u64).collect());
        Ok(BlockIndex { series, postings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::{MatchOp, Matcher};
    use crate::postings::select_postings;

    fn sample_series() -> Vec<IndexSeries> {
        let mut v: Vec<IndexSeries> = (0..5)
            .map(|i| IndexSeries {
                labels: Labels::new([
                    ("__name__", "up"),
                    ("i", &*i.to_string()),
                    ("odd", if i % 2 == 1 { "y" } else { "" }),
                ])
                .unwrap(),
                chunks: vec![ChunkMeta {
                    mint: -5 + i,
                    maxt: 100 + i,
                    offset: 5 + 20 * i as u64,
                    len: 20,
                }],
            })
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    #[test]
    fn index_round_trip_and_postings() {
        let series = sample_series();
        let bytes = encode(&series);
        let ix = BlockIndex::decode(Path::new("index"), &bytes).unwrap();
        assert_eq!(ix.series, series);
        let odd = select_postings(&ix.postings, &[Matcher::equal("odd", "y")]);
        let labels: Vec<&str> = odd
            .iter()
            .map(|&i| ix.series[i as usize].labels.get("i").unwrap())
            .collect();
        assert_eq!(labels, vec!["1", "3"]);
        let even = select_postings(
            &ix.postings,
            &[Matcher::new(MatchOp::Equal, "odd", "").unwrap()],
        );
        assert_eq!(even.len(), 3);
    }

    #[test]
    fn corruption_is_detected() {
        let bytes = encode(&sample_series());
        for cut in [3, 10, bytes.len() - 1] {
            assert!(BlockIndex::decode(Path::new("index"), &bytes[..cut]).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[20] ^= 0x40;
        let e = BlockIndex::decode(Path::new("index"), &flipped).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
    }
}
