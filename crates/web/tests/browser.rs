//! The dashboard in a real browser: seeds a throwaway SQLite database through the real store,
//! starts the real server (API + dashboard) on 127.0.0.1, and runs `tests/browser/run.mjs`
//! (Playwright driving the system's headless Chromium) against it.
//!
//! Prerequisites (the test fails, never skips, without them):
//!   apt-get install -y chromium          (or set CHROMIUM_PATH to another Chromium binary)
//!   npm ci --prefix crates/web/tests/browser
//!
//! Screenshots of every page go to `target/browser-screenshots/` (`SCREENSHOT_DIR` overrides).
//! Run it alone with `cargo test -p zebench-web --test browser -- --nocapture` to see the
//! browser's summary even when it passes.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zebench_core::{BatchUpsert, EvaluationInput, RunResult, RunStatus, TelemetryInput, Timestamp};
use zebench_server::{ApiKey, AppState, ServerConfig};
use zebench_store::{Store, StoreOptions};
use zebench_web::fmt;

const API_KEY: &str = "browser-test-key";
/// Hard limit for the whole browser session.
const NODE_TIMEOUT: Duration = Duration::from_secs(120);
/// 2026-03-01T09:00:00.000Z in epoch milliseconds.
const T0: i64 = 1_772_355_600_000;
const HOUR: i64 = 3_600_000;

/// What must not run: in transcript, diff, commands, prompt, metadata and evaluation details
/// of one run.
const SCRIPT_PAYLOAD: &str = "<script>window.__xss=1</script>";
/// In a field every list page shows (the scenario of the same run).
const IMG_PAYLOAD: &str = "<img src=x onerror=\"window.__xss=2\">";
/// A run id that needs escaping in HTML and in URLs.
const XSS_RUN_ID: &str = "run-xss <b>&\"'#?%";

const PAIRS: [(&str, &str); 4] = [
    ("claude-code", "claude-sonnet-4-5"),
    ("claude-code", "claude-opus-4-1"),
    ("codex", "gpt-5-codex"),
    ("aider", "gpt-4.1"),
];
const SCENARIOS: [(&str, &str); 4] = [
    ("update-deps", "nx-pnpm-monorepo"),
    ("update-deps", "yarn-workspaces"),
    ("fix-tests", "flaky-jest"),
    ("fix-tests", "rust-borrowck"),
];
const TIERS: [&str; 3] = ["L1", "L2", "L3"];
const BATCH_A: &str = "batch-2026-03-03-a";
const BATCH_B: &str = "batch-2026-03-08-b";
const ERROR_TYPES: [&str; 3] = ["timeout", "agent", "warmup"];
const SEEDED: usize = 72;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).expect("valid timestamp")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn transcript(task: &str, extra: &str) -> String {
    json!([
        {"role": "user", "content": format!("{task}{extra}")},
        {"role": "assistant", "content": "I'll start by reading package.json and the lockfile."},
        {"role": "tool", "name": "bash", "input": "pnpm outdated --recursive", "output": "react 18.2.0 → 19.1.0\ntypescript 5.3.3 → 5.6.2"},
        {"role": "assistant", "content": format!("Updated the dependencies and ran the tests.{extra}")}
    ])
    .to_string()
}

fn diff(extra: &str) -> String {
    format!(
        "diff --git a/apps/app/package.json b/apps/app/package.json\n\
         --- a/apps/app/package.json\n+++ b/apps/app/package.json\n@@ -3,7 +3,7 @@\n   \"dependencies\": {{\n\
         -    \"react\": \"18.2.0\",\n+    \"react\": \"19.1.0\",\n     \"react-dom\": \"18.2.0\"\n   }}\n+// {extra}\n"
    )
}

/// Seeded run `i` (0-based): agent/model, suite/scenario and tier cycle; every ninth run
/// (from the fifth) failed with an `errorType`; the first 40 are batch A, the next 26 batch B,
/// the rest have no batch.
fn seeded_run(i: usize) -> RunResult {
    let (agent, model) = PAIRS[i % PAIRS.len()];
    let (suite, scenario) = SCENARIOS[(i / PAIRS.len()) % SCENARIOS.len()];
    let failed = i % 9 == 4;
    let batch = match i {
        0..=39 => Some(BATCH_A),
        40..=65 => Some(BATCH_B),
        _ => None,
    };
    let started = T0 + i as i64 * 4 * HOUR;
    let duration = 60_000 + (i as i64 * 7_919) % 400_000;
    let weighted = ((i * 37) % 100) as f64 / 10.0;
    let checks = (weighted * 0.8).round() as i64;
    let mut metadata = json!({
        "packageManager": if i.is_multiple_of(2) { "pnpm" } else { "yarn" },
        "agentStopReason": "end_turn",
        "diffSummary": [{"file": "apps/app/package.json", "changeType": "modified"}],
    });
    let (evaluations, scores) = if failed {
        let kind = ERROR_TYPES[(i / 9) % ERROR_TYPES.len()];
        metadata["error"] = json!(format!(
            "{kind} failure in {scenario}: the agent stopped after {}s",
            duration / 1000
        ));
        metadata["errorType"] = json!(kind);
        (Vec::new(), None)
    } else {
        (
            vec![
                EvaluationInput {
                    evaluator_name: "HeuristicChecksEvaluator".into(),
                    score: checks as f64 / 8.0,
                    max_score: 1.0,
                    details: Some(format!("Passed: {checks}/8 checks")),
                },
                EvaluationInput {
                    evaluator_name: "LLMJudgeEvaluator".into(),
                    score: weighted / 10.0,
                    max_score: 1.0,
                    details: Some(
                        json!({"reasoning": "Versions bumped consistently; lockfile regenerated.",
                               "metrics": [{"key": "correctness", "score": weighted / 10.0, "weight": 2.0},
                                           {"key": "minimality", "score": 0.8, "weight": 1.0}]})
                        .to_string(),
                    ),
                },
            ],
            Some(weighted),
        )
    };
    let mut artifacts = BTreeMap::new();
    artifacts.insert(
        "transcript".to_string(),
        transcript(&format!("Update the dependencies of {scenario}."), ""),
    );
    if !failed {
        artifacts.insert("diff".to_string(), diff("bumped react"));
    }
    artifacts.insert(
        "commands".to_string(),
        format!("$ pnpm install\nDone in 4.2s\n$ pnpm test\nTests: {checks} passed, 8 total\n"),
    );
    RunResult {
        run_id: format!("run-{agent}-{i:03}"),
        batch_id: batch.map(str::to_string),
        suite: suite.into(),
        scenario: scenario.into(),
        tier: TIERS[i % TIERS.len()].into(),
        agent: agent.into(),
        model: Some(model.into()),
        status: if failed {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        },
        started_at: Some(ts(started)),
        completed_at: Some(ts(started + duration)),
        total_score: scores.map(|w| w / 10.0),
        weighted_score: scores,
        success_metric: scores.map(|w| w / 10.0),
        is_successful: scores.is_some_and(|w| w >= 7.0),
        specialist_enabled: None,
        specialist_name: None,
        specialist_version: None,
        metadata: Some(obj(metadata)),
        evaluations,
        telemetry: Some(TelemetryInput {
            tool_calls: Some(5 + (i as i64 % 20)),
            tokens_in: Some(20_000 + i as i64 * 1_013),
            tokens_out: Some(1_500 + i as i64 * 37),
            // Multiples of 1/8: sums are exact in binary, so every aggregate is predictable.
            cost_usd: Some(0.125 * (1 + i % 5) as f64),
            duration_ms: Some(duration),
            workspace_dir: None,
            prompt_sent: Some(format!(
                "Update the dependencies of {scenario} to their latest versions."
            )),
        }),
        artifacts,
    }
}

/// The run whose every free-text field carries markup that must show as text.
fn xss_run() -> RunResult {
    let mut r = seeded_run(41);
    r.run_id = XSS_RUN_ID.into();
    r.scenario = IMG_PAYLOAD.into();
    r.started_at = Some(ts(T0 + 41 * 4 * HOUR + 60_000));
    r.completed_at = Some(ts(T0 + 41 * 4 * HOUR + 300_000));
    r.metadata = Some(obj(json!({
        "note": SCRIPT_PAYLOAD,
        "error": SCRIPT_PAYLOAD,
        "diffSummary": [{"file": SCRIPT_PAYLOAD, "changeType": "modified"}],
    })));
    for e in &mut r.evaluations {
        e.details = Some(format!("details {SCRIPT_PAYLOAD}"));
    }
    r.artifacts.insert(
        "transcript".into(),
        transcript("Update the dependencies.", SCRIPT_PAYLOAD),
    );
    r.artifacts.insert("diff".into(), diff(SCRIPT_PAYLOAD));
    r.artifacts.insert(
        "commands".into(),
        format!("$ echo '{SCRIPT_PAYLOAD}'\n{SCRIPT_PAYLOAD}\n"),
    );
    if let Some(t) = &mut r.telemetry {
        t.prompt_sent = Some(format!("Prompt {SCRIPT_PAYLOAD}"));
    }
    r
}

/// A run the browser submits through `POST /api/results` while a page is open (the browser
/// side replaces `runId` and `startedAt`).
fn live_run_template() -> Value {
    let mut r = seeded_run(7);
    r.batch_id = None;
    r.artifacts.clear();
    serde_json::to_value(&r).expect("serialize run")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Fails (never skips) with what to install when a prerequisite is missing.
fn check_prerequisites(browser_dir: &Path, chromium: &Path) {
    let mut missing = Vec::new();
    if !chromium.is_file() {
        missing.push(format!(
            "Chromium is not installed at {}: run `apt-get install -y chromium` (or set CHROMIUM_PATH)",
            chromium.display()
        ));
    }
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push(
            "playwright-core is not installed: run `npm ci --prefix crates/web/tests/browser`"
                .into(),
        );
    }
    if Command::new("node")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        missing.push("node is not on PATH: install Node.js 20 or newer".into());
    }
    assert!(
        missing.is_empty(),
        "the browser test cannot run:\n  {}",
        missing.join("\n  ")
    );
}

struct Seeded {
    expect: Value,
}

async fn seed(store: &Store) -> Seeded {
    let mut runs: Vec<RunResult> = (0..SEEDED).map(seeded_run).collect();
    runs.push(xss_run());
    let total_cost: f64 = runs
        .iter()
        .filter_map(|r| r.telemetry.as_ref()?.cost_usd)
        .sum();
    let count = |pred: &dyn Fn(&RunResult) -> bool| runs.iter().filter(|r| pred(r)).count();
    let batch_a_runs = count(&|r| r.batch_id.as_deref() == Some(BATCH_A));
    let batch_b_runs = count(&|r| r.batch_id.as_deref() == Some(BATCH_B));
    let aider_runs = count(&|r| r.agent == "aider");
    let newest = runs
        .iter()
        .max_by_key(|r| r.started_at.map(|t| t.millis()))
        .unwrap()
        .run_id
        .clone();
    let oldest = runs
        .iter()
        .min_by_key(|r| r.started_at.map(|t| t.millis()))
        .unwrap()
        .run_id
        .clone();
    let failed = runs
        .iter()
        .find(|r| r.status == RunStatus::Failed)
        .unwrap()
        .clone();
    let normal = runs[10].clone();
    assert_eq!(normal.status, RunStatus::Completed);

    store.submit_runs(runs.clone()).await.expect("seed runs");
    store
        .upsert_batch(&BatchUpsert {
            batch_id: BATCH_A.into(),
            created_at: Some(ts(T0 - 60_000)),
            completed_at: Some(ts(T0 + 40 * 4 * HOUR)),
            total_runs: None,
            successful_runs: None,
            avg_score: None,
            avg_weighted_score: None,
            metadata: Some(obj(json!({"suite": "update-deps", "agents": ["claude-code", "codex", "aider"], "repeat": 2}))),
        })
        .await
        .expect("upsert batch A");
    store
        .upsert_batch(&BatchUpsert {
            batch_id: BATCH_B.into(),
            created_at: Some(ts(T0 + 40 * 4 * HOUR - 60_000)),
            completed_at: None,
            total_runs: None,
            successful_runs: None,
            avg_score: None,
            avg_weighted_score: None,
            metadata: Some(obj(json!({"suite": "fix-tests", "note": SCRIPT_PAYLOAD}))),
        })
        .await
        .expect("upsert batch B");

    let failed_meta = failed.metadata.clone().unwrap();
    let expect = json!({
        "totalRuns": runs.len(),
        "totalRunsText": fmt::thousands(runs.len() as i64),
        "totalCostText": fmt::usd(Some(total_cost)),
        "newestRunId": newest,
        "oldestRunId": oldest,
        "batches": [
            {"id": BATCH_A, "runs": batch_a_runs, "runsText": fmt::thousands(batch_a_runs as i64)},
            {"id": BATCH_B, "runs": batch_b_runs, "runsText": fmt::thousands(batch_b_runs as i64)},
        ],
        "agents": ["claude-code", "codex", "aider"],
        "models": PAIRS.iter().map(|p| p.1).collect::<Vec<_>>(),
        "suites": ["update-deps", "fix-tests"],
        "scenarios": SCENARIOS.iter().map(|s| s.1).collect::<Vec<_>>(),
        "evaluators": ["HeuristicChecksEvaluator", "LLMJudgeEvaluator"],
        "filter": {"param": "agent", "value": "aider", "runs": aider_runs},
        "normalRun": {
            "id": normal.run_id,
            "scenario": normal.scenario,
            "details": normal.evaluations[0].details,
        },
        "failedRun": {
            "id": failed.run_id,
            "errorType": failed_meta["errorType"],
            "error": failed_meta["error"],
        },
        "xssRun": {"id": XSS_RUN_ID, "scriptPayload": SCRIPT_PAYLOAD, "imgPayload": IMG_PAYLOAD},
        "liveRun": live_run_template(),
    });
    Seeded { expect }
}

/// Runs `cmd` to completion or until `timeout`, returning (success, stdout + stderr).
/// The real server on `store` with `keys`, on a free loopback port.
async fn serve(
    store: Store,
    keys: Vec<ApiKey>,
) -> (
    AppState,
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let state = AppState::new(
        Arc::new(store),
        ServerConfig {
            api_keys: keys,
            ..Default::default()
        },
    )
    .expect("keys");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(zebench_server::serve(listener, state.clone()));
    (state, addr, server)
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for node") {
            break Some(st);
        }
        if start.elapsed() > timeout {
            // Only the process this test started. SIGTERM first: Playwright then closes the
            // Chromium it launched (which runs in its own process group); SIGKILL if that hangs.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(5) {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    let mut text = stdout;
    if !stderr.trim().is_empty() {
        text.push_str("\n--- stderr ---\n");
        text.push_str(&stderr);
    }
    match status {
        Some(st) => (
            st.success(),
            format!(
                "{text}\n(node exited with {st} after {:.1}s)",
                start.elapsed().as_secs_f64()
            ),
        ),
        None => (
            false,
            format!(
                "{text}\n(node killed after the {}s timeout)",
                timeout.as_secs()
            ),
        ),
    }
}

#[test]
fn dashboard_in_headless_chromium() {
    let root = workspace_root();
    let browser_dir = root.join("crates/web/tests/browser");
    let chromium = PathBuf::from(
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    check_prerequisites(&browser_dir, &chromium);

    let screenshots = std::env::var_os("SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/browser-screenshots"));
    std::fs::create_dir_all(&screenshots).expect("create screenshot dir");
    let tmp = tempfile::tempdir().expect("temp dir");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let url = format!("sqlite://{}", tmp.path().join("browser.sqlite").display());
    let (state, addr, server, seeded) = rt.block_on(async {
        let store = Store::connect(StoreOptions::new(&url))
            .await
            .expect("open store");
        let seeded = seed(&store).await;
        let (state, addr, server) = serve(store, vec![ApiKey::new(API_KEY)]).await;
        (state, addr, server, seeded)
    });

    let expect_file = tmp.path().join("expect.json");
    std::fs::write(
        &expect_file,
        serde_json::to_vec_pretty(&seeded.expect).unwrap(),
    )
    .expect("write expectations");

    let mut cmd = Command::new("node");
    cmd.arg(browser_dir.join("run.mjs"))
        .current_dir(&browser_dir)
        .env("BASE_URL", format!("http://{addr}"))
        .env("SCREENSHOT_DIR", &screenshots)
        .env("EXPECT_FILE", &expect_file)
        .env("ZEBENCH_API_KEY", API_KEY)
        .env("CHROMIUM_PATH", &chromium);
    let (ok, output) = run_with_timeout(cmd, NODE_TIMEOUT);
    println!("{output}");

    rt.block_on(async {
        state.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    });
    assert!(
        ok,
        "the browser test failed (output above; screenshots in {})",
        screenshots.display()
    );
}

/// A read key makes the dashboard private: checked in Chromium with the browser's own Basic
/// credentials (pages, assets and the live-update stream), and refused without or with a
/// wrong key (crates/web/tests/browser/read_key.mjs).
#[test]
fn private_dashboard_with_a_read_key_in_headless_chromium() {
    const READ_KEY: &str = "zb_browser-read-key-0123456789abcdef";
    let root = workspace_root();
    let browser_dir = root.join("crates/web/tests/browser");
    let chromium = PathBuf::from(
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    check_prerequisites(&browser_dir, &chromium);
    let tmp = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let url = format!("sqlite://{}", tmp.path().join("private.sqlite").display());
    let (state, addr, server) = rt.block_on(async {
        let store = Store::connect(StoreOptions::new(&url))
            .await
            .expect("open store");
        let keys = vec![
            ApiKey::new(API_KEY),
            ApiKey::named("viewer", zebench_server::Scope::Read, READ_KEY),
        ];
        serve(store, keys).await
    });
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir.join("read_key.mjs"))
        .current_dir(&browser_dir)
        .env("BASE_URL", format!("http://{addr}"))
        .env("ZEBENCH_API_KEY", API_KEY)
        .env("ZEBENCH_READ_KEY", READ_KEY)
        .env("CHROMIUM_PATH", &chromium);
    let (ok, output) = run_with_timeout(cmd, NODE_TIMEOUT);
    println!("{output}");
    rt.block_on(async {
        state.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    });
    assert!(ok, "the read-key browser test failed (output above)");
}
