//! `[[webhooks]]` tables of the server configuration file, checked when it is loaded.
//!
//! Webhook URLs come only from this file, written by the operator: no endpoint lets a caller
//! make the server fetch a URL of its choosing.

use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// One configured receiver.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Shown in logs instead of the URL, which may hold a token (Slack's do). Default: the
    /// URL's host.
    #[serde(default)]
    pub name: Option<String>,
    /// `http://` or `https://` URL the deliveries are POSTed to.
    pub url: String,
    /// Which events to send; default both.
    #[serde(default = "all_events")]
    pub events: Vec<WebhookEvent>,
    /// `generic` (zebench's JSON) or `slack` (an incoming-webhook message).
    #[serde(default)]
    pub format: WebhookFormat,
    /// The HMAC key, written in the file. Prefer `secret_env`; after loading, this holds the
    /// key whichever way it was given.
    #[serde(default)]
    pub secret: Option<WebhookSecret>,
    /// Name of the environment variable holding the HMAC key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Deadline of one attempt (connect to last byte of the answer's headers); default 10 s.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// Attempts per delivery, the first included; default 8 (about 4 minutes of retries).
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

/// What a webhook can be sent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum WebhookEvent {
    /// A client reported a batch finished.
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    /// A finished batch scores worse than the previous comparable batch.
    #[serde(rename = "regression")]
    Regression,
}

impl WebhookEvent {
    /// The name in `events` and in the `X-Zebench-Event` header.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::BatchCompleted => "batch.completed",
            WebhookEvent::Regression => "regression",
        }
    }
}

fn all_events() -> Vec<WebhookEvent> {
    vec![WebhookEvent::BatchCompleted, WebhookEvent::Regression]
}

/// The body's shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// zebench's JSON document (docs/operations.md lists every field).
    #[default]
    Generic,
    /// `{"text", "blocks"}` as Slack incoming webhooks (and compatible chat tools) take it.
    Slack,
}

/// An HMAC key. Never printed: its `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn new(value: impl Into<String>) -> Self {
        WebhookSecret(value.into())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Default deadline of one attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default attempts per delivery.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

impl WebhookConfig {
    /// A receiver of both events in the generic format, with the defaults.
    pub fn new(url: impl Into<String>, secret: Option<WebhookSecret>) -> Self {
        WebhookConfig {
            name: None,
            url: url.into(),
            events: all_events(),
            format: WebhookFormat::Generic,
            secret,
            secret_env: None,
            timeout_seconds: None,
            max_attempts: None,
        }
    }

    /// The name logs use: `name`, else the URL's host (never its path or query, which may
    /// hold a token).
    pub fn label(&self) -> String {
        if let Some(n) = self.name.as_deref().filter(|n| !n.trim().is_empty()) {
            return n.to_string();
        }
        reqwest::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "webhook".into())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout_seconds
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    pub fn attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)
    }

    pub fn wants(&self, event: WebhookEvent) -> bool {
        self.events.contains(&event)
    }

    /// Checks every field and resolves `secret_env` through `env`. `at` names the table in
    /// errors (`webhooks[0]`), so each error names the field.
    pub fn validate(
        &mut self,
        at: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        let url = reqwest::Url::parse(self.url.trim())
            .map_err(|e| format!("{at}.url: not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{at}.url: must start with http:// or https://, not {}:",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{at}.url: has no host"));
        }
        self.url = url.to_string();
        if self.events.is_empty() {
            return Err(format!(
                "{at}.events: empty; give \"batch.completed\", \"regression\" or both"
            ));
        }
        self.events.sort_by_key(|e| e.as_str());
        self.events.dedup();
        match (&self.secret, self.secret_env.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(format!("{at}: give secret_env or secret, not both"));
            }
            (None, Some(var)) => match env(var).filter(|v| !v.is_empty()) {
                Some(v) => self.secret = Some(WebhookSecret(v)),
                None => {
                    return Err(format!(
                        "{at}.secret_env: the environment variable {var} is not set or empty"
                    ))
                }
            },
            (Some(s), None) if s.0.is_empty() => {
                return Err(format!("{at}.secret: empty"));
            }
            _ => {}
        }
        if self.secret.is_none() && self.format == WebhookFormat::Generic {
            return Err(format!(
                "{at}.secret_env: a generic webhook needs a secret to sign its deliveries \
                 (secret_env = \"VAR\", or secret = \"…\")"
            ));
        }
        if let Some(t) = self.timeout_seconds {
            if !(t.is_finite() && t > 0.0 && t <= 300.0) {
                return Err(format!(
                    "{at}.timeout_seconds: must be more than 0 and at most 300"
                ));
            }
        }
        if let Some(n) = self.max_attempts {
            if !(1..=20).contains(&n) {
                return Err(format!("{at}.max_attempts: must be 1 to 20"));
            }
        }
        Ok(())
    }
}

/// The URL without path, query or credentials: `https://hooks.slack.com/…`.
pub(crate) fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/…",
                u.scheme(),
                u.host_str().unwrap_or_default()
            )
        }
        Err(_) => "(invalid URL)".into(),
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &redacted_url(&self.url))
            .field("events", &self.events)
            .field("format", &self.format)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("secret_env", &self.secret_env)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}
