//! Many clients at once against a real server (`zebench_server::serve` on 127.0.0.1:0, spoken to
//! over HTTP/1.1 keep-alive connections): 32 writers and 32 readers for about three seconds. No
//! request may fail, and at the end every count equals the number of 201s. On SQLite and
//! PostgreSQL.

mod common;

use common::net::*;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

const WRITERS: usize = 32;
const READERS: usize = 32;
const RUN_FOR: Duration = Duration::from_secs(3);
/// Run ids every writer submits now and then, so identical submissions race each other.
const CONTESTED: usize = 16;

/// A run of the shared batch; its content depends on the id only, so resubmissions match.
fn conc_run(id: &str) -> Value {
    let spread = id.bytes().fold(0i64, |h, b| (h * 31 + i64::from(b)) % 997);
    with(
        run(id),
        json!({"batchId": "conc", "startedAt": T0 + spread * 1000}),
    )
}

#[derive(Default)]
struct Tally {
    created: usize,
    duplicates: usize,
    contested_created: HashMap<String, usize>,
    failures: Vec<String>,
}

async fn writer(addr: SocketAddr, w: usize, deadline: Instant, tally: Arc<Mutex<Tally>>) {
    let mut conn = Conn::open(addr).await;
    let mut local = Tally::default();
    let mut i = 0;
    while Instant::now() < deadline && local.failures.is_empty() {
        let (id, retry) = match i % 6 {
            // A retry of this writer's previous run: must be a duplicate.
            5 => (format!("w{w}-{}", i - 1), true),
            // A run every writer submits with identical content.
            3 => (format!("race-{}", (i / 6 + w) % CONTESTED), false),
            _ => (format!("w{w}-{i}"), false),
        };
        let body = conc_run(&id).to_string();
        match conn.send("POST", "/api/results", Some(&body)).await {
            Ok((201, _)) if !retry => {
                local.created += 1;
                if id.starts_with("race-") {
                    *local.contested_created.entry(id).or_default() += 1;
                }
            }
            Ok((200, b)) if retry || id.starts_with("race-") => {
                let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                if v["duplicate"] != json!(true) {
                    local
                        .failures
                        .push(format!("{id}: 200 without duplicate: {v}"));
                }
                local.duplicates += 1;
            }
            Ok((s, b)) => local.failures.push(format!(
                "POST {id} (retry {retry}): {s} {}",
                String::from_utf8_lossy(&b)
            )),
            Err(e) => local.failures.push(e),
        }
        i += 1;
    }
    let mut t = tally.lock().await;
    t.created += local.created;
    t.duplicates += local.duplicates;
    for (k, v) in local.contested_created {
        *t.contested_created.entry(k).or_default() += v;
    }
    t.failures.extend(local.failures);
}

async fn reader(addr: SocketAddr, r: usize, deadline: Instant) -> (usize, Vec<String>) {
    let mut conn = Conn::open(addr).await;
    let mut requests = 0;
    let mut last_total = 0;
    let mut failures = Vec::new();
    while Instant::now() < deadline && failures.is_empty() {
        let path = match (requests + r) % 4 {
            0 => "/api/runs?limit=20",
            1 => "/api/stats",
            2 => "/api/batches/conc",
            _ => "/api/runs?batchId=conc&limit=5",
        };
        match conn.get_json(path).await {
            Ok(v) => {
                if path == "/api/stats" {
                    // Totals only grow.
                    let total = v["totalRuns"].as_u64().unwrap_or(0);
                    if total < last_total {
                        failures.push(format!("totalRuns went from {last_total} to {total}"));
                    }
                    last_total = total;
                }
                if path == "/api/batches/conc" && v["runs"].as_array().is_none() {
                    failures.push(format!("batch without runs: {v}"));
                }
            }
            Err(e) => failures.push(e),
        }
        requests += 1;
    }
    (requests, failures)
}

backend_tests!(
    writers_and_readers_at_once_lose_nothing,
    |db: TestDb| async move {
        let (state, addr, server) = start(&db).await;
        let mut setup = Conn::open(addr).await;
        let (status, _) = setup
            .send(
                "POST",
                "/api/results/batch",
                Some(&json!({"batchId": "conc", "createdAt": T0}).to_string()),
            )
            .await
            .unwrap();
        assert_eq!(status, 201);

        let deadline = Instant::now() + RUN_FOR;
        let tally = Arc::new(Mutex::new(Tally::default()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(addr, w, deadline, tally.clone())))
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|r| tokio::spawn(reader(addr, r, deadline)))
            .collect();
        for w in writers {
            w.await.expect("writer task");
        }
        let mut reads = 0;
        let mut failures = Vec::new();
        for r in readers {
            let (n, f) = r.await.expect("reader task");
            reads += n;
            failures.extend(f);
        }
        let tally = tally.lock().await;
        failures.extend(tally.failures.iter().cloned());
        assert!(
            failures.is_empty(),
            "{} failed requests, first: {:#?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );
        assert!(
            tally.created >= WRITERS,
            "only {} runs created",
            tally.created
        );
        assert!(
            tally.duplicates > 0 && reads > READERS,
            "{} duplicates, {reads} reads",
            tally.duplicates
        );
        for (id, n) in &tally.contested_created {
            assert_eq!(*n, 1, "{id} was created {n} times");
        }

        // Every count equals the number of 201s.
        let created = tally.created as u64;
        let stats = setup.get_json("/api/stats").await.unwrap();
        assert_eq!(stats["totalRuns"].as_u64(), Some(created), "{stats}");
        assert_eq!(stats["successfulRuns"].as_u64(), Some(created), "{stats}");
        let batch = setup.get_json("/api/batches/conc").await.unwrap();
        assert_eq!(batch["totalRuns"].as_u64(), Some(created));
        assert_eq!(batch["runs"].as_array().unwrap().len() as u64, created);
        assert_eq!(batch["avgWeightedScore"], json!(7.5));
        let listed = setup
            .get_json("/api/runs?batchId=conc&limit=1000")
            .await
            .unwrap();
        assert_eq!(listed.as_array().unwrap().len() as u64, created.min(1000));
        let agents = setup.get_json("/api/stats/agents").await.unwrap();
        assert_eq!(agents[0]["runs"].as_u64(), Some(created));
        let tokens = setup.get_json("/api/breakdowns/agent").await.unwrap()[0]["tokensIn"].as_u64();
        assert_eq!(tokens, Some(created * 45210));
        drop(setup);

        stop(state, server).await;
        db
    }
);

// Regression (both backends, fixed): GET /api/batches/{batchId} reads the batch row (with its
// aggregates) and the batch's runs in two separate statements with no shared snapshot
// (crates/store/src/queries.rs `get_batch`), so while runs are being added one response can say
// `"totalRuns": 97` and list 112 runs. Observed on SQLite and PostgreSQL.
backend_tests!(
    a_batch_and_its_runs_are_read_consistently_during_writes,
    |db: TestDb| async move {
        let (state, addr, server) = start(&db).await;
        let batch = json!({"batchId": "conc", "createdAt": T0}).to_string();
        let mut setup = Conn::open(addr).await;
        let (status, _) = setup
            .send("POST", "/api/results/batch", Some(&batch))
            .await
            .unwrap();
        assert_eq!(status, 201);
        let deadline = Instant::now() + Duration::from_millis(1500);
        let writers: Vec<_> = (0..8)
            .map(|w| {
                tokio::spawn(async move {
                    let mut conn = Conn::open(addr).await;
                    let mut i = 0;
                    while Instant::now() < deadline {
                        let body = conc_run(&format!("c{w}-{i}")).to_string();
                        let (status, _) = conn
                            .send("POST", "/api/results", Some(&body))
                            .await
                            .unwrap();
                        assert_eq!(status, 201);
                        i += 1;
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(async move {
                    let mut conn = Conn::open(addr).await;
                    let mut torn = Vec::new();
                    while Instant::now() < deadline {
                        let b = conn.get_json("/api/batches/conc").await.unwrap();
                        let listed = b["runs"].as_array().unwrap().len() as u64;
                        if b["totalRuns"].as_u64() != Some(listed) {
                            torn.push(format!(
                                "totalRuns {} but {listed} runs listed",
                                b["totalRuns"]
                            ));
                        }
                    }
                    torn
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        let mut torn = Vec::new();
        for r in readers {
            torn.extend(r.await.unwrap());
        }
        stop(state, server).await;
        assert!(
            torn.is_empty(),
            "{} inconsistent batch reads, e.g. {:?}",
            torn.len(),
            &torn[..torn.len().min(3)]
        );
        db
    }
);
