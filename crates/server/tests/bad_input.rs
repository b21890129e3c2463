//! Refused submissions: each gets the documented status and error body, and afterwards the
//! read API shows exactly what it showed before (nothing partial was stored). On SQLite and
//! PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

/// An app with two stored runs in `batch-1`, and the snapshot of what it shows.
async fn seeded(db: &TestDb) -> (TestApp, Value) {
    let app = TestApp::new(db).await;
    app.post(
        "/api/results/batch",
        &json!({"batchId": "batch-1", "createdAt": T0, "metadata": {"k": 1}}),
    )
    .await
    .expect(201);
    app.submit(&run("seed-1")).await;
    app.submit(&with(
        run("seed-2"),
        json!({"status": "failed", "startedAt": T0 + 1}),
    ))
    .await;
    let snap = app.snapshot().await;
    assert_eq!(snap["stats"]["totalRuns"], 1);
    (app, snap)
}

/// Asserts the read API is unchanged and the named runs do not exist.
async fn unchanged(app: &TestApp, before: &Value, absent: &[&str]) {
    assert_eq!(
        app.snapshot().await,
        *before,
        "a refused request changed stored data"
    );
    for id in absent {
        let r = app.get(&format!("/api/runs/{id}")).await;
        assert_eq!(r.expect(404), json!({"error": "Run not found"}), "{id}");
    }
}

backend_tests!(malformed_json_is_400, |db: TestDb| async move {
    let (app, before) = seeded(&db).await;
    for body in [
        "{",
        "{\"runId\": \"m1\",}",
        "not json",
        "",
        "[1,2",
        "{\"runId\":\"m1\"} trailing",
    ] {
        let r = app
            .post_raw("/api/results", body, Some("Bearer test-key"))
            .await;
        let e = r.expect(400);
        assert_eq!(e["error"], "Invalid JSON", "{body:?}: {e}");
        assert!(e["details"].is_string(), "{e}");
        let r = app
            .post_raw("/api/results/bulk", body, Some("Bearer test-key"))
            .await;
        assert_eq!(r.expect(400)["error"], "Invalid JSON");
        let r = app
            .post_raw("/api/results/batch", body, Some("Bearer test-key"))
            .await;
        assert_eq!(r.expect(400)["error"], "Invalid JSON");
    }
    unchanged(&app, &before, &["m1"]).await;
    app.close().await;
    db
});

backend_tests!(
    a_wrong_type_is_400_naming_the_path,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        let evals: Vec<Value> = (0..4).map(|i| json!({"evaluatorName": format!("E{i}"), "score": if i == 3 { json!("high") } else { json!(0.5) }})).collect();
        let cases = [
            (
                with(run("w1"), json!({"evaluations": evals})),
                "evaluations[3].score: ",
                "expected a number",
            ),
            (with(run("w2"), json!({"tier": 5})), "tier: ", ""),
            (
                with(run("w3"), json!({"isSuccessful": "yes"})),
                "isSuccessful: ",
                "expected true or false",
            ),
            (
                with(run("w4"), json!({"telemetry": {"tokensIn": 1.5}})),
                "telemetry.tokensIn: ",
                "",
            ),
            (
                with(run("w5"), json!({"metadata": [1, 2]})),
                "metadata: ",
                "expected an object",
            ),
            (with(run("w6"), json!({"status": "done"})), "status: ", ""),
            (
                with(run("w7"), json!({"startedAt": "yesterday"})),
                "startedAt: ",
                "",
            ),
            (
                with(run("w8"), json!({"evaluations": {"a": 1}})),
                "evaluations: ",
                "",
            ),
            (
                with(run("w9"), json!({"totalScore": "0.5"})),
                "totalScore: ",
                "expected a number",
            ),
        ];
        for (body, path, msg) in &cases {
            let e = app.post("/api/results", body).await.expect(400);
            let details = e["details"].as_str().unwrap_or_else(|| panic!("{e}"));
            assert!(details.starts_with(path), "want {path}…, got {details}");
            assert!(details.contains(msg), "want {msg}, got {details}");
            assert!(
                !details.contains("f64") && !details.contains("i64"),
                "Rust type names leak: {details}"
            );
        }
        // In a bulk, the item's index comes first; nothing of the bulk is stored.
        let bulk = json!([run("bulk-ok"), cases[0].0.clone()]);
        let e = app.post("/api/results/bulk", &bulk).await.expect(400);
        assert!(
            e["details"]
                .as_str()
                .unwrap()
                .starts_with("runs[1].evaluations[3].score: "),
            "{e}"
        );
        let e = app
            .post(
                "/api/results/batch",
                &json!({"batchId": "batch-1", "completedAt": "soon"}),
            )
            .await
            .expect(400);
        assert!(
            e["details"].as_str().unwrap().starts_with("completedAt: "),
            "{e}"
        );
        unchanged(
            &app,
            &before,
            &[
                "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "bulk-ok",
            ],
        )
        .await;
        app.close().await;
        db
    }
);

backend_tests!(
    missing_required_fields_are_all_listed,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        let all = ["runId", "suite", "scenario", "tier", "agent", "status"];
        let cases: [(Value, &[&str]); 4] = [
            (json!({}), &all),
            (
                json!({"runId": "x1", "suite": "", "agent": null, "tier": "   "}),
                &["suite", "scenario", "tier", "agent", "status"],
            ),
            (
                with(run("x2"), json!({"agent": null, "status": null})),
                &["agent", "status"],
            ),
            (with(run("x3"), json!({"runId": null})), &["runId"]),
        ];
        for (body, missing) in cases {
            let e = app.post("/api/results", &body).await.expect(400);
            assert_eq!(e["error"], "Missing required fields", "{e}");
            let mut got: Vec<String> = serde_json::from_value(e["details"].clone()).unwrap();
            got.sort();
            assert_eq!(got, sorted(missing), "{body}");
        }
        let e = app
            .post("/api/results/batch", &json!({"totalRuns": 3}))
            .await
            .expect(400);
        assert_eq!(e["error"], "batchId required");
        let e = app
            .post("/api/results/bulk", &json!({"items": []}))
            .await
            .expect(400);
        assert_eq!(
            e,
            json!({"error": "Missing required fields", "details": ["runs"]})
        );
        unchanged(&app, &before, &["x1", "x2", "x3"]).await;
        app.close().await;
        db
    }
);

backend_tests!(
    nan_infinity_and_negative_counts_are_400,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        let good = run("n1").to_string();
        let replaced = |from: &str, to: &str| {
            assert!(good.contains(from), "{from}");
            good.replace(from, to)
        };
        let bodies = [
            replaced("\"totalScore\":0.75", "\"totalScore\":NaN"),
            replaced("\"weightedScore\":7.5", "\"weightedScore\":Infinity"),
            replaced("\"costUsd\":0.182", "\"costUsd\":-Infinity"),
            replaced("\"score\":0.8", "\"score\":1e999"),
            replaced("\"successMetric\":0.75", "\"successMetric\":nan"),
        ];
        for body in &bodies {
            let r = app
                .post_raw("/api/results", body.clone(), Some("Bearer test-key"))
                .await;
            assert_eq!(r.expect(400)["error"], "Invalid JSON", "{body}");
        }
        for field in [
            "tokensIn",
            "tokensOut",
            "toolCalls",
            "durationMs",
            "costUsd",
        ] {
            let mut body = run("n1");
            body["telemetry"][field] = json!(-1);
            let e = app.post("/api/results", &body).await.expect(400);
            assert_eq!(
                e["details"],
                format!("telemetry.{field}: must not be negative"),
                "{e}"
            );
        }
        unchanged(&app, &before, &["n1"]).await;
        app.close().await;
        db
    }
);

backend_tests!(a_body_over_the_limit_is_413, |db: TestDb| async move {
    let (default_app, before) = seeded(&db).await;
    let small = zebench_server::ServerConfig {
        body_limit: 4096,
        bulk_body_limit: 8192,
        ..config()
    };
    let app = TestApp::with_config(&db, small).await;
    let huge = with(run("big"), json!({"artifacts": {"log": "x".repeat(5000)}}));
    let e = app.post("/api/results", &huge).await.expect(413);
    assert_eq!(e["error"], "Payload too large");
    let e = app
        .post(
            "/api/results/batch",
            &json!({"batchId": "batch-1", "metadata": {"x": "y".repeat(5000)}}),
        )
        .await
        .expect(413);
    assert_eq!(e["error"], "Payload too large");
    let many = json!((0..12)
        .map(|i| run(&format!("many-{i}")))
        .collect::<Vec<_>>());
    assert!(many.to_string().len() > 8192);
    app.post("/api/results/bulk", &many).await.expect(413);
    unchanged(&app, &before, &["big", "many-0", "many-9"]).await;
    // The bulk limit is separate: over body_limit but under bulk_body_limit is fine there.
    let six = json!((0..6).map(|i| run(&format!("six-{i}"))).collect::<Vec<_>>());
    assert!((4096..8192).contains(&six.to_string().len()));
    app.post("/api/results/bulk", &six).await.expect(201);
    // With the default limit (8 MiB), a 3 MiB run is accepted: no smaller limit hides in the stack.
    let three_mib = with(
        run("three-mib"),
        json!({"artifacts": {"transcript": "t".repeat(3 << 20)}}),
    );
    default_app.submit(&three_mib).await;
    let list = default_app.get_json("/api/runs/three-mib/artifacts").await;
    assert_eq!(list[1]["size"], 3 << 20);
    app.close().await;
    default_app.close().await;
    db
});

backend_tests!(
    the_same_run_again_is_a_duplicate_and_changes_nothing,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        // Same content, keys in another order and numbers written differently.
        let mut text = run("seed-1").to_string();
        text = text.replace("\"maxScore\":1", "\"maxScore\":1.0");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let obj = std::mem::take(v.as_object_mut().unwrap());
        let reordered: serde_json::Map<String, Value> = obj.into_iter().rev().collect();
        for body in [run("seed-1"), Value::Object(reordered)] {
            let r = app.post("/api/results", &body).await;
            assert_eq!(
                r.expect(200),
                json!({"success": true, "runId": "seed-1", "duplicate": true})
            );
        }
        unchanged(&app, &before, &[]).await;
        app.close().await;
        db
    }
);

backend_tests!(
    the_same_run_id_with_other_content_is_409,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        let changes = [
            json!({"totalScore": 0.1}),
            json!({"status": "failed"}),
            json!({"evaluations": []}),
            json!({"telemetry": {"tokensIn": 1}}),
            json!({"metadata": {"packageManager": "npm"}}),
            json!({"batchId": "other-batch"}),
        ];
        for change in changes {
            let r = app
                .post("/api/results", &with(run("seed-1"), change.clone()))
                .await;
            let e = r.expect(409);
            assert_eq!(e["error"], "Run already exists", "{change}");
        }
        // A bulk with one conflicting run stores none of its runs.
        let bulk = json!([
            run("new-1"),
            with(run("seed-1"), json!({"totalScore": 0.2})),
            run("new-2")
        ]);
        let e = app.post("/api/results/bulk", &bulk).await.expect(409);
        assert_eq!(e["error"], "Run already exists");
        assert_eq!(e["details"], json!(["seed-1"]));
        unchanged(&app, &before, &["new-1", "new-2"]).await;
        assert!(app.get("/api/batches/other-batch").await.status == 404);
        app.close().await;
        db
    }
);

backend_tests!(
    invalid_runs_inside_a_bulk_store_nothing,
    |db: TestDb| async move {
        let (app, before) = seeded(&db).await;
        let mut bad = run("bulk-3");
        bad["telemetry"]["tokensOut"] = json!(-5);
        let bulk = json!({"runs": [run("bulk-1"), run("bulk-2"), bad]});
        let e = app.post("/api/results/bulk", &bulk).await.expect(400);
        assert_eq!(
            e["details"],
            "runs[2].telemetry.tokensOut: must not be negative"
        );
        let e = app
            .post(
                "/api/results/bulk",
                &json!({"runs": [run("bulk-1"), {"runId": "bulk-x"}]}),
            )
            .await
            .expect(400);
        assert_eq!(e["error"], "Missing required fields");
        assert!(
            e["details"]
                .as_array()
                .unwrap()
                .contains(&json!("runs[1].suite")),
            "{e}"
        );
        let e = app
            .post("/api/results/bulk", &json!({"runs": 5}))
            .await
            .expect(400);
        assert!(e["details"].as_str().unwrap().starts_with("runs: "), "{e}");
        unchanged(&app, &before, &["bulk-1", "bulk-2", "bulk-3", "bulk-x"]).await;
        app.close().await;
        db
    }
);
