//! `GET /api/breakdowns/{dimension}`: runs grouped by agent, model, suite, …, or day, with
//! counts, success rates, score averages and cost and token sums, so no page needs N requests.

use super::run_filter;
use super::ApiPath;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use zebench_core::{BreakdownRow, Dimension};

#[utoipa::path(get, path = "/api/breakdowns/{dimension}", tag = "stats",
    params(
        ("dimension" = inline(Dimension), Path),
        ("suite" = Option<String>, Query), ("scenario" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("agent" = Option<String>, Query),
        ("model" = Option<String>, Query), ("status" = Option<String>, Query),
        ("batchId" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
    ),
    responses((status = 200, body = Vec<BreakdownRow>, description = "One row per group, sorted by key"),
        (status = 400, body = crate::openapi::ErrorBody),
        (status = 404, body = crate::openapi::ErrorBody, description = "The dimension is not UTF-8 once percent-decoded")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath(dimension): ApiPath<String>,
    q: QueryPairs,
) -> ApiResult<Json<Vec<BreakdownRow>>> {
    let dim: Dimension = dimension
        .parse()
        .map_err(|e: String| ApiError::BadRequest {
            summary: "Unknown dimension".into(),
            details: Some(serde_json::json!(e)),
        })?;
    let filter = run_filter(&q)?;
    Ok(Json(state.store.breakdown(dim, &filter).await?))
}
