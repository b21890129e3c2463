//! Submissions: one run, many runs, a batch. Each is one transaction; retries are safe.

use crate::error::ApiResult;
use crate::extract::{Body, BulkBody, WriteAuth};
use crate::metrics::{self, IngestPath};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use zebench_core::{parse_batch_upsert, parse_run_result, parse_run_results_with};
use zebench_store::Outcome;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunCreated {
    success: bool,
    run_id: String,
    /// Present (true) when the same run was already stored with identical content.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate: Option<bool>,
}

#[utoipa::path(post, path = "/api/results", tag = "results",
    request_body = zebench_core::RunResult,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RunCreated, description = "Stored"),
        (status = 200, body = RunCreated, description = "Already stored with identical content; nothing changed"),
        (status = 400, body = crate::openapi::ErrorBody, description = "Invalid JSON, missing fields (listed in details), or a wrongly typed field (named in details)"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 429, body = crate::openapi::ErrorBody, description = "A rate limit was reached (per key or per client address); retry after the `Retry-After` seconds"),
        (status = 409, body = crate::openapi::ErrorBody, description = "The runId is stored with different content"),
        (status = 413, body = crate::openapi::ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    auth: WriteAuth,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<RunCreated>)> {
    let run = parse_run_result(&body)?;
    let run_id = run.run_id.clone();
    let outcome = state
        .store
        .submit_runs_as(vec![run], Some(&auth.key_name))
        .await?[0];
    let (status, duplicate) = match outcome {
        Outcome::Created => (StatusCode::CREATED, None),
        Outcome::Duplicate => (StatusCode::OK, Some(true)),
    };
    let created = usize::from(outcome == Outcome::Created);
    metrics::runs_ingested(IngestPath::Single, created, 1 - created);
    Ok((
        status,
        Json(RunCreated {
            success: true,
            run_id,
            duplicate,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkCreated {
    success: bool,
    /// Runs stored by this request.
    created: usize,
    /// Runs that were already stored with identical content.
    duplicates: usize,
    /// Every run id of the request, in order.
    run_ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/results/bulk", tag = "results",
    request_body(content = Vec<zebench_core::RunResult>, description = "A JSON array of runs, or an object {\"runs\": [...]}"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = BulkCreated, description = "All new runs stored in one transaction"),
        (status = 200, body = BulkCreated, description = "Every run was already stored"),
        (status = 400, body = crate::openapi::ErrorBody, description = "Names the item: runs[5].evaluations[0].score"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 429, body = crate::openapi::ErrorBody, description = "A rate limit was reached (per key or per client address); retry after the `Retry-After` seconds"),
        (status = 409, body = crate::openapi::ErrorBody, description = "Some runIds are stored with different content (listed); nothing was stored"),
        (status = 413, body = crate::openapi::ErrorBody),
    ))]
pub(crate) async fn create_bulk(
    State(state): State<AppState>,
    auth: WriteAuth,
    BulkBody(body): BulkBody,
) -> ApiResult<(StatusCode, Json<BulkCreated>)> {
    // Parsing a large bulk body is CPU work: keep it off the async workers and use both cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runs = tokio::task::spawn_blocking(move || parse_run_results_with(&body, threads))
        .await
        .map_err(|e| crate::error::ApiError::Internal(e.to_string()))??;
    let run_ids: Vec<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    let empty = runs.is_empty();
    let outcomes = state
        .store
        .submit_runs_as(runs, Some(&auth.key_name))
        .await?;
    let created = outcomes.iter().filter(|o| **o == Outcome::Created).count();
    metrics::runs_ingested(IngestPath::Bulk, created, outcomes.len() - created);
    let status = if created > 0 || empty {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BulkCreated {
            success: true,
            created,
            duplicates: outcomes.len() - created,
            run_ids,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchCreated {
    success: bool,
    batch_id: String,
}

#[utoipa::path(post, path = "/api/results/batch", tag = "results",
    request_body = zebench_core::BatchUpsert,
    security(("bearer" = [])),
    responses(
        (status = 201, body = BatchCreated, description = "Created or updated; createdAt keeps its first value and fields not sent are unchanged"),
        (status = 400, body = crate::openapi::ErrorBody, description = "{\"error\":\"batchId required\"} when missing"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 429, body = crate::openapi::ErrorBody, description = "A rate limit was reached (per key or per client address); retry after the `Retry-After` seconds"),
    ))]
pub(crate) async fn upsert_batch(
    State(state): State<AppState>,
    _auth: WriteAuth,
    Body(body): Body,
) -> ApiResult<(StatusCode, Json<BatchCreated>)> {
    let batch = parse_batch_upsert(&body)?;
    state.store.upsert_batch(&batch).await?;
    Ok((
        StatusCode::CREATED,
        Json(BatchCreated {
            success: true,
            batch_id: batch.batch_id,
        }),
    ))
}
