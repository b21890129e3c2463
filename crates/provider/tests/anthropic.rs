//! Anthropic Messages mapping, checked on the wire against a fake server.

mod common;

use common::{config, ok, start, KEY};
use serde_json::json;
use zebench_provider::{
    AnthropicProvider, ChatRequest, ContentBlock, Message, Provider, ProviderKind, StopReason,
    ToolDef,
};

fn read_file_tool() -> ToolDef {
    ToolDef {
        name: "read_file".into(),
        description: "Read a file in the workspace".into(),
        input_schema: json!({"type": "object",
            "properties": {"path": {"type": "string", "description": "relative path"}},
            "required": ["path"]}),
    }
}

#[tokio::test]
async fn anthropic_tool_use_round_trip() {
    let fake = start(vec![
        ok(json!({
            "id": "msg_1", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.txt"}}
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 100, "output_tokens": 20,
                      "cache_creation_input_tokens": 30, "cache_read_input_tokens": 50}
        })),
        ok(common::anthropic_text("The file says hello.")),
    ])
    .await;
    let provider = AnthropicProvider::new(config(ProviderKind::Anthropic, &fake.base)).unwrap();
    assert_eq!(provider.name(), "anthropic");

    let mut req = ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: Some("You are a coding agent.".into()),
        messages: vec![
            Message::system("Stay in the workspace."),
            Message::user("What is in a.txt?"),
        ],
        tools: vec![read_file_tool()],
        max_tokens: 1024,
        temperature: Some(0.2),
    };
    let first = provider.chat(&req).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.text(), "Let me look.");
    let calls: Vec<_> = first.tool_uses().collect();
    assert_eq!(
        calls,
        vec![("toolu_1", "read_file", &json!({"path": "a.txt"}))]
    );
    assert_eq!(
        first.usage.input_tokens, 180,
        "uncached + cache write + cache read"
    );
    assert_eq!(first.usage.output_tokens, 20);
    assert_eq!(first.usage.cache_read_tokens, 50);
    assert_eq!(first.usage.cache_write_tokens, 30);
    assert_eq!(first.model, "claude-sonnet-4-5-20250929");
    assert_eq!(first.cost_usd, None);
    assert_eq!(first.attempts, 1);

    req.messages.push(Message::assistant(first.content.clone()));
    req.messages
        .push(Message::tool_results(vec![ContentBlock::ToolResult {
            tool_use_id: "toolu_1".into(),
            content: "hello".into(),
            is_error: false,
        }]));
    req.messages.push(Message::user("Summarise it."));
    let second = provider.chat(&req).await.unwrap();
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert_eq!(second.text(), "The file says hello.");

    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    let first_req = &seen[0];
    assert_eq!(first_req.path, "/v1/messages");
    assert_eq!(first_req.headers["x-api-key"], KEY);
    assert_eq!(first_req.headers["anthropic-version"], "2023-06-01");
    assert_eq!(first_req.headers["content-type"], "application/json");
    assert!(first_req.headers.get("authorization").is_none());
    let body = &first_req.body;
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(
        body["system"],
        "You are a coding agent.\n\nStay in the workspace."
    );
    assert_eq!(
        body["tools"],
        json!([{"name": "read_file", "description": "Read a file in the workspace",
                "input_schema": read_file_tool().input_schema}])
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "What is in a.txt?"}]}])
    );

    let messages = seen[1].body["messages"].as_array().unwrap().clone();
    assert_eq!(
        messages.len(),
        3,
        "tool result and the user note merge into one user turn"
    );
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a.txt"}}
        ]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "hello"},
            {"type": "text", "text": "Summarise it."}
        ]})
    );
}

#[tokio::test]
async fn anthropic_error_results_and_stop_reasons() {
    let fake = start(vec![
        ok(
            json!({"content": [{"type": "text", "text": "cut"}], "stop_reason": "max_tokens",
                  "usage": {"input_tokens": 1, "output_tokens": 1}}),
        ),
        ok(json!({"content": [], "stop_reason": "refusal", "usage": {}})),
    ])
    .await;
    let provider = AnthropicProvider::new(config(ProviderKind::Anthropic, &fake.base)).unwrap();
    let mut req = ChatRequest::simple("claude-x", "go", 16);
    req.messages
        .push(Message::tool_results(vec![ContentBlock::ToolResult {
            tool_use_id: "toolu_9".into(),
            content: "no such file".into(),
            is_error: true,
        }]));
    let r = provider.chat(&req).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxTokens);
    assert_eq!(r.model, "claude-x", "falls back to the requested model");
    let r = provider.chat(&req).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::Other("refusal".into()));
    assert!(r.content.is_empty());

    let body = &fake.seen()[0].body;
    assert!(body.get("system").is_none());
    assert!(body.get("tools").is_none());
    assert!(body.get("temperature").is_none());
    assert_eq!(
        body["messages"][0]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_9", "content": "no such file", "is_error": true})
    );
}
