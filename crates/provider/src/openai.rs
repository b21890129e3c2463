//! OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, OpenRouter,
//! and any compatible server reached through `OPENAI_BASE_URL`.
//!
//! Differences from the neutral model handled here: the system prompt is the first message;
//! tool calls ride on the assistant message as `tool_calls` (several in parallel) with the
//! arguments as a JSON *string*; each tool result is its own `role: "tool"` message; tools are
//! sent as `{"type":"function","function":{name, description, parameters}}` with the full schema.

use crate::config::{ProviderConfig, ProviderKind};
use crate::error::ProviderError;
use crate::http::HttpCore;
use crate::types::{ChatRequest, ChatResponse, ContentBlock, Role, StopReason, Usage};
use crate::Provider;
use async_trait::async_trait;
use reqwest::header::HeaderMap;
use serde_json::{json, Map, Value};
use std::fmt;

/// A [`Provider`] speaking OpenAI chat completions.
pub struct OpenAiProvider {
    http: HttpCore,
    url: String,
    kind: ProviderKind,
    /// api.openai.com rejects `max_tokens` for reasoning models and wants
    /// `max_completion_tokens`; other compatible servers mostly know only `max_tokens`.
    max_tokens_field: &'static str,
}

impl OpenAiProvider {
    /// A provider for `config`; `ProviderKind::OpenRouter` adds the cost-reporting flag.
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let base = config.effective_base_url();
        let max_tokens_field = if base.contains("://api.openai.com") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        Ok(OpenAiProvider {
            http: HttpCore::new(&config)?,
            url: format!("{base}/chat/completions"),
            kind: config.kind,
            max_tokens_field,
        })
    }

    /// The wire body for `req`.
    pub(crate) fn request_body(&self, req: &ChatRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("messages".into(), Value::Array(wire_messages(req)));
        body.insert(self.max_tokens_field.into(), json!(req.max_tokens));
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if !req.tools.is_empty() {
            let tools: Vec<Value> = req
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.input_schema}})
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        if self.kind == ProviderKind::OpenRouter {
            // Asks OpenRouter to report the call's cost in `usage.cost`.
            body.insert("usage".into(), json!({"include": true}));
        }
        Value::Object(body)
    }
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("api_key", &"***")
            .finish()
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        self.kind.as_str()
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            self.http.secret_header("Bearer ")?,
        );
        let reply = self
            .http
            .post_json(&self.url, headers, &self.request_body(req))
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

fn wire_messages(req: &ChatRequest) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(system) = req.system.as_deref().filter(|s| !s.trim().is_empty()) {
        out.push(json!({"role": "system", "content": system}));
    }
    for message in &req.messages {
        // Tool results become one `tool` message each, ahead of any text in the same turn.
        for block in &message.content {
            if let ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } = block
            {
                let content = if *is_error {
                    format!("Error: {content}")
                } else {
                    content.clone()
                };
                out.push(json!({"role": "tool", "tool_call_id": tool_use_id, "content": content}));
            }
        }
        let text = message.text();
        match message.role {
            Role::System if !text.is_empty() => {
                out.push(json!({"role": "system", "content": text}))
            }
            Role::User | Role::Tool if !text.is_empty() => {
                out.push(json!({"role": "user", "content": text}))
            }
            Role::Assistant => {
                let calls: Vec<Value> = message
                    .content
                    .iter()
                    .filter_map(|b| match b {
                        ContentBlock::ToolUse { id, name, input } => Some(json!({
                            "id": id, "type": "function",
                            "function": {"name": name, "arguments": input.to_string()}})),
                        _ => None,
                    })
                    .collect();
                if text.is_empty() && calls.is_empty() {
                    continue;
                }
                let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
                if !calls.is_empty() {
                    m["tool_calls"] = Value::Array(calls);
                }
                out.push(m);
            }
            _ => {}
        }
    }
    out
}

/// The neutral response for a 2xx body (latency and attempts are filled in by the caller).
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ProviderError> {
    let choice = body
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| ProviderError::InvalidResponse("no `choices` in the answer".into()))?;
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut content = Vec::new();
    if let Some(text) = message_text(message.get("content")) {
        content.push(ContentBlock::text(text));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array);
    for call in calls.into_iter().flatten() {
        let function = call.get("function").cloned().unwrap_or(Value::Null);
        content.push(ContentBlock::ToolUse {
            id: str_field(call, "id"),
            name: str_field(&function, "name"),
            input: crate::json::tool_arguments(function.get("arguments").unwrap_or(&Value::Null)),
        });
    }
    let has_calls = content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
    let stop_reason = match choice.get("finish_reason").and_then(Value::as_str) {
        Some("stop") => StopReason::EndTurn,
        Some("tool_calls") | Some("function_call") => StopReason::ToolUse,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
        None if has_calls => StopReason::ToolUse,
        None => StopReason::EndTurn,
    };
    let u = body.get("usage").cloned().unwrap_or(Value::Null);
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let usage = Usage {
        input_tokens: n("/prompt_tokens"),
        output_tokens: n("/completion_tokens"),
        cache_read_tokens: n("/prompt_tokens_details/cached_tokens"),
        cache_write_tokens: n("/prompt_tokens_details/cache_write_tokens"),
    };
    Ok(ChatResponse {
        content,
        stop_reason,
        usage,
        cost_usd: u.get("cost").and_then(Value::as_f64),
        model: str_field(body, "model"),
        latency_ms: 0,
        attempts: 0,
    })
}

/// `content` is a string, null, or (some compatible servers) an array of text parts.
fn message_text(content: Option<&Value>) -> Option<String> {
    let text = match content? {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
