//! The SQL of the ingest path and the pure step that decides what a group of submissions
//! writes, shared by the sqlx writer (`queries.rs`, PostgreSQL and in-memory SQLite) and the
//! rusqlite writer (`sqlite_direct.rs`, SQLite files), so the two cannot drift apart.

use crate::error::StoreError;
use crate::{Outcome, Prepared};
use std::collections::HashMap;

/// Batches named by new runs, created on first sight (followed by `VALUES …` and
/// [`BATCH_FIRST_SEEN_CONFLICT`]).
pub(crate) const INSERT_BATCH_FIRST_SEEN: &str = "INSERT INTO batches (batch_id, created_at) ";
pub(crate) const BATCH_FIRST_SEEN_CONFLICT: &str = " ON CONFLICT (batch_id) DO NOTHING";

/// Followed by `VALUES …`: 21 values per run, in this order.
pub(crate) const INSERT_RUN: &str = "INSERT INTO runs (run_id, batch_id, suite, scenario, tier, \
    agent, model, status, started_at, completed_at, total_score, weighted_score, success_metric, \
    is_successful, metadata, specialist_enabled, specialist_name, specialist_version, \
    content_hash, received_at, submitted_by) ";
pub(crate) const RUN_VALUES: usize = 21;

pub(crate) const INSERT_EVALUATION: &str =
    "INSERT INTO evaluations (run_pk, evaluator_name, score, max_score, details, created_at) ";
pub(crate) const EVALUATION_VALUES: usize = 6;

pub(crate) const INSERT_TELEMETRY: &str = "INSERT INTO telemetry (run_pk, tool_calls, \
    tokens_in, tokens_out, cost_usd, duration_ms, workspace_dir) ";
pub(crate) const TELEMETRY_VALUES: usize = 7;

pub(crate) const INSERT_ARTIFACT: &str =
    "INSERT INTO artifacts (run_pk, name, encoding, size, body) ";
pub(crate) const ARTIFACT_VALUES: usize = 5;

/// Adds a [`crate::rollup::Delta`] to a batch's aggregates: the eight sums, then the batch id.
pub(crate) const ADD_TO_BATCH: &str = "UPDATE batches SET total_runs = total_runs + $1, \
    successful_runs = successful_runs + $2, failed_runs = failed_runs + $3, \
    score_sum = score_sum + $4, score_n = score_n + $5, weighted_sum = weighted_sum + $6, \
    weighted_n = weighted_n + $7, cost_sum = cost_sum + $8 WHERE batch_id = $9";

/// Followed by `VALUES …` (dim, key, then the aggregate columns of
/// [`crate::rows::AGG_COLUMNS`]) and [`ROLLUP_CONFLICT`].
pub(crate) const INSERT_ROLLUP: &str = "INSERT INTO rollups (dim, key, runs, completed_runs, \
    failed_runs, successful_runs, score_sum, score_n, weighted_sum, weighted_n, weighted_min, \
    weighted_max, cost_sum, tokens_in, tokens_out, tool_calls, duration_ms) ";
pub(crate) const ROLLUP_VALUES: usize = 17;
pub(crate) const ROLLUP_CONFLICT: &str = " ON CONFLICT (dim, key) DO UPDATE SET \
    runs = rollups.runs + excluded.runs, \
    completed_runs = rollups.completed_runs + excluded.completed_runs, \
    failed_runs = rollups.failed_runs + excluded.failed_runs, \
    successful_runs = rollups.successful_runs + excluded.successful_runs, \
    score_sum = rollups.score_sum + excluded.score_sum, \
    score_n = rollups.score_n + excluded.score_n, \
    weighted_sum = rollups.weighted_sum + excluded.weighted_sum, \
    weighted_n = rollups.weighted_n + excluded.weighted_n, \
    weighted_min = CASE WHEN rollups.weighted_min IS NULL OR excluded.weighted_min < rollups.weighted_min \
        THEN excluded.weighted_min ELSE rollups.weighted_min END, \
    weighted_max = CASE WHEN rollups.weighted_max IS NULL OR excluded.weighted_max > rollups.weighted_max \
        THEN excluded.weighted_max ELSE rollups.weighted_max END, \
    cost_sum = rollups.cost_sum + excluded.cost_sum, \
    tokens_in = rollups.tokens_in + excluded.tokens_in, \
    tokens_out = rollups.tokens_out + excluded.tokens_out, \
    tool_calls = rollups.tool_calls + excluded.tool_calls, \
    duration_ms = rollups.duration_ms + excluded.duration_ms";

/// Creates a batch or updates its descriptive fields: id, created_at, completed_at, metadata.
pub(crate) const UPSERT_BATCH: &str = "INSERT INTO batches (batch_id, created_at, completed_at, \
    metadata) VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO UPDATE SET \
    completed_at = COALESCE(excluded.completed_at, batches.completed_at), \
    metadata = COALESCE(excluded.metadata, batches.metadata)";

/// `VALUES (?, ?, …)` for one row of `n` values (SQLite placeholders).
pub(crate) fn one_row_values(n: usize) -> String {
    format!(" VALUES ({})", vec!["?"; n].join(", "))
}

/// Decides each job's outcome from the content hashes already stored (`existing`, by run id)
/// and returns the runs to insert. A job is all-or-nothing: one run id stored (or stored
/// earlier in the group) with other content refuses the whole job with
/// [`StoreError::Conflict`], and the other jobs go on.
pub(crate) fn classify<'a>(
    jobs: &[&'a [Prepared]],
    mut existing: HashMap<String, String>,
) -> (Vec<crate::Result<Vec<Outcome>>>, Vec<&'a Prepared>) {
    let mut results = Vec::with_capacity(jobs.len());
    let mut fresh: Vec<&Prepared> = Vec::new();
    for job in jobs {
        let mut local: HashMap<&str, &str> = HashMap::new();
        let mut outcomes = Vec::with_capacity(job.len());
        let mut conflicts = Vec::new();
        let mut accepted = Vec::new();
        for p in job.iter() {
            let id = p.run.run_id.as_str();
            let known = existing
                .get(id)
                .map(String::as_str)
                .or_else(|| local.get(id).copied());
            match known {
                Some(h) if h == p.hash => outcomes.push(Outcome::Duplicate),
                Some(_) => conflicts.push(p.run.run_id.clone()),
                None => {
                    local.insert(id, p.hash.as_str());
                    accepted.push(p);
                    outcomes.push(Outcome::Created);
                }
            }
        }
        if conflicts.is_empty() {
            for p in &accepted {
                existing.insert(p.run.run_id.clone(), p.hash.clone());
            }
            fresh.extend(accepted);
            results.push(Ok(outcomes));
        } else {
            results.push(Err(StoreError::Conflict(conflicts)));
        }
    }
    (results, fresh)
}

/// Each batch named by `fresh` runs with its earliest run's start: the `created_at` of a batch
/// first seen through its runs.
pub(crate) fn batches_first_seen<'a>(fresh: &[&'a Prepared]) -> Vec<(&'a str, i64)> {
    let mut first_seen: std::collections::BTreeMap<&str, i64> = Default::default();
    for p in fresh {
        if let Some(b) = &p.run.batch_id {
            let t = first_seen.entry(b.as_str()).or_insert(p.started_at);
            *t = (*t).min(p.started_at);
        }
    }
    first_seen.into_iter().collect()
}
