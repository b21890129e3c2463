//! Provider configuration: which API, where, with which key, and how patiently.
//!
//! Keys and base URLs come from the providers' own SDK environment variables
//! (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, ...) so proxies, gateways and local servers work
//! without zebench-specific settings. The key is held in a [`Secret`] that never prints.

use crate::anthropic::AnthropicProvider;
use crate::error::ProviderError;
use crate::openai::OpenAiProvider;
use crate::Provider;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Default Anthropic endpoint (the `/v1/messages` path is appended).
pub const ANTHROPIC_DEFAULT_BASE: &str = "https://api.anthropic.com";
/// Default OpenAI endpoint (the `/chat/completions` path is appended).
pub const OPENAI_DEFAULT_BASE: &str = "https://api.openai.com/v1";
/// Default OpenRouter endpoint (OpenAI-compatible).
pub const OPENROUTER_DEFAULT_BASE: &str = "https://openrouter.ai/api/v1";

/// An API key. `Debug` and `Display` print `***` so a key cannot leak through logs, error
/// chains or `{:?}` of a config; [`Secret::expose`] is the one way to read it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key read from the environment or a config file.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The key itself, for the one header that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no key was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every occurrence of the key replaced by `***` (providers and proxies
    /// sometimes echo the key back in error bodies).
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which wire format and which defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI chat completions (also any compatible server via `OPENAI_BASE_URL`).
    OpenAi,
    /// OpenRouter: OpenAI-compatible, reports cost in `usage.cost`.
    OpenRouter,
}

impl ProviderKind {
    /// The short name used on the command line and in stored runs.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::OpenAi => "openai",
            ProviderKind::OpenRouter => "openrouter",
        }
    }

    /// The environment variable holding this provider's API key.
    pub fn key_var(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
            ProviderKind::OpenAi => "OPENAI_API_KEY",
            ProviderKind::OpenRouter => "OPENROUTER_API_KEY",
        }
    }

    /// The environment variable overriding this provider's base URL.
    pub fn base_url_var(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "ANTHROPIC_BASE_URL",
            ProviderKind::OpenAi => "OPENAI_BASE_URL",
            ProviderKind::OpenRouter => "OPENROUTER_BASE_URL",
        }
    }

    /// The public endpoint used when no base URL is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => ANTHROPIC_DEFAULT_BASE,
            ProviderKind::OpenAi => OPENAI_DEFAULT_BASE,
            ProviderKind::OpenRouter => OPENROUTER_DEFAULT_BASE,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ProviderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Ok(ProviderKind::Anthropic),
            "openai" => Ok(ProviderKind::OpenAi),
            "openrouter" => Ok(ProviderKind::OpenRouter),
            other => Err(ProviderError::Config(format!(
                "unknown provider `{other}` (expected anthropic, openai or openrouter)"
            ))),
        }
    }
}

/// How a provider is reached and how hard it tries.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// None = the kind's default endpoint.
    pub base_url: Option<String>,
    pub api_key: Secret,
    /// Limit for one HTTP attempt (connect, send, and read the whole answer).
    pub timeout: Duration,
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// First backoff step; step n waits a random time in `[0, base × 2ⁿ]` (full jitter).
    pub retry_base_delay: Duration,
    /// Cap on one backoff wait and on a server's `Retry-After`, so a hostile or confused
    /// server cannot park a benchmark for an hour.
    pub retry_max_delay: Duration,
    /// Extra headers on every request (e.g. OpenRouter's `HTTP-Referer`, `X-Title`).
    pub extra_headers: Vec<(String, String)>,
}

impl ProviderConfig {
    /// A config with the default endpoint and retry policy.
    pub fn new(kind: ProviderKind, api_key: Secret) -> Self {
        ProviderConfig {
            kind,
            base_url: None,
            api_key,
            timeout: Duration::from_secs(300),
            max_retries: 4,
            retry_base_delay: Duration::from_millis(1000),
            retry_max_delay: Duration::from_secs(60),
            extra_headers: Vec::new(),
        }
    }

    /// Key and base URL from the process environment (see [`ProviderKind::key_var`]).
    pub fn from_env(kind: ProviderKind) -> Result<Self, ProviderError> {
        Self::from_lookup(kind, |name| std::env::var(name).ok())
    }

    /// Like [`ProviderConfig::from_env`], reading variables through `lookup` (tests, config
    /// files layered over the environment).
    pub fn from_lookup(
        kind: ProviderKind,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ProviderError> {
        let key = lookup(kind.key_var())
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ProviderError::Config(format!(
                    "{} is not set: the {} provider needs an API key in that environment variable",
                    kind.key_var(),
                    kind
                ))
            })?;
        let mut config = ProviderConfig::new(kind, Secret::new(key));
        config.base_url = lookup(kind.base_url_var())
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        Ok(config)
    }

    /// Point at another endpoint (a gateway, a proxy, a local or fake server).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The endpoint in use, without a trailing slash.
    pub fn effective_base_url(&self) -> String {
        self.base_url
            .as_deref()
            .unwrap_or(self.kind.default_base_url())
            .trim_end_matches('/')
            .to_string()
    }

    /// The provider this config describes.
    pub fn build(self) -> Result<Arc<dyn Provider>, ProviderError> {
        Ok(match self.kind {
            ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(self)?),
            ProviderKind::OpenAi | ProviderKind::OpenRouter => Arc::new(OpenAiProvider::new(self)?),
        })
    }
}
