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
pub mod keys;
pub mod metrics;
pub mod openapi;
mod rate_limit;
mod read_gate;
mod routes;
mod security_headers;
pub mod webhooks;

pub use config::{ServerConfig, DEV_KEY};
pub use error::ApiError;
pub use keys::{ApiKey, KeysError, Scope};

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
    /// The keys in force (reloaded from the keys file while serving).
    pub keys: Arc<keys::Keys>,
    pub(crate) rate_limits: Arc<rate_limit::RateLimits>,
}

impl AppState {
    /// Fails only when the configured keys file cannot be read or is invalid.
    pub fn new(store: Arc<Store>, config: ServerConfig) -> Result<Self, KeysError> {
        let keys = keys::Keys::new(config.api_keys.clone(), config.file.auth.keys_file.clone())?;
        Ok(AppState {
            store,
            rate_limits: Arc::new(rate_limit::RateLimits::new(&config.file.rate_limit)),
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            batch_cache: Arc::new(cache::BatchCache::new(16 * 1024 * 1024)),
            keys: Arc::new(keys),
        })
    }

    /// True when a per-key or per-address write limit is configured.
    pub fn rate_limited(&self) -> bool {
        self.rate_limits.enabled()
    }

    /// Re-reads the keys file when it changes and forgets idle rate-limit buckets, every
    /// `every`, until shutdown. A broken keys file keeps the previous keys and logs an error.
    pub fn spawn_housekeeping(&self, every: std::time::Duration) {
        let keys = self.keys.clone();
        let limits = self.rate_limits.clone();
        let token = self.shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match keys.reload_if_changed() {
                    Ok(true) => {
                        let ring = keys.ring();
                        tracing::info!(
                            write_keys = ring.write_key_count(),
                            read_protected = ring.read_protected(),
                            "keys file reloaded"
                        );
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!("{e}; the previous keys stay in force"),
                }
                limits.forget_idle();
            }
        });
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
    let metrics_on = state.config.file.metrics.enabled;
    if metrics_on && metrics::install().is_ok() {
        metrics::set_build_info(state.store.kind());
    }
    // `GET /metrics` is here only when it is not on a listener of its own (`[metrics] bind`).
    let metrics_route = if metrics_on && state.config.file.metrics.bind.is_none() {
        Router::new().route("/metrics", axum::routing::get(metrics::render))
    } else {
        Router::new()
    };
    let gate = state.keys.clone();
    Router::new()
        .merge(timed)
        .merge(routes::streaming(state.clone()))
        .merge(metrics_route)
        .merge(zebench_web::router(state.store.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("handler panicked".into()).into_response()
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            read_gate::check(gate.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            cors::apply(cors.clone(), req, next)
        }))
        .layer(axum::middleware::map_response(security_headers::add))
        // Outside the gates and CORS so refused and preflight requests are counted too.
        .layer(tower::util::option_layer(
            metrics_on.then(|| axum::middleware::from_fn(metrics::track)),
        ))
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
    serve_then(listener, state, async {}).await
}

/// [`serve`], running `before_close` once requests have drained and before the store closes
/// (`zebench serve` lets webhooks finish there: they read the store).
pub async fn serve_then(
    listener: tokio::net::TcpListener,
    state: AppState,
    before_close: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let store = state.store.clone();
    state.spawn_housekeeping(std::time::Duration::from_secs(2));
    let router = app(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await })
    .await?;
    before_close.await;
    store.close().await;
    Ok(())
}
