//! `zebench backup`'s store side: a copy taken while writers ingest is whole (it passes
//! `integrity_check`) and consistent (every aggregate matches the rows beside it, as of one
//! commit), opens as a store, and never replaces a file unless asked.

use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zebench_core::RunResult;
use zebench_store::backup::{backup_sqlite, verify};
use zebench_store::testing::TestDb;
use zebench_store::{BackupError, Store, StoreOptions};

fn run(id: &str, batch: &str, score: f64) -> RunResult {
    serde_json::from_value(json!({
        "runId": id, "batchId": batch, "suite": "s", "scenario": format!("sc{}", id.len() % 3),
        "tier": "L1", "agent": "a", "model": "m", "status": "completed",
        "weightedScore": score, "totalScore": score / 10.0, "isSuccessful": score >= 5.0,
        "evaluations": [{"evaluatorName": "E", "score": score / 10.0, "maxScore": 1}],
        "telemetry": {"costUsd": 0.01, "tokensIn": 10, "tokensOut": 5}
    }))
    .unwrap()
}

/// Per batch: (rollup total_runs, counted rows, rollup successful_runs, counted successful).
async fn batch_consistency(copy: &std::path::Path) -> Vec<(String, i64, i64, i64, i64)> {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
        .unwrap();
    sqlx::query_as(
        "SELECT b.batch_id, b.total_runs, (SELECT count(*) FROM runs r WHERE r.batch_id = b.batch_id), \
         b.successful_runs, (SELECT count(*) FROM runs r WHERE r.batch_id = b.batch_id AND r.is_successful) \
         FROM batches b ORDER BY b.batch_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

async fn totals_rollup(copy: &std::path::Path) -> (i64, i64, i64) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
        .unwrap();
    let rolled: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(runs), 0) FROM rollups WHERE dim = 'all'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM runs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let evals: i64 = sqlx::query_scalar("SELECT count(*) FROM evaluations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    (rolled, rows, evals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_ingest_is_whole_and_consistent() {
    let db = TestDb::sqlite().await;
    let store = Arc::new(db.reopen().await);
    let stop = Arc::new(AtomicBool::new(false));
    let stored = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, stop, stored) = (store.clone(), stop.clone(), stored.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let runs: Vec<RunResult> = (0..20)
                    .map(|k| {
                        run(
                            &format!("w{w}-{i}-{k}"),
                            &format!("b{}", (i + k) % 5),
                            (k % 11) as f64,
                        )
                    })
                    .collect();
                store.submit_runs(runs).await.unwrap();
                stored.fetch_add(20, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    // Let the writers get going, then copy twice while they run: through a connection of its
    // own (what the CLI does) and through the store's reader pool.
    while stored.load(Ordering::Relaxed) < 2000 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.sqlite");
    let second = dir.path().join("second.sqlite");
    let before = stored.load(Ordering::Relaxed);
    let a = backup_sqlite(&db.url, &first, false).await.unwrap();
    let b = store.backup_to(&second, false).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let total = stored.load(Ordering::Relaxed) as i64;
    assert!(a.runs > 0 && a.runs <= total, "{a:?} of {total}");
    assert!(
        b.runs >= a.runs,
        "the later copy has fewer runs: {b:?} vs {a:?}"
    );
    assert!(a.batches >= 1 && a.batches <= 5);
    assert!(a.schema_version >= 2);
    assert!(a.bytes > 0 && a.bytes == std::fs::metadata(&first).unwrap().len());
    assert!(
        before < total as usize,
        "no write happened during the copies: nothing was proven"
    );
    for copy in [&first, &second] {
        // Whole: integrity_check again, independently of the backup's own check.
        verify(copy).await.unwrap();
        // Consistent: aggregates kept in the same transactions as the rows agree with them.
        for (batch, total_runs, counted, successful, counted_ok) in batch_consistency(copy).await {
            assert_eq!(total_runs, counted, "batch {batch} in {}", copy.display());
            assert_eq!(
                successful,
                counted_ok,
                "batch {batch} in {}",
                copy.display()
            );
        }
        let (rolled, rows, evals) = totals_rollup(copy).await;
        assert_eq!(rolled, rows);
        assert_eq!(evals, rows, "one evaluation per run");
        // Submissions are all-or-nothing and 20 runs each: a copy never holds part of one.
        assert_eq!(rows % 20, 0, "a copy holds part of a submission: {rows}");
    }
    // Restore = open the copy as the database: a store starts on it and serves its runs.
    let restored = Store::connect(StoreOptions::new(format!("sqlite://{}", first.display())))
        .await
        .unwrap();
    assert_eq!(restored.stats().await.unwrap().total_runs, a.runs);
    restored.close().await;
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_existing_destination_is_kept_unless_overwrite_is_asked() {
    let db = TestDb::sqlite().await;
    db.store.submit_run(run("r1", "b1", 7.0)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.sqlite");
    std::fs::write(&out, b"precious").unwrap();
    let err = backup_sqlite(&db.url, &out, false).await.unwrap_err();
    assert!(
        matches!(&err, BackupError::Exists(p) if p == &out),
        "{err:?}"
    );
    let err = db.store.backup_to(&out, false).await.unwrap_err();
    assert!(matches!(err, BackupError::Exists(_)), "{err:?}");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let report = backup_sqlite(&db.url, &out, true).await.unwrap();
    assert_eq!((report.runs, report.batches), (1, 1));
    // Nothing but the copy is left in the folder (no temporary files).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("backup.sqlite")]);
    db.cleanup().await;
}

#[tokio::test]
async fn a_missing_database_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("nope.sqlite");
    let err = backup_sqlite(
        &format!("sqlite://{}", src.display()),
        &dir.path().join("out.sqlite"),
        false,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, BackupError::Missing(p) if p == &src),
        "{err:?}"
    );
    assert!(!src.exists());
}

#[tokio::test]
async fn postgres_points_to_pg_dump() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let err = db
        .store
        .backup_to(&dir.path().join("x"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Postgres));
    assert!(err.to_string().contains("pg_dump"), "{err}");
    let err = backup_sqlite(&db.url, &dir.path().join("x"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::Postgres));
    db.cleanup().await;
}
