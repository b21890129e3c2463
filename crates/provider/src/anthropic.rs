//! Anthropic Messages API (`POST {base}/v1/messages`).
//!
//! Differences from the neutral model handled here: the system prompt is a top-level field
//! (history `System` messages are folded into it); tool results travel as `tool_result`
//! blocks inside a user message, first in that message; consecutive same-role turns are merged
//! so tool results and a following user note form one valid user turn; usage splits prompt
//! tokens into uncached, cache-write and cache-read counters, summed into `input_tokens`.

use crate::config::ProviderConfig;
use crate::error::ProviderError;
use crate::http::HttpCore;
use crate::types::{ChatRequest, ChatResponse, ContentBlock, Role, StopReason, Usage};
use crate::Provider;
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Map, Value};
use std::fmt;

/// The API version this wire mapping was written against.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A [`Provider`] speaking the Anthropic Messages API.
pub struct AnthropicProvider {
    http: HttpCore,
    url: String,
}

impl AnthropicProvider {
    /// A provider for `config` (its kind is not checked: any Messages-compatible endpoint works).
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let url = format!("{}/v1/messages", config.effective_base_url());
        Ok(AnthropicProvider {
            http: HttpCore::new(&config)?,
            url,
        })
    }
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("url", &self.url)
            .field("api_key", &"***")
            .finish()
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", self.http.secret_header("")?);
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        let reply = self
            .http
            .post_json(&self.url, headers, &request_body(req))
            .await?;
        let mut response = parse_response(&reply.body)?;
        if response.model.is_empty() {
            response.model = req.model.clone();
        }
        response.latency_ms = reply.latency_ms;
        response.attempts = reply.attempts;
        Ok(response)
    }
}

/// The wire body for `req`.
pub(crate) fn request_body(req: &ChatRequest) -> Value {
    let mut system: Vec<String> = req.system.iter().cloned().collect();
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for message in &req.messages {
        let role = match message.role {
            Role::System => {
                system.push(message.text());
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let blocks: Vec<Value> = message.content.iter().filter_map(block_to_wire).collect();
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, mut blocks)| {
            // The API requires tool results to open the user turn that answers tool calls.
            blocks.sort_by_key(|b| b["type"] != "tool_result");
            json!({"role": role, "content": blocks})
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    body.insert("max_tokens".into(), json!(req.max_tokens));
    let system: Vec<String> = system
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    Value::Object(body)
}

fn block_to_wire(block: &ContentBlock) -> Option<Value> {
    Some(match block {
        // The API rejects empty text blocks.
        ContentBlock::Text { text } if text.is_empty() => return None,
        ContentBlock::Text { text } => json!({"type": "text", "text": text}),
        ContentBlock::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let mut v =
                json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content});
            if *is_error {
                v["is_error"] = json!(true);
            }
            v
        }
    })
}

/// The neutral response for a 2xx body (latency and attempts are filled in by the caller).
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ProviderError> {
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::InvalidResponse("no `content` array in the answer".into()))?;
    let mut content = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                content.push(ContentBlock::text(text));
            }
            Some("tool_use") => content.push(ContentBlock::ToolUse {
                id: str_field(block, "id"),
                name: str_field(block, "name"),
                input: crate::json::tool_arguments(block.get("input").unwrap_or(&Value::Null)),
            }),
            // Thinking and server-tool blocks carry nothing the neutral model represents.
            _ => {}
        }
    }
    let stop_reason = match body.get("stop_reason").and_then(Value::as_str) {
        Some("end_turn") | None => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some("stop_sequence") => StopReason::StopSequence,
        Some(other) => StopReason::Other(other.to_string()),
    };
    let u = body.get("usage").cloned().unwrap_or(Value::Null);
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let usage = Usage {
        input_tokens: n("input_tokens")
            + n("cache_creation_input_tokens")
            + n("cache_read_input_tokens"),
        output_tokens: n("output_tokens"),
        cache_read_tokens: n("cache_read_input_tokens"),
        cache_write_tokens: n("cache_creation_input_tokens"),
    };
    Ok(ChatResponse {
        content,
        stop_reason,
        usage,
        cost_usd: None,
        model: str_field(body, "model"),
        latency_ms: 0,
        attempts: 0,
    })
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
