//! The catalog: which block files make up the store, in SQLite (`<dir>/catalog.db`).
//!
//! ```sql
//! store  (id = 1, format, schema, next_seq, next_block)        -- one row
//! blocks (id PRIMARY KEY, file UNIQUE, min_time, max_time, rows, bytes, min_seq, max_seq)
//! blocks_by_time ON blocks (max_time, min_time)
//! ```
//!
//! `next_seq` is one past the highest sequence number a block holds: WAL replay skips
//! records below it. `next_block` is the next block id (ids are never reused, so the block
//! cache never serves an old block's sections for a new one).
//!
//! The database runs in WAL journal mode with `synchronous = FULL`: a commit returns once
//! its WAL frame is fsynced. (`NORMAL` would be safe against kill -9 but not against power
//! loss, where a commit could roll back after the store had already deleted the log
//! segments whose records the block holds.) The store's order, an invariant in
//! ARCHITECTURE.md: block file fsynced and renamed into place → catalog row committed →
//! log segments deleted; to drop, catalog row deleted → block file removed. A block file
//! with no row is a cut that crashed before its commit (its records are still in the log)
//! or a drop that crashed after it; it is deleted at open.
//!
//! Stores written before the SQLite catalog kept it in `catalog.json`: at open, a store
//! whose database has no `store` row imports that file in the same transaction that
//! creates the row, then renames it to `catalog.json.imported`. A crash before the commit
//! leaves the JSON to import again; after it, the row exists and the rename is redone.
//! All writes go through one connection owned by the store (the directory lock keeps
//! other processes out); every statement is parameterised. A failed commit (which may
//! still have reached the disk) refuses every later change until the store is reopened,
//! when the database says which it was.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, Transaction, TransactionBehavior};
use serde_json::Value;

use crate::error::Error;
use crate::fsutil::sync_dir;

/// Version of the tables below, in the `store` row's `format`.
const FORMAT: i64 = 1;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS store (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,
    schema TEXT NOT NULL,
    next_seq INTEGER NOT NULL CHECK (next_seq >= 0),
    next_block INTEGER NOT NULL CHECK (next_block >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS blocks (
    id INTEGER PRIMARY KEY CHECK (id >= 0),
    file TEXT NOT NULL UNIQUE,
    min_time INTEGER NOT NULL,
    max_time INTEGER NOT NULL,
    rows INTEGER NOT NULL CHECK (rows >= 0),
    bytes INTEGER NOT NULL CHECK (bytes >= 0),
    min_seq INTEGER NOT NULL CHECK (min_seq >= 0),
    max_seq INTEGER NOT NULL CHECK (max_seq >= min_seq),
    CHECK (min_time <= max_time)
) STRICT;
CREATE INDEX IF NOT EXISTS blocks_by_time ON blocks (max_time, min_time);
";

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

/// The catalog's database and a copy of what it holds (read without a query).
pub(crate) struct Catalog {
    conn: Connection,
    path: PathBuf,
    pub(crate) next_seq: u64,
    pub(crate) next_block: u64,
    /// In id order, which is the order of the cuts.
    pub(crate) blocks: Vec<BlockInfo>,
    /// A commit failed: whether it reached the disk is known only at the next open (a
    /// failed fsync may still leave the commit in SQLite's WAL), so every later change is
    /// refused until the store is reopened, as after a failed fsync of the store's WAL.
    failed: bool,
}

/// A block's file, relative to the store's directory.
fn block_file(id: u64) -> String {
    format!("blocks/{id:016x}.blk")
}

pub(crate) fn block_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(block_file(id))
}

/// What `catalog.json` held (and what a new catalog starts from).
struct Contents {
    schema: String,
    next_seq: u64,
    next_block: u64,
    blocks: Vec<BlockInfo>,
}

impl Catalog {
    /// Opens the catalog in `dir` for a store of `schema`: creates it (importing
    /// `catalog.json` when there is one) or reads it, refusing another schema.
    pub(crate) fn open(dir: &Path, schema: &str) -> Result<Catalog, Error> {
        let path = dir.join("catalog.db");
        let err = |what: &str| sql_error(&path, what);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags).map_err(err("open"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err("set journal_mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::corrupt(
                &path,
                format!("journal mode {mode}, not wal"),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = FULL")
            .map_err(err("set synchronous"))?;
        let json = dir.join("catalog.json");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin"))?;
        tx.execute_batch(TABLES).map_err(err("create tables"))?;
        let created = match read_store_row(&tx, &path)? {
            Some(stored) => {
                check_schema(dir, &stored, schema)?;
                false
            }
            None => {
                let initial = match read_json(&json)? {
                    Some(imported) => {
                        check_schema(dir, &imported.schema, schema)?;
                        imported
                    }
                    None => Contents {
                        schema: schema.to_owned(),
                        next_seq: 0,
                        next_block: 0,
                        blocks: Vec::new(),
                    },
                };
                insert_contents(&tx, &initial, &path)?;
                true
            }
        };
        tx.commit().map_err(err("commit"))?;
        if json.exists() {
            let to = dir.join("catalog.json.imported");
            std::fs::rename(&json, &to)
                .map_err(Error::io(format!("rename {} after import", json.display())))?;
        }
        if created {
            sync_dir(dir)?;
        }
        let (next_seq, next_block) = conn
            .query_row("SELECT next_seq, next_block FROM store", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(err("read store"))?;
        let blocks = read_blocks(&conn, &path)?;
        Ok(Catalog {
            next_seq: unsigned(next_seq, &path, "next_seq")?,
            next_block: unsigned(next_block, &path, "next_block")?,
            blocks,
            conn,
            path,
            failed: false,
        })
    }

    /// Records a block whose file is fsynced in place, in one transaction with the
    /// counters it advances. The copy in memory changes only once it is committed.
    pub(crate) fn add_block(&mut self, b: BlockInfo) -> Result<(), Error> {
        self.check_usable()?;
        let err = |what: &str| sql_error(&self.path, what);
        let next_block = self.next_block.max(b.id + 1);
        let next_seq = self.next_seq.max(b.max_seq + 1);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin"))?;
        insert_block(&tx, &b, &self.path)?;
        tx.execute(
            "UPDATE store SET next_seq = ?1, next_block = ?2",
            params![
                signed(next_seq, "next_seq")?,
                signed(next_block, "next_block")?
            ],
        )
        .map_err(err("update store"))?;
        commit(tx, &mut self.failed, &self.path)?;
        self.next_block = next_block;
        self.next_seq = next_seq;
        self.blocks.push(b);
        Ok(())
    }

    /// Removes blocks from the catalog in one transaction (their files go afterwards).
    pub(crate) fn remove_blocks(&mut self, ids: &[u64]) -> Result<(), Error> {
        self.check_usable()?;
        let err = |what: &str| sql_error(&self.path, what);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err("begin"))?;
        {
            let mut delete = tx
                .prepare("DELETE FROM blocks WHERE id = ?1")
                .map_err(err("prepare delete"))?;
            for id in ids {
                delete
                    .execute([signed(*id, "block id")?])
                    .map_err(err("delete block"))?;
            }
        }
        commit(tx, &mut self.failed, &self.path)?;
        self.blocks.retain(|b| !ids.contains(&b.id));
        Ok(())
    }
}

impl Catalog {
    fn check_usable(&self) -> Result<(), Error> {
        if self.failed {
            return Err(Error::Catalog {
                context: format!("change {}", self.path.display()),
                source: "an earlier commit failed; reopen the store".into(),
            });
        }
        Ok(())
    }
}

/// Commits `tx`; a failure marks the catalog failed (see [`Catalog`]'s `failed`). Callers
/// change the copy in memory only after it returns `Ok`.
fn commit(tx: Transaction<'_>, failed: &mut bool, path: &Path) -> Result<(), Error> {
    tx.commit().map_err(|e| {
        *failed = true;
        sql_error(path, "commit")(e)
    })
}

fn sql_error(path: &Path, what: &str) -> impl FnOnce(rusqlite::Error) -> Error {
    let context = format!("{what} in {}", path.display());
    move |source| Error::Catalog {
        context,
        source: Box::new(source),
    }
}

fn signed(v: u64, what: &str) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::InvalidOptions(format!("{what} {v} is over 2^63")))
}

fn unsigned(v: i64, path: &Path, what: &str) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| Error::corrupt(path, format!("{what} is negative: {v}")))
}

fn check_schema(dir: &Path, stored: &str, schema: &str) -> Result<(), Error> {
    if stored == schema {
        return Ok(());
    }
    Err(Error::InvalidSchema(format!(
        "the store in {} was made with schema {stored:?}, opened with {schema:?}",
        dir.display()
    )))
}

/// The schema the `store` row names, or `None` before the catalog is initialised.
fn read_store_row(tx: &Transaction<'_>, path: &Path) -> Result<Option<String>, Error> {
    let mut stmt = tx
        .prepare("SELECT format, schema FROM store WHERE id = 1")
        .map_err(sql_error(path, "prepare"))?;
    let mut rows = stmt.query([]).map_err(sql_error(path, "read store"))?;
    let Some(row) = rows.next().map_err(sql_error(path, "read store"))? else {
        return Ok(None);
    };
    let (format, schema): (i64, String) = (
        row.get(0).map_err(sql_error(path, "read format"))?,
        row.get(1).map_err(sql_error(path, "read schema"))?,
    );
    if format != FORMAT {
        return Err(Error::corrupt(
            path,
            format!("catalog format {format}, this build reads {FORMAT}"),
        ));
    }
    Ok(Some(schema))
}

fn insert_contents(tx: &Transaction<'_>, c: &Contents, path: &Path) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO store (id, format, schema, next_seq, next_block) VALUES (1, ?1, ?2, ?3, ?4)",
        params![
            FORMAT,
            c.schema,
            signed(c.next_seq, "next_seq")?,
            signed(c.next_block, "next_block")?
        ],
    )
    .map_err(sql_error(path, "insert store"))?;
    for b in &c.blocks {
        insert_block(tx, b, path)?;
    }
    Ok(())
}

fn insert_block(tx: &Transaction<'_>, b: &BlockInfo, path: &Path) -> Result<(), Error> {
    let (id, rows, bytes) = (
        signed(b.id, "block id")?,
        signed(b.rows, "rows")?,
        signed(b.bytes, "bytes")?,
    );
    let (min_seq, max_seq) = (signed(b.min_seq, "min_seq")?, signed(b.max_seq, "max_seq")?);
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO blocks (id, file, min_time, max_time, rows, bytes, min_seq, max_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(sql_error(path, "prepare"))?;
    let file = block_file(b.id);
    stmt.execute(params![
        id, file, b.min_time, b.max_time, rows, bytes, min_seq, max_seq
    ])
    .map_err(sql_error(path, "insert block"))?;
    Ok(())
}

fn read_blocks(conn: &Connection, path: &Path) -> Result<Vec<BlockInfo>, Error> {
    let mut stmt = conn
        .prepare(
            "SELECT id, file, min_time, max_time, rows, bytes, min_seq, max_seq
             FROM blocks ORDER BY id",
        )
        .map_err(sql_error(path, "prepare"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                [r.get::<_, i64>(2)?, r.get::<_, i64>(3)?],
                [r.get::<_, i64>(4)?, r.get::<_, i64>(5)?],
                [r.get::<_, i64>(6)?, r.get::<_, i64>(7)?],
            ))
        })
        .map_err(sql_error(path, "read blocks"))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, file, [min_time, max_time], [rows, bytes], [min_seq, max_seq]) =
            row.map_err(sql_error(path, "read blocks"))?;
        let id = unsigned(id, path, "block id")?;
        if file != block_file(id) {
            return Err(Error::corrupt(
                path,
                format!("block {id} names file {file:?}"),
            ));
        }
        out.push(BlockInfo {
            id,
            min_time,
            max_time,
            rows: unsigned(rows, path, "rows")?,
            bytes: unsigned(bytes, path, "bytes")?,
            min_seq: unsigned(min_seq, path, "min_seq")?,
            max_seq: unsigned(max_seq, path, "max_seq")?,
        });
    }
    Ok(out)
}

/// Reads the catalog of a store written before the SQLite one:
///
/// ```json
/// {"version": 1, "schema": "severity:Severity,…", "next_seq": 12345, "next_block": 7,
///  "blocks": [{"id": 6, "min_time": …, "max_time": …, "rows": …, "bytes": …,
///              "min_seq": …, "max_seq": …}]}
/// ```
fn read_json(path: &Path) -> Result<Option<Contents>, Error> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("read {}", path.display()))(e)),
    };
    let v: Value = serde_json::from_slice(&text)
        .map_err(|e| Error::corrupt(path, format!("not JSON: {e}")))?;
    from_json(&v)
        .map(Some)
        .ok_or_else(|| Error::corrupt(path, "bad fields"))
}

fn from_json(v: &Value) -> Option<Contents> {
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
    Some(Contents {
        schema: v.get("schema")?.as_str()?.to_owned(),
        next_seq: u(v, "next_seq")?,
        next_block: u(v, "next_block")?,
        blocks,
    })
}

#[cfg(test)]
pub(crate) mod tests;
