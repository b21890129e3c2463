//! A fake model server (axum on 127.0.0.1:0) for the provider tests: it answers each request
//! with the next scripted step and records headers and body, so tests check the real HTTP
//! client's requests and its handling of answers.

#![allow(dead_code)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zebench_provider::{ProviderConfig, ProviderKind, Secret};

pub const KEY: &str = "sk-test-SECRET-0123456789";

/// One scripted answer.
#[derive(Clone)]
pub struct Step {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
    pub delay: Duration,
}

pub fn ok(body: Value) -> Step {
    Step {
        status: 200,
        headers: vec![],
        body,
        delay: Duration::ZERO,
    }
}

pub fn status(status: u16, body: Value) -> Step {
    Step {
        status,
        headers: vec![],
        body,
        delay: Duration::ZERO,
    }
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    steps: Mutex<VecDeque<Step>>,
    seen: Mutex<Vec<Seen>>,
}

pub struct Fake {
    pub base: String,
    inner: Arc<Inner>,
}

impl Fake {
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }
    pub fn hits(&self) -> usize {
        self.inner.seen.lock().unwrap().len()
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    inner.seen.lock().unwrap().push(Seen {
        path: uri.path().to_string(),
        headers,
        body,
    });
    let step = inner.steps.lock().unwrap().pop_front();
    let Some(step) = step else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no step left").into_response();
    };
    tokio::time::sleep(step.delay).await;
    let mut response =
        (StatusCode::from_u16(step.status).unwrap(), Json(step.body)).into_response();
    for (name, value) in step.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Start a fake server answering `steps` in order on any POST path.
pub async fn start(steps: Vec<Step>) -> Fake {
    let inner = Arc::new(Inner {
        steps: Mutex::new(steps.into()),
        ..Inner::default()
    });
    let app = Router::new()
        .route("/{*path}", post(handle))
        .with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake { base, inner }
}

/// A config pointing at `base` with fast retries, so tests take milliseconds.
pub fn config(kind: ProviderKind, base: &str) -> ProviderConfig {
    let mut c = ProviderConfig::new(kind, Secret::new(KEY)).with_base_url(base);
    c.timeout = Duration::from_secs(5);
    c.max_retries = 2;
    c.retry_base_delay = Duration::from_millis(5);
    c.retry_max_delay = Duration::from_secs(5);
    c
}

pub fn openai_text(text: &str) -> Value {
    json!({"model": "m", "choices": [{"finish_reason": "stop",
        "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
}

pub fn anthropic_text(text: &str) -> Value {
    json!({"model": "claude-x", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 2}})
}
