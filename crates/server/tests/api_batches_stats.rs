//! Batches and statistics over HTTP: listing, one batch with its runs and server-computed
//! aggregates, the batch upsert, `/api/stats` and `/api/stats/agents`. On SQLite and PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

/// A completed run in `batch` with the given scores (`None` = a failed run without scores).
fn scored(id: &str, batch: &str, agent: &str, total: Option<f64>, started: i64) -> Value {
    let mut r = with(
        run(id),
        json!({"batchId": batch, "agent": agent, "startedAt": T0 + started,
               "totalScore": null, "weightedScore": null, "successMetric": null, "isSuccessful": false}),
    );
    match total {
        Some(t) => {
            r["totalScore"] = json!(t);
            r["weightedScore"] = json!(t * 10.0);
            r["isSuccessful"] = json!(t >= 0.5);
        }
        None => {
            r["status"] = json!("failed");
            r["metadata"] = json!({"error": "boom", "errorType": "timeout"});
        }
    }
    r
}

backend_tests!(
    batches_are_newest_first_with_a_default_limit_of_20,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        for i in 0..25i64 {
            // createdAt as epoch ms and as ISO, alternately; posted out of order.
            let n = (i * 7) % 25;
            let created = if n % 2 == 0 {
                json!(T0 + n * 1000)
            } else {
                json!(iso(n * 1000))
            };
            let r = app
                .post(
                    "/api/results/batch",
                    &json!({"batchId": format!("b{n:02}"), "createdAt": created}),
                )
                .await;
            assert_eq!(
                r.expect(201),
                json!({"success": true, "batchId": format!("b{n:02}")})
            );
        }
        let list = app.get_json("/api/batches").await;
        let got: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["batchId"].as_str().unwrap())
            .collect();
        let want: Vec<String> = (5..25).rev().map(|n| format!("b{n:02}")).collect();
        assert_eq!(got, want);
        for b in list.as_array().unwrap() {
            assert_eq!(keys(b), sorted(&BATCH_KEYS));
            assert!(is_iso(&b["createdAt"]));
            assert_eq!(b["totalRuns"], 0);
            assert_eq!(b["avgScore"], Value::Null);
        }
        assert_eq!(list[0]["createdAt"], iso(24_000));
        assert_eq!(
            app.get_json("/api/batches?limit=3")
                .await
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            app.get_json("/api/batches?limit=1000")
                .await
                .as_array()
                .unwrap()
                .len(),
            25
        );
        app.close().await;
        db
    }
);

backend_tests!(
    a_batch_has_its_runs_oldest_first_and_server_aggregates,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        // The client claims aggregates; the server must ignore them.
        let claim = json!({"batchId": "b1", "createdAt": T0, "totalRuns": 999, "successfulRuns": 999,
                       "avgScore": 0.01, "avgWeightedScore": 0.1, "metadata": {"harness": "ze"}});
        app.post("/api/results/batch", &claim).await.expect(201);
        app.submit(&scored("r3", "b1", "a", Some(0.25), 3000)).await;
        app.submit(&scored("r1", "b1", "a", Some(1.0), 1000)).await;
        app.submit(&scored("r4", "b1", "a", None, 4000)).await;
        app.submit(&scored("r2", "b1", "b", Some(0.5), 2000)).await;
        app.submit(&scored("other", "b2", "a", Some(0.0), 500))
            .await;
        let mut incomplete = scored("r5", "b1", "a", Some(0.75), 5000);
        incomplete["status"] = json!("incomplete");
        app.submit(&incomplete).await;
        app.post("/api/results/batch", &claim).await.expect(201);

        let b = app.get_json("/api/batches/b1").await;
        let mut want_keys = BATCH_KEYS.to_vec();
        want_keys.push("runs");
        assert_eq!(keys(&b), sorted(&want_keys));
        assert_eq!(b["batchId"], "b1");
        assert_eq!(b["createdAt"], iso(0));
        assert_eq!(ids(&b["runs"]), ["r1", "r2", "r3", "r4", "r5"]);
        for r in b["runs"].as_array().unwrap() {
            assert_eq!(keys(r), sorted(&RUN_KEYS));
        }
        // Every run counts; scores average the completed runs only (1.0, 0.5, 0.25).
        assert_eq!(b["totalRuns"], 5);
        assert_eq!(b["successfulRuns"], 2);
        assert_eq!(b["failedRuns"], 1);
        assert_eq!(b["avgScore"], json!(1.75 / 3.0));
        assert_eq!(b["avgWeightedScore"], json!(17.5 / 3.0));
        assert_eq!(b["metadata"], r#"{"harness":"ze"}"#);
        let cost = b["totalCostUsd"].as_f64().unwrap();
        assert!((cost - 5.0 * 0.182).abs() < 1e-9, "{cost}");

        // The list shows the same aggregates.
        let list = app.get_json("/api/batches").await;
        let listed = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["batchId"] == "b1")
            .unwrap();
        let mut without_runs = b.clone();
        without_runs.as_object_mut().unwrap().remove("runs");
        assert_eq!(*listed, without_runs);
        // A batch first named by a run exists with that run's start as its creation time.
        let b2 = app.get_json("/api/batches/b2").await;
        assert_eq!(
            (b2["totalRuns"].clone(), b2["createdAt"].clone()),
            (json!(1), json!(iso(500)))
        );
        app.close().await;
        db
    }
);

backend_tests!(
    batch_upsert_keeps_created_at_and_unsent_fields,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let post = |body: Value| {
            let app = &app;
            async move { app.post("/api/results/batch", &body).await.expect(201) }
        };
        post(json!({"batchId": "b", "createdAt": T0, "metadata": {"v": 1}})).await;
        let first = app.get_json("/api/batches/b").await;
        assert_eq!(first["completedAt"], Value::Null);
        assert_eq!(first["metadata"], r#"{"v":1}"#);

        // A later createdAt is ignored; completedAt is set; metadata not sent stays.
        post(json!({"batchId": "b", "createdAt": T0 + 9000, "completedAt": T0 + 60_000})).await;
        let second = app.get_json("/api/batches/b").await;
        assert_eq!(second["createdAt"], iso(0));
        assert_eq!(second["completedAt"], iso(60_000));
        assert_eq!(second["metadata"], r#"{"v":1}"#);

        // Metadata replaced; completedAt not sent stays; ISO input accepted.
        post(json!({"batchId": "b", "metadata": {"v": 2}})).await;
        post(json!({"batchId": "b", "completedAt": null})).await;
        let third = app.get_json("/api/batches/b").await;
        assert_eq!(third["createdAt"], iso(0));
        assert_eq!(third["completedAt"], iso(60_000));
        assert_eq!(third["metadata"], r#"{"v":2}"#);
        post(json!({"batchId": "b", "completedAt": iso(61_000)})).await;
        assert_eq!(
            app.get_json("/api/batches/b").await["completedAt"],
            iso(61_000)
        );

        // Without createdAt, a new batch is stamped with the server's time.
        post(json!({"batchId": "fresh"})).await;
        let fresh = app.get_json("/api/batches/fresh").await;
        assert!(is_iso(&fresh["createdAt"]));
        assert_eq!(
            app.get_json("/api/batches").await.as_array().unwrap().len(),
            2
        );
        app.close().await;
        db
    }
);

backend_tests!(
    stats_cover_completed_runs_with_null_averages_when_empty,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let empty = app.get_json("/api/stats").await;
        assert_eq!(
            empty,
            json!({"totalRuns": 0, "successfulRuns": 0, "avgScore": null, "avgWeightedScore": null})
        );
        // Failed and running runs exist but are not counted.
        app.submit(&scored("f", "b", "a", None, 0)).await;
        let mut running = scored("x", "b", "a", Some(0.9), 1);
        running["status"] = json!("running");
        app.submit(&running).await;
        assert_eq!(app.get_json("/api/stats").await, empty);

        app.submit(&scored("r1", "b", "a", Some(1.0), 2)).await;
        app.submit(&scored("r2", "b", "b", Some(0.5), 3)).await;
        app.submit(&scored("r3", "b", "c", Some(0.0), 4)).await;
        let mut unscored = scored("r4", "b", "c", Some(0.0), 5);
        unscored["totalScore"] = Value::Null;
        unscored["weightedScore"] = Value::Null;
        app.submit(&unscored).await;
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
        assert_eq!(stats["totalRuns"], 4);
        assert_eq!(stats["successfulRuns"], 2);
        assert_eq!(stats["avgScore"], json!(0.5));
        assert_eq!(stats["avgWeightedScore"], json!(5.0));
        app.close().await;
        db
    }
);

backend_tests!(agent_stats_are_best_first, |db: TestDb| async move {
    let app = TestApp::new(&db).await;
    assert_eq!(app.get_json("/api/stats/agents").await, json!([]));
    let runs = [
        ("m1", "mid", Some(0.5)),
        ("m2", "mid", Some(0.7)),
        ("t1", "top", Some(0.9)),
        ("l1", "low", Some(0.1)),
        ("l2", "low", None),
        ("only-failed", "ghost", None),
    ];
    for (i, (id, agent, total)) in runs.iter().enumerate() {
        app.submit(&scored(id, "b", agent, *total, i as i64)).await;
    }
    let stats = app.get_json("/api/stats/agents").await;
    let rows = stats.as_array().unwrap();
    let agents: Vec<&str> = rows.iter().map(|r| r["agent"].as_str().unwrap()).collect();
    assert_eq!(agents, ["top", "mid", "low"]);
    for r in rows {
        assert_eq!(
            keys(r),
            sorted(&["agent", "runs", "avgScore", "minScore", "maxScore"])
        );
    }
    assert_eq!(rows[0]["runs"], 1);
    assert_eq!(rows[1]["runs"], 2);
    assert_eq!(rows[1]["avgScore"], json!(6.0));
    assert_eq!(rows[1]["minScore"], json!(5.0));
    assert_eq!(rows[1]["maxScore"], json!(7.0));
    // The failed run of `low` does not count.
    assert_eq!(rows[2]["runs"], 1);
    assert_eq!(rows[2]["avgScore"], json!(1.0));
    app.close().await;
    db
});
