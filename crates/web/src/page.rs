//! What every page handler shares: rendering a template into a response, the error page, and
//! the navigation entries.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Navigation entries: (path, label). `active` in templates compares against the path.
pub const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/runs", "Runs"),
    ("/batches", "Batches"),
    ("/batches/compare", "Compare"),
    ("/agents", "Agents"),
    ("/suites", "Suites"),
    ("/evaluators", "Evaluators"),
    ("/costs", "Costs"),
];

/// Renders a template, or the error page if rendering fails.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot render the page: {e}"),
        ),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    active: &'a str,
    title: String,
    message: &'a str,
}

/// A full error page with a status code (the message is escaped).
pub fn error(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        active: "",
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        message,
    };
    let html = page
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Error".into());
    (status, Html(html)).into_response()
}

/// The store failed: a 500 page that says so without leaking internals.
pub fn store_error(e: zebench_store::StoreError) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("the database could not answer: {e}"),
    )
}

/// 404 for a missing run, batch, …
pub fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, what)
}
