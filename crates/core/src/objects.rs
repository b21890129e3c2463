//! The stored shapes returned by the read API, with the seed's field names.
//!
//! These are what the store reads back, not copies of `RunResult`: they carry database ids,
//! server-computed aggregates, and `metadata` as a JSON *string*, as the seed's dashboard expects.

use crate::run::RunStatus;
use crate::time::Timestamp;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A stored run (every endpoint that returns runs).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: i64,
    pub run_id: String,
    pub batch_id: Option<String>,
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub agent: String,
    pub model: Option<String>,
    pub status: RunStatus,
    pub started_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub total_score: Option<f64>,
    pub weighted_score: Option<f64>,
    pub success_metric: Option<f64>,
    pub is_successful: bool,
    /// The stored JSON object as a string (clients `JSON.parse` it), or null.
    pub metadata: Option<String>,
    pub specialist_enabled: Option<bool>,
    pub specialist_name: Option<String>,
    pub specialist_version: Option<String>,
    /// (new) The name of the API key that submitted the run; absent for runs stored locally
    /// (harness local mode, import) or before keys had names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
}

/// A stored evaluator score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub id: i64,
    pub run_id: String,
    pub evaluator_name: String,
    pub score: f64,
    pub max_score: f64,
    pub details: Option<String>,
    pub created_at: Timestamp,
}

/// A run's stored telemetry (one per run).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Telemetry {
    pub id: i64,
    pub run_id: String,
    pub tool_calls: Option<i64>,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub cost_usd: Option<f64>,
    pub duration_ms: Option<i64>,
    pub workspace_dir: Option<String>,
}

/// `GET /api/runs/{runId}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    pub run: Run,
    pub evaluations: Vec<Evaluation>,
    pub telemetry: Option<Telemetry>,
}

/// A batch with its server-computed aggregates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub batch_id: String,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    /// Every run stored in the batch, whatever its status.
    pub total_runs: i64,
    pub successful_runs: i64,
    /// Mean `totalScore` of the batch's completed runs that have one.
    pub avg_score: Option<f64>,
    /// Mean `weightedScore` of the batch's completed runs that have one.
    pub avg_weighted_score: Option<f64>,
    pub metadata: Option<String>,
    /// (new) Runs with status `failed`.
    pub failed_runs: i64,
    /// (new) Sum of the runs' telemetry cost.
    pub total_cost_usd: f64,
}

/// `GET /api/batches/{batchId}`: the batch's fields plus its runs, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: Batch,
    pub runs: Vec<Run>,
}

/// `GET /api/stats`: totals over completed runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub total_runs: i64,
    pub successful_runs: i64,
    pub avg_score: Option<f64>,
    pub avg_weighted_score: Option<f64>,
}

/// `GET /api/stats/agents`: weighted-score summary per agent over completed runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AgentStats {
    pub agent: String,
    pub runs: i64,
    pub avg_score: Option<f64>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
}

/// What a breakdown groups runs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    Agent,
    Model,
    AgentModel,
    Suite,
    Scenario,
    Tier,
    Evaluator,
    Day,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Agent,
        Dimension::Model,
        Dimension::AgentModel,
        Dimension::Suite,
        Dimension::Scenario,
        Dimension::Tier,
        Dimension::Evaluator,
        Dimension::Day,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Agent => "agent",
            Dimension::Model => "model",
            Dimension::AgentModel => "agent-model",
            Dimension::Suite => "suite",
            Dimension::Scenario => "scenario",
            Dimension::Tier => "tier",
            Dimension::Evaluator => "evaluator",
            Dimension::Day => "day",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
                format!(
                    "unknown dimension {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// One group of a breakdown. Scores average completed runs only; `n` fields say how many
/// values each average is over, so a reader can judge it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BreakdownRow {
    /// The group's value: an agent, model, suite, …; a `YYYY-MM-DD` day; for `agent-model`,
    /// `agent` and `model` joined by a space-padded slash (see `agent`, `model`).
    pub key: String,
    /// Set for the `agent` and `agent-model` dimensions.
    pub agent: Option<String>,
    /// Set for the `model` and `agent-model` dimensions (null when runs had no model).
    pub model: Option<String>,
    pub runs: i64,
    pub completed_runs: i64,
    pub failed_runs: i64,
    pub successful_runs: i64,
    /// successfulRuns / runs.
    pub success_rate: Option<f64>,
    /// Mean `totalScore`; for the evaluator dimension, the evaluator's mean score / maxScore.
    pub avg_score: Option<f64>,
    pub score_n: i64,
    pub avg_weighted_score: Option<f64>,
    pub min_weighted_score: Option<f64>,
    pub max_weighted_score: Option<f64>,
    pub weighted_n: i64,
    pub cost_usd: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub tool_calls: i64,
    pub duration_ms: i64,
}
