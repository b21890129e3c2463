//! Evaluators: each scores one aspect of a finished run, behind one interface.
//!
//! An evaluator yields metric scores in [0, 1] keyed by the names `rubric_overrides.weights`
//! uses (`install_success`, `tests_nonregression`, `llm_judge`, ...). A metric that did not run is
//! absent, never a zero placeholder (SUITE-FORMAT.md "Scores"). Each evaluator is stored as one
//! evaluation row named as the seed named it where the seed had it.

pub mod commands;
pub mod deps;
pub mod efficiency;
pub mod heuristic;

use crate::agent::AgentReport;
use crate::diff::{DepsDelta, DiffReport};
use crate::process::CommandOutcome;
use crate::suite::Scenario;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// One command the harness ran (baseline or validation), as evaluators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandRecord {
    /// `install`, `test`, `lint`, `typecheck`, `build`, or `baseline[N]`.
    pub name: String,
    pub command: String,
    #[serde(flatten)]
    pub outcome: CommandOutcome,
}

/// Everything an evaluator may look at. Built once per run after the agent and validation.
pub struct EvalContext<'a> {
    pub scenario: &'a Scenario,
    /// The folder holding scenario.yaml (scripts and oracle files are relative to it).
    pub scenario_dir: &'a Path,
    /// The workspace as the agent left it; None for scenarios without a workspace.
    pub workspace: Option<&'a Path>,
    pub tier: &'a str,
    pub prompt: &'a str,
    pub baseline: &'a [CommandRecord],
    pub validation: &'a [CommandRecord],
    pub diff: &'a DiffReport,
    pub deps: &'a DepsDelta,
    pub agent: &'a AgentReport,
    pub cancel: CancellationToken,
}

/// One metric score in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    pub score: f64,
}

/// Tokens and cost an evaluator spent (the LLM judge), kept apart from the agent's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluatorUsage {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: Option<f64>,
}

/// What one evaluator concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorOutcome {
    /// Stored `evaluatorName` (`HeuristicChecksEvaluator`, `LLMJudgeEvaluator`, ...).
    pub evaluator: String,
    pub metrics: Vec<Metric>,
    /// Shown on the run page: per-check results, reasoning, command exit codes.
    pub details: Value,
    pub usage: Option<EvaluatorUsage>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{evaluator}: {message}")]
    Failed { evaluator: String, message: String },
}

/// One scoring aspect. `Ok(None)` means "does not apply to this scenario" (no metric at all).
#[async_trait]
pub trait Evaluator: Send + Sync {
    fn name(&self) -> &'static str;
    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError>;
}

/// The evaluators every run gets, in the order they run; the LLM judge joins when a provider
/// is configured for it.
pub fn default_set(judge: Option<Arc<dyn Evaluator>>) -> Vec<Arc<dyn Evaluator>> {
    let mut v: Vec<Arc<dyn Evaluator>> = vec![
        Arc::new(commands::CommandsEvaluator),
        Arc::new(heuristic::HeuristicChecksEvaluator),
        Arc::new(deps::DependencyRulesEvaluator),
        Arc::new(efficiency::EfficiencyEvaluator),
    ];
    v.extend(judge);
    v
}

pub mod judge;
