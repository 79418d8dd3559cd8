//! The record schema: a time, typed columns, an attributes map and a body.
//!
//! The block engine knows nothing about logs: [`Schema::logs`] is one schema, and the
//! traces store will define its own (span name, duration, parent id, …) over the same engine.

use std::collections::HashSet;

use crate::error::Error;

/// How a column is stored and queried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// An OTel severity number (1–24), queried by name and order (`level:>=WARNING`).
    Severity,
    /// A signed integer (durations, status codes); `field:>=N` ranges.
    Int,
    /// A low-cardinality string (service, host): a dictionary per block, exact matches,
    /// wildcards, facets.
    Keyword,
    /// A high-cardinality identifier (trace id, correlation id): like `Keyword`, plus a
    /// bloom filter per block so a lookup skips blocks without reading them.
    Id,
}

/// One column of a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
    /// Other names queries may use for it (`level` for `severity`).
    pub aliases: Vec<String>,
}

impl Column {
    pub fn new(name: &str, kind: ColumnKind, aliases: &[&str]) -> Column {
        Column {
            name: name.to_owned(),
            kind,
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        }
    }
}

/// Names a query may use for the body (in addition to bare words).
pub const BODY_FIELDS: [&str; 3] = ["body", "message", "msg"];

/// Most columns in a schema.
pub const MAX_COLUMNS: usize = 32;

/// The typed columns of a store's records. Column names, aliases, `body`/`message`/`msg`
/// and `time`/`timestamp` are distinct; any other field name in a query is an attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    columns: Vec<Column>,
}

/// What a field name in a query refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldRef<'a> {
    Time,
    Body,
    Column(usize),
    Attribute(&'a str),
}

impl Schema {
    /// A schema of these columns; names must be unique, non-empty and not reserved.
    pub fn new(columns: Vec<Column>) -> Result<Schema, Error> {
        if columns.len() > MAX_COLUMNS {
            return Err(Error::InvalidSchema(format!(
                "{} columns, at most {MAX_COLUMNS}",
                columns.len()
            )));
        }
        let mut seen: HashSet<&str> = ["time", "timestamp"]
            .into_iter()
            .chain(BODY_FIELDS)
            .collect();
        for c in &columns {
            for name in std::iter::once(&c.name).chain(&c.aliases) {
                if name.is_empty() || !name.bytes().all(crate::query::is_field_byte) {
                    return Err(Error::InvalidSchema(format!("bad column name {name:?}")));
                }
                if !seen.insert(name) {
                    return Err(Error::InvalidSchema(format!(
                        "column name {name:?} is taken"
                    )));
                }
            }
        }
        Ok(Schema { columns })
    }

    /// Log records: `severity` (alias `level`), `service`, `trace_id`, `span_id`,
    /// `correlation_id`, in this order (see [`LogColumn`]).
    pub fn logs() -> Schema {
        Schema {
            columns: vec![
                Column::new("severity", ColumnKind::Severity, &["level"]),
                Column::new("service", ColumnKind::Keyword, &["service.name"]),
                Column::new("trace_id", ColumnKind::Id, &["trace.id"]),
                Column::new("span_id", ColumnKind::Id, &["span.id"]),
                Column::new("correlation_id", ColumnKind::Id, &[]),
            ],
        }
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub(crate) fn resolve<'a>(&self, field: &'a str) -> FieldRef<'a> {
        if field == "time" || field == "timestamp" {
            return FieldRef::Time;
        }
        if BODY_FIELDS.contains(&field) {
            return FieldRef::Body;
        }
        match self
            .columns
            .iter()
            .position(|c| c.name == field || c.aliases.iter().any(|a| a == field))
        {
            Some(i) => FieldRef::Column(i),
            None => FieldRef::Attribute(field),
        }
    }

    /// A stable text form, stored with the data so a store is reopened with its schema.
    pub(crate) fn describe(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("{}:{:?}", c.name, c.kind))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Positions of the [`Schema::logs`] columns in [`Record::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogColumn {
    Severity = 0,
    Service = 1,
    TraceId = 2,
    SpanId = 3,
    CorrelationId = 4,
}

/// A column value. Strings go in `Keyword`/`Id` columns, numbers in `Int`/`Severity`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Value {
    #[default]
    Absent,
    Int(i64),
    Str(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// One record: a log line or a span.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// Unix time in nanoseconds.
    pub time: i64,
    /// One value per schema column, in the schema's order.
    pub values: Vec<Value>,
    /// Other fields (`logger`, `module`, `line`, `exception.type`, …), names unique.
    pub attributes: Vec<(String, String)>,
    /// The message; searched by bare words and phrases.
    pub body: String,
}

impl Record {
    /// A log record for [`Schema::logs`] with time, severity number, service and body.
    pub fn log(time: i64, severity: u8, service: &str, body: &str) -> Record {
        let mut values = vec![Value::Absent; 5];
        values[LogColumn::Severity as usize] = Value::Int(i64::from(severity));
        values[LogColumn::Service as usize] = Value::Str(service.to_owned());
        Record {
            time,
            values,
            attributes: Vec::new(),
            body: body.to_owned(),
        }
    }

    /// Sets a column value (builder style).
    pub fn with(mut self, column: LogColumn, value: &str) -> Record {
        self.values[column as usize] = Value::Str(value.to_owned());
        self
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, name: &str, value: &str) -> Record {
        self.attributes.push((name.to_owned(), value.to_owned()));
        self
    }

    /// An attribute's value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Bytes the record takes, as counted by `max_record_bytes`.
    pub fn size(&self) -> usize {
        let values: usize = self
            .values
            .iter()
            .map(|v| match v {
                Value::Absent => 0,
                Value::Int(_) => 8,
                Value::Str(s) => s.len(),
            })
            .sum();
        let attrs: usize = self.attributes.iter().map(|(k, v)| k.len() + v.len()).sum();
        8 + values + attrs + self.body.len()
    }

    /// Checks the record against `schema`; `index` names it in the error.
    pub(crate) fn check(&self, schema: &Schema, index: usize) -> Result<(), Error> {
        let bad = |detail: String| Error::InvalidRecord {
            record: index,
            detail,
        };
        if self.values.len() != schema.columns.len() {
            return Err(bad(format!(
                "{} column values, the schema has {} columns",
                self.values.len(),
                schema.columns.len()
            )));
        }
        for (v, c) in self.values.iter().zip(&schema.columns) {
            let fits = match (c.kind, v) {
                (_, Value::Absent) => true,
                (ColumnKind::Severity, Value::Int(n)) => (1..=24).contains(n),
                (ColumnKind::Int, Value::Int(n)) => *n != i64::MIN,
                (ColumnKind::Keyword | ColumnKind::Id, Value::Str(_)) => true,
                _ => false,
            };
            if !fits {
                return Err(bad(format!(
                    "column {} ({:?}) cannot hold {v:?}",
                    c.name, c.kind
                )));
            }
        }
        // Few attributes (the usual case) are checked pairwise, without a set to allocate.
        let few = self.attributes.len() <= 32;
        let mut names = HashSet::new();
        for (i, (k, _)) in self.attributes.iter().enumerate() {
            let repeated = if few {
                self.attributes[..i].iter().any(|(seen, _)| seen == k)
            } else {
                !names.insert(k.as_str())
            };
            if k.is_empty() || repeated {
                return Err(bad(format!("attribute name {k:?} is empty or repeated")));
            }
            if schema.resolve(k) != FieldRef::Attribute(k) {
                return Err(bad(format!(
                    "attribute name {k:?} is a column or reserved name"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_resolve_to_columns_aliases_body_or_attributes() {
        let s = Schema::logs();
        assert_eq!(s.resolve("level"), FieldRef::Column(0));
        assert_eq!(s.resolve("correlation_id"), FieldRef::Column(4));
        assert_eq!(s.resolve("message"), FieldRef::Body);
        assert_eq!(s.resolve("@timestamp"), FieldRef::Attribute("@timestamp"));
        assert_eq!(s.resolve("timestamp"), FieldRef::Time);
        assert_eq!(s.resolve("logger"), FieldRef::Attribute("logger"));
    }

    #[test]
    fn schemas_refuse_taken_names() {
        let dup = Schema::new(vec![
            Column::new("a", ColumnKind::Keyword, &[]),
            Column::new("b", ColumnKind::Id, &["a"]),
        ]);
        assert!(matches!(dup, Err(Error::InvalidSchema(m)) if m.contains("\"a\" is taken")));
        let reserved = Schema::new(vec![Column::new("body", ColumnKind::Keyword, &[])]);
        assert!(reserved.is_err());
    }

    #[test]
    fn records_are_checked_against_the_schema() {
        let s = Schema::logs();
        let ok = Record::log(1, 9, "api", "hi").attr("logger", "keiko");
        assert!(ok.check(&s, 0).is_ok());
        let mut bad = ok.clone();
        bad.values[0] = Value::Str("INFO".into());
        let e = bad.check(&s, 4).unwrap_err().to_string();
        assert!(e.starts_with("record 4: column severity"), "{e}");
        let clash = ok.clone().attr("level", "x");
        assert!(clash.check(&s, 0).is_err());
        let repeated = ok.attr("logger", "again");
        assert!(repeated.check(&s, 0).is_err());
    }
}
