//! RED per minute (rate, errors, duration histogram), kept at ingest: per service and
//! operation, per service for the requests entering it (server and consumer spans, and
//! roots), and per service-to-service edge. The table lives in memory and is bounded (at
//! most [`MAX_KEYS`] keys — a new key past that is refused and counted — and at most
//! [`MAX_CELLS`] key-minutes, the oldest minutes dropped past that). Every change is also
//! written as `red` records in the same WAL record as the spans it came from, so the table
//! rebuilt from the store at open ([`RedTable::rebuild`]) is the table before the restart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use logstore::{FastHasher, Record, Store, TimeRange, Value};

use super::catalog::equals;
use super::records::{DURATION, KIND, OPERATION, REC, SERVICE};

/// Distinct keys (service/operation, service, edge) the table holds, at most.
pub const MAX_KEYS: usize = 5_000;
/// Key-minutes the table holds, at most; past that the oldest minutes go.
pub const MAX_CELLS: usize = 200_000;
/// `rec` of a RED record.
pub const RED_REC: &str = "red";
const MINUTE_NS: i64 = 60_000_000_000;
/// Duration buckets per power of two (relative width about 19%).
const SUB_BUCKETS: f64 = 4.0;

/// What a key counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// Spans of one operation of one service: `(service, operation)`.
    Operation,
    /// Requests entering one service (server and consumer spans, and roots): `(service, "")`.
    Entry,
    /// Calls from one service to another (a span whose parent span is in another
    /// service): `(parent, child)`, with the child spans' durations.
    Edge,
}

impl KeyKind {
    fn as_str(self) -> &'static str {
        match self {
            KeyKind::Operation => "op",
            KeyKind::Entry => "entry",
            KeyKind::Edge => "edge",
        }
    }

    fn parse(s: &str) -> Option<KeyKind> {
        Some(match s {
            "op" => KeyKind::Operation,
            "entry" => KeyKind::Entry,
            "edge" => KeyKind::Edge,
            _ => return None,
        })
    }
}

/// One key of the table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: KeyKind,
    pub a: Arc<str>,
    pub b: Arc<str>,
}

/// Counts of one key in one minute (or summed over several).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    pub count: u64,
    pub errors: u64,
    pub sum_ns: i64,
    pub min_ns: i64,
    pub max_ns: i64,
    /// Sparse log-scale histogram: (bucket, count), by bucket.
    pub buckets: Vec<(u8, u32)>,
}

fn bucket_of(ns: i64) -> u8 {
    if ns <= 1 {
        return 0;
    }
    ((ns as f64).log2() * SUB_BUCKETS).floor().clamp(0.0, 255.0) as u8
}

fn bucket_upper(b: u8) -> f64 {
    2f64.powf((f64::from(b) + 1.0) / SUB_BUCKETS)
}

impl Cell {
    pub fn observe(&mut self, duration_ns: i64, error: bool) {
        let d = duration_ns.max(0);
        if self.count == 0 {
            (self.min_ns, self.max_ns) = (d, d);
        } else {
            self.min_ns = self.min_ns.min(d);
            self.max_ns = self.max_ns.max(d);
        }
        self.count += 1;
        self.errors += u64::from(error);
        self.sum_ns = self.sum_ns.saturating_add(d);
        self.add_bucket(bucket_of(d), 1);
    }

    fn add_bucket(&mut self, b: u8, n: u32) {
        match self.buckets.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(n),
            Err(i) => self.buckets.insert(i, (b, n)),
        }
    }

    pub fn merge(&mut self, other: &Cell) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            (self.min_ns, self.max_ns) = (other.min_ns, other.max_ns);
        } else {
            self.min_ns = self.min_ns.min(other.min_ns);
            self.max_ns = self.max_ns.max(other.max_ns);
        }
        self.count += other.count;
        self.errors += other.errors;
        self.sum_ns = self.sum_ns.saturating_add(other.sum_ns);
        for &(b, n) in &other.buckets {
            self.add_bucket(b, n);
        }
    }

    /// The `q` quantile of the durations in milliseconds: the upper bound of the bucket
    /// holding the rank, within the observed minimum and maximum.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        let mut value = self.max_ns as f64;
        for &(b, n) in &self.buckets {
            seen += u64::from(n);
            if seen >= rank {
                value = bucket_upper(b);
                break;
            }
        }
        value.clamp(self.min_ns as f64, self.max_ns as f64) / 1e6
    }

    /// As a record's attributes.
    fn attributes(&self) -> Vec<(String, String)> {
        let h: Vec<String> = self
            .buckets
            .iter()
            .map(|(b, n)| format!("{b}:{n}"))
            .collect();
        vec![
            ("n".into(), self.count.to_string()),
            ("err".into(), self.errors.to_string()),
            ("min".into(), self.min_ns.to_string()),
            ("max".into(), self.max_ns.to_string()),
            ("h".into(), h.join(",")),
        ]
    }

    fn from_record(r: &Record) -> Option<Cell> {
        let num = |k: &str| r.attribute(k).and_then(|v| v.parse::<i64>().ok());
        let mut buckets = Vec::new();
        for part in r.attribute("h")?.split(',').filter(|p| !p.is_empty()) {
            let (b, n) = part.split_once(':')?;
            buckets.push((b.parse().ok()?, n.parse().ok()?));
        }
        buckets.sort_unstable();
        Some(Cell {
            count: num("n")? as u64,
            errors: num("err")? as u64,
            sum_ns: r.values.get(DURATION).and_then(Value::as_int)?,
            min_ns: num("min")?,
            max_ns: num("max")?,
            buckets,
        })
    }
}

/// The minute (Unix nanoseconds of its start) of a time in Unix nanoseconds.
pub fn minute_of(ns: i64) -> i64 {
    ns.div_euclid(MINUTE_NS) * MINUTE_NS
}

/// The record of one key's changes in one minute.
pub fn record(key: &Key, minute: i64, cell: &Cell, columns: usize) -> Record {
    let mut values = vec![Value::Absent; columns];
    values[REC] = Value::Str(RED_REC.into());
    values[KIND] = Value::Str(key.kind.as_str().into());
    values[SERVICE] = Value::Str(key.a.to_string());
    if !key.b.is_empty() {
        values[OPERATION] = Value::Str(key.b.to_string());
    }
    values[DURATION] = Value::Int(cell.sum_ns);
    Record {
        time: minute,
        values,
        attributes: cell.attributes(),
        body: String::new(),
    }
}

/// Changes of one batch: cells by key and minute.
pub type Deltas = HashMap<(Key, i64), Cell, FastHasher>;

/// The table: keys, and per minute the cells of the keys that had spans in it.
#[derive(Debug, Default)]
pub struct RedTable {
    keys: HashSet<Key, FastHasher>,
    minutes: BTreeMap<i64, HashMap<Key, Cell, FastHasher>>,
    cells: usize,
    /// Minutes before this were dropped to stay within [`MAX_CELLS`].
    horizon: i64,
    /// New keys refused (the table was full), since start.
    pub keys_refused: u64,
}

/// Sums over a time range, by key; `truncated` when minutes of the range were dropped.
#[derive(Debug, Default)]
pub struct Totals {
    pub cells: BTreeMap<Key, Cell>,
    pub truncated: bool,
}

impl RedTable {
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn cell_count(&self) -> usize {
        self.cells
    }

    /// Whether the table holds `key` or has room for it (then it holds it from now on).
    pub fn admit(&mut self, key: &Key) -> bool {
        if self.keys.contains(key) {
            return true;
        }
        if self.keys.len() >= MAX_KEYS {
            self.keys_refused += 1;
            return false;
        }
        self.keys.insert(key.clone());
        true
    }

    /// Adds a batch's changes (after they are durable).
    pub fn apply(&mut self, deltas: Deltas) {
        for ((key, minute), cell) in deltas {
            if minute < self.horizon {
                continue;
            }
            let m = self.minutes.entry(minute).or_default();
            match m.get_mut(&key) {
                Some(c) => c.merge(&cell),
                None => {
                    m.insert(key, cell);
                    self.cells += 1;
                }
            }
        }
        while self.cells > MAX_CELLS {
            let Some((minute, dropped)) = self.minutes.pop_first() else {
                break;
            };
            self.cells -= dropped.len();
            self.horizon = minute + MINUTE_NS;
        }
    }

    /// Drops the minutes before `ns` (the store no longer holds their spans).
    pub fn drop_before(&mut self, ns: i64) {
        let keep = self.minutes.split_off(&minute_of(ns));
        let dropped = std::mem::replace(&mut self.minutes, keep);
        self.cells -= dropped.values().map(HashMap::len).sum::<usize>();
    }

    /// Sums per key over `[from, to)` (Unix nanoseconds; a minute counts when it starts
    /// in the range) of the keys `want` accepts.
    pub fn totals(&self, from: i64, to: i64, want: impl Fn(&Key) -> bool) -> Totals {
        let mut out = Totals {
            truncated: from < self.horizon,
            ..Totals::default()
        };
        for (_, cells) in self.minutes.range(minute_of(from)..to.max(i64::MIN + 1)) {
            for (key, cell) in cells.iter().filter(|(k, _)| want(k)) {
                out.cells.entry(key.clone()).or_default().merge(cell);
            }
        }
        out
    }

    /// Per step (`step_ns`, a whole number of minutes) over `[from, to)`: the summed
    /// cell of the keys `want` accepts, grouped by `group`.
    pub fn series(
        &self,
        from: i64,
        to: i64,
        step_ns: i64,
        want: impl Fn(&Key) -> Option<String>,
    ) -> BTreeMap<String, BTreeMap<i64, Cell>> {
        let mut out: BTreeMap<String, BTreeMap<i64, Cell>> = BTreeMap::new();
        let base = minute_of(from);
        for (&minute, cells) in self.minutes.range(base..to.max(i64::MIN + 1)) {
            let slot = base + (minute - base) / step_ns * step_ns;
            for (key, cell) in cells {
                if let Some(group) = want(key) {
                    out.entry(group)
                        .or_default()
                        .entry(slot)
                        .or_default()
                        .merge(cell);
                }
            }
        }
        out
    }

    /// The table as the store's `red` records give it.
    pub fn rebuild(store: &Store) -> Result<RedTable, logstore::Error> {
        let query = equals("rec", RED_REC);
        let mut table = RedTable::default();
        let mut deltas = Deltas::default();
        let mut cursor = None;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let mut intern = |s: &str| -> Arc<str> {
            names
                .entry(s.to_owned())
                .or_insert_with(|| Arc::from(s))
                .clone()
        };
        loop {
            let page = store.search(&query, TimeRange::all(), 5_000, cursor)?;
            for hit in &page.hits {
                let r = &hit.record;
                let text = |i: usize| r.values.get(i).and_then(Value::as_str).unwrap_or("");
                let (Some(kind), Some(cell)) = (KeyKind::parse(text(KIND)), Cell::from_record(r))
                else {
                    continue;
                };
                let key = Key {
                    kind,
                    a: intern(text(SERVICE)),
                    b: intern(text(OPERATION)),
                };
                if table.admit(&key) {
                    deltas.entry((key, r.time)).or_default().merge(&cell);
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        table.apply(deltas);
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_fall_in_the_bucket_of_the_rank_within_min_and_max() {
        let mut c = Cell::default();
        for ms in 1..=100 {
            c.observe(ms * 1_000_000, ms % 10 == 0);
        }
        assert_eq!((c.count, c.errors), (100, 10));
        let p95 = c.quantile_ms(0.95);
        assert!((95.0..=95.0 * 1.2).contains(&p95), "{p95}");
        assert_eq!(c.quantile_ms(1.0), 100.0);
        let mut one = Cell::default();
        one.observe(40_000_000, false);
        assert_eq!(one.quantile_ms(0.95), 40.0);
        let mut merged = Cell::default();
        merged.merge(&one);
        merged.merge(&c);
        assert_eq!((merged.count, merged.min_ns), (101, 1_000_000));
    }

    #[test]
    fn keys_past_the_cap_are_refused_and_counted() {
        let mut t = RedTable::default();
        for i in 0..MAX_KEYS {
            let k = Key {
                kind: KeyKind::Entry,
                a: Arc::from(format!("s{i}")),
                b: Arc::from(""),
            };
            assert!(t.admit(&k));
        }
        let extra = Key {
            kind: KeyKind::Entry,
            a: Arc::from("one-too-many"),
            b: Arc::from(""),
        };
        assert!(!t.admit(&extra));
        assert_eq!((t.key_count(), t.keys_refused), (MAX_KEYS, 1));
    }
}
