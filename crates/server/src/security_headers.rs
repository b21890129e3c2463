//! Headers every response carries. Dashboard pages set their own stricter-for-HTML policy
//! (crates/web); everything else (JSON, CSV, event streams, errors) gets a policy that allows
//! nothing, so a response opened directly in a browser can neither run nor be framed.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// For non-HTML responses: no scripts, styles, frames or anything else.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn add(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    res
}
