//! `GET /api/compare?a=BATCH&b=BATCH`: the paired comparison of batch B against batch A over the
//! (scenario, tier) cells both have — mean difference, bootstrap interval, permutation p-value,
//! sign counts, minimum detectable effect and a verdict (see docs/statistics.md).

use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use zebench_core::stats::{compare_runs, PairedOptions, RunsComparison};

#[utoipa::path(get, path = "/api/compare", tag = "batches",
    params(
        ("a" = String, Query, min_length = 1, description = "the baseline batch id"),
        ("b" = String, Query, min_length = 1, description = "the batch compared against it"),
        ("threshold" = Option<f64>, Query, minimum = 0, description = "points (0–10) a difference must exceed to count as an improvement or regression; default 0"),
    ),
    responses((status = 200, body = Object, description = "nCells, meanDiff (B − A), ci {lo, hi, level}, pValue, sign, mde, verdict (improvement | regression | no_detectable_difference | insufficient_data), cells, summary"),
        (status = 400, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    q: QueryPairs,
) -> ApiResult<Json<RunsComparison>> {
    let a = q
        .get("a")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param("a", "the baseline batch id is required"))?;
    let b = q
        .get("b")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param("b", "the batch to compare is required"))?;
    let mut opts = PairedOptions::default();
    if let Some(t) = q.get("threshold") {
        opts.threshold = t
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| ApiError::param("threshold", "expected a non-negative number"))?;
    }
    let ra = state
        .store
        .get_batch(a)
        .await?
        .ok_or(ApiError::NotFound("Batch a not found"))?;
    let rb = state
        .store
        .get_batch(b)
        .await?
        .ok_or(ApiError::NotFound("Batch b not found"))?;
    Ok(Json(compare_runs(&ra.runs, &rb.runs, &opts)))
}
