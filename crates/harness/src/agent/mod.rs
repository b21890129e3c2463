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
pub const AVAILABLE: &str = "echo, scripted:SCRIPT, anthropic[:MODEL], openai[:MODEL], openrouter[:MODEL], claude-code[:MODEL], cmd:NAME (a named agent from zebench.toml)";

/// Default models when a spec names none.
pub const DEFAULT_MODELS: [(&str, &str); 3] = [
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-5"),
    ("openrouter", "anthropic/claude-sonnet-4.5"),
];

/// What agents are built from: the config file (provider keys, limits, named agents) and the
/// price table.
pub struct AgentFactory {
    pub config: crate::config::Config,
    pub prices: std::sync::Arc<crate::pricing::PriceTable>,
}

impl AgentFactory {
    /// Builds the agent an `AGENT[:MODEL]` spec names.
    pub fn build(
        &self,
        spec: &crate::batch::AgentSpec,
    ) -> Result<std::sync::Arc<dyn Agent>, AgentError> {
        use std::sync::Arc;
        let model = spec.model.as_deref();
        match spec.kind.as_str() {
            "echo" => Ok(Arc::new(echo::EchoAgent)),
            "scripted" => match model {
                Some(script) => Ok(Arc::new(scripted::ScriptedAgent::new(script))),
                None => Err(AgentError::Config(
                    "the scripted agent needs a script: scripted:NAME (the scenario's agents/NAME.yaml) or scripted:path/to/script.yaml".into(),
                )),
            },
            kind @ ("anthropic" | "openai" | "openrouter") => {
                self.api_agent(kind, model, &self.config.limits, &toml::Table::new())
            }
            "claude-code" => {
                let mut cfg = self.config.claude_code.clone();
                if let Some(m) = model {
                    cfg.model = Some(m.to_string());
                }
                Ok(Arc::new(cli::ClaudeCodeAgent::new(cfg)))
            }
            "cmd" => {
                let name = model.ok_or_else(|| {
                    AgentError::Config("cmd needs a name: cmd:NAME, defined as [agents.NAME] in zebench.toml".into())
                })?;
                self.named(name, None)
            }
            other if self.config.agents.contains_key(other) => self.named(other, model),
            other => Err(AgentError::Config(format!(
                "unknown agent {other:?}; available: {AVAILABLE}{}",
                self.named_list()
            ))),
        }
    }

    fn named_list(&self) -> String {
        if self.config.agents.is_empty() {
            String::new()
        } else {
            format!(
                "; named in the config: {}",
                self.config
                    .agents
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }

    /// A named agent from `[agents.NAME]`; `model` overrides its model.
    fn named(
        &self,
        name: &str,
        model: Option<&str>,
    ) -> Result<std::sync::Arc<dyn Agent>, AgentError> {
        use std::sync::Arc;
        let def = self.config.agents.get(name).ok_or_else(|| {
            AgentError::Config(format!(
                "no agent named {name:?}: define [agents.{name}] in zebench.toml{}",
                self.named_list()
            ))
        })?;
        let bad = |e: toml::de::Error| {
            AgentError::Config(format!("[agents.{name}]: {}", e.to_string().trim()))
        };
        let mut settings = def.settings.clone();
        if let Some(m) = model {
            settings.insert("model".into(), toml::Value::String(m.to_string()));
        }
        match def.kind.as_str() {
            "cmd" => {
                let cfg: cli::CmdConfig = settings.try_into().map_err(bad)?;
                if cfg.command.trim().is_empty() {
                    return Err(AgentError::Config(format!("[agents.{name}]: `command` is required for kind = \"cmd\"")));
                }
                Ok(Arc::new(cli::CmdAgent::new(name, cfg)))
            }
            "claude-code" => {
                let cfg: cli::ClaudeCodeConfig = settings.try_into().map_err(bad)?;
                Ok(Arc::new(cli::ClaudeCodeAgent::new(cfg)))
            }
            kind @ ("anthropic" | "openai" | "openrouter") => {
                let model = settings
                    .remove("model")
                    .and_then(|v| v.as_str().map(str::to_string));
                self.api_agent(kind, model.as_deref(), &self.config.limits, &settings)
            }
            other => Err(AgentError::Config(format!(
                "[agents.{name}]: unknown kind {other:?} (cmd, claude-code, anthropic, openai, openrouter)"
            ))),
        }
    }

    fn api_agent(
        &self,
        kind: &str,
        model: Option<&str>,
        base: &api::Limits,
        overrides: &toml::Table,
    ) -> Result<std::sync::Arc<dyn Agent>, AgentError> {
        use zebench_provider::{ProviderConfig, ProviderKind};
        let pk: ProviderKind = kind
            .parse()
            .map_err(|e| AgentError::Config(format!("{e}")))?;
        let mut pc = ProviderConfig::from_lookup(pk, |v| self.config.lookup(v)).map_err(|e| {
            AgentError::Config(format!(
                "{e} (or [providers.{kind}] api_key in zebench.toml)"
            ))
        })?;
        if let Some(p) = self.config.providers.get(kind) {
            if let Some(t) = p.timeout_seconds.filter(|t| t.is_finite() && *t > 0.0) {
                pc.timeout = std::time::Duration::from_secs_f64(t);
            }
            if let Some(r) = p.max_retries {
                pc.max_retries = r;
            }
        }
        let provider = pc.build().map_err(|e| AgentError::Config(e.to_string()))?;
        let model = model
            .map(str::to_string)
            .or_else(|| {
                DEFAULT_MODELS
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, m)| m.to_string())
            })
            .unwrap_or_default();
        let mut limits = base.clone();
        if !overrides.is_empty() {
            let mut merged =
                toml::Table::try_from(base).map_err(|e| AgentError::Config(e.to_string()))?;
            merged.extend(overrides.clone());
            limits = merged.try_into().map_err(|e: toml::de::Error| {
                AgentError::Config(format!("agent limits: {}", e.to_string().trim()))
            })?;
        }
        Ok(std::sync::Arc::new(api::ApiAgent::new(
            kind,
            provider,
            model,
            limits,
            self.prices.clone(),
        )))
    }
}

/// Builds an agent with the default configuration (no config file; keys from the environment).
pub fn build(spec: &crate::batch::AgentSpec) -> Result<std::sync::Arc<dyn Agent>, AgentError> {
    AgentFactory {
        config: crate::config::Config::default(),
        prices: std::sync::Arc::new(crate::pricing::PriceTable::builtin()),
    }
    .build(spec)
}
