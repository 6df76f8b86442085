//! Form parsing with errors people can read. Every form struct uses
//! `#[serde(default)]`, so a half-filled form reaches the handler, which says
//! what is missing; only a body that is not a form at all is refused here.
//!
//! Text hygiene for everything typed into kefu happens here, once, before any
//! handler sees a field: a line break sent as CRLF (what browsers send from a
//! `<textarea>`) becomes LF, and any other control character (NUL, a lone CR,
//! ESC, DEL, C1 codes…) refuses the whole form with a Chinese message. Tab and
//! newline are the only control characters a name, note, tag or reply may hold.

use crate::error::AppError;
use axum::extract::{FromRequest, Request};

/// What a form or query holding a control character is told.
/// The refusal of a form or query holding control characters.
pub fn control_chars() -> String {
    crate::t("form-control-chars")
}

/// A control character a typed text may not hold (after CRLF became LF).
pub fn forbidden(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// `value` with CRLF turned into LF, or `None` when it holds another control
/// character (a lone CR included).
pub fn clean_field(value: &str) -> Option<std::borrow::Cow<'_, str>> {
    let value = if value.contains("\r\n") {
        std::borrow::Cow::Owned(value.replace("\r\n", "\n"))
    } else {
        std::borrow::Cow::Borrowed(value)
    };
    (!value.chars().any(forbidden)).then_some(value)
}

/// Decodes `application/x-www-form-urlencoded` bytes into pairs, checks and
/// cleans every name and value, and encodes them again for serde.
fn clean_form(bytes: &[u8]) -> Result<String, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).map_err(|e| {
        tracing::info!(error = %e, "form refused");
        AppError::BadRequest(invalid_form())
    })?;
    let mut cleaned = Vec::with_capacity(pairs.len());
    for (name, value) in &pairs {
        match (clean_field(name), clean_field(value)) {
            (Some(n), Some(v)) => cleaned.push((n, v)),
            _ => {
                tracing::info!(field = %name.escape_debug(), "form refused: control character");
                return Err(AppError::BadRequest(control_chars()));
            }
        }
    }
    serde_urlencoded::to_string(&cleaned).map_err(|e| {
        tracing::info!(error = %e, "form refused");
        AppError::BadRequest(invalid_form())
    })
}

fn invalid_form() -> String {
    crate::t("form-invalid")
}

pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::BadRequest(invalid_form()));
        }
        let bytes = axum::body::to_bytes(req.into_body(), super::BODY_LIMIT)
            .await
            .map_err(|_| AppError::TooLarge)?;
        let cleaned = clean_form(&bytes)?;
        // serde_html_form: repeated keys (checkbox lists) become a Vec.
        serde_html_form::from_str(&cleaned).map(Form).map_err(|e| {
            tracing::info!(error = %e, "form refused");
            AppError::BadRequest(invalid_form())
        })
    }
}

/// Query strings (filters), with the same readable refusal as forms and the
/// same refusal of control characters.
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
            if pairs
                .iter()
                .any(|(n, v)| n.chars().chain(v.chars()).any(forbidden))
            {
                tracing::info!("query refused: control character");
                return Err(AppError::BadRequest(control_chars()));
            }
        }
        match axum_extra::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum_extra::extract::Query(v)) => Ok(Query(v)),
            Err(e) => {
                tracing::info!(error = %e, "query refused");
                Err(AppError::BadRequest(crate::t("form-query-invalid")))
            }
        }
    }
}

/// A numeric id in the path; anything else is "not found", not a parser error.
pub struct IdPath(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<i64>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(IdPath(id)),
            Err(_) => Err(AppError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_and_other_control_characters_refuse_the_form() {
        assert_eq!(
            clean_field("第一行\r\n第二行\t完").as_deref(),
            Some("第一行\n第二行\t完")
        );
        for bad in [
            "\0",
            "a\0b",
            "a\rb",
            "\r",
            "\u{1b}[31m",
            "\u{7f}",
            "\u{85}",
            "x\r\n\r",
        ] {
            assert_eq!(clean_field(bad), None, "{bad:?}");
        }
        assert_eq!(
            clean_form(b"name=%E5%BC%A0%0D%0A%E4%B8%89&tags=a&tags=b").unwrap(),
            "name=%E5%BC%A0%0A%E4%B8%89&tags=a&tags=b"
        );
        for bad in [&b"name=%00"[..], b"note=a%0Db", b"%00=x", b"body=%1B"] {
            assert!(
                matches!(clean_form(bad), Err(AppError::BadRequest(m)) if m == control_chars()),
                "{bad:?}"
            );
        }
    }
}
