//! What a run has done so far, and turning it into the `RunResult` that is stored.
//!
//! The state is shared with the step future so that a run cut off by its timeout or by Ctrl-C
//! still records every step it finished.

use super::RunRequest;
use crate::agent::AgentReport;
use crate::diff::{DepsDelta, DiffReport};
use crate::evaluators::{CommandRecord, EvaluatorOutcome};
use crate::workspace::Workspace;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use zebench_core::{EvaluationInput, RunResult, RunStatus, TelemetryInput, Timestamp};

/// Why a run failed (`metadata.errorType`), as SUITE-FORMAT.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorType {
    Prompt,
    Workspace,
    Warmup,
    Agent,
    Timeout,
    Signal,
    Infra,
    Evaluator,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Prompt => "prompt",
            ErrorType::Workspace => "workspace",
            ErrorType::Warmup => "warmup",
            ErrorType::Agent => "agent",
            ErrorType::Timeout => "timeout",
            ErrorType::Signal => "signal",
            ErrorType::Infra => "infra",
            ErrorType::Evaluator => "evaluator",
        }
    }

    /// Failures of the harness or the machine rather than of the agent: they make `zebench
    /// batch` exit 3 and are left out of scores.
    pub fn is_infrastructure(self) -> bool {
        matches!(
            self,
            ErrorType::Workspace | ErrorType::Infra | ErrorType::Warmup | ErrorType::Evaluator
        )
    }
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: ErrorType,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// One timed step (`metadata.steps[]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub name: String,
    /// Milliseconds from the start of the run.
    pub start_ms: u64,
    pub duration_ms: u64,
    pub ok: bool,
}

/// Everything a run has produced so far.
pub(crate) struct RunState {
    pub started_at: Timestamp,
    pub steps: Vec<StepRecord>,
    pub open: Option<(String, Instant)>,
    pub prompt: Option<String>,
    pub baseline: Vec<CommandRecord>,
    pub warmup: Vec<CommandRecord>,
    pub validation: Vec<CommandRecord>,
    pub agent: Option<AgentReport>,
    pub diff: Option<DiffReport>,
    pub deps: Option<DepsDelta>,
    pub evaluations: Vec<EvaluatorOutcome>,
    pub evaluator_errors: Vec<String>,
    pub workspace: Option<Workspace>,
    pub failure: Option<Failure>,
}

impl RunState {
    pub fn new(started_at: Timestamp) -> RunState {
        RunState {
            started_at,
            steps: Vec::new(),
            open: None,
            prompt: None,
            baseline: Vec::new(),
            warmup: Vec::new(),
            validation: Vec::new(),
            agent: None,
            diff: None,
            deps: None,
            evaluations: Vec::new(),
            evaluator_errors: Vec::new(),
            workspace: None,
            failure: None,
        }
    }

    pub fn open_step(&mut self, name: &str) {
        self.open = Some((name.to_string(), Instant::now()));
    }

    /// Closes the step in progress, if any, with its outcome.
    pub fn close_open_step(&mut self, t0: Instant, ok: bool) {
        if let Some((name, start)) = self.open.take() {
            self.steps.push(StepRecord {
                name,
                start_ms: start.duration_since(t0).as_millis() as u64,
                duration_ms: start.elapsed().as_millis() as u64,
                ok,
            });
        }
    }
}

/// What a finished run produced.
pub struct RunOutput {
    pub result: RunResult,
    /// The workspace folder, when the keep policy kept it.
    pub kept_workspace: Option<PathBuf>,
    /// Set for failed runs.
    pub error_type: Option<ErrorType>,
    /// Agent cost plus judge cost, for `--max-cost`.
    pub total_cost_usd: f64,
}

pub(crate) fn build(req: &RunRequest, mut st: RunState, t0: Instant) -> RunOutput {
    let failed = st.failure.is_some();
    let kept = st.workspace.take().and_then(|w| w.finish(failed, req.keep));
    let mut meta: Map<String, Value> = req.metadata.clone();
    let s = &req.scenario;
    meta.insert(
        "harness".into(),
        json!(concat!("zebench ", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(t) = &s.title {
        meta.insert("scenarioTitle".into(), json!(t));
    }
    meta.insert("steps".into(), json!(st.steps));
    if !st.baseline.is_empty() {
        meta.insert("baseline".into(), summarize(&st.baseline));
    }
    if !st.warmup.is_empty() {
        meta.insert("warmup".into(), summarize(&st.warmup));
    }
    if !st.validation.is_empty() {
        meta.insert("validation".into(), summarize(&st.validation));
    }
    if let Some(d) = &st.diff {
        meta.insert(
            "diffStats".into(),
            json!({
                "files": d.files.len(),
                "additions": d.files.iter().map(|f| f.additions).sum::<u64>(),
                "deletions": d.files.iter().map(|f| f.deletions).sum::<u64>(),
                "truncated": d.truncated,
            }),
        );
    }
    if let Some(d) = st.deps.as_ref().filter(|d| !d.changes.is_empty()) {
        meta.insert("dependencyChanges".into(), json!(d.changes));
    }
    if let Some(a) = &st.agent {
        meta.insert("agentStopReason".into(), json!(a.stop_reason));
        if !a.questions.is_empty() {
            meta.insert("questions".into(), json!(a.questions));
        }
        if let Some(c) = a.cache_read_tokens {
            meta.insert("cacheReadTokens".into(), json!(c));
        }
        if let Some(c) = a.cache_write_tokens {
            meta.insert("cacheWriteTokens".into(), json!(c));
        }
    }
    if !st.evaluator_errors.is_empty() {
        meta.insert("evaluatorErrors".into(), json!(st.evaluator_errors));
    }
    if let Some(p) = &kept {
        meta.insert("workspaceKept".into(), json!(p.display().to_string()));
    }

    // Evaluations and scores (only for runs that got that far).
    let mut evaluations = Vec::new();
    let mut metrics: Vec<(String, f64)> = Vec::new();
    let weights = s.weights();
    let mut judge_cost = 0.0;
    let mut judge = json!(null);
    for e in &st.evaluations {
        let score = weighted_mean(&e.metrics, &weights);
        metrics.extend(e.metrics.iter().map(|m| (m.key.clone(), m.score)));
        let mut details = e.details.clone();
        if let Some(obj) = details.as_object_mut() {
            obj.insert(
                "metrics".into(),
                json!(e.metrics.iter().map(|m| json!({"key": m.key, "score": m.score, "weight": weights.get(&m.key).copied().unwrap_or(1.0)})).collect::<Vec<_>>()),
            );
        }
        evaluations.push(EvaluationInput {
            evaluator_name: e.evaluator.clone(),
            score,
            max_score: 1.0,
            details: Some(details.to_string()),
        });
        if let Some(u) = &e.usage {
            judge_cost += u.cost_usd.unwrap_or(0.0);
            judge =
                json!({"tokensIn": u.tokens_in, "tokensOut": u.tokens_out, "costUsd": u.cost_usd});
        }
    }
    if !judge.is_null() {
        meta.insert("judge".into(), judge);
    }
    let critical = s.critical_commands();
    let critical_passed = st
        .validation
        .iter()
        .filter(|c| critical.contains(&c.name))
        .all(|c| c.outcome.success());
    let scores = (!failed && !metrics.is_empty())
        .then(|| zebench_core::score(&metrics, &weights, s.success_threshold(), critical_passed));
    if let Some(f) = &st.failure {
        meta.insert("error".into(), json!(f.message));
        meta.insert("errorType".into(), json!(f.kind.as_str()));
    }

    let agent = st.agent.clone().unwrap_or_default();
    let mut artifacts = BTreeMap::new();
    if !agent.transcript.is_empty() {
        artifacts.insert(
            "transcript".to_string(),
            serde_json::to_string(&agent.transcript).unwrap_or_default(),
        );
    }
    if let Some(d) = st.diff.as_ref().filter(|d| !d.patch.is_empty()) {
        artifacts.insert("diff".to_string(), d.patch.clone());
    }
    let logs = command_logs(&[
        ("baseline", &st.baseline),
        ("warmup", &st.warmup),
        ("validation", &st.validation),
    ]);
    if !logs.is_empty() {
        artifacts.insert("commands".to_string(), logs);
    }
    let agent_cost = agent.cost_usd;
    let result = RunResult {
        run_id: req.run_id.clone(),
        batch_id: req.batch_id.clone(),
        suite: req.entry.suite.clone(),
        scenario: req.entry.name.clone(),
        tier: req.tier.clone(),
        agent: req.agent.name().to_string(),
        model: req.agent.model().map(str::to_string),
        status: if failed {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        },
        started_at: Some(st.started_at),
        completed_at: Some(Timestamp::now()),
        total_score: scores.map(|s| s.total_score),
        weighted_score: scores.map(|s| s.weighted_score),
        success_metric: scores.map(|s| s.success_metric),
        is_successful: scores.is_some_and(|s| s.is_successful),
        specialist_enabled: None,
        specialist_name: None,
        specialist_version: None,
        metadata: Some(meta),
        evaluations,
        telemetry: Some(TelemetryInput {
            tool_calls: Some(agent.tool_calls as i64),
            tokens_in: agent.tokens_in.map(|v| v as i64),
            tokens_out: agent.tokens_out.map(|v| v as i64),
            cost_usd: agent_cost,
            duration_ms: Some(t0.elapsed().as_millis() as i64),
            workspace_dir: kept.as_ref().map(|p| p.display().to_string()),
            prompt_sent: st.prompt.clone(),
        }),
        artifacts,
    };
    RunOutput {
        result,
        kept_workspace: kept,
        error_type: st.failure.as_ref().map(|f| f.kind),
        total_cost_usd: agent_cost.unwrap_or(0.0) + judge_cost,
    }
}

/// An evaluator's own score: the rubric-weighted mean of its metrics (plain mean when every
/// weight is dropped).
fn weighted_mean(metrics: &[crate::evaluators::Metric], weights: &BTreeMap<String, f64>) -> f64 {
    let (mut n, mut d) = (0.0, 0.0);
    for m in metrics {
        let w = weights.get(&m.key).copied().unwrap_or(1.0);
        if w > 0.0 && w.is_finite() {
            n += w * m.score;
            d += w;
        }
    }
    if d > 0.0 {
        n / d
    } else if metrics.is_empty() {
        0.0
    } else {
        metrics.iter().map(|m| m.score).sum::<f64>() / metrics.len() as f64
    }
}

fn summarize(cmds: &[CommandRecord]) -> Value {
    json!(cmds
        .iter()
        .map(|c| json!({
            "name": c.name,
            "command": c.command,
            "exitCode": c.outcome.exit_code,
            "timedOut": c.outcome.timed_out,
            "durationMs": c.outcome.duration_ms,
            "spawnError": c.outcome.spawn_error,
        }))
        .collect::<Vec<_>>())
}

/// Every command's captured output, as one text artifact.
fn command_logs(groups: &[(&str, &Vec<CommandRecord>)]) -> String {
    let mut out = String::new();
    for (group, cmds) in groups {
        for c in cmds.iter() {
            let status = match (c.outcome.exit_code, c.outcome.timed_out) {
                (_, true) => "timed out".to_string(),
                (Some(code), _) => format!("exit {code}"),
                (None, _) => "killed".to_string(),
            };
            out.push_str(&format!(
                "=== {group} {}: {} ({status}, {} ms)\n",
                c.name, c.command, c.outcome.duration_ms
            ));
            out.push_str(&c.outcome.output);
            if !c.outcome.output.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
