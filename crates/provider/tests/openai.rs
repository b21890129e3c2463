//! OpenAI-compatible chat completions mapping (OpenAI and OpenRouter), checked on the wire.

mod common;

use common::{config, ok, start, KEY};
use serde_json::json;
use zebench_provider::{
    ChatRequest, ContentBlock, Message, OpenAiProvider, Provider, ProviderKind, StopReason, ToolDef,
};

fn tools() -> Vec<ToolDef> {
    let schema = json!({"type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path"], "additionalProperties": false});
    vec![
        ToolDef {
            name: "read_file".into(),
            description: "Read a file".into(),
            input_schema: schema.clone(),
        },
        ToolDef {
            name: "write_file".into(),
            description: "Write a file".into(),
            input_schema: schema,
        },
    ]
}

#[tokio::test]
async fn openai_parallel_tool_calls_usage_and_openrouter_cost() {
    let fake = start(vec![
        ok(json!({
            "id": "gen-1", "model": "openai/gpt-5",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [
                    {"id": "call_a", "type": "function",
                     "function": {"name": "read_file", "arguments": "{\"path\":\"a.txt\"}"}},
                    {"id": "call_b", "type": "function",
                     "function": {"name": "write_file", "arguments": "{\"path\": \"b.txt\", \"content\": "}}
                ]}}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
                      "prompt_tokens_details": {"cached_tokens": 1000}, "cost": 0.00123}
        })),
        ok(common::openai_text("done")),
    ])
    .await;
    let provider = OpenAiProvider::new(config(ProviderKind::OpenRouter, &fake.base)).unwrap();
    assert_eq!(provider.name(), "openrouter");
    let mut req = ChatRequest {
        model: "openai/gpt-5".into(),
        system: Some("Be brief.".into()),
        messages: vec![Message::user("Copy a.txt to b.txt")],
        tools: tools(),
        max_tokens: 500,
        temperature: None,
    };
    let first = provider.chat(&req).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.text(), "");
    let calls: Vec<_> = first.tool_uses().collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0], ("call_a", "read_file", &json!({"path": "a.txt"})));
    assert_eq!(calls[1].0, "call_b");
    assert_eq!(
        calls[1].2,
        &json!({"_raw": "{\"path\": \"b.txt\", \"content\": "}),
        "invalid arguments are kept, not an error"
    );
    assert_eq!(first.usage.input_tokens, 1200);
    assert_eq!(first.usage.output_tokens, 80);
    assert_eq!(first.usage.cache_read_tokens, 1000);
    assert_eq!(first.cost_usd, Some(0.00123));
    assert_eq!(first.model, "openai/gpt-5");

    req.messages.push(Message::assistant(first.content.clone()));
    req.messages.push(Message::tool_results(vec![
        ContentBlock::ToolResult {
            tool_use_id: "call_a".into(),
            content: "hello".into(),
            is_error: false,
        },
        ContentBlock::ToolResult {
            tool_use_id: "call_b".into(),
            content: "bad arguments".into(),
            is_error: true,
        },
    ]));
    let second = provider.chat(&req).await.unwrap();
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert_eq!(second.text(), "done");
    assert_eq!(second.cost_usd, None);

    let seen = fake.seen();
    assert_eq!(seen[0].path, "/chat/completions");
    assert_eq!(seen[0].headers["authorization"], format!("Bearer {KEY}"));
    let body = &seen[0].body;
    assert_eq!(
        body["usage"],
        json!({"include": true}),
        "OpenRouter is asked for the cost"
    );
    assert_eq!(body["max_tokens"], 500);
    assert!(body.get("temperature").is_none());
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "read_file", "description": "Read a file",
               "parameters": tools()[0].input_schema}})
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Copy a.txt to b.txt"}])
    );

    let messages = seen[1].body["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], serde_json::Value::Null);
    let wire_calls = messages[2]["tool_calls"].as_array().unwrap();
    assert_eq!(wire_calls.len(), 2);
    assert_eq!(wire_calls[0]["id"], "call_a");
    assert_eq!(wire_calls[0]["type"], "function");
    assert_eq!(wire_calls[0]["function"]["name"], "read_file");
    let args: serde_json::Value =
        serde_json::from_str(wire_calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"path": "a.txt"}));
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": "call_a", "content": "hello"})
    );
    assert_eq!(
        messages[4],
        json!({"role": "tool", "tool_call_id": "call_b", "content": "Error: bad arguments"})
    );
}

#[tokio::test]
async fn openai_finish_reasons_and_plain_openai_body() {
    let fake = start(vec![
        ok(json!({"choices": [{"finish_reason": "length",
            "message": {"role": "assistant", "content": "partial"}}], "usage": {}})),
        ok(json!({"choices": [{"finish_reason": "content_filter",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]})),
    ])
    .await;
    let provider = OpenAiProvider::new(config(ProviderKind::OpenAi, &fake.base)).unwrap();
    assert_eq!(provider.name(), "openai");
    let mut req = ChatRequest::simple("gpt-x", "hi", 64);
    req.temperature = Some(0.0);
    let r = provider.chat(&req).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::MaxTokens);
    assert_eq!(r.text(), "partial");
    assert_eq!(r.model, "gpt-x");
    assert_eq!(r.usage.input_tokens, 0);
    let r = provider.chat(&req).await.unwrap();
    assert_eq!(r.stop_reason, StopReason::Other("content_filter".into()));
    assert_eq!(r.text(), "ab");

    let body = &fake.seen()[0].body;
    assert!(
        body.get("usage").is_none(),
        "only OpenRouter gets the usage flag"
    );
    assert!(body.get("tools").is_none());
    assert_eq!(body["max_tokens"], 64, "compatible servers get max_tokens");
    assert_eq!(body["temperature"], 0.0);
}
