//! Shared helpers of the client's tests: the real zebench server on a throwaway SQLite database,
//! on a loopback port that can be held closed (connections refused) and reopened, so a test can
//! take the server away and bring it back at the same URL.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;
use zebench_client::{ClientConfig, PendingItem};
use zebench_core::RunResult;
use zebench_server::{ApiKey, AppState, ServerConfig};
use zebench_store::testing::TestDb;

pub const KEY: &str = "client-test-key-5f3a9c";

/// A loopback port bound but not listening: connections to it are refused until a server is
/// started on it, and no other process can take it meanwhile.
pub struct Port {
    pub addr: SocketAddr,
    socket: TcpSocket,
}

impl Port {
    pub fn reserve() -> Port {
        Port::bind("127.0.0.1:0".parse().unwrap())
    }

    fn bind(addr: SocketAddr) -> Port {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(addr).expect("bind loopback port");
        let addr = socket.local_addr().expect("local addr");
        Port { addr, socket }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The real server, serving until [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    state: AppState,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    /// Starts the server on `port`, on its own store opened on `db`.
    pub async fn start(db: &TestDb, port: Port) -> TestServer {
        TestServer::start_with(db, port, server_config()).await
    }

    /// Starts the server on `port` with `config`.
    pub async fn start_with(db: &TestDb, port: Port, config: ServerConfig) -> TestServer {
        let listener = port.socket.listen(1024).expect("listen");
        let state = AppState::new(Arc::new(db.reopen().await), config).expect("keys");
        let task = tokio::spawn(zebench_server::serve(listener, state.clone()));
        TestServer {
            addr: port.addr,
            state,
            task,
        }
    }

    /// Starts the server on a fresh port.
    pub async fn fresh(db: &TestDb) -> TestServer {
        TestServer::start(db, Port::reserve()).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server gracefully; returns its port, held closed.
    pub async fn stop(self) -> Port {
        self.state.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops within 10 s")
            .expect("server task")
            .expect("server ran");
        Port::bind(self.addr)
    }
}

/// The server settings every test uses unless it needs others: the test key.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        api_keys: vec![ApiKey::new(KEY)],
        ..Default::default()
    }
}

/// Fast settings for tests: the test key, short backoffs, 3 attempts.
pub fn config(url: &str, outbox: &Path) -> ClientConfig {
    let mut cfg = ClientConfig::new(url);
    cfg.api_key = Some(KEY.into());
    cfg.outbox_dir = outbox.to_path_buf();
    cfg.request_timeout = Duration::from_secs(5);
    cfg.max_attempts = 3;
    cfg.initial_backoff = Duration::from_millis(10);
    cfg.max_backoff = Duration::from_millis(40);
    cfg.max_retry_after = Duration::from_secs(5);
    cfg
}

/// A complete run (API.md's example with its own id).
pub fn run(id: &str) -> RunResult {
    serde_json::from_value(json!({
        "runId": id,
        "batchId": "batch-client",
        "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L1",
        "agent": "anthropic", "model": "claude-sonnet-4-5",
        "status": "completed",
        "startedAt": "2026-03-11T10:00:00.000Z", "completedAt": "2026-03-11T10:04:12.345Z",
        "totalScore": 0.75, "weightedScore": 7.5, "isSuccessful": true, "successMetric": 0.75,
        "metadata": {"packageManager": "pnpm"},
        "evaluations": [
            {"evaluatorName": "HeuristicChecksEvaluator", "score": 0.8, "maxScore": 1, "details": "Passed: 6/8 checks"}
        ],
        "telemetry": {"toolCalls": 12, "tokensIn": 45210, "tokensOut": 3120, "costUsd": 0.182, "durationMs": 241000}
    }))
    .expect("valid run")
}

/// GET on the server; returns the status and the JSON body (or `null`).
pub async fn get(url: &str, path: &str) -> (u16, Value) {
    zebench_client::install_tls_provider();
    let resp = reqwest::get(format!("{url}{path}")).await.expect("GET");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The run ids the server lists, in its order (newest first).
pub async fn stored_run_ids(url: &str) -> Vec<String> {
    let (status, body) = get(url, "/api/runs?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .expect("array of runs")
        .iter()
        .map(|r| r["runId"].as_str().unwrap().to_string())
        .collect()
}

/// Names of the files in `dir` (sorted).
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Ids of pending items.
pub fn pending_ids(items: &[PendingItem]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}
