//! Column data shared by the head and the blocks, and the [`Segment`] view the query
//! evaluator reads: the head (in memory, growing) and each block (on disk, decoded lazily
//! and cached) both answer it.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use crate::bitset::Bitset;
use crate::error::Error;
use crate::schema::Record;

/// A string column stored sparsely: the rows that have a value, each with its dictionary
/// id. Used for `Keyword`/`Id` columns and for every attribute name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StrColumn {
    /// The dictionary, in order of first appearance.
    pub(crate) values: Vec<String>,
    /// Rows that have a value, ascending.
    pub(crate) rows: Vec<u32>,
    /// Dictionary id of each row in `rows`.
    pub(crate) ids: Vec<u32>,
}

impl StrColumn {
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
        self.values.iter().map(|v| v.len() + 24).sum::<usize>() + self.rows.len() * 8
    }
}

/// A [`StrColumn`] being built, with the reverse dictionary.
#[derive(Clone, Debug, Default)]
pub(crate) struct StrColumnBuilder {
    pub(crate) column: StrColumn,
    lookup: HashMap<String, u32>,
}

impl StrColumnBuilder {
    pub(crate) fn push(&mut self, row: u32, value: &str) {
        let id = match self.lookup.get(value) {
            Some(&id) => id,
            None => {
                let id = self.column.values.len() as u32;
                self.column.values.push(value.to_owned());
                self.lookup.insert(value.to_owned(), id);
                id
            }
        };
        self.column.rows.push(row);
        self.column.ids.push(id);
    }
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
}
