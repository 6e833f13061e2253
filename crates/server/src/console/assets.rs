//! The console's static files, compiled into the binary: no CDN, no web fonts, nothing fetched at run time.
//!
//! Pages link each file by a URL carrying a hash of its content (`console.3f2a….css`), served with
//! `Cache-Control: immutable` for a year; the plain name is served too, revalidated by its `ETag`.

use std::sync::OnceLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::context::Ctx;
use super::errors;
use crate::extract::PathParams;

/// The style sheet of every page.
pub(crate) const CSS: &str = "console.css";
/// The console's own script: charts and the item-row enhancement.
pub(crate) const JS: &str = "console.js";
/// Chart.js (MIT), see `assets/vendor/SOURCE.md`.
pub(crate) const CHART_JS: &str = "vendor/chart.umd.min.js";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset { name: CSS, content_type: "text/css; charset=utf-8", body: include_bytes!("../../assets/console.css") },
    Asset { name: JS, content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../assets/console.js") },
    Asset {
        name: CHART_JS,
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/vendor/chart.umd.min.js"),
    },
];

/// 64-bit FNV-1a: enough to tell versions of a file apart in a URL.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Each asset's content hash (16 hex digits), computed once.
fn hashes() -> &'static [String; 3] {
    static HASHES: OnceLock<[String; 3]> = OnceLock::new();
    HASHES.get_or_init(|| ASSETS.each_ref().map(|asset| format!("{:016x}", fnv1a(asset.body))))
}

/// `console.css` → `console.<hash>.css`.
fn hashed_name(name: &str, hash: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

/// The URL under which a page links an asset.
pub(crate) fn url(name: &str) -> String {
    let hash = ASSETS.iter().zip(hashes()).find(|(asset, _)| asset.name == name).map(|(_, hash)| hash.as_str());
    format!("/console/assets/{}", hashed_name(name, hash.unwrap_or("0")))
}

/// `GET /console/assets/{file}`: a hashed name is immutable; the plain name is revalidated with its ETag.
pub(crate) async fn serve(ctx: Ctx, PathParams(file): PathParams<String>, headers: HeaderMap) -> Response {
    for (asset, hash) in ASSETS.iter().zip(hashes()) {
        let etag = format!("\"{hash}\"");
        let cache = if file == hashed_name(asset.name, hash) {
            "public, max-age=31536000, immutable"
        } else if file == asset.name {
            "no-cache"
        } else {
            continue;
        };
        let mut response = if headers.get(IF_NONE_MATCH).is_some_and(|tag| tag.as_bytes() == etag.as_bytes()) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(CONTENT_TYPE, asset.content_type)], asset.body).into_response()
        };
        let response_headers = response.headers_mut();
        response_headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
        if let Ok(value) = HeaderValue::from_str(&etag) {
            response_headers.insert(ETAG, value);
        }
        return response;
    }
    errors::not_found(&ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let css = url(CSS);
        assert!(css.starts_with("/console/assets/console.") && css.ends_with(".css"), "{css}");
        assert_eq!(css.len(), "/console/assets/console..css".len() + 16);
        assert!(url(CHART_JS).starts_with("/console/assets/vendor/chart.umd.min."));
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
