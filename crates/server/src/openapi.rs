//! The OpenAPI 3.1 description, generated from the handlers' annotations and the core types,
//! served at `/api/openapi.json`. A test compares it with `docs/openapi.json` so any change to
//! the contract shows up in review.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Every error response: `{"error": "...", "details": ...}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A short summary: `Missing required fields`, `Run not found`, `Invalid API key`, …
    pub error: String,
    /// What exactly was wrong: `path: problem` as a string, or a list (the missing field
    /// names, the conflicting run ids). Absent when the summary says it all.
    #[schema(value_type = Option<ErrorDetails>)]
    pub details: Option<serde_json::Value>,
}

// Spelled out (rather than "any JSON") so a client, and the schemathesis proof in `.ci/fuzz`,
// can check an error body against the spec.
/// What `details` holds: one message, or a list of names.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ErrorDetails {
    /// One message, e.g. `evaluations[3].score: invalid type: string "x", expected a number`.
    Message(String),
    /// Several names, e.g. the missing required fields or the conflicting run ids.
    List(Vec<String>),
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zebench results API",
        description = "Results of AI coding-agent benchmark runs. Wire-compatible with the ze-benchmarks Worker API; fields marked (new) are additions.",
        license(name = "MIT"),
    ),
    paths(
        crate::routes::health::get,
        crate::routes::runs::list,
        crate::routes::runs::get,
        crate::routes::runs::evaluations,
        crate::routes::runs::telemetry,
        crate::routes::artifacts::list,
        crate::routes::artifacts::get,
        crate::routes::batches::list,
        crate::routes::batches::get,
        crate::routes::stats::totals,
        crate::routes::stats::agents,
        crate::routes::breakdowns::get,
        crate::routes::compare::get,
        crate::routes::export::get,
        crate::routes::events::stream,
        crate::routes::results::create,
        crate::routes::results::create_bulk,
        crate::routes::results::upsert_batch,
        get,
    ),
    components(schemas(ErrorBody, ErrorDetails, crate::routes::RunCreated, crate::routes::BulkCreated,
        crate::routes::BatchCreated, crate::routes::ArtifactEntry)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The spec as JSON text (used by the snapshot test and `zebench openapi`).
pub fn spec_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
pub(crate) async fn get() -> Json<serde_json::Value> {
    Json(serde_json::to_value(ApiDoc::openapi()).unwrap_or_default())
}
