//! Reading runs: the list with filters and keyset paging, one run, its evaluations, telemetry.

use super::run_filter;
use super::ApiPath;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::Json;
use zebench_core::{Evaluation, Run, RunDetail, Telemetry};
use zebench_store::Cursor;

/// The next page's cursor travels in a header so the body stays the seed's plain array.
pub(crate) const NEXT_CURSOR: &str = "x-next-cursor";

#[utoipa::path(get, path = "/api/runs", tag = "runs",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 50"),
        ("suite" = Option<String>, Query), ("scenario" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("agent" = Option<String>, Query),
        ("model" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "completed, failed, running or incomplete"),
        ("batchId" = Option<String>, Query),
        ("since" = Option<String>, Query, description = "runs started at or after (ISO-8601 or epoch ms)"),
        ("until" = Option<String>, Query, description = "runs started before (ISO-8601 or epoch ms)"),
        ("cursor" = Option<String>, Query, description = "the X-Next-Cursor header of the previous page"),
    ),
    responses(
        (status = 200, body = Vec<Run>, description = "Runs, newest first. When more match, the X-Next-Cursor header holds the cursor of the next page.",
            headers(("x-next-cursor" = String))),
        (status = 400, body = crate::openapi::ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    q: QueryPairs,
) -> ApiResult<(HeaderMap, Json<Vec<Run>>)> {
    let limit = q.limit(50)?;
    let filter = run_filter(&q)?;
    let cursor = q
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Cursor>()
                .map_err(|e| ApiError::param("cursor", e))
        })
        .transpose()?;
    let page = state.store.list_runs(&filter, limit, cursor).await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = page.next {
        if let Ok(v) = HeaderValue::from_str(&next.to_string()) {
            headers.insert(NEXT_CURSOR, v);
        }
    }
    Ok((headers, Json(page.items)))
}

async fn detail(state: &AppState, run_id: &str) -> ApiResult<RunDetail> {
    state
        .store
        .get_run(run_id)
        .await?
        .ok_or(ApiError::NotFound("Run not found"))
}

#[utoipa::path(get, path = "/api/runs/{runId}", tag = "runs",
    params(("runId" = String, Path)),
    responses((status = 200, body = RunDetail), (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<RunDetail>> {
    Ok(Json(detail(&state, &run_id).await?))
}

#[utoipa::path(get, path = "/api/runs/{runId}/evaluations", tag = "runs",
    params(("runId" = String, Path)),
    responses((status = 200, body = Vec<Evaluation>, description = "In creation order"),
        (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn evaluations(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<Vec<Evaluation>>> {
    Ok(Json(detail(&state, &run_id).await?.evaluations))
}

#[utoipa::path(get, path = "/api/runs/{runId}/telemetry", tag = "runs",
    params(("runId" = String, Path)),
    responses((status = 200, body = Option<Telemetry>, description = "The telemetry, or null when the run reported none"),
        (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn telemetry(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<Option<Telemetry>>> {
    Ok(Json(detail(&state, &run_id).await?.telemetry))
}
