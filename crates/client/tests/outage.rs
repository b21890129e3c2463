//! The server away: results wait in the outbox and go out exactly once when it is back, from
//! the same client or from a new process on the same outbox.

mod common;

use common::*;
use std::collections::HashSet;
use zebench_client::{Client, Delivery};
use zebench_store::testing::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_queues_then_sync_delivers_exactly_once() {
    let db = TestDb::sqlite().await;
    let port = Port::reserve();
    let url = port.url();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();

    let Delivery::Queued { reason } = client.submit(&run("run-down")).await.unwrap() else {
        panic!("nothing listens: the run must be queued");
    };
    assert!(reason.contains("connect"), "{reason}");
    let pending = client.pending().unwrap();
    assert_eq!(pending_ids(&pending), vec!["run-down"]);
    assert_eq!(pending[0].attempts, 3);
    assert!(pending[0].path.exists());
    let name = pending[0].path.file_name().unwrap().to_string_lossy();
    assert!(name.ends_with("-run-run-down.json"), "{name}");

    // Still down: sync stops at once and says why.
    let report = client.sync().await.unwrap();
    assert_eq!(report.remaining, 1);
    assert!(report.stopped.is_some(), "{report:?}");

    let server = TestServer::start(&db, port).await;
    let report = client.sync().await.unwrap();
    assert_eq!(
        (report.delivered, report.already_present, report.remaining),
        (1, 0, 0),
        "{report:?}"
    );
    assert!(report.rejected.is_empty() && report.stopped.is_none());
    assert!(files(client.pending_dir()).is_empty());
    let (status, body) = get(&url, "/api/runs/run-down").await;
    assert_eq!(status, 200, "{body}");

    // Nothing left: a second sync sends nothing.
    assert_eq!(client.sync().await.unwrap(), Default::default());
    assert_eq!(stored_run_ids(&url).await, vec!["run-down"]);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_going_away_mid_sequence_loses_nothing_and_duplicates_nothing() {
    let db = TestDb::sqlite().await;
    let server = TestServer::fresh(&db).await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();
    let ids: Vec<String> = (0..20).map(|i| format!("seq-{i:02}")).collect();

    let mut server = Some(server);
    let mut port = None;
    let mut queued = 0;
    for (i, id) in ids.iter().enumerate() {
        if i == 7 {
            port = Some(server.take().unwrap().stop().await);
        }
        if i == 14 {
            server = Some(TestServer::start(&db, port.take().unwrap()).await);
        }
        match client.submit(&run(id)).await.unwrap() {
            Delivery::Delivered { .. } => assert!(!(7..14).contains(&i), "{id} sent while down"),
            Delivery::Queued { .. } => queued += 1,
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(queued, 7);
    assert_eq!(client.pending().unwrap().len(), 7);

    let report = client.sync().await.unwrap();
    assert_eq!((report.delivered, report.remaining), (7, 0), "{report:?}");
    let stored = stored_run_ids(&url).await;
    assert_eq!(stored.len(), 20, "{stored:?}");
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), 20);
    assert!(ids.iter().all(|id| unique.contains(id)));
    assert!(files(client.pending_dir()).is_empty());
    server.unwrap().stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_on_the_same_outbox_delivers_what_the_old_one_left() {
    let db = TestDb::sqlite().await;
    let port = Port::reserve();
    let url = port.url();
    let dir = tempfile::tempdir().unwrap();
    {
        let old = Client::new(config(&url, dir.path())).unwrap();
        for id in ["left-1", "left-2"] {
            assert!(matches!(
                old.submit(&run(id)).await.unwrap(),
                Delivery::Queued { .. }
            ));
        }
        let batch = serde_json::from_value(serde_json::json!({"batchId": "batch-client"})).unwrap();
        old.upsert_batch(&batch).await.unwrap();
    } // "killed": the process is gone, only the files remain.
      // A write interrupted by the kill leaves a temporary file that must never be sent.
    std::fs::write(dir.path().join("pending/.tmp-99999-0"), b"{\"kind\":\"ru").unwrap();

    let server = TestServer::start(&db, port).await;
    let restarted = Client::new(config(&url, dir.path())).unwrap();
    let queued = pending_ids(&restarted.pending().unwrap());
    assert_eq!(
        queued,
        vec!["left-1", "left-2", "batch-client"],
        "oldest first"
    );
    let report = restarted.sync().await.unwrap();
    assert_eq!((report.delivered, report.remaining), (3, 0), "{report:?}");
    assert!(report.rejected.is_empty());
    let mut stored = stored_run_ids(&url).await;
    stored.sort();
    assert_eq!(stored, vec!["left-1", "left-2"]);
    let (_, batch) = get(&url, "/api/batches/batch-client").await;
    assert_eq!(batch["totalRuns"], 2);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_delivered_before_a_crash_removed_it_is_already_present() {
    let db = TestDb::sqlite().await;
    let port = Port::reserve();
    let url = port.url();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(config(&url, dir.path())).unwrap();
    client.submit(&run("twice")).await.unwrap();
    let file = client.pending().unwrap()[0].path.clone();
    let copy = std::fs::read(&file).unwrap();

    let server = TestServer::start(&db, port).await;
    assert_eq!(client.sync().await.unwrap().delivered, 1);
    // As if the process died after the 201 but before removing the file.
    std::fs::write(&file, copy).unwrap();
    let report = client.sync().await.unwrap();
    assert_eq!(
        (report.delivered, report.already_present, report.remaining),
        (0, 1, 0)
    );
    assert_eq!(stored_run_ids(&url).await, vec!["twice"]);
    server.stop().await;
    db.cleanup().await;
}
