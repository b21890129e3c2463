//! The store's conformance suite: every case runs on SQLite and on PostgreSQL.

use serde_json::json;
use zebench_core::{Dimension, RunResult, RunStatus};
use zebench_store::testing::TestDb;
use zebench_store::{backend_tests, Event, Outcome, RunFilter, StoreError};

fn run(
    id: &str,
    batch: Option<&str>,
    agent: &str,
    status: &str,
    weighted: Option<f64>,
    started: i64,
) -> RunResult {
    let mut v = json!({
        "runId": id, "suite": "update-deps", "scenario": "nx-pnpm-monorepo", "tier": "L1",
        "agent": agent, "model": format!("{agent}-model"), "status": status,
        "startedAt": started, "completedAt": started + 1000,
        "isSuccessful": weighted.is_some_and(|w| w >= 7.0),
        "metadata": {"packageManager": "pnpm", "diffSummary": [{"file": "a/package.json", "changeType": "modified"}]},
        "evaluations": [
            {"evaluatorName": "HeuristicChecksEvaluator", "score": 0.8, "maxScore": 1, "details": "Passed: 4/5"},
            {"evaluatorName": "LLMJudgeEvaluator", "score": 3, "maxScore": 4, "details": {"scores": [1, 2]}}
        ],
        "telemetry": {"toolCalls": 3, "tokensIn": 1000, "tokensOut": 200, "costUsd": 0.25, "durationMs": 5000,
                      "workspaceDir": "/tmp/ws", "promptSent": "Update the deps"}
    });
    if let Some(b) = batch {
        v["batchId"] = json!(b);
    }
    if let Some(w) = weighted {
        v["weightedScore"] = json!(w);
        v["totalScore"] = json!(w / 10.0);
        v["successMetric"] = json!(w / 10.0);
    }
    serde_json::from_value(v).unwrap()
}

const T0: i64 = 1_741_687_200_000;

backend_tests!(round_trip_keeps_every_field, |db: TestDb| async move {
    let r = run("r1", Some("b1"), "anthropic", "completed", Some(7.5), T0);
    assert_eq!(
        db.store.submit_run((r).clone()).await.unwrap(),
        Outcome::Created
    );
    let d = db.store.get_run("r1").await.unwrap().unwrap();
    assert_eq!(d.run.run_id, "r1");
    assert_eq!(d.run.batch_id.as_deref(), Some("b1"));
    assert_eq!(d.run.status, RunStatus::Completed);
    assert_eq!(d.run.started_at.millis(), T0);
    assert_eq!(d.run.completed_at.unwrap().millis(), T0 + 1000);
    assert_eq!(d.run.weighted_score, Some(7.5));
    assert!(d.run.is_successful);
    let meta: serde_json::Value = serde_json::from_str(d.run.metadata.as_deref().unwrap()).unwrap();
    assert_eq!(meta["packageManager"], "pnpm");
    assert_eq!(d.evaluations.len(), 2);
    assert_eq!(d.evaluations[0].evaluator_name, "HeuristicChecksEvaluator");
    assert_eq!(
        d.evaluations[1].details.as_deref(),
        Some(r#"{"scores":[1,2]}"#)
    );
    let t = d.telemetry.unwrap();
    assert_eq!(
        (t.tool_calls, t.tokens_in, t.tokens_out),
        (Some(3), Some(1000), Some(200))
    );
    assert_eq!(t.cost_usd, Some(0.25));
    // The prompt went to an artifact, not the telemetry row.
    let arts = db.store.artifacts("r1").await.unwrap().unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(arts[0].name, "prompt");
    let body = db
        .store
        .artifact("r1", "prompt")
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(body.content, b"Update the deps");
    assert!(db.store.get_run("nope").await.unwrap().is_none());
    assert!(db.store.artifacts("nope").await.unwrap().is_none());
    db
});

backend_tests!(
    duplicates_change_nothing_and_conflicts_are_refused,
    |db: TestDb| async move {
        let r = run("r1", Some("b1"), "a", "completed", Some(8.0), T0);
        db.store.submit_run((r).clone()).await.unwrap();
        assert_eq!(
            db.store.submit_run((r).clone()).await.unwrap(),
            Outcome::Duplicate
        );
        let mut other = r.clone();
        other.weighted_score = Some(1.0);
        let err = db.store.submit_run((other).clone()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref ids) if ids == &["r1".to_string()]),
            "{err}"
        );
        let b = db.store.get_batch("b1").await.unwrap().unwrap();
        assert_eq!(b.batch.total_runs, 1);
        assert_eq!(b.batch.avg_weighted_score, Some(8.0));
        assert_eq!(db.store.stats().await.unwrap().total_runs, 1);
        db
    }
);

backend_tests!(bulk_is_all_or_nothing, |db: TestDb| async move {
    db.store
        .submit_run(run("x", None, "a", "completed", Some(5.0), T0))
        .await
        .unwrap();
    let mut clash = run("x", None, "a", "completed", Some(5.0), T0);
    clash.tier = "L2".into();
    let batch = vec![run("y", Some("b"), "a", "completed", Some(6.0), T0), clash];
    assert!(matches!(
        db.store.submit_runs(batch).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(db.store.get_run("y").await.unwrap().is_none());
    assert!(db.store.get_batch("b").await.unwrap().is_none());
    let many: Vec<RunResult> = (0..1000)
        .map(|i| {
            run(
                &format!("m{i}"),
                Some("big"),
                if i % 2 == 0 { "a" } else { "b" },
                "completed",
                Some((i % 10) as f64),
                T0 + i,
            )
        })
        .collect();
    let outcomes = db.store.submit_runs((many).to_vec()).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Created));
    let b = db.store.get_batch("big").await.unwrap().unwrap();
    assert_eq!(b.batch.total_runs, 1000);
    assert_eq!(b.runs.len(), 1000);
    assert_eq!(b.runs[0].run_id, "m0", "batch runs are oldest first");
    assert_eq!(b.batch.avg_weighted_score, Some(4.5));
    db
});

backend_tests!(
    batch_aggregates_count_every_status,
    |db: TestDb| async move {
        let runs = vec![
            run("1", Some("b"), "a", "completed", Some(9.0), T0),
            run("2", Some("b"), "a", "completed", Some(5.0), T0 + 1),
            run("3", Some("b"), "a", "failed", None, T0 + 2),
        ];
        for r in &runs {
            db.store.submit_run(r.clone()).await.unwrap();
        }
        let b = db.store.get_batch("b").await.unwrap().unwrap().batch;
        assert_eq!((b.total_runs, b.successful_runs, b.failed_runs), (3, 1, 1));
        assert_eq!(b.avg_weighted_score, Some(7.0));
        assert_eq!(b.avg_score, Some(0.7));
        assert!((b.total_cost_usd - 0.75).abs() < 1e-9);
        assert_eq!(b.created_at.millis(), T0);
        db
    }
);

backend_tests!(
    batch_upsert_keeps_created_at_and_unsent_fields,
    |db: TestDb| async move {
        let first = zebench_core::parse_batch_upsert(
            br#"{"batchId":"b","createdAt":1741687200000,"metadata":{"k":1},"totalRuns":99}"#,
        )
        .unwrap();
        db.store.upsert_batch(&first).await.unwrap();
        let second = zebench_core::parse_batch_upsert(br#"{"batchId":"b","createdAt":"2030-01-01T00:00:00Z","completedAt":"2026-03-11T10:00:00.000Z"}"#).unwrap();
        db.store.upsert_batch(&second).await.unwrap();
        let b = db.store.get_batch("b").await.unwrap().unwrap().batch;
        assert_eq!(b.created_at.millis(), T0);
        assert_eq!(b.completed_at.unwrap().to_iso(), "2026-03-11T10:00:00.000Z");
        assert_eq!(b.metadata.as_deref(), Some(r#"{"k":1}"#));
        assert_eq!(b.total_runs, 0, "client-sent counts are ignored");
        let list = db.store.list_batches(20).await.unwrap();
        assert_eq!(list.len(), 1);
        db
    }
);

backend_tests!(rollups_agree_with_live_queries, |db: TestDb| async move {
    let mut runs = Vec::new();
    for i in 0..60i64 {
        let agent = ["anthropic", "openrouter", "claude-code"][(i % 3) as usize];
        let status = if i % 7 == 0 { "failed" } else { "completed" };
        let w = (status == "completed").then_some((i % 11) as f64);
        let mut r = run(
            &format!("r{i}"),
            Some(&format!("b{}", i % 4)),
            agent,
            status,
            w,
            T0 + i * 40_000_000,
        );
        r.tier = format!("L{}", i % 3);
        if i % 5 == 0 {
            r.model = None;
            r.telemetry = None;
        }
        runs.push(r);
    }
    db.store.submit_runs((runs[..30]).to_vec()).await.unwrap();
    for r in &runs[30..] {
        db.store.submit_run(r.clone()).await.unwrap();
    }
    let all = RunFilter::default();
    for dim in Dimension::ALL {
        let rolled = db.store.breakdown(dim, &all).await.unwrap();
        let live = db.store.breakdown_live(dim, &all).await.unwrap();
        assert_eq!(rolled.len(), live.len(), "{dim}");
        for (a, b) in rolled.iter().zip(&live) {
            assert_eq!(a.key, b.key, "{dim}");
            assert_eq!(
                (a.runs, a.completed_runs, a.failed_runs, a.successful_runs),
                (b.runs, b.completed_runs, b.failed_runs, b.successful_runs),
                "{dim} {}",
                a.key
            );
            assert_eq!(
                (a.score_n, a.weighted_n, a.tokens_in, a.tool_calls),
                (b.score_n, b.weighted_n, b.tokens_in, b.tool_calls),
                "{dim} {}",
                a.key
            );
            assert_eq!(
                (a.min_weighted_score, a.max_weighted_score),
                (b.min_weighted_score, b.max_weighted_score),
                "{dim} {}",
                a.key
            );
            let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
                (Some(x), Some(y)) => (x - y).abs() < 1e-9,
                (None, None) => true,
                _ => false,
            };
            assert!(
                close(a.avg_score, b.avg_score)
                    && close(a.avg_weighted_score, b.avg_weighted_score),
                "{dim} {}",
                a.key
            );
            assert!((a.cost_usd - b.cost_usd).abs() < 1e-9);
        }
    }
    let by_model = db.store.breakdown(Dimension::Model, &all).await.unwrap();
    assert!(
        by_model
            .iter()
            .any(|r| r.model.is_none() && r.key.is_empty()),
        "runs without a model form their own group"
    );
    let days = db.store.breakdown(Dimension::Day, &all).await.unwrap();
    assert_eq!(days[0].key, "2025-03-11");
    let stats = db.store.stats().await.unwrap();
    assert_eq!(stats.total_runs, 51);
    let agents = db.store.agent_stats().await.unwrap();
    assert_eq!(agents.len(), 3);
    assert!(agents.windows(2).all(|w| w[0].avg_score >= w[1].avg_score));
    // A filtered breakdown only counts matching runs.
    let f = RunFilter {
        batch_id: Some("b1".into()),
        ..Default::default()
    };
    let tiers = db.store.breakdown(Dimension::Tier, &f).await.unwrap();
    assert_eq!(tiers.iter().map(|r| r.runs).sum::<i64>(), 15);
    let evals = db.store.breakdown(Dimension::Evaluator, &f).await.unwrap();
    assert_eq!(evals.len(), 2);
    assert!(
        (evals[1].avg_score.unwrap() - 0.75).abs() < 1e-9,
        "{:?}",
        evals[1]
    );
    db
});

backend_tests!(empty_database_reports_nulls, |db: TestDb| async move {
    let s = db.store.stats().await.unwrap();
    assert_eq!(
        (
            s.total_runs,
            s.successful_runs,
            s.avg_score,
            s.avg_weighted_score
        ),
        (0, 0, None, None)
    );
    assert!(db.store.agent_stats().await.unwrap().is_empty());
    assert!(db.store.list_batches(20).await.unwrap().is_empty());
    assert!(db
        .store
        .breakdown(Dimension::Agent, &RunFilter::default())
        .await
        .unwrap()
        .is_empty());
    db
});

backend_tests!(paging_and_filters, |db: TestDb| async move {
    let runs: Vec<RunResult> = (0..25)
        .map(|i| {
            run(
                &format!("r{i:02}"),
                None,
                if i % 2 == 0 { "a" } else { "b" },
                "completed",
                Some(5.0),
                T0 + (i / 2) as i64,
            )
        })
        .collect();
    db.store.submit_runs((runs).to_vec()).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = db
            .store
            .list_runs(&RunFilter::default(), 7, cursor)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.run_id.clone()));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 25, "no run twice across pages");
    assert_eq!(seen[0], "r24", "newest first");
    let f = RunFilter {
        agent: Some("b".into()),
        ..Default::default()
    };
    let page = db.store.list_runs(&f, 50, None).await.unwrap();
    assert_eq!(page.items.len(), 12);
    assert!(page.items.iter().all(|r| r.agent == "b"));
    let f = RunFilter {
        since: Some(T0 + 10),
        ..Default::default()
    };
    assert_eq!(
        db.store.list_runs(&f, 50, None).await.unwrap().items.len(),
        5
    );
    let details = db
        .store
        .list_run_details(&RunFilter::default(), 3, None)
        .await
        .unwrap();
    assert!(details
        .items
        .iter()
        .all(|d| d.evaluations.len() == 2 && d.telemetry.is_some()));
    db
});

backend_tests!(
    large_artifacts_are_compressed_and_restored,
    |db: TestDb| async move {
        let mut r = run("art", None, "a", "completed", Some(5.0), T0);
        let transcript = "<script>alert(1)</script> tool_call read_file\n".repeat(5000);
        r.artifacts.insert("transcript".into(), transcript.clone());
        r.artifacts.insert("diff".into(), "--- a\n+++ b\n".into());
        db.store.submit_run((r).clone()).await.unwrap();
        let list = db.store.artifacts("art").await.unwrap().unwrap();
        let names: Vec<_> = list.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["diff", "prompt", "transcript"]);
        assert_eq!(list[2].size, transcript.len() as i64);
        let got = db
            .store
            .artifact("art", "transcript")
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(got.content, transcript.as_bytes());
        assert!(db
            .store
            .artifact("art", "missing")
            .await
            .unwrap()
            .unwrap()
            .is_none());
        db
    }
);

backend_tests!(events_follow_commits, |db: TestDb| async move {
    let mut rx = db.store.subscribe();
    // A second store on the same database stands in for another replica.
    let other = db.reopen().await;
    other
        .submit_run(run("ev1", Some("eb"), "a", "completed", Some(5.0), T0))
        .await
        .unwrap();
    let want_remote = db.store.kind() == zebench_store::BackendKind::Postgres;
    if !want_remote {
        db.store
            .submit_run(run(
                "ev1-local",
                Some("eb"),
                "a",
                "completed",
                Some(5.0),
                T0,
            ))
            .await
            .unwrap();
    }
    let mut got_run = false;
    let mut got_batch = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(got_run && got_batch) {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("event within 10 s")
            .unwrap();
        match ev {
            Event::RunCreated { run_id, .. } if run_id.starts_with("ev1") => got_run = true,
            Event::BatchUpdated { batch_id } if batch_id == "eb" => got_batch = true,
            _ => {}
        }
    }
    other.close().await;
    db
});

backend_tests!(concurrent_writers_lose_nothing, |db: TestDb| async move {
    let store = std::sync::Arc::new(db.reopen().await);
    let mut tasks = Vec::new();
    for w in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let r = run(
                    &format!("w{w}-{i}"),
                    Some("shared"),
                    &format!("agent{}", w % 4),
                    "completed",
                    Some(5.0),
                    T0 + i,
                );
                store.submit_run((r).clone()).await.unwrap();
                // The same run again, as a retrying client would.
                assert_eq!(
                    store.submit_run((r).clone()).await.unwrap(),
                    Outcome::Duplicate
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let b = db.store.get_batch("shared").await.unwrap().unwrap();
    assert_eq!(b.batch.total_runs, 320);
    assert_eq!(b.runs.len(), 320);
    assert_eq!(db.store.stats().await.unwrap().total_runs, 320);
    store.close().await;
    db
});

backend_tests!(
    batch_runs_read_the_same_as_single_runs,
    |db: TestDb| async move {
        // `get_batch` has its own read path on SQLite files (rusqlite, see
        // crates/store/src/sqlite_direct.rs): every field must come back as `get_run` and
        // `list_runs` give it, including floats that need 17 digits, nulls and odd text.
        let mut runs = Vec::new();
        for (i, w) in [
            Some(0.1 + 0.2),
            None,
            Some(f64::MIN_POSITIVE),
            Some(1e300),
            Some(-0.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = run(
                &format!("odd-{i}"),
                Some("odd"),
                "agent \"q\" ✓",
                if w.is_some() { "completed" } else { "failed" },
                w,
                T0 + i as i64,
            );
            if i == 3 {
                r.model = None;
                r.metadata = None;
                r.specialist_enabled = Some(true);
                r.specialist_name = Some("dep-expert".into());
                r.specialist_version = Some("1.2.3".into());
            }
            runs.push(r);
        }
        db.store.submit_runs_as(runs, Some("ci-key")).await.unwrap();
        let batch = db.store.get_batch("odd").await.unwrap().unwrap();
        assert_eq!(batch.runs.len(), 5);
        let mut listed = db
            .store
            .list_runs(
                &RunFilter {
                    batch_id: Some("odd".into()),
                    ..Default::default()
                },
                50,
                None,
            )
            .await
            .unwrap()
            .items;
        listed.reverse();
        assert_eq!(batch.runs, listed, "get_batch and list_runs disagree");
        for r in &batch.runs {
            assert_eq!(r, &db.store.get_run(&r.run_id).await.unwrap().unwrap().run);
            assert_eq!(r.submitted_by.as_deref(), Some("ci-key"));
        }
        assert_eq!(batch.runs[0].weighted_score, Some(0.1 + 0.2));
        assert_eq!(batch.runs[2].weighted_score, Some(f64::MIN_POSITIVE));
        assert!(batch.runs[3].specialist_enabled == Some(true) && batch.runs[3].model.is_none());
        assert_eq!(batch.batch, db.store.batch("odd").await.unwrap().unwrap());
        db
    }
);

/// An in-memory SQLite database keeps every query, writes included, on its one sqlx
/// connection (files write through rusqlite instead): the same behaviour, checked here.
#[tokio::test]
async fn in_memory_sqlite_stores_like_a_file() {
    let store = zebench_store::Store::connect(zebench_store::StoreOptions::new("sqlite::memory:"))
        .await
        .unwrap();
    let runs: Vec<RunResult> = (0..3)
        .map(|i| {
            run(
                &format!("mem-{i}"),
                Some("mem"),
                "a",
                "completed",
                Some(i as f64),
                T0 + i,
            )
        })
        .collect();
    let outcomes = store.submit_runs(runs.clone()).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Created));
    assert_eq!(
        store.submit_run(runs[0].clone()).await.unwrap(),
        Outcome::Duplicate
    );
    let mut other = runs[1].clone();
    other.weighted_score = Some(9.0);
    assert!(
        matches!(store.submit_run(other).await, Err(StoreError::Conflict(ids)) if ids == ["mem-1"])
    );
    let batch = store.get_batch("mem").await.unwrap().unwrap();
    assert_eq!(batch.batch.total_runs, 3);
    assert_eq!(batch.batch.avg_weighted_score, Some(1.0));
    assert_eq!(store.stats().await.unwrap().total_runs, 3);
    let detail = store.get_run("mem-2").await.unwrap().unwrap();
    assert_eq!(detail.evaluations.len(), 2);
    assert_eq!(detail.telemetry.unwrap().tokens_in, Some(1000));
}
