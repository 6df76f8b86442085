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

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // serde_html_form: repeated keys (checkbox lists) become a Vec.
        match axum_extra::extract::Form::<T>::from_request(req, state).await {
            Ok(axum_extra::extract::Form(v)) => Ok(Form(v)),
            Err(e) => {
                tracing::info!(error = %e, "form refused");
                Err(AppError::BadRequest(
                    "提交的表单内容无效,请检查后重试".into(),
                ))
            }
        }
    }
}
