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
/// Refreshes planner statistics.
const ANALYZE_SQL: &str = "PRAGMA optimize=0x10002";
const DAY_SQL: &str = "strftime('%Y-%m-%d', r.started_at / 1000, 'unixepoch')";
/// The `errorType` string of a run's metadata, else NULL (also for text that is not JSON).
/// (A substring test before parsing was measured slower than SQLite's JSON parser.)
const ERROR_TYPE_SQL: &str = "CASE WHEN json_valid(r.metadata) THEN \
    CASE WHEN json_type(r.metadata, '$.errorType') = 'text' \
    THEN json_extract(r.metadata, '$.errorType') END END";
/// Put before each grouping key. SQLite's unary `+` changes no value but hides the column
/// from the planner, which would otherwise walk a one-column index (`runs_agent`, …) to get
/// the groups in order, paying a random row read per run: slower than scanning the covering
/// `runs_grid` index and sorting.
const GROUP_KEY_PREFIX: &str = "+";
/// An evaluation's histogram bucket: `floor(s * 10)` clamped to 0..=9, where `s` is the score
/// normalized as everywhere else (`MIN_DIVISOR` is 1e-6). (An index on this expression made
/// the unfiltered histogram 20× faster but cost a third of bulk ingest; it was left out.)
/// `CAST` truncates, which is `floor` once the value is clamped to be non-negative.
const EVAL_BUCKET_SQL: &str = "CAST(max(0, min(9, (CASE WHEN e.max_score >= 0.000001 \
    THEN e.score / e.max_score ELSE e.score END) * 10)) AS INTEGER)";
/// Appended to text keys whose order must match the other backend: SQLite compares bytes.
const TEXT_ORDER: &str = "";
/// Case-insensitive pattern match (SQLite's LIKE folds ASCII letters only), and the escape
/// character the patterns use.
const SEARCH_LIKE: &str = "LIKE";
const SEARCH_ESCAPE: &str = " ESCAPE '\\'";

pub(crate) struct Backend {
    pub(crate) read: Pool<Db>,
    pub(crate) write: Pool<Db>,
    /// Copies the WAL into the database file in the background, so the writer's commits do
    /// not pay for checkpoints (SQLite's automatic checkpoint runs inside a commit).
    pub(crate) checkpointer: Option<Pool<Db>>,
    /// The rusqlite writer that stores runs and batches (see `sqlite_direct`); `None` for an
    /// in-memory database, whose writes go through `write` like its reads.
    pub(crate) writer: Option<std::sync::Arc<crate::sqlite_direct::DirectWriter>>,
    /// rusqlite readers for the reads that return many rows (see `sqlite_direct`); `None`
    /// for an in-memory database, which only its one connection can see.
    pub(crate) direct: Option<std::sync::Arc<crate::sqlite_direct::DirectReaders>>,
}

/// Pages the WAL may reach before a commit checkpoints by itself: a safety net for when the
/// background checkpointer falls behind (e.g. a long-running reader pins old pages).
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: &str = "8192";
/// Page cache of the writer connection (negative: KiB): B-tree inserts touch the same upper
/// pages again and again.
pub(crate) const WRITER_CACHE_KIB: &str = "-16000";
/// Page cache of each reader: small, because every connection has its own and the operating
/// system caches the file for all of them; large per-connection caches multiplied by the pool
/// size were most of the server's memory on a 4 GB database.
pub(crate) const READER_CACHE_KIB: &str = "-2000";
/// How often the background checkpointer runs.
/// WAL size (in pages of 4 KiB: 256 MiB) past which the checkpointer truncates it.
const WAL_TRUNCATE_FRAMES: i64 = 65_536;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Opens (creating if missing) the database at `url` and brings its schema up to date.
pub(crate) async fn connect(url: &str, max_readers: u32) -> crate::Result<Backend> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
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
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        // A file's runs are written by the rusqlite writer (which has the large cache); this
        // connection only migrates and refreshes statistics there.
        .pragma(
            "cache_size",
            if memory {
                WRITER_CACHE_KIB
            } else {
                READER_CACHE_KIB
            },
        )
        .pragma("temp_store", "memory");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options.clone())
        .await?;
    crate::migrate::run(&MIGRATOR, &mut *write.acquire().await?).await?;
    // An in-memory database exists per connection, so it can only be shared through one.
    if memory {
        return Ok(Backend {
            read: write.clone(),
            write,
            checkpointer: None,
            writer: None,
            direct: None,
        });
    }
    let checkpointer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().pragma("cache_size", READER_CACHE_KIB))
        .await?;
    spawn_checkpointer(checkpointer.clone());
    let read = SqlitePoolOptions::new()
        .max_connections(max_readers.max(1))
        .connect_with(
            options
                .clone()
                .read_only(true)
                .pragma("cache_size", READER_CACHE_KIB)
                // Dashboard GROUP BYs build temporary B-trees as large as the data: in a
                // file (the OS page cache) they leave no heap behind to fragment.
                .pragma("temp_store", "file"),
        )
        .await?;
    // Only whole-batch reads use these: a few at once keep both cores busy, and each holds
    // its own page cache.
    let direct = crate::sqlite_direct::DirectReaders::new(
        options.get_filename(),
        (max_readers as usize).min(DIRECT_READERS),
    );
    let writer = crate::sqlite_direct::DirectWriter::open(options.get_filename())?;
    Ok(Backend {
        read,
        write,
        checkpointer: Some(checkpointer),
        writer: Some(std::sync::Arc::new(writer)),
        direct: Some(std::sync::Arc::new(direct)),
    })
}

/// Most rusqlite readers (see `sqlite_direct`).
const DIRECT_READERS: usize = 4;

/// Checkpoints between which the statistics are refreshed (about hourly).
const OPTIMIZE_EVERY: u32 = 7200;

fn spawn_checkpointer(pool: Pool<Db>) {
    tokio::spawn(async move {
        let mut ticks: u32 = 0;
        while !pool.is_closed() {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(OPTIMIZE_EVERY) {
                // SQLite's advice for long-lived connections: refresh stale statistics.
                let _ = sqlx::query("PRAGMA optimize").execute(&pool).await;
            }
            match sqlx::query_as::<Db, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await
            {
                // Under continuous reads a passive checkpoint never finds the WAL idle, so
                // the WAL only grows (gigabytes within minutes of heavy ingest). Past the
                // bound, wait for the readers of the moment (milliseconds) and start over.
                Ok((_, wal_frames, _)) if wal_frames > WAL_TRUNCATE_FRAMES => {
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(&pool)
                        .await
                    {
                        tracing::warn!(error = %e, wal_frames, "WAL truncation failed");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if pool.is_closed() {
                        break;
                    }
                    tracing::warn!(error = %e, "background WAL checkpoint failed");
                }
            }
        }
    });
}

/// `BEGIN IMMEDIATE` takes the write lock up front, so a transaction that read first never
/// fails to upgrade because another process wrote in between.
async fn begin_write(pool: &Pool<Db>) -> crate::Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

include!("queries.rs");
include!("dashboard_sql.rs");
