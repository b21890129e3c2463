//! CORS exactly as API.md states it: the headers on every response, and `OPTIONS` on any path
//! answered `204` directly (the seed's clients send preflights to paths that may not exist).

use crate::config::ServerConfig;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(crate) async fn apply(config: Arc<ServerConfig>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut response = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    add_headers(
        response.headers_mut(),
        &config.cors_origins,
        origin.as_ref(),
    );
    response
}

fn add_headers(headers: &mut HeaderMap, allowed: &[String], origin: Option<&HeaderValue>) {
    let allow_origin = if allowed.iter().any(|o| o == "*") {
        Some(HeaderValue::from_static("*"))
    } else {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        origin
            .filter(|o| allowed.iter().any(|a| o.as_bytes() == a.as_bytes()))
            .cloned()
    };
    if let Some(v) = allow_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
}
