//! The store's errors. Refusals by a limit name the limit, its value and the record.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A limit that refused a batch (see [`crate::Limits`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit's field name in [`crate::Limits`], e.g. `max_record_bytes`.
    pub limit: &'static str,
    /// Its configured value.
    pub max: usize,
    /// What the input had.
    pub actual: usize,
    /// Index of the offending record in the batch (`None` for the batch as a whole).
    pub record: Option<usize>,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(i) => write!(f, "record {i}: ")?,
            None => f.write_str("batch: ")?,
        }
        write!(
            f,
            "{} is {}, over the limit {}={}",
            what(self.limit),
            self.actual,
            self.limit,
            self.max
        )
    }
}

fn what(limit: &str) -> &'static str {
    match limit {
        "max_record_bytes" => "size in bytes",
        "max_fields_per_record" => "number of attributes",
        "max_field_name_bytes" => "an attribute name's length",
        "max_batch_records" => "number of records",
        "max_batch_bytes" => "size in bytes",
        _ => "value",
    }
}

/// Errors of the store.
#[derive(Debug)]
pub enum Error {
    /// An I/O failure, with what was being done.
    Io { context: String, source: io::Error },
    /// The block catalog's database failed (open, read, or a transaction that did not
    /// commit), with what was being done.
    Catalog {
        context: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file of ours that does not read back as written.
    Corrupt { path: PathBuf, detail: String },
    /// A batch refused as a whole by a limit; nothing was written.
    Limit(LimitExceeded),
    /// A record that does not fit the store's schema (wrong column count or kind).
    InvalidRecord { record: usize, detail: String },
    /// A schema that cannot be built, or that differs from the one the store was made with.
    InvalidSchema(String),
    /// Bad options given to [`crate::Store::open`].
    InvalidOptions(String),
    /// A query that does not parse (see [`crate::ParseError`]).
    Parse(crate::ParseError),
    /// A query that parses but cannot run (bad cursor, range on a text field, …).
    InvalidQuery(String),
    /// A read whose [`crate::Stop`] came due before it was done.
    Stopped,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Error {
        Error::Corrupt {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Catalog { context, source } => write!(f, "catalog: {context}: {source}"),
            Error::Corrupt { path, detail } => write!(f, "corrupt {}: {detail}", path.display()),
            Error::Limit(l) => write!(f, "batch refused, nothing written: {l}"),
            Error::InvalidRecord { record, detail } => write!(f, "record {record}: {detail}"),
            Error::InvalidSchema(m) => write!(f, "invalid schema: {m}"),
            Error::InvalidOptions(m) => write!(f, "invalid options: {m}"),
            Error::Parse(e) => write!(f, "invalid query: {e}"),
            Error::InvalidQuery(m) => write!(f, "invalid query: {m}"),
            Error::Stopped => f.write_str("the read was stopped before it was done"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Catalog { source, .. } => Some(source.as_ref()),
            Error::Parse(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::ParseError> for Error {
    fn from(e: crate::ParseError) -> Self {
        Error::Parse(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_errors_name_the_limit_and_the_record() {
        let e = Error::Limit(LimitExceeded {
            limit: "max_record_bytes",
            max: 100,
            actual: 250,
            record: Some(3),
        });
        assert_eq!(
            e.to_string(),
            "batch refused, nothing written: record 3: size in bytes is 250, over the limit max_record_bytes=100"
        );
    }
}
