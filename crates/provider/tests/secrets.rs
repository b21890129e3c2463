//! The API key never shows up in Debug output, Display output or error messages; env config
//! names the variable to set.

mod common;

use common::{config, start, status, KEY};
use serde_json::json;
use std::collections::HashMap;
use zebench_provider::{
    AnthropicProvider, ChatRequest, OpenAiProvider, Provider, ProviderConfig, ProviderError,
    ProviderKind, Secret,
};

#[test]
fn secret_never_printed() {
    let secret = Secret::new(KEY);
    assert_eq!(format!("{secret:?}"), "***");
    assert_eq!(format!("{secret}"), "***");
    assert_eq!(secret.expose(), KEY);
    let c = config(ProviderKind::OpenRouter, "http://127.0.0.1:1");
    let debug = format!("{c:?}");
    assert!(!debug.contains(KEY) && debug.contains("***"), "{debug}");
    let provider = OpenAiProvider::new(c).unwrap();
    assert!(!format!("{provider:?}").contains(KEY));
    let provider =
        AnthropicProvider::new(config(ProviderKind::Anthropic, "http://127.0.0.1:1")).unwrap();
    assert!(!format!("{provider:?}").contains(KEY));
}

#[tokio::test]
async fn key_echoed_by_the_server_is_redacted() {
    let echo = |code| {
        status(
            code,
            json!({"error": {"message": format!("invalid key {KEY}")}}),
        )
    };
    let fake = start(vec![echo(401), echo(500), echo(500), echo(500)]).await;
    let provider = OpenAiProvider::new(config(ProviderKind::OpenAi, &fake.base)).unwrap();
    let req = ChatRequest::simple("m", "hi", 8);
    for _ in 0..2 {
        let err = provider.chat(&req).await.unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(KEY), "{text}");
            assert!(text.contains("invalid key ***"), "{text}");
        }
    }
}

#[test]
fn from_env_names_the_missing_variable_and_reads_base_urls() {
    let env: HashMap<&str, &str> = HashMap::from([
        ("OPENROUTER_API_KEY", " or-key "),
        ("OPENROUTER_BASE_URL", "http://gateway.local/api/v1/"),
        ("OPENAI_API_KEY", ""),
    ]);
    let lookup = |name: &str| env.get(name).map(|v| v.to_string());
    for kind in [ProviderKind::Anthropic, ProviderKind::OpenAi] {
        let err = ProviderConfig::from_lookup(kind, lookup).unwrap_err();
        assert!(matches!(err, ProviderError::Config(_)));
        assert!(err.to_string().contains(kind.key_var()), "{err}");
    }
    let c = ProviderConfig::from_lookup(ProviderKind::OpenRouter, lookup).unwrap();
    assert_eq!(c.api_key.expose(), "or-key");
    assert_eq!(c.effective_base_url(), "http://gateway.local/api/v1");
    let anthropic = ProviderConfig::new(ProviderKind::Anthropic, Secret::new("k"));
    assert_eq!(anthropic.effective_base_url(), "https://api.anthropic.com");
    let openai = ProviderConfig::new(ProviderKind::OpenAi, Secret::new("k"));
    assert_eq!(openai.effective_base_url(), "https://api.openai.com/v1");
    assert_eq!(
        "OpenRouter".parse::<ProviderKind>().unwrap(),
        ProviderKind::OpenRouter
    );
    assert!("gemini".parse::<ProviderKind>().is_err());
}

#[tokio::test]
async fn build_picks_the_wire_format() {
    let fake = start(vec![
        common::ok(common::anthropic_text("a")),
        common::ok(common::openai_text("o")),
    ])
    .await;
    let anthropic = config(ProviderKind::Anthropic, &fake.base).build().unwrap();
    let openai = config(ProviderKind::OpenAi, &fake.base).build().unwrap();
    let req = ChatRequest::simple("m", "hi", 8);
    assert_eq!(anthropic.chat(&req).await.unwrap().text(), "a");
    assert_eq!(openai.chat(&req).await.unwrap().text(), "o");
    let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/v1/messages", "/chat/completions"]);
    assert_eq!(anthropic.name(), "anthropic");
}
