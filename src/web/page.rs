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

    /// The `hx-headers` value that makes every htmx request carry the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }
}

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
