//! Static files inside the binary, served at content-hashed URLs
//! (`/assets/{hash}/{name}`) with `Cache-Control: immutable`. Templates ask
//! [`AssetUrls`] for the current URL, so a new build never serves stale CSS.
//! Our own files come from `assets/`; htmx and its SSE extension from the
//! folder `build.rs` fills with the pinned npm packages.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::{Embed, EmbeddedFile};
use std::sync::LazyLock;

#[derive(Embed)]
#[folder = "assets/"]
#[exclude = "vendor.lock"]
struct Own;

#[derive(Embed)]
#[folder = "$OUT_DIR/vendor/"]
#[include = "*.js"]
struct Vendor;

fn find(name: &str) -> Option<EmbeddedFile> {
    Own::get(name).or_else(|| Vendor::get(name))
}

fn short_hash(file: &EmbeddedFile) -> String {
    file.metadata.sha256_hash()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hashed URL of an embedded file.
pub fn url(name: &str) -> String {
    match find(name) {
        Some(f) => format!("/assets/{}/{name}", short_hash(&f)),
        None => format!("/assets/missing/{name}"),
    }
}

/// The URLs the base template needs, computed once.
pub struct AssetUrls {
    pub css: String,
    pub js: String,
    pub htmx: String,
    pub sse: String,
    pub icon: String,
}

pub static URLS: LazyLock<AssetUrls> = LazyLock::new(|| AssetUrls {
    css: url("app.css"),
    js: url("app.js"),
    htmx: url("htmx.min.js"),
    sse: url("sse.min.js"),
    icon: url("icon.svg"),
});

/// `GET /assets/{hash}/{*name}`: the file if the hash is current; a stale hash
/// still gets the file, but without the immutable cache header.
pub async fn serve(Path((hash, name)): Path<(String, String)>) -> Response {
    let Some(file) = find(&name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = file.metadata.mimetype();
    let cache = if hash == short_hash(&file) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let content_type = if mime.starts_with("text/") || mime.contains("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    let mut resp = file.data.into_owned().into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_the_pages_use_is_embedded() {
        for u in [&URLS.css, &URLS.js, &URLS.htmx, &URLS.sse, &URLS.icon] {
            assert!(!u.contains("/missing/"), "{u}");
        }
        let htmx = find("htmx.min.js").unwrap();
        assert!(std::str::from_utf8(&htmx.data).unwrap().contains("htmx"));
    }
}
