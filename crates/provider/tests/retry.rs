//! Retries, backoff, Retry-After and error reporting, against a fake server.

mod common;

use common::{config, ok, start, status, Step};
use serde_json::json;
use std::time::{Duration, Instant};
use zebench_provider::{
    AnthropicProvider, ChatRequest, OpenAiProvider, Provider, ProviderError, ProviderKind,
};

fn req() -> ChatRequest {
    ChatRequest::simple("model-x", "hi", 32)
}

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let mut limited = status(429, json!({"error": {"message": "slow down"}}));
    limited.headers.push(("retry-after", "1".into()));
    let fake = start(vec![limited, ok(common::openai_text("ok"))]).await;
    let provider = OpenAiProvider::new(config(ProviderKind::OpenAi, &fake.base)).unwrap();
    let started = Instant::now();
    let r = provider.chat(&req()).await.unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(r.attempts, 2);
    assert_eq!(fake.hits(), 2);
    // The jittered backoff alone is at most 5 ms here: a wait of a second is the header's.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert!(r.latency_ms >= 950);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let mut limited = status(429, json!({}));
    limited.headers.push(("retry-after", "3600".into()));
    let fake = start(vec![limited, ok(common::openai_text("ok"))]).await;
    let mut c = config(ProviderKind::OpenAi, &fake.base);
    c.retry_max_delay = Duration::from_millis(50);
    let started = Instant::now();
    let r = OpenAiProvider::new(c).unwrap().chat(&req()).await.unwrap();
    assert_eq!(r.attempts, 2);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn overloaded_529_is_retried() {
    let overloaded = status(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    let fake = start(vec![overloaded, ok(common::anthropic_text("fine"))]).await;
    let provider = AnthropicProvider::new(config(ProviderKind::Anthropic, &fake.base)).unwrap();
    let r = provider.chat(&req()).await.unwrap();
    assert_eq!(r.text(), "fine");
    assert_eq!(r.attempts, 2);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn bad_request_is_not_retried_and_message_extracted() {
    let fake = start(vec![
        status(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": "max_tokens: must be positive"}}),
        ),
        ok(common::anthropic_text("never")),
    ])
    .await;
    let provider = AnthropicProvider::new(config(ProviderKind::Anthropic, &fake.base)).unwrap();
    let err = provider.chat(&req()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            status: 400,
            message: "max_tokens: must be positive".into()
        }
    );
    assert_eq!(err.status(), Some(400));
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn timeout_is_retried_then_reported_with_attempt_count() {
    let slow = Step {
        delay: Duration::from_secs(3),
        ..ok(common::openai_text("late"))
    };
    let fake = start(vec![slow.clone(), slow.clone(), slow]).await;
    let mut c = config(ProviderKind::OpenAi, &fake.base);
    c.timeout = Duration::from_millis(200);
    let err = OpenAiProvider::new(c)
        .unwrap()
        .chat(&req())
        .await
        .unwrap_err();
    match &err {
        ProviderError::RetriesExhausted {
            attempts,
            last_error,
        } => {
            assert_eq!(*attempts, 3);
            assert!(last_error.contains("timed out"), "{last_error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("after 3 attempt(s)"), "{err}");
    assert_eq!(fake.hits(), 3);
}

#[tokio::test]
async fn server_errors_exhaust_retries() {
    let fail = || status(503, json!({"error": {"message": "upstream down"}}));
    let fake = start(vec![
        fail(),
        fail(),
        fail(),
        ok(common::openai_text("too late")),
    ])
    .await;
    let err = OpenAiProvider::new(config(ProviderKind::OpenAi, &fake.base))
        .unwrap()
        .chat(&req())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ProviderError::RetriesExhausted {
            attempts: 3,
            last_error: "HTTP 503: upstream down".into()
        }
    );
    assert_eq!(fake.hits(), 3);
}

#[tokio::test]
async fn openrouter_error_inside_a_200_is_an_error() {
    let fake = start(vec![
        ok(json!({"error": {"code": 429, "message": "Provider rate limited"}})),
        ok(json!({"error": {"code": 400, "message": "context too long"}})),
    ])
    .await;
    let err = OpenAiProvider::new(config(ProviderKind::OpenRouter, &fake.base))
        .unwrap()
        .chat(&req())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            status: 400,
            message: "context too long".into()
        }
    );
    assert_eq!(fake.hits(), 2, "the in-body 429 was retried");
}

#[tokio::test]
async fn connection_refused_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = OpenAiProvider::new(config(ProviderKind::OpenAi, &base))
        .unwrap()
        .chat(&req())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProviderError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_success_body_is_invalid_response() {
    let fake = start(vec![ok(json!({"unexpected": true}))]).await;
    let err = OpenAiProvider::new(config(ProviderKind::OpenAi, &fake.base))
        .unwrap()
        .chat(&req())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::InvalidResponse(_)), "{err:?}");
    assert_eq!(fake.hits(), 1);
}
