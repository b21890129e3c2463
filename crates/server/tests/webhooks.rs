//! Webhooks end to end: a fake receiver (axum on 127.0.0.1) checks what arrives — signature,
//! generic fields, Slack form — and how failures are retried; ingestion stays fast while a
//! receiver hangs; regressions are detected against the previous comparable batch; replicas
//! announce only their own completions; configuration errors name the field.

mod common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use common::TestApp;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zebench_server::config_file::ServerFile;
use zebench_server::webhooks::{
    RetryPolicy, WebhookConfig, WebhookEvent, WebhookFormat, WebhookSecret, WebhookSettings,
    Webhooks,
};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

const SECRET: &str = "s3cret-for-tests";
const PUBLIC: &str = "https://bench.example.com";

// ---------------------------------------------------------------- the fake receiver

#[derive(Clone, Debug)]
enum Reply {
    Status(u16),
    RetryAfter(u16, &'static str),
    /// Never answers (until the client gives up).
    Hang,
}

#[derive(Clone, Debug)]
struct Got {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Got {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn event(&self) -> String {
        self.header("x-zebench-event")
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    then: Option<Reply>,
    got: Vec<Got>,
}

#[derive(Clone)]
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut s = script.lock().unwrap();
        s.got.push(Got {
            at: Instant::now(),
            headers,
            body,
        });
        s.replies
            .pop_front()
            .or_else(|| s.then.clone())
            .unwrap_or(Reply::Status(200))
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::RetryAfter(code, after) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", after)],
        )
            .into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

impl Receiver {
    /// Answers `replies` in order, then `then` forever (200 if `None`).
    async fn start(replies: Vec<Reply>, then: Option<Reply>) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            then,
            got: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook/{token}", axum::routing::post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/hook/T0K3N-in-path"),
            script,
        }
    }

    fn got(&self) -> Vec<Got> {
        self.script.lock().unwrap().got.clone()
    }

    /// Waits until `n` requests arrived (at most 20 s), returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} webhook request(s), got {}: {:?}",
                got.len(),
                got.iter().map(Got::event).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Requests for one event.
    fn of(&self, event: &str) -> Vec<Got> {
        self.got()
            .into_iter()
            .filter(|g| g.event() == event)
            .collect()
    }
}

// ---------------------------------------------------------------- helpers

fn fast() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(30),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        ..RetryPolicy::default()
    }
}

fn hook(url: &str) -> WebhookConfig {
    WebhookConfig::new(url, Some(WebhookSecret::new(SECRET)))
}

async fn start(app: &TestApp, hooks: Vec<WebhookConfig>, policy: RetryPolicy) -> Webhooks {
    Webhooks::start(
        app.state.store.clone(),
        WebhookSettings {
            hooks,
            public_url: Some(PUBLIC.into()),
            policy,
            ..WebhookSettings::default()
        },
    )
    .unwrap()
}

fn run(id: &str, batch: &str, scenario: &str, agent: &str, score: f64) -> Value {
    json!({
        "runId": id, "batchId": batch, "suite": "starter", "scenario": scenario, "tier": "L1",
        "agent": agent, "model": "m1", "status": "completed",
        "weightedScore": score, "totalScore": score / 10.0, "isSuccessful": score >= 7.0,
        "telemetry": {"costUsd": 0.5}
    })
}

async fn complete(app: &TestApp, batch: &str) {
    let r = app
        .post(
            "/api/results/batch",
            &json!({"batchId": batch, "completedAt": zebench_core::Timestamp::now().millis()}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
}

/// A batch of 6 scenarios (`sc0`…`sc5`) × 2 runs scoring `means[s]`, then completed.
async fn batch(app: &TestApp, id: &str, agent: &str, means: [f64; 6]) {
    let mut runs = Vec::new();
    for (s, mean) in means.iter().enumerate() {
        for k in 0..2 {
            runs.push(run(
                &format!("{id}-{s}-{k}"),
                id,
                &format!("sc{s}"),
                agent,
                *mean,
            ));
        }
    }
    app.submit_bulk(&runs).await;
    complete(app, id).await;
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

/// HMAC-SHA256(secret, "{timestamp}.{body}") in hex, computed here independently.
fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn assert_signed(g: &Got) {
    let ts = g.header("x-zebench-timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t: u64 = ts.parse().expect("a unix timestamp");
    assert!(t.abs_diff(now) < 60, "timestamp {t} vs now {now}");
    let sig = g.header("x-zebench-signature");
    assert_eq!(sig, expected_signature(SECRET, &ts, &g.body));
    // The signature covers the body and the timestamp: any change breaks it.
    assert_ne!(sig, expected_signature(SECRET, &ts, b"{}"));
    assert_ne!(
        sig,
        expected_signature(SECRET, &(t + 1).to_string(), &g.body)
    );
    assert_ne!(sig, expected_signature("another", &ts, &g.body));
}

// ---------------------------------------------------------------- payloads

backend_tests!(
    batch_completion_is_signed_and_complete,
    |db: TestDb| async move {
        let rx = Receiver::start(vec![], None).await;
        let app = TestApp::new(&db).await;
        let hooks = start(&app, vec![hook(&rx.url)], fast()).await;
        app.submit_bulk(&[
        run("p1", "nightly/42", "sc1", "anthropic", 8.0),
        run("p2", "nightly/42", "sc2", "anthropic", 6.0),
        json!({"runId": "p3", "batchId": "nightly/42", "suite": "extra", "scenario": "x", "tier": "L2",
               "agent": "echo", "status": "failed", "isSuccessful": false}),
    ])
    .await;
        complete(&app, "nightly/42").await;
        let got = rx.wait_for(1).await;
        let g = &got[0];
        assert_eq!(g.event(), "batch.completed");
        assert_eq!(g.header("content-type"), "application/json");
        let id = g.header("x-zebench-delivery");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_signed(g);
        let p = g.json();
        assert_eq!(p["event"], "batch.completed");
        assert_eq!(p["deliveryId"], id.as_str());
        assert!(p["occurredAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(p["zebenchVersion"], env!("CARGO_PKG_VERSION"));
        assert!(p.get("regression").is_none(), "{p}");
        let b = &p["batch"];
        assert_eq!(b["id"], "nightly/42");
        assert_eq!(b["path"], "/batches/nightly%2F42");
        assert_eq!(b["url"], format!("{PUBLIC}/batches/nightly%2F42"));
        assert_eq!(b["suites"], json!(["extra", "starter"]));
        assert_eq!(b["agents"], json!(["anthropic:m1", "echo"]));
        assert_eq!(b["totalRuns"], 3);
        assert_eq!(b["successfulRuns"], 1);
        assert_eq!(b["failedRuns"], 1);
        assert!(close(&b["meanWeightedScore"], 7.0), "{b}");
        assert!(close(&b["meanScore"], 0.7), "{b}");
        assert!(close(&b["totalCostUsd"], 1.0), "{b}");
        assert!(
            b["createdAt"].is_string() && b["completedAt"].is_string(),
            "{b}"
        );
        // Nothing else follows (no baseline: no regression; one receiver: one delivery).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(rx.got().len(), 1);
        // Nothing pending: shutdown returns at once, not after its grace period.
        let t = Instant::now();
        hooks.shutdown(Duration::from_secs(10)).await;
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "idle shutdown took {:?}",
            t.elapsed()
        );
        app.close().await;
        db
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_form_escapes_what_submitters_wrote() {
    let db = TestDb::sqlite().await;
    let rx = Receiver::start(vec![], None).await;
    let app = TestApp::new(&db).await;
    let mut slack = WebhookConfig::new(&rx.url, None);
    slack.format = WebhookFormat::Slack;
    slack.events = vec![WebhookEvent::BatchCompleted];
    let hooks = start(&app, vec![slack], fast()).await;
    let id = "<!channel> & co";
    let mut r = run("s1", id, "sc1", "<@U123>", 9.0);
    r["suite"] = json!("a>b");
    app.submit(&r).await;
    complete(&app, id).await;
    let g = &rx.wait_for(1).await[0];
    // No secret configured for this Slack hook: no signature header.
    assert_eq!(g.header("x-zebench-signature"), "");
    assert_eq!(g.event(), "batch.completed");
    let p = g.json();
    let text = p["text"].as_str().unwrap();
    assert!(text.starts_with("Batch *&lt;!channel&gt; &amp; co* completed: 1 runs (1 succeeded, 0 failed), mean score 9.00/10, cost $0.50"), "{text}");
    assert!(
        text.ends_with(&format!(
            " (<{PUBLIC}/batches/%3C%21channel%3E%20%26%20co|dashboard>)"
        )),
        "{text}"
    );
    let blocks = p["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(blocks[0]["text"]["text"], text);
    let context = blocks[1]["elements"][0]["text"].as_str().unwrap();
    assert_eq!(context, "suites: a&gt;b · agents: &lt;@U123&gt;:m1");
    let all = String::from_utf8_lossy(&g.body).into_owned();
    for raw in ["<!channel>", "<@U123>", "a>b"] {
        assert!(!all.contains(raw), "{raw:?} reached Slack unescaped: {all}");
    }
    hooks.shutdown(Duration::from_secs(1)).await;
    app.close().await;
    db.cleanup().await;
}

// ---------------------------------------------------------------- retries

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_the_same_delivery_id() {
    let db = TestDb::sqlite().await;
    let rx = Receiver::start(
        vec![Reply::Status(500), Reply::Status(503), Reply::Status(502)],
        None,
    )
    .await;
    let app = TestApp::new(&db).await;
    let hooks = start(&app, vec![hook(&rx.url)], fast()).await;
    batch(&app, "r5", "a", [5.0; 6]).await;
    let got = rx.wait_for(4).await;
    let id = got[0].header("x-zebench-delivery");
    for g in &got {
        assert_eq!(g.header("x-zebench-delivery"), id);
        assert_eq!(g.body, got[0].body, "the body changed between attempts");
        assert_signed(g);
    }
    for w in got.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_millis(10),
            "no backoff between attempts"
        );
    }
    // Accepted on the fourth attempt: no fifth.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), 4);
    hooks.shutdown(Duration::from_secs(1)).await;
    app.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried_and_attempts_are_bounded() {
    let db = TestDb::sqlite().await;
    let refused = Receiver::start(vec![Reply::Status(400)], None).await;
    let gone = Receiver::start(vec![], Some(Reply::Status(410))).await;
    let timeout = Receiver::start(vec![Reply::Status(408)], None).await;
    let failing = Receiver::start(vec![], Some(Reply::Status(500))).await;
    let app = TestApp::new(&db).await;
    let mut bounded = hook(&failing.url);
    bounded.max_attempts = Some(3);
    let hooks = start(
        &app,
        vec![
            hook(&refused.url),
            hook(&gone.url),
            hook(&timeout.url),
            bounded,
        ],
        fast(),
    )
    .await;
    batch(&app, "r4", "a", [5.0; 6]).await;
    failing.wait_for(3).await;
    timeout.wait_for(2).await;
    // Retries would have come within ~0.2 s each (the fast policy): wait well past that.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(refused.got().len(), 1, "a 400 was retried");
    assert_eq!(gone.got().len(), 1, "a 410 was retried");
    assert_eq!(
        timeout.got().len(),
        2,
        "a 408 is retried once, then accepted"
    );
    assert_eq!(failing.got().len(), 3, "max_attempts = 3 was not honoured");
    hooks.shutdown(Duration::from_secs(1)).await;
    app.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_capped() {
    let db = TestDb::sqlite().await;
    let polite = Receiver::start(vec![Reply::RetryAfter(429, "1")], None).await;
    let greedy = Receiver::start(vec![Reply::RetryAfter(503, "3600")], None).await;
    let app = TestApp::new(&db).await;
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_millis(1500),
        ..RetryPolicy::default()
    };
    let hooks = start(&app, vec![hook(&polite.url), hook(&greedy.url)], policy).await;
    batch(&app, "ra", "a", [5.0; 6]).await;
    let p = polite.wait_for(2).await;
    let waited = p[1].at - p[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 not honoured: {waited:?}"
    );
    let g = greedy.wait_for(2).await;
    let waited = g[1].at - g[0].at;
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "Retry-After: 3600 should be cut to max_retry_after (1.5 s): {waited:?}"
    );
    assert_eq!(
        p[0].header("x-zebench-delivery"),
        p[1].header("x-zebench-delivery")
    );
    hooks.shutdown(Duration::from_secs(1)).await;
    app.close().await;
    db.cleanup().await;
}

// ---------------------------------------------------------------- never blocking ingestion

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_slow_ingestion() {
    let db = TestDb::sqlite().await;
    let rx = Receiver::start(vec![], Some(Reply::Hang)).await;
    let app = TestApp::new(&db).await;
    let mut slow = hook(&rx.url);
    slow.timeout_seconds = Some(60.0);
    let policy = RetryPolicy {
        queue: 2,
        concurrency: 1,
        ..fast()
    };
    let hooks = start(&app, vec![slow], policy).await;
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    for b in 0..25 {
        for k in 0..4 {
            let t = Instant::now();
            app.submit(&run(
                &format!("h{b}-{k}"),
                &format!("hang-{b}"),
                "sc",
                "a",
                5.0,
            ))
            .await;
            worst = worst.max(t.elapsed());
        }
        let t = Instant::now();
        complete(&app, &format!("hang-{b}")).await;
        worst = worst.max(t.elapsed());
    }
    let total = started.elapsed();
    assert!(
        worst < Duration::from_secs(1),
        "slowest submission took {worst:?}"
    );
    assert!(
        total < Duration::from_secs(20),
        "125 submissions took {total:?}"
    );
    // One delivery hangs in flight, two wait in the queue, the rest were dropped.
    rx.wait_for(1).await;
    assert_eq!(rx.got().len(), 1);
    // Shutdown does not wait for the hanging receiver beyond its grace.
    let t = Instant::now();
    hooks.shutdown(Duration::from_millis(300)).await;
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );
    app.close().await;
    db.cleanup().await;
}

// ---------------------------------------------------------------- regressions

backend_tests!(
    a_clearly_worse_batch_is_announced_as_a_regression,
    |db: TestDb| async move {
        let rx = Receiver::start(vec![], None).await;
        let chat = Receiver::start(vec![], None).await;
        let app = TestApp::new(&db).await;
        let mut slack = WebhookConfig::new(&chat.url, None);
        slack.format = WebhookFormat::Slack;
        slack.events = vec![WebhookEvent::Regression];
        let hooks = start(&app, vec![hook(&rx.url), slack], fast()).await;

        batch(&app, "reg-a", "claude", [8.0, 7.8, 8.2, 8.1, 7.9, 8.0]).await;
        rx.wait_for(1).await;
        // Clearly worse, same suites and agents: a regression against reg-a.
        batch(&app, "reg-b", "claude", [3.0, 2.8, 3.2, 3.1, 2.9, 3.0]).await;
        rx.wait_for(3).await;
        // Like reg-b (half the cells a little better, half a little worse): compared with reg-b,
        // the most recent comparable batch, so no regression.
        batch(&app, "reg-c", "claude", [3.5, 2.3, 3.7, 2.6, 3.4, 2.5]).await;
        // Worse than everything, but another agent: no comparable batch, no regression.
        batch(&app, "reg-d", "gpt", [1.0; 6]).await;
        rx.wait_for(5).await;
        tokio::time::sleep(Duration::from_millis(500)).await;

        let completed: Vec<String> = rx
            .of("batch.completed")
            .iter()
            .map(|g| g.json()["batch"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(completed, ["reg-a", "reg-b", "reg-c", "reg-d"]);
        let regressions = rx.of("regression");
        assert_eq!(
            regressions.len(),
            1,
            "{:?}",
            regressions.iter().map(Got::json).collect::<Vec<_>>()
        );
        let g = &regressions[0];
        assert_signed(g);
        let p = g.json();
        assert_eq!(p["event"], "regression");
        assert_eq!(p["batch"]["id"], "reg-b");
        let r = &p["regression"];
        assert_eq!(r["baseline"]["id"], "reg-a");
        assert_eq!(r["baseline"]["agents"], json!(["claude:m1"]));
        assert_eq!(r["verdict"], "regression");
        assert_eq!(r["sharedCells"], 6);
        let delta = r["delta"].as_f64().unwrap();
        assert!((delta + 5.0).abs() < 1e-9, "delta {delta}");
        assert!(close(&r["baselineMean"], 8.0), "{r}");
        assert!(close(&r["mean"], 3.0), "{r}");
        let (lo, hi) = (
            r["interval"]["lo"].as_f64().unwrap(),
            r["interval"]["hi"].as_f64().unwrap(),
        );
        assert!(
            lo <= delta && delta <= hi && hi < 0.0,
            "interval {lo}..{hi}"
        );
        assert_eq!(r["interval"]["level"], 0.95);
        let pv = r["pValue"].as_f64().unwrap();
        assert!(pv > 0.0 && pv < 0.05, "p {pv}");
        assert_eq!(r["regressedCells"], 6);
        assert!(r["summary"].as_str().unwrap().contains("worse"), "{r}");
        assert_eq!(r["comparePath"], "/batches/compare?ids=reg-a&ids=reg-b");
        assert_eq!(
            r["compareUrl"],
            format!("{PUBLIC}/batches/compare?ids=reg-a&ids=reg-b")
        );
        // The Slack receiver asked for regressions only: one message, saying the same.
        let said = chat.got();
        assert_eq!(said.len(), 1, "{said:?}");
        assert_eq!(said[0].event(), "regression");
        let text = said[0].json()["text"].as_str().unwrap().to_string();
        assert!(
            text.starts_with(
                ":warning: Regression: batch *reg-b* scores -5.00 points against *reg-a* (95% CI -"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(
                ", 6 shared cells) (<{PUBLIC}/batches/compare?ids=reg-a&ids=reg-b|compare>)"
            )),
            "{text}"
        );
        let detail = said[0].json()["blocks"][1]["elements"][0]["text"].clone();
        assert_eq!(
            detail,
            "8.00/10 → 3.00/10 mean weighted score; 6 cells regressed, 0 improved"
        );
        hooks.shutdown(Duration::from_secs(1)).await;
        app.close().await;
        db
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_replica_that_stored_a_completion_announces_it() {
    let db = TestDb::postgres().await;
    let rx = Receiver::start(vec![], None).await;
    let announcing = TestApp::new(&db).await;
    let other = TestApp::new(&db).await;
    let hooks = start(&announcing, vec![hook(&rx.url)], fast()).await;
    // Every replica hears every completion through NOTIFY; proven by watching `other`'s.
    let mut heard = announcing.state.store.subscribe();
    other.submit(&run("o1", "via-other", "sc", "a", 5.0)).await;
    complete(&other, "via-other").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, heard.recv()).await {
            Ok(Ok(zebench_store::Event::BatchCompleted { batch_id, .. }))
                if batch_id == "via-other" =>
            {
                break
            }
            Ok(_) => {}
            Err(_) => panic!("the completion stored by the other replica was never heard"),
        }
    }
    announcing
        .submit(&run("o2", "via-this", "sc", "a", 5.0))
        .await;
    complete(&announcing, "via-this").await;
    let got = rx.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ids: Vec<Value> = rx
        .got()
        .iter()
        .map(|g| g.json()["batch"]["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("via-this")], "{got:?}");
    hooks.shutdown(Duration::from_secs(1)).await;
    other.close().await;
    announcing.close().await;
    db.cleanup().await;
}

// ---------------------------------------------------------------- configuration

fn parse(text: &str) -> Result<ServerFile, String> {
    ServerFile::parse_with_env(text, &|name| {
        (name == "HOOK_SECRET").then(|| "from-the-environment".to_string())
    })
}

#[test]
fn configuration_errors_name_the_field() {
    let ok = parse(
        "public_url = \"https://bench.example.com/\"\n\
         [[webhooks]]\nurl = \"https://hooks.example.com/T0K3N\"\nsecret_env = \"HOOK_SECRET\"\n\
         [[webhooks]]\nname = \"team chat\"\nurl = \"https://hooks.slack.com/services/T/B/XYZ\"\nformat = \"slack\"\nevents = [\"regression\"]\n",
    )
    .unwrap();
    assert_eq!(ok.public_url.as_deref(), Some("https://bench.example.com"));
    assert_eq!(ok.webhooks.len(), 2);
    assert_eq!(
        ok.webhooks[0].events,
        [WebhookEvent::BatchCompleted, WebhookEvent::Regression]
    );
    assert!(
        ok.webhooks[0].secret.is_some(),
        "secret_env was not resolved"
    );
    assert_eq!(ok.webhooks[1].events, [WebhookEvent::Regression]);
    assert_eq!(ok.webhooks[1].label(), "team chat");
    assert_eq!(ok.webhooks[0].label(), "hooks.example.com");
    // Secrets and URL tokens never show in Debug (which logs and panics use).
    let debug = format!("{ok:?}");
    for secret in ["from-the-environment", "T0K3N", "XYZ"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }

    let cases: [(&str, &str); 12] = [
        (
            "[[webhooks]]\nurl = \"ftp://h/x\"\nsecret = \"s\"\n",
            "webhooks[0].url",
        ),
        (
            "[[webhooks]]\nurl = \"not a url\"\nsecret = \"s\"\n",
            "webhooks[0].url",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\n",
            "webhooks[0].secret_env",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret_env = \"UNSET_VAR\"\n",
            "UNSET_VAR",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\nsecret_env = \"HOOK_SECRET\"\n",
            "not both",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\nevents = []\n",
            "webhooks[0].events",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\nevents = [\"batch.done\"]\n",
            "batch.done",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\nformat = \"teams\"\n",
            "teams",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\ntimeout_seconds = 0\n",
            "webhooks[0].timeout_seconds",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\nmax_attempts = 0\n",
            "webhooks[0].max_attempts",
        ),
        (
            "[[webhooks]]\nurl = \"https://h/x\"\nsecrte = \"s\"\n",
            "secrte",
        ),
        ("public_url = \"bench.example.com\"\n", "public_url"),
    ];
    for (text, field) in cases {
        let err = parse(text).expect_err(text);
        assert!(
            err.contains(field),
            "{text:?}: {err:?} does not name {field:?}"
        );
    }
    // The second table is named by its index.
    let err = parse(
        "[[webhooks]]\nurl = \"https://h/x\"\nsecret = \"s\"\n[[webhooks]]\nurl = \"gopher://h\"\nsecret = \"s\"\n",
    )
    .unwrap_err();
    assert!(err.contains("webhooks[1].url"), "{err}");
}
