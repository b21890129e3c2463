//! Where finished runs go: the local store or a remote server (through the durable client).
//! The harness only knows this interface; the binary wires the implementations.

use async_trait::async_trait;
use std::collections::HashSet;
use zebench_core::{BatchUpsert, RunResult};

/// What happened to a stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Created,
    /// Already stored with the same content (a retry or a resume).
    Duplicate,
    /// Kept in the outbox because the server could not be reached; `zebench sync` delivers it.
    Queued(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

#[async_trait]
pub trait ResultSink: Send + Sync {
    async fn store(&self, run: &RunResult) -> Result<Stored, SinkError>;
    async fn upsert_batch(&self, batch: &BatchUpsert) -> Result<(), SinkError>;
    /// Run ids already stored in a batch (for `--resume`).
    async fn stored_run_ids(&self, batch_id: &str) -> Result<HashSet<String>, SinkError>;
    /// "the local database at …" / "the server at …", for messages.
    fn describe(&self) -> String;
}
