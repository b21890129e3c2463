//! The SQLite writer (rusqlite, crates/store/src/sqlite_direct.rs) shares its file with other
//! connections: another process writing, or the sqlx connections of the same store.

use serde_json::json;
use std::time::Duration;
use zebench_core::RunResult;
use zebench_store::testing::TestDb;
use zebench_store::Outcome;

fn run(id: &str) -> RunResult {
    serde_json::from_value(json!({
        "runId": id, "batchId": "shared-file", "suite": "s", "scenario": "c", "tier": "L1",
        "agent": "a", "status": "completed", "weightedScore": 5.0, "isSuccessful": false,
        "evaluations": [{"evaluatorName": "E", "score": 1, "maxScore": 2}]
    }))
    .unwrap()
}

/// Another process holding SQLite's write lock makes the writer wait (busy timeout), not
/// fail; once the lock is released the submission is stored, and so is the other write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_waits_for_another_process_holding_the_write_lock() {
    let db = TestDb::sqlite().await;
    let path = db.url.trim_start_matches("sqlite://").to_string();
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    other
        .execute(
            "INSERT INTO batches (batch_id, created_at) VALUES ('from-elsewhere', 1)",
            [],
        )
        .unwrap();

    let db = std::sync::Arc::new(db);
    let submit = {
        let db = db.clone();
        tokio::spawn(async move { db.store.submit_run(run("waited")).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !submit.is_finished(),
        "the writer did not wait for the lock"
    );
    other.execute_batch("COMMIT").unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(10), submit)
        .await
        .expect("the writer never resumed")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::Created);
    let batch = db.store.get_batch("shared-file").await.unwrap().unwrap();
    assert_eq!(batch.runs.len(), 1);
    assert_eq!(batch.batch.total_runs, 1);
    assert!(db.store.batch("from-elsewhere").await.unwrap().is_some());
    assert_eq!(db.store.stats().await.unwrap().total_runs, 1);
}

/// Batch upserts and run submissions both go through the one writer; interleaved from many
/// tasks they never fail with a busy database and every aggregate adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_upserts_and_submissions_all_land() {
    let db = std::sync::Arc::new(TestDb::sqlite().await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                let upsert: zebench_core::BatchUpsert = serde_json::from_value(
                    json!({"batchId": "shared-file", "metadata": {"round": i}}),
                )
                .unwrap();
                db.store
                    .upsert_batch(&upsert)
                    .await
                    .map(|_| Outcome::Created)
            } else {
                db.store.submit_run(run(&format!("r{i}"))).await
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let batch = db.store.get_batch("shared-file").await.unwrap().unwrap();
    assert_eq!(batch.runs.len(), 30);
    assert_eq!(batch.batch.total_runs, 30);
    assert_eq!(batch.batch.avg_weighted_score, Some(5.0));
    assert!(batch.batch.metadata.unwrap().contains("round"));
}

/// After `close`, the rusqlite writer and readers take no more work (as the sqlx pools do), and
/// what was stored before is in the file for the next store that opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_store_refuses_work_and_keeps_what_it_stored() {
    let db = TestDb::sqlite().await;
    db.store.submit_run(run("before-close")).await.unwrap();
    db.store.close().await;
    assert!(matches!(
        db.store.submit_run(run("after-close")).await,
        Err(zebench_store::StoreError::Closed)
    ));
    assert!(matches!(
        db.store.get_batch("shared-file").await,
        Err(zebench_store::StoreError::Closed)
    ));
    let again = zebench_store::Store::connect(zebench_store::StoreOptions::new(&db.url))
        .await
        .unwrap();
    let batch = again.get_batch("shared-file").await.unwrap().unwrap();
    assert_eq!(batch.runs.len(), 1);
    assert_eq!(batch.runs[0].run_id, "before-close");
    again.close().await;
}
