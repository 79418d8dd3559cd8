//! The SQLite database: one pool per process, migrations applied at start-up.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
}

/// Opens (creating if needed) the database file and applies every pending migration.
#[tracing::instrument(skip_all, fields(db.path = %path.display()))]
pub async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options(path).create_if_missing(true))
        .await
        .with_context(|| format!("opening database {}", path.display()))?;
    MIGRATOR
        .run(&pool)
        .await
        .context("applying database migrations")?;
    sqlx::query("INSERT OR IGNORE INTO instance (singleton, id, created_at) VALUES (1, ?, ?)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(chrono::Utc::now().to_rfc3339())
        .execute(&pool)
        .await
        .context("recording the instance id")?;
    Ok(pool)
}

/// Starts a transaction that will write. `BEGIN IMMEDIATE` takes SQLite's write lock at
/// once, waiting up to the busy timeout for it: a deferred transaction that reads first and
/// writes later fails at once with "database is locked" when another writer got there in
/// between, and no busy timeout helps it.
pub async fn begin_write(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Ready means: the pool answers, and the file on disk still opens as this portal's migrated
/// database (a fresh connection, so a deleted or overwritten file is noticed).
#[tracing::instrument(name = "db.check_ready", skip_all)]
pub async fn check_ready(pool: &SqlitePool, path: &Path) -> anyhow::Result<()> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .context("the connection pool does not answer")?;
    let mut conn = SqliteConnectOptions::from_str("sqlite://")
        .expect("static URL")
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(2))
        .connect()
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let result = sqlx::query("SELECT id FROM instance")
        .fetch_one(&mut conn)
        .await
        .context("reading the instance row");
    let _ = conn.close().await;
    result.map(|_| ())
}

/// Timestamps are stored as RFC 3339 UTC text with milliseconds, so text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now() -> String {
    timestamp(Utc::now())
}
