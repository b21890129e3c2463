//! zebench persistence: SQLite (default, embedded) or PostgreSQL, behind one [`Store`].
//!
//! The backend is chosen from the URL scheme, as atuin does. Both backends compile the same
//! query layer (`queries.rs`), so behaviour cannot drift between them; the conformance tests
//! run every case on both. The store owns the ingest path used by the API handler *and* by the
//! harness in local mode, so a run is validated and written the same way whichever way it came.

pub mod backup;
mod chunking;
mod error;
pub mod events;
mod filter;
mod grid;
pub mod metrics;
pub mod migrate;
mod postgres;
mod read_cache;
mod rollup;
mod rows;
mod sqlite;
mod sqlite_direct;
#[doc(hidden)]
pub mod testing;
mod write_sql;

pub use backup::{BackupError, BackupReport};
pub use error::{Result, StoreError};
pub use events::Event;
pub use filter::{Cursor, Page, RunFilter};
pub use grid::{EvaluatorBucket, GridKey, GridRow, RunRow, RunSort, SortedPage};

use std::io::{Read, Write};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};
use zebench_core::{
    AgentStats, BatchDetail, BatchUpsert, BreakdownRow, Dimension, Run, RunDetail, RunResult,
    Stats, Timestamp,
};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path`, `sqlite::memory:`, `postgres://…`, or a plain file path (SQLite).
    pub url: String,
    /// Connections for readers (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// PostgreSQL only: put every table in this schema (tests use one schema each).
    pub pg_schema: Option<String>,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions {
            url: url.into(),
            max_connections: 8,
            pg_schema: None,
        }
    }
}

enum Backend {
    Sqlite(sqlite::Backend),
    Postgres(postgres::Backend),
}

/// The results database.
pub struct Store {
    backend: Arc<Backend>,
    events: broadcast::Sender<Event>,
    writer: mpsc::Sender<Job>,
    /// Bumped by every change (see `read_cache`): cached aggregates are valid for one version.
    version: Arc<std::sync::atomic::AtomicU64>,
    grids: Arc<read_cache::ReadCache<Vec<GridRow>>>,
    histograms: Arc<read_cache::ReadCache<Vec<EvaluatorBucket>>>,
    /// This process's store, among every replica sharing the database (see
    /// [`Store::instance_id`]).
    instance: String,
}

/// One submission waiting for the writer.
struct Job {
    items: Vec<Prepared>,
    reply: oneshot::Sender<Result<Vec<Outcome>>>,
}

/// Calls the same backend method on whichever backend the store has, and records it (see
/// `metrics`) under the method's name, so the `operation` label set is exactly the backend
/// methods called here and cannot grow at run time.
macro_rules! on_backend {
    ($self:ident, $b:ident => $recv:ident . $op:ident ( $($arg:expr),* ) .await) => {{
        let started = std::time::Instant::now();
        let result = match &*$self.backend {
            Backend::Sqlite($b) => $recv.$op($($arg),*).await,
            Backend::Postgres($b) => $recv.$op($($arg),*).await,
        };
        crate::metrics::record(stringify!($op), started, result.is_ok());
        result
    }};
}

/// What happened to one submitted run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Created,
    /// Already stored with identical content; nothing changed.
    Duplicate,
}

/// A stored artifact's name and uncompressed size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArtifactInfo {
    pub name: String,
    pub size: i64,
}

/// A stored artifact, decompressed.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactBody {
    pub name: String,
    pub content: Vec<u8>,
}

/// A run ready to write: resolved defaults, digest, and encoded artifacts.
pub(crate) struct Prepared {
    run: RunResult,
    started_at: i64,
    received_at: i64,
    hash: String,
    metadata: Option<String>,
    artifacts: Vec<EncodedArtifact>,
    /// The name of the API key that submitted the run, if any (audit; not content).
    submitted_by: Option<String>,
}

pub(crate) struct EncodedArtifact {
    name: String,
    encoding: &'static str,
    size: i64,
    body: Vec<u8>,
}

/// Artifacts above this size are stored gzip-compressed.
const COMPRESS_ABOVE: usize = 1024;

fn encode_artifact(name: &str, text: &str) -> EncodedArtifact {
    let raw = text.as_bytes();
    if raw.len() > COMPRESS_ABOVE {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        if enc.write_all(raw).is_ok() {
            if let Ok(body) = enc.finish() {
                return EncodedArtifact {
                    name: name.to_string(),
                    encoding: "gzip",
                    size: raw.len() as i64,
                    body,
                };
            }
        }
    }
    EncodedArtifact {
        name: name.to_string(),
        encoding: "identity",
        size: raw.len() as i64,
        body: raw.to_vec(),
    }
}

pub(crate) fn decode_artifact(row: rows::ArtifactRow) -> Result<ArtifactBody> {
    let content = match row.encoding.as_str() {
        "identity" => row.body,
        "gzip" => {
            let mut out = Vec::with_capacity(row.size.max(0) as usize);
            flate2::read::GzDecoder::new(row.body.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| StoreError::Corrupt(format!("artifact {}: {e}", row.name)))?;
            out
        }
        other => {
            return Err(StoreError::Corrupt(format!(
                "artifact {}: unknown encoding {other}",
                row.name
            )))
        }
    };
    Ok(ArtifactBody {
        name: row.name,
        content,
    })
}

fn prepare(mut run: RunResult, received_at: i64, submitted_by: Option<&str>) -> Prepared {
    // The hash covers the run as submitted; after it, the parts that are stored only in
    // encoded form (metadata as text, artifacts and the prompt compressed) are taken out of
    // the run, so their parsed copies are freed now rather than held while the run waits for
    // the writer.
    let hash = run.content_hash();
    let metadata = run
        .metadata
        .take()
        .map(|m| serde_json::to_string(&m).unwrap_or_default());
    let texts = std::mem::take(&mut run.artifacts);
    let mut artifacts: Vec<EncodedArtifact> = texts
        .iter()
        .map(|(name, text)| encode_artifact(name, text))
        .collect();
    if let Some(prompt) = run.telemetry.as_mut().and_then(|t| t.prompt_sent.take()) {
        if !texts.contains_key("prompt") {
            artifacts.push(encode_artifact("prompt", &prompt));
        }
    }
    Prepared {
        started_at: run.started_at.map(Timestamp::millis).unwrap_or(received_at),
        received_at,
        hash,
        metadata,
        artifacts,
        run,
        submitted_by: submitted_by.map(str::to_string),
    }
}

/// How many times a submission is retried after a transient conflict between writers.
const RETRIES: usize = 5;

impl Store {
    /// Opens the store named by the URL and runs pending migrations. A newer schema than this
    /// binary knows is refused rather than touched.
    pub async fn connect(opts: StoreOptions) -> Result<Store> {
        let (events, _) = broadcast::channel(1024);
        let url = opts.url.trim();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let b = postgres::connect(url, opts.max_connections, opts.pg_schema.as_deref()).await?;
            postgres::spawn_listener(b.read.clone(), events.clone());
            Backend::Postgres(b)
        } else {
            let url = if url.starts_with("sqlite:") {
                url.to_string()
            } else if url.contains("://") {
                return Err(StoreError::InvalidUrl {
                    url: url.to_string(),
                    reason: "expected sqlite://PATH, postgres://… or a file path".into(),
                });
            } else {
                format!("sqlite://{url}")
            };
            Backend::Sqlite(sqlite::connect(&url, opts.max_connections).await?)
        };
        let backend = Arc::new(backend);
        let (writer, jobs) = mpsc::channel(4096);
        let version = Arc::new(std::sync::atomic::AtomicU64::new(0));
        read_cache::follow(&events, version.clone());
        tokio::spawn(write_loop(
            backend.clone(),
            jobs,
            events.clone(),
            version.clone(),
        ));
        Ok(Store {
            grids: Arc::new(read_cache::ReadCache::new(version.clone())),
            histograms: Arc::new(read_cache::ReadCache::new(version.clone())),
            instance: uuid::Uuid::new_v4().to_string(),
            version,
            backend,
            events,
            writer,
        })
    }

    pub fn kind(&self) -> BackendKind {
        match *self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// A random id of this store, new at every connect: the `origin` of the
    /// [`Event::BatchCompleted`] events it stores, so a consumer can tell its own from other
    /// replicas'.
    pub fn instance_id(&self) -> &str {
        &self.instance
    }

    /// Receives every run and batch change stored from now on (on PostgreSQL, by any replica).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Stores one run: the ingest path of `POST /api/results` and of the harness's local mode.
    pub async fn submit_run(&self, run: RunResult) -> Result<Outcome> {
        let outcomes = self.submit_runs(vec![run]).await?;
        Ok(outcomes[0])
    }

    /// Stores many runs atomically: all new ones are stored or none is. Runs already stored
    /// with identical content are reported as duplicates; any run id stored with other content
    /// fails the whole submission with [`StoreError::Conflict`].
    ///
    /// Submissions are queued to one writer task that commits whatever has arrived meanwhile in
    /// a single transaction (group commit): each submission keeps its own all-or-nothing
    /// outcome, and the database sees a few large transactions instead of many small ones.
    pub async fn submit_runs(&self, runs: Vec<RunResult>) -> Result<Vec<Outcome>> {
        self.submit_runs_as(runs, None).await
    }

    /// [`Store::submit_runs`], recording `submitted_by` (the submitting API key's name) on every
    /// new run. A duplicate keeps the name it was first stored with.
    pub async fn submit_runs_as(
        &self,
        runs: Vec<RunResult>,
        submitted_by: Option<&str>,
    ) -> Result<Vec<Outcome>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let now = Timestamp::now().millis();
        let items: Vec<Prepared> = runs
            .into_iter()
            .map(|r| prepare(r, now, submitted_by))
            .collect();
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job { items, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Creates or updates a batch's descriptive fields (never its aggregates).
    pub async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<()> {
        let now = Timestamp::now().millis();
        if let Backend::Sqlite(sqlite::Backend {
            writer: Some(writer),
            ..
        }) = &*self.backend
        {
            let (writer, batch) = (writer.clone(), batch.clone());
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || writer.upsert_batch(&batch, now))
                .await
                .map_err(|e| StoreError::Corrupt(format!("the writer panicked: {e}")))
                .and_then(|r| r);
            metrics::record("upsert_batch", started, result.is_ok());
            result?;
        } else {
            on_backend!(self, b => b.upsert_batch(batch, now, &self.instance).await)?;
        }
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.kind() == BackendKind::Sqlite {
            let _ = self.events.send(Event::BatchUpdated {
                batch_id: batch.batch_id.clone(),
            });
            if batch.completed_at.is_some() {
                let _ = self.events.send(Event::BatchCompleted {
                    batch_id: batch.batch_id.clone(),
                    origin: self.instance.clone(),
                });
            }
        }
        Ok(())
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Option<RunDetail>> {
        on_backend!(self, b => b.get_run(run_id).await)
    }

    /// Runs newest first, `limit` at a time, after `cursor`.
    pub async fn list_runs(
        &self,
        filter: &RunFilter,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<Page<Run>> {
        on_backend!(self, b => b.list_runs(filter, limit, cursor).await)
    }

    /// Like [`Store::list_runs`] with each run's evaluations and telemetry (for exports).
    pub async fn list_run_details(
        &self,
        filter: &RunFilter,
        limit: u32,
        cursor: Option<Cursor>,
    ) -> Result<Page<RunDetail>> {
        let page = self.list_runs(filter, limit, cursor).await?;
        let items = on_backend!(self, b => b.details_for(page.items).await)?;
        Ok(Page {
            items,
            next: page.next,
        })
    }

    pub async fn list_batches(&self, limit: u32) -> Result<Vec<zebench_core::Batch>> {
        on_backend!(self, b => b.list_batches(limit).await)
    }

    /// A batch's row and aggregates without its runs (cheap).
    pub async fn batch(&self, batch_id: &str) -> Result<Option<zebench_core::Batch>> {
        on_backend!(self, b => b.batch(batch_id).await)
    }

    /// A batch with all its runs, oldest first, read from one snapshot.
    pub async fn get_batch(&self, batch_id: &str) -> Result<Option<BatchDetail>> {
        if let Backend::Sqlite(sqlite::Backend {
            direct: Some(direct),
            ..
        }) = &*self.backend
        {
            let started = std::time::Instant::now();
            let result = direct.get_batch(batch_id).await;
            metrics::record("get_batch", started, result.is_ok());
            return result;
        }
        on_backend!(self, b => b.get_batch(batch_id).await)
    }

    /// Totals over completed runs, from the maintained rollup (constant time).
    pub async fn stats(&self) -> Result<Stats> {
        let rows = on_backend!(self, b => b.rollups(rollup::ALL).await)?;
        Ok(rows
            .into_iter()
            .next()
            .unwrap_or_else(rows::empty_agg)
            .into_stats())
    }

    /// Weighted-score summary per agent over completed runs, best first.
    pub async fn agent_stats(&self) -> Result<Vec<AgentStats>> {
        let rows = on_backend!(self, b => b.rollups(Dimension::Agent.as_str()).await)?;
        let mut out: Vec<AgentStats> = rows
            .into_iter()
            .filter(|r| r.agg.completed_runs > 0)
            .map(rows::AggRow::into_agent_stats)
            .collect();
        out.sort_by(|a, b| {
            let key = |s: &AgentStats| s.avg_score.unwrap_or(f64::NEG_INFINITY);
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.agent.cmp(&b.agent))
        });
        Ok(out)
    }

    /// Groups runs by `dim`. Unfiltered breakdowns read the maintained rollups; filtered ones
    /// are computed from the matching runs.
    pub async fn breakdown(&self, dim: Dimension, filter: &RunFilter) -> Result<Vec<BreakdownRow>> {
        let rows = if filter.is_empty() {
            on_backend!(self, b => b.rollups(dim.as_str()).await)?
        } else {
            on_backend!(self, b => b.live_breakdown(dim, filter).await)?
        };
        Ok(rows.into_iter().map(|r| r.into_breakdown(dim)).collect())
    }

    /// Like [`Store::breakdown`] but always computed from the runs (used to verify rollups).
    pub async fn breakdown_live(
        &self,
        dim: Dimension,
        filter: &RunFilter,
    ) -> Result<Vec<BreakdownRow>> {
        let rows = on_backend!(self, b => b.live_breakdown(dim, filter).await)?;
        Ok(rows.into_iter().map(|r| r.into_breakdown(dim)).collect())
    }

    /// Runs grouped by `keys` (in that order; no keys: one row over every matching run), with
    /// counts, score means and spreads, telemetry sums and the first and last start. Runs
    /// match `filter` (as in [`Store::list_runs`]) and, when `batches` is not empty, belong to
    /// one of those batches. Groups come ordered by their keys ascending, missing values
    /// (`None`) last, at most `limit` of them. Text keys order by bytes on both backends.
    ///
    /// Computed from the runs in one statement. Without filters that reads every run (from
    /// the covering `runs_grid` index on SQLite); the [`GridKey::ErrorType`] key also reads
    /// and parses every matching run's metadata, so it is the slowest key.
    pub async fn grid(
        &self,
        filter: &RunFilter,
        batches: &[String],
        keys: &[GridKey],
        limit: u32,
    ) -> Result<Vec<GridRow>> {
        let key = format!("{filter:?}|{batches:?}|{keys:?}|{limit}");
        let (f, bs, ks) = (filter.clone(), batches.to_vec(), keys.to_vec());
        through_cache(&self.backend, &self.grids, key, move |backend| {
            let (f, bs, ks) = (f.clone(), bs.clone(), ks.clone());
            metrics::timed("grid", async move {
                match &*backend {
                    Backend::Sqlite(b) => b.grid(&f, &bs, &ks, limit).await,
                    Backend::Postgres(b) => b.grid(&f, &bs, &ks, limit).await,
                }
            })
        })
        .await
    }

    /// Evaluations of the matching runs (as for [`Store::grid`]), counted per evaluator and
    /// tenth of the normalized score, ordered by evaluator then bucket. Empty buckets are left
    /// out. The cost grows with the number of matching evaluations (12 per run in the
    /// benchmark): seconds unfiltered at a million runs.
    pub async fn evaluator_histogram(
        &self,
        filter: &RunFilter,
        batches: &[String],
    ) -> Result<Vec<EvaluatorBucket>> {
        let key = format!("{filter:?}|{batches:?}");
        let (f, bs) = (filter.clone(), batches.to_vec());
        through_cache(&self.backend, &self.histograms, key, move |backend| {
            let (f, bs) = (f.clone(), bs.clone());
            metrics::timed("evaluator_histogram", async move {
                match &*backend {
                    Backend::Sqlite(b) => b.evaluator_histogram(&f, &bs).await,
                    Backend::Postgres(b) => b.evaluator_histogram(&f, &bs).await,
                }
            })
        })
        .await
    }

    /// Matching runs in `sort` order with their telemetry figures, `limit` (1 to 500) at a
    /// time, after `cursor` (the `next` of the previous page, for the same sort and filters).
    ///
    /// `search` keeps runs whose run id, scenario, suite, agent or model contains it, ignoring
    /// ASCII case (PostgreSQL also folds other letters); `%`, `_` and `\` match themselves.
    /// A cursor the store did not hand out, or handed out for another sort, is refused with
    /// [`StoreError::InvalidCursor`].
    pub async fn list_runs_sorted(
        &self,
        filter: &RunFilter,
        search: Option<&str>,
        sort: RunSort,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<SortedPage> {
        on_backend!(self, b => b.list_runs_sorted(filter, search, sort, limit, cursor).await)
    }

    /// The artifacts of a run; `None` when the run does not exist.
    pub async fn artifacts(&self, run_id: &str) -> Result<Option<Vec<ArtifactInfo>>> {
        let Some(pk) = on_backend!(self, b => b.run_pk(run_id).await)? else {
            return Ok(None);
        };
        Ok(Some(on_backend!(self, b => b.artifacts(pk).await)?))
    }

    /// One artifact, decompressed; outer `None` when the run does not exist.
    pub async fn artifact(&self, run_id: &str, name: &str) -> Result<Option<Option<ArtifactBody>>> {
        let Some(pk) = on_backend!(self, b => b.run_pk(run_id).await)? else {
            return Ok(None);
        };
        Ok(Some(on_backend!(self, b => b.artifact(pk, name).await)?))
    }

    /// Refreshes the query planner's statistics. Worth calling after loading many runs at
    /// once (an import, a benchmark); the databases also do it on their own over time.
    pub async fn analyze(&self) -> Result<()> {
        on_backend!(self, b => b.analyze().await)
    }

    /// Writes an online, consistent copy of a SQLite store to `out` and checks it (see
    /// [`backup`]); `overwrite` allows replacing an existing `out`. Reads through a reader
    /// connection, so ingestion goes on meanwhile. PostgreSQL answers
    /// [`BackupError::Postgres`]: use `pg_dump`.
    pub async fn backup_to(
        &self,
        out: &std::path::Path,
        overwrite: bool,
    ) -> std::result::Result<BackupReport, BackupError> {
        match &*self.backend {
            Backend::Sqlite(b) => {
                let mut conn = b.read.acquire().await?;
                backup::copy_into(&mut conn, out, overwrite).await
            }
            Backend::Postgres(_) => Err(BackupError::Postgres),
        }
    }

    /// Checks the database answers (for `/health`).
    pub async fn ping(&self) -> Result<()> {
        on_backend!(self, b => b.ping().await)
    }

    /// Closes every connection, waiting for in-flight queries.
    pub async fn close(&self) {
        match &*self.backend {
            Backend::Sqlite(b) => {
                if let Some(writer) = b.writer.clone() {
                    // Waits for a commit in progress, so nothing is left half-written.
                    let _ = tokio::task::spawn_blocking(move || writer.close()).await;
                }
                if let Some(direct) = &b.direct {
                    direct.close();
                }
                b.read.close().await;
                b.write.close().await;
                if let Some(c) = &b.checkpointer {
                    c.close().await;
                }
            }
            Backend::Postgres(b) => b.read.close().await,
        }
    }
}

/// Most runs committed in one group transaction.
const GROUP_MAX_RUNS: usize = 2000;

/// Answers a dashboard aggregate through its cache (see `read_cache`): fresh answers at once,
/// slow stale ones at once while one background task recomputes them, the rest computed now.
async fn through_cache<T, F, Fut>(
    backend: &Arc<Backend>,
    cache: &Arc<read_cache::ReadCache<Vec<T>>>,
    key: String,
    compute: F,
) -> Result<Vec<T>>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(Arc<Backend>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<T>>> + Send + 'static,
{
    match cache.lookup(&key) {
        read_cache::Lookup::Fresh(v) => return Ok((*v).clone()),
        read_cache::Lookup::Stale(v) => {
            if cache.begin_refresh(&key) {
                let (backend, cache) = (backend.clone(), cache.clone());
                tokio::spawn(async move {
                    let (version, t) = (cache.version(), std::time::Instant::now());
                    if let Ok(rows) = compute(backend).await {
                        cache.put(key.clone(), version, Arc::new(rows), t.elapsed());
                    }
                    cache.end_refresh(&key);
                });
            }
            return Ok((*v).clone());
        }
        read_cache::Lookup::Miss => {}
    }
    let arrived = cache.version();
    let mut computed = None;
    let shared = cache
        .single_flight(&key, arrived, || async {
            let (version, t) = (cache.version(), std::time::Instant::now());
            let rows = compute(backend.clone()).await?;
            if rows.len() <= read_cache::MAX_ROWS {
                cache.put(key.clone(), version, Arc::new(rows.clone()), t.elapsed());
            }
            computed = Some(rows);
            Ok::<(), StoreError>(())
        })
        .await?;
    match (shared, computed) {
        (Some(v), _) => Ok((*v).clone()),
        (None, Some(rows)) => Ok(rows),
        (None, None) => unreachable!("single_flight computes when nothing is shared"),
    }
}

async fn write_loop(
    backend: Arc<Backend>,
    mut jobs: mpsc::Receiver<Job>,
    events: broadcast::Sender<Event>,
    version: Arc<std::sync::atomic::AtomicU64>,
) {
    // PostgreSQL announces commits through NOTIFY; only SQLite publishes from here.
    let local_events = matches!(*backend, Backend::Sqlite(_));
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        let mut runs = group[0].items.len();
        while runs < GROUP_MAX_RUNS {
            match jobs.try_recv() {
                Ok(job) => {
                    runs += job.items.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<Vec<Prepared>>, Vec<_>) =
            group.into_iter().map(|j| (j.items, j.reply)).unzip();
        let items = Arc::new(items);
        let results = commit_group(&backend, &items).await;
        // Before anyone hears of the write: cached aggregates from before it are now stale.
        version.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        for ((job, reply), result) in items.iter().zip(replies).zip(results) {
            if local_events {
                if let Ok(outcomes) = &result {
                    let created: Vec<&RunResult> = job
                        .iter()
                        .zip(outcomes)
                        .filter(|(_, o)| **o == Outcome::Created)
                        .map(|(p, _)| &p.run)
                        .collect();
                    for event in events::for_submission(&created) {
                        let _ = events.send(event);
                    }
                }
            }
            let _ = reply.send(result);
        }
    }
}

/// The submissions of one group commit, shared with the blocking thread that writes them.
type Group = Arc<Vec<Vec<Prepared>>>;

/// The jobs of `group` to write: all of them, or only job `only`.
fn views(group: &[Vec<Prepared>], only: Option<usize>) -> Vec<&[Prepared]> {
    match only {
        Some(i) => vec![group[i].as_slice()],
        None => group.iter().map(Vec::as_slice).collect(),
    }
}

async fn submit_group(
    backend: &Backend,
    group: &Group,
    only: Option<usize>,
) -> Result<Vec<Result<Vec<Outcome>>>> {
    let mut attempt = 0;
    loop {
        let started = std::time::Instant::now();
        let result = match backend {
            Backend::Sqlite(sqlite::Backend {
                writer: Some(writer),
                ..
            }) => {
                let (writer, group) = (writer.clone(), group.clone());
                tokio::task::spawn_blocking(move || writer.submit_group(&views(&group, only)))
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("the writer panicked: {e}")))?
            }
            Backend::Sqlite(b) => b.submit_group(&views(group, only)).await,
            Backend::Postgres(b) => b.submit_group(&views(group, only)).await,
        };
        metrics::record("submit", started, result.is_ok());
        if result.is_ok() {
            metrics::record_commit(views(group, only).iter().map(|j| j.len()).sum());
        }
        match result {
            Err(e) if e.is_transient() && attempt < RETRIES => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
            }
            other => return other,
        }
    }
}

/// Commits a group; when the group as a whole fails, each job is retried alone so one bad
/// submission cannot fail the others that happened to share its transaction.
async fn commit_group(backend: &Backend, group: &Group) -> Vec<Result<Vec<Outcome>>> {
    match submit_group(backend, group, None).await {
        Ok(results) => results,
        Err(e) if group.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, jobs = group.len(), "group commit failed; retrying each submission alone");
            let mut out = Vec::with_capacity(group.len());
            for i in 0..group.len() {
                out.push(match submit_group(backend, group, Some(i)).await {
                    Ok(mut r) => r.pop().unwrap_or(Err(StoreError::Closed)),
                    Err(e) => Err(e),
                });
            }
            out
        }
    }
}
