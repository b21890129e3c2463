//! The dashboard: server-rendered HTML pages over the store, at the seed dashboard's paths.
//!
//! Every page is one request: the handler asks the store for already-aggregated rows (all
//! aggregation happens in SQL), renders an askama template, and draws charts as inline SVG
//! (`svg.rs`), so pages work without JavaScript. htmx (vendored, `static/vendor`) adds live
//! updates through the API's Server-Sent Events and partial page swaps for filters and paging.
//! Untrusted text (agent output, diffs, transcripts, logs, metadata) is escaped by askama's HTML
//! escaping everywhere; there are no inline scripts, so a strict Content-Security-Policy holds.

mod assets;
pub use assets::page_asset_bytes;
pub mod fmt;
mod page;
mod pages;
pub mod query;
pub mod svg;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use zebench_store::Store;

/// What every page handler gets.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<Store>,
}

/// The Content-Security-Policy of every page: no inline scripts or styles, nothing from
/// elsewhere, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The dashboard's routes (merged into the API server's router).
pub fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/runs", get(pages::runs::page))
        .route("/runs/{run_id}", get(pages::run::page))
        .route("/batches", get(pages::batches::page))
        .route("/batches/compare", get(pages::compare::page))
        .route("/batches/{batch_id}", get(pages::batch::page))
        .route("/agents", get(pages::agents::page))
        .route("/suites", get(pages::suites::page))
        .route("/evaluators", get(pages::evaluators::page))
        .route("/costs", get(pages::costs::page))
        .route("/static/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(WebState { store })
}

async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Pages whose unfiltered aggregates group every run: computed once in the background at start
/// so that on a big database the first visitor does not wait for them (see the store's cache).
pub const WARM_PAGES: [&str; 5] = ["/", "/agents", "/suites", "/costs", "/evaluators"];

/// Renders [`WARM_PAGES`] once, in the background, to fill the store's aggregate cache.
pub fn warm_up(store: Arc<Store>) {
    use tower::ServiceExt;
    tokio::spawn(async move {
        let app = router(store);
        for path in WARM_PAGES {
            let req = axum::http::Request::get(path)
                .body(axum::body::Body::empty())
                .expect("a static request is valid");
            let _ = app.clone().oneshot(req).await;
        }
    });
}
