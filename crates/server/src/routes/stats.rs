//! The seed's summary endpoints, answered from maintained rollups in constant time.

use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use zebench_core::{AgentStats, Stats};

#[utoipa::path(get, path = "/api/stats", tag = "stats",
    responses((status = 200, body = Stats, description = "Totals over completed runs; averages are null when there are none")))]
pub(crate) async fn totals(State(state): State<AppState>) -> ApiResult<Json<Stats>> {
    Ok(Json(state.store.stats().await?))
}

#[utoipa::path(get, path = "/api/stats/agents", tag = "stats",
    responses((status = 200, body = Vec<AgentStats>, description = "Weighted score per agent over completed runs, best first")))]
pub(crate) async fn agents(State(state): State<AppState>) -> ApiResult<Json<Vec<AgentStats>>> {
    Ok(Json(state.store.agent_stats().await?))
}
