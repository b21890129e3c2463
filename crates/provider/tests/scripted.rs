//! The scripted server that other crates use to test code built on a provider.

use serde_json::json;
use zebench_provider::scripted::{ScriptedReply, ScriptedServer};
use zebench_provider::{ChatRequest, ProviderConfig, ProviderKind, Secret};

#[tokio::test]
async fn scripted_server_answers_in_order_and_records_requests() {
    let server = ScriptedServer::start(vec![ScriptedReply::openai_text("one", 7, 3)])
        .await
        .unwrap();
    server.push(
        ScriptedReply::json(429, json!({"error": {"message": "later"}}))
            .with_header("retry-after", "0"),
    );
    server.push(ScriptedReply::openai_text("two", 1, 1));
    let mut config = ProviderConfig::new(ProviderKind::OpenAi, Secret::new("sk-scripted"))
        .with_base_url(format!("{}/v1", server.base_url()));
    config.retry_base_delay = std::time::Duration::from_millis(1);
    let provider = config.build().unwrap();
    let req = ChatRequest::simple("judge-model", "hello there", 100);
    let first = provider.chat(&req).await.unwrap();
    assert_eq!(
        (
            first.text().as_str(),
            first.usage.input_tokens,
            first.usage.output_tokens
        ),
        ("one", 7, 3)
    );
    let second = provider.chat(&req).await.unwrap();
    assert_eq!((second.text().as_str(), second.attempts), ("two", 2));
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].header("Authorization"), Some("Bearer sk-scripted"));
    assert_eq!(seen[0].body["messages"][0]["content"], "hello there");
    let exhausted = provider.chat(&req).await;
    assert!(exhausted.is_err(), "no replies left means 500s");
}
