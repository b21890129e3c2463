//! The zebench HTTP service: the seed's results API (wire-compatible), plus OpenAPI, bulk
//! submission, breakdowns, exports, artifacts and live events.
//!
//! [`app`] builds the whole router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot` and [`serve`] runs it on any listener with graceful shutdown.

mod cache;
pub mod config;
pub mod config_file;
mod cors;
pub mod error;
pub mod export_format;
mod extract;
pub mod openapi;
mod routes;

pub use config::{ApiKey, ServerConfig, DEV_KEY};
pub use error::ApiError;

use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use zebench_store::Store;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub config: Arc<ServerConfig>,
    /// Cancelled at shutdown: event streams end so connections can drain.
    pub shutdown: CancellationToken,
    pub(crate) batch_cache: Arc<cache::BatchCache>,
}

impl AppState {
    pub fn new(store: Arc<Store>, config: ServerConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            batch_cache: Arc::new(cache::BatchCache::new(16 * 1024 * 1024)),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The complete application: API routes, error fallbacks, CORS, request ids, tracing.
pub fn app(state: AppState) -> Router {
    let timed = routes::timed(state.clone()).layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        state.config.request_timeout,
    ));
    let cors = state.config.clone();
    Router::new()
        .merge(timed)
        .merge(routes::streaming(state.clone()))
        .merge(zebench_web::router(state.store.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("handler panicked".into()).into_response()
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            cors::apply(cors.clone(), req, next)
        }))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                tracing::info_span!("request", method = %req.method(), route, request_id = id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not found")
}

async fn method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({"error": "Method not allowed"})),
    )
}

/// Serves `state` on `listener` until `state.shutdown` is cancelled; then stops accepting,
/// ends event streams, lets in-flight requests finish, and closes the store.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let store = state.store.clone();
    let router = app(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await })
    .await?;
    store.close().await;
    Ok(())
}
