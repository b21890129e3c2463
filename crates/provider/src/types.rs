//! The neutral conversation model every provider speaks.
//!
//! Callers (the LLM judge, API-driven agents) build one [`ChatRequest`] and get one
//! [`ChatResponse`] whatever the wire format, so an agent loop is written once: send the
//! history, run the [`ContentBlock::ToolUse`] blocks of the answer, append a
//! [`Message::tool_results`] message, repeat until [`StopReason::EndTurn`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said a message. `System` messages inside the history are folded into the system prompt
/// by providers whose wire format has no such role (Anthropic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
    /// Results of tool calls, sent back after an assistant turn that asked for tools.
    Tool,
}

/// One piece of a message: text, a tool call the model asked for, or the result of one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    Text {
        text: String,
    },
    /// A tool call requested by the model; `input` is always a JSON object (see
    /// [`crate::json::tool_arguments`] for how malformed arguments are kept).
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// The answer to the `ToolUse` with the same id.
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl Message {
    /// A user turn with one text block.
    pub fn user(text: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// An extra system instruction inside the history.
    pub fn system(text: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// An assistant turn with one text block (e.g. a previous answer being corrected).
    pub fn assistant_text(text: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// The assistant turn exactly as a [`ChatResponse`] returned it, to append to the history.
    pub fn assistant(content: Vec<ContentBlock>) -> Self {
        Message {
            role: Role::Assistant,
            content,
        }
    }

    /// A message carrying tool results (each a [`ContentBlock::ToolResult`]).
    pub fn tool_results(results: Vec<ContentBlock>) -> Self {
        Message {
            role: Role::Tool,
            content: results,
        }
    }

    /// The text blocks joined, for roles whose wire format wants one string.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }
}

/// A tool the model may call. The schema is sent in full (the seed's adapter stripped it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// A JSON Schema object describing the tool's input.
    pub input_schema: Value,
}

/// One call to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The provider's model id (`claude-sonnet-4-5`, `openai/gpt-5`, ...).
    pub model: String,
    /// The system prompt, sent the way the provider expects it.
    pub system: Option<String>,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub tools: Vec<ToolDef>,
    /// Required by Anthropic, so required here too.
    pub max_tokens: u32,
    /// None = the provider's default (some reasoning models reject any other value).
    pub temperature: Option<f64>,
}

impl ChatRequest {
    /// A request with one user message and no tools.
    pub fn simple(model: impl Into<String>, user: impl Into<String>, max_tokens: u32) -> Self {
        ChatRequest {
            model: model.into(),
            system: None,
            messages: vec![Message::user(user)],
            tools: Vec::new(),
            max_tokens,
            temperature: None,
        }
    }
}

/// Why the model stopped; `ToolUse` means "run the tools and call again".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    ToolUse,
    MaxTokens,
    StopSequence,
    /// A reason this crate has no name for (`refusal`, `content_filter`, ...), kept verbatim.
    Other(String),
}

/// Tokens one call consumed, comparable across providers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Every prompt token the model read, cached or not (Anthropic's three input counters
    /// summed; OpenAI's `prompt_tokens`). The cache counters below are parts of this number.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
}

impl Usage {
    /// Sum of two calls' usage (an agent's turns, a judge's retry).
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// A model's answer in the neutral model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub content: Vec<ContentBlock>,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// Cost reported by the provider itself (OpenRouter's `usage.cost`); None when it reports none.
    pub cost_usd: Option<f64>,
    /// The model that answered, as the provider names it (may differ from the requested alias).
    pub model: String,
    /// Wall time of the whole call, retries and waits between them included.
    pub latency_ms: u64,
    /// HTTP attempts the call took (1 = no retry).
    pub attempts: u32,
}

impl ChatResponse {
    /// The text blocks joined with newlines.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }

    /// The tool calls the model asked for, in order: (id, name, input).
    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }
}

fn join_text(blocks: &[ContentBlock]) -> String {
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n")
}
