//! Rate limits on write endpoints, per API key and per client address (GCRA token buckets
//! from `governor`). The address is checked before the key, so a flood of bad keys from
//! one address is slowed down as well.

use crate::config_file::{Rate, RateLimitSection};
use axum::http::request::Parts;
use axum::http::HeaderName;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// The limiters configured for this server; absent ones let everything through.
pub struct RateLimits {
    per_key: Option<DefaultKeyedRateLimiter<Arc<str>>>,
    per_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trust_forwarded_for: bool,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_key", &self.per_key.is_some())
            .field("per_address", &self.per_address.is_some())
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .finish()
    }
}

/// `None` for a zero rate (no limit).
fn quota(rate: Rate) -> Option<Quota> {
    if rate.requests_per_second <= 0.0 {
        return None;
    }
    let period = Duration::from_secs_f64(1.0 / rate.requests_per_second);
    let burst = rate
        .burst
        .unwrap_or_else(|| rate.requests_per_second.ceil().clamp(1.0, u32::MAX as f64) as u32);
    Quota::with_period(period)
        .map(|q| q.allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN)))
}

const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

impl RateLimits {
    pub fn new(section: &RateLimitSection) -> Self {
        RateLimits {
            per_key: section.per_key.and_then(quota).map(RateLimiter::keyed),
            per_address: section.per_address.and_then(quota).map(RateLimiter::keyed),
            trust_forwarded_for: section.trust_forwarded_for,
        }
    }

    /// True when at least one limit is in force.
    pub fn enabled(&self) -> bool {
        self.per_key.is_some() || self.per_address.is_some()
    }

    /// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For`
    /// entry (the one the proxy itself appended; earlier entries are the client's to invent).
    pub fn client_address(&self, parts: &Parts) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get_all(FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return forwarded;
            }
        }
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }

    /// `Err(wait)` when `address` has used up its allowance.
    pub fn check_address(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        match (&self.per_address, address) {
            (Some(limiter), Some(ip)) => verdict(limiter.check_key(&ip)),
            _ => Ok(()),
        }
    }

    /// `Err(wait)` when the key named `name` has used up its allowance.
    pub fn check_key(&self, name: &Arc<str>) -> Result<(), Duration> {
        match &self.per_key {
            Some(limiter) => verdict(limiter.check_key(name)),
            None => Ok(()),
        }
    }

    /// Forgets buckets that are full again, so memory follows the number of recent clients.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_key {
            l.retain_recent();
        }
        if let Some(l) = &self.per_address {
            l.retain_recent();
        }
    }
}

fn verdict(
    result: Result<(), governor::NotUntil<<DefaultClock as Clock>::Instant>>,
) -> Result<(), Duration> {
    result.map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_key: Option<Rate>, per_address: Option<Rate>, trust: bool) -> RateLimits {
        RateLimits::new(&RateLimitSection {
            per_key,
            per_address,
            trust_forwarded_for: trust,
        })
    }

    fn rate(rps: f64, burst: u32) -> Option<Rate> {
        Some(Rate {
            requests_per_second: rps,
            burst: Some(burst),
        })
    }

    #[test]
    fn burst_then_refusal_with_a_wait() {
        let l = limits(rate(1.0, 3), None, false);
        let k: Arc<str> = "ci".into();
        for _ in 0..3 {
            assert!(l.check_key(&k).is_ok());
        }
        let wait = l.check_key(&k).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert!(l.check_key(&"other".into()).is_ok());
    }

    #[test]
    fn zero_rate_means_no_limit() {
        let l = limits(rate(0.0, 1), None, false);
        assert!(!l.enabled());
        for _ in 0..100 {
            assert!(l.check_key(&"k".into()).is_ok());
        }
    }

    #[test]
    fn addresses_are_limited_apart_and_unknown_addresses_pass() {
        let l = limits(None, rate(0.5, 1), false);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.check_address(Some(a)).is_ok());
        assert!(l.check_address(Some(a)).is_err());
        assert!(l.check_address(Some(b)).is_ok());
        assert!(l.check_address(None).is_ok());
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_its_last_entry_counts() {
        let req = axum::http::Request::builder()
            .header("x-forwarded-for", "1.1.1.1, 2.2.2.2")
            .extension(axum::extract::ConnectInfo(SocketAddr::from((
                [127, 0, 0, 1],
                9,
            ))))
            .body(())
            .unwrap();
        let (parts, _) = req.into_parts();
        let trusted = limits(None, None, true);
        assert_eq!(
            trusted.client_address(&parts),
            Some("2.2.2.2".parse().unwrap())
        );
        let untrusted = limits(None, None, false);
        assert_eq!(
            untrusted.client_address(&parts),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
