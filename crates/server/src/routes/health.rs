//! `GET /health`: liveness plus a database check, for load balancers and `zebench` clients.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use zebench_core::Timestamp;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok`, or `error` when the database does not answer (status 503).
    status: &'static str,
    timestamp: Timestamp,
    version: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub(crate) async fn get(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ok = state.store.ping().await.is_ok();
    let health = Health {
        status: if ok { "ok" } else { "error" },
        timestamp: Timestamp::now(),
        version: env!("CARGO_PKG_VERSION"),
        database: state.store.kind().as_str(),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(health))
}
