//! The catalog: which block files make up the store, in `catalog.json`, rewritten
//! atomically (temporary file, fsync, rename, directory fsync) on every change.
//!
//! Why a file and not SQLite: the crate builds and tests alone with no database
//! dependency, the catalog changes only when a block is cut or dropped (minutes apart),
//! and each block file holds its own directory, so the catalog is small. The server may
//! mirror it into its SQLite database for listing; the file stays the truth here.
//!
//! ```json
//! {"version": 1, "schema": "severity:Severity,…", "next_seq": 12345, "next_block": 7,
//!  "blocks": [{"id": 6, "min_time": …, "max_time": …, "rows": …, "bytes": …,
//!              "min_seq": …, "max_seq": …}]}
//! ```
//!
//! `next_seq` is one past the highest sequence number held by a block: WAL replay skips
//! records below it. A block file not named in the catalog is a cut that crashed before it
//! was recorded; it is deleted at open (its records are still in the WAL).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::Error;
use crate::fsutil::write_atomic;

/// One block as the catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    pub id: u64,
    /// Oldest and newest record time (inclusive), Unix nanoseconds.
    pub min_time: i64,
    pub max_time: i64,
    pub rows: u64,
    /// Size of the block file.
    pub bytes: u64,
    pub min_seq: u64,
    pub max_seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub(crate) schema: String,
    pub(crate) next_seq: u64,
    pub(crate) next_block: u64,
    pub(crate) blocks: Vec<BlockInfo>,
}

pub(crate) fn block_path(dir: &Path, id: u64) -> PathBuf {
    dir.join("blocks").join(format!("{id:016x}.blk"))
}

impl Catalog {
    fn path(dir: &Path) -> PathBuf {
        dir.join("catalog.json")
    }

    /// Reads the catalog in `dir`, or a new empty one for `schema`.
    pub(crate) fn load(dir: &Path, schema: &str) -> Result<Catalog, Error> {
        let path = Catalog::path(dir);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Catalog {
                    schema: schema.to_owned(),
                    next_seq: 0,
                    next_block: 0,
                    blocks: Vec::new(),
                })
            }
            Err(e) => return Err(Error::io(format!("read {}", path.display()))(e)),
        };
        let v: Value = serde_json::from_slice(&text)
            .map_err(|e| Error::corrupt(&path, format!("not JSON: {e}")))?;
        let cat = Catalog::from_json(&v).ok_or_else(|| Error::corrupt(&path, "bad fields"))?;
        if cat.schema != schema {
            return Err(Error::InvalidSchema(format!(
                "the store in {} was made with schema {:?}, opened with {schema:?}",
                dir.display(),
                cat.schema
            )));
        }
        Ok(cat)
    }

    fn from_json(v: &Value) -> Option<Catalog> {
        let u = |v: &Value, k: &str| v.get(k)?.as_u64();
        let i = |v: &Value, k: &str| v.get(k)?.as_i64();
        let blocks = v
            .get("blocks")?
            .as_array()?
            .iter()
            .map(|b| {
                Some(BlockInfo {
                    id: u(b, "id")?,
                    min_time: i(b, "min_time")?,
                    max_time: i(b, "max_time")?,
                    rows: u(b, "rows")?,
                    bytes: u(b, "bytes")?,
                    min_seq: u(b, "min_seq")?,
                    max_seq: u(b, "max_seq")?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Catalog {
            schema: v.get("schema")?.as_str()?.to_owned(),
            next_seq: u(v, "next_seq")?,
            next_block: u(v, "next_block")?,
            blocks,
        })
    }

    /// Writes the catalog atomically.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), Error> {
        let blocks: Vec<Value> = self
            .blocks
            .iter()
            .map(|b| {
                json!({"id": b.id, "min_time": b.min_time, "max_time": b.max_time,
                       "rows": b.rows, "bytes": b.bytes, "min_seq": b.min_seq,
                       "max_seq": b.max_seq})
            })
            .collect();
        let v = json!({"version": 1, "schema": self.schema, "next_seq": self.next_seq,
                       "next_block": self.next_block, "blocks": blocks});
        write_atomic(&Catalog::path(dir), v.to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_round_trips_and_refuses_another_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Catalog::load(tmp.path(), "a:Keyword").unwrap();
        c.blocks.push(BlockInfo {
            id: 3,
            min_time: -5,
            max_time: 9,
            rows: 2,
            bytes: 100,
            min_seq: 0,
            max_seq: 1,
        });
        c.next_seq = 2;
        c.save(tmp.path()).unwrap();
        assert_eq!(Catalog::load(tmp.path(), "a:Keyword").unwrap(), c);
        assert!(matches!(
            Catalog::load(tmp.path(), "b:Id"),
            Err(Error::InvalidSchema(_))
        ));
    }
}
