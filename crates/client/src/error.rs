//! Errors of the client. None of them carries the API key: server answers are redacted before
//! they are stored here, and the key itself is never formatted.

use std::path::PathBuf;

/// Why a client call failed. An item that was written to the outbox before the failure stays
/// there (except where a variant says otherwise) and goes out on a later `sync`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The configuration cannot work (bad URL, unusable key characters…).
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// Reading or writing the outbox failed. For `submit`, this means the result was NOT saved.
    #[error("outbox I/O error on {}: {source}", path.display())]
    Outbox {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The result could not be encoded as JSON (it was not queued).
    #[error("cannot encode the result as JSON: {source}")]
    Encode {
        #[source]
        source: serde_json::Error,
    },

    /// 401 or 403: the key is missing or wrong. The item stays queued: fix the key and sync.
    #[error("{message}")]
    Auth { status: u16, message: String },

    /// 3xx, 404 or 405 on a write route: the URL does not point at a zebench results server.
    /// The item stays queued.
    #[error(
        "{url} answered HTTP {status}: is ZE_BENCHMARKS_WORKER_URL the base URL of a zebench \
         server? queued results stay in the outbox"
    )]
    Endpoint { status: u16, url: String },

    /// The server could not be reached, or kept failing, after every attempt.
    #[error("the results server could not be reached: {0}")]
    Unreachable(String),

    /// An answer the call cannot use (e.g. a body that is not the documented JSON).
    #[error("unexpected answer from {url}: {detail}")]
    Unexpected { url: String, detail: String },

    /// A background file task panicked or was cancelled.
    #[error("outbox task failed: {0}")]
    Task(String),
}

impl ClientError {
    /// The error for a 401/403, naming the variable that holds the key and never the key.
    pub(crate) fn auth(status: u16, had_key: bool, server_said: &str) -> ClientError {
        let what = if had_key {
            "the server refused the API key"
        } else {
            "no API key is set"
        };
        let said: String = server_said.trim().chars().take(200).collect();
        ClientError::Auth {
            status,
            message: format!(
                "HTTP {status} ({said}): {what}; set ZE_BENCHMARKS_API_KEY to a key the server \
                 accepts. Queued results stay in the outbox and go out on the next sync"
            ),
        }
    }
}
