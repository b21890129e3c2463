//! The two places a run can go: the embedded/local database (the same `Store::submit_run` the
//! API handler calls, after the same validation) or a server, through the durable client.

use async_trait::async_trait;
use std::collections::HashSet;
use zebench_client::{Client, Delivery};
use zebench_core::{BatchUpsert, RunResult};
use zebench_harness::sink::{ResultSink, SinkError, Stored};
use zebench_store::{Outcome, Store};

pub struct LocalSink {
    pub store: Store,
    pub url: String,
}

#[async_trait]
impl ResultSink for LocalSink {
    async fn store(&self, run: &RunResult) -> Result<Stored, SinkError> {
        // The same checks the API applies to a submission, so local and remote agree.
        let body = serde_json::to_vec(run).map_err(|e| SinkError(e.to_string()))?;
        let run = zebench_core::parse_run_result(&body)
            .map_err(|e| SinkError(format!("invalid result: {e}")))?;
        match self.store.submit_run(run).await {
            Ok(Outcome::Created) => Ok(Stored::Created),
            Ok(Outcome::Duplicate) => Ok(Stored::Duplicate),
            Err(e) => Err(SinkError(format!("{e}"))),
        }
    }

    async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<(), SinkError> {
        self.store
            .upsert_batch(batch)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }

    async fn stored_run_ids(&self, batch_id: &str) -> Result<HashSet<String>, SinkError> {
        let b = self
            .store
            .get_batch(batch_id)
            .await
            .map_err(|e| SinkError(e.to_string()))?;
        Ok(b.map(|b| b.runs.into_iter().map(|r| r.run_id).collect())
            .unwrap_or_default())
    }

    fn describe(&self) -> String {
        format!("the local database {}", self.url)
    }
}

pub struct RemoteSink {
    pub client: Client,
    pub url: String,
}

fn delivery(d: Delivery) -> Result<Stored, SinkError> {
    match d {
        Delivery::Delivered { created: true } => Ok(Stored::Created),
        Delivery::Delivered { created: false } => Ok(Stored::Duplicate),
        Delivery::Queued { reason } => Ok(Stored::Queued(reason)),
        Delivery::Rejected {
            status,
            reason,
            path,
        } => Err(SinkError(format!(
            "the server refused it ({status}: {reason}); kept in {}",
            path.display()
        ))),
    }
}

#[async_trait]
impl ResultSink for RemoteSink {
    async fn store(&self, run: &RunResult) -> Result<Stored, SinkError> {
        self.client
            .submit(run)
            .await
            .map_err(|e| SinkError(e.to_string()))
            .and_then(delivery)
    }

    async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<(), SinkError> {
        self.client
            .upsert_batch(batch)
            .await
            .map_err(|e| SinkError(e.to_string()))
            .and_then(delivery)
            .map(|_| ())
    }

    async fn stored_run_ids(&self, batch_id: &str) -> Result<HashSet<String>, SinkError> {
        self.client
            .run_ids_in_batch(batch_id)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }

    fn describe(&self) -> String {
        format!("the server at {}", self.url)
    }
}
