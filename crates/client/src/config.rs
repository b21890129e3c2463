//! Configuration: where the server is, which key to send, where results wait, how to retry.

use std::path::PathBuf;
use std::time::Duration;

/// Environment variable with the server's base URL (the seed's name).
pub const URL_ENV: &str = "ZE_BENCHMARKS_WORKER_URL";
/// Environment variable with the write key (the seed's name).
pub const API_KEY_ENV: &str = "ZE_BENCHMARKS_API_KEY";
/// Environment variable that overrides [`default_outbox_dir`].
pub const OUTBOX_ENV: &str = "ZEBENCH_OUTBOX";

/// Where results wait for delivery unless configured otherwise: `$ZEBENCH_OUTBOX`, else
/// `<data dir>/zebench/outbox` (`$XDG_DATA_HOME` or `~/.local/share` on Linux). A per-user
/// location, so results queued by one run are delivered by the next, whatever its working dir.
pub fn default_outbox_dir() -> PathBuf {
    match std::env::var_os(OUTBOX_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from(".zebench"))
            .join("zebench")
            .join("outbox"),
    }
}

/// Installs rustls' `ring` crypto provider as the process default (once; a provider installed
/// earlier by someone else is kept). reqwest is built without a provider so that the slow
/// aws-lc C build is avoided, and refuses to build a client until one is installed: call this
/// before building any other reqwest client in a process that uses this crate's features.
pub fn install_tls_provider() {
    zebench_tls::install_provider();
}

/// How to reach the server and where to keep undelivered results.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL of the server, e.g. `https://bench.example.com` (a path prefix is kept).
    pub base_url: String,
    /// Bearer key for write routes; never printed (see the `Debug` impl).
    pub api_key: Option<String>,
    /// Outbox root; `pending/` and `rejected/` are created under it.
    pub outbox_dir: PathBuf,
    /// Deadline of one HTTP request.
    pub request_timeout: Duration,
    /// HTTP attempts per delivery call (default 5); the item stays queued after the last.
    pub max_attempts: u32,
    /// First backoff ceiling (default 500 ms); doubles each attempt, with full jitter.
    pub initial_backoff: Duration,
    /// Largest backoff ceiling (default 30 s).
    pub max_backoff: Duration,
    /// Largest wait honoured from a `Retry-After` header (default 60 s).
    pub max_retry_after: Duration,
}

impl ClientConfig {
    /// Defaults for `base_url`: no key, the default outbox, 30 s timeout, 5 attempts from 500 ms.
    pub fn new(base_url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            outbox_dir: default_outbox_dir(),
            request_timeout: Duration::from_secs(30),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }

    /// Remote mode from the environment: `None` unless `ZE_BENCHMARKS_WORKER_URL` is set;
    /// the key comes from `ZE_BENCHMARKS_API_KEY`.
    pub fn from_env() -> Option<ClientConfig> {
        let url = std::env::var(URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())?;
        let mut cfg = ClientConfig::new(url.trim());
        cfg.api_key = std::env::var(API_KEY_ENV).ok().filter(|k| !k.is_empty());
        Some(cfg)
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("outbox_dir", &self.outbox_dir)
            .field("request_timeout", &self.request_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}
