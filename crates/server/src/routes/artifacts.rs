//! Per-run artifacts (transcript, diff, command logs, prompt), fetched on demand.
//! Served as `text/plain` with `nosniff` and a sandbox CSP: agent output is untrusted and must
//! never be interpreted by a browser that opens the URL.

use super::ApiPath;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ArtifactEntry {
    name: String,
    /// Uncompressed size in bytes.
    size: i64,
}

#[utoipa::path(get, path = "/api/runs/{runId}/artifacts", tag = "runs",
    params(("runId" = String, Path)),
    responses((status = 200, body = Vec<ArtifactEntry>), (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ApiPath(run_id): ApiPath<String>,
) -> ApiResult<Json<Vec<ArtifactEntry>>> {
    let list = state
        .store
        .artifacts(&run_id)
        .await?
        .ok_or(ApiError::NotFound("Run not found"))?;
    Ok(Json(
        list.into_iter()
            .map(|a| ArtifactEntry {
                name: a.name,
                size: a.size,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/runs/{runId}/artifacts/{name}", tag = "runs",
    params(("runId" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The artifact's text; `application/json` when the name ends in `.json` and the text is JSON",
            content((String = "text/plain"), (serde_json::Value = "application/json"))),
        (status = 404, body = crate::openapi::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    ApiPath((run_id, name)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let artifact = state
        .store
        .artifact(&run_id, &name)
        .await?
        .ok_or(ApiError::NotFound("Run not found"))?
        .ok_or(ApiError::NotFound("Artifact not found"))?;
    // Labelled JSON only when it is JSON: artifacts are whatever the client sent, and a
    // `.json` name does not make the text parse.
    let is_json = name.ends_with(".json")
        && serde_json::from_slice::<serde::de::IgnoredAny>(&artifact.content).is_ok();
    let content_type = if is_json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = artifact.content.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    Ok(response)
}
