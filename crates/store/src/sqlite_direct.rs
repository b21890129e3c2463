//! Reads of many rows from a SQLite file through rusqlite on blocking threads.
//!
//! sqlx-sqlite runs every statement on a worker thread and copies each value of each row into
//! an owned row sent back over a channel: about 15 µs per 20-column run row, which made a
//! 1,000-run batch take 15–25 ms to read. rusqlite decodes in place on the calling thread
//! (≈1 µs per row here), so the reads that return a whole batch come through here. Everything
//! else, and every PostgreSQL query, keeps the one query layer in `queries.rs`; the
//! conformance tests hold both paths to the same answers.
//!
//! Both drivers link the same SQLite library (`libsqlite3-sys`, bundled), so the files they
//! open are the same format with the same pragmas; these connections are read-only.

use crate::error::Result;
use crate::rows::{BatchRow, RunRow, BATCH_COLUMNS, RUN_COLUMNS};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use zebench_core::BatchDetail;

/// A small pool of read-only rusqlite connections to one database file.
pub(crate) struct DirectReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Bounds the connections (and blocking threads) in use at once.
    permits: Arc<Semaphore>,
}

/// Page cache per connection (KiB), as for sqlx's readers (see `sqlite.rs`).
const CACHE_KIB: i64 = 2000;

impl DirectReaders {
    pub(crate) fn new(path: &Path, max: usize) -> Self {
        DirectReaders {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "file")?;
        Ok(conn)
    }

    /// Runs `f` with a connection on a blocking thread. A connection whose call failed is
    /// dropped rather than reused, in case the failure left it in a transaction.
    async fn with<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| crate::StoreError::Closed)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = this.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
            let conn = match pooled {
                Some(c) => c,
                None => this.open()?,
            };
            let out = f(&conn);
            if out.is_ok() {
                if let Ok(mut idle) = this.idle.lock() {
                    idle.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| crate::StoreError::Corrupt(format!("a database read panicked: {e}")))?
    }

    /// A batch with all its runs, oldest first, read from one snapshot (see
    /// `Backend::get_batch` in `queries.rs`, which this replaces on SQLite files).
    pub(crate) async fn get_batch(self: &Arc<Self>, batch_id: &str) -> Result<Option<BatchDetail>> {
        let batch_id = batch_id.to_string();
        self.with(move |conn| {
            // A deferred transaction: the snapshot starts at the first read and holds for both.
            let tx = conn.unchecked_transaction()?;
            let batch = tx
                .prepare_cached(&format!(
                    "SELECT {BATCH_COLUMNS} FROM batches b WHERE b.batch_id = ?1"
                ))?
                .query_row([&batch_id], BatchRow::from_direct)
                .optional()?;
            let Some(batch) = batch else {
                return Ok(None);
            };
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE r.batch_id = ?1 ORDER BY r.started_at, r.id"
            ))?;
            let runs = stmt
                .query_map([&batch_id], RunRow::from_direct)?
                .map(|row| row.map_err(crate::StoreError::from)?.into_run())
                .collect::<Result<Vec<_>>>()?;
            drop(stmt);
            tx.commit()?;
            Ok(Some(BatchDetail {
                batch: batch.into_batch(),
                runs,
            }))
        })
        .await
    }
}
