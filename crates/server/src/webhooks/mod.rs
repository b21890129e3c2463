//! Webhooks: when a batch is reported finished, and when that batch is a regression against
//! the previous comparable one, POST a signed JSON document (or a Slack message) to the
//! receivers configured in the server file.
//!
//! Nothing here is on the ingest path. A task follows the store's event broadcast and hands
//! each completion (by this process; see [`zebench_store::Event::BatchCompleted`]) to a
//! bounded queue; another reads the batch, looks for a regression and renders one delivery
//! per receiver into that receiver's bounded queue, drained by its own worker (`deliver.rs`).
//! When the broadcast runs ahead of the listener or a queue is full, the surplus is dropped
//! with a warning and counted; ingestion never waits for a webhook.
//!
//! **Regression**: the baseline of batch B is the most recently created batch A, among the
//! [`CANDIDATES`] most recently created, that was created before B, has been reported
//! complete, and ran exactly the same suites with exactly the same agents (`agent:model`
//! labels) as B. Requiring the same agents keeps a nightly batch of one agent from being
//! compared with another agent's. B is a regression when `zebench compare A B` would say so:
//! the paired comparison over shared (scenario, tier) cells has the verdict "regression"
//! (the interval of B − A lies below zero; see docs/statistics.md).
//!
//! Delivery is at most once per receiver and event, best effort: what is still queued or
//! being retried when the server stops (after a short grace period) is dropped, and nothing
//! is persisted across restarts.

mod config;
mod deliver;
mod payload;

pub use config::{WebhookConfig, WebhookEvent, WebhookFormat, WebhookSecret};
pub use deliver::{signature, RetryPolicy, DELIVERIES};

use deliver::{count, Delivery, Queue};
use payload::{Announcement, BatchSummary, Profile, RegressionSummary};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zebench_core::stats::{compare_runs, PairedOptions, RunsComparison, Verdict};
use zebench_core::{BatchDetail, Timestamp};
use zebench_store::{Event, GridKey, RunFilter, Store};

/// How many of the most recently created batches are searched for a baseline.
pub const CANDIDATES: u32 = 200;
/// Batch completions waiting to be analysed before new ones are dropped.
const COMPLETIONS_QUEUE: usize = 256;

/// What [`Webhooks::start`] needs.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub hooks: Vec<WebhookConfig>,
    /// Base of the dashboard links (`ServerFile::public_url`).
    pub public_url: Option<String>,
    pub policy: RetryPolicy,
    /// The regression comparison's options (default: `zebench compare`'s).
    pub regression: PairedOptions,
}

/// The webhook HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the webhook HTTP client: {0}")]
pub struct WebhookError(String);

/// The running webhook tasks; stop them with [`Webhooks::shutdown`].
pub struct Webhooks {
    stop: CancellationToken,
    abort: CancellationToken,
    pipeline: Vec<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Webhooks {
    /// Subscribes to `store`'s events now (completions from this call on are announced) and
    /// starts the listener, the analyser and one worker per receiver.
    pub fn start(store: Arc<Store>, settings: WebhookSettings) -> Result<Webhooks, WebhookError> {
        zebench_tls::install_provider();
        let client = reqwest::Client::builder()
            // A redirect would turn the POST into a GET somewhere the operator did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError(e.to_string()))?;
        ::metrics::describe_counter!(
            DELIVERIES,
            "Webhook deliveries by outcome: delivered, failed, dropped, abandoned"
        );
        let events = store.subscribe();
        let stop = CancellationToken::new();
        let abort = CancellationToken::new();
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for hook in &settings.hooks {
            let (tx, rx) = mpsc::channel(settings.policy.queue.max(1));
            let hook = Arc::new(hook.clone());
            queues.push(Queue {
                tx,
                label: hook.label(),
            });
            workers.push(tokio::spawn(deliver::run(
                client.clone(),
                hook,
                settings.policy.clone(),
                rx,
                abort.clone(),
            )));
        }
        let (completions_tx, completions_rx) = mpsc::channel(COMPLETIONS_QUEUE);
        let listener = tokio::spawn(listen(
            store.instance_id().to_string(),
            events,
            completions_tx,
            stop.clone(),
        ));
        let analyser = tokio::spawn(analyse(store, Arc::new(settings), queues, completions_rx));
        Ok(Webhooks {
            stop,
            abort,
            pipeline: vec![listener, analyser],
            workers,
        })
    }

    /// Stops listening, announces the completions already heard, and lets the workers send
    /// what is queued for up to `grace`; whatever is still pending then is dropped (and
    /// logged). Call before the store closes: the analyser reads it.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        let abort = self.abort.clone();
        let all = async {
            for t in self.pipeline {
                let _ = t.await;
            }
            // The analyser has finished: the queues are closed and the workers drain them.
            for t in self.workers {
                let _ = t.await;
            }
        };
        tokio::pin!(all);
        if tokio::time::timeout_at(deadline, &mut all).await.is_err() {
            abort.cancel();
            // The workers stop at once on abort; an analyser stuck on the database may not.
            let _ = tokio::time::timeout(Duration::from_secs(1), all).await;
        }
    }
}

/// Forwards this process's batch completions to the analyser, never waiting on it.
async fn listen(
    instance: String,
    mut events: broadcast::Receiver<Event>,
    completions: mpsc::Sender<String>,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            e = events.recv() => e,
        };
        match event {
            Ok(Event::BatchCompleted { batch_id, origin }) if origin == instance => {
                if completions.try_send(batch_id.clone()).is_err() {
                    tracing::warn!(batch = %batch_id, "webhooks: too many batch completions waiting to be analysed; this one is not announced");
                    count("dropped", 1);
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("webhooks fell behind the event stream: {n} event(s) missed; batch completions among them are not announced");
                count("dropped", 1);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Turns each completion into deliveries, then closes the queues (so the workers finish).
async fn analyse(
    store: Arc<Store>,
    settings: Arc<WebhookSettings>,
    queues: Vec<Queue>,
    mut completions: mpsc::Receiver<String>,
) {
    while let Some(batch_id) = completions.recv().await {
        let announcements = match announcements(&store, &settings, &batch_id).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(batch = %batch_id, error = %e, "webhooks: cannot read the completed batch; not announced");
                continue;
            }
        };
        for a in &announcements {
            for (hook, queue) in settings.hooks.iter().zip(&queues) {
                if !hook.wants(a.event) {
                    continue;
                }
                let id = uuid::Uuid::new_v4().to_string();
                let body = a.render(hook.format, &id);
                let delivery = Delivery {
                    event: a.event.as_str(),
                    id,
                    body: body.into(),
                };
                if queue.tx.try_send(delivery).is_err() {
                    tracing::warn!(webhook = %queue.label, batch = %batch_id, event = a.event.as_str(), "webhook queue full (the receiver is slow or down); delivery dropped");
                    count("dropped", 1);
                }
            }
        }
    }
}

/// The batch-completed announcement and, if some receiver wants regressions and the batch is
/// one, the regression announcement.
async fn announcements(
    store: &Store,
    settings: &WebhookSettings,
    batch_id: &str,
) -> zebench_store::Result<Vec<Announcement>> {
    let Some(detail) = store.get_batch(batch_id).await? else {
        return Ok(Vec::new());
    };
    let public_url = settings.public_url.as_deref();
    let profile = Profile::of(&detail.runs);
    let summary = BatchSummary::new(&detail.batch, &profile, public_url);
    let occurred_at = Timestamp::now().to_iso();
    let mut out = Vec::new();
    if settings
        .hooks
        .iter()
        .any(|h| h.wants(WebhookEvent::BatchCompleted))
    {
        out.push(Announcement {
            event: WebhookEvent::BatchCompleted,
            occurred_at: occurred_at.clone(),
            batch: summary.clone(),
            regression: None,
        });
    }
    if settings
        .hooks
        .iter()
        .any(|h| h.wants(WebhookEvent::Regression))
    {
        if let Some((baseline, cmp)) =
            regression(store, &detail, &profile, &settings.regression).await?
        {
            let base_summary =
                BatchSummary::new(&baseline.batch, &Profile::of(&baseline.runs), public_url);
            out.push(Announcement {
                event: WebhookEvent::Regression,
                occurred_at,
                regression: Some(RegressionSummary::new(
                    base_summary,
                    &summary,
                    &cmp,
                    public_url,
                )),
                batch: summary,
            });
        }
    }
    Ok(out)
}

/// The baseline of `b` (see the module docs) and the comparison, when it is a regression.
async fn regression(
    store: &Store,
    b: &BatchDetail,
    profile: &Profile,
    opts: &PairedOptions,
) -> zebench_store::Result<Option<(BatchDetail, RunsComparison)>> {
    if b.runs.is_empty() {
        return Ok(None);
    }
    let key = |x: &zebench_core::Batch| (x.created_at.millis(), x.batch_id.clone());
    let earlier: Vec<zebench_core::Batch> = store
        .list_batches(CANDIDATES)
        .await?
        .into_iter()
        .filter(|a| a.completed_at.is_some() && key(a) < key(&b.batch))
        .collect();
    if earlier.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = earlier.iter().map(|a| a.batch_id.clone()).collect();
    let rows = store
        .grid(
            &RunFilter::default(),
            &ids,
            &[
                GridKey::Batch,
                GridKey::Suite,
                GridKey::Agent,
                GridKey::Model,
            ],
            u32::MAX,
        )
        .await?;
    let mut profiles: HashMap<String, Profile> = HashMap::new();
    for row in rows {
        let [Some(batch), Some(suite), Some(agent), model] = row.keys.as_slice() else {
            continue;
        };
        let p = profiles.entry(batch.clone()).or_default();
        p.suites.insert(suite.clone());
        p.agents
            .insert(payload::agent_label(agent, model.as_deref()));
    }
    // `list_batches` is newest first: the first match is the most recent.
    let Some(baseline_id) = ids.into_iter().find(|id| profiles.get(id) == Some(profile)) else {
        return Ok(None);
    };
    let Some(baseline) = store.get_batch(&baseline_id).await? else {
        return Ok(None);
    };
    // The bootstrap and permutation test take milliseconds to tens of them: off the runtime.
    let (a, b_runs, opts) = (baseline.runs.clone(), b.runs.clone(), *opts);
    let cmp = match tokio::task::spawn_blocking(move || compare_runs(&a, &b_runs, &opts)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(batch = %b.batch.batch_id, "webhooks: the regression comparison failed: {e}");
            return Ok(None);
        }
    };
    if cmp.paired.verdict == Verdict::Regression {
        Ok(Some((baseline, cmp)))
    } else {
        tracing::debug!(batch = %b.batch.batch_id, baseline = %baseline.batch.batch_id, verdict = %cmp.paired.verdict, "no regression");
        Ok(None)
    }
}
