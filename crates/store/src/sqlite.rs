//! The SQLite backend: one file, WAL journal, a single writer connection (SQLite serialises
//! writers anyway; one connection avoids busy errors between our own writers) and a pool of
//! readers that never block it.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Transaction};
use std::str::FromStr;
use std::time::Duration;

pub(crate) type Db = sqlx::Sqlite;
const IS_PG: bool = false;
const PAIR_SEP_SQL: &str = "char(31)";
/// A read transaction sees one snapshot from its first read (WAL mode).
const READ_SNAPSHOT: &str = "BEGIN";
const DAY_SQL: &str = "strftime('%Y-%m-%d', r.started_at / 1000, 'unixepoch')";

pub(crate) struct Backend {
    pub(crate) read: Pool<Db>,
    pub(crate) write: Pool<Db>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if missing) the database at `url` and brings its schema up to date.
pub(crate) async fn connect(url: &str, max_readers: u32) -> crate::Result<Backend> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| crate::StoreError::InvalidUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("cache_size", "-32000")
        .pragma("temp_store", "memory");
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&write).await?;
    // An in-memory database exists per connection, so it can only be shared through one.
    let read = if memory {
        write.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(max_readers.max(1))
            .connect_with(options.read_only(true))
            .await?
    };
    Ok(Backend { read, write })
}

/// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction that read first never
/// fails to upgrade because another process wrote in between.
async fn begin_write(pool: &Pool<Db>) -> crate::Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

include!("queries.rs");
