//! Bulk submission and breakdowns over HTTP: many runs in one transaction, and runs grouped by
//! agent, model, agent-model, suite, scenario, tier, evaluator and day, with and without
//! filters. On SQLite and PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

backend_tests!(
    bulk_accepts_an_array_or_an_object_in_one_go,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let a: Vec<Value> = (0..3).map(|i| run(&format!("a{i}"))).collect();
        let r = app.post("/api/results/bulk", &json!(a)).await;
        assert_eq!(
            r.expect(201),
            json!({"success": true, "created": 3, "duplicates": 0, "runIds": ["a0", "a1", "a2"]})
        );
        let b = vec![run("b0"), run("a1")];
        let r = app.post("/api/results/bulk", &json!({"runs": b})).await;
        assert_eq!(
            r.expect(201),
            json!({"success": true, "created": 1, "duplicates": 1, "runIds": ["b0", "a1"]})
        );
        // Everything already stored: 200, nothing changes.
        let before = app.snapshot().await;
        let r = app.post("/api/results/bulk", &json!(a)).await;
        assert_eq!(r.expect(200)["duplicates"], 3);
        assert_eq!(app.snapshot().await, before);
        assert_eq!(app.run_count().await, 4);
        assert_eq!(app.get_json("/api/batches/batch-1").await["totalRuns"], 4);
        let d = app.get_json("/api/runs/a2").await;
        assert_eq!(d["evaluations"].as_array().unwrap().len(), 2);
        assert_eq!(d["telemetry"]["tokensIn"], 45210);
        app.close().await;
        db
    }
);

fn row<'a>(rows: &'a Value, key: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {rows}"))
}

backend_tests!(
    breakdowns_group_by_every_dimension,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        seed_breakdown_data(&app).await;
        let expected_keys: [(&str, &[&str]); 8] = [
            ("agent", &["claude", "codex"]),
            ("model", &["gpt", "opus", "sonnet"]),
            (
                "agent-model",
                &["claude / opus", "claude / sonnet", "codex / gpt"],
            ),
            ("suite", &["s1", "s2"]),
            ("scenario", &["s1-c", "s2-c"]),
            ("tier", &["L1", "L2"]),
            ("evaluator", &["E1", "E2"]),
            ("day", &["2026-03-11", "2026-03-12", "2026-03-13"]),
        ];
        for (dim, want) in expected_keys {
            let rows = app.get_json(&format!("/api/breakdowns/{dim}")).await;
            let got: Vec<String> = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["key"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(got, want, "{dim}: {rows}");
            // Every group sums back to the five runs.
            let total: i64 = rows
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["runs"].as_i64().unwrap())
                .sum();
            assert_eq!(total, if dim == "evaluator" { 10 } else { 5 }, "{dim}");
            // The maintained rollup (no filter) equals the live computation (a filter matching all).
            let live = app
                .get_json(&format!("/api/breakdowns/{dim}?since=0"))
                .await;
            assert_same(&live, &rows, dim);
        }

        let agents = app.get_json("/api/breakdowns/agent").await;
        let claude = row(&agents, "claude");
        assert_eq!(
            (
                claude["runs"].clone(),
                claude["completedRuns"].clone(),
                claude["successfulRuns"].clone()
            ),
            (json!(3), json!(3), json!(3))
        );
        assert_eq!(claude["avgScore"], json!(0.75));
        assert_eq!(claude["avgWeightedScore"], json!(6.0));
        assert_eq!(
            (
                claude["minWeightedScore"].clone(),
                claude["maxWeightedScore"].clone()
            ),
            (json!(4.0), json!(8.0))
        );
        assert_eq!(claude["costUsd"], json!(0.375));
        assert_eq!(
            (
                claude["tokensIn"].clone(),
                claude["tokensOut"].clone(),
                claude["toolCalls"].clone()
            ),
            (json!(300), json!(30), json!(6))
        );
        let codex = row(&agents, "codex");
        assert_eq!(
            (
                codex["runs"].clone(),
                codex["failedRuns"].clone(),
                codex["completedRuns"].clone()
            ),
            (json!(2), json!(1), json!(1))
        );
        assert_eq!(codex["avgScore"], json!(0.25));
        assert_eq!(codex["successRate"], json!(0.0));
        // Evaluator scores are normalised by maxScore and cover completed runs.
        let evals = app.get_json("/api/breakdowns/evaluator").await;
        assert_eq!(row(&evals, "E2")["avgScore"], json!(0.5));
        assert_eq!(row(&evals, "E1")["avgScore"], json!(0.625));

        // Filtered views.
        let f = app.get_json("/api/breakdowns/model?agent=claude").await;
        assert_eq!(f.as_array().unwrap().len(), 2);
        assert_eq!(row(&f, "sonnet")["runs"], 2);
        let f = app
            .get_json("/api/breakdowns/day?suite=s2&status=completed")
            .await;
        assert_eq!(
            f.as_array()
                .unwrap()
                .iter()
                .map(|r| r["runs"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            [1, 1]
        );
        let f = app.get_json("/api/breakdowns/agent?batchId=nope").await;
        assert_eq!(f, json!([]));
        let f = app
            .get_json(&format!(
                "/api/breakdowns/tier?since={}&until={}",
                T0 + 1,
                iso(86_400_000 * 2)
            ))
            .await;
        assert_eq!(row(&f, "L1")["runs"], 1);
        assert_eq!(row(&f, "L2")["runs"], 1);

        assert_eq!(app.get("/api/breakdowns/color").await.status, 400);
        assert_eq!(
            app.get("/api/breakdowns/agent?status=done").await.status,
            400
        );
        assert_eq!(
            app.get("/api/breakdowns/agent?since=yesterday")
                .await
                .status,
            400
        );
        app.close().await;
        db
    }
);
