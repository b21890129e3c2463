//! What the outbox holds: one envelope per item, with the request body and its bookkeeping.

use crate::error::ClientError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use zebench_core::{BatchUpsert, RunResult, Timestamp};

/// What an outbox item carries: which endpoint it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    /// A `RunResult`, sent to `POST /api/results`.
    Run,
    /// A `BatchUpsert`, sent to `POST /api/results/batch`.
    Batch,
}

impl ItemKind {
    /// The name used in file names and envelopes.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Run => "run",
            ItemKind::Batch => "batch",
        }
    }

    /// Path segments of the endpoint this kind is posted to.
    pub(crate) fn endpoint(self) -> &'static [&'static str] {
        match self {
            ItemKind::Run => &["api", "results"],
            ItemKind::Batch => &["api", "results", "batch"],
        }
    }
}

/// One queued item as stored on disk. The payload is the exact request body; the rest is
/// bookkeeping so `pending()` can say how long and why an item has been waiting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope {
    pub kind: ItemKind,
    pub id: String,
    pub queued_at: Timestamp,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    pub payload: Value,
}

impl Envelope {
    pub fn run(run: &RunResult) -> Result<Envelope, ClientError> {
        Self::new(ItemKind::Run, &run.run_id, serde_json::to_value(run))
    }

    pub fn batch(batch: &BatchUpsert) -> Result<Envelope, ClientError> {
        Self::new(
            ItemKind::Batch,
            &batch.batch_id,
            serde_json::to_value(batch),
        )
    }

    fn new(
        kind: ItemKind,
        id: &str,
        payload: serde_json::Result<Value>,
    ) -> Result<Envelope, ClientError> {
        Ok(Envelope {
            kind,
            id: id.to_string(),
            queued_at: Timestamp::now(),
            attempts: 0,
            last_error: None,
            payload: payload.map_err(|source| ClientError::Encode { source })?,
        })
    }

    /// Checks that the payload is what the kind says and carries the envelope's id, so a
    /// hand-edited file is caught here rather than sent.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let payload_id = match self.kind {
            ItemKind::Run => {
                serde_json::from_value::<RunResult>(self.payload.clone())
                    .map_err(|e| format!("payload is not a valid run: {e}"))?
                    .run_id
            }
            ItemKind::Batch => {
                serde_json::from_value::<BatchUpsert>(self.payload.clone())
                    .map_err(|e| format!("payload is not a valid batch upsert: {e}"))?
                    .batch_id
            }
        };
        if payload_id != self.id {
            return Err(format!(
                "payload id {payload_id:?} differs from envelope id {:?}",
                self.id
            ));
        }
        Ok(())
    }
}

/// A queued item, as [`crate::Client::pending`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingItem {
    /// `None` for a file that cannot be read as an envelope (it will be rejected by `sync`).
    pub kind: Option<ItemKind>,
    /// The run id or batch id (the file name for an unreadable file).
    pub id: String,
    pub path: PathBuf,
    pub queued_at: Timestamp,
    /// HTTP attempts made so far, over all delivery calls.
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// What reading a pending file gave.
pub(crate) enum Loaded {
    Item(Envelope),
    /// Gone: another process or task delivered or rejected it meanwhile.
    Vanished,
    /// Unreadable; the reason says why.
    Corrupt(String),
}
