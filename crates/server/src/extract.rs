//! Extractors whose rejections use the API's error shape.

use crate::error::ApiError;
use crate::keys::{KeyCheck, Scope};
use crate::read_gate::{presented_key, Presented};
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;

/// Passes only requests that carry a valid write key, within the rate limits; carries the
/// key's name so the run records who submitted it.
pub(crate) struct WriteAuth {
    pub key_name: Arc<str>,
}

impl FromRequestParts<AppState> for WriteAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The address first: a flood of guessed keys from one place is slowed down too.
        let address = state.rate_limits.client_address(parts);
        state
            .rate_limits
            .check_address(address)
            .map_err(ApiError::TooManyRequests)?;
        let token = match presented_key(&parts.headers) {
            Some(Presented::Bearer(t)) => t,
            _ => return Err(ApiError::Unauthorized),
        };
        let key_name = match state.keys.ring().check(&token) {
            KeyCheck::Valid {
                name,
                scope: Scope::Write,
            } => name,
            KeyCheck::Valid { name, .. } => {
                return Err(ApiError::KeyRefused(format!(
                    "the key {name:?} is read-only"
                )))
            }
            KeyCheck::Revoked { name } => {
                tracing::warn!(key = %name, "request with a revoked key refused");
                return Err(ApiError::KeyRefused(format!(
                    "the key {name:?} was revoked"
                )));
            }
            KeyCheck::Unknown => return Err(ApiError::Forbidden),
        };
        state
            .rate_limits
            .check_key(&key_name)
            .map_err(ApiError::TooManyRequests)?;
        Ok(WriteAuth { key_name })
    }
}

/// The raw body of a single-run or batch submission, at most `body_limit` bytes.
pub(crate) struct Body(pub Bytes);
/// The raw body of a bulk submission, at most `bulk_body_limit` bytes.
pub(crate) struct BulkBody(pub Bytes);

async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ApiError::PayloadTooLarge);
        }
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Err(e) => Err(ApiError::BadRequest {
            summary: "Could not read request body".into(),
            details: Some(serde_json::json!(e.to_string())),
        }),
    }
}

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        read_limited(req, state.config.body_limit).await.map(Body)
    }
}

impl FromRequest<AppState> for BulkBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        read_limited(req, state.config.bulk_body_limit)
            .await
            .map(BulkBody)
    }
}

/// Query pairs in order (repeated keys kept), parsed leniently: a malformed query is a 400.
pub(crate) struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(pairs)| QueryPairs(pairs))
            .map_err(|e| ApiError::BadRequest {
                summary: "Invalid query string".into(),
                details: Some(serde_json::json!(e.body_text())),
            })
    }
}

impl QueryPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `limit` within 1..=1000, `default` when absent; anything else is a 400.
    pub fn limit(&self, default: u32) -> Result<u32, ApiError> {
        match self.get("limit") {
            None => Ok(default),
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => Ok(n as u32),
                _ => Err(ApiError::param(
                    "limit",
                    format!("{raw:?} is not a whole number from 1 to 1000"),
                )),
            },
        }
    }
}
