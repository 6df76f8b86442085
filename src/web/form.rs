//! Form parsing with errors people can read. Every form struct uses
//! `#[serde(default)]`, so a half-filled form reaches the handler, which says
//! what is missing; only a body that is not a form at all is refused here.

use crate::error::AppError;
use axum::extract::{FromRequest, Request};

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
            return Err(AppError::BadRequest(
                "提交的表单内容无效,请检查后重试".into(),
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), super::BODY_LIMIT)
            .await
            .map_err(|_| AppError::TooLarge)?;
        // serde_html_form: repeated keys (checkbox lists) become a Vec.
        serde_html_form::from_bytes(&bytes).map(Form).map_err(|e| {
            tracing::info!(error = %e, "form refused");
            AppError::BadRequest("提交的表单内容无效,请检查后重试".into())
        })
    }
}

/// Query strings (filters), with the same readable refusal as forms.
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
        match axum_extra::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum_extra::extract::Query(v)) => Ok(Query(v)),
            Err(e) => {
                tracing::info!(error = %e, "query refused");
                Err(AppError::BadRequest("查询条件无效,请检查后重试".into()))
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
