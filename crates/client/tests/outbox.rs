//! The outbox under stress: corrupt files, concurrent tasks, two processes, `Retry-After`.

mod common;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zebench_client::{Client, Delivery};
use zebench_store::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_outbox_files_are_rejected_and_sync_goes_on() {
    let db = TestDb::sqlite().await;
    let port = Port::reserve();
    let url = port.url();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();
    client.submit(&run("good-1")).await.unwrap();
    let good = client.pending().unwrap()[0].path.clone();
    let pending = dir.path().join("pending");
    std::fs::write(pending.join("0000000000001-run-garbage.json"), b"{not json").unwrap();
    // Valid JSON, but the payload's runId was edited away from the envelope's id.
    let mut edited: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    edited["payload"]["runId"] = "someone-else".into();
    std::fs::write(
        pending.join("0000000000002-run-edited.json"),
        edited.to_string(),
    )
    .unwrap();
    client.submit(&run("good-2")).await.unwrap();

    let listed = client.pending().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed[0].kind.is_none() && listed[0].last_error.as_ref().unwrap().contains("corrupt"));

    let server = TestServer::start(&db, port).await;
    let report = client.sync().await.unwrap();
    assert_eq!((report.delivered, report.remaining), (2, 0), "{report:?}");
    assert_eq!(report.rejected.len(), 2, "{report:?}");
    assert!(report.rejected[0].reason.contains("not an outbox envelope"));
    assert!(report.rejected[1]
        .reason
        .contains("differs from envelope id"));
    let rejected = files(client.rejected_dir());
    assert_eq!(
        rejected,
        vec![
            "0000000000001-run-garbage.error.txt",
            "0000000000001-run-garbage.json",
            "0000000000002-run-edited.error.txt",
            "0000000000002-run-edited.json",
        ]
    );
    let mut stored = stored_run_ids(&url).await;
    stored.sort();
    assert_eq!(stored, vec!["good-1", "good-2"]);

    // Rejected items can be queued again; these two are still broken, so they come back.
    std::fs::write(
        client.rejected_dir().join("0000000000001-run-garbage.json"),
        b"[]",
    )
    .unwrap();
    assert_eq!(client.requeue_rejected().unwrap(), 2);
    assert!(files(client.rejected_dir()).is_empty());
    assert_eq!(client.sync().await.unwrap().rejected.len(), 2);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_and_syncs_deliver_each_run_once() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 6 == 0 {
                c.sync().await.map(|_| ())
            } else {
                c.submit(&run(&format!("conc-{i}"))).await.map(|d| {
                    assert!(matches!(d, Delivery::Delivered { .. }), "{d:?}");
                })
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    client.sync().await.unwrap();
    assert!(files(client.pending_dir()).is_empty());
    assert_eq!(stored_run_ids(&url).await.len(), 20);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_syncing_one_outbox_do_not_trip_over_each_other() {
    let db = TestDb::sqlite().await;
    let port = Port::reserve();
    let url = port.url();
    let dir = tempfile::tempdir().unwrap();
    let writer = Client::new(config(&url, dir.path())).unwrap();
    for i in 0..12 {
        writer.submit(&run(&format!("shared-{i}"))).await.unwrap();
    }
    let server = TestServer::start(&db, port).await;
    // Separate clients share no in-process bookkeeping, as two processes would.
    let a = Client::new(config(&url, dir.path())).unwrap();
    let b = Client::new(config(&url, dir.path())).unwrap();
    let (ra, rb) = tokio::join!(a.sync(), b.sync());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let sent = ra.delivered + ra.already_present + rb.delivered + rb.already_present;
    assert!(sent >= 12, "{ra:?} {rb:?}");
    assert_eq!(ra.delivered + rb.delivered, 12, "each run created once");
    assert!(ra.rejected.is_empty() && rb.rejected.is_empty());
    assert!(files(a.pending_dir()).is_empty());
    assert!(files(a.rejected_dir()).is_empty());
    assert_eq!(stored_run_ids(&url).await.len(), 12);
    server.stop().await;
    db.cleanup().await;
}

/// A stand-in server that answers the first `POST /api/results` with 429 and a `Retry-After`,
/// then 201.
async fn throttling_server(retry_after: &'static str) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/api/results",
        axum::routing::post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", retry_after)],
                        axum::Json(serde_json::json!({"error": "Too many requests"})),
                    )
                        .into_response()
                } else {
                    (
                        StatusCode::CREATED,
                        axum::Json(serde_json::json!({"success": true})),
                    )
                        .into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_on_429() {
    let (url, hits) = throttling_server("1").await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();
    let started = Instant::now();
    let d = client.submit(&run("throttled")).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(d, Delivery::Delivered { created: true });
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(client.pending().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_capped() {
    let (url, hits) = throttling_server("3600").await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&url, dir.path());
    cfg.max_retry_after = Duration::from_millis(200);
    let client = Client::new(cfg).unwrap();
    let started = Instant::now();
    let d = client.submit(&run("capped")).await.unwrap();
    assert_eq!(d, Delivery::Delivered { created: true });
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}
