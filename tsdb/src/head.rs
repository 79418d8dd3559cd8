//! The head: the most recent data, in memory, in XOR chunks, indexed by postings.
//!
//! Every sample in the head is also in the WAL. A series' chunks are cut every
//! [`SAMPLES_PER_CHUNK`] samples and at every block-range boundary, so no chunk spans two
//! blocks and cutting a block out of the head takes whole chunks.
//!
//! Appends are checked ([`Head::prepare`]) under the read lock, logged by the caller, then
//! applied ([`Head::apply`]) under the write lock; the caller serialises commits, so what was
//! checked still holds when it is applied.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::chunk::{ChunkIter, XorAppender, ENCODING_XOR, SAMPLES_PER_CHUNK};
use crate::error::{Refusal, RefuseReason, Rejection};
use crate::labels::Labels;
use crate::limits::Limits;
use crate::matcher::Matcher;
use crate::postings::{select_postings, LabelIndex, MemPostings};
use crate::wal::{WalBatch, WalSample};

/// An encoded chunk with its time range (both ends inclusive).
#[derive(Clone, Debug)]
pub(crate) struct ChunkData {
    pub(crate) mint: i64,
    pub(crate) maxt: i64,
    /// [`crate::chunk::ENCODING_XOR`] or [`crate::chunk::ENCODING_INT`].
    pub(crate) encoding: u8,
    pub(crate) bytes: Arc<[u8]>,
}

impl ChunkData {
    /// An XOR chunk (what the head appends).
    pub(crate) fn xor(mint: i64, maxt: i64, bytes: impl Into<Arc<[u8]>>) -> Self {
        ChunkData {
            mint,
            maxt,
            encoding: ENCODING_XOR,
            bytes: bytes.into(),
        }
    }

    /// Its samples.
    pub(crate) fn samples(&self) -> ChunkIter<'_> {
        ChunkIter::new(self.encoding, &self.bytes)
    }

    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.mint <= maxt && self.maxt >= mint
    }

    /// How many samples the chunk says it holds (its `u16` count header, the same in both
    /// encodings); iteration yields at most this many.
    pub(crate) fn count(&self) -> usize {
        match *self.bytes {
            [a, b, ..] => usize::from(u16::from_be_bytes([a, b])),
            _ => 0,
        }
    }
}

struct OpenChunk {
    mint: i64,
    maxt: i64,
    app: XorAppender,
}

struct MemSeries {
    labels: Labels,
    closed: Vec<ChunkData>,
    open: Option<OpenChunk>,
    /// Last sample's time and value bits (`i64::MIN` before the first).
    last_t: i64,
    last_v: u64,
}

impl MemSeries {
    fn new(labels: Labels) -> Self {
        MemSeries {
            labels,
            closed: Vec::new(),
            open: None,
            last_t: i64::MIN,
            last_v: 0,
        }
    }

    /// Appends an in-order sample; returns whether a new chunk was started.
    fn append(&mut self, t: i64, v: f64, range: i64) -> bool {
        let cut = match &self.open {
            None => true,
            Some(o) => {
                o.app.len() >= SAMPLES_PER_CHUNK
                    || block_start(t, range) != block_start(o.mint, range)
            }
        };
        if cut {
            if let Some(o) = self.open.take() {
                self.closed
                    .push(ChunkData::xor(o.mint, o.maxt, o.app.into_bytes()));
            }
            self.open = Some(OpenChunk {
                mint: t,
                maxt: t,
                app: XorAppender::new(),
            });
        }
        let o = self.open.as_mut().expect("opened above");
        o.app.append(t, v);
        o.maxt = t;
        self.last_t = t;
        self.last_v = v.to_bits();
        cut
    }

    fn chunks_in(&self, mint: i64, maxt: i64) -> Vec<ChunkData> {
        let mut out: Vec<ChunkData> = self
            .closed
            .iter()
            .filter(|c| c.overlaps(mint, maxt))
            .cloned()
            .collect();
        if let Some(o) = &self.open {
            if o.mint <= maxt && o.maxt >= mint {
                out.push(ChunkData::xor(o.mint, o.maxt, o.app.bytes()));
            }
        }
        out
    }

    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        let first = self
            .closed
            .first()
            .map(|c| c.mint)
            .or(self.open.as_ref().map(|o| o.mint));
        first.is_some_and(|first| first <= maxt && self.last_t >= mint)
    }

    fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }

    /// Drops chunks that end before `t`; returns how many.
    fn truncate(&mut self, t: i64) -> usize {
        let before = self.num_chunks();
        self.closed.retain(|c| c.maxt >= t);
        if self.open.as_ref().is_some_and(|o| o.maxt < t) {
            self.open = None;
        }
        before - self.num_chunks()
    }

    fn min_time(&self) -> Option<i64> {
        self.closed
            .first()
            .map(|c| c.mint)
            .or(self.open.as_ref().map(|o| o.mint))
    }
}

/// The system clock in milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Start of the block-range window holding `t`.
pub(crate) fn block_start(t: i64, range: i64) -> i64 {
    t.div_euclid(range) * range
}

struct HeadData {
    series: HashMap<u64, MemSeries>,
    refs: HashMap<Labels, u64>,
    postings: MemPostings,
    per_metric: HashMap<String, usize>,
    /// Refs of series logged twice under different refs (see [`Head::replay`]): old → live.
    aliases: HashMap<u64, u64>,
    next_ref: u64,
    chunks: usize,
    mint: i64,
    maxt: i64,
    min_valid: i64,
}

impl LabelIndex for HeadData {
    fn values_of(&self, name: &str) -> Vec<&str> {
        self.postings.values_of(name)
    }
    fn postings(&self, name: &str, value: &str) -> Vec<u64> {
        self.postings.postings(name, value)
    }
    fn all_postings(&self) -> Vec<u64> {
        self.postings.all_postings()
    }
}

/// One series' head data in a time range.
pub(crate) struct HeadSeries {
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<ChunkData>,
}

/// Pending samples of one series in an append batch, in the order appended.
pub(crate) struct Pending {
    pub(crate) labels: Labels,
    pub(crate) samples: Vec<(i64, f64)>,
}

/// The in-memory head.
pub(crate) struct Head {
    data: RwLock<HeadData>,
    range: i64,
}

impl Head {
    /// An empty head cutting chunks at `range` boundaries, refusing samples before
    /// `min_valid`.
    pub(crate) fn new(range: i64, min_valid: i64) -> Self {
        Head {
            data: RwLock::new(HeadData {
                series: HashMap::new(),
                refs: HashMap::new(),
                postings: MemPostings::default(),
                per_metric: HashMap::new(),
                aliases: HashMap::new(),
                next_ref: 1,
                chunks: 0,
                mint: i64::MAX,
                maxt: i64::MIN,
                min_valid,
            }),
            range,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HeadData> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HeadData> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks a batch against the head and the limits, resolving series refs (new series get
    /// the next free refs). Returns the batch to log and apply, or every refusal.
    ///
    /// Each pending series is looked up once for all its samples; samples are checked in
    /// batch order, so refusals and their counts are those of checking one sample at a time.
    pub(crate) fn prepare(
        &self,
        batch: Vec<Pending>,
        limits: &Limits,
    ) -> Result<WalBatch, Rejection> {
        let h = self.read();
        let oldest = h.min_valid.max(h.maxt.saturating_sub(self.range / 2));
        let newest = limits.max_future_ms.map(|f| now_ms().saturating_add(f));
        let mut out = WalBatch {
            series: Vec::new(),
            samples: Vec::with_capacity(batch.iter().map(|p| p.samples.len()).sum()),
        };
        let mut new_refs: HashMap<Labels, u64> = HashMap::new();
        let mut new_per_metric: HashMap<String, usize> = HashMap::new();
        // Last (time, value bits) of series seen earlier in this batch.
        let mut last: HashMap<u64, (i64, u64)> = HashMap::new();
        let mut refusals: Vec<Refusal> = Vec::new();
        let refuse = |reason: RefuseReason, message: String| Refusal { reason, message };
        for p in batch {
            // The series' ref, resolved at its first sample that passes the time checks:
            // Some(Ok(id)), or Some(Err(refusal)) for a series that may not be created.
            let mut series: Option<Result<u64, Refusal>> = None;
            let mut prev: Option<(i64, u64)> = None;
            for &(t, v) in &p.samples {
                if t < oldest {
                    refusals.push(refuse(
                        RefuseReason::TooOld,
                        format!(
                            "sample of {} at {t} is before the head's oldest writable time {oldest}",
                            p.labels
                        ),
                    ));
                    continue;
                }
                if let Some(newest) = newest.filter(|&n| t > n) {
                    refusals.push(refuse(
                        RefuseReason::TooFarInFuture,
                        format!(
                            "sample of {} at {t} is after {newest}, the clock plus the limit max_future_ms={}",
                            p.labels,
                            limits.max_future_ms.unwrap_or_default()
                        ),
                    ));
                    continue;
                }
                let resolved = series.get_or_insert_with(|| {
                    if let Some(&id) = h.refs.get(&p.labels).or_else(|| new_refs.get(&p.labels)) {
                        return Ok(id);
                    }
                    if let Some(r) = limits.check_labels(&p.labels) {
                        return Err(r);
                    }
                    let total = h.series.len() + new_refs.len();
                    if total >= limits.max_series {
                        return Err(refuse(
                            RefuseReason::SeriesTotal,
                            format!(
                                "new series {} would exceed the limit max_series={}",
                                p.labels, limits.max_series
                            ),
                        ));
                    }
                    let name = p.labels.metric_name();
                    let of_metric = h.per_metric.get(name).copied().unwrap_or(0)
                        + new_per_metric.get(name).copied().unwrap_or(0);
                    if of_metric >= limits.max_series_per_metric {
                        return Err(refuse(
                            RefuseReason::SeriesPerMetric,
                            format!(
                                "new series {} would exceed the limit max_series_per_metric={} for metric {name:?}",
                                p.labels, limits.max_series_per_metric
                            ),
                        ));
                    }
                    let id = h.next_ref + new_refs.len() as u64;
                    *new_per_metric.entry(name.to_owned()).or_default() += 1;
                    new_refs.insert(p.labels.clone(), id);
                    out.series.push((id, p.labels.clone()));
                    Ok(id)
                });
                let id = match resolved {
                    Ok(id) => *id,
                    Err(r) => {
                        refusals.push(r.clone());
                        continue;
                    }
                };
                let (last_t, last_v) = *prev.get_or_insert_with(|| {
                    last.get(&id)
                        .copied()
                        .or_else(|| h.series.get(&id).map(|s| (s.last_t, s.last_v)))
                        .unwrap_or((i64::MIN, 0))
                });
                if t < last_t {
                    refusals.push(refuse(
                        RefuseReason::OutOfOrder,
                        format!(
                            "sample of {} at {t} is older than its last sample at {last_t}",
                            p.labels
                        ),
                    ));
                    continue;
                }
                if t == last_t {
                    if v.to_bits() != last_v {
                        refusals.push(refuse(
                            RefuseReason::Duplicate,
                            format!(
                                "sample of {} at {t} has value {v} but {} is already stored at that time",
                                p.labels,
                                f64::from_bits(last_v)
                            ),
                        ));
                    }
                    // The same sample again is accepted and not stored twice.
                    continue;
                }
                prev = Some((t, v.to_bits()));
                out.samples.push(WalSample { series: id, t, v });
            }
            if let (Some(Ok(id)), Some(newest)) = (series, prev) {
                last.insert(id, newest);
            }
        }
        if refusals.is_empty() {
            Ok(out)
        } else {
            Err(Rejection::from_refusals(refusals))
        }
    }

    /// Applies a checked (or replayed) batch. Samples that are not after their series' last
    /// sample, or before the minimum valid time, are skipped (replay may see them).
    /// Returns the number of samples stored.
    pub(crate) fn apply(&self, batch: &WalBatch) -> usize {
        let mut h = self.write();
        let h = &mut *h;
        for (id, labels) in &batch.series {
            if let Some(&live) = h.refs.get(labels) {
                // The same labels logged under an older ref still in the head (replay after a
                // crash between head truncation and checkpoint).
                if live != *id {
                    h.aliases.insert(*id, live);
                }
                continue;
            }
            h.refs.insert(labels.clone(), *id);
            h.postings.add(*id, labels);
            *h.per_metric
                .entry(labels.metric_name().to_owned())
                .or_default() += 1;
            h.series.insert(*id, MemSeries::new(labels.clone()));
            h.next_ref = h.next_ref.max(id + 1);
        }
        let mut stored = 0;
        let (mut mint, mut maxt, mut chunks) = (h.mint, h.maxt, 0);
        // Samples come in runs of one series: it is looked up once per run.
        let mut current: Option<(u64, Option<&mut MemSeries>)> = None;
        for s in &batch.samples {
            if current
                .as_ref()
                .is_none_or(|(logged, _)| *logged != s.series)
            {
                let id = h.aliases.get(&s.series).copied().unwrap_or(s.series);
                current = Some((s.series, h.series.get_mut(&id)));
            }
            let Some((_, Some(series))) = current.as_mut() else {
                continue;
            };
            if s.t <= series.last_t || s.t < h.min_valid {
                continue;
            }
            if series.append(s.t, s.v, self.range) {
                chunks += 1;
            }
            mint = mint.min(s.t);
            maxt = maxt.max(s.t);
            stored += 1;
        }
        h.chunks += chunks;
        h.mint = mint;
        h.maxt = maxt;
        stored
    }

    /// The series matching `matchers` with their chunks overlapping `[mint, maxt]`, sorted
    /// by labels. Series with no data in the range are left out.
    pub(crate) fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<HeadSeries> {
        let h = self.read();
        let mut out: Vec<HeadSeries> = select_postings(&*h, matchers)
            .into_iter()
            .filter_map(|id| h.series.get(&id))
            .filter(|s| s.overlaps(mint, maxt))
            .map(|s| HeadSeries {
                labels: s.labels.clone(),
                chunks: s.chunks_in(mint, maxt),
            })
            .collect();
        drop(h);
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        out
    }

    /// Label sets of the matching series with data in `[mint, maxt]` (unsorted).
    pub(crate) fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let h = self.read();
        select_postings(&*h, matchers)
            .into_iter()
            .filter_map(|id| h.series.get(&id))
            .filter(|s| s.overlaps(mint, maxt))
            .map(|s| s.labels.clone())
            .collect()
    }

    /// Drops every chunk ending before `t`, then series left without chunks; samples before
    /// `t` are refused from now on. Returns how many series were removed.
    pub(crate) fn truncate(&self, t: i64) -> usize {
        let mut h = self.write();
        let h = &mut *h;
        h.min_valid = h.min_valid.max(t);
        let mut dropped_chunks = 0;
        let mut gone: Vec<u64> = Vec::new();
        let mut mint = i64::MAX;
        for (id, s) in h.series.iter_mut() {
            dropped_chunks += s.truncate(t);
            match s.min_time() {
                Some(m) => mint = mint.min(m),
                None => gone.push(*id),
            }
        }
        h.chunks -= dropped_chunks;
        h.mint = mint;
        if mint == i64::MAX {
            h.maxt = h.maxt.max(t);
        }
        let removed: Vec<(u64, MemSeries)> = gone
            .iter()
            .filter_map(|id| h.series.remove_entry(id))
            .collect();
        let pairs: Vec<(u64, &Labels)> = removed.iter().map(|(id, s)| (*id, &s.labels)).collect();
        h.postings.remove(&pairs);
        for (_, s) in &removed {
            h.refs.remove(&s.labels);
            let name = s.labels.metric_name();
            if let Some(n) = h.per_metric.get_mut(name) {
                *n -= 1;
                if *n == 0 {
                    h.per_metric.remove(name);
                }
            }
        }
        let gone: HashSet<u64> = gone.into_iter().collect();
        h.aliases.retain(|_, live| !gone.contains(live));
        removed.len()
    }

    /// Whether a WAL series ref is still needed: its series, or the series it aliases, is live.
    pub(crate) fn live_refs(&self) -> HashSet<u64> {
        let h = self.read();
        let mut live: HashSet<u64> = h.series.keys().copied().collect();
        live.extend(h.aliases.keys().copied());
        live
    }

    /// `(mint, maxt)` of the head's samples, `None` when empty.
    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let h = self.read();
        (h.mint <= h.maxt && !h.series.is_empty()).then_some((h.mint, h.maxt))
    }

    pub(crate) fn min_valid(&self) -> i64 {
        self.read().min_valid
    }

    /// (series, chunks) in the head.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let h = self.read();
        (h.series.len(), h.chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::XorIter;

    const H2: i64 = 2 * 3600 * 1000;

    fn pending(name: &str, t: i64, v: f64) -> Pending {
        Pending {
            labels: Labels::new([("__name__", name)]).unwrap(),
            samples: vec![(t, v)],
        }
    }

    fn commit(head: &Head, batch: Vec<Pending>, limits: &Limits) -> Result<usize, Rejection> {
        let b = head.prepare(batch, limits)?;
        Ok(head.apply(&b))
    }

    fn samples(head: &Head, name: &str) -> Vec<(i64, f64)> {
        head.select(&[Matcher::equal("__name__", name)], i64::MIN, i64::MAX)
            .into_iter()
            .flat_map(|s| s.chunks)
            .flat_map(|c| {
                XorIter::new(&c.bytes)
                    .map(|s| (s.t, s.v))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn out_of_order_duplicate_and_too_old_are_refused_whole_batch() {
        let head = Head::new(H2, 0);
        let l = Limits::default();
        assert_eq!(
            commit(
                &head,
                vec![pending("a", 1000, 1.0), pending("a", 2000, 2.0)],
                &l
            ),
            Ok(2)
        );
        // Same sample again: accepted, not stored twice.
        assert_eq!(commit(&head, vec![pending("a", 2000, 2.0)], &l), Ok(0));
        let r = commit(
            &head,
            vec![
                pending("b", 5000, 1.0),
                pending("a", 1500, 1.0),
                pending("a", 2000, 3.0),
                pending("a", -1, 1.0),
            ],
            &l,
        )
        .unwrap_err();
        assert_eq!(
            r.by_reason,
            vec![
                (RefuseReason::OutOfOrder, 1),
                (RefuseReason::Duplicate, 1),
                (RefuseReason::TooOld, 1)
            ]
        );
        assert!(r.details[1].message.contains("value 3"), "{:?}", r.details);
        // Nothing of the rejected batch was applied: no series b.
        assert_eq!(head.counts().0, 1);
        assert_eq!(samples(&head, "a"), vec![(1000, 1.0), (2000, 2.0)]);
        // In-batch order counts too.
        let r = commit(
            &head,
            vec![pending("a", 9000, 1.0), pending("a", 8000, 1.0)],
            &l,
        )
        .unwrap_err();
        assert_eq!(r.by_reason, vec![(RefuseReason::OutOfOrder, 1)]);
    }

    #[test]
    fn far_future_samples_are_refused() {
        let head = Head::new(H2, 0);
        let l = Limits::default();
        let now = now_ms();
        commit(&head, vec![pending("a", now + 60_000, 1.0)], &l).unwrap();
        let r = commit(&head, vec![pending("a", now + 3600 * 1000, 1.0)], &l).unwrap_err();
        assert_eq!(r.by_reason, vec![(RefuseReason::TooFarInFuture, 1)]);
        assert!(r.details[0].message.contains("max_future_ms=600000"));
        let unbounded = Limits {
            max_future_ms: None,
            ..Limits::default()
        };
        commit(
            &head,
            vec![pending("a", now + 3600 * 1000, 1.0)],
            &unbounded,
        )
        .unwrap();
    }

    #[test]
    fn too_old_is_half_a_range_behind_the_newest_sample() {
        let head = Head::new(H2, 0);
        let l = Limits::default();
        commit(&head, vec![pending("a", 10 * H2, 1.0)], &l).unwrap();
        let r = commit(&head, vec![pending("b", 10 * H2 - H2 / 2 - 1, 1.0)], &l).unwrap_err();
        assert_eq!(r.by_reason, vec![(RefuseReason::TooOld, 1)]);
        commit(&head, vec![pending("b", 10 * H2 - H2 / 2, 1.0)], &l).unwrap();
    }

    #[test]
    fn series_limits() {
        let head = Head::new(H2, 0);
        let l = Limits {
            max_series: 3,
            max_series_per_metric: 2,
            ..Limits::default()
        };
        let ser = |m: &str, i: usize| Pending {
            labels: Labels::new([("__name__", m.to_owned()), ("i", i.to_string())]).unwrap(),
            samples: vec![(1, 0.0)],
        };
        let r = commit(&head, vec![ser("a", 1), ser("a", 2), ser("a", 3)], &l).unwrap_err();
        assert_eq!(r.by_reason, vec![(RefuseReason::SeriesPerMetric, 1)]);
        assert!(r.details[0].message.contains("max_series_per_metric=2"));
        commit(&head, vec![ser("a", 1), ser("a", 2), ser("b", 1)], &l).unwrap();
        let r = commit(&head, vec![ser("c", 1)], &l).unwrap_err();
        assert_eq!(r.by_reason, vec![(RefuseReason::SeriesTotal, 1)]);
        assert!(r.details[0].message.contains("max_series=3"));
    }

    #[test]
    fn chunks_cut_at_size_and_range_boundaries_and_truncate() {
        let head = Head::new(H2, 0);
        let l = Limits::default();
        // 15 s scrapes over 3 h: 720 samples.
        for i in 0..720 {
            commit(&head, vec![pending("a", i * 15_000, i as f64)], &l).unwrap();
        }
        let chunks = &head.select(&[], 0, i64::MAX)[0].chunks;
        assert_eq!(chunks.len(), 6);
        assert!(chunks
            .iter()
            .all(|c| block_start(c.mint, H2) == block_start(c.maxt, H2)));
        assert_eq!(head.counts(), (1, 6));
        head.truncate(H2);
        assert_eq!(head.counts(), (1, 2));
        assert_eq!(head.time_range(), Some((H2, 719 * 15_000)));
        assert_eq!(samples(&head, "a").len(), 240);
        // A series whose samples are all before the cut goes away with its postings.
        commit(&head, vec![pending("b", 719 * 15_000, 1.0)], &l).unwrap();
        assert_eq!(head.truncate(720 * 15_000), 2);
        assert_eq!(head.counts(), (0, 0));
        assert!(head.select(&[], i64::MIN, i64::MAX).is_empty());
    }

    proptest::proptest! {
        /// Random batches against a model: a batch is applied whole or not at all, and the
        /// head's content is exactly the model's.
        #[test]
        fn batches_match_a_model(batches in proptest::collection::vec(
            proptest::collection::vec((0usize..3, 0i64..40, 0u8..3), 1..6), 1..30)
        ) {
            let head = Head::new(H2, 0);
            let limits = Limits::default();
            let mut model: std::collections::BTreeMap<usize, Vec<(i64, f64)>> = Default::default();
            for batch in batches {
                let mut next = model.clone();
                let mut refused = Vec::new();
                for &(s, t, v) in &batch {
                    let list = next.entry(s).or_default();
                    match list.last() {
                        Some(&(lt, _)) if t < lt => refused.push(RefuseReason::OutOfOrder),
                        Some(&(lt, lv)) if t == lt && lv != f64::from(v) => refused.push(RefuseReason::Duplicate),
                        Some(&(lt, _)) if t == lt => {}
                        _ => list.push((t, f64::from(v))),
                    }
                }
                let pending = batch.iter().map(|&(s, t, v)| pending(&format!("s{s}"), t, f64::from(v))).collect();
                match commit(&head, pending, &limits) {
                    Ok(_) => {
                        proptest::prop_assert!(refused.is_empty());
                        next.retain(|_, l| !l.is_empty());
                        model = next;
                    }
                    Err(r) => proptest::prop_assert_eq!(r.refused(), refused.len() as u64),
                }
            }
            for (s, want) in model {
                proptest::prop_assert_eq!(samples(&head, &format!("s{s}")), want);
            }
        }
    }

    #[test]
    fn replay_aliases_relogged_series() {
        let head = Head::new(H2, 0);
        let labels = Labels::new([("__name__", "a")]).unwrap();
        let b1 = WalBatch {
            series: vec![(1, labels.clone())],
            samples: vec![WalSample {
                series: 1,
                t: 10,
                v: 1.0,
            }],
        };
        let b2 = WalBatch {
            series: vec![(7, labels)],
            samples: vec![WalSample {
                series: 7,
                t: 20,
                v: 2.0,
            }],
        };
        head.apply(&b1);
        head.apply(&b2);
        assert_eq!(samples(&head, "a"), vec![(10, 1.0), (20, 2.0)]);
        assert!(head.live_refs().contains(&7));
    }
}
