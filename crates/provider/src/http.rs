//! The HTTP layer both providers share: one POST of a JSON body with a per-attempt timeout,
//! retried with exponential backoff and full jitter on 408/429/5xx (529 = Anthropic
//! "overloaded"), timeouts and connection errors, honouring `Retry-After` up to a cap.
//!
//! Other 4xx answers fail at once with the provider's own error message, because retrying a
//! bad request only burns quota.

use crate::config::{ProviderConfig, Secret};
use crate::error::ProviderError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A successful JSON answer and what it took to get it.
pub(crate) struct Reply {
    pub body: Value,
    pub attempts: u32,
    pub latency_ms: u64,
}

/// The outcome of one attempt that did not end the call.
struct Retryable {
    message: String,
    retry_after: Option<Duration>,
}

pub(crate) struct HttpCore {
    client: reqwest::Client,
    key: Secret,
    timeout: Duration,
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    extra_headers: HeaderMap,
}

impl HttpCore {
    pub fn new(config: &ProviderConfig) -> Result<Self, ProviderError> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ProviderError::Config(format!("HTTP client: {e}")))?;
        let mut extra_headers = HeaderMap::new();
        for (name, value) in &config.extra_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ProviderError::Config(format!("invalid header name `{name}`")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| ProviderError::Config(format!("invalid value for header `{name}`")))?;
            extra_headers.insert(name, value);
        }
        Ok(HttpCore {
            client,
            key: config.api_key.clone(),
            timeout: config.timeout,
            max_retries: config.max_retries,
            base_delay: config.retry_base_delay,
            max_delay: config.retry_max_delay,
            extra_headers,
        })
    }

    /// A header value holding the key, marked sensitive so HTTP tracing never prints it.
    pub fn secret_header(&self, prefix: &str) -> Result<HeaderValue, ProviderError> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.key.expose()))
            .map_err(|_| ProviderError::Config("the API key contains invalid characters".into()))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// POST `body` to `url` with retries; the 2xx JSON body on success.
    pub async fn post_json(
        &self,
        url: &str,
        mut headers: HeaderMap,
        body: &Value,
    ) -> Result<Reply, ProviderError> {
        headers.extend(self.extra_headers.clone());
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ProviderError::Transport(format!("serialising the request: {e}")))?;
        let started = Instant::now();
        let max_attempts = self.max_retries.saturating_add(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let failure = match self.attempt(url, &headers, &bytes).await? {
                Ok(body) => {
                    return Ok(Reply {
                        body,
                        attempts: attempt,
                        latency_ms: started.elapsed().as_millis() as u64,
                    })
                }
                Err(failure) => failure,
            };
            if attempt >= max_attempts {
                return Err(ProviderError::RetriesExhausted {
                    attempts: attempt,
                    last_error: failure.message,
                });
            }
            let wait = failure
                .retry_after
                .unwrap_or_else(|| backoff(attempt, self.base_delay, self.max_delay));
            tracing::warn!(
                attempt,
                max_attempts,
                wait_ms = wait.as_millis() as u64,
                error = %failure.message,
                "provider call failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: `Ok(Ok(body))` done, `Ok(Err(_))` retry, `Err(_)` give up.
    async fn attempt(
        &self,
        url: &str,
        headers: &HeaderMap,
        bytes: &[u8],
    ) -> Result<Result<Value, Retryable>, ProviderError> {
        let sent = self
            .client
            .post(url)
            .headers(headers.clone())
            .timeout(self.timeout)
            .body(bytes.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return self.transport_failure(e),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), self.max_delay);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => return self.transport_failure(e),
        };
        let text = self.key.redact(&text);
        if !(200..300).contains(&status) {
            return classify(status, error_message(&text), retry_after);
        }
        let body: Value = serde_json::from_str(&text).map_err(|e| {
            ProviderError::InvalidResponse(format!("{e}; body starts: {}", head(&text, 300)))
        })?;
        // OpenRouter reports upstream failures as 200 with an `error` object and no answer.
        if let Some((status, message)) = in_body_error(&body) {
            return classify(status, message, retry_after);
        }
        Ok(Ok(body))
    }

    fn transport_failure(
        &self,
        e: reqwest::Error,
    ) -> Result<Result<Value, Retryable>, ProviderError> {
        let message = self.key.redact(&describe(&e, self.timeout));
        if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() {
            Ok(Err(Retryable {
                message,
                retry_after: None,
            }))
        } else {
            Err(ProviderError::Transport(message))
        }
    }
}

/// rustls needs a process-wide crypto provider when reqwest is built without its own; the one
/// setup all of zebench shares (ring, to avoid aws-lc-sys).
fn install_crypto_provider() {
    zebench_tls::install_provider();
}

fn classify(
    status: u16,
    message: String,
    retry_after: Option<Duration>,
) -> Result<Result<Value, Retryable>, ProviderError> {
    if is_retryable_status(status) {
        Ok(Err(Retryable {
            message: format!("HTTP {status}: {message}"),
            retry_after,
        }))
    } else {
        Err(ProviderError::Api { status, message })
    }
}

/// 408 request timeout, 429 rate limit, 5xx (529 is Anthropic's "overloaded").
pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Step `retry` (1-based) of exponential backoff with full jitter: a uniform wait in
/// `[0, min(max, base × 2^(retry-1))]`, which spreads concurrent clients apart.
pub(crate) fn backoff(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(31));
    base.saturating_mul(factor)
        .min(max)
        .mul_f64(random_fraction())
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds, capped at `max`. HTTP-date values
/// are ignored (backoff applies instead).
pub(crate) fn retry_after(headers: &HeaderMap, max: Duration) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let v = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (v.is_finite() && v >= 0.0).then_some(v)
    };
    let wait = number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))?;
    Some(wait.min(max))
}

/// The provider's own error message from an error body: `error.message` (Anthropic, OpenAI,
/// OpenRouter), `error` as a string, `message`, `detail`; else the start of the body.
pub(crate) fn error_message(text: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let candidates = [
            v.pointer("/error/message"),
            v.get("error"),
            v.get("message"),
            v.get("detail"),
        ];
        for c in candidates.into_iter().flatten() {
            if let Some(s) = c.as_str().filter(|s| !s.trim().is_empty()) {
                return s.to_string();
            }
        }
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        "(empty response body)".to_string()
    } else {
        head(trimmed, 500)
    }
}

fn in_body_error(body: &Value) -> Option<(u16, String)> {
    let error = body.get("error").filter(|e| !e.is_null())?;
    if body.get("choices").is_some() || body.get("content").is_some() {
        return None;
    }
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .filter(|c| (400..=599).contains(c))
        .unwrap_or(502) as u16;
    let message = error_message(&body.to_string());
    Some((status, message))
}

fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("request timed out after {:.1}s", timeout.as_secs_f64());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The first `max` bytes of `text`, cut on a character boundary.
pub(crate) fn head(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A uniform number in [0, 1) without a RNG dependency: std's `RandomState` is seeded from the
/// OS and re-keyed per instance, which is plenty for spreading retries.
fn random_fraction() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for retry in 1..40 {
            let limit = (base * 2u32.saturating_pow((retry - 1).min(31))).min(max);
            let wait = backoff(retry, base, max);
            assert!(wait <= limit, "retry {retry}: {wait:?} > {limit:?}");
        }
    }

    #[test]
    fn retry_after_seconds_ms_and_cap() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, Duration::from_secs(5)), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(
            retry_after(&h, Duration::from_secs(5)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&h, Duration::from_secs(1)),
            Some(Duration::from_secs(1))
        );
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(
            retry_after(&h, Duration::from_secs(5)),
            Some(Duration::from_millis(250))
        );
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&date, Duration::from_secs(5)), None);
    }

    #[test]
    fn error_message_extraction() {
        let anthropic = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}"#;
        assert_eq!(error_message(anthropic), "max_tokens: required");
        assert_eq!(error_message(r#"{"error":"bad model"}"#), "bad model");
        assert_eq!(error_message(r#"{"detail":"nope"}"#), "nope");
        assert_eq!(error_message("plain text"), "plain text");
        assert_eq!(error_message(""), "(empty response body)");
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 529, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}
