//! Compaction: planning which blocks to merge, and merging series chunks.
//!
//! Blocks cut from the head span one base range (2 h by default). Compaction merges the
//! blocks that lie in one window of the next range (×3: 6 h, 18 h, 54 h, … up to the
//! maximum, by default a tenth of the retention) into one block, once the head can no
//! longer write into that window. The new block is complete on disk before the old ones are
//! deleted; its `meta.json` names them (`parents`), so a crash in between is repaired at
//! open by deleting the parents.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::block::{Block, BlockMeta, BlockWriter};
use crate::chunk::{encode_chunks, Sample};
use crate::error::Error;
use crate::head::{block_start, ChunkData};
use crate::labels::Labels;

/// The compaction ranges: `base`, then ×3 while not above `max`.
pub(crate) fn ranges(base: i64, max: i64) -> Vec<i64> {
    let mut out = vec![base];
    while let Some(next) = out.last().and_then(|r| r.checked_mul(3)) {
        if next > max {
            break;
        }
        out.push(next);
    }
    out
}

/// The ids of the next blocks to merge: at least two blocks inside one window of a range
/// above the base, the window wholly before `complete_before` (the head's oldest writable
/// time). Smaller ranges first.
pub(crate) fn plan(
    metas: &[BlockMeta],
    ranges: &[i64],
    complete_before: i64,
) -> Option<Vec<String>> {
    for &r in ranges.iter().skip(1) {
        let mut windows: BTreeMap<i64, Vec<&BlockMeta>> = BTreeMap::new();
        for m in metas {
            let start = block_start(m.min_time, r);
            if block_start(m.max_time - 1, r) == start {
                windows.entry(start).or_default().push(m);
            }
        }
        for (start, group) in windows {
            if group.len() >= 2 && start.saturating_add(r) <= complete_before {
                return Some(group.iter().map(|m| m.id.clone()).collect());
            }
        }
    }
    None
}

/// One series' chunks made fit for a block covering `[mint, maxt]` (inclusive): if every
/// chunk lies inside and they do not overlap, they are kept as they are; otherwise the
/// samples are decoded, clipped to the range, merged (the first of equal timestamps wins)
/// and re-encoded.
pub(crate) fn normalize(mut chunks: Vec<ChunkData>, mint: i64, maxt: i64) -> Vec<ChunkData> {
    chunks.sort_by_key(|c| c.mint);
    let inside = chunks.iter().all(|c| c.mint >= mint && c.maxt <= maxt);
    let disjoint = chunks.windows(2).all(|w| w[0].maxt < w[1].mint);
    if inside && disjoint {
        return chunks;
    }
    let lists = chunks
        .iter()
        .map(|c| c.samples().filter(|s| s.t >= mint && s.t <= maxt).collect())
        .collect();
    encode_chunks(&merge_samples(lists))
        .into_iter()
        .map(|(mint, maxt, bytes)| ChunkData::xor(mint, maxt, bytes))
        .collect()
}

/// Merges time-sorted sample lists into one, sorted, with one sample per timestamp (from the
/// earliest list that has it).
pub(crate) fn merge_samples(mut lists: Vec<Vec<Sample>>) -> Vec<Sample> {
    lists.retain(|l| !l.is_empty());
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<Sample> = lists.into_iter().flatten().collect();
            // Stable, so for equal timestamps the earlier list comes first.
            all.sort_by_key(|s| s.t);
            all.dedup_by_key(|s| s.t);
            all
        }
    }
}

/// Merges `blocks` (all of one window) into one new block in `parent`.
pub(crate) fn compact(parent: &Path, blocks: &[Arc<Block>]) -> Result<BlockMeta, Error> {
    let min_time = blocks.iter().map(|b| b.meta.min_time).min().unwrap_or(0);
    let max_time = blocks.iter().map(|b| b.meta.max_time).max().unwrap_or(0);
    let level = blocks.iter().map(|b| b.meta.level).max().unwrap_or(0) + 1;
    let mut sources: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.meta.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let parents = blocks.iter().map(|b| b.meta.id.clone()).collect();
    let mut w = BlockWriter::new(parent, min_time, max_time, level, sources)?;
    w.set_parents(parents);
    // Every series of every block, by labels; the index of each block is in memory.
    let mut by_labels: BTreeMap<&Labels, Vec<(usize, usize)>> = BTreeMap::new();
    for (bi, b) in blocks.iter().enumerate() {
        for (si, s) in b.index.series.iter().enumerate() {
            by_labels.entry(&s.labels).or_default().push((bi, si));
        }
    }
    let result = (|| {
        for (labels, places) in by_labels {
            let mut chunks = Vec::new();
            for (bi, si) in places {
                let b = &blocks[bi];
                chunks.extend(b.read_chunks(&b.index.series[si].chunks)?);
            }
            let chunks = normalize(chunks, min_time, max_time - 1);
            w.add_series(labels.clone(), &chunks)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => w.finish(),
        Err(e) => {
            w.abort();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::test_meta as meta;
    use crate::matcher::Matcher;

    const H2: i64 = 7_200_000;

    #[test]
    fn ranges_grow_by_three_up_to_max() {
        assert_eq!(ranges(H2, 10 * H2), vec![H2, 3 * H2, 9 * H2]);
        assert_eq!(ranges(H2, H2), vec![H2]);
    }

    #[test]
    fn plan_waits_for_complete_windows() {
        let rs = ranges(H2, 9 * H2);
        let metas = vec![
            meta("a", 0, H2),
            meta("b", H2, 2 * H2),
            meta("c", 2 * H2, 3 * H2),
            meta("d", 3 * H2, 4 * H2),
        ];
        // The 6 h window [0, 6h) is complete only once the head is past it.
        assert_eq!(plan(&metas[..2], &rs, 2 * H2), None);
        assert_eq!(
            plan(&metas, &rs, 4 * H2),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        // A block of the larger range joins its 18 h window.
        let metas = vec![
            meta("x", 0, 3 * H2),
            meta("y", 3 * H2, 6 * H2),
            meta("z", 6 * H2, 7 * H2),
        ];
        assert_eq!(plan(&metas, &rs, 8 * H2), None);
        assert_eq!(
            plan(&metas, &rs, 9 * H2),
            Some(vec!["x".into(), "y".into(), "z".into()])
        );
    }

    #[test]
    fn merge_keeps_one_sample_per_timestamp() {
        let s = |t, v| Sample::new(t, v);
        let merged = merge_samples(vec![
            vec![s(1, 1.0), s(3, 3.0)],
            vec![s(2, 2.0), s(3, 9.0), s(4, 4.0)],
        ]);
        assert_eq!(merged, vec![s(1, 1.0), s(2, 2.0), s(3, 3.0), s(4, 4.0)]);
    }

    #[test]
    fn normalize_clips_and_merges_overlaps() {
        let enc = |samples: &[Sample]| {
            let (mint, maxt, bytes) = encode_chunks(samples).remove(0);
            ChunkData::xor(mint, maxt, bytes)
        };
        let a = enc(&(0..10)
            .map(|t| Sample::new(t, t as f64))
            .collect::<Vec<_>>());
        let b = enc(&(5..15).map(|t| Sample::new(t, -1.0)).collect::<Vec<_>>());
        let kept = normalize(vec![a.clone()], 0, 100);
        assert!(Arc::ptr_eq(&kept[0].bytes, &a.bytes));
        let out = normalize(vec![b, a], 2, 12);
        let samples: Vec<Sample> = out
            .iter()
            .flat_map(|c| c.samples().collect::<Vec<_>>())
            .collect();
        assert_eq!(samples.len(), 11);
        assert_eq!(samples[0], Sample::new(2, 2.0));
        assert_eq!(samples[9], Sample::new(11, -1.0));
    }

    #[test]
    fn compaction_merges_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let mut blocks = Vec::new();
        for i in 0..3i64 {
            let mut w = BlockWriter::new(tmp.path(), i * H2, (i + 1) * H2, 1, vec![]).unwrap();
            // Series "common" in every block, series "only{i}" in one.
            let mut series = vec![
                (Labels::new([("__name__", "common")]).unwrap(), i * H2),
                (
                    Labels::new([("__name__", format!("only{i}"))]).unwrap(),
                    i * H2 + 1,
                ),
            ];
            series.sort();
            for (labels, t) in series {
                let chunks = encode_chunks(&[Sample::new(t, 1.0), Sample::new(t + 1000, 2.0)]);
                let (mint, maxt, bytes) = chunks[0].clone();
                w.add_series(labels, &[ChunkData::xor(mint, maxt, bytes)])
                    .unwrap();
            }
            let meta = w.finish().unwrap();
            blocks.push(Arc::new(Block::open(&tmp.path().join(&meta.id)).unwrap()));
        }
        let meta = compact(tmp.path(), &blocks).unwrap();
        assert_eq!((meta.min_time, meta.max_time, meta.level), (0, 3 * H2, 2));
        assert_eq!(
            (meta.num_series, meta.num_samples, meta.num_chunks),
            (4, 12, 6)
        );
        assert_eq!(meta.parents.len(), 3);
        assert_eq!(meta.sources.len(), 3);
        let b = Block::open(&tmp.path().join(&meta.id)).unwrap();
        let common = b.select(&[Matcher::equal("__name__", "common")], 0, 3 * H2);
        assert_eq!(common[0].1.len(), 3);
    }
}
