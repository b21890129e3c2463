//! API-driven agents (Anthropic Messages, OpenAI-compatible chat): the shared tool loop.
//!
//! (API fixed; implementation being written.)

use serde::{Deserialize, Serialize};

/// Limits of one API agent run. Every limit ends the run with a clean stop reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Model turns (requests) at most.
    pub max_turns: u32,
    /// Input + output tokens over the whole run.
    pub max_tokens: Option<u64>,
    /// Dollars over the whole run (provider-reported cost, else priced from the table).
    pub max_cost_usd: Option<f64>,
    /// `max_tokens` of each request.
    pub max_output_tokens: u32,
    pub temperature: Option<f64>,
    /// Replaces the built-in system prompt.
    pub system_prompt: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_turns: 50,
            max_tokens: None,
            max_cost_usd: None,
            max_output_tokens: 8192,
            temperature: None,
            system_prompt: None,
        }
    }
}
