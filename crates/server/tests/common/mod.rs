//! Shared helpers of the server's HTTP-level tests: an app on a throwaway database (SQLite or
//! PostgreSQL, via `zebench_store::backend_tests!`), requests through `tower::ServiceExt::oneshot`,
//! example payloads, and a snapshot of everything the read API shows (to prove a refused request
//! stored nothing).
#![allow(dead_code)]

pub mod net;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;
use zebench_server::{ApiKey, AppState, ServerConfig};
use zebench_store::testing::TestDb;

pub const KEY: &str = "test-key";
/// 2026-03-11T10:00:00.000Z in epoch milliseconds.
pub const T0: i64 = 1_773_223_200_000;

/// The configuration every test uses unless it needs another: one write key.
pub fn config() -> ServerConfig {
    ServerConfig {
        api_keys: vec![ApiKey::new(KEY)],
        ..Default::default()
    }
}

/// The application on its own store, opened on the test's database.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} response is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts the status, showing the body when it differs; returns the body as JSON when
    /// it is JSON, else as a JSON string.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        let is_json = self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"));
        if is_json {
            self.json()
        } else {
            Value::String(self.text())
        }
    }
}

impl TestApp {
    pub async fn new(db: &TestDb) -> TestApp {
        TestApp::with_config(db, config()).await
    }

    pub async fn with_config(db: &TestDb, config: ServerConfig) -> TestApp {
        let state = AppState::new(Arc::new(db.reopen().await), config).expect("keys");
        TestApp {
            router: zebench_server::app(state.clone()),
            state,
        }
    }

    /// Ends event streams and closes the app's store (the test's `TestDb` is cleaned up after).
    pub async fn close(self) {
        self.state.shutdown.cancel();
        self.state.store.close().await;
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("read body").to_bytes();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// GET, asserting 200; returns the JSON body.
    pub async fn get_json(&self, uri: &str) -> Value {
        let r = self.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "GET {uri}: {}", r.text());
        r.json()
    }

    /// POST a JSON body with the test key.
    pub async fn post(&self, uri: &str, body: &Value) -> Resp {
        self.post_raw(uri, body.to_string(), Some(&format!("Bearer {KEY}")))
            .await
    }

    pub async fn post_raw(&self, uri: &str, body: impl Into<Bytes>, auth: Option<&str>) -> Resp {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        self.send(req.body(Body::from(body.into())).unwrap()).await
    }

    /// POST /api/results, asserting 201.
    pub async fn submit(&self, run: &Value) {
        let r = self.post("/api/results", run).await;
        let body = r.expect(201);
        assert_eq!(body, json!({"success": true, "runId": run["runId"]}));
    }

    /// POST /api/results/bulk, asserting 201.
    pub async fn submit_bulk(&self, runs: &[Value]) {
        self.post("/api/results/bulk", &Value::Array(runs.to_vec()))
            .await
            .expect(201);
    }

    /// Everything the read API shows about the stored data, to compare before and after a
    /// refused request.
    pub async fn snapshot(&self) -> Value {
        let batches = self.get_json("/api/batches?limit=1000").await;
        let mut details = Vec::new();
        for b in batches.as_array().unwrap() {
            let id = b["batchId"].as_str().unwrap();
            details.push(self.get_json(&format!("/api/batches/{id}")).await);
        }
        json!({
            "stats": self.get_json("/api/stats").await,
            "agents": self.get_json("/api/stats/agents").await,
            "runs": self.get_json("/api/runs?limit=1000").await,
            "batches": batches,
            "batchDetails": details,
            "evaluators": self.get_json("/api/breakdowns/evaluator").await,
            "byDay": self.get_json("/api/breakdowns/day?status=completed").await,
        })
    }

    pub async fn run_count(&self) -> usize {
        self.get_json("/api/runs?limit=1000")
            .await
            .as_array()
            .unwrap()
            .len()
    }
}

/// A complete run as the seed's logger sends it (API.md's example, with its own ids).
pub fn run(id: &str) -> Value {
    json!({
        "runId": id,
        "batchId": "batch-1",
        "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L1",
        "agent": "anthropic", "model": "claude-sonnet-4-5",
        "status": "completed",
        "startedAt": "2026-03-11T10:00:00.000Z", "completedAt": "2026-03-11T10:04:12.345Z",
        "totalScore": 0.75, "weightedScore": 7.5, "isSuccessful": true, "successMetric": 0.75,
        "metadata": {"packageManager": "pnpm", "diffSummary": [{"file": "apps/app/package.json", "changeType": "modified"}]},
        "evaluations": [
            {"evaluatorName": "HeuristicChecksEvaluator", "score": 0.8, "maxScore": 1, "details": "Passed: 6/8 checks"},
            {"evaluatorName": "LLMJudgeEvaluator", "score": 0.7, "maxScore": 1, "details": "{\"scores\":[1,2]}"}
        ],
        "telemetry": {"toolCalls": 12, "tokensIn": 45210, "tokensOut": 3120, "costUsd": 0.182,
                      "durationMs": 241000, "workspaceDir": "/tmp/zebench/ws-Ab12Cd", "promptSent": "Update the deps"}
    })
}

/// `base` with the keys of `patch` replaced (a `null` in `patch` removes the key).
pub fn with(mut base: Value, patch: Value) -> Value {
    let obj = base.as_object_mut().unwrap();
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    base
}

/// The run ids of a JSON array of runs, in order.
pub fn ids(runs: &Value) -> Vec<String> {
    runs.as_array()
        .unwrap()
        .iter()
        .map(|r| r["runId"].as_str().unwrap().to_string())
        .collect()
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `names` sorted, as owned strings (to compare with [`keys`]).
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Field names of API.md's Objects section, plus the (new) `submittedBy` that every run sent
/// through the API carries.
pub const RUN_KEYS: [&str; 20] = [
    "id",
    "runId",
    "batchId",
    "suite",
    "scenario",
    "tier",
    "agent",
    "model",
    "status",
    "startedAt",
    "completedAt",
    "totalScore",
    "weightedScore",
    "successMetric",
    "isSuccessful",
    "metadata",
    "specialistEnabled",
    "specialistName",
    "specialistVersion",
    "submittedBy",
];
pub const EVALUATION_KEYS: [&str; 7] = [
    "id",
    "runId",
    "evaluatorName",
    "score",
    "maxScore",
    "details",
    "createdAt",
];
pub const TELEMETRY_KEYS: [&str; 8] = [
    "id",
    "runId",
    "toolCalls",
    "tokensIn",
    "tokensOut",
    "costUsd",
    "durationMs",
    "workspaceDir",
];
/// API.md's batch fields plus the two additions the server documents as (new) in its
/// OpenAPI spec (`failedRuns`, `totalCostUsd`); API.md's Objects section does not list them.
pub const BATCH_KEYS: [&str; 10] = [
    "batchId",
    "createdAt",
    "completedAt",
    "totalRuns",
    "successfulRuns",
    "avgScore",
    "avgWeightedScore",
    "metadata",
    "failedRuns",
    "totalCostUsd",
];

/// True for `2026-03-11T10:00:00.000Z`-shaped strings.
pub fn is_iso(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

/// ISO string of `T0 + offset_ms`.
pub fn iso(offset_ms: i64) -> String {
    zebench_core::Timestamp(T0 + offset_ms).to_iso()
}

/// JSON equality where numbers compare by value (`1` equals `1.0`), as a JavaScript client sees them.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Asserts [`same`], printing both values when they differ.
#[track_caller]
pub fn assert_same(got: &Value, want: &Value, what: &str) {
    assert!(same(got, want), "{what}: got {got}, want {want}");
}

/// Runs over two agents, two models, two suites, three days, two statuses and two evaluators,
/// with scores that add up exactly in any order.
pub async fn seed_breakdown_data(app: &TestApp) {
    let day = 86_400_000;
    let specs = [
        ("r1", "claude", "sonnet", "s1", "L1", "completed", 0.5, 0),
        ("r2", "claude", "opus", "s1", "L2", "completed", 1.0, day),
        ("r3", "codex", "gpt", "s2", "L1", "completed", 0.25, day),
        ("r4", "codex", "gpt", "s2", "L1", "failed", 0.0, 2 * day),
        (
            "r5",
            "claude",
            "sonnet",
            "s2",
            "L2",
            "completed",
            0.75,
            2 * day + 5,
        ),
    ];
    let runs: Vec<Value> = specs
        .iter()
        .map(|(id, agent, model, suite, tier, status, score, at)| {
            with(
                run(id),
                json!({"agent": agent, "model": model, "suite": suite, "scenario": format!("{suite}-c"),
                       "tier": tier, "status": status, "totalScore": score, "weightedScore": score * 8.0,
                       "isSuccessful": *score >= 0.5, "startedAt": T0 + at,
                       "evaluations": [{"evaluatorName": "E1", "score": score, "maxScore": 1},
                                       {"evaluatorName": "E2", "score": 2, "maxScore": 4}],
                       "telemetry": {"toolCalls": 2, "tokensIn": 100, "tokensOut": 10, "costUsd": 0.125, "durationMs": 1000}}),
            )
        })
        .collect();
    app.submit_bulk(&runs).await;
}
