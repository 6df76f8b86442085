//! What every full page shares: title, the navigation, the signed-in user, the
//! CSRF token, the flash message and the asset URLs. Handlers build a [`Page`]
//! from the request's [`Ctx`] and put it in their template struct.

use super::assets::{AssetUrls, URLS};
use super::session::{Ctx, Flash};
use crate::error::AppError;
use crate::model::{Role, Theme, User};
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

pub struct Page {
    pub title: String,
    /// Which navigation entry is highlighted: "console", "me", "users", "groups", "audit".
    pub nav: &'static str,
    pub csrf: String,
    pub me: Option<User>,
    pub flash: Option<Flash>,
    pub assets: &'static AssetUrls,
}

impl Page {
    pub fn new(ctx: &Ctx, title: impl Into<String>, nav: &'static str) -> Page {
        Page {
            title: title.into(),
            nav,
            csrf: ctx.csrf.clone(),
            me: ctx.session.as_ref().map(|s| s.user.clone()),
            flash: ctx.flash.clone(),
            assets: &URLS,
        }
    }

    /// The CSS class of a navigation entry.
    pub fn cls(&self, key: &str) -> &'static str {
        if self.nav == key { "active" } else { "" }
    }

    pub fn is_admin(&self) -> bool {
        self.me
            .as_ref()
            .is_some_and(|u| u.role.at_least(Role::Admin))
    }

    pub fn is_super(&self) -> bool {
        self.me.as_ref().is_some_and(|u| u.role == Role::SuperAdmin)
    }

    pub fn theme(&self) -> &'static str {
        self.me.as_ref().map_or(Theme::Light, |u| u.theme).as_str()
    }

    pub fn icon(&self, name: &str) -> &'static str {
        icon(name)
    }

    /// The interface language of this page (`<html lang>`).
    pub fn lang(&self) -> &'static str {
        crate::i18n::current().code()
    }

    /// The messages `assets/app.js` shows, in this page's language, as JSON for
    /// `<body data-i18n>`; `%s` stands for the one argument some of them take.
    pub fn js_strings(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = JS_KEYS
            .iter()
            .map(|k| ((*k).to_owned(), crate::t1(k, "x", "%s").into()))
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    /// The `hx-headers` value that makes every htmx request carry the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

/// Every message `assets/app.js` looks up (tests check each is in both catalogues).
pub const JS_KEYS: &[&str] = &[
    "js-notify-title",
    "js-new-message",
    "js-open-chat-first",
    "js-notify-requested",
    "js-copied",
    "js-accept",
    "js-copy-name",
    "js-copy-id",
    "js-tag-message",
    "js-tag-this",
    "js-media-message",
    "js-copy-text",
    "js-images-only",
    "js-image-too-large",
    "js-image-network",
    "js-network-failed",
];

/// Renders a template into an HTML response.
pub fn render(t: &impl Template) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// Renders with a status other than 200 (e.g. a form shown again with errors).
pub fn render_status(
    status: axum::http::StatusCode,
    t: &impl Template,
) -> Result<Response, AppError> {
    Ok((status, Html(t.render()?)).into_response())
}

/// Formats a timestamp in the server's time zone for people.
pub fn local_time(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Our own inline SVG icons (no emoji: not every device has a colour emoji font).
/// Rendered with `|safe`; the markup is static and never contains user text.
pub fn icon(name: &str) -> &'static str {
    match name {
        "chat" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16v11H9l-5 4z"/></svg>"#
        }
        "book" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M5 4h11a3 3 0 0 1 3 3v13H8a3 3 0 0 1-3-3z M5 17a3 3 0 0 1 3-3h11"/></svg>"#
        }
        "question" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7M12 17h.01"/></svg>"#
        }
        "tag" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 12V4h8l10 10-8 8z"/><circle cx="7.5" cy="8.5" r="1.5"/></svg>"#
        }
        "gear" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1"/></svg>"#
        }
        "flag" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M5 21V4M5 4h12l-3 4 3 4H5"/></svg>"#
        }
        "folder" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 6h6l2 2h10v11H3z"/></svg>"#
        }
        "chart" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20V4M4 20h16M8 16v-5M12 16V8M16 16v-3"/></svg>"#
        }
        "sun" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="4"/><path d="M12 2v2M12 20v2M2 12h2M20 12h2M5 5l1.5 1.5M17.5 17.5 19 19M5 19l1.5-1.5M17.5 6.5 19 5"/></svg>"#
        }
        "moon" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z"/></svg>"#
        }
        "menu" => {
            r#"<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 6h16M4 12h16M4 18h16"/></svg>"#
        }
        _ => "",
    }
}
