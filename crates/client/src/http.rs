//! HTTP exchanges with the results server: one request with retries, classified into what the
//! outbox should do next.
//!
//! Retried (exponential backoff with full jitter, or the server's `Retry-After`): connection
//! errors, timeouts, 408, 429 and 5xx. Everything else is final for this delivery call.

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use std::error::Error as _;
use std::time::{Duration, SystemTime};

/// Longest write-route response body kept (for error messages and `.error.txt` files).
const MAX_POST_BODY: usize = 16 * 1024;
/// Longest read-route response body accepted (a batch with all its runs).
const MAX_GET_BODY: usize = 256 * 1024 * 1024;

/// What the final answer of an exchange means for the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// 2xx: stored (201) or already present (200).
    Success,
    /// 401/403: the key is missing or wrong; fixable, so the item stays queued.
    Auth,
    /// 3xx, 404, 405: the URL does not point at a results server; fixable, item stays queued.
    Misrouted,
    /// Any other 4xx (409 conflict, 400 invalid, 413 too large…): will never succeed.
    Permanent,
    /// Still failing after every attempt: connection error, timeout, 408, 429 or 5xx.
    Transient,
}

/// The last answer of an exchange, after retries.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub class: Class,
    /// `None` when no HTTP answer was received (connection error or timeout).
    pub status: Option<u16>,
    /// The response body (truncated, API key removed), or the transport error.
    pub body: String,
    /// HTTP attempts made.
    pub tries: u32,
}

impl Exchange {
    /// A one-line description for logs and `lastError`.
    pub fn summary(&self) -> String {
        let body: String = self.body.chars().take(300).collect();
        match self.status {
            Some(s) => format!("HTTP {s}: {}", body.trim()),
            None => body,
        }
    }
}

pub(crate) fn classify(status: StatusCode) -> Class {
    match status.as_u16() {
        200..=299 => Class::Success,
        401 | 403 => Class::Auth,
        408 | 429 | 500..=599 => Class::Transient,
        300..=399 | 404 | 405 => Class::Misrouted,
        _ => Class::Permanent,
    }
}

/// Retry policy of a [`Transport`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_retry_after: Duration,
}

impl Policy {
    /// Full jitter: a uniformly random wait between zero and the exponential ceiling.
    fn backoff(&self, tries: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << (tries.saturating_sub(1)).min(20))
            .min(self.max_backoff);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ms))
    }
}

/// `Retry-After` as delta-seconds or an HTTP date, capped at `cap`.
pub(crate) fn retry_after(headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = httpdate::parse_http_date(value).ok()?;
            when.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(cap))
}

/// Replaces every occurrence of the key, so a server echoing it cannot leak it into errors,
/// logs or `.error.txt` files.
pub(crate) fn redact(text: &str, key: Option<&str>) -> String {
    match key {
        Some(k) if !k.is_empty() => text.replace(k, "[redacted]"),
        _ => text.to_string(),
    }
}

/// A transport error with its causes ("…: tcp connect error: Connection refused").
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One base URL, one optional key, one retry policy.
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    /// `Authorization: Bearer …`, marked sensitive so it is never printed.
    auth: Option<HeaderValue>,
    /// Kept only to redact it from server answers.
    key: Option<String>,
    pub policy: Policy,
}

impl Transport {
    pub fn new(
        base: Url,
        key: Option<String>,
        timeout: Duration,
        policy: Policy,
    ) -> Result<Transport, String> {
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirected POST becomes a GET: never follow, report the URL as wrong instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("zebench-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let auth = match key.as_deref() {
            Some(k) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {k}")).map_err(|_| {
                    "the API key contains characters not allowed in an HTTP header".to_string()
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(Transport {
            http,
            base,
            auth,
            key,
            policy,
        })
    }

    pub fn has_key(&self) -> bool {
        self.auth.is_some()
    }

    /// The base URL with `segments` appended (each percent-encoded).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// POSTs a JSON body with the key, retrying at most `max_attempts` times.
    pub async fn post(&self, url: &Url, body: Vec<u8>, max_attempts: u32) -> Exchange {
        self.exchange(Method::POST, url, Some(body), max_attempts, MAX_POST_BODY)
            .await
    }

    /// GETs without the key (read routes are public), with the policy's attempts.
    pub async fn get(&self, url: &Url) -> Exchange {
        let attempts = self.policy.max_attempts;
        self.exchange(Method::GET, url, None, attempts, MAX_GET_BODY)
            .await
    }

    async fn exchange(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
        max_attempts: u32,
        body_limit: usize,
    ) -> Exchange {
        let max_attempts = max_attempts.max(1);
        let mut tries = 0;
        loop {
            tries += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
                if let Some(auth) = &self.auth {
                    req = req.header(AUTHORIZATION, auth.clone());
                }
            }
            let (last, hint) = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let hint = match status.as_u16() {
                        429 | 503 => retry_after(resp.headers(), self.policy.max_retry_after),
                        _ => None,
                    };
                    let text = read_body(resp, body_limit).await;
                    let last = Exchange {
                        class: classify(status),
                        status: Some(status.as_u16()),
                        body: redact(&text, self.key.as_deref()),
                        tries,
                    };
                    if last.class != Class::Transient {
                        return last;
                    }
                    (last, hint)
                }
                Err(e) => {
                    let last = Exchange {
                        class: Class::Transient,
                        status: None,
                        body: redact(&describe(&e), self.key.as_deref()),
                        tries,
                    };
                    (last, None)
                }
            };
            if tries >= max_attempts {
                return last;
            }
            let wait = hint.unwrap_or_else(|| self.policy.backoff(tries));
            tracing::debug!(
                url = %url, attempt = tries, wait_ms = wait.as_millis() as u64,
                error = %last.summary(), "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// The body as text, at most `limit` bytes; a body that cannot be read is reported as such
/// (the status is what decides).
async fn read_body(resp: reqwest::Response, limit: usize) -> String {
    match resp.bytes().await {
        Ok(b) => {
            let cut = &b[..b.len().min(limit)];
            String::from_utf8_lossy(cut).into_owned()
        }
        Err(e) => format!("(body unreadable: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let c = |s: u16| classify(StatusCode::from_u16(s).unwrap());
        assert_eq!(c(201), Class::Success);
        assert_eq!(c(200), Class::Success);
        assert_eq!(c(409), Class::Permanent);
        assert_eq!(c(400), Class::Permanent);
        assert_eq!(c(413), Class::Permanent);
        assert_eq!(c(401), Class::Auth);
        assert_eq!(c(403), Class::Auth);
        assert_eq!(c(404), Class::Misrouted);
        assert_eq!(c(302), Class::Misrouted);
        for s in [408, 429, 500, 502, 503, 599] {
            assert_eq!(c(s), Class::Transient, "{s}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates_are_capped() {
        let cap = Duration::from_secs(60);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, cap), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("86400"));
        assert_eq!(retry_after(&h, cap), Some(cap));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h, cap).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h, cap), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, cap), None);
    }

    #[test]
    fn backoff_stays_under_the_exponential_ceiling() {
        let p = Policy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
        };
        for tries in 1..40 {
            let ceiling = (100u64 << (tries - 1).min(20)).min(1000);
            assert!(p.backoff(tries) <= Duration::from_millis(ceiling));
        }
    }

    #[test]
    fn redact_removes_the_key() {
        assert_eq!(
            redact("bad key s3cret!", Some("s3cret")),
            "bad key [redacted]!"
        );
        assert_eq!(redact("x", Some("")), "x");
    }
}
