//! `GET /media/{id}`: an inbound file, only for logged-in users. The path comes
//! from the database row (never from the URL) and is checked to stay inside the
//! media folder. Voice (AMR/Speex) is offered as a download: browsers cannot
//! play AMR and no well-kept Rust crate decodes it; the recognition text is
//! shown beside it when WeChat sent one.

use crate::error::AppError;
use crate::model::{MediaId, MediaKind, MediaState};
use crate::state::AppState;
use crate::web::form::IdPath;
use crate::web::session::AnyUser;
use crate::wechat::outbox::safe_join;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

pub async fn get(
    State(state): State<AppState>,
    AnyUser(_, _): AnyUser,
    IdPath(id): IdPath,
) -> Result<Response, AppError> {
    let id = MediaId(id);
    let media = state
        .db
        .read(move |c| crate::db::media::get(c, id))
        .await?
        .ok_or(AppError::NotFound)?;
    if media.state != MediaState::Stored {
        return Err(AppError::NotFound);
    }
    let path = safe_join(&state.wechat.media_dir, &media.path).ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::warn!(media = %id, path = %path.display(), error = %e, "media file missing");
        AppError::NotFound
    })?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    let ct = HeaderValue::from_str(&media.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let ext = media.path.rsplit('.').next().unwrap_or("bin");
    let disposition = match media.kind {
        MediaKind::Voice => format!("attachment; filename=\"voice-{id}.{ext}\""),
        _ => format!("inline; filename=\"{}-{id}.{ext}\"", media.kind.as_str()),
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
