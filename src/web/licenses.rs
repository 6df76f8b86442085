//! `GET /licenses`: the notices of what the binary carries — kefu's own licence
//! and those of the third-party files `build.rs` embedded (htmx, its SSE
//! extension, and the Noto Sans SC font under the SIL Open Font License that
//! PDF transcripts embed). Plain text, open to anyone, like the files it names.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const HTMX: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor/htmx-LICENSE.txt"));
const SSE: &str = include_str!(concat!(env!("OUT_DIR"), "/vendor/sse-LICENSE.txt"));

/// All notices, one after another.
pub fn notices() -> String {
    let sections = [
        (
            "kefu",
            "MIT License (see the LICENSE file of the source).\n",
        ),
        (
            "htmx 2.0.8 (htmx.org), served as /assets/…/htmx.min.js",
            HTMX,
        ),
        ("htmx-ext-sse 2.2.4, served as /assets/…/sse.min.js", SSE),
        (
            "Noto Sans SC Regular (@expo-google-fonts/noto-sans-sc 0.4.3), a subset embedded in PDF transcripts",
            crate::export::font::LICENSE,
        ),
    ];
    let mut out = String::from("kefu — third-party notices\n\n");
    for (name, text) in sections {
        out.push_str(&format!("==== {name} ====\n\n{}\n\n", text.trim_end()));
    }
    out
}

pub async fn show() -> Response {
    let mut r = notices().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
