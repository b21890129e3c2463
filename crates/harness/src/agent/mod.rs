//! The Agent interface and the built-in offline agents.
//!
//! An agent gets the prompt and a [`crate::tools::Toolbox`] confined to the workspace, works,
//! and reports what it spent. CLI agents that bring their own tools ignore the toolbox and run
//! in the workspace directory.

use serde::{Deserialize, Serialize};

/// What an agent did and spent, recorded in the run's telemetry and transcript.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentReport {
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    pub tool_calls: u64,
    pub turns: u64,
    pub duration_ms: u64,
    /// Why the agent stopped: finished, max_turns, budget, timeout, cancelled, error.
    pub stop_reason: String,
    /// Final message of the agent, if any.
    pub final_message: Option<String>,
    /// Questions asked through `ask_user`, with the oracle's answers.
    pub questions: Vec<QuestionAnswer>,
    /// Commands run through `run_command`, in order.
    pub commands: Vec<String>,
    /// Every step: messages, tool calls and results with timings.
    pub transcript: Vec<TranscriptEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionAnswer {
    pub question: String,
    pub answer: String,
}

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptEntry {
    /// Milliseconds since the agent started.
    pub at_ms: u64,
    /// `system`, `user`, `assistant`, `tool_call`, `tool_result`, `note`.
    pub kind: String,
    /// Tool name for tool calls and results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

pub mod api;
pub mod cli;
pub mod echo;
pub mod scripted;

use crate::suite::Scenario;
use crate::tools::Toolbox;
use async_trait::async_trait;
use std::path::Path;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// What an agent is given for one run.
pub struct AgentContext<'a> {
    pub prompt: &'a str,
    pub workspace: &'a Path,
    /// Tools confined to the workspace (API-driven and scripted agents use these).
    pub tools: &'a Toolbox,
    pub scenario: &'a Scenario,
    /// The folder holding scenario.yaml (scripts and reference solutions are relative to it).
    pub scenario_dir: &'a Path,
    pub tier: &'a str,
    /// The run must be over by then; the harness also enforces it from outside.
    pub deadline: Instant,
    pub cancel: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("agent configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Failed(String),
    /// Failed after doing some work: the report (transcript, usage) is still recorded.
    #[error("{message}")]
    FailedWith {
        message: String,
        report: Box<AgentReport>,
    },
}

/// A coding agent. `run` returns what it did and spent; a failure is an `Err` whose message is
/// stored as the run's `metadata.error` with `errorType: agent`.
#[async_trait]
pub trait Agent: Send + Sync {
    /// Recorded as the run's `agent`.
    fn name(&self) -> &str;
    /// Recorded as the run's `model`.
    fn model(&self) -> Option<&str>;
    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError>;
}

impl AgentReport {
    /// Appends a transcript entry stamped with the time since `start`.
    pub fn log(
        &mut self,
        start: Instant,
        kind: &str,
        tool: Option<&str>,
        content: impl Into<String>,
    ) {
        self.transcript.push(TranscriptEntry {
            at_ms: start.elapsed().as_millis() as u64,
            kind: kind.to_string(),
            tool: tool.map(str::to_string),
            content: content.into(),
            duration_ms: None,
            is_error: false,
        });
    }
}

/// Agent kinds this build can run.
pub const AVAILABLE: &str = "echo, scripted:SCRIPT";

/// Builds the agent an `AGENT[:MODEL]` spec names.
pub fn build(spec: &crate::batch::AgentSpec) -> Result<std::sync::Arc<dyn Agent>, AgentError> {
    match (spec.kind.as_str(), spec.model.as_deref()) {
        ("echo", _) => Ok(std::sync::Arc::new(echo::EchoAgent)),
        ("scripted", Some(script)) => Ok(std::sync::Arc::new(scripted::ScriptedAgent::new(script))),
        ("scripted", None) => Err(AgentError::Config(
            "the scripted agent needs a script: scripted:NAME (the scenario's agents/NAME.yaml) or scripted:path/to/script.yaml".into(),
        )),
        (kind, _) => Err(AgentError::Config(format!(
            "unknown agent {kind:?}; available: {AVAILABLE}"
        ))),
    }
}
