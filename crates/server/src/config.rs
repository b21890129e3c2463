//! What the server needs to know beyond the store: keys, limits, CORS.

use crate::keys::ApiKey;
use std::time::Duration;

/// The key `--dev` mode accepts, as the seed's local mode did.
pub const DEV_KEY: &str = "dev-local-key";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Keys given on the command line or in the environment (the keys file, named in
    /// `file.auth.keys_file`, adds more). No write key means writes are refused.
    pub api_keys: Vec<ApiKey>,
    /// Maximum body of a single-run or batch submission.
    pub body_limit: usize,
    /// Maximum body of a bulk submission.
    pub bulk_body_limit: usize,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Deadline for ordinary requests (not event streams or exports).
    pub request_timeout: Duration,
    /// What `--config FILE` said (defaults when no file was given).
    pub file: crate::config_file::ServerFile,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            api_keys: Vec::new(),
            body_limit: 8 * 1024 * 1024,
            bulk_body_limit: 64 * 1024 * 1024,
            cors_origins: vec!["*".into()],
            request_timeout: Duration::from_secs(30),
            file: crate::config_file::ServerFile::default(),
        }
    }
}
