//! Sending: one bounded queue and one worker per receiver, so a slow or dead receiver delays
//! only its own deliveries. Each delivery is signed, sent with a per-attempt deadline and
//! retried with exponential backoff and jitter (honouring `Retry-After`) until it is accepted,
//! refused for good, or out of attempts.

use super::config::WebhookConfig;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Counter of deliveries by `outcome`: `delivered`, `failed` (refused, or out of attempts),
/// `dropped` (queue full or events missed), `abandoned` (still pending at shutdown).
pub const DELIVERIES: &str = "zebench_webhook_deliveries_total";

pub(crate) fn count(outcome: &'static str, n: u64) {
    ::metrics::counter!(DELIVERIES, "outcome" => outcome).increment(n);
}

/// How deliveries are queued and retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The wait after the first failed attempt is between half of this and all of it; each
    /// further attempt doubles it. Default 2 s.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts. Default 5 min.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one is cut to this. Default 5 min.
    pub max_retry_after: Duration,
    /// Deliveries waiting per receiver; beyond that new ones are dropped with a warning.
    /// Default 1,000.
    pub queue: usize,
    /// Deliveries in flight at once per receiver (retry waits included). Default 4.
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(300),
            queue: 1000,
            concurrency: 4,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): "equal jitter", half the ceiling
    /// plus a random part of the other half, so retries of many deliveries spread out but
    /// never come back at once.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// One body for one receiver; the id stays the same across its retries.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub event: &'static str,
    pub id: String,
    pub body: bytes::Bytes,
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "{timestamp}.{body}"): the `X-Zebench-Signature`
/// header. The timestamp is inside the signed text so a captured delivery cannot be replayed
/// later with a fresh timestamp.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// One receiver's queue, drained by [`run`].
pub(crate) struct Queue {
    pub tx: mpsc::Sender<Delivery>,
    pub label: String,
}

/// What one attempt came to.
enum Attempt {
    Delivered(u16),
    /// Refused in a way a retry cannot fix (a 4xx other than 408 and 429, or a redirect).
    Refused(u16),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let v = value?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

async fn attempt(client: &reqwest::Client, hook: &WebhookConfig, delivery: &Delivery) -> Attempt {
    let timestamp = unix_now();
    let mut request = client
        .post(&hook.url)
        .timeout(hook.timeout())
        .header(CONTENT_TYPE, "application/json")
        .header(
            USER_AGENT,
            concat!("zebench-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header("X-Zebench-Event", delivery.event)
        .header("X-Zebench-Delivery", &delivery.id)
        .header("X-Zebench-Timestamp", timestamp.to_string());
    if let Some(secret) = &hook.secret {
        request = request.header(
            "X-Zebench-Signature",
            signature(secret.bytes(), timestamp, &delivery.body),
        );
    }
    match request.body(delivery.body.clone()).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match status {
                200..=299 => Attempt::Delivered(status),
                408 | 429 | 500..=599 => Attempt::Retry {
                    reason: format!("HTTP {status}"),
                    retry_after: retry_after(resp.headers().get(RETRY_AFTER)),
                },
                _ => Attempt::Refused(status),
            }
        }
        Err(e) if e.is_timeout() => Attempt::Retry {
            reason: format!("no answer within {:?}", hook.timeout()),
            retry_after: None,
        },
        // reqwest's error names the URL; say only what went wrong (the URL may hold a token).
        Err(e) => Attempt::Retry {
            reason: transport_reason(&e),
            retry_after: None,
        },
    }
}

fn transport_reason(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

/// Sends one delivery until it is accepted, refused, or out of attempts.
async fn deliver(
    client: reqwest::Client,
    hook: Arc<WebhookConfig>,
    policy: RetryPolicy,
    d: Delivery,
) {
    let label = hook.label();
    let attempts = hook.attempts();
    for n in 1..=attempts {
        let wait = match attempt(&client, &hook, &d).await {
            Attempt::Delivered(status) => {
                tracing::info!(webhook = %label, event = d.event, delivery = %d.id, status, attempt = n, "webhook delivered");
                count("delivered", 1);
                return;
            }
            Attempt::Refused(status) => {
                tracing::warn!(webhook = %label, event = d.event, delivery = %d.id, status, "webhook refused by the receiver (HTTP {status}); not retried");
                count("failed", 1);
                return;
            }
            Attempt::Retry {
                reason,
                retry_after,
            } => {
                if n == attempts {
                    tracing::warn!(webhook = %label, event = d.event, delivery = %d.id, attempts, "webhook not delivered after {attempts} attempt(s), giving up: {reason}");
                    count("failed", 1);
                    return;
                }
                let wait = match retry_after {
                    Some(r) => r.min(policy.max_retry_after),
                    None => policy.backoff(n),
                };
                tracing::debug!(webhook = %label, delivery = %d.id, attempt = n, ?wait, "webhook attempt failed ({reason}); retrying");
                wait
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Drains one receiver's queue until it closes (then finishes what is in flight), or until
/// `abort`, which drops everything still pending with a warning.
pub(crate) async fn run(
    client: reqwest::Client,
    hook: Arc<WebhookConfig>,
    policy: RetryPolicy,
    mut rx: mpsc::Receiver<Delivery>,
    abort: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(policy.concurrency.max(1)));
    let mut in_flight = JoinSet::new();
    let mut open = true;
    // Until the queue is closed and drained and nothing is in flight, or until `abort`.
    while open || !in_flight.is_empty() {
        tokio::select! {
            biased;
            _ = abort.cancelled() => break,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            // Take the next delivery only when a slot is free, so waiting ones stay in the
            // bounded queue (and overflow is visible there) rather than piling up here.
            permit = slots.clone().acquire_owned(), if open => {
                let Ok(permit) = permit else { break };
                tokio::select! {
                    biased;
                    _ = abort.cancelled() => break,
                    next = rx.recv() => match next {
                        Some(d) => {
                            let (client, hook, policy) = (client.clone(), hook.clone(), policy.clone());
                            in_flight.spawn(async move {
                                deliver(client, hook, policy, d).await;
                                drop(permit);
                            });
                        }
                        None => open = false,
                    },
                }
            }
        }
    }
    let mut left = in_flight.len() as u64;
    in_flight.abort_all();
    rx.close();
    while rx.try_recv().is_ok() {
        left += 1;
    }
    if left > 0 {
        tracing::warn!(webhook = %hook.label(), "shutting down: {left} webhook delivery(ies) not sent (undelivered webhooks are not kept across restarts)");
        count("abandoned", left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let third = p.backoff(3);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8));
            assert!(p.backoff(40) <= Duration::from_secs(10));
            assert!(p.backoff(40) >= Duration::from_secs(5));
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let v = HeaderValue::from_static("7");
        assert_eq!(retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(retry_after(Some(&past)), Some(Duration::ZERO));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let got = retry_after(Some(&HeaderValue::from_str(&future).unwrap())).unwrap();
        assert!(
            got > Duration::from_secs(100) && got <= Duration::from_secs(120),
            "{got:?}"
        );
        assert_eq!(retry_after(Some(&HeaderValue::from_static("soon"))), None);
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn signature_matches_python_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"secret",
        //   b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
        assert_eq!(
            signature(b"secret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            signature(b"secret", 1_700_000_001, br#"{"a":1}"#),
            signature(b"secret", 1_700_000_000, br#"{"a":1}"#)
        );
    }
}
