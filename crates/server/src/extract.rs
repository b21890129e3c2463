//! Extractors whose rejections use the API's error shape.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

/// Passes only requests that carry one of the server's write keys.
pub(crate) struct WriteAuth;

impl FromRequestParts<AppState> for WriteAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        // Check every key so the time taken does not reveal which one nearly matched.
        let ok = state
            .config
            .api_keys
            .iter()
            .fold(false, |acc, k| k.matches(token) | acc);
        if ok {
            Ok(WriteAuth)
        } else {
            Err(ApiError::Forbidden)
        }
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
