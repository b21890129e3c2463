//! `zebench serve --config FILE`: the operator's settings that do not fit on a command line
//! (key files, rate limits, metrics, webhooks). One TOML file; unknown keys are errors that
//! name the file, line and key, so a typo never silently turns a protection off.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The whole server configuration file. Every section is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    /// The address people reach the dashboard at (`https://bench.example.com`), for the links
    /// in webhook payloads; without it they carry paths only.
    #[serde(default)]
    pub public_url: Option<String>,
    /// `[[webhooks]]`: receivers of batch completions and regressions (docs/operations.md).
    #[serde(default)]
    pub webhooks: Vec<crate::webhooks::WebhookConfig>,
    #[serde(default)]
    pub metrics: MetricsSection,
}

/// `[metrics]`: the Prometheus endpoint (see docs/operations.md, "Monitor").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Record metrics and serve `GET /metrics` (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Serve `/metrics` only on this address (e.g. a private interface), not on the main port.
    pub bind: Option<std::net::SocketAddr>,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            enabled: true,
            bind: None,
        }
    }
}

fn enabled_by_default() -> bool {
    true
}

/// `[auth]`: where named keys live.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// A TOML file of named, hashed keys (`zebench keys add`). Re-read when it changes, so a
    /// key is added or revoked without a restart. Relative paths are relative to the config file.
    pub keys_file: Option<PathBuf>,
}

/// `[rate_limit]`: limits on write endpoints, per key and per client address.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Limit per write key; absent or `requests_per_second = 0` means none.
    pub per_key: Option<Rate>,
    /// Limit per client address.
    pub per_address: Option<Rate>,
    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it; otherwise clients could pick their own address).
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

/// A token bucket: `requests_per_second` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub requests_per_second: f64,
    #[serde(default)]
    pub burst: Option<u32>,
}

/// A configuration file that cannot be used, with the file named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Parses TOML into `T`, the error on one line (it names the line and the key).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
}

impl ServerFile {
    /// Reads and checks `path`; relative paths inside are resolved against its folder.
    pub fn load(path: &Path) -> Result<ServerFile, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut file = ServerFile::parse(&text).map_err(|message| ConfigFileError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(keys) = &mut file.auth.keys_file {
            if keys.is_relative() {
                *keys = base.join(&*keys);
            }
        }
        Ok(file)
    }

    /// Parses the text of a configuration file; the error names line and key. Secrets named
    /// by `secret_env` are read from the environment.
    pub fn parse(text: &str) -> Result<ServerFile, String> {
        ServerFile::parse_with_env(text, &|name| std::env::var(name).ok())
    }

    /// [`ServerFile::parse`] with environment variables looked up through `env`.
    pub fn parse_with_env(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServerFile, String> {
        let mut file: ServerFile = parse_toml(text)?;
        for (name, rate) in [
            ("rate_limit.per_key", file.rate_limit.per_key),
            ("rate_limit.per_address", file.rate_limit.per_address),
        ] {
            if let Some(r) = rate {
                if !r.requests_per_second.is_finite() || r.requests_per_second < 0.0 {
                    return Err(format!(
                        "{name}.requests_per_second must be a number ≥ 0 (0 turns the limit off)"
                    ));
                }
            }
        }
        if !file.metrics.enabled && file.metrics.bind.is_some() {
            return Err(
                "metrics.bind is set but metrics.enabled = false; remove one of them".into(),
            );
        }
        if let Some(u) = &file.public_url {
            match reqwest::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") => {
                    file.public_url = Some(u.trim_end_matches('/').to_string());
                }
                _ => {
                    return Err(format!(
                        "public_url: {u:?} is not an http:// or https:// URL"
                    ))
                }
            }
        }
        for (i, hook) in file.webhooks.iter_mut().enumerate() {
            hook.validate(&format!("webhooks[{i}]"), env)?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        let f = ServerFile::parse("").unwrap();
        assert!(f.auth.keys_file.is_none());
        assert!(f.rate_limit.per_key.is_none());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let err = ServerFile::parse("[auth]\nkey_file = \"k.toml\"\n").unwrap_err();
        assert!(err.contains("key_file"), "{err}");
        let err = ServerFile::parse("[rate_limits]\n").unwrap_err();
        assert!(err.contains("rate_limits"), "{err}");
    }

    #[test]
    fn metrics_default_to_the_main_port_and_take_a_separate_address() {
        let f = ServerFile::parse("").unwrap();
        assert_eq!(f.metrics, MetricsSection::default());
        assert!(f.metrics.enabled && f.metrics.bind.is_none());
        let f = ServerFile::parse("[metrics]\nbind = \"127.0.0.1:9464\"\n").unwrap();
        assert!(f.metrics.enabled);
        assert_eq!(f.metrics.bind, Some("127.0.0.1:9464".parse().unwrap()));
        let f = ServerFile::parse("[metrics]\nenabled = false\n").unwrap();
        assert!(!f.metrics.enabled);
        let err = ServerFile::parse("[metrics]\nbind = \"localhost\"\n").unwrap_err();
        assert!(err.contains("bind"), "{err}");
        let err = ServerFile::parse("[metrics]\nenabled = false\nbind = \"127.0.0.1:9464\"\n")
            .unwrap_err();
        assert!(err.contains("metrics.bind"), "{err}");
        let err = ServerFile::parse("[metrics]\nport = 9464\n").unwrap_err();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn negative_rates_are_refused() {
        let err = ServerFile::parse("[rate_limit]\nper_key = { requests_per_second = -1 }\n")
            .unwrap_err();
        assert!(err.contains("rate_limit.per_key"), "{err}");
    }

    #[test]
    fn relative_keys_file_is_resolved_against_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "[auth]\nkeys_file = \"keys.toml\"\n").unwrap();
        let f = ServerFile::load(&path).unwrap();
        assert_eq!(f.auth.keys_file.unwrap(), dir.path().join("keys.toml"));
    }
}
