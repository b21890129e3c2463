//! Routes, one module per API area. Handlers are verbs (`list`, `get`, `create`).

pub(crate) mod artifacts;
pub(crate) mod batches;
pub(crate) mod breakdowns;
pub(crate) mod compare;
pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod health;
pub(crate) mod results;
pub(crate) mod runs;
pub(crate) mod stats;

pub(crate) use artifacts::ArtifactEntry;
pub(crate) use results::{BatchCreated, BulkCreated, RunCreated};

use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::AppState;
use axum::routing::{get, post};
use axum::Router;
use zebench_core::{RunStatus, Timestamp};
use zebench_store::RunFilter;

/// Ordinary request/response routes, which run under the request timeout.
pub(crate) fn timed(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::get))
        .route("/api/openapi.json", get(crate::openapi::get))
        .route("/api/runs", get(runs::list))
        .route("/api/runs/{run_id}", get(runs::get))
        .route("/api/runs/{run_id}/evaluations", get(runs::evaluations))
        .route("/api/runs/{run_id}/telemetry", get(runs::telemetry))
        .route("/api/runs/{run_id}/artifacts", get(artifacts::list))
        .route("/api/runs/{run_id}/artifacts/{name}", get(artifacts::get))
        .route("/api/batches", get(batches::list))
        .route("/api/batches/{batch_id}", get(batches::get))
        .route("/api/stats", get(stats::totals))
        .route("/api/stats/agents", get(stats::agents))
        .route("/api/breakdowns/{dimension}", get(breakdowns::get))
        .route("/api/compare", get(compare::get))
        .route("/api/results", post(results::create))
        .route("/api/results/bulk", post(results::create_bulk))
        .route("/api/results/batch", post(results::upsert_batch))
        .with_state(state)
}

/// Long-lived responses (event streams, exports) that must not be cut by the timeout.
pub(crate) fn streaming(state: AppState) -> Router {
    Router::new()
        .route("/api/events", get(events::stream))
        .route("/api/export", get(export::get))
        .with_state(state)
}

/// axum's `Path`, with its rejection in the API's error shape. A segment that is not UTF-8 once
/// percent-decoded (`/api/runs/%FF`) names no run, batch or artifact, so it is the documented
/// 404 rather than axum's plain-text 400.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for ApiPath<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::NotFound("Not found"))
            }
            // A route whose handler names parameters it does not have: a bug, not a request.
            Err(other) => Err(ApiError::Internal(other.body_text())),
        }
    }
}

/// The run filters shared by listing, breakdowns and exports.
pub(crate) fn run_filter(q: &QueryPairs) -> Result<RunFilter, ApiError> {
    let text = |name: &str| q.get(name).filter(|v| !v.is_empty()).map(str::to_string);
    let status = text("status");
    if let Some(s) = &status {
        s.parse::<RunStatus>()
            .map_err(|e| ApiError::param("status", e))?;
    }
    Ok(RunFilter {
        suite: text("suite"),
        scenario: text("scenario"),
        tier: text("tier"),
        agent: text("agent"),
        model: text("model"),
        status,
        batch_id: text("batchId"),
        since: time_param(q, "since")?,
        until: time_param(q, "until")?,
    })
}

fn time_param(q: &QueryPairs, name: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = q.get(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    raw.parse::<i64>()
        .ok()
        .and_then(Timestamp::from_millis)
        .or_else(|| Timestamp::parse_iso(raw))
        .map(|t| Some(t.millis()))
        .ok_or_else(|| {
            ApiError::param(name, "expected an ISO-8601 timestamp or epoch milliseconds")
        })
}
