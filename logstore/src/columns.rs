//! Column data shared by the head and the blocks, and the [`Segment`] view the query
//! evaluator reads: the head (in memory, growing) and each block (on disk, decoded lazily
//! and cached) both answer it.

use std::hash::BuildHasher;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, OnceLock};

use hashbrown::HashTable;

use crate::bitset::Bitset;
use crate::error::Error;
use crate::schema::Record;
use crate::FastHasher;

/// A string column stored sparsely: the rows that have a value, each with its dictionary
/// id. Used for `Keyword`/`Id` columns and for every attribute name.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrColumn {
    /// The dictionary, in order of first appearance.
    pub(crate) values: Vec<String>,
    /// Rows that have a value, ascending.
    pub(crate) rows: Vec<u32>,
    /// Dictionary id of each row in `rows`.
    pub(crate) ids: Vec<u32>,
    /// Value → dictionary id: each id with its value's hash (see [`value_hash`]), so a
    /// new value is stored once (in `values`) and the table grows without reading the
    /// values again. Kept by the head's builder as it grows; for a block's column with
    /// many values built on the first exact lookup (a cached section keeps it).
    index: OnceLock<HashTable<Slot>>,
}

/// One entry of a dictionary's index: the value's hash and its id.
#[derive(Clone, Copy, Debug)]
struct Slot {
    hash: u32,
    id: u32,
}

/// One seeded hasher for every dictionary's index.
static VALUES: LazyLock<FastHasher> = LazyLock::new(FastHasher::default);

/// A value's hash, 32 bits: a slot keeps it whole (see [`spread`]).
fn value_hash(value: &str) -> u32 {
    VALUES.hash_one(value) as u32
}

/// A value's hash as the table's: repeated in both halves so the table's bucket (low bits)
/// and tag (high bits) both come from it, and a slot can give it back whole.
fn spread(hash: u32) -> u64 {
    u64::from(hash) << 32 | u64::from(hash)
}

/// The index of `values`.
fn index_of(values: &[String]) -> HashTable<Slot> {
    let mut index = HashTable::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let hash = value_hash(v);
        let slot = Slot { hash, id: i as u32 };
        index.insert_unique(spread(hash), slot, |s| spread(s.hash));
    }
    index
}

/// The id of `value` (whose hash is `hash`) in `index` over `values`.
fn find(index: &HashTable<Slot>, values: &[String], hash: u32, value: &str) -> Option<u32> {
    index
        .find(spread(hash), |s| {
            s.hash == hash && values[s.id as usize] == value
        })
        .map(|s| s.id)
}

/// Dictionaries at least this large are looked up through a hash index.
const INDEXED_VALUES: usize = 64;

impl StrColumn {
    pub(crate) fn new(values: Vec<String>, rows: Vec<u32>, ids: Vec<u32>) -> StrColumn {
        StrColumn {
            values,
            rows,
            ids,
            index: OnceLock::new(),
        }
    }

    /// The dictionary id of `value`, if the column holds it.
    pub(crate) fn id_of(&self, value: &str) -> Option<u32> {
        if let Some(index) = self.index.get() {
            return find(index, &self.values, value_hash(value), value);
        }
        if self.values.len() < INDEXED_VALUES {
            return self
                .values
                .iter()
                .position(|v| v == value)
                .map(|i| i as u32);
        }
        let index = self.index.get_or_init(|| index_of(&self.values));
        find(index, &self.values, value_hash(value), value)
    }

    /// Rows (of `len`) whose value's dictionary id is `id`.
    pub(crate) fn rows_with_id(&self, id: u32, len: usize) -> Bitset {
        let mut out = Bitset::empty(len);
        for (&row, &i) in self.rows.iter().zip(&self.ids) {
            if i == id {
                out.insert(row as usize);
            }
        }
        out
    }

    /// The value of `row`, if it has one.
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        let i = self.rows.binary_search(&(row as u32)).ok()?;
        self.values
            .get(*self.ids.get(i)? as usize)
            .map(String::as_str)
    }

    /// Rows (of `len`) whose value's dictionary id is marked in `ids`.
    pub(crate) fn rows_with(&self, ids: &[bool], len: usize) -> Bitset {
        let mut out = Bitset::empty(len);
        if !ids.iter().any(|&b| b) {
            return out;
        }
        for (&row, &id) in self.rows.iter().zip(&self.ids) {
            if ids.get(id as usize).copied().unwrap_or(false) {
                out.insert(row as usize);
            }
        }
        out
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        // A large dictionary gets its index on the first lookup: counted from the start.
        let index = if self.values.len() >= INDEXED_VALUES {
            self.values.len() * 16
        } else {
            0
        };
        self.values.iter().map(|v| v.len() + 24).sum::<usize>() + self.rows.len() * 8 + index
    }
}

/// A [`StrColumn`] being built; its index (value → id) is kept complete as it grows.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrColumnBuilder {
    pub(crate) column: StrColumn,
}

impl StrColumnBuilder {
    pub(crate) fn push(&mut self, row: u32, value: &str) {
        let col = &mut self.column;
        if col.index.get().is_none() {
            let _ = col.index.set(HashTable::new());
        }
        let Some(index) = col.index.get_mut() else {
            unreachable!("set above");
        };
        let hash = value_hash(value);
        let id = match find(index, &col.values, hash, value) {
            Some(id) => id,
            None => {
                let id = col.values.len() as u32;
                index.insert_unique(spread(hash), Slot { hash, id }, |s| spread(s.hash));
                col.values.push(value.to_owned());
                id
            }
        };
        col.rows.push(row);
        col.ids.push(id);
    }
}

/// One value of a low-cardinality column in a block, with the time range of its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValueRange {
    pub(crate) value: String,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
}

/// A borrowed (head) or shared (cached block section) value.
pub(crate) enum Shared<'a, T> {
    Borrowed(&'a T),
    Owned(Arc<T>),
}

impl<T> Deref for Shared<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Shared::Borrowed(t) => t,
            Shared::Owned(t) => t,
        }
    }
}

/// Which string column: a schema column by position or an attribute by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum StrKey<'a> {
    Column(usize),
    Attribute(&'a str),
}

/// What the query evaluator reads from the head or a block. Rows are sorted by
/// `(time, seq)` in blocks; the head keeps arrival order.
pub(crate) trait Segment {
    fn len(&self) -> usize;
    /// Whether rows are sorted by `(time, seq)` (blocks are; the head keeps arrival order).
    fn sorted(&self) -> bool;
    /// `(min, max)` time, inclusive.
    fn time_range(&self) -> (i64, i64);
    fn times(&self) -> Result<Shared<'_, Vec<i64>>, Error>;
    fn seqs(&self) -> Result<Shared<'_, Vec<u64>>, Error>;
    /// An `Int`/`Severity` column (`i64::MIN` marks rows without a value).
    fn ints(&self, column: usize) -> Result<Shared<'_, Vec<i64>>, Error>;
    /// A string column; `None` if no row has it.
    fn strs(&self, key: StrKey<'_>) -> Result<Option<Shared<'_, StrColumn>>, Error>;
    /// Attribute names present in the segment.
    fn attribute_names(&self) -> Vec<String>;
    /// Rows whose body has `token`, ascending.
    fn postings(&self, token: &str) -> Result<Vec<u32>, Error>;
    /// Rows whose body has a token for which `matches` is true.
    fn postings_where(&self, matches: &dyn Fn(&str) -> bool) -> Result<Bitset, Error>;
    /// False when the body tokens surely lack `token` (bloom filter).
    fn may_have_token(&self, token: &str) -> bool;
    /// False when `Id` column `column` surely lacks `value` (bloom filter).
    fn may_have_id(&self, column: usize, value: &str) -> bool;
    fn body(&self, row: usize) -> Result<String, Error>;
    /// The whole record at `row`.
    fn record(&self, row: usize) -> Result<(u64, Record), Error>;
    /// The rows whose `Id` column `column` holds exactly `value`, when the segment keeps
    /// an index of that column (blocks since version 3, for ids that repeat); `None` when
    /// the column must be read instead.
    fn id_rows(&self, _column: usize, _value: &str) -> Result<Option<Bitset>, Error> {
        Ok(None)
    }
    /// `(time, seq)` of each of `rows`.
    fn keys(&self, rows: &[usize]) -> Result<Vec<(i64, u64)>, Error> {
        keys_from_columns(self, rows)
    }
    /// Every value of a string column or attribute with the time range of its rows, when
    /// the segment keeps such a summary (blocks, for few distinct values); `Some(&[])`
    /// when the segment surely has no row with a value.
    fn value_ranges(&self, _key: StrKey<'_>) -> Option<&[ValueRange]> {
        None
    }
    /// `(min, max)` of an `Int` column's values, when the segment keeps them.
    fn int_bounds(&self, _column: usize) -> Option<(i64, i64)> {
        None
    }
}

/// `(time, seq)` of each of `rows` (below `seg.len()`), from the whole `times` and `seqs`.
pub(crate) fn keys_from_columns<S: Segment + ?Sized>(
    seg: &S,
    rows: &[usize],
) -> Result<Vec<(i64, u64)>, Error> {
    let (times, seqs) = (seg.times()?, seg.seqs()?);
    Ok(rows.iter().map(|&r| (times[r], seqs[r])).collect())
}
