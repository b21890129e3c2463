//! Reading batches, with aggregates the server computed from their runs.

use super::ApiPath;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use zebench_core::{Batch, BatchDetail};

#[utoipa::path(get, path = "/api/batches", tag = "batches",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 20")),
    responses((status = 200, body = Vec<Batch>, description = "Newest first"),
        (status = 400, body = crate::openapi::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    q: QueryPairs,
) -> ApiResult<Json<Vec<Batch>>> {
    let limit = q.limit(20)?;
    Ok(Json(state.store.list_batches(limit).await?))
}

#[utoipa::path(get, path = "/api/batches/{batchId}", tag = "batches",
    params(("batchId" = String, Path)),
    responses((status = 200, body = BatchDetail, description = "The batch and its runs, oldest first"),
        (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(batch_id): ApiPath<String>,
) -> ApiResult<Response> {
    let row = state
        .store
        .batch(&batch_id)
        .await?
        .ok_or(ApiError::NotFound("Batch not found"))?;
    if let Some(body) = state.batch_cache.get(&row) {
        return Ok(json_bytes(body));
    }
    let detail = state
        .store
        .get_batch(&batch_id)
        .await?
        .ok_or(ApiError::NotFound("Batch not found"))?;
    let body =
        Bytes::from(serde_json::to_vec(&detail).map_err(|e| ApiError::Internal(e.to_string()))?);
    state.batch_cache.put(detail.batch, body.clone());
    Ok(json_bytes(body))
}

fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
