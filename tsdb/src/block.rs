//! Immutable blocks on disk: a time range's series, chunks and index.
//!
//! # Layout
//!
//! ```text
//! <id>/meta.json   {"ulid", "minTime", "maxTime", "stats": {...}, "compaction": {...}, "version"}
//! <id>/index       see [`crate::index`]
//! <id>/chunks      magic "KTSC" | version u8 (1) | (encoding u8 | chunk bytes | crc32 u32 LE)*
//! ```
//!
//! `minTime` is inclusive and `maxTime` exclusive. A block is written under `<id>.tmp/`,
//! every file fsynced, then renamed into place and the parent directory fsynced: a block
//! directory without the `.tmp` suffix is always complete, and is never modified after. It
//! is only ever replaced by compaction (new block first, old ones deleted after) or deleted
//! by retention.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::chunk::{compact_encoding, is_known_encoding, ENCODING_XOR};
use crate::error::Error;
use crate::fsutil::{dir_size, sync_dir};
use crate::head::ChunkData;
use crate::index::{self, BlockIndex, ChunkMeta, IndexSeries};
use crate::labels::Labels;
use crate::matcher::Matcher;
use crate::postings::select_postings;

const CHUNKS_MAGIC: &[u8; 4] = b"KTSC";
const CHUNKS_HEADER_LEN: u64 = 5;

/// What `meta.json` says about a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockMeta {
    /// Unique id, also the directory name.
    pub id: String,
    /// First millisecond covered (inclusive).
    pub min_time: i64,
    /// End of the range (exclusive).
    pub max_time: i64,
    pub num_samples: u64,
    pub num_series: u64,
    pub num_chunks: u64,
    /// 1 for a block cut from the head, one more for each compaction.
    pub level: u32,
    /// Ids of the level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
    /// Ids of the blocks compacted into this one (deleted once it is in place).
    pub parents: Vec<String>,
}

impl BlockMeta {
    fn to_json(&self) -> Value {
        json!({
            "ulid": self.id,
            "minTime": self.min_time,
            "maxTime": self.max_time,
            "stats": {
                "numSamples": self.num_samples,
                "numSeries": self.num_series,
                "numChunks": self.num_chunks,
            },
            "compaction": {"level": self.level, "sources": self.sources, "parents": self.parents},
            "version": 1,
        })
    }

    fn from_json(v: &Value) -> Option<BlockMeta> {
        let stat = |k: &str| v.get("stats")?.get(k)?.as_u64();
        let ids = |k: &str| -> Option<Vec<String>> {
            v.get("compaction")?
                .get(k)?
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_owned))
                .collect()
        };
        Some(BlockMeta {
            id: v.get("ulid")?.as_str()?.to_owned(),
            min_time: v.get("minTime")?.as_i64()?,
            max_time: v.get("maxTime")?.as_i64()?,
            num_samples: stat("numSamples")?,
            num_series: stat("numSeries")?,
            num_chunks: stat("numChunks")?,
            level: u32::try_from(v.get("compaction")?.get("level")?.as_u64()?).ok()?,
            sources: ids("sources")?,
            parents: ids("parents").unwrap_or_default(),
        })
    }

    /// Whether the block holds data in `[mint, maxt]` (inclusive query bounds).
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_time <= maxt && self.max_time > mint
    }
}

/// A level-1 meta with no stats, for tests of planning and retention.
#[cfg(test)]
pub(crate) fn test_meta(id: &str, min_time: i64, max_time: i64) -> BlockMeta {
    BlockMeta {
        id: id.into(),
        min_time,
        max_time,
        num_samples: 0,
        num_series: 0,
        num_chunks: 0,
        level: 1,
        sources: vec![id.into()],
        parents: vec![],
    }
}

/// A new, unique, time-ordered block id: 16 hex digits of nanoseconds since the epoch and 8
/// of a process-wide counter.
pub(crate) fn new_block_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id()) << 16;
    format!("{nanos:016x}{:08x}", n as u32)
}

/// Writes one block: series in label order, then [`BlockWriter::finish`].
pub(crate) struct BlockWriter {
    tmp: PathBuf,
    target: PathBuf,
    chunks: BufWriter<File>,
    offset: u64,
    series: Vec<IndexSeries>,
    meta: BlockMeta,
}

impl BlockWriter {
    /// Starts block `id` for `[min_time, max_time)` in `parent`.
    pub(crate) fn new(
        parent: &Path,
        min_time: i64,
        max_time: i64,
        level: u32,
        sources: Vec<String>,
    ) -> Result<Self, Error> {
        let id = new_block_id();
        let target = parent.join(&id);
        let tmp = parent.join(format!("{id}.tmp"));
        fs::create_dir_all(&tmp).map_err(Error::io(format!("create {}", tmp.display())))?;
        let f = File::create(tmp.join("chunks")).map_err(Error::io("create chunks file"))?;
        let mut chunks = BufWriter::with_capacity(1 << 16, f);
        chunks
            .write_all(CHUNKS_MAGIC)
            .and_then(|_| chunks.write_all(&[1]))
            .map_err(Error::io("write chunks file"))?;
        let sources = if sources.is_empty() {
            vec![id.clone()]
        } else {
            sources
        };
        Ok(BlockWriter {
            tmp,
            target,
            chunks,
            offset: CHUNKS_HEADER_LEN,
            series: Vec::new(),
            meta: BlockMeta {
                id,
                min_time,
                max_time,
                num_samples: 0,
                num_series: 0,
                num_chunks: 0,
                level,
                sources,
                parents: Vec::new(),
            },
        })
    }

    /// Records the blocks this one replaces.
    pub(crate) fn set_parents(&mut self, parents: Vec<String>) {
        self.meta.parents = parents;
    }

    /// Adds a series with its chunks in time order. Series must come in increasing label
    /// order; one without chunks is skipped. An XOR chunk of whole numbers is written as an
    /// integer chunk when that is smaller.
    pub(crate) fn add_series(&mut self, labels: Labels, chunks: &[ChunkData]) -> Result<(), Error> {
        if chunks.is_empty() {
            return Ok(());
        }
        debug_assert!(self.series.last().is_none_or(|s| s.labels < labels));
        let mut metas = Vec::with_capacity(chunks.len());
        for c in chunks {
            let (mint, maxt) = (c.mint, c.maxt);
            let (encoding, converted) = if c.encoding == ENCODING_XOR {
                compact_encoding(&c.bytes)
            } else {
                (c.encoding, None)
            };
            let bytes: &[u8] = converted.as_deref().unwrap_or(&c.bytes);
            let len = 1 + bytes.len() as u64 + 4;
            let mut h = crc32fast::Hasher::new();
            h.update(&[encoding]);
            h.update(bytes);
            self.chunks
                .write_all(&[encoding])
                .and_then(|_| self.chunks.write_all(bytes))
                .and_then(|_| self.chunks.write_all(&h.finalize().to_le_bytes()))
                .map_err(Error::io("write chunks file"))?;
            metas.push(ChunkMeta {
                mint,
                maxt,
                offset: self.offset,
                len: u32::try_from(len)
                    .map_err(|_| Error::InvalidOptions("chunk over 4 GiB".into()))?,
            });
            self.offset += len;
            self.meta.num_chunks += 1;
            self.meta.num_samples += u64::from(chunk_samples(bytes));
        }
        self.meta.num_series += 1;
        self.series.push(IndexSeries {
            labels,
            chunks: metas,
        });
        Ok(())
    }

    /// Writes the index and meta, syncs and renames the block into place.
    pub(crate) fn finish(self) -> Result<BlockMeta, Error> {
        let file = self
            .chunks
            .into_inner()
            .map_err(|e| Error::io("write chunks file")(e.into_error()))?;
        file.sync_all().map_err(Error::io("sync chunks file"))?;
        let mut index = File::create(self.tmp.join("index")).map_err(Error::io("create index"))?;
        index
            .write_all(&index::encode(&self.series))
            .and_then(|_| index.sync_all())
            .map_err(Error::io("write index"))?;
        let meta =
            serde_json::to_vec_pretty(&self.meta.to_json()).expect("a JSON value serialises");
        let mut f =
            File::create(self.tmp.join("meta.json")).map_err(Error::io("create meta.json"))?;
        f.write_all(&meta)
            .and_then(|_| f.sync_all())
            .map_err(Error::io("write meta.json"))?;
        sync_dir(&self.tmp)?;
        fs::rename(&self.tmp, &self.target)
            .map_err(Error::io(format!("rename block {}", self.target.display())))?;
        sync_dir(self.target.parent().unwrap_or(Path::new(".")))?;
        Ok(self.meta)
    }

    /// Abandons the block, removing what was written.
    pub(crate) fn abort(self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// The sample count in an XOR chunk's header.
fn chunk_samples(bytes: &[u8]) -> u16 {
    match bytes {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// An open block: meta and index in memory, chunks read from disk on demand.
pub(crate) struct Block {
    pub(crate) dir: PathBuf,
    pub(crate) meta: BlockMeta,
    pub(crate) index: BlockIndex,
    chunks: File,
    pub(crate) size_bytes: u64,
}

impl Block {
    /// Opens and checks the block in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Block, Error> {
        let meta_path = dir.join("meta.json");
        let raw =
            fs::read(&meta_path).map_err(Error::io(format!("read {}", meta_path.display())))?;
        let meta = serde_json::from_slice::<Value>(&raw)
            .ok()
            .and_then(|v| BlockMeta::from_json(&v))
            .ok_or_else(|| Error::corrupt(&meta_path, "not a block meta"))?;
        let index_path = dir.join("index");
        let raw =
            fs::read(&index_path).map_err(Error::io(format!("read {}", index_path.display())))?;
        let index = BlockIndex::decode(&index_path, &raw)?;
        let chunks_path = dir.join("chunks");
        let chunks = File::open(&chunks_path)
            .map_err(Error::io(format!("open {}", chunks_path.display())))?;
        let mut magic = [0u8; CHUNKS_HEADER_LEN as usize];
        chunks
            .read_exact_at(&mut magic, 0)
            .map_err(Error::io(format!("read {}", chunks_path.display())))?;
        if &magic[..4] != CHUNKS_MAGIC || magic[4] != 1 {
            return Err(Error::corrupt(
                chunks_path,
                "not a chunks file of a known version",
            ));
        }
        Ok(Block {
            dir: dir.to_owned(),
            meta,
            index,
            chunks,
            size_bytes: dir_size(dir),
        })
    }

    /// The series matching `matchers` with their chunk references in `[mint, maxt]`.
    pub(crate) fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<(&Labels, Vec<ChunkMeta>)> {
        select_postings(&self.index.postings, matchers)
            .into_iter()
            .filter_map(|id| self.index.series.get(id as usize))
            .map(|s| {
                let chunks = s
                    .chunks
                    .iter()
                    .filter(|c| c.mint <= maxt && c.maxt >= mint)
                    .copied()
                    .collect();
                (&s.labels, chunks)
            })
            .filter(|(_, c): &(_, Vec<ChunkMeta>)| !c.is_empty())
            .collect()
    }

    /// Reads and checks one chunk: its encoding byte and its bytes.
    #[cfg(test)]
    pub(crate) fn read_chunk(&self, c: &ChunkMeta) -> Result<ChunkData, Error> {
        let mut out = self.read_chunks(std::slice::from_ref(c))?;
        Ok(out.pop().expect("one chunk asked, one read"))
    }

    /// Reads and checks chunks, in the order given. Chunks that follow each other in the
    /// file (a series' chunks do) are read with one system call.
    pub(crate) fn read_chunks(&self, metas: &[ChunkMeta]) -> Result<Vec<ChunkData>, Error> {
        let mut out = Vec::with_capacity(metas.len());
        let mut buf = Vec::new();
        let mut rest = metas;
        while let Some(first) = rest.first() {
            // The run of chunks stored back to back from `first` on.
            let mut end = first.offset;
            let mut n = 0;
            for c in rest {
                if c.offset != end {
                    break;
                }
                if c.len < 5 {
                    return Err(Error::corrupt(
                        self.dir.join("chunks"),
                        format!("chunk at {} too short", c.offset),
                    ));
                }
                end += u64::from(c.len);
                n += 1;
            }
            let (run, next) = rest.split_at(n);
            buf.resize((end - first.offset) as usize, 0);
            self.chunks
                .read_exact_at(&mut buf, first.offset)
                .map_err(|e| Error::io(format!("read {}", self.dir.join("chunks").display()))(e))?;
            let mut at = 0;
            for c in run {
                let raw = &buf[at..at + c.len as usize];
                at += c.len as usize;
                let (body, crc) = raw.split_at(raw.len() - 4);
                if crc32fast::hash(body).to_le_bytes() != crc || !is_known_encoding(body[0]) {
                    return Err(Error::corrupt(
                        self.dir.join("chunks"),
                        format!("chunk at {} fails its checksum", c.offset),
                    ));
                }
                out.push(ChunkData {
                    mint: c.mint,
                    maxt: c.maxt,
                    encoding: body[0],
                    bytes: std::sync::Arc::from(&body[1..]),
                });
            }
            rest = next;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{encode_chunks, Sample, ENCODING_INT};

    #[test]
    fn block_write_read_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::new(tmp.path(), 0, 7_200_000, 1, vec![]).unwrap();
        let mut all = Vec::new();
        for i in 0..3 {
            let labels = Labels::new([("__name__", "m"), ("i", &*i.to_string())]).unwrap();
            let samples: Vec<Sample> = (0..300)
                .map(|j| Sample::new(j * 15_000, (i * j) as f64))
                .collect();
            let chunks: Vec<ChunkData> = encode_chunks(&samples)
                .into_iter()
                .map(|(a, b, c)| ChunkData::xor(a, b, c))
                .collect();
            w.add_series(labels.clone(), &chunks).unwrap();
            all.push((labels, samples));
        }
        let meta = w.finish().unwrap();
        assert_eq!(
            (meta.num_series, meta.num_samples, meta.num_chunks),
            (3, 900, 9)
        );
        assert!(!tmp.path().join(format!("{}.tmp", meta.id)).exists());

        let b = Block::open(&tmp.path().join(&meta.id)).unwrap();
        assert_eq!(b.meta, meta);
        let got = b.select(&[Matcher::equal("i", "1")], 0, 1_000_000);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, &all[1].0);
        let samples: Vec<Sample> = got[0]
            .1
            .iter()
            .flat_map(|c| b.read_chunk(c).unwrap().samples().collect::<Vec<_>>())
            .collect();
        assert_eq!(samples, all[1].1[..120]);
        // Read in one go, the chunks of every series are the ones read one by one.
        for (_, metas) in b.select(&[], 0, 1_000_000) {
            let together = b.read_chunks(&metas).unwrap();
            assert_eq!(together.len(), metas.len());
            for (c, m) in together.iter().zip(&metas) {
                let alone = b.read_chunk(m).unwrap();
                assert_eq!(
                    (c.mint, c.maxt, c.encoding),
                    (alone.mint, alone.maxt, alone.encoding)
                );
                assert_eq!(c.bytes, alone.bytes);
            }
        }
        // Whole numbers: written as integer chunks.
        assert_eq!(b.read_chunk(&got[0].1[0]).unwrap().encoding, ENCODING_INT);
    }

    #[test]
    fn damaged_chunk_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = BlockWriter::new(tmp.path(), 0, 100, 1, vec![]).unwrap();
        let chunks = encode_chunks(&[Sample::new(1, 1.0), Sample::new(2, 2.0)]);
        let (mint, maxt, bytes) = chunks[0].clone();
        w.add_series(
            Labels::new([("a", "b")]).unwrap(),
            &[ChunkData::xor(mint, maxt, bytes)],
        )
        .unwrap();
        let meta = w.finish().unwrap();
        let dir = tmp.path().join(&meta.id);
        let mut raw = fs::read(dir.join("chunks")).unwrap();
        raw[8] ^= 0xff;
        fs::write(dir.join("chunks"), raw).unwrap();
        let b = Block::open(&dir).unwrap();
        let c = b.select(&[], 0, 100)[0].1[0];
        assert!(matches!(b.read_chunk(&c), Err(Error::Corrupt { .. })));
    }
}
