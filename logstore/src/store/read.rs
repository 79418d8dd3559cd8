//! Reading the store: search (newest first, with a cursor), counts, histograms by level
//! and facets (field names and top values with counts).

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::Store;
use crate::bitset::Bitset;
use crate::columns::{Segment, StrKey};
use crate::error::Error;
use crate::query::{eval, time_bounds, Plan, Query};
use crate::schema::{ColumnKind, FieldRef, Record, BODY_FIELDS};
use crate::severity::{band, level_name, LEVEL_NAMES};
use crate::stop::Stop;

/// A time range `[from, to)` in Unix nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

impl TimeRange {
    pub fn all() -> TimeRange {
        TimeRange {
            from: i64::MIN,
            to: i64::MAX,
        }
    }
}

/// Where a page of results ended: the next page holds records strictly older, in
/// `(time, seq)` order. Its text form (`<time>.<seq>`) goes into URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub time: i64,
    pub seq: u64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.time, self.seq)
    }

    pub fn parse(text: &str) -> Result<Cursor, Error> {
        let bad = || Error::InvalidQuery(format!("cursor {text:?} is not <time>.<seq>"));
        let (t, s) = text.rsplit_once('.').ok_or_else(bad)?;
        Ok(Cursor {
            time: t.parse().map_err(|_| bad())?,
            seq: s.parse().map_err(|_| bad())?,
        })
    }
}

/// One record found, with its sequence number (unique in the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub seq: u64,
    pub record: Record,
}

/// A page of search results, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub hits: Vec<Hit>,
    /// Set when the page is full: pass it back for the next one.
    pub next: Option<Cursor>,
    /// Segments (head, blocks) evaluated, and skipped by time range or bloom filter.
    pub segments_read: usize,
    pub segments_skipped: usize,
    /// Segments whose bounds (bloom filters, value summaries) were worked out; the scan
    /// passes over the others by their time range alone.
    pub segments_bounded: usize,
    /// Set when the read's [`Stop`] came due before every segment that may match was
    /// read: `hits` are the newest of what was read (newer matches may be missing), and
    /// `next` is `None`.
    pub stopped: bool,
}

/// Counts per interval, by level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    pub from: i64,
    pub interval: i64,
    /// The level names of `counts`' inner index: [`LEVEL_NAMES`], then `UNSET`.
    pub levels: Vec<&'static str>,
    /// `counts[bucket][level]`; bucket `i` covers `[from + i·interval, from + (i+1)·interval)`.
    pub counts: Vec<Vec<u64>>,
}

/// A field name or value with the number of matching records that have it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldCount {
    pub name: String,
    pub count: u64,
}

/// What the per-segment steps share.
struct Scope<'a> {
    query: &'a Query,
    range: TimeRange,
    cursor: Option<Cursor>,
    /// Checked before each segment is evaluated.
    stop: &'a Stop,
}

/// What a scan did: segments evaluated and skipped, and whether it stopped early.
#[derive(Clone, Copy, Debug, Default)]
struct Scanned {
    read: usize,
    skipped: usize,
    bounded: usize,
    stopped: bool,
}

impl Store {
    /// Calls `f` on each segment that may hold matches, newest (by max time) first, with
    /// its matching rows; `f` returns false to stop.
    fn scan(
        &self,
        scope: &Scope<'_>,
        f: &mut dyn FnMut(&dyn Segment, Bitset) -> Result<bool, Error>,
    ) -> Result<Scanned, Error> {
        self.scan_above(scope, &Cell::new(i64::MIN), f)
    }

    /// [`Store::scan`], the head first, then the other segments newest first by the latest
    /// time at which they can match (see [`time_bounds`]); it stops before a segment whose
    /// matches would all be older than `floor` (which `f` may raise as it goes), and
    /// before any segment once `scope.stop` is due.
    ///
    /// A segment's bounds are worked out only when the scan reaches it: segments wait in
    /// order of their newest time (what their bounds can be at most), and one is read once
    /// no waiting segment can match later than it; a scan that stops early never looks at
    /// the rest.
    fn scan_above(
        &self,
        scope: &Scope<'_>,
        floor: &Cell<i64>,
        f: &mut dyn FnMut(&dyn Segment, Bitset) -> Result<bool, Error>,
    ) -> Result<Scanned, Error> {
        let plan = Plan::new(scope.query, &self.schema)?;
        let mut done = Scanned::default();
        if scope.stop.due() {
            done.stopped = true;
            return Ok(done);
        }
        let (frozen, blocks) = {
            let seg = self.read_segments();
            // The head is read under the lock (it changes); blocks after, without it.
            if !seg.head.is_empty() {
                done.bounded += 1;
            }
            match self.bounds(&seg.head, scope) {
                Some(_) => match self.matching(&seg.head, scope, &plan)? {
                    Some(rows) => {
                        done.read += 1;
                        if !f(&seg.head, rows)? {
                            return Ok(done);
                        }
                    }
                    None => done.skipped += 1,
                },
                None => done.skipped += usize::from(!seg.head.is_empty()),
            }
            (seg.frozen.clone(), seg.blocks.clone())
        };
        let mut waiting: Vec<(i64, Arc<dyn SegmentArc>)> = frozen
            .into_iter()
            .map(|h| h as Arc<dyn SegmentArc>)
            .chain(blocks.into_iter().map(|b| b as Arc<dyn SegmentArc>))
            .map(|s| (self.newest(s.as_segment(), scope), s))
            .collect();
        waiting.sort_by_key(|(newest, _)| Reverse(*newest));
        let mut waiting = waiting.into_iter().peekable();
        // Bounded segments by the latest time they can match (ties in waiting order).
        let mut ready: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
        let mut segs: Vec<Arc<dyn SegmentArc>> = Vec::new();
        loop {
            let next_newest = waiting.peek().map(|(newest, _)| *newest);
            let best = ready.peek().map(|(hi, _)| *hi);
            let hi = match (best, next_newest) {
                (_, Some(newest)) if best.is_none_or(|hi| hi < newest) => {
                    if newest < floor.get() {
                        done.skipped += waiting.len() + ready.len();
                        break;
                    }
                    let Some((_, s)) = waiting.next() else { break };
                    done.bounded += 1;
                    match self.bounds(s.as_segment(), scope) {
                        Some((_, hi)) => {
                            ready.push((hi, Reverse(segs.len())));
                            segs.push(s);
                        }
                        None => done.skipped += 1,
                    }
                    continue;
                }
                (Some(hi), _) => hi,
                (None, _) => break,
            };
            if hi < floor.get() {
                done.skipped += waiting.len() + ready.len();
                break;
            }
            if scope.stop.due() {
                done.stopped = true;
                break;
            }
            let Some((_, Reverse(i))) = ready.pop() else {
                break;
            };
            let s = segs[i].as_segment();
            match self.matching(s, scope, &plan)? {
                Some(rows) => {
                    done.read += 1;
                    if !f(s, rows)? {
                        break;
                    }
                }
                None => done.skipped += 1,
            }
        }
        Ok(done)
    }

    /// The latest time at which rows of `seg` can match, from its time range alone: what
    /// [`Store::bounds`] gives at most.
    fn newest(&self, seg: &dyn Segment, scope: &Scope<'_>) -> i64 {
        let hi = seg.time_range().1.min(scope.range.to.saturating_sub(1));
        scope.cursor.map_or(hi, |c| hi.min(c.time))
    }

    /// The time range in which rows of `seg` can match the query, the range and the
    /// cursor, decided without reading a section; `None` when none can.
    fn bounds(&self, seg: &dyn Segment, scope: &Scope<'_>) -> Option<(i64, i64)> {
        if seg.len() == 0 {
            return None;
        }
        let (lo, hi) = time_bounds(scope.query, seg, &self.schema)?;
        let lo = lo.max(scope.range.from);
        let hi = hi.min(self.newest(seg, scope));
        (lo <= hi).then_some((lo, hi))
    }

    /// The rows of `seg` matching the query, the range and the cursor (a segment that
    /// [`Store::bounds`] did not rule out).
    fn matching(
        &self,
        seg: &dyn Segment,
        scope: &Scope<'_>,
        plan: &Plan<'_>,
    ) -> Result<Option<Bitset>, Error> {
        let (lo, hi) = seg.time_range();
        let TimeRange { from, to } = scope.range;
        let mut rows = eval(plan, seg, &self.schema)?;
        let keep = |t: i64, s: u64| {
            t >= from && t < to && scope.cursor.is_none_or(|c| (t, s) < (c.time, c.seq))
        };
        let bounded = lo < from || hi >= to || scope.cursor.is_some();
        if bounded && rows.count() * 64 <= seg.len() {
            // Few rows (a trace's, say): only their keys are read.
            let picked: Vec<usize> = rows.iter().collect();
            let mut keys = seg.keys(&picked)?.into_iter();
            rows.retain(|_| keys.next().is_some_and(|(t, s)| keep(t, s)));
        } else if bounded {
            let times = seg.times()?;
            let seqs = match scope.cursor {
                Some(_) => Some(seg.seqs()?),
                None => None,
            };
            let kept = Bitset::from_fn(seg.len(), |r| {
                keep(times[r], seqs.as_ref().map_or(0, |s| s[r]))
            });
            rows.and(&kept);
        }
        Ok((!rows.is_empty()).then_some(rows))
    }

    /// The newest `limit` records matching `query` in `range` (older than `cursor`, when
    /// given), newest first. `limit` is capped by `max_query_limit`.
    pub fn search(
        &self,
        query: &Query,
        range: TimeRange,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> Result<Page, Error> {
        self.search_until(query, range, limit, cursor, &Stop::never())
    }

    /// [`Store::search`] that stops before the next segment once `stop` is due, with what
    /// it found so far ([`Page::stopped`]).
    pub fn search_until(
        &self,
        query: &Query,
        range: TimeRange,
        limit: usize,
        cursor: Option<Cursor>,
        stop: &Stop,
    ) -> Result<Page, Error> {
        let limit = limit.min(self.opts.limits.max_query_limit);
        let scope = Scope {
            query,
            range,
            cursor,
            stop,
        };
        let mut best: Vec<(i64, u64, Record)> = Vec::new();
        if limit == 0 {
            return Ok(Page::default());
        }
        // Once the page is full, a segment whose matches are all older than its last hit
        // is not read.
        let floor = Cell::new(i64::MIN);
        let done = self.scan_above(&scope, &floor, &mut |seg, rows| {
            let mut cands: Vec<(i64, u64, usize)> = if seg.sorted() {
                // The newest rows are the last ones: only their keys are read.
                let picked: Vec<usize> = rows.iter_desc().take(limit).collect();
                let keys = seg.keys(&picked)?;
                keys.into_iter()
                    .zip(picked)
                    .map(|((t, s), r)| (t, s, r))
                    .collect()
            } else {
                let (times, seqs) = (seg.times()?, seg.seqs()?);
                let mut all: Vec<_> = rows.iter().map(|r| (times[r], seqs[r], r)).collect();
                all.sort_unstable_by_key(|c| std::cmp::Reverse((c.0, c.1)));
                all.truncate(limit);
                all
            };
            if best.len() >= limit {
                let (wt, ws, _) = &best[best.len() - 1];
                cands.retain(|c| (c.0, c.1) > (*wt, *ws));
            }
            for (t, s, r) in cands {
                best.push((t, s, seg.record(r)?.1));
            }
            best.sort_by_key(|c| std::cmp::Reverse((c.0, c.1)));
            best.truncate(limit);
            if best.len() >= limit {
                floor.set(best[best.len() - 1].0);
            }
            Ok(true)
        })?;
        let next = (best.len() == limit && !done.stopped).then(|| {
            let (time, seq, _) = &best[best.len() - 1];
            Cursor {
                time: *time,
                seq: *seq,
            }
        });
        Ok(Page {
            hits: best
                .into_iter()
                .map(|(_, seq, record)| Hit { seq, record })
                .collect(),
            next,
            segments_read: done.read,
            segments_skipped: done.skipped,
            segments_bounded: done.bounded,
            stopped: done.stopped,
        })
    }

    /// The oldest `limit` records matching `query` in `range` that come after `after` in
    /// `(time, seq)` order, oldest first: the lines that follow one line (its context).
    /// `limit` is capped by `max_query_limit`.
    pub fn search_after(
        &self,
        query: &Query,
        range: TimeRange,
        limit: usize,
        after: Cursor,
    ) -> Result<Vec<Hit>, Error> {
        let limit = limit.min(self.opts.limits.max_query_limit);
        let scope = Scope {
            query,
            range: TimeRange {
                from: range.from.max(after.time),
                to: range.to,
            },
            cursor: None,
            stop: &Stop::never(),
        };
        let mut best: Vec<(i64, u64, Record)> = Vec::new();
        if limit == 0 || scope.range.from >= scope.range.to {
            return Ok(Vec::new());
        }
        self.scan(&scope, &mut |seg, rows| {
            let full = best.len() >= limit;
            if full && seg.time_range().0 > best[best.len() - 1].0 {
                return Ok(true);
            }
            let picked: Vec<usize> = rows.iter().collect();
            let keys = seg.keys(&picked)?;
            let mut cands: Vec<(i64, u64, usize)> = keys
                .into_iter()
                .zip(picked)
                .map(|((t, s), r)| (t, s, r))
                .filter(|c| (c.0, c.1) > (after.time, after.seq))
                .collect();
            cands.sort_unstable_by_key(|c| (c.0, c.1));
            cands.truncate(limit);
            if full {
                let (wt, ws, _) = &best[best.len() - 1];
                cands.retain(|c| (c.0, c.1) < (*wt, *ws));
            }
            for (t, s, r) in cands {
                best.push((t, s, seg.record(r)?.1));
            }
            best.sort_by_key(|c| (c.0, c.1));
            best.truncate(limit);
            Ok(true)
        })?;
        Ok(best
            .into_iter()
            .map(|(_, seq, record)| Hit { seq, record })
            .collect())
    }

    /// How many records match `query` in `range`.
    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, Error> {
        let scope = Scope {
            query,
            range,
            cursor: None,
            stop: &Stop::never(),
        };
        let mut n = 0u64;
        self.scan(&scope, &mut |_, rows| {
            n += rows.count() as u64;
            Ok(true)
        })?;
        Ok(n)
    }

    /// Counts of matching records per `interval` over `range`, by level.
    pub fn histogram(
        &self,
        query: &Query,
        range: TimeRange,
        interval: i64,
    ) -> Result<Histogram, Error> {
        let span = i128::from(range.to) - i128::from(range.from);
        if interval <= 0 || span <= 0 {
            return Err(Error::InvalidQuery(
                "a histogram needs a positive interval and a non-empty range".into(),
            ));
        }
        let buckets = (span + i128::from(interval) - 1) / i128::from(interval);
        let max = self.opts.limits.max_histogram_buckets;
        if buckets > max as i128 {
            return Err(Error::InvalidQuery(format!(
                "{buckets} buckets, over the limit max_histogram_buckets={max}; use a larger interval"
            )));
        }
        let severity = self
            .schema
            .columns()
            .iter()
            .position(|c| c.kind == ColumnKind::Severity);
        let mut counts = vec![vec![0u64; LEVEL_NAMES.len() + 1]; buckets as usize];
        let scope = Scope {
            query,
            range,
            cursor: None,
            stop: &Stop::never(),
        };
        self.scan(&scope, &mut |seg, rows| {
            let times = seg.times()?;
            let sev = match severity {
                Some(i) => Some(seg.ints(i)?),
                None => None,
            };
            for r in rows.iter() {
                let b = ((i128::from(times[r]) - i128::from(range.from)) / i128::from(interval))
                    as usize;
                let level = match &sev {
                    Some(v) if v[r] != i64::MIN => band(v[r]),
                    _ => LEVEL_NAMES.len(),
                };
                if let Some(bucket) = counts.get_mut(b) {
                    bucket[level] += 1;
                }
            }
            Ok(true)
        })?;
        let mut levels = LEVEL_NAMES.to_vec();
        levels.push("UNSET");
        Ok(Histogram {
            from: range.from,
            interval,
            levels,
            counts,
        })
    }

    /// Field names of the matching records, with how many records have each; most common
    /// first. The body counts under `body`.
    pub fn fields(&self, query: &Query, range: TimeRange) -> Result<Vec<FieldCount>, Error> {
        let scope = Scope {
            query,
            range,
            cursor: None,
            stop: &Stop::never(),
        };
        let mut counts: HashMap<String, u64> = HashMap::new();
        let columns = self.schema.columns();
        self.scan(&scope, &mut |seg, rows| {
            *counts.entry(BODY_FIELDS[0].to_owned()).or_default() += rows.count() as u64;
            for (i, c) in columns.iter().enumerate() {
                let n = match c.kind {
                    ColumnKind::Severity | ColumnKind::Int => {
                        let v = seg.ints(i)?;
                        rows.iter().filter(|&r| v[r] != i64::MIN).count()
                    }
                    _ => rows_with_value(seg, StrKey::Column(i), &rows)?,
                };
                if n > 0 {
                    *counts.entry(c.name.clone()).or_default() += n as u64;
                }
            }
            for name in seg.attribute_names() {
                let n = rows_with_value(seg, StrKey::Attribute(&name), &rows)?;
                if n > 0 {
                    *counts.entry(name).or_default() += n as u64;
                }
            }
            Ok(true)
        })?;
        Ok(sorted(counts, usize::MAX))
    }

    /// The `limit` most common values of `field` among the matching records, with counts.
    /// Severities count under their level names.
    pub fn field_values(
        &self,
        query: &Query,
        range: TimeRange,
        field: &str,
        limit: usize,
    ) -> Result<Vec<FieldCount>, Error> {
        self.field_values_until(query, range, field, limit, &Stop::never())
    }

    /// [`Store::field_values`] that gives up with [`Error::Stopped`] once `stop` is due
    /// (checked before each segment): counts over part of the store would mislead.
    pub fn field_values_until(
        &self,
        query: &Query,
        range: TimeRange,
        field: &str,
        limit: usize,
        stop: &Stop,
    ) -> Result<Vec<FieldCount>, Error> {
        let target = self.schema.resolve(field);
        if matches!(target, FieldRef::Body | FieldRef::Time) {
            return Err(Error::InvalidQuery(format!(
                "`{field}` has no facet values; ask for a column or an attribute"
            )));
        }
        let scope = Scope {
            query,
            range,
            cursor: None,
            stop,
        };
        let mut counts: HashMap<String, u64> = HashMap::new();
        let columns = self.schema.columns();
        let done = self.scan(&scope, &mut |seg, rows| {
            let key = match target {
                FieldRef::Column(i)
                    if matches!(columns[i].kind, ColumnKind::Severity | ColumnKind::Int) =>
                {
                    let v = seg.ints(i)?;
                    let severity = columns[i].kind == ColumnKind::Severity;
                    for r in rows.iter().filter(|&r| v[r] != i64::MIN) {
                        let name = if severity {
                            level_name(v[r]).to_owned()
                        } else {
                            v[r].to_string()
                        };
                        *counts.entry(name).or_default() += 1;
                    }
                    return Ok(true);
                }
                FieldRef::Column(i) => StrKey::Column(i),
                FieldRef::Attribute(a) => StrKey::Attribute(a),
                FieldRef::Body | FieldRef::Time => return Ok(false),
            };
            if let Some(col) = seg.strs(key)? {
                let mut per_id = vec![0u64; col.values.len()];
                for (&r, &id) in col.rows.iter().zip(&col.ids) {
                    if rows.contains(r as usize) {
                        per_id[id as usize] += 1;
                    }
                }
                for (id, n) in per_id.into_iter().enumerate().filter(|(_, n)| *n > 0) {
                    *counts.entry(col.values[id].clone()).or_default() += n;
                }
            }
            Ok(true)
        })?;
        if done.stopped {
            return Err(Error::Stopped);
        }
        Ok(sorted(counts, limit))
    }
}

fn rows_with_value(seg: &dyn Segment, key: StrKey<'_>, rows: &Bitset) -> Result<usize, Error> {
    Ok(match seg.strs(key)? {
        Some(col) => col
            .rows
            .iter()
            .filter(|&&r| rows.contains(r as usize))
            .count(),
        None => 0,
    })
}

fn sorted(counts: HashMap<String, u64>, limit: usize) -> Vec<FieldCount> {
    let mut out: Vec<FieldCount> = counts
        .into_iter()
        .map(|(name, count)| FieldCount { name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out.truncate(limit);
    out
}

/// A segment behind an `Arc`: the frozen head or a block.
trait SegmentArc: Send + Sync {
    fn as_segment(&self) -> &dyn Segment;
}

impl<T: Segment + Send + Sync> SegmentArc for T {
    fn as_segment(&self) -> &dyn Segment {
        self
    }
}
