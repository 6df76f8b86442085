//! One error type at the web edge, mapped to a status in one `match`. Internal
//! details are logged, never shown. Full pages get an error page; htmx requests
//! get a small fragment (see `web::session::finish`).

use crate::db::DbError;
use crate::team::TeamError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("not signed in")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("CSRF check failed")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    /// Refused for this user, with the reason (403).
    #[error("{0}")]
    Denied(String),
    /// Not possible in the current state, with the reason (409).
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    TooLarge,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::access::Denied> for AppError {
    fn from(e: crate::access::Denied) -> Self {
        match e {
            crate::access::Denied::NotFound => AppError::NotFound,
            crate::access::Denied::Forbidden(why) => AppError::Denied(why),
            crate::access::Denied::Db(e) => e.into(),
        }
    }
}

/// The message an htmx request should show instead of the page.
#[derive(Clone, Debug)]
pub struct ErrorText(pub String);

/// Marks a 401 that means "log in first" (as opposed to a refused login form).
#[derive(Clone, Copy, Debug)]
pub struct NeedsLogin;

impl AppError {
    /// What the user reads, in the request's language (internal details are
    /// never shown).
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound => crate::t("error-not-found"),
            AppError::Unauthorized => crate::t("error-unauthorized"),
            AppError::Forbidden => crate::t("error-forbidden"),
            AppError::Csrf => crate::t("error-csrf"),
            AppError::BadRequest(m) | AppError::Denied(m) | AppError::Conflict(m) => m.clone(),
            AppError::TooLarge => crate::t("error-too-large"),
            AppError::Internal(_) => crate::t("error-internal"),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Denied(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let message = self.message();
        let body = format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{code} · kefu</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
             margin:4rem auto;padding:0 1rem;color:#1f2937}}a{{color:#07a35a}}</style></head>\
             <body><h1>{code}</h1><p>{msg}</p><p><a href=\"/\">{home}</a></p></body></html>",
            code = status.as_u16(),
            msg = askama_escape(&message),
            lang = crate::i18n::current().code(),
            home = askama_escape(&crate::t("error-back-home")),
        );
        let mut resp = (status, Html(body)).into_response();
        resp.extensions_mut().insert(ErrorText(message));
        if status == StatusCode::UNAUTHORIZED {
            resp.extensions_mut().insert(NeedsLogin);
        }
        resp
    }
}

/// Escapes text for HTML (the messages are ours, but may quote user input).
pub fn askama_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<crate::auth::AuthError> for AppError {
    fn from(e: crate::auth::AuthError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<TeamError> for AppError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::Invalid(m) => AppError::BadRequest(m),
            TeamError::Forbidden => AppError::Forbidden,
            TeamError::NotFound => AppError::NotFound,
            TeamError::Db(e) => e.into(),
            TeamError::Auth(e) => e.into(),
        }
    }
}

impl From<crate::desk::DeskError> for AppError {
    fn from(e: crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match e {
            DeskError::Denied(m) => AppError::Denied(m),
            DeskError::Refused(m) => AppError::Conflict(m),
            DeskError::NotFound => AppError::NotFound,
            DeskError::Db(e) => e.into(),
        }
    }
}
