//! The seed's clients keep working: API.md's example payload, the results logger's batch flow,
//! failed runs, and the exact field names and types of every object the seed's React dashboard
//! reads. On SQLite and PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

/// API.md's "Example" payload, verbatim.
const API_MD_EXAMPLE: &str = r#"{
  "runId": "1741687200000-k3j9x2m1q",
  "batchId": "batch-1741687199000-a8d7f6s5q",
  "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L1",
  "agent": "anthropic", "model": "claude-sonnet-4-5",
  "status": "completed",
  "startedAt": "2026-03-11T10:00:00.000Z", "completedAt": "2026-03-11T10:04:12.345Z",
  "totalScore": 0.75, "weightedScore": 7.5, "isSuccessful": true, "successMetric": 0.75,
  "metadata": {"packageManager": "pnpm", "diffSummary": [{"file": "apps/app/package.json", "changeType": "modified"}]},
  "evaluations": [
    {"evaluatorName": "HeuristicChecksEvaluator", "score": 0.8, "maxScore": 1, "details": "Passed: 6/8 checks"},
    {"evaluatorName": "LLMJudgeEvaluator", "score": 0.7, "maxScore": 1, "details": "{\"scores\":[…]}"}
  ],
  "telemetry": {"toolCalls": 12, "tokensIn": 45210, "tokensOut": 3120, "costUsd": 0.182,
                "durationMs": 241000, "workspaceDir": "/tmp/zebench/ws-Ab12Cd", "promptSent": "…"}
}"#;

backend_tests!(
    the_api_md_example_is_accepted_verbatim,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let r = app
            .post_raw("/api/results", API_MD_EXAMPLE, Some("Bearer test-key"))
            .await;
        assert_eq!(
            r.expect(201),
            json!({"success": true, "runId": "1741687200000-k3j9x2m1q"})
        );
        let d = app.get_json("/api/runs/1741687200000-k3j9x2m1q").await;
        assert_eq!(d["run"]["batchId"], "batch-1741687199000-a8d7f6s5q");
        assert_eq!(d["evaluations"][1]["details"], "{\"scores\":[…]}");
        assert_eq!(d["telemetry"]["workspaceDir"], "/tmp/zebench/ws-Ab12Cd");
        let prompt = app
            .get("/api/runs/1741687200000-k3j9x2m1q/artifacts/prompt")
            .await;
        assert_eq!(prompt.text(), "…");
        // The batch the run named exists.
        let b = app
            .get_json("/api/batches/batch-1741687199000-a8d7f6s5q")
            .await;
        assert_eq!(b["totalRuns"], 1);
        // The logger retries on network errors: the same body again is harmless.
        let r = app
            .post_raw("/api/results", API_MD_EXAMPLE, Some("Bearer test-key"))
            .await;
        assert_eq!(r.expect(200)["duplicate"], true);
        app.close().await;
        db
    }
);

/// A run as the seed's logger builds it in `completeRun()` / `failRun()`.
fn logged_run(batch: &str, n: i64, agent: &str, score: Option<f64>) -> Value {
    let started = T0 + n * 60_000;
    let mut r = json!({
        "runId": format!("{}-{n}", started), "batchId": batch,
        "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L1", "agent": agent,
        "model": if agent == "claude-code" { Value::Null } else { json!("gpt-5") },
        "startedAt": iso(n * 60_000), "completedAt": iso(n * 60_000 + 30_000),
        "evaluations": [], "telemetry": {"toolCalls": 3, "tokensIn": 1000, "tokensOut": 100, "costUsd": 0.01,
                                         "durationMs": 30000, "workspaceDir": null}
    });
    match score {
        Some(s) => {
            r["status"] = json!("completed");
            r["totalScore"] = json!(s);
            r["weightedScore"] = json!(s * 10.0);
            r["successMetric"] = json!(s);
            r["isSuccessful"] = json!(s >= 0.7);
            r["metadata"] = json!({"packageManager": "pnpm"});
            r["evaluations"] =
                json!([{"evaluatorName": "HeuristicChecksEvaluator", "score": s, "maxScore": 1}]);
        }
        None => {
            r["status"] = json!("failed");
            r["totalScore"] = Value::Null;
            r["weightedScore"] = Value::Null;
            r["isSuccessful"] = json!(false);
            r["metadata"] = json!({"error": "Agent timed out after 600s", "errorType": "timeout"});
        }
    }
    r
}

backend_tests!(
    the_results_logger_batch_flow_builds_the_batch,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let batch = "batch-1773223199000-a8d7f6s5q";
        // startBatch(): epoch-millisecond createdAt and zeroed counters.
        let start = json!({"batchId": batch, "createdAt": T0 - 1000, "totalRuns": 0, "successfulRuns": 0,
                       "metadata": {"suite": "update-deps", "agents": ["codex", "claude-code"]}});
        assert_eq!(
            app.post("/api/results/batch", &start).await.expect(201),
            json!({"success": true, "batchId": batch})
        );
        let runs = [
            logged_run(batch, 0, "codex", Some(0.9)),
            logged_run(batch, 1, "codex", Some(0.5)),
            logged_run(batch, 2, "claude-code", None),
            logged_run(batch, 3, "claude-code", Some(0.7)),
        ];
        for r in &runs {
            app.submit(r).await;
        }
        // completeBatch(): the client's own (wrong) counts, which the server ignores.
        let end = json!({"batchId": batch, "completedAt": T0 + 300_000, "totalRuns": 3, "successfulRuns": 3,
                     "avgScore": 0.5, "avgWeightedScore": 5.0});
        app.post("/api/results/batch", &end).await.expect(201);

        let b = app.get_json(&format!("/api/batches/{batch}")).await;
        assert_eq!(b["createdAt"], iso(-1000));
        assert_eq!(b["completedAt"], iso(300_000));
        assert_eq!(b["totalRuns"], 4);
        assert_eq!(b["successfulRuns"], 2);
        assert_eq!(b["failedRuns"], 1);
        assert_same(&b["avgScore"], &json!((0.9 + 0.5 + 0.7) / 3.0), "avgScore");
        assert_same(
            &b["avgWeightedScore"],
            &json!((9.0 + 5.0 + 7.0) / 3.0),
            "avgWeightedScore",
        );
        let meta: Value = serde_json::from_str(b["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta, start["metadata"]);
        assert_eq!(ids(&b["runs"]), ids(&json!(runs)));
        let listed = app.get_json("/api/batches?limit=5").await;
        assert_eq!(listed[0]["batchId"], batch);
        assert_eq!(listed[0]["totalRuns"], 4);
        app.close().await;
        db
    }
);

backend_tests!(
    a_failed_run_is_stored_with_its_error,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let failed = logged_run("b", 5, "codex", None);
        app.submit(&failed).await;
        let id = failed["runId"].as_str().unwrap();
        let d = app.get_json(&format!("/api/runs/{id}")).await;
        assert_eq!(d["run"]["status"], "failed");
        assert_eq!(d["run"]["isSuccessful"], false);
        assert_eq!(d["run"]["totalScore"], Value::Null);
        // The dashboard does JSON.parse(run.metadata).error / .errorType.
        let meta: Value = serde_json::from_str(d["run"]["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta["error"], "Agent timed out after 600s");
        assert_eq!(meta["errorType"], "timeout");
        assert_eq!(ids(&app.get_json("/api/runs?status=failed").await), [id]);
        assert_eq!(app.get_json("/api/stats").await["totalRuns"], 0);
        assert_eq!(app.get_json("/api/batches/b").await["failedRuns"], 1);
        app.close().await;
        db
    }
);

fn is_int(v: &Value) -> bool {
    v.is_i64()
}
fn is_num_or_null(v: &Value) -> bool {
    v.is_number() || v.is_null()
}
fn is_str_or_null(v: &Value) -> bool {
    v.is_string() || v.is_null()
}

/// Exactly API.md's run fields, with API.md's types.
fn check_run(r: &Value) {
    assert_eq!(keys(r), sorted(&RUN_KEYS), "{r}");
    assert!(is_int(&r["id"]), "{r}");
    for f in ["runId", "suite", "scenario", "tier", "agent"] {
        assert!(r[f].is_string(), "{f}: {r}");
    }
    for f in [
        "batchId",
        "model",
        "metadata",
        "specialistName",
        "specialistVersion",
    ] {
        assert!(is_str_or_null(&r[f]), "{f}: {r}");
    }
    assert!(
        ["completed", "failed", "running", "incomplete"].contains(&r["status"].as_str().unwrap())
    );
    assert!(is_iso(&r["startedAt"]), "{r}");
    assert!(
        r["completedAt"].is_null() || is_iso(&r["completedAt"]),
        "{r}"
    );
    for f in ["totalScore", "weightedScore", "successMetric"] {
        assert!(is_num_or_null(&r[f]), "{f}: {r}");
    }
    assert!(r["isSuccessful"].is_boolean(), "{r}");
    assert!(r["specialistEnabled"].is_boolean() || r["specialistEnabled"].is_null());
    if let Some(m) = r["metadata"].as_str() {
        assert!(serde_json::from_str::<Value>(m).unwrap().is_object());
    }
}

fn check_evaluation(e: &Value) {
    assert_eq!(keys(e), sorted(&EVALUATION_KEYS), "{e}");
    assert!(
        is_int(&e["id"]) && e["runId"].is_string() && e["evaluatorName"].is_string(),
        "{e}"
    );
    assert!(e["score"].is_number() && e["maxScore"].is_number(), "{e}");
    assert!(
        is_str_or_null(&e["details"]) && is_iso(&e["createdAt"]),
        "{e}"
    );
}

fn check_telemetry(t: &Value) {
    assert_eq!(keys(t), sorted(&TELEMETRY_KEYS), "{t}");
    assert!(is_int(&t["id"]) && t["runId"].is_string(), "{t}");
    for f in ["toolCalls", "tokensIn", "tokensOut", "durationMs"] {
        assert!(is_int(&t[f]) || t[f].is_null(), "{f}: {t}");
    }
    assert!(
        is_num_or_null(&t["costUsd"]) && is_str_or_null(&t["workspaceDir"]),
        "{t}"
    );
}

/// API.md's batch fields, plus `failedRuns` and `totalCostUsd`, which the server adds (its
/// OpenAPI marks them new) but API.md's Objects section does not list.
fn check_batch(b: &Value, with_runs: bool) {
    let mut want = BATCH_KEYS.to_vec();
    if with_runs {
        want.push("runs");
    }
    assert_eq!(keys(b), sorted(&want), "{b}");
    assert!(b["batchId"].is_string() && is_iso(&b["createdAt"]), "{b}");
    assert!(
        b["completedAt"].is_null() || is_iso(&b["completedAt"]),
        "{b}"
    );
    assert!(
        is_int(&b["totalRuns"]) && is_int(&b["successfulRuns"]),
        "{b}"
    );
    assert!(
        is_num_or_null(&b["avgScore"]) && is_num_or_null(&b["avgWeightedScore"]),
        "{b}"
    );
    assert!(is_str_or_null(&b["metadata"]), "{b}");
    assert!(
        is_int(&b["failedRuns"]) && b["totalCostUsd"].is_number(),
        "{b}"
    );
}

backend_tests!(
    the_dashboard_requests_return_the_documented_fields,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let batch = "batch-dash";
        app.post(
            "/api/results/batch",
            &json!({"batchId": batch, "createdAt": T0}),
        )
        .await
        .expect(201);
        app.post_raw("/api/results", API_MD_EXAMPLE, Some("Bearer test-key"))
            .await
            .expect(201);
        for (n, agent, score) in [
            (1, "codex", Some(0.9)),
            (2, "claude-code", None),
            (3, "claude-code", Some(0.6)),
        ] {
            app.submit(&logged_run(batch, n, agent, score)).await;
        }
        app.submit(&with(run("bare"), json!({"batchId": null, "model": null, "metadata": null, "telemetry": null,
        "completedAt": null, "totalScore": null, "weightedScore": null, "successMetric": null, "evaluations": []})))
        .await;

        let runs = app.get_json("/api/runs?limit=100").await;
        assert_eq!(runs.as_array().unwrap().len(), 5);
        runs.as_array().unwrap().iter().for_each(check_run);
        let filtered = app
            .get_json("/api/runs?suite=update-deps&agent=claude-code")
            .await;
        assert_eq!(filtered.as_array().unwrap().len(), 2);
        filtered.as_array().unwrap().iter().for_each(check_run);

        for r in runs.as_array().unwrap() {
            let id = r["runId"].as_str().unwrap();
            let d = app.get_json(&format!("/api/runs/{id}")).await;
            assert_eq!(keys(&d), sorted(&["run", "evaluations", "telemetry"]));
            check_run(&d["run"]);
            assert_eq!(d["run"], *r);
            d["evaluations"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(check_evaluation);
            if !d["telemetry"].is_null() {
                check_telemetry(&d["telemetry"]);
            }
            assert_eq!(
                app.get_json(&format!("/api/runs/{id}/evaluations")).await,
                d["evaluations"]
            );
            assert_eq!(
                app.get_json(&format!("/api/runs/{id}/telemetry")).await,
                d["telemetry"]
            );
        }

        let stats = app.get_json("/api/stats").await;
        assert_eq!(
            keys(&stats),
            sorted(&[
                "totalRuns",
                "successfulRuns",
                "avgScore",
                "avgWeightedScore"
            ])
        );
        assert!(is_int(&stats["totalRuns"]) && is_int(&stats["successfulRuns"]));
        assert!(stats["avgScore"].is_number() && stats["avgWeightedScore"].is_number());
        let agents = app.get_json("/api/stats/agents").await;
        assert_eq!(agents.as_array().unwrap().len(), 3);
        for a in agents.as_array().unwrap() {
            assert_eq!(
                keys(a),
                sorted(&["agent", "runs", "avgScore", "minScore", "maxScore"])
            );
            assert!(a["agent"].is_string() && is_int(&a["runs"]));
        }

        let batches = app.get_json("/api/batches?limit=10").await;
        assert_eq!(batches.as_array().unwrap().len(), 2);
        for b in batches.as_array().unwrap() {
            check_batch(b, false);
            let id = b["batchId"].as_str().unwrap();
            let detail = app.get_json(&format!("/api/batches/{id}")).await;
            check_batch(&detail, true);
            detail["runs"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(check_run);
        }
        app.close().await;
        db
    }
);
