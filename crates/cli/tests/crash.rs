//! Crash proof (issue 8): `kill -9` the real `zebench serve` while several clients submit runs,
//! restart it on the same database, and check that nothing acknowledged was lost or torn.
//!
//! Each backend goes through three kill cycles. In a cycle, writer threads post realistic runs
//! without pause (single `POST /api/results`, `POST /api/results/bulk`, and batch upserts),
//! recording every body that got a 2xx; after a varying fraction of a second the server gets
//! SIGKILL, so requests are in flight in every state (queued for the group commit, inside the
//! transaction, answered but unread). After the restart:
//!
//! - every acknowledged run reads back exactly as sent: the run, `/evaluations`, `/telemetry`,
//!   the artifact list and each artifact's text;
//! - every run in the database is one that was sent, stored completely (no run without its
//!   evaluations or telemetry): a request that was in flight is either all there or absent;
//! - batch aggregates and the rollups behind unfiltered breakdowns equal what the run rows add
//!   up to, so no commit stored runs without their aggregates or the other way round;
//! - a batch's metadata is that of its last acknowledged upsert (or of the one in flight);
//! - re-posting what was in flight succeeds: 201, or 200 as a duplicate.
//!
//! PostgreSQL runs in a fresh schema of the test database (`ZEBENCH_TEST_PG_URL`, default the CI
//! machine's), selected through the URL's `options[search_path]`, and dropped at the end.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{signal, Sandbox, Server};
use zebench_core::Timestamp;

const KEY: &str = "crash-test-key";
const CYCLES: u64 = 3;
const WRITERS: u64 = 4;
/// 2026-03-11T10:00:00.000Z.
const T0: i64 = 1_773_223_200_000;
/// The longest a writer keeps going if the kill never comes (it always comes far sooner).
const WRITER_LIMIT: Duration = Duration::from_secs(15);
/// Runs acknowledged in a cycle before the kill may come.
const MIN_ACKED: usize = 30;

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client (blocking), enough for JSON requests and chunked answers.

struct Conn {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: &str) -> Conn {
        Conn {
            addr: addr.to_string(),
            stream: None,
        }
    }

    /// One request; any transport failure drops the connection and is returned as an error.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let result = self.exchange(method, path, body);
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.stream = Some(BufReader::new(s));
        }
        let r = self.stream.as_mut().expect("connected");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        r.get_mut().write_all(head.as_bytes())?;
        r.get_mut().write_all(body)?;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed before the answer"));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let (mut length, mut chunked, mut close) = (0usize, false, false);
        loop {
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("connection closed in the headers"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let value = value.trim().to_ascii_lowercase();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "connection" => close = value == "close",
                _ => {}
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                line.clear();
                r.read_line(&mut line)?;
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                        .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    // Trailers (none expected) up to the empty line.
                    loop {
                        line.clear();
                        if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = out.len();
                out.resize(start + size, 0);
                r.read_exact(&mut out[start..])?;
                line.clear();
                r.read_line(&mut line)?;
            }
        } else {
            out.resize(length, 0);
            r.read_exact(&mut out)?;
        }
        if close {
            self.stream = None;
        }
        Ok((status, out))
    }

    /// GET, expecting 200 and JSON.
    fn get_json(&mut self, path: &str) -> Value {
        let (status, body) = self
            .request("GET", path, b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"))
    }
}

// ---------------------------------------------------------------------------------------------
// What the writers send.

/// A run as the harness would report it: scores, three evaluations, telemetry with the prompt,
/// metadata, and artifacts big enough to be stored compressed. Scores and costs are multiples
/// of powers of two, so sums are exact in any order and aggregates compare with `==`.
fn run_body(id: &str, batch: &str, writer: u64, seq: u64) -> Value {
    let failed = seq % 9 == 4;
    let score = (seq % 65) as f64 / 64.0;
    let transcript: String = (0..40 + seq % 40)
        .map(|i| format!("turn {i}: read src/lib.rs, ran cargo test ({id})\n"))
        .collect();
    let tier = ["L0", "L1", "L2"][(seq % 3) as usize];
    let model = ["model-a", "model-b"][(seq % 2) as usize];
    let mut metadata = json!({"writer": writer, "seq": seq, "packageManager": "cargo"});
    if failed {
        metadata["error"] = json!("agent process exited with code 101");
        metadata["errorType"] = json!("agent_error");
    }
    json!({
        "runId": id,
        "batchId": batch,
        "suite": "crash-suite",
        "scenario": format!("scenario-{}", seq % 5),
        "tier": tier,
        "agent": format!("agent-{}", writer % 2),
        "model": model,
        "status": if failed { "failed" } else { "completed" },
        "startedAt": T0 + (writer * 1_000_000 + seq) as i64 * 1000,
        "completedAt": T0 + (writer * 1_000_000 + seq) as i64 * 1000 + 60_000,
        "totalScore": score,
        "weightedScore": score * 10.0,
        "isSuccessful": !failed && score >= 0.5,
        "metadata": metadata,
        "evaluations": [
            {"evaluatorName": "HeuristicChecksEvaluator", "score": score, "maxScore": 1, "details": format!("Passed: {}/8 checks", seq % 9)},
            {"evaluatorName": "LLMJudgeEvaluator", "score": (seq % 5) as f64 / 4.0, "maxScore": 1, "details": {"scores": [seq % 3, 2]}},
            {"evaluatorName": "EfficiencyEvaluator", "score": 0.5, "maxScore": 2}
        ],
        "telemetry": {
            "toolCalls": seq % 40, "tokensIn": 10_000 + seq, "tokensOut": 500 + seq % 100,
            "costUsd": (seq % 100) as f64 / 1024.0, "durationMs": 1000 * (seq % 300),
            "workspaceDir": format!("/tmp/zebench/ws-{id}"), "promptSent": format!("Fix the failing test ({id}).")
        },
        "artifacts": {"transcript": transcript, "diff": format!("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-old {seq}\n+new {seq}\n")}
    })
}

/// One request a writer made.
#[derive(Clone, Debug)]
enum Sent {
    Run(Value),
    Bulk(Vec<Value>),
    Batch(Value),
}

impl Sent {
    fn path(&self) -> &'static str {
        match self {
            Sent::Run(_) => "/api/results",
            Sent::Bulk(_) => "/api/results/bulk",
            Sent::Batch(_) => "/api/results/batch",
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            Sent::Run(v) | Sent::Batch(v) => serde_json::to_vec(v).unwrap(),
            Sent::Bulk(runs) => serde_json::to_vec(runs).unwrap(),
        }
    }

    fn runs(&self) -> Vec<Value> {
        match self {
            Sent::Run(v) => vec![v.clone()],
            Sent::Bulk(runs) => runs.clone(),
            Sent::Batch(_) => Vec::new(),
        }
    }

    /// Whether `(status, body)` is the success answer for this request: `fresh` when it was
    /// never sent before (201 and everything created), else a retry (a duplicate is fine too).
    fn check_answer(&self, status: u16, body: &[u8], fresh: bool) -> Result<(), String> {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let ok = match self {
            Sent::Run(run) => {
                v["success"] == true
                    && v["runId"] == run["runId"]
                    && (status == 201 || (!fresh && status == 200 && v["duplicate"] == true))
            }
            Sent::Bulk(runs) => {
                let n = runs.len() as u64;
                let created = v["created"].as_u64().unwrap_or(u64::MAX);
                let dups = v["duplicates"].as_u64().unwrap_or(u64::MAX);
                v["success"] == true
                    && created + dups == n
                    && if fresh {
                        status == 201 && created == n
                    } else {
                        (status == 201 && created > 0) || (status == 200 && created == 0)
                    }
            }
            Sent::Batch(b) => status == 201 && v["batchId"] == b["batchId"],
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{} answered {status} {v}", self.path()))
        }
    }
}

/// What one writer thread saw in one cycle.
#[derive(Default)]
struct WriterLog {
    acked: Vec<Sent>,
    /// The request in flight when the connection broke: applied or not, nobody knows.
    in_flight: Option<Sent>,
    /// Answers that were neither a success nor a broken connection (must stay empty).
    unexpected: Vec<String>,
}

/// Posts without pause until the server stops answering. Every fourteenth request upserts the
/// writer's batch (the harness does so at the start and end of a batch), a third of the rest
/// are bulk submissions of 2 to 9 runs.
fn writer(addr: String, cycle: u64, w: u64, acked: Arc<AtomicUsize>) -> WriterLog {
    let mut log = WriterLog::default();
    let mut conn = Conn::new(&addr);
    let batch = format!("crash-c{cycle}-w{w}");
    let started = Instant::now();
    let mut seq = 0u64;
    for n in 0u64.. {
        if started.elapsed() > WRITER_LIMIT {
            log.unexpected.push("the server was never killed".into());
            break;
        }
        let sent = if n % 14 == 0 {
            Sent::Batch(json!({
                "batchId": batch,
                "createdAt": T0,
                "completedAt": T0 + n as i64,
                "metadata": {"writer": w, "cycle": cycle, "upsert": n}
            }))
        } else if n % 3 == 0 {
            let runs = (0..2 + n % 8)
                .map(|_| {
                    seq += 1;
                    run_body(&format!("c{cycle}-w{w}-{seq}"), &batch, w, seq)
                })
                .collect();
            Sent::Bulk(runs)
        } else {
            seq += 1;
            Sent::Run(run_body(&format!("c{cycle}-w{w}-{seq}"), &batch, w, seq))
        };
        match conn.request("POST", sent.path(), &sent.body()) {
            Ok((status, body)) => match sent.check_answer(status, &body, true) {
                Ok(()) => {
                    acked.fetch_add(sent.runs().len(), Ordering::Relaxed);
                    log.acked.push(sent);
                }
                Err(e) => {
                    log.unexpected.push(e);
                    break;
                }
            },
            Err(_) => {
                log.in_flight = Some(sent);
                break;
            }
        }
    }
    log
}

// ---------------------------------------------------------------------------------------------
// Checking what the restarted server has.

/// Compares a stored run (as `GET /api/runs/{id}` or an export line shows it) with the body
/// that was sent; `Err` names the first difference.
fn matches_sent(
    sent: &Value,
    run: &Value,
    evaluations: &Value,
    telemetry: &Value,
) -> Result<(), String> {
    let id = sent["runId"].as_str().unwrap_or("?");
    let differ =
        |what: &str, got: &Value, want: &Value| Err(format!("{id}: {what} is {got}, sent {want}"));
    for f in [
        "runId",
        "batchId",
        "suite",
        "scenario",
        "tier",
        "agent",
        "model",
        "status",
        "isSuccessful",
    ] {
        if run[f] != sent[f] {
            return differ(f, &run[f], &sent[f]);
        }
    }
    for f in ["totalScore", "weightedScore"] {
        if run[f].as_f64() != sent[f].as_f64() {
            return differ(f, &run[f], &sent[f]);
        }
    }
    for f in ["startedAt", "completedAt"] {
        let want = json!(Timestamp(sent[f].as_i64().unwrap()).to_iso());
        if run[f] != want {
            return differ(f, &run[f], &want);
        }
    }
    let metadata: Value = run["metadata"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    if metadata != sent["metadata"] {
        return differ("metadata", &metadata, &sent["metadata"]);
    }
    let (got, want) = (
        evaluations.as_array().map_or(&[][..], Vec::as_slice),
        sent["evaluations"].as_array().unwrap(),
    );
    if got.len() != want.len() {
        return Err(format!(
            "{id}: {} evaluations stored, {} sent",
            got.len(),
            want.len()
        ));
    }
    for (g, w) in got.iter().zip(want) {
        let details = match &w["details"] {
            Value::String(s) => json!(s),
            Value::Null => Value::Null,
            other => json!(other.to_string()),
        };
        let max = w["maxScore"].as_f64().unwrap_or(1.0);
        if g["evaluatorName"] != w["evaluatorName"]
            || g["score"].as_f64() != w["score"].as_f64()
            || g["maxScore"].as_f64() != Some(max)
            || g["details"] != details
            || g["runId"] != sent["runId"]
        {
            return differ("an evaluation", g, w);
        }
    }
    let t = &sent["telemetry"];
    for f in [
        "toolCalls",
        "tokensIn",
        "tokensOut",
        "durationMs",
        "workspaceDir",
    ] {
        if telemetry[f] != t[f] {
            return differ(&format!("telemetry.{f}"), &telemetry[f], &t[f]);
        }
    }
    if telemetry["costUsd"].as_f64() != t["costUsd"].as_f64() {
        return differ("telemetry.costUsd", &telemetry["costUsd"], &t["costUsd"]);
    }
    Ok(())
}

/// The artifacts a run must have: those sent, plus the prompt (stored from `promptSent`).
fn expected_artifacts(sent: &Value) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = sent["artifacts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    if let Some(p) = sent["telemetry"]["promptSent"].as_str() {
        out.insert("prompt".into(), p.to_string());
    }
    out
}

/// Every read of one acknowledged run, each compared with what was sent.
fn check_run_everywhere(conn: &mut Conn, sent: &Value) -> Result<(), String> {
    let id = sent["runId"].as_str().unwrap();
    let (status, body) = conn
        .request("GET", &format!("/api/runs/{id}"), b"")
        .map_err(|e| format!("GET /api/runs/{id}: {e}"))?;
    if status != 200 {
        return Err(format!(
            "{id} was acknowledged but GET /api/runs/{id} answers {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let detail: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    matches_sent(
        sent,
        &detail["run"],
        &detail["evaluations"],
        &detail["telemetry"],
    )?;
    let evaluations = conn.get_json(&format!("/api/runs/{id}/evaluations"));
    if evaluations != detail["evaluations"] {
        return Err(format!(
            "{id}: /evaluations {evaluations} differs from the run's {}",
            detail["evaluations"]
        ));
    }
    let telemetry = conn.get_json(&format!("/api/runs/{id}/telemetry"));
    if telemetry != detail["telemetry"] {
        return Err(format!(
            "{id}: /telemetry {telemetry} differs from the run's {}",
            detail["telemetry"]
        ));
    }
    let want = expected_artifacts(sent);
    let listed = conn.get_json(&format!("/api/runs/{id}/artifacts"));
    let listed: BTreeMap<String, i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["size"].as_i64().unwrap(),
            )
        })
        .collect();
    let want_sizes: BTreeMap<String, i64> = want
        .iter()
        .map(|(k, v)| (k.clone(), v.len() as i64))
        .collect();
    if listed != want_sizes {
        return Err(format!("{id}: artifacts {listed:?}, sent {want_sizes:?}"));
    }
    for (name, text) in &want {
        let (status, body) = conn
            .request("GET", &format!("/api/runs/{id}/artifacts/{name}"), b"")
            .map_err(|e| e.to_string())?;
        if status != 200 || body != text.as_bytes() {
            return Err(format!(
                "{id}: artifact {name} answers {status} with other text"
            ));
        }
    }
    Ok(())
}

/// Everything the test has sent and learnt so far, across cycles.
#[derive(Default)]
struct Ledger {
    /// Every run body ever sent (acknowledged or not), by id.
    sent: BTreeMap<String, Value>,
    /// Ids of runs that got a 2xx.
    acked: BTreeSet<String>,
    /// Per batch: the metadata of the last acknowledged upsert and of the upsert in flight
    /// at the kill (after it, a writer sends nothing more).
    batch_meta: BTreeMap<String, (Option<Value>, Option<Value>)>,
}

/// The whole database through `GET /api/export`, checked against the ledger: every run there
/// was sent and is stored completely, every acknowledged run is there, and the batch and
/// rollup aggregates equal the sums over the run rows. Returns the number of runs.
fn check_database(conn: &mut Conn, ledger: &Ledger) -> usize {
    let (status, body) = conn
        .request("GET", "/api/export?format=jsonl", b"")
        .expect("GET /api/export");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let text = String::from_utf8(body).expect("UTF-8 export");
    let mut seen = BTreeSet::new();
    // Sums per batch and per agent, from the run rows alone.
    #[derive(Default, Debug, PartialEq)]
    struct Sums {
        runs: i64,
        completed: i64,
        failed: i64,
        successful: i64,
        cost: f64,
        tokens_in: i64,
        score_sum: f64,
        score_n: i64,
    }
    let mut by_batch: BTreeMap<String, Sums> = BTreeMap::new();
    let mut by_agent: BTreeMap<String, Sums> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let item: Value = serde_json::from_str(line).expect("an export line is JSON");
        let run = &item["run"];
        let id = run["runId"].as_str().unwrap().to_string();
        let sent = ledger
            .sent
            .get(&id)
            .unwrap_or_else(|| panic!("run {id} is stored but was never sent"));
        if let Err(e) = matches_sent(sent, run, &item["evaluations"], &item["telemetry"]) {
            panic!("a partial or altered run is stored: {e}");
        }
        assert!(seen.insert(id.clone()), "{id} is exported twice");
        let completed = run["status"] == "completed";
        for sums in [
            by_batch
                .entry(run["batchId"].as_str().unwrap().to_string())
                .or_default(),
            by_agent
                .entry(run["agent"].as_str().unwrap().to_string())
                .or_default(),
        ] {
            sums.runs += 1;
            sums.completed += completed as i64;
            sums.failed += (run["status"] == "failed") as i64;
            sums.successful += (completed && run["isSuccessful"] == true) as i64;
            sums.cost += item["telemetry"]["costUsd"].as_f64().unwrap();
            sums.tokens_in += item["telemetry"]["tokensIn"].as_i64().unwrap();
            if completed {
                sums.score_sum += run["totalScore"].as_f64().unwrap();
                sums.score_n += 1;
            }
        }
    }
    let lost: Vec<&String> = ledger
        .acked
        .iter()
        .filter(|id| !seen.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged runs are missing, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    for (batch, sums) in &by_batch {
        let b = conn.get_json(&format!("/api/batches/{batch}"));
        let got = Sums {
            runs: b["totalRuns"].as_i64().unwrap(),
            completed: sums.completed,
            failed: b["failedRuns"].as_i64().unwrap(),
            successful: b["successfulRuns"].as_i64().unwrap(),
            cost: b["totalCostUsd"].as_f64().unwrap(),
            tokens_in: sums.tokens_in,
            score_sum: sums.score_sum,
            score_n: sums.score_n,
        };
        assert_eq!(&got, sums, "batch {batch}: aggregates differ from its runs");
        let avg = (sums.score_n > 0).then(|| sums.score_sum / sums.score_n as f64);
        assert_eq!(b["avgScore"].as_f64(), avg, "batch {batch}: avgScore");
        let runs = b["runs"].as_array().unwrap();
        assert_eq!(runs.len() as i64, sums.runs, "batch {batch}: listed runs");
    }
    for (batch, (last_acked, in_flight)) in &ledger.batch_meta {
        // With no acknowledged upsert, the batch may have no metadata, or not exist at all.
        let (status, body) = conn
            .request("GET", &format!("/api/batches/{batch}"), b"")
            .expect("GET a batch");
        let meta: Value = match status {
            200 => {
                let b: Value = serde_json::from_slice(&body).unwrap();
                b["metadata"]
                    .as_str()
                    .map_or(Value::Null, |s| serde_json::from_str(s).unwrap())
            }
            404 if !by_batch.contains_key(batch) => Value::Null,
            other => panic!("GET /api/batches/{batch}: {other}"),
        };
        let allowed: Vec<Value> = match last_acked {
            Some(m) => vec![m.clone()],
            None => vec![Value::Null],
        }
        .into_iter()
        .chain(in_flight.iter().cloned())
        .collect();
        assert!(
            allowed.contains(&meta),
            "batch {batch}: metadata {meta}, expected one of {allowed:?}"
        );
    }
    // Unfiltered breakdowns are read from the rollups kept in the insert transactions.
    let rows = conn.get_json("/api/breakdowns/agent");
    let mut from_rollups = BTreeMap::new();
    for r in rows.as_array().unwrap() {
        from_rollups.insert(
            r["key"].as_str().unwrap().to_string(),
            Sums {
                runs: r["runs"].as_i64().unwrap(),
                completed: r["completedRuns"].as_i64().unwrap(),
                failed: r["failedRuns"].as_i64().unwrap(),
                successful: r["successfulRuns"].as_i64().unwrap(),
                cost: r["costUsd"].as_f64().unwrap(),
                tokens_in: r["tokensIn"].as_i64().unwrap(),
                score_sum: r["avgScore"].as_f64().unwrap_or(0.0)
                    * r["scoreN"].as_i64().unwrap() as f64,
                score_n: r["scoreN"].as_i64().unwrap(),
            },
        );
    }
    // The average is a quotient: compare the sum it implies only loosely, the counts exactly.
    for sums in by_agent.values_mut() {
        sums.score_sum = (sums.score_sum * 1e6).round();
    }
    for sums in from_rollups.values_mut() {
        sums.score_sum = (sums.score_sum * 1e6).round();
    }
    assert_eq!(
        from_rollups, by_agent,
        "agent rollups differ from the run rows"
    );
    seen.len()
}

// ---------------------------------------------------------------------------------------------
// The proof.

/// A varying pause (100–900 ms) before each kill, so the kill lands at different points of the
/// group commit; derived from the clock, as no random generator is a dependency here.
fn pause(cycle: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(100 + (nanos / 1000 + cycle * 277) % 800)
}

fn crash_cycles(db_url: &str) {
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let mut ledger = Ledger::default();
    let mut server = Server::start(&sandbox, "127.0.0.1:0", Path::new(db_url), Some(KEY));
    for cycle in 0..CYCLES {
        // Sustained ingest, then SIGKILL in the middle of it.
        let acked = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let addr = server.addr.clone();
                let acked = acked.clone();
                std::thread::spawn(move || writer(addr, cycle, w, acked))
            })
            .collect();
        // Kill after the pause, once ingest is under way (a loaded CI machine can be slow to
        // answer the first requests after a start).
        std::thread::sleep(pause(cycle));
        let under_way = support::wait_for(Duration::from_secs(10), || {
            (acked.load(Ordering::Relaxed) >= MIN_ACKED).then_some(())
        });
        assert!(
            under_way.is_some(),
            "cycle {cycle}: fewer than {MIN_ACKED} runs acknowledged in 10 s\n{}",
            server.log()
        );
        let pid = server.child.id();
        signal(pid, "KILL");
        let exit = server.child.wait().expect("reap the server");
        assert_eq!(
            exit.signal(),
            Some(9),
            "the server died of SIGKILL: {exit:?}\n{}",
            server.log()
        );
        let logs: Vec<WriterLog> = writers
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect();

        let mut acked_now = Vec::new();
        let mut in_flight = Vec::new();
        for log in logs {
            assert!(
                log.unexpected.is_empty(),
                "unexpected answers: {:?}\nserver log:\n{}",
                log.unexpected,
                server.log()
            );
            for sent in log.acked.iter().chain(log.in_flight.iter()) {
                for run in sent.runs() {
                    ledger
                        .sent
                        .insert(run["runId"].as_str().unwrap().to_string(), run);
                }
            }
            for sent in log.acked {
                match &sent {
                    Sent::Batch(b) => {
                        let entry = ledger
                            .batch_meta
                            .entry(b["batchId"].as_str().unwrap().to_string())
                            .or_default();
                        entry.0 = Some(b["metadata"].clone());
                    }
                    _ => acked_now.extend(sent.runs()),
                }
            }
            if let Some(Sent::Batch(b)) = &log.in_flight {
                let entry = ledger
                    .batch_meta
                    .entry(b["batchId"].as_str().unwrap().to_string())
                    .or_default();
                entry.1 = Some(b["metadata"].clone());
            }
            in_flight.extend(log.in_flight);
        }
        assert!(
            acked_now.len() >= MIN_ACKED,
            "cycle {cycle}: only {} runs were acknowledged before the kill",
            acked_now.len()
        );
        for run in &acked_now {
            ledger
                .acked
                .insert(run["runId"].as_str().unwrap().to_string());
        }

        // Restart on the same database: nothing acknowledged is lost, nothing is torn.
        server = Server::start(&sandbox, "127.0.0.1:0", Path::new(db_url), Some(KEY));
        let mut conn = Conn::new(&server.addr);
        for run in &acked_now {
            if let Err(e) = check_run_everywhere(&mut conn, run) {
                panic!("cycle {cycle}: {e}\nserver log:\n{}", server.log());
            }
        }
        let stored = check_database(&mut conn, &ledger);

        // What was in flight can be sent again: stored once, whatever happened to the first try.
        for sent in &in_flight {
            let (status, body) = conn
                .request("POST", sent.path(), &sent.body())
                .unwrap_or_else(|e| panic!("re-post {}: {e}", sent.path()));
            if let Err(e) = sent.check_answer(status, &body, false) {
                panic!("cycle {cycle}: re-posting what was in flight: {e}");
            }
            match sent {
                Sent::Batch(b) => {
                    let entry = ledger
                        .batch_meta
                        .entry(b["batchId"].as_str().unwrap().to_string())
                        .or_default();
                    *entry = (Some(b["metadata"].clone()), None);
                }
                _ => {
                    for run in sent.runs() {
                        check_run_everywhere(&mut conn, &run)
                            .unwrap_or_else(|e| panic!("cycle {cycle}: after a re-post: {e}"));
                        ledger
                            .acked
                            .insert(run["runId"].as_str().unwrap().to_string());
                    }
                }
            }
        }
        let after = check_database(&mut conn, &ledger);
        eprintln!(
            "cycle {cycle}: {} runs acknowledged before the kill, {} requests in flight, {stored} runs stored after the restart, {after} after re-posting ({:?} so far)",
            acked_now.len(),
            in_flight.len(),
            started.elapsed()
        );
    }
    server.kill();
}

#[test]
fn kill_9_during_ingest_loses_nothing_acknowledged_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    crash_cycles(&format!(
        "sqlite://{}",
        dir.path().join("crash.sqlite").display()
    ));
}

/// A schema of its own in the test database, dropped when the test ends (even by a panic).
struct PgSchema {
    admin_url: String,
    name: String,
}

impl PgSchema {
    fn create() -> PgSchema {
        let admin_url = zebench_store::testing::pg_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // `zt_` like every test schema, so .ci/run removes it if this process is killed.
        let name = format!("zt_crash_{}_{nanos}", std::process::id());
        Self::admin(&admin_url, &format!("CREATE SCHEMA {name}"));
        PgSchema { admin_url, name }
    }

    fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{sep}options[search_path]={}", self.admin_url, self.name)
    }

    fn admin(url: &str, sql: &str) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(url).await.unwrap_or_else(|e| {
                panic!("the crash proof needs PostgreSQL at {url} (ZEBENCH_TEST_PG_URL): {e}")
            });
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            pool.close().await;
        });
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        Self::admin(
            &self.admin_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

#[test]
fn kill_9_during_ingest_loses_nothing_acknowledged_on_postgres() {
    let schema = PgSchema::create();
    crash_cycles(&schema.url());
}
