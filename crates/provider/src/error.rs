//! What can go wrong talking to a model, in terms a caller can act on.
//!
//! Messages never contain the API key: every message built from a response or a transport
//! error goes through [`crate::config::Secret::redact`] first.

/// A provider call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider cannot be configured (missing API key, bad base URL). Names what to fix.
    #[error("provider configuration: {0}")]
    Config(String),
    /// The provider refused the request with a non-retryable status; `message` is the error
    /// message the provider put in its JSON body (or the start of the body when it has none).
    #[error("provider API error {status}: {message}")]
    Api { status: u16, message: String },
    /// Every attempt failed with a retryable error (429, 529, 5xx, timeout, connection).
    #[error("provider gave up after {attempts} attempt(s): {last_error}")]
    RetriesExhausted { attempts: u32, last_error: String },
    /// A request could not be sent and retrying would not help.
    #[error("provider transport error: {0}")]
    Transport(String),
    /// The provider answered 2xx with a body this crate cannot read.
    #[error("provider returned an unreadable response: {0}")]
    InvalidResponse(String),
}

impl ProviderError {
    /// The HTTP status, when the provider answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ProviderError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
