//! zebench model providers: one [`Provider`] interface over the Anthropic Messages API and
//! OpenAI-compatible chat completions (OpenAI, OpenRouter, local gateways).
//!
//! The LLM judge and the API-driven agents talk to models only through this crate, so retries,
//! timeouts, usage accounting, cost and key handling are written once. The conversation model
//! ([`Message`], [`ContentBlock`], [`ToolDef`]) carries tool calls and tool results, which is
//! what an agent loop needs; the judge uses the same calls without tools.

pub mod anthropic;
pub mod config;
pub mod error;
mod http;
pub mod json;
pub mod openai;
pub mod scripted;
pub mod types;

pub use anthropic::AnthropicProvider;
pub use config::{ProviderConfig, ProviderKind, Secret};
pub use error::ProviderError;
pub use openai::OpenAiProvider;
pub use types::{
    ChatRequest, ChatResponse, ContentBlock, Message, Role, StopReason, ToolDef, Usage,
};

use async_trait::async_trait;

/// A model behind some API. Implementations retry transient failures themselves, so a caller
/// sees either an answer or an error worth reporting.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short provider name (`anthropic`, `openai`, `openrouter`) recorded with runs.
    fn name(&self) -> &str;

    /// Send one request and wait for the whole answer.
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError>;
}
