//! Change events: what `GET /api/events` streams to dashboards.
//!
//! On SQLite the store publishes them after each commit. On PostgreSQL they travel through
//! `NOTIFY` inside the insert transaction (so they are sent only if it commits) and every replica
//! listening on the channel republishes them, so a dashboard on any replica sees every run.

use serde::{Deserialize, Serialize};

/// The PostgreSQL channel events travel on.
pub const PG_CHANNEL: &str = "zebench_events";

/// Above this many runs in one submission, one `runs.bulk` event replaces per-run events.
pub const PER_RUN_EVENT_LIMIT: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum Event {
    #[serde(rename = "run.created")]
    RunCreated {
        run_id: String,
        batch_id: Option<String>,
        suite: String,
        scenario: String,
        tier: String,
        agent: String,
        model: Option<String>,
        status: String,
        weighted_score: Option<f64>,
        is_successful: bool,
    },
    #[serde(rename = "runs.bulk")]
    RunsBulk {
        count: usize,
        batch_ids: Vec<String>,
    },
    #[serde(rename = "batch.updated")]
    BatchUpdated { batch_id: String },
    /// A client reported the batch finished: an upsert carrying `completedAt` (every shard of
    /// a sharded batch and every `--resume` reports it). `origin` is the
    /// [`crate::Store::instance_id`] of the process that stored the report, so a consumer that
    /// must act once per report although every replica hears it (webhooks) acts on its own.
    #[serde(rename = "batch.completed")]
    BatchCompleted { batch_id: String, origin: String },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::RunCreated { .. } => "run.created",
            Event::RunsBulk { .. } => "runs.bulk",
            Event::BatchUpdated { .. } => "batch.updated",
            Event::BatchCompleted { .. } => "batch.completed",
        }
    }
}

/// The events one successful submission produces.
pub(crate) fn for_submission(runs: &[&zebench_core::RunResult]) -> Vec<Event> {
    let mut batch_ids: Vec<String> = runs.iter().filter_map(|r| r.batch_id.clone()).collect();
    batch_ids.sort();
    batch_ids.dedup();
    let mut events = Vec::new();
    if runs.len() > PER_RUN_EVENT_LIMIT {
        events.push(Event::RunsBulk {
            count: runs.len(),
            batch_ids: batch_ids.clone(),
        });
    } else {
        events.extend(runs.iter().map(|r| Event::RunCreated {
            run_id: r.run_id.clone(),
            batch_id: r.batch_id.clone(),
            suite: r.suite.clone(),
            scenario: r.scenario.clone(),
            tier: r.tier.clone(),
            agent: r.agent.clone(),
            model: r.model.clone(),
            status: r.status.to_string(),
            weighted_score: r.weighted_score,
            is_successful: r.is_successful,
        }));
    }
    events.extend(
        batch_ids
            .into_iter()
            .map(|batch_id| Event::BatchUpdated { batch_id }),
    );
    events
}
