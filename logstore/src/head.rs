//! The head: the records not yet cut into a block, held as growing columns with a body
//! token index, so queries read it the same way as a block.

use std::collections::HashMap;

use crate::bitset::Bitset;
use crate::columns::{Segment, Shared, StrColumn, StrColumnBuilder, StrKey};
use crate::error::Error;
use crate::schema::{ColumnKind, Record, Schema, Value};
use crate::tokens::for_each_token;
use crate::FastHasher;

/// One schema column being built.
#[derive(Clone, Debug)]
pub(crate) enum ColumnBuilder {
    Ints(Vec<i64>),
    Strs(StrColumnBuilder),
}

#[derive(Clone, Debug)]
pub(crate) struct Head {
    pub(crate) kinds: Vec<ColumnKind>,
    pub(crate) times: Vec<i64>,
    pub(crate) seqs: Vec<u64>,
    pub(crate) columns: Vec<ColumnBuilder>,
    pub(crate) attributes: Vec<(String, StrColumnBuilder)>,
    attribute_pos: HashMap<String, usize, FastHasher>,
    /// Every body, concatenated; `body_ends[i]` is where row `i`'s ends.
    pub(crate) body_text: String,
    pub(crate) body_ends: Vec<usize>,
    pub(crate) postings: HashMap<String, Vec<u32>, FastHasher>,
    pub(crate) bytes: usize,
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
}

impl Head {
    pub(crate) fn new(schema: &Schema) -> Head {
        let kinds: Vec<ColumnKind> = schema.columns().iter().map(|c| c.kind).collect();
        let columns = kinds
            .iter()
            .map(|k| match k {
                ColumnKind::Severity | ColumnKind::Int => ColumnBuilder::Ints(Vec::new()),
                ColumnKind::Keyword | ColumnKind::Id => ColumnBuilder::Strs(Default::default()),
            })
            .collect();
        Head {
            kinds,
            times: Vec::new(),
            seqs: Vec::new(),
            columns,
            attributes: Vec::new(),
            attribute_pos: HashMap::default(),
            body_text: String::new(),
            body_ends: Vec::new(),
            postings: HashMap::default(),
            bytes: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Adds a record (already checked against the schema) with its sequence number.
    pub(crate) fn push(&mut self, seq: u64, r: &Record) {
        let row = self.start_row(seq, r);
        for (col, v) in self.columns.iter_mut().zip(&r.values) {
            match (col, v) {
                (ColumnBuilder::Ints(ints), v) => ints.push(v.as_int().unwrap_or(i64::MIN)),
                (ColumnBuilder::Strs(strs), Value::Str(s)) => strs.push(row, s),
                (ColumnBuilder::Strs(_), _) => {}
            }
        }
        for (k, v) in &r.attributes {
            self.attribute(k).push(row, v);
        }
        self.index_body(row, &r.body);
    }

    /// A new row's time, sequence number and size; returns the row.
    fn start_row(&mut self, seq: u64, r: &Record) -> u32 {
        let row = self.times.len() as u32;
        self.times.push(r.time);
        self.seqs.push(seq);
        self.min_time = self.min_time.min(r.time);
        self.max_time = self.max_time.max(r.time);
        self.bytes += r.size();
        row
    }

    /// The column of attribute `k`, added if new.
    fn attribute(&mut self, k: &str) -> &mut StrColumnBuilder {
        let pos = match self.attribute_pos.get(k) {
            Some(&p) => p,
            None => {
                self.attributes
                    .push((k.to_owned(), StrColumnBuilder::default()));
                self.attribute_pos
                    .insert(k.to_owned(), self.attributes.len() - 1);
                self.attributes.len() - 1
            }
        };
        &mut self.attributes[pos].1
    }

    /// Appends `body` as row `row`'s and indexes its tokens.
    fn index_body(&mut self, row: u32, body: &str) {
        self.body_text.push_str(body);
        self.body_ends.push(self.body_text.len());
        let postings = &mut self.postings;
        let mut last: Option<String> = None;
        for_each_token(body, |t| {
            if last.as_deref() == Some(t) {
                return;
            }
            match postings.get_mut(t) {
                Some(rows) => {
                    if rows.last() != Some(&row) {
                        rows.push(row);
                    }
                }
                None => {
                    postings.insert(t.to_owned(), vec![row]);
                }
            }
            last = Some(t.to_owned());
        });
    }

    fn body_str(&self, row: usize) -> &str {
        let start = if row == 0 { 0 } else { self.body_ends[row - 1] };
        &self.body_text[start..self.body_ends[row]]
    }
}

impl Segment for Head {
    fn len(&self) -> usize {
        self.times.len()
    }

    fn sorted(&self) -> bool {
        false
    }

    fn time_range(&self) -> (i64, i64) {
        (self.min_time, self.max_time)
    }

    fn times(&self) -> Result<Shared<'_, Vec<i64>>, Error> {
        Ok(Shared::Borrowed(&self.times))
    }

    fn seqs(&self) -> Result<Shared<'_, Vec<u64>>, Error> {
        Ok(Shared::Borrowed(&self.seqs))
    }

    fn ints(&self, column: usize) -> Result<Shared<'_, Vec<i64>>, Error> {
        match self.columns.get(column) {
            Some(ColumnBuilder::Ints(v)) => Ok(Shared::Borrowed(v)),
            _ => Err(Error::InvalidQuery(format!(
                "column {column} is not numeric"
            ))),
        }
    }

    fn strs(&self, key: StrKey<'_>) -> Result<Option<Shared<'_, StrColumn>>, Error> {
        Ok(match key {
            StrKey::Column(i) => match self.columns.get(i) {
                Some(ColumnBuilder::Strs(b)) => Some(Shared::Borrowed(&b.column)),
                _ => None,
            },
            StrKey::Attribute(name) => self
                .attribute_pos
                .get(name)
                .map(|&p| Shared::Borrowed(&self.attributes[p].1.column)),
        })
    }

    fn attribute_names(&self) -> Vec<String> {
        self.attributes.iter().map(|(k, _)| k.clone()).collect()
    }

    fn postings(&self, token: &str) -> Result<Vec<u32>, Error> {
        Ok(self.postings.get(token).cloned().unwrap_or_default())
    }

    fn postings_where(&self, matches: &dyn Fn(&str) -> bool) -> Result<Bitset, Error> {
        let mut out = Bitset::empty(self.len());
        for (t, rows) in &self.postings {
            if matches(t) {
                for &r in rows {
                    out.insert(r as usize);
                }
            }
        }
        Ok(out)
    }

    fn may_have_token(&self, token: &str) -> bool {
        self.postings.contains_key(token)
    }

    /// Exact: the column's dictionary index (the blocks answer with a bloom filter).
    fn may_have_id(&self, column: usize, value: &str) -> bool {
        match self.columns.get(column) {
            Some(ColumnBuilder::Strs(b)) => b.column.id_of(value).is_some(),
            _ => false,
        }
    }

    fn body(&self, row: usize) -> Result<String, Error> {
        Ok(self.body_str(row).to_owned())
    }

    fn record(&self, row: usize) -> Result<(u64, Record), Error> {
        let values = self
            .columns
            .iter()
            .map(|c| match c {
                ColumnBuilder::Ints(v) => match v[row] {
                    i64::MIN => Value::Absent,
                    n => Value::Int(n),
                },
                ColumnBuilder::Strs(b) => b
                    .column
                    .get(row)
                    .map_or(Value::Absent, |s| Value::Str(s.to_owned())),
            })
            .collect();
        let attributes = self
            .attributes
            .iter()
            .filter_map(|(k, b)| b.column.get(row).map(|v| (k.clone(), v.to_owned())))
            .collect();
        let record = Record {
            time: self.times[row],
            values,
            attributes,
            body: self.body_str(row).to_owned(),
        };
        Ok((self.seqs[row], record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogColumn;

    #[test]
    fn records_come_back_whole_and_tokens_are_indexed() {
        let mut head = Head::new(&Schema::logs());
        let a = Record::log(10, 17, "api", "Timeout calling db timeout")
            .attr("logger", "keiko.db")
            .with(LogColumn::CorrelationId, "c-1");
        let b = Record::log(5, 9, "web", "ok").attr("line", "42");
        head.push(7, &a);
        head.push(8, &b);
        assert_eq!(head.record(0).unwrap(), (7, a));
        assert_eq!(head.record(1).unwrap(), (8, b));
        assert_eq!(head.postings("timeout").unwrap(), vec![0]);
        assert!(head.may_have_id(4, "c-1"));
        assert!(!head.may_have_id(4, "c-2"));
        assert_eq!(head.time_range(), (5, 10));
        let line = head.strs(StrKey::Attribute("line")).unwrap().unwrap();
        assert_eq!(line.get(1), Some("42"));
        assert_eq!(line.get(0), None);
    }
}
