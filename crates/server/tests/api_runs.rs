//! The seed's run endpoints over HTTP: health, submission, listing with filters and paging,
//! one run with its evaluations and telemetry. Every test runs on SQLite and PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

backend_tests!(
    health_reports_ok_time_version_and_database,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let r = app.get("/health").await;
        let body = r.expect(200);
        assert_eq!(body["status"], "ok");
        assert!(is_iso(&body["timestamp"]), "{body}");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        let expected = if db.schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        assert_eq!(body["database"], expected);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        app.close().await;
        db
    }
);

backend_tests!(
    submit_returns_201_and_the_run_is_listed,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let r = app.post("/api/results", &run("r1")).await;
        assert_eq!(r.expect(201), json!({"success": true, "runId": "r1"}));
        assert_eq!(ids(&app.get_json("/api/runs").await), ["r1"]);
        app.close().await;
        db
    }
);

backend_tests!(
    runs_are_newest_first_with_a_default_limit_of_50,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        // Submitted in shuffled order: the listing orders by start time, not by arrival.
        let mut runs: Vec<Value> = (0..60)
            .map(|i| {
                with(
                    run(&format!("r{i:02}")),
                    json!({"startedAt": T0 + i * 1000}),
                )
            })
            .collect();
        runs.reverse();
        runs.swap(3, 40);
        app.submit_bulk(&runs).await;

        let r = app.get("/api/runs").await;
        let page = r.expect(200);
        let got = ids(&page);
        assert_eq!(got.len(), 50);
        let want: Vec<String> = (10..60).rev().map(|i| format!("r{i:02}")).collect();
        assert_eq!(got, want);
        assert!(r.header("x-next-cursor").is_some());
        for w in page.as_array().unwrap().windows(2) {
            assert!(w[0]["startedAt"].as_str() > w[1]["startedAt"].as_str());
        }

        assert_eq!(
            ids(&app.get_json("/api/runs?limit=3").await),
            ["r59", "r58", "r57"]
        );
        let all = app.get("/api/runs?limit=1000").await;
        assert_eq!(ids(&all.expect(200)).len(), 60);
        assert_eq!(all.header("x-next-cursor"), None);
        app.close().await;
        db
    }
);

backend_tests!(
    runs_filter_on_every_documented_field,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let specs = [
            // id, suite, scenario, agent, status, tier, model, batch
            ("a", "s1", "c1", "claude", "completed", "L1", "m1", "b1"),
            ("b", "s1", "c2", "codex", "failed", "L2", "m2", "b1"),
            ("c", "s2", "c1", "claude", "completed", "L2", "m2", "b2"),
            ("d", "s2", "c2", "gemini", "running", "L1", "m1", "b2"),
            ("e", "s1", "c1", "codex", "incomplete", "L3", "m3", "b3"),
        ];
        for (i, (id, suite, scenario, agent, status, tier, model, batch)) in
            specs.iter().enumerate()
        {
            let r = with(
                run(id),
                json!({"suite": suite, "scenario": scenario, "agent": agent, "status": status,
                   "tier": tier, "model": model, "batchId": batch, "startedAt": T0 + i as i64}),
            );
            app.submit(&r).await;
        }
        let cases: [(&str, &[&str]); 14] = [
            ("suite=s1", &["e", "b", "a"]),
            ("suite=s2", &["d", "c"]),
            ("scenario=c1", &["e", "c", "a"]),
            ("agent=claude", &["c", "a"]),
            ("agent=codex", &["e", "b"]),
            ("status=completed", &["c", "a"]),
            ("status=failed", &["b"]),
            ("status=running", &["d"]),
            ("tier=L2", &["c", "b"]),
            ("model=m1", &["d", "a"]),
            ("batchId=b2", &["d", "c"]),
            ("suite=s1&agent=codex", &["e", "b"]),
            ("suite=s2&agent=codex", &[]),
            ("agent=nobody", &[]),
        ];
        for (query, want) in cases {
            let got = ids(&app.get_json(&format!("/api/runs?{query}")).await);
            assert_eq!(got, want, "filter {query}");
        }
        // An empty filter value is no filter.
        assert_eq!(ids(&app.get_json("/api/runs?agent=").await).len(), 5);
        app.close().await;
        db
    }
);

backend_tests!(
    the_cursor_pages_through_every_run_once,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        // 23 runs; several share a start time, so the cursor must break ties.
        let runs: Vec<Value> = (0..23)
        .map(|i| {
            with(
                run(&format!("p{i:02}")),
                json!({"startedAt": T0 + (i / 3) * 1000, "agent": if i % 2 == 0 { "even" } else { "odd" }}),
            )
        })
        .collect();
        app.submit_bulk(&runs).await;

        for (filter, expected) in [("", 23usize), ("&agent=even", 12)] {
            let mut seen = Vec::new();
            let mut uri = format!("/api/runs?limit=5{filter}");
            let mut pages = 0;
            loop {
                let r = app.get(&uri).await;
                let page = r.expect(200);
                assert!(page.as_array().unwrap().len() <= 5);
                seen.extend(page.as_array().unwrap().iter().cloned());
                pages += 1;
                assert!(pages < 20, "paging does not end");
                match r.header("x-next-cursor") {
                    Some(c) => uri = format!("/api/runs?limit=5{filter}&cursor={c}"),
                    None => break,
                }
            }
            let got = ids(&Value::Array(seen.clone()));
            assert_eq!(got.len(), expected, "{filter}: {got:?}");
            assert_eq!(
                got.iter().collect::<HashSet<_>>().len(),
                expected,
                "duplicates: {got:?}"
            );
            // The concatenated pages equal one big page.
            let one = app.get_json(&format!("/api/runs?limit=1000{filter}")).await;
            assert_eq!(got, ids(&one));
        }
        assert_eq!(app.get("/api/runs?cursor=garbage").await.status, 400);
        app.close().await;
        db
    }
);

backend_tests!(
    one_run_comes_back_with_evaluations_and_telemetry,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let sent = run("1741687200000-k3j9x2m1q");
        app.submit(&sent).await;
        let d = app.get_json("/api/runs/1741687200000-k3j9x2m1q").await;
        assert_eq!(keys(&d), sorted(&["run", "evaluations", "telemetry"]));

        let r = &d["run"];
        assert_eq!(keys(r), sorted(&RUN_KEYS));
        assert!(r["id"].is_i64());
        assert_eq!(r["runId"], "1741687200000-k3j9x2m1q");
        assert_eq!(r["batchId"], "batch-1");
        for f in [
            "suite",
            "scenario",
            "tier",
            "agent",
            "model",
            "status",
            "totalScore",
            "weightedScore",
            "successMetric",
            "isSuccessful",
        ] {
            assert_same(&r[f], &sent[f], f);
        }
        assert_eq!(r["startedAt"], "2026-03-11T10:00:00.000Z");
        assert_eq!(r["completedAt"], "2026-03-11T10:04:12.345Z");
        // metadata is a JSON *string* that parses to what was sent.
        let meta = r["metadata"].as_str().expect("metadata is a string");
        assert_eq!(
            serde_json::from_str::<Value>(meta).unwrap(),
            sent["metadata"]
        );
        assert_eq!(r["specialistEnabled"], Value::Null);

        let evals = d["evaluations"].as_array().unwrap();
        assert_eq!(evals.len(), 2);
        for (got, want) in evals.iter().zip(sent["evaluations"].as_array().unwrap()) {
            assert_eq!(keys(got), sorted(&EVALUATION_KEYS));
            assert_eq!(got["runId"], sent["runId"]);
            for f in ["evaluatorName", "score", "maxScore", "details"] {
                assert_same(&got[f], &want[f], f);
            }
            assert!(is_iso(&got["createdAt"]), "{got}");
        }

        let t = &d["telemetry"];
        assert_eq!(keys(t), sorted(&TELEMETRY_KEYS));
        assert_eq!(t["runId"], sent["runId"]);
        for f in [
            "toolCalls",
            "tokensIn",
            "tokensOut",
            "costUsd",
            "durationMs",
            "workspaceDir",
        ] {
            assert_same(&t[f], &sent["telemetry"][f], f);
        }

        // Epoch-millisecond input comes back as ISO; no telemetry and no metadata come back as null.
        let bare = with(
            run("bare"),
            json!({"startedAt": T0, "completedAt": T0 + 1500, "telemetry": null, "metadata": null,
               "evaluations": null, "specialistEnabled": true, "specialistName": "deps",
               "specialistVersion": "1.2.0"}),
        );
        app.submit(&bare).await;
        let d = app.get_json("/api/runs/bare").await;
        assert_eq!(d["run"]["startedAt"], "2026-03-11T10:00:00.000Z");
        assert_eq!(d["run"]["completedAt"], "2026-03-11T10:00:01.500Z");
        assert_eq!(d["run"]["metadata"], Value::Null);
        assert_eq!(d["run"]["specialistEnabled"], true);
        assert_eq!(d["run"]["specialistName"], "deps");
        assert_eq!(d["run"]["specialistVersion"], "1.2.0");
        assert_eq!(d["evaluations"], json!([]));
        assert_eq!(d["telemetry"], Value::Null);
        app.close().await;
        db
    }
);

backend_tests!(
    evaluations_in_creation_order_and_telemetry_or_null,
    |db: TestDb| async move {
        let app = TestApp::new(&db).await;
        let names = ["Zeta", "alpha", "Mid", "beta", "Alpha"];
        let evaluations: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"evaluatorName": n, "score": i, "maxScore": 10, "details": {"i": i}}))
        .collect();
        app.submit(&with(run("e1"), json!({"evaluations": evaluations})))
            .await;
        let got = app.get_json("/api/runs/e1/evaluations").await;
        let got = got.as_array().unwrap();
        let got_names: Vec<&str> = got
            .iter()
            .map(|e| e["evaluatorName"].as_str().unwrap())
            .collect();
        assert_eq!(got_names, names);
        for w in got.windows(2) {
            assert!(w[0]["id"].as_i64() < w[1]["id"].as_i64());
        }
        // Details sent as JSON are stored as their JSON text.
        assert_eq!(got[2]["details"], r#"{"i":2}"#);
        assert_eq!(got[0]["score"], 0.0);
        assert_eq!(got[0]["maxScore"], 10.0);
        assert_eq!(
            got,
            app.get_json("/api/runs/e1").await["evaluations"]
                .as_array()
                .unwrap()
        );

        let t = app.get_json("/api/runs/e1/telemetry").await;
        assert_eq!(keys(&t), sorted(&TELEMETRY_KEYS));
        assert_eq!(t["tokensIn"], 45210);
        assert_eq!(t, app.get_json("/api/runs/e1").await["telemetry"]);

        app.submit(&with(run("e2"), json!({"telemetry": null})))
            .await;
        let r = app.get("/api/runs/e2/telemetry").await;
        assert_eq!(r.expect(200), Value::Null);
        assert_eq!(r.text(), "null");
        // Telemetry that only carries the prompt makes no telemetry row either.
        app.submit(&with(run("e3"), json!({"telemetry": {"promptSent": "hi"}})))
            .await;
        assert_eq!(app.get_json("/api/runs/e3/telemetry").await, Value::Null);
        app.close().await;
        db
    }
);
