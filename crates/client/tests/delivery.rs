//! Deliveries to a live server: created, duplicate, conflict, wrong key, wrong URL, batches.

mod common;

use common::*;
use zebench_client::{Client, ClientError, Delivery};
use zebench_core::BatchUpsert;
use zebench_store::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_delivers_then_the_same_run_is_already_present() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&server.url(), dir.path())).unwrap();

    let r = run("run-ok-1");
    assert_eq!(
        client.submit(&r).await.unwrap(),
        Delivery::Delivered { created: true }
    );
    assert!(client.pending().unwrap().is_empty());
    assert_eq!(
        client.submit(&r).await.unwrap(),
        Delivery::Delivered { created: false }
    );
    assert!(files(client.pending_dir()).is_empty(), "outbox emptied");
    assert!(files(client.rejected_dir()).is_empty());

    let (status, body) = get(&server.url(), "/api/runs/run-ok-1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run"]["runId"], "run-ok-1");
    assert_eq!(stored_run_ids(&server.url()).await, vec!["run-ok-1"]);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_is_moved_to_rejected_with_an_error_file() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&server.url(), dir.path())).unwrap();

    client.submit(&run("run-c")).await.unwrap();
    let mut changed = run("run-c");
    changed.total_score = Some(0.1);
    let Delivery::Rejected {
        status,
        reason,
        path,
    } = client.submit(&changed).await.unwrap()
    else {
        panic!("a conflicting run must be rejected");
    };
    assert_eq!(status, 409);
    assert!(reason.contains("Run already exists"), "{reason}");
    assert!(
        path.starts_with(client.rejected_dir()),
        "{}",
        path.display()
    );
    // The refused payload is kept whole, next to the reason.
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(kept["payload"]["totalScore"], 0.1);
    let error = std::fs::read_to_string(path.with_extension("error.txt")).unwrap();
    assert!(error.contains("status: 409"), "{error}");
    assert!(error.contains("Run already exists"), "{error}");
    assert!(client.pending().unwrap().is_empty());

    // The stored run is the first one.
    let (_, body) = get(&server.url(), "/api/runs/run-c").await;
    assert_eq!(body["run"]["totalScore"], 0.75);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_key_keeps_the_item_queued_and_names_the_env_var() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "wrong-secret-7d1e4b2a";

    let mut cfg = config(&server.url(), dir.path());
    cfg.api_key = Some(secret.into());
    assert!(!format!("{cfg:?}").contains(secret), "Debug shows the key");
    let client = Client::new(cfg).unwrap();
    assert!(!format!("{client:?}").contains(secret));
    let err = client.submit(&run("run-k")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 403, .. }),
        "{err:?}"
    );
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(text.contains("ZE_BENCHMARKS_API_KEY"), "{text}");
        assert!(!text.contains(secret), "the key leaked: {text}");
    }
    let pending = client.pending().unwrap();
    assert_eq!(pending_ids(&pending), vec!["run-k"]);
    assert_eq!(pending[0].attempts, 1, "401/403 is not retried");
    assert!(pending[0].last_error.as_deref().unwrap().contains("403"));
    assert!(
        files(client.rejected_dir()).is_empty(),
        "a key problem is fixable"
    );

    // No key at all: 401, same handling.
    let mut cfg = config(&server.url(), dir.path());
    cfg.api_key = None;
    let keyless = Client::new(cfg).unwrap();
    let err = keyless.sync().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("ZE_BENCHMARKS_API_KEY"));
    assert_eq!(keyless.pending().unwrap().len(), 1);

    // With the right key the same outbox goes out.
    let fixed = Client::new(config(&server.url(), dir.path())).unwrap();
    let report = fixed.sync().await.unwrap();
    assert_eq!((report.delivered, report.remaining), (1, 0), "{report:?}");
    assert_eq!(stored_run_ids(&server.url()).await, vec!["run-k"]);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_is_not_a_results_server_keeps_items_queued() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&format!("{}/not-here", server.url()), dir.path())).unwrap();
    let err = client.submit(&run("run-404")).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Endpoint { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("ZE_BENCHMARKS_WORKER_URL"));
    assert_eq!(client.pending().unwrap().len(), 1);
    assert!(files(client.rejected_dir()).is_empty());
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_upsert_and_run_ids_in_batch() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&server.url(), dir.path())).unwrap();

    assert!(client
        .run_ids_in_batch("batch-client")
        .await
        .unwrap()
        .is_empty());
    let batch: BatchUpsert = serde_json::from_value(serde_json::json!({
        "batchId": "batch-client", "createdAt": "2026-03-11T09:59:00.000Z",
        "metadata": {"purpose": "client test"}
    }))
    .unwrap();
    assert_eq!(
        client.upsert_batch(&batch).await.unwrap(),
        Delivery::Delivered { created: true }
    );
    for id in ["b-1", "b-2", "b/3 odd?id"] {
        client.submit(&run(id)).await.unwrap();
    }
    let ids = client.run_ids_in_batch("batch-client").await.unwrap();
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    assert_eq!(ids, vec!["b-1", "b-2", "b/3 odd?id"]);
    assert!(client.pending().unwrap().is_empty());
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_client_waits_for_retry_after_and_loses_nothing() {
    use zebench_server::config_file::Rate;
    let db = TestDb::sqlite().await;
    let mut cfg = server_config();
    cfg.file.rate_limit.per_key = Some(Rate {
        requests_per_second: 1.0,
        burst: Some(1),
    });
    let server = TestServer::start_with(&db, Port::reserve(), cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&server.url(), dir.path())).unwrap();
    let started = std::time::Instant::now();
    for id in ["limited-1", "limited-2", "limited-3"] {
        assert_eq!(
            client.submit(&run(id)).await.unwrap(),
            Delivery::Delivered { created: true },
            "{id}"
        );
    }
    // The second and third were refused with 429 and `Retry-After: 1` before they got in.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "the client did not wait: {:?}",
        started.elapsed()
    );
    assert!(client.pending().unwrap().is_empty());
    let mut stored = stored_run_ids(&server.url()).await;
    stored.sort();
    assert_eq!(stored, vec!["limited-1", "limited-2", "limited-3"]);
    server.stop().await;
    db.cleanup().await;
}
