//! The optional read key: when the keys in force include one, every route except `/health`
//! needs a key (read or write), so the dashboard and read API become private.
//!
//! Browsers cannot add a bearer header to page loads, so HTTP Basic credentials are accepted
//! too (any user name, the key as password) and a refusal carries `WWW-Authenticate: Basic`,
//! which makes the browser ask once and then send the key with every page, asset and event
//! stream request of the site.

use crate::error::ApiError;
use crate::keys::{KeyCheck, Keys};
use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// A key presented by the client, and how.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    Bearer(String),
    Basic(String),
}

/// The key in `Authorization`, as `Bearer KEY` or Basic with the key as password (or, with
/// an empty password, as user name).
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<Presented> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| Presented::Bearer(rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':').unwrap_or((text.as_str(), ""));
        let key = if password.is_empty() { user } else { password };
        return (!key.is_empty()).then(|| Presented::Basic(key.to_string()));
    }
    None
}

pub(crate) async fn check(keys: Arc<Keys>, req: Request, next: Next) -> Response {
    let ring = keys.ring();
    if !ring.read_protected() || req.uri().path() == "/health" {
        return next.run(req).await;
    }
    match presented_key(req.headers()) {
        Some(Presented::Bearer(k)) | Some(Presented::Basic(k))
            if matches!(ring.check(&k), KeyCheck::Valid { .. }) =>
        {
            next.run(req).await
        }
        // A wrong bearer key is a 403 as on write routes; a wrong browser password is asked
        // for again.
        Some(Presented::Bearer(_)) => ApiError::Forbidden.into_response(),
        _ => ApiError::ReadKeyRequired.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_keys_are_read() {
        assert_eq!(
            presented_key(&with("Bearer abc")),
            Some(Presented::Bearer("abc".into()))
        );
        // "anyone:s3cret" and "s3cret:" in base64.
        assert_eq!(
            presented_key(&with("Basic YW55b25lOnMzY3JldA==")),
            Some(Presented::Basic("s3cret".into()))
        );
        assert_eq!(
            presented_key(&with("Basic czNjcmV0Og==")),
            Some(Presented::Basic("s3cret".into()))
        );
        assert_eq!(presented_key(&with("Bearer ")), None);
        assert_eq!(presented_key(&with("Basic !!!")), None);
        assert_eq!(presented_key(&with("Digest x")), None);
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
