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
