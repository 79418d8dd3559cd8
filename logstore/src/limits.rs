//! Limits that keep one writer or one query from exhausting the store.

use crate::error::{Error, LimitExceeded};
use crate::schema::Record;

/// Limits checked on append (all-or-nothing per batch) and on query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest record (body, column strings, attribute names and values), in bytes.
    pub max_record_bytes: usize,
    /// Most attributes on one record.
    pub max_fields_per_record: usize,
    /// Longest attribute name, in bytes.
    pub max_field_name_bytes: usize,
    /// Most records in one append batch.
    pub max_batch_records: usize,
    /// Largest append batch, in bytes (sum of record sizes).
    pub max_batch_bytes: usize,
    /// Most records one search returns (a larger `limit` is lowered to this).
    pub max_query_limit: usize,
    /// Most histogram buckets one request may ask for.
    pub max_histogram_buckets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: 256 << 10,
            max_fields_per_record: 128,
            max_field_name_bytes: 256,
            max_batch_records: 100_000,
            max_batch_bytes: 64 << 20,
            max_query_limit: 10_000,
            max_histogram_buckets: 2_000,
        }
    }
}

impl Limits {
    /// Checks a batch's size limits; the first breach refuses the batch.
    pub(crate) fn check_batch(&self, records: &[Record]) -> Result<(), Error> {
        if records.len() > self.max_batch_records {
            return Err(Error::Limit(LimitExceeded {
                limit: "max_batch_records",
                max: self.max_batch_records,
                actual: records.len(),
                record: None,
            }));
        }
        let mut total = 0usize;
        for (i, r) in records.iter().enumerate() {
            self.check_record(r).map_err(|mut l| {
                l.record = Some(i);
                Error::Limit(l)
            })?;
            total += r.size();
        }
        if total > self.max_batch_bytes {
            return Err(Error::Limit(LimitExceeded {
                limit: "max_batch_bytes",
                max: self.max_batch_bytes,
                actual: total,
                record: None,
            }));
        }
        Ok(())
    }

    /// Checks one record's limits (size, attributes, attribute names), as an append checks
    /// every record of its batch: a writer that refuses records one by one asks this before
    /// it builds the batch. The answer's `record` is `None`.
    pub fn check_record(&self, r: &Record) -> Result<(), LimitExceeded> {
        let over = |limit, max, actual| {
            Err(LimitExceeded {
                limit,
                max,
                actual,
                record: None,
            })
        };
        let size = r.size();
        if size > self.max_record_bytes {
            return over("max_record_bytes", self.max_record_bytes, size);
        }
        if r.attributes.len() > self.max_fields_per_record {
            return over(
                "max_fields_per_record",
                self.max_fields_per_record,
                r.attributes.len(),
            );
        }
        if let Some(long) = r
            .attributes
            .iter()
            .map(|(k, _)| k.len())
            .find(|&n| n > self.max_field_name_bytes)
        {
            return over("max_field_name_bytes", self.max_field_name_bytes, long);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(limits: &Limits, records: &[Record]) -> LimitExceeded {
        match limits.check_batch(records) {
            Err(Error::Limit(l)) => l,
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn each_limit_refuses_with_its_name() {
        let limits = Limits {
            max_record_bytes: 100,
            max_fields_per_record: 2,
            max_field_name_bytes: 5,
            max_batch_records: 3,
            max_batch_bytes: 150,
            ..Limits::default()
        };
        let small = Record::log(0, 9, "a", "hello");
        assert!(limits.check_batch(std::slice::from_ref(&small)).is_ok());
        let l = refused(&limits, &vec![small.clone(); 4]);
        assert_eq!((l.limit, l.record), ("max_batch_records", None));
        let big = Record::log(0, 9, "a", &"x".repeat(200));
        let l = refused(&limits, &[small.clone(), big]);
        assert_eq!(
            (l.limit, l.actual, l.record),
            ("max_record_bytes", 217, Some(1))
        );
        let many = small.clone().attr("a", "1").attr("b", "2").attr("c", "3");
        assert_eq!(refused(&limits, &[many]).limit, "max_fields_per_record");
        let long = small.clone().attr("abcdefg", "1");
        assert_eq!(
            refused(&limits, &[small.clone(), long.clone()]).record,
            Some(1)
        );
        let l = limits.check_record(&long).unwrap_err();
        assert_eq!(
            (l.limit, l.actual, l.record),
            ("max_field_name_bytes", 7, None)
        );
        let fat = Record::log(0, 9, "a", &"x".repeat(80));
        assert_eq!(
            refused(&limits, &[fat.clone(), fat]).limit,
            "max_batch_bytes"
        );
    }
}
