//! Row structs as the database returns them, and their conversion to the API shapes.
//! Shared by both backends: the derived `FromRow` is generic over the row type.

use crate::error::StoreError;
use crate::rollup::{self, Delta, PAIR_SEP};
use zebench_core::{
    AgentStats, Batch, BreakdownRow, Dimension, Evaluation, Run, Stats, Telemetry, Timestamp,
};

pub(crate) const RUN_COLUMNS: &str = "r.id, r.run_id, r.batch_id, r.suite, r.scenario, r.tier, \
    r.agent, r.model, r.status, r.started_at, r.completed_at, r.total_score, r.weighted_score, \
    r.success_metric, r.is_successful, r.metadata, r.specialist_enabled, r.specialist_name, \
    r.specialist_version, r.submitted_by";

#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    id: i64,
    run_id: String,
    batch_id: Option<String>,
    suite: String,
    scenario: String,
    tier: String,
    agent: String,
    model: Option<String>,
    status: String,
    started_at: i64,
    completed_at: Option<i64>,
    total_score: Option<f64>,
    weighted_score: Option<f64>,
    success_metric: Option<f64>,
    is_successful: bool,
    metadata: Option<String>,
    specialist_enabled: Option<bool>,
    specialist_name: Option<String>,
    specialist_version: Option<String>,
    submitted_by: Option<String>,
}

impl RunRow {
    /// Decodes a row of [`RUN_COLUMNS`] read through rusqlite (see `sqlite_direct`).
    pub fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(RunRow {
            id: row.get(0)?,
            run_id: row.get(1)?,
            batch_id: row.get(2)?,
            suite: row.get(3)?,
            scenario: row.get(4)?,
            tier: row.get(5)?,
            agent: row.get(6)?,
            model: row.get(7)?,
            status: row.get(8)?,
            started_at: row.get(9)?,
            completed_at: row.get(10)?,
            total_score: row.get(11)?,
            weighted_score: row.get(12)?,
            success_metric: row.get(13)?,
            is_successful: row.get(14)?,
            metadata: row.get(15)?,
            specialist_enabled: row.get(16)?,
            specialist_name: row.get(17)?,
            specialist_version: row.get(18)?,
            submitted_by: row.get(19)?,
        })
    }

    pub fn into_run(self) -> Result<Run, StoreError> {
        Ok(Run {
            status: self
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("run {}: {e}", self.run_id)))?,
            id: self.id,
            run_id: self.run_id,
            batch_id: self.batch_id,
            suite: self.suite,
            scenario: self.scenario,
            tier: self.tier,
            agent: self.agent,
            model: self.model,
            started_at: Timestamp(self.started_at),
            completed_at: self.completed_at.map(Timestamp),
            total_score: self.total_score,
            weighted_score: self.weighted_score,
            success_metric: self.success_metric,
            is_successful: self.is_successful,
            metadata: self.metadata,
            specialist_enabled: self.specialist_enabled,
            specialist_name: self.specialist_name,
            specialist_version: self.specialist_version,
            submitted_by: self.submitted_by,
        })
    }
}

pub(crate) const EVALUATION_COLUMNS: &str =
    "e.id, e.run_pk, e.evaluator_name, e.score, e.max_score, e.details, e.created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct EvaluationRow {
    pub id: i64,
    pub run_pk: i64,
    pub evaluator_name: String,
    pub score: f64,
    pub max_score: f64,
    pub details: Option<String>,
    pub created_at: i64,
}

impl EvaluationRow {
    pub fn into_evaluation(self, run_id: &str) -> Evaluation {
        Evaluation {
            id: self.id,
            run_id: run_id.to_string(),
            evaluator_name: self.evaluator_name,
            score: self.score,
            max_score: self.max_score,
            details: self.details,
            created_at: Timestamp(self.created_at),
        }
    }
}

pub(crate) const TELEMETRY_COLUMNS: &str =
    "t.id, t.run_pk, t.tool_calls, t.tokens_in, t.tokens_out, t.cost_usd, t.duration_ms, t.workspace_dir";

#[derive(sqlx::FromRow)]
pub(crate) struct TelemetryRow {
    pub id: i64,
    pub run_pk: i64,
    pub tool_calls: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
    pub duration_ms: Option<i64>,
    pub workspace_dir: Option<String>,
}

impl TelemetryRow {
    pub fn into_telemetry(self, run_id: &str) -> Telemetry {
        Telemetry {
            id: self.id,
            run_id: run_id.to_string(),
            tool_calls: self.tool_calls,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_usd: self.cost_usd,
            duration_ms: self.duration_ms,
            workspace_dir: self.workspace_dir,
        }
    }
}

pub(crate) const BATCH_COLUMNS: &str = "b.batch_id, b.created_at, b.completed_at, b.metadata, \
    b.total_runs, b.successful_runs, b.failed_runs, b.score_sum, b.score_n, b.weighted_sum, \
    b.weighted_n, b.cost_sum";

#[derive(sqlx::FromRow)]
pub(crate) struct BatchRow {
    batch_id: String,
    created_at: i64,
    completed_at: Option<i64>,
    metadata: Option<String>,
    total_runs: i64,
    successful_runs: i64,
    failed_runs: i64,
    score_sum: f64,
    score_n: i64,
    weighted_sum: f64,
    weighted_n: i64,
    cost_sum: f64,
}

impl BatchRow {
    /// Decodes a row of [`BATCH_COLUMNS`] read through rusqlite (see `sqlite_direct`).
    pub fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(BatchRow {
            batch_id: row.get(0)?,
            created_at: row.get(1)?,
            completed_at: row.get(2)?,
            metadata: row.get(3)?,
            total_runs: row.get(4)?,
            successful_runs: row.get(5)?,
            failed_runs: row.get(6)?,
            score_sum: row.get(7)?,
            score_n: row.get(8)?,
            weighted_sum: row.get(9)?,
            weighted_n: row.get(10)?,
            cost_sum: row.get(11)?,
        })
    }

    pub fn into_batch(self) -> Batch {
        Batch {
            batch_id: self.batch_id,
            created_at: Timestamp(self.created_at),
            completed_at: self.completed_at.map(Timestamp),
            total_runs: self.total_runs,
            successful_runs: self.successful_runs,
            avg_score: mean(self.score_sum, self.score_n),
            avg_weighted_score: mean(self.weighted_sum, self.weighted_n),
            metadata: self.metadata,
            failed_runs: self.failed_runs,
            total_cost_usd: self.cost_sum,
        }
    }
}

pub(crate) fn mean(sum: f64, n: i64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// Columns of a rollup row; live breakdown queries alias their aggregates to the same names,
/// so both paths decode through [`AggRow`].
pub(crate) const AGG_COLUMNS: &str = "runs, completed_runs, failed_runs, successful_runs, \
    score_sum, score_n, weighted_sum, weighted_n, weighted_min, weighted_max, cost_sum, \
    tokens_in, tokens_out, tool_calls, duration_ms";

/// A rollup row or live breakdown group: its key and its aggregates.
#[derive(sqlx::FromRow, Debug)]
pub(crate) struct AggRow {
    pub key: String,
    #[sqlx(flatten)]
    pub agg: Delta,
}

impl AggRow {
    pub fn into_breakdown(self, dim: Dimension) -> BreakdownRow {
        let (key, agent, model) = match dim {
            Dimension::Agent => (self.key.clone(), Some(self.key.clone()), None),
            Dimension::Model => (self.key.clone(), None, non_empty(&self.key)),
            Dimension::AgentModel => {
                let (a, m) = self.key.split_once(PAIR_SEP).unwrap_or((&self.key, ""));
                let key = if m.is_empty() {
                    a.to_string()
                } else {
                    format!("{a} / {m}")
                };
                (key, Some(a.to_string()), non_empty(m))
            }
            _ => (self.key.clone(), None, None),
        };
        BreakdownRow {
            key,
            agent,
            model,
            runs: self.agg.runs,
            completed_runs: self.agg.completed_runs,
            failed_runs: self.agg.failed_runs,
            successful_runs: self.agg.successful_runs,
            success_rate: (self.agg.runs > 0)
                .then(|| self.agg.successful_runs as f64 / self.agg.runs as f64),
            avg_score: mean(self.agg.score_sum, self.agg.score_n),
            score_n: self.agg.score_n,
            avg_weighted_score: mean(self.agg.weighted_sum, self.agg.weighted_n),
            min_weighted_score: self.agg.weighted_min,
            max_weighted_score: self.agg.weighted_max,
            weighted_n: self.agg.weighted_n,
            cost_usd: self.agg.cost_sum,
            tokens_in: self.agg.tokens_in,
            tokens_out: self.agg.tokens_out,
            tool_calls: self.agg.tool_calls,
            duration_ms: self.agg.duration_ms,
        }
    }

    pub fn into_stats(self) -> Stats {
        Stats {
            total_runs: self.agg.completed_runs,
            successful_runs: self.agg.successful_runs,
            avg_score: mean(self.agg.score_sum, self.agg.score_n),
            avg_weighted_score: mean(self.agg.weighted_sum, self.agg.weighted_n),
        }
    }

    pub fn into_agent_stats(self) -> AgentStats {
        AgentStats {
            avg_score: mean(self.agg.weighted_sum, self.agg.weighted_n),
            agent: self.key,
            runs: self.agg.completed_runs,
            min_score: self.agg.weighted_min,
            max_score: self.agg.weighted_max,
        }
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The row a fresh database reports for `/api/stats`.
pub(crate) fn empty_agg() -> AggRow {
    AggRow {
        key: rollup::ALL.into(),
        agg: Delta::default(),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ArtifactRow {
    pub name: String,
    pub encoding: String,
    pub size: i64,
    pub body: Vec<u8>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ArtifactInfoRow {
    pub name: String,
    pub size: i64,
}
