//! Static files compiled into the binary, served with a content-hash ETag so browsers revalidate
//! cheaply and never fetch a stale copy after an upgrade.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

struct Asset {
    path: &'static str,
    body: &'static [u8],
    content_type: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "app.css",
        body: include_bytes!("../static/app.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        path: "app.js",
        body: include_bytes!("../static/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        path: "vendor/htmx.min.js",
        body: include_bytes!("../static/vendor/htmx.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        path: "favicon.svg",
        body: include_bytes!("../static/favicon.svg"),
        content_type: "image/svg+xml",
    },
];

fn etags() -> &'static Vec<String> {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let d = Sha256::digest(a.body);
                format!(
                    "\"{}\"",
                    d[..8]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                )
            })
            .collect()
    })
}

pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let tag = &etags()[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, ASSETS[i].content_type)],
            ASSETS[i].body,
        )
            .into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    res
}

/// Total bytes of the files every page loads (for the page-weight benchmark).
pub fn page_asset_bytes() -> usize {
    ASSETS
        .iter()
        .filter(|a| a.path != "favicon.svg")
        .map(|a| a.body.len())
        .sum()
}

/// Browsers ask for `/favicon.ico` whatever the page links; answer with the SVG icon.
pub async fn favicon(headers: HeaderMap) -> Response {
    serve(Path("favicon.svg".to_string()), headers).await
}
