//! Valid but extreme input: it must be stored exactly or refused with a 4xx, never answered
//! with a 5xx, and it must never leave the read API broken for everyone afterwards.
//! On SQLite and PostgreSQL.
//!
//! Each test names the defect it once caught; all are fixed and kept as regressions.

mod common;

use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

/// Every aggregate and listing endpoint answers 200 (the batch only once one of its runs was
/// stored: when every extreme value is refused, the batch rightly does not exist).
async fn reads_still_work(app: &TestApp, batch: &str) {
    let stored = app.get("/api/stats").await.json()["totalRuns"]
        .as_i64()
        .unwrap_or(0)
        > 0;
    let mut uris: Vec<String> = [
        "/api/stats",
        "/api/stats/agents",
        "/api/runs?limit=1000",
        "/api/batches",
        "/api/export?format=jsonl",
        "/api/export?format=csv",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if stored {
        uris.push(format!("/api/batches/{batch}"));
    }
    for dim in [
        "agent",
        "model",
        "agent-model",
        "suite",
        "scenario",
        "tier",
        "evaluator",
        "day",
    ] {
        uris.push(format!("/api/breakdowns/{dim}"));
        uris.push(format!("/api/breakdowns/{dim}?since=0"));
    }
    let mut broken = Vec::new();
    for uri in &uris {
        let r = app.get(uri).await;
        if r.status != 200 {
            broken.push(format!("{uri} -> {} {}", r.status, r.text()));
        }
    }
    assert!(
        broken.is_empty(),
        "read endpoints broken after valid input:\n{}",
        broken.join("\n")
    );
}

/// Posts each body; each must be stored (201) or refused as a client error (4xx).
async fn post_all(app: &TestApp, bodies: &[Value]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for b in bodies {
        let r = app.post("/api/results", b).await;
        assert!(
            r.status == 201 || r.status.is_client_error(),
            "{} answered {} {}",
            b["runId"],
            r.status,
            r.text()
        );
        statuses.push(r.status.as_u16());
    }
    statuses
}

// Regression (both backends, fixed): the server parses JSON with serde_json's default float parser,
// which is not correctly rounded ("best effort"); the workspace Cargo.toml does not enable
// serde_json's `float_roundtrip` feature. 909466076.3886769 is stored and returned as
// 909466076.3886768 (one ULP off).
backend_tests!(floats_read_back_bit_for_bit, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    let x = 909_466_076.388_676_9_f64;
    let tiny = -1.103_758_263_964_073_7e-216_f64;
    let body = with(
        run("float"),
        json!({"totalScore": x, "weightedScore": tiny, "metadata": {"x": x},
               "evaluations": [{"evaluatorName": "E", "score": x, "maxScore": 100.094_883_969_647_17}],
               "telemetry": {"costUsd": x}}),
    );
    app.submit(&body).await;
    let d = app.get_json("/api/runs/float").await;
    let meta: Value = serde_json::from_str(d["run"]["metadata"].as_str().unwrap()).unwrap();
    let got = [
        ("totalScore", d["run"]["totalScore"].as_f64()),
        ("weightedScore", d["run"]["weightedScore"].as_f64()),
        ("metadata.x", meta["x"].as_f64()),
        (
            "evaluations[0].score",
            d["evaluations"][0]["score"].as_f64(),
        ),
        (
            "evaluations[0].maxScore",
            d["evaluations"][0]["maxScore"].as_f64(),
        ),
        ("telemetry.costUsd", d["telemetry"]["costUsd"].as_f64()),
    ];
    let want = [x, tiny, x, x, 100.094_883_969_647_17, x];
    for ((name, g), w) in got.into_iter().zip(want) {
        assert_eq!(
            g.map(f64::to_bits),
            Some(w.to_bits()),
            "{name}: got {g:?}, sent {w:?}"
        );
    }
    app.close().await;
    db
});

// Regression (PostgreSQL, fixed): U+0000 is valid in a JSON string, but PostgreSQL TEXT cannot hold
// it. crates/core/src/validate.rs `check_run` neither refuses nor escapes NUL in free-text
// fields (evaluation `details`, `telemetry.workspaceDir`, `specialistName`), so the insert
// transaction in crates/store/src/queries.rs fails and the client gets 500 (SQLite stores it).
backend_tests!(
    nul_characters_are_stored_or_refused_never_500,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let bodies = [
            with(
                run("nul-details"),
                json!({"evaluations": [{"evaluatorName": "E", "score": 1, "details": "a\u{0}b"}]}),
            ),
            with(
                run("nul-ws"),
                json!({"telemetry": {"workspaceDir": "/tmp/a\u{0}b"}}),
            ),
            with(run("nul-specialist"), json!({"specialistName": "s\u{0}"})),
            with(run("nul-meta"), json!({"metadata": {"k": "v\u{0}"}})),
            with(
                run("nul-prompt"),
                json!({"telemetry": {"promptSent": "p\u{0}"}}),
            ),
        ];
        let statuses = post_all(&app, &bodies).await;
        // What was stored reads back exactly.
        for (b, status) in bodies.iter().zip(statuses) {
            let id = b["runId"].as_str().unwrap();
            if status == 201 {
                let d = app.get_json(&format!("/api/runs/{id}")).await;
                assert_same(
                    &d["evaluations"][0]["details"],
                    &b["evaluations"][0]["details"],
                    id,
                );
                assert_same(
                    &d["telemetry"]["workspaceDir"],
                    &b["telemetry"]["workspaceDir"],
                    id,
                );
                assert_same(&d["run"]["specialistName"], &b["specialistName"], id);
            } else {
                assert_eq!(app.get(&format!("/api/runs/{id}")).await.status, 404);
            }
        }
        reads_still_work(&app, "batch-1").await;
        app.close().await;
        db
    }
);

// Regression (both backends, fixed): token counts are validated as non-negative only
// (crates/core/src/validate.rs `check_count`), but the rollup and batch sums are added in SQL
// (crates/store/src/queries.rs: the rollup upsert's `tokens_in = rollups.tokens_in +
// excluded.tokens_in`, and `live_breakdown`'s `SUM(t.tokens_in)`). Two runs whose counts add past i64::MAX:
// PostgreSQL answers the second with 500; SQLite stores it, its integer sum silently becomes a
// REAL, and from then on /api/stats, /api/stats/agents and every breakdown answer 500.
backend_tests!(
    huge_token_counts_keep_the_api_working,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let big = i64::MAX / 2 + 1;
        let bodies = [
            with(
                run("tok-1"),
                json!({"telemetry": {"tokensIn": big, "tokensOut": big}}),
            ),
            with(
                run("tok-2"),
                json!({"telemetry": {"tokensIn": big, "tokensOut": big}}),
            ),
            with(
                run("tok-3"),
                json!({"telemetry": {"toolCalls": i64::MAX, "durationMs": i64::MAX}}),
            ),
            with(
                run("tok-4"),
                json!({"telemetry": {"toolCalls": i64::MAX, "durationMs": i64::MAX}}),
            ),
        ];
        post_all(&app, &bodies).await;
        reads_still_work(&app, "batch-1").await;
        app.submit(&run("after")).await;
        app.close().await;
        db
    }
);

// Regression (PostgreSQL, fixed): finite scores and costs are accepted at any magnitude, but the
// running sums of the insert transaction in crates/store/src/queries.rs (the batch UPDATE's
// `score_sum = score_sum + $4`, `weighted_sum`, `cost_sum`, and the rollup upsert) overflow
// DOUBLE PRECISION, which
// PostgreSQL reports as an error: the second such run gets 500. (SQLite stores +inf and later
// shows null averages.)
backend_tests!(
    huge_scores_and_costs_are_stored_or_refused_never_500,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let bodies = [
            with(
                run("w-1"),
                json!({"weightedScore": 1e308, "totalScore": 1e308}),
            ),
            with(
                run("w-2"),
                json!({"weightedScore": 1e308, "totalScore": 1e308}),
            ),
            with(run("c-1"), json!({"telemetry": {"costUsd": 1e308}})),
            with(run("c-2"), json!({"telemetry": {"costUsd": 1e308}})),
        ];
        post_all(&app, &bodies).await;
        reads_still_work(&app, "batch-1").await;
        app.submit(&run("after")).await;
        app.close().await;
        db
    }
);

// Regression (both backends, fixed): an evaluator's normalised score is score / maxScore
// (crates/core/src/run.rs `EvaluationInput::normalized`), which overflows to ±infinity for a tiny
// maxScore. SQLite: summed into the evaluator rollup (crates/store/src/queries.rs, the rollup
// upsert), +inf plus -inf is NaN, stored as NULL in a NOT NULL column, so the second run gets
// 500. PostgreSQL: both runs are stored, but the live evaluator breakdown
// (crates/store/src/queries.rs `live_breakdown`, `score / max_score`) raises a float overflow,
// so `/api/breakdowns/evaluator?since=0` answers 500 from then on.
backend_tests!(
    extreme_score_ratios_are_stored_or_refused_never_500,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let bodies = [
            with(
                run("q-1"),
                json!({"evaluations": [{"evaluatorName": "E", "score": 1e300, "maxScore": 1e-300}]}),
            ),
            with(
                run("q-2"),
                json!({"evaluations": [{"evaluatorName": "E", "score": -1e300, "maxScore": 1e-300}]}),
            ),
        ];
        post_all(&app, &bodies).await;
        reads_still_work(&app, "batch-1").await;
        app.submit(&run("after")).await;
        app.close().await;
        db
    }
);
