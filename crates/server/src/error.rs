//! The one error type of the HTTP layer. Every failure leaves as
//! `{"error": "<short summary>", "details": …}` with the status API.md assigns; internal
//! causes go to the log (with the request id), never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use zebench_core::ValidationError;
use zebench_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("bad request: {summary}")]
    BadRequest {
        summary: String,
        details: Option<Value>,
    },
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid API key")]
    Forbidden,
    /// A known key that may not do this (revoked, or read-only on a write route).
    #[error("API key refused: {0}")]
    KeyRefused(String),
    /// The server has a read key and the request carried no valid key.
    #[error("a key is required to read")]
    ReadKeyRequired,
    #[error("too many requests")]
    TooManyRequests(std::time::Duration),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("run already exists")]
    Conflict(Vec<String>),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 400 for a bad query parameter, naming it.
    pub fn param(name: &str, message: impl std::fmt::Display) -> Self {
        ApiError::BadRequest {
            summary: format!("Invalid query parameter: {name}"),
            details: Some(json!(format!("{name}: {message}"))),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(ids) => ApiError::Conflict(ids),
            other if other.is_unavailable() => ApiError::Unavailable(other.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::TooManyRequests(wait) = &self {
            // Whole seconds, rounded up: a client that waits this long will get through.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                Json(json!({
                    "error": "Too many requests",
                    "details": format!("rate limit reached; retry in {secs} s"),
                })),
            )
                .into_response();
        }
        if let ApiError::ReadKeyRequired = &self {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    axum::http::header::WWW_AUTHENTICATE,
                    r#"Basic realm="zebench", charset="UTF-8""#,
                )],
                Json(json!({
                    "error": "Unauthorized",
                    "details": "this server is private: send a read or write key as `Authorization: Bearer KEY` (browsers: the key as password)",
                })),
            )
                .into_response();
        }
        let (status, body) = match &self {
            ApiError::Invalid(v) => {
                let mut body = json!({"error": v.summary()});
                if let Some(d) = v.details() {
                    body["details"] = d;
                }
                (StatusCode::BAD_REQUEST, body)
            }
            ApiError::BadRequest { summary, details } => {
                let mut body = json!({"error": summary});
                if let Some(d) = details {
                    body["details"] = d.clone();
                }
                (StatusCode::BAD_REQUEST, body)
            }
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, json!({"error": "Invalid API key"})),
            ApiError::KeyRefused(why) => (
                StatusCode::FORBIDDEN,
                json!({"error": "Invalid API key", "details": why}),
            ),
            ApiError::TooManyRequests(_) | ApiError::ReadKeyRequired => {
                unreachable!("answered above")
            }
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!({"error": what})),
            ApiError::Conflict(ids) => (
                StatusCode::CONFLICT,
                json!({"error": "Run already exists", "details": ids}),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "Payload too large"}),
            ),
            ApiError::Unavailable(cause) => {
                tracing::error!(%cause, "database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": "Service unavailable"}),
                )
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "Internal server error"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
