//! The harness's way to the results server: every `RunResult` (and batch upsert) is first
//! written durably to an on-disk outbox, then sent with retries, and removed from the outbox only
//! once the server answered 2xx. A server down for hours or a process killed mid-run loses
//! nothing: the next [`Client::sync`] (from this or any later process) delivers what is left.
//!
//! Permanent refusals (409 conflict, 400 invalid, 413 too large…) are moved to
//! `<outbox>/rejected/` with an `.error.txt` explaining why; a wrong or missing key (401/403)
//! keeps items queued, because fixing `ZE_BENCHMARKS_API_KEY` makes them deliverable.
//!
//! ```no_run
//! # async fn demo(run: zebench_core::RunResult) -> Result<(), zebench_client::ClientError> {
//! use zebench_client::{Client, ClientConfig, Delivery};
//! let Some(cfg) = ClientConfig::from_env() else { return Ok(()) }; // local mode
//! let client = Client::new(cfg)?;
//! client.sync().await?; // whatever an earlier process left behind
//! match client.submit(&run).await? {
//!     Delivery::Delivered { .. } => {}
//!     Delivery::Queued { reason } => eprintln!("server unreachable ({reason}); kept in the outbox"),
//!     Delivery::Rejected { reason, path, .. } => eprintln!("refused: {reason}; see {}", path.display()),
//! }
//! # Ok(()) }
//! ```

mod config;
mod error;
mod http;
mod item;
mod outbox;

pub use config::{
    default_outbox_dir, install_tls_provider, ClientConfig, API_KEY_ENV, OUTBOX_ENV, URL_ENV,
};
pub use error::ClientError;
pub use item::{ItemKind, PendingItem};

use http::{Class, Exchange, Policy, Transport};
use item::{Envelope, Loaded};
use outbox::{Claims, Outbox};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zebench_core::{BatchUpsert, RunResult};

/// What became of one submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The server has it: `created` is false when it was already stored with identical
    /// content (200) — a retry of an earlier, unacknowledged delivery.
    Delivered { created: bool },
    /// The server could not be reached after every attempt; the item is safe in the outbox.
    Queued { reason: String },
    /// The server refused it for good; it was moved to `path` in `rejected/` with an
    /// `.error.txt` beside it.
    Rejected {
        status: u16,
        reason: String,
        path: PathBuf,
    },
}

/// An item moved to `rejected/` by a sync.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedItem {
    /// The run or batch id (the file name for an unreadable file).
    pub id: String,
    pub path: PathBuf,
    pub reason: String,
}

/// What a [`Client::sync`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Items stored by the server now (201).
    pub delivered: usize,
    /// Items the server already had with identical content (200).
    pub already_present: usize,
    /// Items moved to `rejected/`.
    pub rejected: Vec<RejectedItem>,
    /// Items still pending when the sync ended.
    pub remaining: usize,
    /// Why the sync stopped early (server unreachable); the rest stays queued.
    pub stopped: Option<String>,
}

/// Sends results through the outbox. Cheap to clone; clones share the outbox bookkeeping, so
/// concurrent submits and syncs from several tasks never send the same file twice at once.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: String,
    outbox: Outbox,
    transport: Transport,
    /// Files being delivered by a task of this process.
    claims: Arc<Claims>,
    /// Set when the server was unreachable on the last delivery: later submits try once and
    /// queue, instead of each waiting through every backoff; the next success clears it.
    down: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("outbox", &self.inner.outbox)
            .finish_non_exhaustive()
    }
}

/// Removes a claim when a delivery ends, however it ends.
struct Claim<'a> {
    client: &'a Client,
    path: PathBuf,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut claims) = self.client.inner.claims.lock() {
            claims.remove(&self.path);
        }
    }
}

/// Runs blocking file work (fsync) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ClientError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ClientError::Task(e.to_string()))?
}

impl Client {
    /// Checks the URL and key, creates the outbox directories.
    pub fn new(cfg: ClientConfig) -> Result<Client, ClientError> {
        let base = reqwest::Url::parse(cfg.base_url.trim())
            .map_err(|e| ClientError::Config(format!("base URL {:?}: {e}", cfg.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::Config(format!(
                "base URL {:?}: expected http:// or https://",
                cfg.base_url
            )));
        }
        let policy = Policy {
            max_attempts: cfg.max_attempts.max(1),
            initial_backoff: cfg.initial_backoff,
            max_backoff: cfg.max_backoff,
            max_retry_after: cfg.max_retry_after,
        };
        let transport = Transport::new(base, cfg.api_key.clone(), cfg.request_timeout, policy)
            .map_err(ClientError::Config)?;
        let outbox = Outbox::open(&cfg.outbox_dir)?;
        Ok(Client {
            inner: Arc::new(Inner {
                base_url: cfg.base_url,
                outbox,
                transport,
                claims: Arc::new(Mutex::new(HashSet::new())),
                down: AtomicBool::new(false),
            }),
        })
    }

    /// `pending/` of the outbox.
    pub fn pending_dir(&self) -> &Path {
        self.inner.outbox.pending_dir()
    }

    /// `rejected/` of the outbox.
    pub fn rejected_dir(&self) -> &Path {
        self.inner.outbox.rejected_dir()
    }

    /// Saves `run` durably in the outbox, then delivers it. `Ok` means the run is safe: sent,
    /// queued for a later sync, or kept in `rejected/` with the reason. `Err` from an outbox
    /// write means it was NOT saved; `Err(Auth)` means it is queued but the key must be fixed.
    pub async fn submit(&self, run: &RunResult) -> Result<Delivery, ClientError> {
        self.enqueue_and_deliver(Envelope::run(run)?).await
    }

    /// [`Client::submit`] for a batch upsert (`POST /api/results/batch`).
    pub async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<Delivery, ClientError> {
        self.enqueue_and_deliver(Envelope::batch(batch)?).await
    }

    async fn enqueue_and_deliver(&self, env: Envelope) -> Result<Delivery, ClientError> {
        let outbox = self.inner.outbox.clone();
        let stored = env.clone();
        let claims = self.inner.claims.clone();
        let path = blocking(move || outbox.enqueue(&stored, &claims)).await?;
        // Claimed by `enqueue` already: a concurrent sync of this process leaves it to us.
        let _claim = Claim {
            client: self,
            path: path.clone(),
        };
        tracing::debug!(kind = env.kind.as_str(), id = %env.id, path = %path.display(), "queued");
        let attempts = if self.inner.down.load(Ordering::Relaxed) {
            1
        } else {
            self.inner.transport.policy.max_attempts
        };
        self.deliver(&path, env, attempts).await
    }

    fn claim(&self, path: &Path) -> Option<Claim<'_>> {
        let mut claims = self.inner.claims.lock().ok()?;
        claims.insert(path.to_path_buf()).then(|| Claim {
            client: self,
            path: path.to_path_buf(),
        })
    }

    /// Sends one claimed item and applies the outcome to its file.
    async fn deliver(
        &self,
        path: &Path,
        mut env: Envelope,
        attempts: u32,
    ) -> Result<Delivery, ClientError> {
        let t = &self.inner.transport;
        let url = t.url(env.kind.endpoint());
        let body =
            serde_json::to_vec(&env.payload).map_err(|source| ClientError::Encode { source })?;
        let ex: Exchange = t.post(&url, body, attempts).await;
        let (kind, id) = (env.kind.as_str(), env.id.clone());
        if ex.class != Class::Transient {
            self.inner.down.store(false, Ordering::Relaxed);
        }
        match ex.class {
            Class::Success => {
                let outbox = self.inner.outbox.clone();
                let p = path.to_path_buf();
                if let Err(e) = blocking(move || outbox.remove(&p)).await {
                    // Delivered all the same; a later sync resends it and gets 200.
                    tracing::warn!(kind, %id, error = %e, "delivered, but removing it from the outbox failed");
                }
                let created = ex.status == Some(201);
                tracing::debug!(kind, %id, created, "delivered");
                Ok(Delivery::Delivered { created })
            }
            Class::Permanent => {
                let status = ex.status.unwrap_or(0);
                let reason = ex.summary();
                let text = format!(
                    "status: {status}\n{kind} id: {id}\nurl: {url}\nbody:\n{}\n",
                    ex.body
                );
                let outbox = self.inner.outbox.clone();
                let p = path.to_path_buf();
                let moved = blocking(move || outbox.reject(&p, &text)).await?;
                let path = moved.unwrap_or_else(|| path.to_path_buf());
                tracing::warn!(kind, %id, status, %reason, file = %path.display(), "rejected by the server; moved to rejected/");
                Ok(Delivery::Rejected {
                    status,
                    reason,
                    path,
                })
            }
            Class::Auth | Class::Misrouted | Class::Transient => {
                env.attempts = env.attempts.saturating_add(ex.tries);
                env.last_error = Some(ex.summary());
                let outbox = self.inner.outbox.clone();
                let p = path.to_path_buf();
                if let Err(e) = blocking(move || outbox.update(&p, &env)).await {
                    tracing::warn!(kind, %id, error = %e, "could not record the failed attempt");
                }
                let status = ex.status.unwrap_or(0);
                match ex.class {
                    Class::Auth => Err(ClientError::auth(status, t.has_key(), &ex.body)),
                    Class::Misrouted => Err(ClientError::Endpoint {
                        status,
                        url: url.to_string(),
                    }),
                    _ => {
                        self.inner.down.store(true, Ordering::Relaxed);
                        tracing::warn!(kind, %id, error = %ex.summary(), "server unreachable; kept in the outbox");
                        Ok(Delivery::Queued {
                            reason: ex.summary(),
                        })
                    }
                }
            }
        }
    }

    /// Delivers everything in the outbox, oldest first. Stops at the first item the server
    /// cannot take now (unreachable: `stopped` says why; the rest stays queued). Corrupt files
    /// and permanent refusals go to `rejected/` and the sync goes on. 401/403 stop it with
    /// `Err(Auth)`. Files being sent by another task of this process are skipped; files that
    /// vanish (another process delivered them) are passed over.
    pub async fn sync(&self) -> Result<SyncReport, ClientError> {
        let outbox = self.inner.outbox.clone();
        let files = blocking(move || {
            outbox.clean_temp(Duration::from_secs(3600));
            outbox.list()
        })
        .await?;
        let mut report = SyncReport::default();
        for path in files {
            let Some(_claim) = self.claim(&path) else {
                continue;
            };
            let outbox = self.inner.outbox.clone();
            let p = path.clone();
            let env = match blocking(move || Ok(outbox.load(&p))).await? {
                Loaded::Vanished => continue,
                Loaded::Corrupt(why) => {
                    let reason = format!("corrupt outbox file: {why}");
                    tracing::warn!(file = %path.display(), %reason, "moving to rejected/");
                    let outbox = self.inner.outbox.clone();
                    let (p, r) = (path.clone(), reason.clone());
                    if let Some(to) = blocking(move || outbox.reject(&p, &r)).await? {
                        report.rejected.push(RejectedItem {
                            id: file_name(&path),
                            path: to,
                            reason,
                        });
                    }
                    continue;
                }
                Loaded::Item(env) => env,
            };
            let id = env.id.clone();
            let max = self.inner.transport.policy.max_attempts;
            match self.deliver(&path, env, max).await? {
                Delivery::Delivered { created: true } => report.delivered += 1,
                Delivery::Delivered { created: false } => report.already_present += 1,
                Delivery::Rejected { reason, path, .. } => {
                    report.rejected.push(RejectedItem { id, path, reason })
                }
                Delivery::Queued { reason } => {
                    report.stopped = Some(reason);
                    break;
                }
            }
        }
        let outbox = self.inner.outbox.clone();
        report.remaining = blocking(move || outbox.list()).await?.len();
        Ok(report)
    }

    /// What is queued, oldest first: kind, id, file, queue time, attempts, last error.
    pub fn pending(&self) -> Result<Vec<PendingItem>, ClientError> {
        self.inner.outbox.items()
    }

    /// Moves every item of `rejected/` back to `pending/` (once the cause is fixed, e.g. a
    /// server bug that refused valid runs); returns how many. The next sync sends them.
    pub fn requeue_rejected(&self) -> Result<usize, ClientError> {
        self.inner.outbox.requeue_rejected()
    }

    /// The run ids the server holds for `batch_id` (empty when it does not know the batch), so
    /// `--resume` skips runs already stored. Reads `GET /api/batches/{batchId}`.
    pub async fn run_ids_in_batch(&self, batch_id: &str) -> Result<HashSet<String>, ClientError> {
        let t = &self.inner.transport;
        let url = t.url(&["api", "batches", batch_id]);
        let ex = t.get(&url).await;
        let unexpected = |detail: String| ClientError::Unexpected {
            url: url.to_string(),
            detail,
        };
        match (ex.class, ex.status) {
            (Class::Success, _) => {}
            (_, Some(404)) if ex.body.contains("Batch not found") => return Ok(HashSet::new()),
            (Class::Transient, _) => return Err(ClientError::Unreachable(ex.summary())),
            (Class::Misrouted, Some(status)) => {
                return Err(ClientError::Endpoint {
                    status,
                    url: url.to_string(),
                })
            }
            _ => return Err(unexpected(ex.summary())),
        }
        let body: serde_json::Value =
            serde_json::from_str(&ex.body).map_err(|e| unexpected(format!("not JSON: {e}")))?;
        let runs = body["runs"]
            .as_array()
            .ok_or_else(|| unexpected("no \"runs\" array".into()))?;
        Ok(runs
            .iter()
            .filter_map(|r| r["runId"].as_str().map(str::to_string))
            .collect())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
