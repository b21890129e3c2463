//! The hot paths of a SQLite file through rusqlite on blocking threads: the writer's group
//! commits, and the reads that return a whole batch.
//!
//! sqlx-sqlite runs every statement on a worker thread and copies each value of each row into
//! an owned row sent back over a channel: about 15 µs per 20-column run row, which made a
//! 1,000-run batch take 15–25 ms to read. rusqlite decodes in place on the calling thread
//! (≈1 µs per row here), so the reads that return a whole batch come through here, and so do
//! the writes ([`DirectWriter`]). Everything else, every PostgreSQL query and an in-memory
//! SQLite database keep the one query layer in `queries.rs`; the ingest SQL itself is shared
//! (`write_sql.rs`), and the conformance tests hold both paths to the same answers.
//!
//! Both drivers link the same SQLite library (`libsqlite3-sys`, bundled), so the files they
//! open are the same format with the same pragmas.

use crate::error::Result;
use crate::rows::{BatchRow, RunRow, BATCH_COLUMNS, RUN_COLUMNS};
use crate::{rollup, write_sql, Outcome, Prepared};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use zebench_core::{BatchDetail, BatchUpsert, Timestamp};

/// A small pool of read-only rusqlite connections to one database file.
pub(crate) struct DirectReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Bounds the connections (and blocking threads) in use at once.
    permits: Arc<Semaphore>,
}

impl DirectReaders {
    pub(crate) fn new(path: &Path, max: usize) -> Self {
        DirectReaders {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Refuses new reads ([`crate::StoreError::Closed`]) and closes the idle connections;
    /// reads in flight finish and their connections close after them.
    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The same small page cache as sqlx's readers (see `sqlite.rs`).
        conn.execute_batch(&format!(
            "PRAGMA cache_size = {}; PRAGMA temp_store = file",
            crate::sqlite::READER_CACHE_KIB
        ))?;
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
            if out.is_ok() && !this.permits.is_closed() {
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

/// The one writer connection of a SQLite file, through rusqlite: group commits of new runs
/// and batch upserts. sqlx-sqlite spent about 70 ms of a 1,000-run commit on copying every
/// bound value to its worker thread and back; rusqlite binds by reference from single-row
/// statements prepared once. Callers run it on a blocking thread.
pub(crate) struct DirectWriter {
    /// `None` once the store is closed.
    conn: Mutex<Option<Connection>>,
}

impl DirectWriter {
    /// Opens the (already migrated) database file for writing, with the pragmas of the sqlx
    /// connections: WAL, synchronous NORMAL, foreign keys, a 10 s busy timeout.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.execute_batch(&format!(
            "PRAGMA cache_size = {}; PRAGMA wal_autocheckpoint = {}; PRAGMA temp_store = memory",
            crate::sqlite::WRITER_CACHE_KIB,
            crate::sqlite::WAL_AUTOCHECKPOINT_PAGES
        ))?;
        Ok(DirectWriter {
            conn: Mutex::new(Some(conn)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        // A panic mid-transaction drops the transaction (rolled back), so the connection is
        // still usable after a poisoned lock.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the write in progress, then closes the connection (SQLite checkpoints the
    /// WAL as the last connection closes); later writes get [`crate::StoreError::Closed`].
    pub(crate) fn close(&self) {
        self.lock().take();
    }

    /// Stores a group of submissions in one transaction, as `Backend::submit_group` in
    /// `queries.rs` does on the other paths: one result per job.
    pub(crate) fn submit_group(&self, jobs: &[&[Prepared]]) -> Result<Vec<Result<Vec<Outcome>>>> {
        let mut guard = self.lock();
        let conn = guard.as_mut().ok_or(crate::StoreError::Closed)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut existing: HashMap<String, String> = HashMap::new();
        {
            let mut known = tx.prepare_cached("SELECT content_hash FROM runs WHERE run_id = ?1")?;
            for p in jobs.iter().flat_map(|j| j.iter()) {
                let hash: Option<String> = known
                    .query_row([p.run.run_id.as_str()], |row| row.get(0))
                    .optional()?;
                if let Some(h) = hash {
                    existing.insert(p.run.run_id.clone(), h);
                }
            }
        }
        let (results, fresh) = write_sql::classify(jobs, existing);
        if fresh.is_empty() {
            return Ok(results);
        }
        insert_fresh(&tx, &fresh)?;
        tx.commit()?;
        Ok(results)
    }

    /// Creates a batch or updates its descriptive fields (`created_at` keeps its first value).
    pub(crate) fn upsert_batch(&self, b: &BatchUpsert, now: i64) -> Result<()> {
        let guard = self.lock();
        let conn = guard.as_ref().ok_or(crate::StoreError::Closed)?;
        let metadata = b
            .metadata
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string());
        conn.prepare_cached(write_sql::UPSERT_BATCH)?
            .execute(params![
                b.batch_id.as_str(),
                b.created_at.map(Timestamp::millis).unwrap_or(now),
                b.completed_at.map(Timestamp::millis),
                metadata,
            ])?;
        Ok(())
    }
}

/// Writes runs known to be new, with everything that hangs off them.
fn insert_fresh(tx: &rusqlite::Transaction<'_>, fresh: &[&Prepared]) -> Result<()> {
    use write_sql::*;
    let sql =
        |prefix: &str, n: usize, suffix: &str| format!("{prefix}{}{suffix}", one_row_values(n));

    let mut batch =
        tx.prepare_cached(&sql(INSERT_BATCH_FIRST_SEEN, 2, BATCH_FIRST_SEEN_CONFLICT))?;
    for (id, at) in batches_first_seen(fresh) {
        batch.execute(params![id, at])?;
    }

    let mut run = tx.prepare_cached(&sql(INSERT_RUN, RUN_VALUES, ""))?;
    let mut evaluation = tx.prepare_cached(&sql(INSERT_EVALUATION, EVALUATION_VALUES, ""))?;
    let mut telemetry = tx.prepare_cached(&sql(INSERT_TELEMETRY, TELEMETRY_VALUES, ""))?;
    let mut artifact = tx.prepare_cached(&sql(INSERT_ARTIFACT, ARTIFACT_VALUES, ""))?;
    for p in fresh {
        let r = &p.run;
        let pk = run.insert(params![
            r.run_id.as_str(),
            r.batch_id.as_deref(),
            r.suite.as_str(),
            r.scenario.as_str(),
            r.tier.as_str(),
            r.agent.as_str(),
            r.model.as_deref(),
            r.status.as_str(),
            p.started_at,
            r.completed_at.map(Timestamp::millis),
            r.total_score,
            r.weighted_score,
            r.success_metric,
            r.is_successful,
            p.metadata.as_deref(),
            r.specialist_enabled,
            r.specialist_name.as_deref(),
            r.specialist_version.as_deref(),
            p.hash.as_str(),
            p.received_at,
            p.submitted_by.as_deref(),
        ])?;
        for e in &r.evaluations {
            evaluation.execute(params![
                pk,
                e.evaluator_name.as_str(),
                e.score,
                e.max_score,
                e.details.as_deref(),
                p.received_at,
            ])?;
        }
        if let Some(t) = r.telemetry.as_ref().filter(|t| !t.is_empty()) {
            telemetry.execute(params![
                pk,
                t.tool_calls,
                t.tokens_in,
                t.tokens_out,
                t.cost_usd,
                t.duration_ms,
                t.workspace_dir.as_deref(),
            ])?;
        }
        for a in &p.artifacts {
            artifact.execute(params![
                pk,
                a.name.as_str(),
                a.encoding,
                a.size,
                a.body.as_slice()
            ])?;
        }
    }

    let mut add_to_batch = tx.prepare_cached(ADD_TO_BATCH)?;
    for (batch_id, d) in rollup::batch_deltas(fresh.iter().map(|p| &p.run)) {
        add_to_batch.execute(params![
            d.runs,
            d.successful_runs,
            d.failed_runs,
            d.score_sum,
            d.score_n,
            d.weighted_sum,
            d.weighted_n,
            d.cost_sum,
            batch_id,
        ])?;
    }

    let mut add_to_rollup =
        tx.prepare_cached(&sql(INSERT_ROLLUP, ROLLUP_VALUES, ROLLUP_CONFLICT))?;
    for ((dim, key), d) in rollup::rollup_deltas(fresh.iter().map(|p| (&p.run, p.started_at))) {
        add_to_rollup.execute(params![
            dim,
            key,
            d.runs,
            d.completed_runs,
            d.failed_runs,
            d.successful_runs,
            d.score_sum,
            d.score_n,
            d.weighted_sum,
            d.weighted_n,
            d.weighted_min,
            d.weighted_max,
            d.cost_sum,
            d.tokens_in,
            d.tokens_out,
            d.tool_calls,
            d.duration_ms,
        ])?;
    }
    Ok(())
}
