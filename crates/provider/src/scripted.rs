//! A scripted model server on 127.0.0.1: answers HTTP requests from a queue of canned replies
//! and records what it was sent.
//!
//! Code that sits on top of a provider (the LLM judge, the API agent loop, an offline demo) is
//! tested through the real HTTP client against this server, so the wire mapping is exercised
//! too, with no network and no new dependency (plain tokio sockets, one request per connection).

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One canned HTTP answer.
#[derive(Debug, Clone)]
pub struct ScriptedReply {
    pub status: u16,
    /// Extra response headers (e.g. `retry-after`).
    pub headers: Vec<(String, String)>,
    /// Sent as `application/json`.
    pub body: String,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Duration,
}

impl ScriptedReply {
    /// Answer `status` with a JSON body.
    pub fn json(status: u16, body: Value) -> Self {
        ScriptedReply {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// An OpenAI chat-completions answer with `text` and the given token counts.
    pub fn openai_text(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self::json(
            200,
            json!({
                "id": "chatcmpl-scripted", "object": "chat.completion", "model": "scripted-model",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}
            }),
        )
    }

    /// An Anthropic Messages answer with `text`.
    pub fn anthropic_text(text: &str, input_tokens: u64, output_tokens: u64) -> Self {
        Self::json(
            200,
            json!({
                "id": "msg_scripted", "type": "message", "role": "assistant", "model": "scripted-model",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}
            }),
        )
    }

    /// Add a response header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Answer only after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (Null when it is not JSON).
    pub body: Value,
}

impl RecordedRequest {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    replies: Mutex<VecDeque<ScriptedReply>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// The running server; it stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Listen on 127.0.0.1 on a free port and answer with `replies` in order; once they run out
    /// every request gets a 500 saying so.
    pub async fn start(replies: Vec<ScriptedReply>) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            replies: Mutex::new(replies.into()),
            ..State::default()
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &state).await;
                });
            }
        });
        Ok(ScriptedServer { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`, to use as a provider base URL (add `/v1` for OpenAI style).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue one more reply.
    pub fn push(&self, reply: ScriptedReply) {
        lock(&self.state.replies).push_back(reply);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read one request, record it, answer with the next reply, close.
async fn serve(mut stream: TcpStream, state: &State) -> io::Result<()> {
    const MAX: usize = 16 * 1024 * 1024;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > MAX {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split_whitespace();
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body_end = buf.len().min(head_end + length);
    let body = serde_json::from_slice(&buf[head_end..body_end]).unwrap_or(Value::Null);
    lock(&state.requests).push(RecordedRequest {
        method,
        path,
        headers,
        body,
    });
    let reply = lock(&state.replies).pop_front().unwrap_or_else(|| {
        ScriptedReply::json(
            500,
            json!({"error": {"message": "scripted server: no reply left"}}),
        )
    });
    tokio::time::sleep(reply.delay).await;
    let mut out = format!(
        "HTTP/1.1 {} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}
