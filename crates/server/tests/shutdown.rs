//! Graceful shutdown under load: once the server is told to stop, every request it answered
//! with 2xx is stored completely, and the server stops by itself. On SQLite and PostgreSQL.

mod common;

use common::net::*;
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use zebench_store::backend_tests;
use zebench_store::testing::TestDb;

backend_tests!(
    acknowledged_runs_survive_shutdown,
    |db: TestDb| async move {
        let (state, addr, server) = start(&db).await;
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut writers = Vec::new();
        for w in 0..16 {
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                let mut conn = Conn::open(addr).await;
                for i in 0.. {
                    let id = format!("sd-{w}-{i}");
                    let body = with(run(&id), json!({"batchId": "shutdown"})).to_string();
                    match conn.send("POST", "/api/results", Some(&body)).await {
                        Ok((201, _)) => acked.lock().await.push(id),
                        Ok((status, body)) => {
                            panic!("{id}: {status} {}", String::from_utf8_lossy(&body))
                        }
                        // The server closed the connection: it is shutting down.
                        Err(_) => break,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        stop(state, server).await;
        for w in writers {
            tokio::time::timeout(Duration::from_secs(20), w)
                .await
                .expect("writer ends")
                .unwrap();
        }
        let acked = acked.lock().await.clone();
        assert!(
            acked.len() > 16,
            "the load was real ({} runs acknowledged)",
            acked.len()
        );
        let store = db.reopen().await;
        for id in &acked {
            let d = store
                .get_run(id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{id} acknowledged but missing"));
            assert_eq!(
                d.evaluations.len(),
                run(id)["evaluations"].as_array().unwrap().len(),
                "{id} complete"
            );
        }
        let batch = store.get_batch("shutdown").await.unwrap().unwrap();
        assert_eq!(batch.batch.total_runs as usize, batch.runs.len());
        assert!(batch.runs.len() >= acked.len());
        store.close().await;
        db
    }
);
